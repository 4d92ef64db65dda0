// Merging shard journals: the merged run has every host × suite × test of the plan once, as each shard's journal says.

import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { GauntletError, type HostSuiteRecord, type JournalEvent, type RunStartEvent } from '../../src/model/index.js';
import { buildRunRecord, exitCodeOf, mergeRuns, readJournal, readJunitText, renderJunit, type MergeInput } from '../../src/report/index.js';
import { splitIntoShards } from '../helpers/shard-journals.js';

const JOURNAL = fileURLToPath(new URL('../fixtures/journals/mixed.jsonl', import.meta.url));

function byPair(suites: readonly HostSuiteRecord[]): Map<string, HostSuiteRecord> {
  return new Map(suites.map((suite) => [`${suite.suite} @ ${suite.host}`, suite]));
}

function inputs(...runs: JournalEvent[][]): MergeInput[] {
  return runs.map((events, i) => ({ dir: `reports/shard-${i + 1}`, events }));
}

const OPTIONS = { runId: '20260302-120000-mrg1', argv: ['merge', 'a', 'b'] };

describe('mergeRuns', () => {
  let whole: JournalEvent[];

  before(async () => {
    whole = (await readJournal(JOURNAL)).events;
  });

  it('merges the shards of a plan into what the unsharded run has: every host × suite × test once, hosts once', () => {
    const shards = splitIntoShards(whole, 2);
    expect(shards.map((events) => Object.values((events[0] as RunStartEvent).pairs!).flat().length)).to.deep.equal([3, 3]);
    const merged = mergeRuns(inputs(shards[1]!, shards[0]!), OPTIONS);
    expect(merged.warnings).to.deep.equal([]);
    expect(merged.duplicatesDropped).to.equal(0);
    expect(merged.shards).to.deep.equal(['1/2', '2/2']);

    const record = buildRunRecord(merged.events);
    const expected = buildRunRecord(whole);
    const got = byPair(record.suites);
    expect([...got.keys()].sort()).to.deep.equal([...byPair(expected.suites).keys()].sort());
    for (const [pair, suite] of byPair(expected.suites)) expect(got.get(pair), pair).to.deep.equal(suite);
    expect(record.hosts.map((host) => host.name).sort()).to.deep.equal(['db1', 'node1', 'node2']);
    for (const host of expected.hosts) {
      expect(record.hosts.find((h) => h.name === host.name), host.name).to.deep.include({ id: host.id, facts: host.facts, stackKey: host.stackKey, unreachable: host.unreachable });
    }
    expect(merged.events.filter((event) => event.type === 'host-facts')).to.have.length(2);
    expect(merged.events.filter((event) => event.type === 'host-unreachable')).to.have.length(1);
    expect(exitCodeOf(record)).to.equal(exitCodeOf(expected)).and.to.equal(1);
    expect(merged.events.at(-1)).to.include({ type: 'run-end', exitCode: 1 });

    const start = record.start;
    expect(start).to.include({ runId: OPTIONS.runId, shard: null, seed: (shards[0]![0] as RunStartEvent).seed });
    expect(start.argv).to.deep.equal(OPTIONS.argv);
    expect(start.mergedFrom!.map((m) => [m.runId, m.shard, m.seed])).to.deep.equal([
      ['20260302-091402-k7q2-s1', { index: 1, total: 2 }, 1709370842],
      ['20260302-091402-k7q2-s2', { index: 2, total: 2 }, 1709370843],
    ]);
    const owed = Object.entries(start.pairs!).flatMap(([host, suites]) => suites.map((suite) => `${suite} @ ${host}`));
    expect(owed.sort()).to.deep.equal([...got.keys()].sort());
  });

  it('writes each testsuite\'s own seed, shard and shard run in the merged JUnit', () => {
    const shards = splitIntoShards(whole, 2);
    const merged = mergeRuns(inputs(...shards), OPTIONS);
    const suites = readJunitText(renderJunit(buildRunRecord(merged.events)), 'merged.xml');
    expect(suites).to.have.length(6);
    const xml = renderJunit(buildRunRecord(merged.events));
    for (const [i, events] of shards.entries()) {
      const start = events[0] as RunStartEvent;
      for (const [host, names] of Object.entries(start.pairs!)) {
        for (const name of names) {
          const block = new RegExp(`<testsuite name="${name} @ ${host}"[\\s\\S]*?</properties>`).exec(xml)?.[0] ?? '';
          expect(block, `${name} @ ${host}`).to.include(`<property name="gauntlet.run" value="${OPTIONS.runId}"/>`);
          expect(block).to.include(`<property name="gauntlet.seed" value="${start.seed}"/>`);
          expect(block).to.include(`<property name="gauntlet.shard" value="${i + 1}/2"/>`);
          expect(block).to.include(`<property name="gauntlet.shard.run" value="${start.runId}"/>`);
        }
      }
    }
    // For ranking, a merged testsuite is the shard run's: the same testsuite read from both counts once.
    const fromShards = shards.flatMap((events) => readJunitText(renderJunit(buildRunRecord(events)), 'shard.xml'));
    const identity = (suite: { run: string; host: string; suite?: string; name: string }): string => `${suite.run} ${suite.host} ${suite.name}`;
    expect(suites.map(identity).sort()).to.deep.equal(fromShards.map(identity).sort());
  });

  it('merges a killed shard as its journal says: its unfinished tests are INTERRUPTED, the others keep their outcomes', () => {
    const [first, second] = splitIntoShards(whole, 2) as [JournalEvent[], JournalEvent[]];
    // Shard 2 is killed while node1 runs its second overlay-stress test: no later events, no run-end.
    const cut = second.findIndex((event) => event.type === 'test-start' && event.title === 'overlay2 > survives parallel writes to one lower layer' && event.host === 'node1');
    expect(cut).to.be.greaterThan(0);
    const killed = second.slice(0, cut + 1);
    killed.push({
      type: 'kernel-event', ts: '2026-03-02T09:20:00.000Z', host: 'node1', source: 'kmsg', via: '/dev/kmsg', class: 'SOFT_LOCKUP',
      title: 'BUG: soft lockup in overlay_write', alt: [], fatal: true, corrupted: false, excerpt: 'watchdog: BUG: soft lockup - CPU#1 stuck for 22s!',
      detectedAt: '2026-03-02T09:20:00.000Z', test: { suite: 'overlay-stress', title: 'overlay2 > survives parallel writes to one lower layer', attempt: 1 },
    });
    const merged = mergeRuns(inputs(first, killed), OPTIONS);
    const record = buildRunRecord(merged.events);
    const got = byPair(record.suites);
    for (const shard of [first, killed]) {
      for (const [pair, suite] of byPair(buildRunRecord(shard).suites)) expect(got.get(pair), pair).to.deep.equal(suite);
    }
    const overlay = got.get('overlay-stress @ node1')!.tests;
    expect(overlay.map((test) => [test.outcome, test.errorType ?? null, test.message ?? null])).to.deep.equal([
      ['passed', null, null],
      ['error', 'SOFT_LOCKUP', 'BUG: soft lockup in overlay_write'],
      ['error', 'INTERRUPTED', 'not run: the runner stopped before it ran'],
    ]);
    expect(overlay[1]!.detail).to.include('the test itself: INTERRUPTED: the runner stopped before the test finished (killed?)');
    expect(record.end).to.include({ exitCode: 1 });
    expect(record.end!.interrupted).to.equal(undefined);
  });

  it('ends interrupted when a shard was interrupted, and exits as that run would (143 for SIGTERM)', () => {
    const [first, second] = splitIntoShards(whole, 2) as [JournalEvent[], JournalEvent[]];
    const stopped = second.map((event) => (event.type === 'run-end' ? { ...event, exitCode: 143, interrupted: 'SIGTERM' } : event));
    const merged = mergeRuns(inputs(first, stopped), OPTIONS);
    const record = buildRunRecord(merged.events);
    expect(record.end).to.include({ interrupted: 'SIGTERM', exitCode: 143 });
    expect(exitCodeOf(record)).to.equal(143);
    for (const [pair, suite] of byPair(buildRunRecord(first).suites)) expect(byPair(record.suites).get(pair), pair).to.deep.equal(suite);
  });

  it('keeps the later run of a shard given twice, counts the dropped results, and warns about missing shards', () => {
    const [first] = splitIntoShards(whole, 2) as [JournalEvent[]];
    const again = first.map((event): JournalEvent => {
      if (event.type === 'run-start') return { ...event, runId: 'retried-shard-1', ts: '2026-03-02T11:00:00.000Z', seed: 7 };
      if (event.type === 'test-end' && event.outcome !== 'passed') return { ...event, outcome: 'passed', flaky: false };
      return event;
    });
    const merged = mergeRuns(inputs(again, first), OPTIONS);
    expect(merged.warnings).to.have.length(2);
    expect(merged.warnings[0]).to.match(/^shard 1\/2 is given 2 times \(.*retried-shard-1 in reports\/shard-1.*\): where they share a host × suite, the run that started last is kept$/);
    expect(merged.warnings[1]).to.equal('shard 2/2 is missing: the merged run lacks their host × suite pairs');
    const record = buildRunRecord(merged.events);
    const expected = buildRunRecord(again);
    expect(merged.duplicatesDropped).to.equal(expected.suites.reduce((sum, suite) => sum + suite.tests.length, 0));
    expect(byPair(record.suites)).to.deep.equal(byPair(expected.suites));
    expect(record.start.seed).to.equal((first[0] as RunStartEvent).seed);
    expect(record.start.mergedFrom!.find((m) => m.runId === 'retried-shard-1')!.hosts).to.not.be.empty;
    expect(record.start.mergedFrom!.find((m) => m.runId !== 'retried-shard-1')!.hosts).to.deep.equal([]);
    expect(merged.events.filter((event) => event.type === 'host-facts')).to.have.length(new Set(expected.hosts.filter((h) => h.facts).map((h) => h.name)).size);
  });

  it('refuses runs that are not shards of one plan, naming what differs (USAGE, nothing merged)', () => {
    const [first, second] = splitIntoShards(whole, 2) as [JournalEvent[], JournalEvent[]];
    const change = (events: JournalEvent[], edit: (start: RunStartEvent) => RunStartEvent): JournalEvent[] => [edit(events[0] as RunStartEvent), ...events.slice(1)];
    const cases: Array<[JournalEvent[][], RegExp]> = [
      [[first, change(second, (s) => ({ ...s, suites: s.suites.map((ref, i) => (i === 0 ? { ...ref, digest: 'sha256:changed' } : ref)) }))], /^not shards of one plan, nothing merged: suites differ: reports\/shard-1 has docker-basics sha256:5f1d.*; reports\/shard-2 has docker-basics sha256:changed/],
      [[first, change(second, (s) => ({ ...s, params: { ...s.params, iterations: 51 } }))], /^not shards of one plan, nothing merged: params differ: .*"iterations":50.*"iterations":51/],
      [[first, change(second, (s) => ({ ...s, inventory: { ...s.inventory, digest: 'sha256:other' } }))], /inventory digests differ: reports\/shard-1 has sha256:0d9e.*; reports\/shard-2 has sha256:other$/],
      [[first, change(second, (s) => ({ ...s, shard: { index: 2, total: 3 } }))], /shard totals differ: reports\/shard-1 has n=2; reports\/shard-2 has n=3$/],
      [[first, change(second, (s) => ({ ...s, retries: 0 }))], /retries differ/],
      [[first, change(second, (s) => ({ ...s, shard: null }))], /^reports\/shard-2: run 20260302-091402-k7q2-s2 is a run without --shard; expected the run directories of `gauntlet run --shard i\/n` jobs$/],
      [[first, first], /^not shards of one plan, nothing merged: run 20260302-091402-k7q2-s1 is given twice: reports\/shard-1 and reports\/shard-2$/],
    ];
    for (const [runs, message] of cases) {
      let error: unknown;
      try {
        mergeRuns(inputs(...runs), OPTIONS);
      } catch (err) {
        error = err;
      }
      expect(error, String(message)).to.be.instanceOf(GauntletError);
      expect((error as GauntletError).code).to.equal('USAGE');
      expect((error as GauntletError).message).to.match(message);
    }
    // Every difference is named, the first in the message and the rest as details.
    const both = change(second, (s) => ({ ...s, params: {}, retries: 3 }));
    try {
      mergeRuns(inputs(first, both), OPTIONS);
      expect.fail('merged');
    } catch (err) {
      expect((err as GauntletError).message).to.match(/params differ/);
      expect((err as GauntletError).details).to.have.length(1);
      expect((err as GauntletError).details[0]).to.match(/^retries differ: reports\/shard-1 has 1; reports\/shard-2 has 3$/);
    }
  });
});
