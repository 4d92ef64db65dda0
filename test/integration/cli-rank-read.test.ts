// `gauntlet rank` over a large reports tree (read by a thread per core) ranks as reading each report alone does; copies count once.

import { availableParallelism, tmpdir } from 'node:os';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { ResultSuite } from '../../src/model/index.js';
import { rankStacks } from '../../src/rank/index.js';
import { buildRunRecord, findJunitSources, formatRankingJson, readJournal, readJunitSources, readJunitText, renderJunit } from '../../src/report/index.js';
import { runCli } from '../helpers/cli.js';

const JOURNAL = fileURLToPath(new URL('../fixtures/journals/mixed.jsonl', import.meta.url));
const FILES = 300;

describe('gauntlet rank over a large reports tree (CLI)', function () {
  this.timeout(120_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-cli-rank-read-'));
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ranks as the reports read one by one would, counts copied reports once, and warns about XML that is not JUnit', async () => {
    // With 2 or more cores, this many files are read by worker threads.
    expect(availableParallelism(), 'cores').to.be.greaterThan(1);
    const xml = renderJunit(buildRunRecord((await readJournal(JOURNAL)).events));
    const reports = join(dir, 'reports');
    const suites: ResultSuite[] = [];
    for (let i = 0; i < FILES; i++) {
      const text = xml.replaceAll('20260302-091402-k7q2', `20260302-091402-r${i}`).replaceAll('6.18.44-fc-v769', `6.18.${i % 4}-fc`);
      const path = join(reports, `run-${String(i).padStart(3, '0')}`, 'junit.xml');
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, text);
      suites.push(...readJunitText(text, path));
    }
    // A merged or soak report and its parts hold the same testsuites; copies stand for that here.
    await mkdir(join(reports, 'copies'));
    for (let i = 0; i < FILES; i += 7) await copyFile(join(reports, `run-${String(i).padStart(3, '0')}`, 'junit.xml'), join(reports, 'copies', `copy-${i}.xml`));
    await writeFile(join(reports, 'run-005', 'coverage.xml'), '<coverage line-rate="1"/>');

    const result = await runCli(['rank', reports, '--format', 'json', '--min-runs', '1']);
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stderr).to.equal(`gauntlet: warning: skipped ${join(reports, 'run-005', 'coverage.xml')}: expected a JUnit document (<testsuites> or <testsuite>), got another XML document`);
    // The same tree read here, file by file in this thread, ranks the same.
    const { suites: read } = await readJunitSources(await findJunitSources([reports]));
    expect(JSON.parse(result.stdout)).to.deep.equal(JSON.parse(formatRankingJson(rankStacks(read, { minRuns: 1 }))));
    // And the copies count once: the evidence is that of the reports without them.
    const counts = (ranking: { stacks: Array<Record<string, unknown>> }): unknown[] =>
      ranking.stacks.map(({ group, runs, hosts, tests, passed, failed, errors, exposureHours, fatalEvents }) => ({ group, runs, hosts, tests, passed, failed, errors, exposureHours, fatalEvents }));
    const withoutCopies = rankStacks(suites, { minRuns: 1 });
    expect(withoutCopies.stacks).to.have.length(5); // node1 on 4 kernels, node2 on its own stack
    expect(withoutCopies.stacks.reduce((sum, stack) => sum + stack.runs, 0)).to.equal(2 * FILES);
    expect(counts(JSON.parse(result.stdout) as { stacks: Array<Record<string, unknown>> })).to.deep.equal(counts(withoutCopies as unknown as { stacks: Array<Record<string, unknown>> }));
  });
});
