// Ranking: the three tiers and their order, what a stack lacks, grouping by --by, --since, signatures.

import { expect } from 'chai';
import { rankStacks } from '../../src/rank/index.js';
import { crashed, passing, PANICKY, STABLE, stackOf, suiteOf, THIN } from '../helpers/rank-results.js';

const PANIC = 'Kernel panic - not syncing: Fatal exception in interrupt';

describe('rankStacks', () => {
  it('ranks proven before unproven before crashed, with the reason and missing evidence', () => {
    const suites = [
      // Crashed, though with the most exposure of all.
      ...['p1', 'p2', 'p3', 'p4'].map((run) => suiteOf(run, PANICKY, [passing('a', 120), crashed('b', 10, 'PANIC', PANIC)])),
      // Unproven: little exposure over two runs.
      ...['t1', 't2'].map((run) => suiteOf(run, THIN, [passing('a', 12)])),
      // Proven: 4 runs, 2 test-hours.
      ...['s1', 's2', 's3', 's4'].map((run) => suiteOf(run, STABLE, [passing('a', 25), passing('b', 5)])),
    ];
    const ranking = rankStacks(suites);
    expect(ranking.stacks.map((stack) => [stack.rank, stack.group, stack.tier])).to.deep.equal([
      [1, STABLE, 'proven'],
      [2, THIN, 'unproven'],
      [3, PANICKY, 'crashed'],
    ]);
    const [stable, thin, panicky] = ranking.stacks;
    expect(stable!.exposureHours).to.be.closeTo(2, 1e-9);
    expect(stable!.fatalRateInterval.high).to.be.closeTo(3.6889 * 50, 1e-2);
    expect(stable!.reason).to.equal('proven: no fatal event in 2 test-hours over 4 runs; fatal rate ≤ 184 per 100 test-hours (95%)');
    expect(thin!.missing).to.deep.equal(['0.4 of 1 test-hours', '2 of 3 runs']);
    expect(thin!.reason).to.equal('unproven: 0.4 of 1 test-hours, 2 of 3 runs; no fatal event so far');
    expect(panicky!.fatalEvents).to.equal(4);
    expect(panicky!.byType).to.deep.equal({ PANIC: 4 });
    expect(panicky!.signatures).to.have.length(1);
    expect(panicky!.signatures[0]).to.include({ class: 'PANIC', title: PANIC, count: 4 });
    expect(panicky!.signatures[0]!.runs).to.deep.equal(['p1', 'p2', 'p3', 'p4']);
    expect(panicky!.reason).to.match(/^crashed: 4 fatal events \(PANIC ×4\) in 8.7 test-hours over 4 runs; fatal rate 46.2 \[12.6–118\] per 100 test-hours \(95%\)$/);
  });

  it('orders proven stacks by the upper bound of the fatal rate, then by the lower bound of the pass rate', () => {
    const runs = ['r1', 'r2', 'r3'];
    const longer = 'a/k-long/e/s/b/c';
    const failing = 'a/k-fail/e/s/b/c';
    const clean = 'a/k-clean/e/s/b/c';
    const suites = [
      ...runs.map((run) => suiteOf(run, clean, [passing('a', 30), passing('b', 30)])),
      ...runs.map((run) => suiteOf(run, failing, [passing('a', 30), { ...passing('b', 30), outcome: 'failed' as const, type: 'ASSERTION' }])),
      ...runs.map((run) => suiteOf(run, longer, [passing('a', 60), passing('b', 60)])),
    ];
    const ranking = rankStacks(suites);
    expect(ranking.stacks.map((stack) => stack.group)).to.deep.equal([longer, clean, failing]);
    expect(ranking.stacks.every((stack) => stack.tier === 'proven')).to.equal(true);
  });

  it('orders unproven stacks by exposure and crashed ones by the upper bound of their rate', () => {
    const suites = [
      suiteOf('u1', 'a/u-small/e/s/b/c', [passing('a', 5)]),
      suiteOf('u2', 'a/u-large/e/s/b/c', [passing('a', 40)]),
      suiteOf('c1', 'a/c-often/e/s/b/c', [crashed('a', 6, 'OOPS', 'BUG: x'), crashed('b', 6, 'OOPS', 'BUG: x')]),
      suiteOf('c2', 'a/c-rare/e/s/b/c', [passing('a', 600), crashed('b', 6, 'SOFT_LOCKUP', 'watchdog: BUG: soft lockup in y')]),
    ];
    expect(rankStacks(suites).stacks.map((stack) => `${stack.tier} ${stack.group}`)).to.deep.equal([
      'unproven a/u-large/e/s/b/c',
      'unproven a/u-small/e/s/b/c',
      'crashed a/c-rare/e/s/b/c',
      'crashed a/c-often/e/s/b/c',
    ]);
  });

  it('counts a kernel crash in an earlier attempt of a test that passed on retry, and not degraded events or assertions', () => {
    const test = { ...passing('a', 30), attempts: [{ outcome: 'error' as const, type: 'HUNG_TASK', message: 'INFO: task hung in z' }] };
    const suite = { ...suiteOf('r1', STABLE, [test, { ...passing('b', 1), outcome: 'failed' as const, type: 'ASSERTION' }]), kernelEvents: [{ class: 'WARNING', title: 'WARNING in w', fatal: false }] };
    const [stack] = rankStacks([suite]).stacks;
    expect(stack!.tier).to.equal('crashed');
    expect(stack!.fatalEvents).to.equal(1);
    expect(stack!.degraded).to.deep.equal({ WARNING: 1 });
    expect(stack!.signatures[0]).to.include({ class: 'HUNG_TASK', title: 'INFO: task hung in z' });
  });

  it('gives LOST_CONNECTION one signature whatever the transport said', () => {
    const suites = [
      suiteOf('r1', STABLE, [crashed('a', 1, 'LOST_CONNECTION', 'no answer to 3 keepalives')]),
      suiteOf('r2', STABLE, [crashed('a', 1, 'LOST_CONNECTION', 'read ECONNRESET')]),
    ];
    const [stack] = rankStacks(suites).stacks;
    expect(stack!.signatures.map((signature) => [signature.title, signature.count])).to.deep.equal([['lost connection', 2]]);
  });

  it('groups by a subset of stack fields with --by, and counts runs and hosts per group', () => {
    const suites = [
      suiteOf('r1', STABLE, [passing('a', 10)], { host: 'n1' }),
      suiteOf('r1', STABLE.replace('extfs', 'xfs'), [passing('a', 10)], { host: 'n2' }),
      suiteOf('r2', THIN, [passing('a', 10)], { host: 'n3' }),
    ];
    const ranking = rankStacks(suites, { by: ['kernel', 'storage_driver'] });
    expect(ranking.by).to.deep.equal(['kernel', 'storage_driver']);
    expect(ranking.stacks.map((stack) => [stack.group, stack.runs, stack.hosts, stack.tests])).to.deep.equal([
      ['kernel=6.1.0-56-amd64, storage_driver=overlay2', 1, 2, 2],
      ['kernel=6.6.1-amd64, storage_driver=btrfs', 1, 1, 1],
    ]);
    expect(ranking.stacks[0]!.fields).to.deep.equal({ kernel: '6.1.0-56-amd64', storage_driver: 'overlay2' });
  });

  it('keeps whole runs that started at or after --since, and leaves out testsuites without a stack', () => {
    const suites = [
      suiteOf('old', STABLE, [passing('a', 10)], { timestamp: '2026-02-27T23:59:59.000Z' }),
      suiteOf('new', STABLE, [passing('a', 10)], { timestamp: '2026-03-01T00:00:00.000Z' }),
      suiteOf('new', STABLE, [passing('b', 10)], { host: 'n2', timestamp: '2026-03-01T00:05:00.000Z' }),
      { ...suiteOf('new', STABLE, [passing('c', 10)]), stack: {} },
    ];
    const ranking = rankStacks(suites, { since: new Date('2026-03-01T00:00:00Z') });
    expect(ranking.stacks).to.have.length(1);
    expect(ranking.stacks[0]).to.include({ runs: 1, tests: 2 });
    expect(ranking.ignoredSuites).to.equal(2);
    expect(ranking.since).to.equal('2026-03-01T00:00:00.000Z');
  });

  it('honours --min-hours and --min-runs', () => {
    const suites = ['r1', 'r2'].map((run) => suiteOf(run, STABLE, [passing('a', 15)]));
    expect(rankStacks(suites).stacks[0]!.tier).to.equal('unproven');
    expect(rankStacks(suites, { minHours: 0.5, minRuns: 2 }).stacks[0]!.tier).to.equal('proven');
    expect(stackOf(STABLE).kernel).to.equal('6.1.0-56-amd64');
  });
});
