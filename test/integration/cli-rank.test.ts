// `gauntlet rank` and `gauntlet qualify` as a user runs them, on run directories written by gauntlet's own JUnit writer.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { RunRecord, TestRecord } from '../../src/model/index.js';
import { writeJunit } from '../../src/report/index.js';
import { runCli } from '../helpers/cli.js';
import { validateJunit } from '../helpers/junit.js';
import { factsOnStack } from '../helpers/rank-results.js';

const PANIC = 'Kernel panic - not syncing: Fatal exception in interrupt';

function keyOf(kernel: string, driver: string): string {
  return `debian-12/${kernel}/docker-20.10.24+dfsg1/${driver}/extfs/cgroup2`;
}

/** One run of the `stress` suite on one host: tests of `minutes` each, some ending in a kernel panic. */
function runRecord(runId: string, kernel: string, tests: { title: string; minutes: number; panic?: boolean }[], driver = 'overlay2'): RunRecord {
  const ts = `2026-03-0${1 + (Number(runId.slice(-1)) % 8)}T10:00:00.000Z`;
  const host = { name: 'node1', id: 'ssh://ops@10.0.4.11:22' };
  const records: TestRecord[] = tests.map((test) => ({
    title: test.title,
    outcome: test.panic ? 'error' : 'passed',
    ...(test.panic ? { errorType: 'PANIC', message: PANIC } : {}),
    output: '',
    durationMs: test.minutes * 60_000,
    attempts: 1,
    flaky: false,
  }));
  return {
    start: {
      type: 'run-start', ts, runId, gauntletVersion: '0.1.0', argv: [], inventory: { file: 'hosts.yaml', digest: 'sha256:00' }, limit: null,
      hosts: [host], suites: [{ name: 'stress', path: '/suites/stress.spec.ts', digest: 'sha256:11' }], params: {}, seed: 1, shard: null, retries: 0, runner: null,
    },
    hosts: [{ ...host, stackKey: keyOf(kernel, driver), facts: factsOnStack(keyOf(kernel, driver)), unreachable: null, cause: null }],
    suites: [{ host: 'node1', suite: 'stress', startedAt: ts, durationMs: tests.reduce((sum, test) => sum + test.minutes * 60_000, 0), tests: records, metrics: [] }],
    end: { type: 'run-end', ts, exitCode: 0 },
  };
}

interface JsonStack {
  rank: number;
  group: string;
  tier: string;
  fatalEvents: number;
  fatalRate: number | null;
  fatalRateInterval: { low: number; high: number | null };
  exposureHours: number;
  runs: number;
  missing: string[];
  signatures: { class: string; title: string; count: number; runs: string[] }[];
}

describe('gauntlet rank and gauntlet qualify', function () {
  this.timeout(120_000);
  let dir: string;
  const clean = '6.1.0-56-amd64';
  const thin = '6.6.1-amd64';
  const panicky = '6.12.9-amd64';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-rank-'));
    const writes: Promise<void>[] = [];
    // Long clean exposure: 4 runs of 2 test-hours.
    for (const n of [1, 2, 3, 4]) writes.push(writeJunit(runRecord(`run-clean-${n}`, clean, [{ title: 'a', minutes: 60 }, { title: 'b', minutes: 60 }]), join(dir, 'reports', `run-clean-${n}`, 'junit.xml')));
    // Repeated panics.
    for (const n of [1, 2, 3]) writes.push(writeJunit(runRecord(`run-panic-${n}`, panicky, [{ title: 'a', minutes: 30 }, { title: 'b', minutes: 2, panic: true }]), join(dir, 'reports', `run-panic-${n}`, 'junit.xml')));
    // A few short clean runs.
    for (const n of [1, 2]) writes.push(writeJunit(runRecord(`run-thin-${n}`, thin, [{ title: 'a', minutes: 5 }]), join(dir, 'reports', `run-thin-${n}`, 'junit.xml')));
    // A candidate as good as the baseline (other storage driver, same kernel line), and one with too little exposure.
    for (const n of [1, 2, 3]) writes.push(writeJunit(runRecord(`run-good-${n}`, clean, [{ title: 'a', minutes: 30 }], 'btrfs'), join(dir, 'reports', `run-good-${n}`, 'junit.xml')));
    await Promise.all(writes);
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ranks long-clean first, thinly-tested next, panicking last, with tiers and rate intervals', async () => {
    const result = await runCli(['rank', '--format', 'json', '--by', 'kernel'], { cwd: dir });
    expect(result.exitCode, result.stderr).to.equal(0);
    const ranking = JSON.parse(result.stdout) as { by: string[]; stacks: JsonStack[] };
    expect(ranking.stacks.map((stack) => [stack.rank, stack.group, stack.tier])).to.deep.equal([
      [1, `kernel=${clean}`, 'proven'],
      [2, `kernel=${thin}`, 'unproven'],
      [3, `kernel=${panicky}`, 'crashed'],
    ]);
    const [proven, unproven, crashed] = ranking.stacks;
    expect(proven!.exposureHours).to.be.closeTo(9.5, 1e-9);
    expect(proven!.fatalRate).to.equal(0);
    expect(proven!.fatalRateInterval.low).to.equal(0);
    expect(proven!.fatalRateInterval.high).to.be.closeTo((3.6889 / 9.5) * 100, 0.01);
    expect(unproven!.missing).to.deep.equal(['0.17 of 1 test-hours', '2 of 3 runs']);
    expect(crashed!.fatalEvents).to.equal(3);
    expect(crashed!.fatalRateInterval.low).to.be.greaterThan(0);
    expect(crashed!.fatalRateInterval.high).to.be.greaterThan(crashed!.fatalRate!);
    expect(crashed!.signatures.map(({ class: faultClass, title, count, runs }) => ({ faultClass, title, count, runs }))).to.deep.equal([
      { faultClass: 'PANIC', title: PANIC, count: 3, runs: ['run-panic-1', 'run-panic-2', 'run-panic-3'] },
    ]);
  });

  it('prints a table that says why each stack is where it is', async () => {
    const result = await runCli(['rank', join(dir, 'reports')]);
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stdout).to.include('unproven: 0.17 of 1 test-hours, 2 of 3 runs; no fatal event so far');
    expect(result.stdout).to.include('crashed: 3 fatal events (PANIC ×3)');
    expect(result.stdout).to.include(`PANIC ×3 in 3 runs: ${PANIC}`);
  });

  it('qualify exits 1 for a candidate with a new PANIC signature, listing where it happened', async () => {
    const out = join(dir, 'q-fail');
    const result = await runCli(['qualify', '--baseline', `kernel=${clean}`, '--candidate', `kernel=${panicky}`, '--out', out, 'reports'], { cwd: dir });
    expect(result.exitCode, result.stderr).to.equal(1);
    expect(result.stdout).to.include(`new crash signature PANIC: ${PANIC} (3× in 3 runs)`);
    expect(result.stdout).to.include('PANIC in run run-panic-2, stress @ node1, test "b"');
    await validateJunit(join(out, 'junit.xml'));
    expect(await readFile(join(out, 'junit.xml'), 'utf8')).to.include('<failure message="1 new crash signature(s)');
    expect(await readFile(join(out, 'summary.md'), 'utf8')).to.match(/^## Stack qualification: ❌ \*\*fail\*\*/);
  });

  it('qualify exits 0 for a candidate as good as the baseline', async () => {
    const out = join(dir, 'q-pass');
    const result = await runCli(['qualify', '--baseline', `storage_driver=overlay2,kernel=${clean}`, '--candidate', `kernel=${clean},storage_driver=btrfs`, '--out', out, '--min-hours', '1.5'], { cwd: dir });
    expect(result.exitCode, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^qualification: pass\n/);
    await validateJunit(join(out, 'junit.xml'));
  });

  it('qualify exits 3 for a candidate with too little exposure', async () => {
    const out = join(dir, 'q-thin');
    const result = await runCli(['qualify', '--baseline', `kernel=${clean}`, '--candidate', `kernel=${thin}`, '--out', out], { cwd: dir });
    expect(result.exitCode, result.stdout + result.stderr).to.equal(3);
    expect(result.stdout).to.include('insufficient evidence for the candidate: 0.17 of 1 test-hours, 2 of 3 runs');
    await validateJunit(join(out, 'junit.xml'));
  });

  for (const [args, message] of [
    [['qualify', '--baseline', 'kernal=1', '--candidate', `kernel=${thin}`], '--baseline: expected FIELD=VALUE[,FIELD=VALUE…] with FIELD one of key, distro, kernel'],
    [['qualify', '--candidate', `kernel=${thin}`], '--baseline: expected a selector such as kernel=6.1.0-56-amd64 or key=<stack key>, got nothing'],
    [['qualify', '--baseline', 'kernel=9.9', '--candidate', `kernel=${thin}`], '--baseline kernel=9.9: matched no testsuite with stack properties (present: kernel: 6.1.0-56-amd64 | 6.12.9-amd64 | 6.6.1-amd64)'],
    [['rank', 'no-such-dir'], 'gauntlet: no-such-dir: expected JUnit XML files, run directories (with junit.xml or journal.jsonl) or globs, got ENOENT'],
    [['rank', 'reports/*/nothing.xml'], 'gauntlet: reports/*/nothing.xml: matched nothing'],
    [['rank', '--by', 'kernel,colour'], 'gauntlet: --by: expected stack fields among key, distro, kernel'],
    [['rank', '--since', 'yesterday'], 'gauntlet: --since: expected an ISO 8601 date such as 2026-03-01 or 2026-03-01T08:00Z, got "yesterday"'],
  ] as const) {
    it(`answers \`gauntlet ${args.join(' ')}\` with exit 2 and one line`, async () => {
      const result = await runCli([...args], { cwd: dir });
      expect(result.exitCode, result.stdout + result.stderr).to.equal(2);
      expect(result.stderr).to.include(message);
      expect(result.stderr.trim().split('\n')).to.have.length(1);
      expect(result.stderr).to.not.match(/\n\s+at /);
      expect(result.stdout).to.equal('');
    });
  }

  it('keeps only runs that started on or after --since (run N started on March 1 + N)', async () => {
    const result = await runCli(['rank', '--format', 'json', '--since', '2026-03-04'], { cwd: dir });
    expect(result.exitCode, result.stderr).to.equal(0);
    const ranking = JSON.parse(result.stdout) as { stacks: JsonStack[] };
    // Left: clean-3 and clean-4 (overlay2), good-3 (btrfs), panic-3; thin-1 and thin-2 started before.
    expect(ranking.stacks.map((stack) => [stack.group, stack.runs, stack.tier])).to.deep.equal([
      [keyOf(clean, 'overlay2'), 2, 'unproven'],
      [keyOf(clean, 'btrfs'), 1, 'unproven'],
      [keyOf(panicky, 'overlay2'), 1, 'crashed'],
    ]);
  });
});
