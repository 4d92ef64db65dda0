// Ranking counts each testsuite once, however many reports it is read from (a merged run and its shards, a soak and its iterations).

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { JournalEvent } from '../../src/model/index.js';
import { dedupeSuites, rankStacks } from '../../src/rank/index.js';
import { buildRunRecord, findJunitSources, mergeRuns, readJournal, readJunitSources, readJunitText, renderJunit } from '../../src/report/index.js';
import { splitIntoShards } from '../helpers/shard-journals.js';

const JOURNAL = fileURLToPath(new URL('../fixtures/journals/mixed.jsonl', import.meta.url));

/** What a ranking says about each stack, without the rank order's tie-breaks. */
function evidenceOf(ranking: ReturnType<typeof rankStacks>): unknown[] {
  return ranking.stacks.map((stack) => ({ group: stack.group, runs: stack.runs, hosts: stack.hosts, tests: stack.tests, passed: stack.passed, failed: stack.failed, errors: stack.errors, exposureHours: stack.exposureHours, fatalEvents: stack.fatalEvents }));
}

describe('rank: each testsuite once', () => {
  let dir: string;
  let shards: JournalEvent[][];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-rank-dedupe-'));
    shards = splitIntoShards((await readJournal(JOURNAL)).events, 2);
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('counts a merged run\'s junit.xml and its shards\' under the same reports/ tree once', async () => {
    const merged = mergeRuns(shards.map((events, i) => ({ dir: `shard-${i + 1}`, events })), { runId: '20260302-120000-mrg1', argv: ['merge'] });
    const reports = join(dir, 'merged-tree');
    for (const [name, events] of [['shard-1', shards[0]!], ['shard-2', shards[1]!], ['merged', merged.events]] as const) {
      await mkdir(join(reports, name), { recursive: true });
      await writeFile(join(reports, name, 'junit.xml'), renderJunit(buildRunRecord(events)));
    }
    const { suites: all } = await readJunitSources(await findJunitSources([reports]));
    const { suites: shardsOnly } = await readJunitSources(await findJunitSources([join(reports, 'shard-1'), join(reports, 'shard-2')]));
    const { suites: mergedOnly } = await readJunitSources(await findJunitSources([join(reports, 'merged')]));
    expect(all).to.have.length(12);
    expect(dedupeSuites(all)).to.have.length(6);
    const expected = evidenceOf(rankStacks(shardsOnly, { minRuns: 1 }));
    expect(expected.length).to.be.greaterThan(0);
    expect(evidenceOf(rankStacks(all, { minRuns: 1 }))).to.deep.equal(expected);
    expect(evidenceOf(rankStacks(mergedOnly, { minRuns: 1 }))).to.deep.equal(expected);
  });

  it('counts a soak\'s combined junit.xml (testsuites named `SUITE @ HOST #N`) and its iterations\' once', () => {
    const iterations = shards.map((events) => renderJunit(buildRunRecord(events)));
    // The soak's report holds every iteration's testsuites, each name suffixed with its iteration number.
    const combined = iterations
      .map((xml, i) => xml.replace(/<testsuite name="([^"]*)"/g, `<testsuite name="$1 #${i + 1}"`))
      .map((xml) => /<testsuites[^>]*>([\s\S]*)<\/testsuites>/.exec(xml)![1])
      .join('');
    const soak = readJunitText(`<?xml version="1.0"?>\n<testsuites name="gauntlet soak s1">${combined}</testsuites>`, 'soak/junit.xml');
    const fromIterations = iterations.flatMap((xml, i) => readJunitText(xml, `soak/iterations/${i}/junit.xml`));
    expect(soak.map((suite) => suite.name)).to.include('docker-basics @ node1 #1');
    expect(soak.map((suite) => [suite.run, suite.host, suite.suite])).to.have.deep.members(fromIterations.map((suite) => [suite.run, suite.host, suite.suite]));
    expect(dedupeSuites([...soak, ...fromIterations])).to.have.length(fromIterations.length);
    expect(evidenceOf(rankStacks([...soak, ...fromIterations], { minRuns: 1 }))).to.deep.equal(evidenceOf(rankStacks(fromIterations, { minRuns: 1 })));
  });

  it('keeps testsuites that differ in run, host or suite', () => {
    const [suite] = readJunitText(renderJunit(buildRunRecord(shards[0]!)), 'a.xml');
    const others = [{ ...suite!, run: 'other-run' }, { ...suite!, host: 'ssh://ops@elsewhere:22' }, { ...suite!, suite: 'other-suite', name: 'other-suite @ node1' }];
    expect(dedupeSuites([suite!, ...others, { ...suite!, source: 'copy.xml' }])).to.deep.equal([suite, ...others]);
  });
});
