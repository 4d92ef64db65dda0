// Tests a soak rebuilt from its journal: state, counts (a killed runner's cut not counted against hosts), exit codes and the combined JUnit.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { JournalEvent, RunRecord, SoakEvent, SoakStartEvent } from '../../src/model/index.js';
import { buildRunRecord, buildSoakState, exitCodeOfSoak, formatSoakSummary, readJunitText, readSoakJournal, renderSoakJunit, totalSoak } from '../../src/report/index.js';
import { validateJunit } from '../helpers/junit.js';

const SOAK_START: SoakStartEvent = {
  type: 'soak-start',
  ts: '2026-03-02T10:00:00.000Z',
  soakId: 'soak-1',
  gauntletVersion: '0.1.0',
  argv: ['soak', '--duration', '1h'],
  deadline: '2026-03-02T11:00:00.000Z',
  durationMs: 3_600_000,
  settings: {
    inventoryFile: '/etc/gauntlet/hosts.yaml',
    limit: null,
    suites: [{ name: 's', path: '/suites/s.spec.ts', digest: 'sha256:11' }],
    params: {},
    retries: 0,
    bail: false,
    timeoutMs: null,
    suiteTimeoutMs: null,
    workers: 2,
    watch: true,
    continueAfterCrash: true,
    recoverTimeoutMs: 300_000,
    acceptNewHostKeys: false,
    progressMs: 300_000,
  },
  inventoryDigest: 'sha256:00',
  process: { pid: 1234, hostname: 'runner' },
};

/** One iteration's run: host h1 runs tests a and b of suite s; `ended` says how far it got. */
function iterationRun(runId: string, outcomes: Partial<Record<'a' | 'b', 'passed' | 'failed'>>, ended: boolean, fatal = false): RunRecord {
  const events: JournalEvent[] = [
    { type: 'run-start', ts: '2026-03-02T10:00:00.000Z', runId, gauntletVersion: '0.1.0', argv: [], inventory: { file: 'hosts.yaml', digest: 'sha256:00' }, limit: null, hosts: [{ name: 'h1', id: 'ssh://root@10.0.0.1:22' }], suites: SOAK_START.settings.suites, params: {}, seed: 7, shard: null, retries: 0, runner: null },
    { type: 'suite-plan', ts: '2026-03-02T10:00:01.000Z', host: 'h1', suite: 's', tests: ['a', 'b'], meta: {} },
  ];
  for (const title of ['a', 'b'] as const) {
    const outcome = outcomes[title];
    events.push({ type: 'test-start', ts: '2026-03-02T10:00:02.000Z', host: 'h1', suite: 's', title, attempt: 1 });
    if (title === 'a' && fatal) {
      events.push({ type: 'kernel-event', ts: '2026-03-02T10:00:02.500Z', host: 'h1', source: 'console', via: 'file:/c', class: 'PANIC', title: 'Kernel panic - not syncing: sysrq triggered crash', alt: [], fatal: true, corrupted: false, excerpt: 'Kernel panic', detectedAt: '2026-03-02T10:00:02.500Z', test: { suite: 's', title: 'a', attempt: 1 } });
    }
    if (!outcome) break;
    events.push({ type: 'test-end', ts: '2026-03-02T10:00:03.000Z', host: 'h1', suite: 's', title, outcome, output: '', durationMs: 1000, attempt: 1, flaky: false });
  }
  if (ended) events.push({ type: 'run-end', ts: '2026-03-02T10:00:04.000Z', exitCode: 0 });
  return buildRunRecord(events);
}

function summaryOf() {
  return { hostsTotal: 1, hostsRan: 1, passed: 0, failed: 0, errors: 0, skipped: 0, flaky: 0 };
}

describe('a soak rebuilt from its journal', () => {
  const records = new Map<string, RunRecord>([
    ['run-1', iterationRun('run-1', { a: 'passed', b: 'passed' }, true)],
    // The runner was killed during b: a passed, b is INTERRUPTED.
    ['run-2', iterationRun('run-2', { a: 'passed' }, false)],
    ['run-3', iterationRun('run-3', { a: 'passed', b: 'passed' }, true)],
  ]);
  const events: SoakEvent[] = [
    SOAK_START,
    { type: 'iteration-start', ts: '2026-03-02T10:00:00.000Z', iteration: 1, runId: 'run-1', seed: 1, hosts: ['h1'] },
    { type: 'iteration-end', ts: '2026-03-02T10:01:00.000Z', iteration: 1, runId: 'run-1', exitCode: 0, summary: summaryOf() },
    { type: 'iteration-start', ts: '2026-03-02T10:01:00.000Z', iteration: 2, runId: 'run-2', seed: 2, hosts: ['h1'] },
    { type: 'soak-resume', ts: '2026-03-02T10:05:00.000Z', argv: ['soak', '--resume', 'reports/soak-1'], process: { pid: 99, hostname: 'runner' } },
    { type: 'iteration-end', ts: '2026-03-02T10:05:01.000Z', iteration: 2, runId: 'run-2', exitCode: 1, summary: summaryOf(), killed: true },
    { type: 'iteration-start', ts: '2026-03-02T10:05:02.000Z', iteration: 3, runId: 'run-3', seed: 3, hosts: ['h1'] },
    { type: 'iteration-end', ts: '2026-03-02T10:06:00.000Z', iteration: 3, runId: 'run-3', exitCode: 0, summary: summaryOf() },
    { type: 'soak-end', ts: '2026-03-02T11:00:01.000Z', exitCode: 0, reason: 'deadline' },
  ];

  it('folds the events into iterations, the latest runner process and the end', () => {
    const state = buildSoakState(events);
    expect(state.iterations.map((iteration) => [iteration.start.runId, iteration.end?.killed ?? false])).to.deep.equal([
      ['run-1', false],
      ['run-2', true],
      ['run-3', false],
    ]);
    expect(state.process).to.deep.equal({ pid: 99, hostname: 'runner' });
    expect(state.end?.reason).to.equal('deadline');
  });

  it('counts every iteration once, and does not count the killed runner against the host', () => {
    const state = buildSoakState(events);
    const totals = totalSoak(state, records);
    expect({ iterations: totals.iterations, killed: totals.killed, passed: totals.passed, errors: totals.errors, runnerDeaths: totals.runnerDeaths }).to.deep.equal({
      iterations: 3,
      killed: 1,
      passed: 5,
      errors: 0,
      runnerDeaths: 1,
    });
    expect(exitCodeOfSoak(state, totals, null)).to.equal(0);
    expect(exitCodeOfSoak(state, totals, 'SIGTERM')).to.equal(143);
    expect(formatSoakSummary(state, totals).join('\n')).to.include('1 iteration was cut short by a killed runner and resumed (1 test INTERRUPTED, not counted against the hosts)');
  });

  it('fails the soak for a host that is down at the end, and for a fatal kernel event', () => {
    const down = buildSoakState([...events.slice(0, -1), { type: 'host-down', ts: '2026-03-02T10:07:00.000Z', host: 'h1', iteration: 3, reason: 'unreachable: ECONNREFUSED' }]);
    expect(exitCodeOfSoak(down, totalSoak(down, records), null)).to.equal(1);
    expect([...down.down].map(([host, event]) => [host, event.reason])).to.deep.equal([['h1', 'unreachable: ECONNREFUSED']]);
    const back = buildSoakState([...events.slice(0, -1), { type: 'host-down', ts: '2026-03-02T10:07:00.000Z', host: 'h1', iteration: 3, reason: 'x' }, { type: 'host-back', ts: '2026-03-02T10:08:00.000Z', host: 'h1', iteration: 4 }]);
    expect(back.down.size).to.equal(0);

    const panicked = new Map(records).set('run-3', iterationRun('run-3', { a: 'passed', b: 'passed' }, true, true));
    const state = buildSoakState(events);
    const totals = totalSoak(state, panicked);
    expect([...totals.fatal]).to.deep.equal([['PANIC: Kernel panic - not syncing: sysrq triggered crash', 1]]);
    expect(exitCodeOfSoak(state, totals, null)).to.equal(1);
    expect(formatSoakSummary(state, totals).join('\n')).to.include('fatal ×1: PANIC: Kernel panic - not syncing: sysrq triggered crash');
  });

  it('writes one JUnit document with each iteration once, valid against the Jenkins schema', async () => {
    const xml = renderSoakJunit(buildSoakState(events), records);
    const dir = await mkdtemp(join(tmpdir(), 'gauntlet-soak-junit-'));
    try {
      const path = join(dir, 'junit.xml');
      await writeFile(path, xml);
      await validateJunit(path);
      const suites = readJunitText(xml, path);
      expect(suites.map((suite) => [suite.name, suite.run, suite.tests.map((test) => `${test.name}:${test.outcome}:${test.type ?? ''}`)])).to.deep.equal([
        ['s @ h1 #1', 'run-1', ['a:passed:', 'b:passed:']],
        ['s @ h1 #2', 'run-2', ['a:passed:', 'b:error:INTERRUPTED']],
        ['s @ h1 #3', 'run-3', ['a:passed:', 'b:passed:']],
      ]);
      expect(xml).to.include('<property name="gauntlet.soak" value="soak-1"/>');
      expect(xml).to.include('<property name="gauntlet.iteration" value="2"/>');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads a soak journal back, and names a folder that is not a soak', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gauntlet-soak-journal-'));
    try {
      await writeFile(join(dir, 'soak.jsonl'), `${events.map((event) => JSON.stringify(event)).join('\n')}\n{"type":"soak-`);
      const read = await readSoakJournal(dir);
      expect(read.events).to.deep.equal(events);
      expect(read.warnings).to.deep.equal([`${join(dir, 'soak.jsonl')}:${events.length + 1}: ignored a truncated last line (the runner was probably stopped while writing it)`]);
      let message = '';
      await readSoakJournal(join(dir, 'nothing')).catch((err: Error) => (message = err.message));
      expect(message).to.equal(`${join(dir, 'nothing')}: no soak.jsonl (is this a soak's folder, reports/<soak-id>?)`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
