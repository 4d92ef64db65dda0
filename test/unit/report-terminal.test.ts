// Tests the terminal reporter: exact plain-mode lines and summary, formatSummary, and the live view's final screen and row cap.

import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { expect } from 'chai';
import type { Facts, HostRef, JournalEvent, RunRecord, RunStartEvent, RunSummary, SuiteRef, TestEndEvent, TestRecord } from '../../src/model/index.js';
import { createTerminalReporter, formatSummary } from '../../src/report/terminal.js';

const RUN_START_MS = Date.parse('2026-11-22T07:55:00.000Z');
const REPORT_DIR = 'reports/2026-11-22T07-55-00Z';

const H1: HostRef = { name: 'h1', id: 'ssh://root@10.213.1.11:22' };
const H2: HostRef = { name: 'h2', id: 'ssh://root@10.213.1.12:22' };
const DB2: HostRef = { name: 'db2', id: 'ssh://ops@10.0.4.12:22' };

const CHURN = 'storage-churn';
const OOM = 'oom-storm';
const CHURN_TESTS = ['creates containers', 'data survives rename', 'fills the disk', 'restarts the engine', 'uses the btrfs driver'];
const OOM_TESTS = ['kills the biggest container', 'keeps the engine alive'];
const NOT_DISPOSABLE = 'destructive: host is not gauntlet_disposable';
const UNREACHABLE = 'connect ETIMEDOUT (connection timed out) after 20 s';

/** ISO time `seconds` after the run began. */
function at(seconds: number): string {
  return new Date(RUN_START_MS + seconds * 1000).toISOString();
}

/** A clock the test moves forward as it feeds events, so live elapsed times are deterministic. */
function createClock(): { now: () => Date; set: (iso: string) => void } {
  let current = RUN_START_MS;
  return { now: () => new Date(current), set: (iso) => (current = Date.parse(iso)) };
}

function buildSuiteRef(name: string): SuiteRef {
  return { name, path: `/opt/gauntlet/suites/${name}.spec.ts`, digest: 'sha256:0f3c' };
}

function buildRunStart(hosts: HostRef[], retries = 1): RunStartEvent {
  return {
    type: 'run-start',
    ts: at(0),
    runId: '2026-11-22T07-55-00Z-7f3a',
    gauntletVersion: '0.1.0',
    argv: ['run', '--limit', 'all'],
    inventory: { file: '/srv/lab/hosts.yaml', digest: 'sha256:aa' },
    limit: null,
    hosts,
    suites: [buildSuiteRef(CHURN), buildSuiteRef(OOM)],
    params: {},
    seed: 1234,
    shard: null,
    retries,
    runner: null,
  };
}

/** The reporter reads only the stack key; the rest of the facts object does not matter here. */
const FACTS = {} as Facts;

function buildTestEnd(host: string, title: string, seconds: number, fields: Partial<TestEndEvent> = {}): TestEndEvent {
  return { type: 'test-end', ts: at(seconds), host, suite: CHURN, title, outcome: 'passed', output: '', durationMs: 1000, attempt: 1, flaky: false, ...fields };
}

/** Three hosts: h1 passes everything, h2 has a failure, a timeout and a flaky test, db2 cannot be reached. Retries: 1. */
function buildThreeHostEvents(): JournalEvent[] {
  const skipBtrfs = { outcome: 'skipped' as const, durationMs: 0, message: 'needs storage driver btrfs, host has overlay2' };
  return [
    { type: 'host-facts', ts: at(1.2), host: 'h1', id: H1.id, stackKey: 'debian-12/6.1.0-56-amd64/docker-20.10.24/overlay2/extfs/cgroup2', facts: FACTS },
    { type: 'suite-plan', ts: at(1.3), host: 'h1', suite: CHURN, tests: CHURN_TESTS, meta: {} },
    { type: 'suite-plan', ts: at(1.3), host: 'h1', suite: OOM, tests: OOM_TESTS, meta: { destructive: true }, skipped: NOT_DISPOSABLE },
    { type: 'host-facts', ts: at(1.6), host: 'h2', id: H2.id, stackKey: 'ubuntu-24.04/6.8.0-45-generic/docker-27.3.1/overlay2/xfs/cgroup2', facts: FACTS },
    { type: 'suite-plan', ts: at(1.7), host: 'h2', suite: CHURN, tests: CHURN_TESTS, meta: {} },
    { type: 'suite-plan', ts: at(1.7), host: 'h2', suite: OOM, tests: OOM_TESTS, meta: { destructive: true }, skipped: NOT_DISPOSABLE },
    { type: 'suite-start', ts: at(1.8), host: 'h1', suite: CHURN },
    { type: 'test-start', ts: at(1.8), host: 'h1', suite: CHURN, title: 'creates containers', attempt: 1 },
    { type: 'suite-start', ts: at(1.9), host: 'h2', suite: CHURN },
    { type: 'test-start', ts: at(1.9), host: 'h2', suite: CHURN, title: 'creates containers', attempt: 1 },
    buildTestEnd('h1', 'creates containers', 3.0, { durationMs: 1200 }),
    { type: 'test-start', ts: at(3.0), host: 'h1', suite: CHURN, title: 'data survives rename', attempt: 1 },
    buildTestEnd('h2', 'creates containers', 3.3, { durationMs: 1400 }),
    { type: 'test-start', ts: at(3.3), host: 'h2', suite: CHURN, title: 'data survives rename', attempt: 1 },
    buildTestEnd('h2', 'data survives rename', 3.6, { outcome: 'failed', errorType: 'ASSERTION', message: "expected 'abc' to equal 'abd'", detail: '- abd\n+ abc', durationMs: 300 }),
    { type: 'test-start', ts: at(3.6), host: 'h2', suite: CHURN, title: 'data survives rename', attempt: 2 },
    buildTestEnd('h1', 'data survives rename', 3.8, { durationMs: 800 }),
    { type: 'test-start', ts: at(3.8), host: 'h1', suite: CHURN, title: 'fills the disk', attempt: 1 },
    buildTestEnd('h2', 'data survives rename', 3.9, { outcome: 'failed', errorType: 'ASSERTION', message: "expected 'abc' to equal 'abd'", durationMs: 300, attempt: 2 }),
    { type: 'test-start', ts: at(3.9), host: 'h2', suite: CHURN, title: 'fills the disk', attempt: 1 },
    { type: 'metric', ts: at(7.8), host: 'h1', suite: CHURN, name: 'fill_rate', value: 412, unit: 'MB/s' },
    buildTestEnd('h1', 'fills the disk', 7.9, { durationMs: 4100 }),
    { type: 'test-start', ts: at(7.9), host: 'h1', suite: CHURN, title: 'restarts the engine', attempt: 1 },
    buildTestEnd('h1', 'restarts the engine', 17.6, { durationMs: 9700 }),
    buildTestEnd('h1', 'uses the btrfs driver', 17.6, skipBtrfs),
    { type: 'suite-end', ts: at(17.6), host: 'h1', suite: CHURN, durationMs: 15800 },
    { type: 'host-end', ts: at(17.7), host: 'h1' },
    { type: 'host-unreachable', ts: at(20.0), host: 'db2', id: DB2.id, error: UNREACHABLE },
    { type: 'suite-plan', ts: at(20.0), host: 'db2', suite: CHURN, tests: CHURN_TESTS, meta: {} },
    { type: 'suite-plan', ts: at(20.0), host: 'db2', suite: OOM, tests: OOM_TESTS, meta: { destructive: true }, skipped: NOT_DISPOSABLE },
    { type: 'host-end', ts: at(20.1), host: 'db2', error: { type: 'HOST_UNREACHABLE', message: UNREACHABLE } },
    buildTestEnd('h2', 'fills the disk', 33.9, { outcome: 'error', errorType: 'TIMEOUT', message: 'ran past its 30 s timeout', durationMs: 30000 }),
    { type: 'test-start', ts: at(33.9), host: 'h2', suite: CHURN, title: 'fills the disk', attempt: 2 },
    buildTestEnd('h2', 'fills the disk', 63.9, { outcome: 'error', errorType: 'TIMEOUT', message: 'ran past its 30 s timeout', durationMs: 30000, attempt: 2 }),
    { type: 'test-start', ts: at(63.9), host: 'h2', suite: CHURN, title: 'restarts the engine', attempt: 1 },
    buildTestEnd('h2', 'restarts the engine', 84.0, { outcome: 'failed', errorType: 'ASSERTION', message: 'docker did not answer within 20 s', durationMs: 20100 }),
    { type: 'test-start', ts: at(84.0), host: 'h2', suite: CHURN, title: 'restarts the engine', attempt: 2 },
    buildTestEnd('h2', 'restarts the engine', 96.3, { durationMs: 12300, attempt: 2, flaky: true }),
    buildTestEnd('h2', 'uses the btrfs driver', 96.3, skipBtrfs),
    { type: 'suite-end', ts: at(96.3), host: 'h2', suite: CHURN, durationMs: 94500 },
    { type: 'host-end', ts: at(96.4), host: 'h2' },
    { type: 'run-end', ts: at(96.5), exitCode: 1 },
  ];
}

function buildTestRecord(title: string, fields: Partial<TestRecord> = {}): TestRecord {
  return { title, outcome: 'passed', output: '', durationMs: 1000, attempts: 1, flaky: false, ...fields };
}

/** The record the journal of buildThreeHostEvents rebuilds to, and its summary. */
function buildThreeHostRecord(): { record: RunRecord; summary: RunSummary } {
  const start = buildRunStart([H1, H2, DB2]);
  const skipped = (host: string) => ({ host, suite: OOM, durationMs: 0, metrics: [], skipped: NOT_DISPOSABLE, tests: OOM_TESTS.map((title) => buildTestRecord(title, { outcome: 'skipped', message: NOT_DISPOSABLE })) });
  const btrfs = buildTestRecord('uses the btrfs driver', { outcome: 'skipped', message: 'needs storage driver btrfs, host has overlay2' });
  const record: RunRecord = {
    start,
    hosts: [
      { name: 'h1', id: H1.id, stackKey: 'debian-12/6.1.0-56-amd64/docker-20.10.24/overlay2/extfs/cgroup2', facts: FACTS, unreachable: null, cause: null },
      { name: 'h2', id: H2.id, stackKey: 'ubuntu-24.04/6.8.0-45-generic/docker-27.3.1/overlay2/xfs/cgroup2', facts: FACTS, unreachable: null, cause: null },
      { name: 'db2', id: DB2.id, stackKey: null, facts: null, unreachable: UNREACHABLE, cause: { type: 'HOST_UNREACHABLE', message: UNREACHABLE } },
    ],
    suites: [
      { host: 'h1', suite: CHURN, durationMs: 15800, metrics: [], tests: [...CHURN_TESTS.slice(0, 4).map((title) => buildTestRecord(title)), btrfs] },
      skipped('h1'),
      {
        host: 'h2',
        suite: CHURN,
        durationMs: 94500,
        metrics: [],
        tests: [
          buildTestRecord('creates containers'),
          buildTestRecord('data survives rename', { outcome: 'failed', errorType: 'ASSERTION', message: "expected 'abc' to equal 'abd'", attempts: 2 }),
          buildTestRecord('fills the disk', { outcome: 'error', errorType: 'TIMEOUT', message: 'ran past its 30 s timeout', attempts: 2 }),
          buildTestRecord('restarts the engine', { attempts: 2, flaky: true }),
          btrfs,
        ],
      },
      skipped('h2'),
      { host: 'db2', suite: CHURN, durationMs: 0, metrics: [], tests: CHURN_TESTS.map((title) => buildTestRecord(title, { outcome: 'error', errorType: 'HOST_UNREACHABLE', message: UNREACHABLE })) },
      skipped('db2'),
    ],
    end: { type: 'run-end', ts: at(96.5), exitCode: 1 },
  };
  return { record, summary: { hostsTotal: 3, hostsRan: 2, passed: 6, failed: 1, errors: 6, skipped: 8, flaky: 1 } };
}

/** Collects what a stream received, as text. */
function captureStream(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks).toString('utf8');
}

/** Feeds a run through a reporter, moving the clock to each event's time first. */
async function feedRun(
  reporter: ReturnType<typeof createTerminalReporter>,
  clock: ReturnType<typeof createClock>,
  start: RunStartEvent,
  events: JournalEvent[],
  end?: { record: RunRecord; summary: RunSummary },
): Promise<void> {
  clock.set(start.ts);
  reporter.onRunStart?.(start);
  for (const event of events) {
    clock.set(event.ts);
    reporter.onEvent?.(event);
  }
  if (end !== undefined) await reporter.onRunEnd?.(end.record, end.summary, REPORT_DIR);
}

/**
 * Replays what log-update writes into the lines a terminal would show: text, newlines, and the only escape sequences
 * it uses (erase line, cursor up, cursor to column 1, cursor hide/show). Any other sequence fails the test, so a
 * change in how the screen is drawn is noticed. Scrolled-off lines are kept, as a terminal's scrollback would.
 */
function replayTerminal(raw: string): string[] {
  const screen: string[] = [''];
  let row = 0;
  let col = 0;
  for (const match of raw.matchAll(/\u001b\[(\??[0-9;]*)([A-Za-z])|\n|[^\u001b\n]+/g)) {
    const [token, params, command] = match;
    if (token === '\n') {
      row += 1;
      col = 0;
      if (row === screen.length) screen.push('');
    } else if (command !== undefined) {
      const sequence = `${params}${command}`;
      if (sequence === '2K') screen[row] = '';
      else if (command === 'A') row = Math.max(0, row - Number(params || 1));
      else if (sequence === 'G') col = 0;
      else if (sequence !== '?25l' && sequence !== '?25h') throw new Error(`unexpected escape sequence ESC[${sequence}`);
    } else {
      const line = (screen[row] ?? '').padEnd(col);
      screen[row] = line.slice(0, col) + token + line.slice(col + token.length);
      col += token.length;
    }
  }
  while (screen.length > 0 && screen[screen.length - 1] === '') screen.pop();
  return screen;
}

/** A PassThrough that says it is a terminal of the given size, as log-update reads it. */
function createTerminalStream(columns: number, rows: number): PassThrough {
  return Object.assign(new PassThrough(), { isTTY: true, columns, rows });
}

const THREE_HOST_SUMMARY = [
  '',
  '2/3 hosts ran · 6 passed · 1 failed · 6 errors · 8 skipped · 1 flaky',
  "  [h2 ssh://root@10.213.1.12:22] FAIL storage-churn > data survives rename: expected 'abc' to equal 'abd'",
  '  [h2 ssh://root@10.213.1.12:22] ERROR TIMEOUT storage-churn > fills the disk: ran past its 30 s timeout',
  '  [db2 ssh://ops@10.0.4.12:22] unreachable: connect ETIMEDOUT (connection timed out) after 20 s; 5 tests not run',
  'report: reports/2026-11-22T07-55-00Z/junit.xml',
  'journal: reports/2026-11-22T07-55-00Z/journal.jsonl',
];

describe('formatSummary', () => {
  it('gives hosts that ran, then passed, failed, errors and flaky', () => {
    expect(formatSummary({ hostsTotal: 40, hostsRan: 37, passed: 412, failed: 3, errors: 2, skipped: 0, flaky: 1 })).to.equal(
      '37/40 hosts ran · 412 passed · 3 failed · 2 errors · 1 flaky',
    );
  });

  it('adds skipped before flaky only when some were skipped', () => {
    expect(formatSummary({ hostsTotal: 40, hostsRan: 40, passed: 400, failed: 0, errors: 2, skipped: 14, flaky: 0 })).to.equal(
      '40/40 hosts ran · 400 passed · 0 failed · 2 errors · 14 skipped · 0 flaky',
    );
  });

  it('says "1 error", and shows zeros rather than leaving counts out', () => {
    expect(formatSummary({ hostsTotal: 1, hostsRan: 1, passed: 0, failed: 0, errors: 1, skipped: 0, flaky: 0 })).to.equal(
      '1/1 hosts ran · 0 passed · 0 failed · 1 error · 0 flaky',
    );
    expect(formatSummary({ hostsTotal: 0, hostsRan: 0, passed: 0, failed: 0, errors: 0, skipped: 0, flaky: 0 })).to.equal(
      '0/0 hosts ran · 0 passed · 0 failed · 0 errors · 0 flaky',
    );
  });
});

describe('terminal reporter, plain lines', () => {
  it('prints each happening as one timestamped line, then the summary', async () => {
    const stream = new PassThrough();
    const read = captureStream(stream);
    const clock = createClock();
    const reporter = createTerminalReporter({ stream, live: false, now: clock.now });
    await feedRun(reporter, clock, buildRunStart([H1, H2, DB2]), buildThreeHostEvents(), buildThreeHostRecord());

    expect(read().split('\n')).to.deep.equal([
      '2026-11-22T07:55:00Z run 2026-11-22T07-55-00Z-7f3a: 3 hosts, 2 suites, seed 1234, retries 1',
      '2026-11-22T07:55:01Z [h1 ssh://root@10.213.1.11:22] facts debian-12/6.1.0-56-amd64/docker-20.10.24/overlay2/extfs/cgroup2',
      '2026-11-22T07:55:01Z [h1 ssh://root@10.213.1.11:22] SKIP oom-storm (2 tests): destructive: host is not gauntlet_disposable',
      '2026-11-22T07:55:01Z [h2 ssh://root@10.213.1.12:22] facts ubuntu-24.04/6.8.0-45-generic/docker-27.3.1/overlay2/xfs/cgroup2',
      '2026-11-22T07:55:01Z [h2 ssh://root@10.213.1.12:22] SKIP oom-storm (2 tests): destructive: host is not gauntlet_disposable',
      '2026-11-22T07:55:03Z [h1 ssh://root@10.213.1.11:22] PASS storage-churn > creates containers (1.2 s)',
      '2026-11-22T07:55:03Z [h2 ssh://root@10.213.1.12:22] PASS storage-churn > creates containers (1.4 s)',
      "2026-11-22T07:55:03Z [h2 ssh://root@10.213.1.12:22] FAIL storage-churn > data survives rename (0.3 s, attempt 1/2): expected 'abc' to equal 'abd'",
      '2026-11-22T07:55:03Z [h1 ssh://root@10.213.1.11:22] PASS storage-churn > data survives rename (0.8 s)',
      "2026-11-22T07:55:03Z [h2 ssh://root@10.213.1.12:22] FAIL storage-churn > data survives rename (0.3 s, attempt 2/2): expected 'abc' to equal 'abd'",
      '2026-11-22T07:55:07Z [h1 ssh://root@10.213.1.11:22] PASS storage-churn > fills the disk (4.1 s)',
      '2026-11-22T07:55:17Z [h1 ssh://root@10.213.1.11:22] PASS storage-churn > restarts the engine (9.7 s)',
      '2026-11-22T07:55:17Z [h1 ssh://root@10.213.1.11:22] SKIP storage-churn > uses the btrfs driver: needs storage driver btrfs, host has overlay2',
      '2026-11-22T07:55:17Z [h1 ssh://root@10.213.1.11:22] done: 4 passed · 0 failed · 0 errors · 3 skipped · 0 flaky',
      '2026-11-22T07:55:20Z [db2 ssh://ops@10.0.4.12:22] unreachable: connect ETIMEDOUT (connection timed out) after 20 s; 5 tests not run',
      '2026-11-22T07:55:33Z [h2 ssh://root@10.213.1.12:22] ERROR TIMEOUT storage-churn > fills the disk (30.0 s, attempt 1/2): ran past its 30 s timeout',
      '2026-11-22T07:56:03Z [h2 ssh://root@10.213.1.12:22] ERROR TIMEOUT storage-churn > fills the disk (30.0 s, attempt 2/2): ran past its 30 s timeout',
      '2026-11-22T07:56:24Z [h2 ssh://root@10.213.1.12:22] FAIL storage-churn > restarts the engine (20.1 s, attempt 1/2): docker did not answer within 20 s',
      '2026-11-22T07:56:36Z [h2 ssh://root@10.213.1.12:22] FLAKY storage-churn > restarts the engine (12.3 s, passed on attempt 2)',
      '2026-11-22T07:56:36Z [h2 ssh://root@10.213.1.12:22] SKIP storage-churn > uses the btrfs driver: needs storage driver btrfs, host has overlay2',
      '2026-11-22T07:56:36Z [h2 ssh://root@10.213.1.12:22] done: 2 passed · 1 failed · 1 error · 3 skipped · 1 flaky',
      ...THREE_HOST_SUMMARY,
      '',
    ]);
  });

  it('writes no escape sequences and no secrets from argv, params or the inventory path', async () => {
    const stream = new PassThrough();
    const read = captureStream(stream);
    const clock = createClock();
    const start = { ...buildRunStart([H1, H2, DB2]), argv: ['run', '--param', 'token=s3cr3t'], params: { token: 's3cr3t' } };
    await feedRun(createTerminalReporter({ stream, live: false, now: clock.now }), clock, start, buildThreeHostEvents(), buildThreeHostRecord());
    const text = read();
    expect(text).to.not.include('\u001b');
    expect(text).to.not.include('s3cr3t');
    expect(text).to.not.include('/srv/lab/hosts.yaml');
  });

  it('prints test starts, plans, suite ends and metrics only when verbose', async () => {
    const events = buildThreeHostEvents();
    const quiet = new PassThrough();
    const readQuiet = captureStream(quiet);
    const loud = new PassThrough();
    const readLoud = captureStream(loud);
    await feedRun(createTerminalReporter({ stream: quiet, live: false }), createClock(), buildRunStart([H1, H2, DB2]), events);
    await feedRun(createTerminalReporter({ stream: loud, live: false, verbose: true }), createClock(), buildRunStart([H1, H2, DB2]), events);

    expect(readQuiet()).to.not.include('START');
    const lines = readLoud().split('\n');
    expect(lines).to.include('2026-11-22T07:55:01Z [h1 ssh://root@10.213.1.11:22] plan storage-churn: 5 tests');
    expect(lines).to.include('2026-11-22T07:55:01Z [h1 ssh://root@10.213.1.11:22] START storage-churn > creates containers');
    expect(lines).to.include('2026-11-22T07:55:03Z [h2 ssh://root@10.213.1.12:22] START storage-churn > data survives rename (attempt 2)');
    expect(lines).to.include('2026-11-22T07:55:07Z [h1 ssh://root@10.213.1.11:22] metric storage-churn fill_rate=412 MB/s');
    expect(lines).to.include('2026-11-22T07:55:17Z [h1 ssh://root@10.213.1.11:22] end storage-churn (15.8 s)');
    // Even verbose, an unreachable host is one line: its plans are not listed.
    expect(lines.filter((line) => line.includes('[db2 '))).to.deep.equal([
      '2026-11-22T07:55:20Z [db2 ssh://ops@10.0.4.12:22] unreachable: connect ETIMEDOUT (connection timed out) after 20 s; 5 tests not run',
    ]);
  });

  it('collapses a lost host into one line with the number of tests it did not finish', async () => {
    const stream = new PassThrough();
    const read = captureStream(stream);
    const clock = createClock();
    const lost = { type: 'LOST_CONNECTION', message: 'no answer to 3 keepalives in 15 s' };
    const events: JournalEvent[] = [
      { type: 'host-facts', ts: at(1), host: 'h1', id: H1.id, stackKey: 'debian-12/6.1.0-56-amd64/docker-20.10.24/overlay2/extfs/cgroup2', facts: FACTS },
      { type: 'suite-plan', ts: at(1), host: 'h1', suite: CHURN, tests: CHURN_TESTS, meta: {} },
      { type: 'suite-start', ts: at(1), host: 'h1', suite: CHURN },
      buildTestEnd('h1', 'creates containers', 2),
      { type: 'test-start', ts: at(2), host: 'h1', suite: CHURN, title: 'data survives rename', attempt: 1 },
      { type: 'host-end', ts: at(40), host: 'h1', error: lost },
      { type: 'run-end', ts: at(40), exitCode: 1 },
    ];
    const record: RunRecord = {
      start: buildRunStart([H1], 0),
      hosts: [{ name: 'h1', id: H1.id, stackKey: null, facts: FACTS, unreachable: null, cause: lost }],
      suites: [
        {
          host: 'h1',
          suite: CHURN,
          durationMs: 39000,
          metrics: [],
          tests: [
            buildTestRecord('creates containers'),
            buildTestRecord('data survives rename', { outcome: 'error', errorType: 'LOST_CONNECTION', message: lost.message }),
            ...CHURN_TESTS.slice(2).map((title) => buildTestRecord(title, { outcome: 'error', errorType: 'LOST_CONNECTION', message: `not run: ${lost.message}` })),
          ],
        },
      ],
      end: { type: 'run-end', ts: at(40), exitCode: 1 },
    };
    const summary: RunSummary = { hostsTotal: 1, hostsRan: 1, passed: 1, failed: 0, errors: 4, skipped: 0, flaky: 0 };
    await feedRun(createTerminalReporter({ stream, live: false, now: clock.now }), clock, buildRunStart([H1], 0), events, { record, summary });

    expect(read().split('\n').slice(3)).to.deep.equal([
      '2026-11-22T07:55:40Z [h1 ssh://root@10.213.1.11:22] lost (LOST_CONNECTION): no answer to 3 keepalives in 15 s; 4 tests not finished',
      '',
      '1/1 hosts ran · 1 passed · 0 failed · 4 errors · 0 flaky',
      '  [h1 ssh://root@10.213.1.11:22] lost (LOST_CONNECTION): no answer to 3 keepalives in 15 s; 4 tests not finished',
      'report: reports/2026-11-22T07-55-00Z/junit.xml',
      'journal: reports/2026-11-22T07-55-00Z/journal.jsonl',
      '',
    ]);
  });

  it('still prints an unreachable host whose end never came, at the end of the run', async () => {
    const stream = new PassThrough();
    const read = captureStream(stream);
    const clock = createClock();
    const events: JournalEvent[] = [
      { type: 'host-unreachable', ts: at(20), host: 'db2', id: DB2.id, error: UNREACHABLE },
      { type: 'suite-plan', ts: at(20), host: 'db2', suite: CHURN, tests: CHURN_TESTS, meta: {} },
      { type: 'run-end', ts: at(21), exitCode: 130, interrupted: 'SIGINT' },
    ];
    const record: RunRecord = {
      start: buildRunStart([DB2], 0),
      hosts: [{ name: 'db2', id: DB2.id, stackKey: null, facts: null, unreachable: UNREACHABLE, cause: null }],
      suites: [{ host: 'db2', suite: CHURN, durationMs: 0, metrics: [], tests: CHURN_TESTS.map((title) => buildTestRecord(title, { outcome: 'error', errorType: 'HOST_UNREACHABLE', message: UNREACHABLE })) }],
      end: { type: 'run-end', ts: at(21), exitCode: 130, interrupted: 'SIGINT' },
    };
    const summary: RunSummary = { hostsTotal: 1, hostsRan: 0, passed: 0, failed: 0, errors: 5, skipped: 0, flaky: 0 };
    await feedRun(createTerminalReporter({ stream, live: false, now: clock.now }), clock, buildRunStart([DB2], 0), events, { record, summary });

    expect(read().split('\n').slice(1)).to.deep.equal([
      '2026-11-22T07:55:21Z run interrupted by SIGINT',
      '2026-11-22T07:55:21Z [db2 ssh://ops@10.0.4.12:22] unreachable: connect ETIMEDOUT (connection timed out) after 20 s; 5 tests not run',
      '',
      '0/1 hosts ran · 0 passed · 0 failed · 5 errors · 0 flaky',
      'interrupted by SIGINT',
      '  [db2 ssh://ops@10.0.4.12:22] unreachable: connect ETIMEDOUT (connection timed out) after 20 s; 5 tests not run',
      'report: reports/2026-11-22T07-55-00Z/junit.xml',
      'journal: reports/2026-11-22T07-55-00Z/journal.jsonl',
      '',
    ]);
  });

  it('counts tests an interruption left unfinished instead of listing them', async () => {
    const stream = new PassThrough();
    const read = captureStream(stream);
    const record: RunRecord = {
      start: buildRunStart([H1], 0),
      hosts: [{ name: 'h1', id: H1.id, stackKey: null, facts: FACTS, unreachable: null, cause: null }],
      suites: [
        {
          host: 'h1',
          suite: CHURN,
          durationMs: 5000,
          metrics: [],
          tests: [
            buildTestRecord('creates containers', { outcome: 'failed', errorType: 'ASSERTION', message: 'exit code 125' }),
            buildTestRecord('data survives rename', { outcome: 'error', errorType: 'INTERRUPTED', message: 'interrupted by SIGTERM' }),
            buildTestRecord('fills the disk', { outcome: 'error', errorType: 'INTERRUPTED', message: 'not run: interrupted by SIGTERM' }),
          ],
        },
      ],
      end: { type: 'run-end', ts: at(5), exitCode: 143, interrupted: 'SIGTERM' },
    };
    const reporter = createTerminalReporter({ stream, live: false });
    await reporter.onRunEnd?.(record, { hostsTotal: 1, hostsRan: 1, passed: 0, failed: 1, errors: 2, skipped: 0, flaky: 0 }, REPORT_DIR);
    expect(read().split('\n').slice(1, 5)).to.deep.equal([
      '1/1 hosts ran · 0 passed · 1 failed · 2 errors · 0 flaky',
      'interrupted by SIGTERM; 2 tests not finished',
      '  [h1 ssh://root@10.213.1.11:22] FAIL storage-churn > creates containers: exit code 125',
      'report: reports/2026-11-22T07-55-00Z/junit.xml',
    ]);
  });

  it('reports a suite that could not load, and tests a failed before hook kept from running', async () => {
    const stream = new PassThrough();
    const read = captureStream(stream);
    const clock = createClock();
    const hookMessage = 'not run: "before all" hook: prepare volume failed: exit code 1';
    const events: JournalEvent[] = [
      { type: 'suite-plan', ts: at(1), host: 'h1', suite: 'net-flap', tests: [], meta: {}, loadError: "SyntaxError: Unexpected token ')'\n    at net-flap.spec.ts:12:3" },
      buildTestEnd('h1', 'creates containers', 2, { outcome: 'error', errorType: 'HOOK_FAILED', message: hookMessage, durationMs: 0, attempt: 0 }),
    ];
    await feedRun(createTerminalReporter({ stream, live: false, now: clock.now }), clock, buildRunStart([H1], 2), events);
    expect(read().split('\n').slice(1)).to.deep.equal([
      "2026-11-22T07:55:01Z [h1 ssh://root@10.213.1.11:22] ERROR SUITE_LOAD_FAILED net-flap: SyntaxError: Unexpected token ')' …",
      `2026-11-22T07:55:02Z [h1 ssh://root@10.213.1.11:22] ERROR HOOK_FAILED storage-churn > creates containers (0.0 s): ${hookMessage}`,
      '',
    ]);
  });

  it('lists at most 20 failed tests in the summary, then counts the rest', async () => {
    const stream = new PassThrough();
    const read = captureStream(stream);
    const titles = Array.from({ length: 25 }, (_, index) => `writes file ${index + 1}`);
    const record: RunRecord = {
      start: buildRunStart([H1], 0),
      hosts: [{ name: 'h1', id: H1.id, stackKey: null, facts: FACTS, unreachable: null, cause: null }],
      suites: [{ host: 'h1', suite: CHURN, durationMs: 1, metrics: [], tests: titles.map((title) => buildTestRecord(title, { outcome: 'failed', errorType: 'ASSERTION', message: 'ENOSPC' })) }],
      end: { type: 'run-end', ts: at(5), exitCode: 1 },
    };
    await createTerminalReporter({ stream, live: false }).onRunEnd?.(record, { hostsTotal: 1, hostsRan: 1, passed: 0, failed: 25, errors: 0, skipped: 0, flaky: 0 }, REPORT_DIR);
    const lines = read().split('\n');
    expect(lines[2]).to.equal('  [h1 ssh://root@10.213.1.11:22] FAIL storage-churn > writes file 1: ENOSPC');
    expect(lines[21]).to.equal('  [h1 ssh://root@10.213.1.11:22] FAIL storage-churn > writes file 20: ENOSPC');
    expect(lines[22]).to.equal('  … and 5 more');
    expect(lines[23]).to.equal('report: reports/2026-11-22T07-55-00Z/junit.xml');
  });

  it('keeps text from hosts on one line and strips escape sequences from it', async () => {
    const stream = new PassThrough();
    const read = captureStream(stream);
    const clock = createClock();
    const events: JournalEvent[] = [
      buildTestEnd('h1', 'prints \u001b[2Jcolour', 3, { outcome: 'failed', errorType: 'ASSERTION', message: 'expected \u001b[31mred\u001b[0m\nsecond line\r\nthird' }),
    ];
    await feedRun(createTerminalReporter({ stream, live: false, now: clock.now }), clock, buildRunStart([H1], 0), events);
    expect(read().split('\n')[1]).to.equal('2026-11-22T07:55:03Z [h1 ssh://root@10.213.1.11:22] FAIL storage-churn > prints colour (1.0 s): expected red …');
  });
});

describe('terminal reporter, live view', () => {
  const FAILURE_LINES = [
    "✖ [h2 ssh://root@10.213.1.12:22] FAIL storage-churn > data survives rename (0.3 s, attempt 1/2): expected 'abc' to equal 'abd'",
    "✖ [h2 ssh://root@10.213.1.12:22] FAIL storage-churn > data survives rename (0.3 s, attempt 2/2): expected 'abc' to equal 'abd'",
    '✖ [db2 ssh://ops@10.0.4.12:22] unreachable: connect ETIMEDOUT (connection timed out) after 20 s; 5 tests not run',
    '✖ [h2 ssh://root@10.213.1.12:22] ERROR TIMEOUT storage-churn > fills the disk (30.0 s, attempt 1/2): ran past its 30 s timeout',
    '✖ [h2 ssh://root@10.213.1.12:22] ERROR TIMEOUT storage-churn > fills the disk (30.0 s, attempt 2/2): ran past its 30 s timeout',
    '✖ [h2 ssh://root@10.213.1.12:22] FAIL storage-churn > restarts the engine (20.1 s, attempt 1/2): docker did not answer within 20 s',
  ];

  it('shows each host with its state, current test, elapsed time and counts', async () => {
    const stream = createTerminalStream(120, 30);
    const read = captureStream(stream);
    const clock = createClock();
    // Up to h2's first failure, which redraws the view at once (the timer never fires in a synchronous test).
    const events = buildThreeHostEvents();
    const firstFailure = events.findIndex((event) => event.type === 'test-end' && event.outcome === 'failed');
    await feedRun(createTerminalReporter({ stream, live: true, now: clock.now }), clock, buildRunStart([H1, H2, DB2]), events.slice(0, firstFailure + 1));

    expect(replayTerminal(read())).to.deep.equal([
      FAILURE_LINES[0],
      '0/3 hosts finished (2 running, 1 connecting) · 2 passed · 1 failed · 0 errors · 4 skipped · 0 flaky · 3.6 s',
      '[h1 ssh://root@10.213.1.11:22]  running      1 pass 0 fail 0 err 2 skip  storage-churn > data survives rename (0.6 s)',
      '[h2 ssh://root@10.213.1.12:22]  running      1 pass 1 fail 0 err 2 skip  storage-churn',
      '[db2 ssh://ops@10.0.4.12:22]    connecting',
    ]);
  });

  it('prints failures permanently above the rows, and leaves the final frame and the summary', async () => {
    const stream = createTerminalStream(120, 30);
    const read = captureStream(stream);
    const clock = createClock();
    await feedRun(createTerminalReporter({ stream, live: true, now: clock.now }), clock, buildRunStart([H1, H2, DB2]), buildThreeHostEvents(), buildThreeHostRecord());

    const raw = read();
    expect(replayTerminal(raw)).to.deep.equal([
      ...FAILURE_LINES,
      '3/3 hosts finished (1 unreachable, 2 done) · 6 passed · 1 failed · 6 errors · 8 skipped · 1 flaky · 1m 36s',
      '[db2 ssh://ops@10.0.4.12:22]    unreachable  connect ETIMEDOUT (connection timed out) after 20 s; 5 tests not run',
      '[h1 ssh://root@10.213.1.11:22]  done         4 pass 0 fail 0 err 3 skip',
      '[h2 ssh://root@10.213.1.12:22]  done         2 pass 1 fail 1 err 3 skip 1 flaky',
      ...THREE_HOST_SUMMARY,
    ]);
    // Each failure line was written once and never erased: it is on screen above the rows, not inside a frame.
    for (const line of FAILURE_LINES) expect(stripVTControlCharacters(raw).split(line)).to.have.length(2);
  });

  it('marks the hosts an interruption stopped, since they journal no host-end', async () => {
    const stream = createTerminalStream(120, 30);
    const read = captureStream(stream);
    const clock = createClock();
    const events: JournalEvent[] = [
      { type: 'host-facts', ts: at(1), host: 'h1', id: H1.id, stackKey: 'debian-12/6.1.0-56-amd64/docker-20.10.24/overlay2/extfs/cgroup2', facts: FACTS },
      { type: 'suite-plan', ts: at(1), host: 'h1', suite: CHURN, tests: CHURN_TESTS, meta: {} },
      { type: 'suite-start', ts: at(1), host: 'h1', suite: CHURN },
      { type: 'test-start', ts: at(1), host: 'h1', suite: CHURN, title: 'creates containers', attempt: 1 },
      { type: 'run-end', ts: at(4), exitCode: 130, interrupted: 'SIGINT' },
    ];
    const record: RunRecord = { start: buildRunStart([H1], 0), hosts: [], suites: [], end: { type: 'run-end', ts: at(4), exitCode: 130, interrupted: 'SIGINT' } };
    await feedRun(createTerminalReporter({ stream, live: true, now: clock.now }), clock, buildRunStart([H1], 0), events, {
      record,
      summary: { hostsTotal: 1, hostsRan: 1, passed: 0, failed: 0, errors: 5, skipped: 0, flaky: 0 },
    });
    expect(replayTerminal(read()).slice(0, 4)).to.deep.equal([
      '✖ run interrupted by SIGINT',
      '1/1 hosts finished (1 stopped) · 0 passed · 0 failed · 5 errors · 0 flaky · 4.0 s',
      '[h1 ssh://root@10.213.1.11:22]  stopped      0 pass 0 fail 5 err 0 skip  INTERRUPTED: interrupted by SIGINT',
      '',
    ]);
  });

  it('caps the rows to the terminal height with 100 hosts, running hosts first', async () => {
    const stream = createTerminalStream(120, 30);
    const read = captureStream(stream);
    const clock = createClock();
    const hosts = Array.from({ length: 100 }, (_, index) => ({ name: `n${String(index + 1).padStart(3, '0')}`, id: `ssh://root@10.213.2.${index + 1}:22` }));
    const events: JournalEvent[] = [];
    hosts.forEach((host, index) => {
      if (index >= 70) return; // n071–n100 are still connecting
      events.push({ type: 'host-facts', ts: at(1), host: host.name, id: host.id, stackKey: 'debian-12/6.1.0-56-amd64/docker-20.10.24/overlay2/extfs/cgroup2', facts: FACTS });
      events.push({ type: 'suite-plan', ts: at(1), host: host.name, suite: CHURN, tests: ['creates containers'], meta: {} });
      events.push({ type: 'suite-start', ts: at(2), host: host.name, suite: CHURN });
      events.push({ type: 'test-start', ts: at(2), host: host.name, suite: CHURN, title: 'creates containers', attempt: 1 });
      if (index >= 60) return; // n061–n070 are running it
      events.push(buildTestEnd(host.name, 'creates containers', 3));
      events.push({ type: 'suite-end', ts: at(3), host: host.name, suite: CHURN, durationMs: 1000 });
      events.push({ type: 'host-end', ts: at(3), host: host.name });
    });
    events.push({ type: 'metric', ts: at(5), host: 'n061', suite: CHURN, name: 'fill_rate', value: 1, unit: 'MB/s' });
    const record: RunRecord = { start: buildRunStart(hosts), hosts: [], suites: [], end: null };
    await feedRun(createTerminalReporter({ stream, live: true, now: clock.now }), clock, buildRunStart(hosts), events, {
      record,
      summary: { hostsTotal: 100, hostsRan: 60, passed: 60, failed: 0, errors: 0, skipped: 0, flaky: 0 },
    });

    const screen = replayTerminal(read());
    const frame = screen.slice(0, screen.indexOf(''));
    expect(frame.length).to.be.at.most(29); // rows - 1: a frame as tall as the terminal would scroll away its first line
    expect(frame[0]).to.equal('60/100 hosts finished (10 running, 30 connecting, 60 done) · 60 passed · 0 failed · 0 errors · 0 flaky · 5.0 s');
    expect(frame.slice(1, 11)).to.deep.equal(
      hosts.slice(60, 70).map((host) => `[${host.name} ${host.id}]  running      0 pass 0 fail 0 err 0 skip  storage-churn > creates containers (3.0 s)`),
    );
    expect(frame[11]).to.equal('[n071 ssh://root@10.213.2.71:22]  connecting');
    expect(frame.at(-1)).to.equal('… and 73 more (13 connecting, 60 done)');
    for (const line of frame) expect([...line].length).to.be.below(120);
  });
});
