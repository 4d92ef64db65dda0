// Pure reconciliation of a journal into a RunRecord: plans, attempts and host causes give every test one outcome.

import { constants } from 'node:os';
import {
  FAILURE_TYPE,
  GauntletError,
  HARNESS_ERROR_TYPES,
  type HostCause,
  type HostRecord,
  type HostSuiteRecord,
  FAULT_SEVERITY_ORDER,
  type JournalEvent,
  type KernelEventRecord,
  type Metric,
  type OutcomeKind,
  type RunEndEvent,
  type RunRecord,
  type RunSummary,
  type SuitePlanEvent,
  type TestEndEvent,
  type TestRecord,
  type TestStartEvent,
} from '../model/index.js';

/** Title of the one test that stands for a suite whose file could not be loaded. */
export const SUITE_LOAD_FAILED_TITLE = '(suite could not be loaded)';
/** Title of the one test that stands for a skipped suite whose plan names no tests. */
export const SUITE_SKIPPED_TITLE = '(suite skipped)';
/** Title of the one test that stands for a selected suite a host never planned (so its tests are unknown). */
export const SUITE_NOT_RUN_TITLE = '(suite not run)';

/** An attempt that failed before the test's final attempt (a retry followed it). */
export interface FailedAttempt {
  attempt: number;
  outcome: 'failed' | 'error';
  errorType: string;
  message?: string;
  detail?: string;
  output: string;
  durationMs: number;
}

/**
 * The TestRecord that buildRunRecord makes: the model's, plus the failed attempts behind a flaky or retried result
 * (they become `<flakyFailure>` / `<rerunFailure>` in JUnit). Everything that takes a RunRecord accepts it.
 */
export interface ReportTestRecord extends TestRecord {
  failedAttempts: FailedAttempt[];
}

/** The failed attempts recorded for a test, or none for a TestRecord that was not built by buildRunRecord. */
export function listFailedAttempts(test: TestRecord): FailedAttempt[] {
  return (test as Partial<ReportTestRecord>).failedAttempts ?? [];
}

/** One test's events, in journal order. */
interface TestSlot {
  title: string;
  starts: TestStartEvent[];
  ends: TestEndEvent[];
  /** The last event was a test-start: the attempt was running when the events stopped. */
  running: boolean;
  lastAttempt: number;
  /** Kernel events attributed to the test. */
  kernelEvents: KernelEventRecord[];
}

/** One suite on one host, as the events describe it. */
interface SuiteSlot {
  host: string;
  suite: string;
  plan: SuitePlanEvent | null;
  tests: TestSlot[];
  /** Tests by title; a title may repeat (mocha allows it), so each has a list and a cursor. */
  byTitle: Map<string, { slots: TestSlot[]; cursor: number }>;
  startedAt?: string;
  durationMs?: number;
  metrics: Metric[];
}

/** What stopped a test that never reported its end, in order of precedence. */
interface StopReason {
  type: string;
  /** Message for the test that was running. */
  started: string;
  /** Message for a test that never started. */
  unstarted: string;
}

/**
 * Rebuilds a run from its journal events. No test is ever dropped: every planned test, and every test the events
 * mention, gets exactly one outcome. The rules, in order, for a test:
 *   1. its suite-plan was `loadError` → one `(suite could not be loaded)` SUITE_LOAD_FAILED error stands for it;
 *   2. it has a test-end and was not started again after it → that last test-end decides
 *      (attempts = number of test-starts, flaky from the event);
 *   3. its suite-plan was `skipped` → skipped, with the reason as message;
 *   4. otherwise it never finished, and the first that applies gives it an error:
 *      host unreachable → HOST_UNREACHABLE with the connect error;
 *      host-end error → that cause (`not run: …` when the test never started);
 *      run-end interrupted → INTERRUPTED `interrupted by SIGINT` / `not run: interrupted by SIGINT`;
 *      no run-end → INTERRUPTED (the runner was killed);
 *      else HARNESS_ERROR (the run ended normally but the test vanished: a gauntlet bug).
 * In an unsharded run, a selected suite that a host never planned gets one `(suite not run)` test under rule 4.
 */
export function buildRunRecord(events: JournalEvent[]): RunRecord {
  const start = events[0];
  if (start?.type !== 'run-start') throw new GauntletError('USAGE', 'the journal does not start with a run-start event');
  const hosts = new Map<string, HostRecord>();
  const hostEndTs = new Map<string, string>();
  const suites = new Map<string, SuiteSlot>();
  let end: RunEndEvent | null = null;

  const hostOf = (name: string, id = ''): HostRecord => {
    let host = hosts.get(name);
    if (!host) {
      host = { name, id, stackKey: null, facts: null, unreachable: null, cause: null };
      hosts.set(name, host);
    }
    if (!host.id && id) host.id = id;
    return host;
  };
  const suiteOf = (host: string, suite: string): SuiteSlot => {
    hostOf(host);
    const key = JSON.stringify([host, suite]);
    let slot = suites.get(key);
    if (!slot) {
      slot = { host, suite, plan: null, tests: [], byTitle: new Map(), metrics: [] };
      suites.set(key, slot);
    }
    return slot;
  };

  for (const host of start.hosts) hostOf(host.name, host.id);
  for (const event of events.slice(1)) {
    switch (event.type) {
      case 'run-start':
        break; // only the first counts; a journal holds one run
      case 'host-facts': {
        const host = hostOf(event.host, event.id);
        host.facts = event.facts;
        host.stackKey = event.stackKey;
        break;
      }
      case 'host-unreachable':
        hostOf(event.host, event.id).unreachable = event.error;
        break;
      case 'suite-plan': {
        const slot = suiteOf(event.host, event.suite);
        slot.plan = event;
        for (const title of event.tests) addTestSlot(slot, title);
        break;
      }
      case 'suite-start':
        suiteOf(event.host, event.suite).startedAt ??= event.ts;
        break;
      case 'test-start':
      case 'test-end':
        recordTestEvent(suiteOf(event.host, event.suite), event);
        break;
      case 'metric':
        suiteOf(event.host, event.suite).metrics.push({ name: event.name, value: event.value, unit: event.unit });
        break;
      case 'suite-end':
        suiteOf(event.host, event.suite).durationMs = event.durationMs;
        break;
      case 'host-end': {
        const host = hostOf(event.host);
        if (event.error) host.cause = event.error;
        hostEndTs.set(event.host, event.ts);
        break;
      }
      case 'kernel-event':
        attributeKernelEvent(hostOf(event.host), event.test ? suiteOf(event.host, event.test.suite) : null, event);
        break;
      case 'host-liveness':
        break;
      case 'run-end':
        end = event;
        break;
    }
  }

  // A suite a host owed but never planned (the run stopped before the host's worker started): its tests are
  // unknown, but it must not vanish from the report. `run-start.pairs` says which suites each host owed; a sharded
  // journal without it cannot tell an unplanned pair from one that belongs to another shard.
  for (const host of hosts.values()) {
    const owed = start.pairs?.[host.name] ?? (start.shard === null ? start.suites.map((suite) => suite.name) : []);
    for (const suite of owed) {
      if (suites.has(JSON.stringify([host.name, suite]))) continue;
      addTestSlot(suiteOf(host.name, suite), SUITE_NOT_RUN_TITLE);
    }
  }

  const lastTs = events.at(-1)?.ts ?? start.ts;
  const records = [...suites.values()].map((slot) => {
    const host = hostOf(slot.host);
    const stoppedAt = hostEndTs.get(slot.host) ?? end?.ts ?? lastTs;
    const stop = findStopReason(host, end, slot.plan === null && slot.tests.every((test) => test.title === SUITE_NOT_RUN_TITLE));
    return buildSuiteRecord(slot, stop, stoppedAt);
  });
  return { start, hosts: [...hosts.values()], suites: records, end };
}

/**
 * Files a kernel event under the test it names (the test that was running on the host when it was seen), or under
 * the host when no test was running. A named test the plan did not list gets a slot of its own.
 */
function attributeKernelEvent(host: HostRecord, suite: SuiteSlot | null, event: KernelEventRecord): void {
  if (suite === null || event.test === null) {
    (host.kernelEvents ??= []).push(event);
    return;
  }
  const entry = suite.byTitle.get(event.test.title);
  const test = entry?.slots[entry.cursor] ?? addTestSlot(suite, event.test.title);
  test.kernelEvents.push(event);
}

/** The most severe of the events: severity order of fault.ts, then the earliest. */
export function pickMostSevere(events: readonly KernelEventRecord[]): KernelEventRecord | undefined {
  const rank = (event: KernelEventRecord): number => {
    const index = FAULT_SEVERITY_ORDER.findIndex((entry) => entry.class === event.class);
    return index === -1 ? FAULT_SEVERITY_ORDER.length : index;
  };
  return [...events].sort((a, b) => rank(a) - rank(b) || a.detectedAt.localeCompare(b.detectedAt) || a.title.localeCompare(b.title))[0];
}

function addTestSlot(suite: SuiteSlot, title: string): TestSlot {
  const test: TestSlot = { title, starts: [], ends: [], running: false, lastAttempt: Number.NEGATIVE_INFINITY, kernelEvents: [] };
  suite.tests.push(test);
  const entry = suite.byTitle.get(title);
  if (entry) entry.slots.push(test);
  else suite.byTitle.set(title, { slots: [test], cursor: 0 });
  return test;
}

/**
 * Files a test event under its test. Titles may repeat within a suite, and mocha runs tests one at a time with
 * retries straight after the failed attempt, so an event belongs to the title's current test unless it cannot be a
 * later attempt of it (its attempt number is not higher) — then it belongs to the next test of that title, or to a
 * new one the plan did not list (a dynamic test).
 */
function recordTestEvent(suite: SuiteSlot, event: TestStartEvent | TestEndEvent): void {
  const entry = suite.byTitle.get(event.title);
  let test = entry?.slots[entry.cursor];
  const fits = (slot: TestSlot): boolean =>
    (slot.starts.length === 0 && slot.ends.length === 0) ||
    event.attempt > slot.lastAttempt ||
    (event.type === 'test-end' && slot.running);
  if (!test || !fits(test)) {
    test = entry?.slots.slice(entry.cursor + 1).find(fits) ?? addTestSlot(suite, event.title);
    const current = suite.byTitle.get(event.title);
    if (current) current.cursor = current.slots.indexOf(test);
  }
  if (event.type === 'test-start') {
    test.starts.push(event);
    test.running = true;
  } else {
    test.ends.push(event);
    test.running = false;
  }
  test.lastAttempt = Math.max(test.lastAttempt, event.attempt);
}

function findStopReason(host: HostRecord, end: RunEndEvent | null, neverPlanned: boolean): StopReason {
  if (host.unreachable !== null) {
    return { type: HARNESS_ERROR_TYPES.HOST_UNREACHABLE, started: host.unreachable, unstarted: host.unreachable };
  }
  if (host.cause) return { type: host.cause.type, started: host.cause.message, unstarted: `not run: ${host.cause.message}` };
  if (end?.interrupted) {
    const message = `interrupted by ${end.interrupted}`;
    return { type: HARNESS_ERROR_TYPES.INTERRUPTED, started: message, unstarted: `not run: ${message}` };
  }
  if (!end) {
    return {
      type: HARNESS_ERROR_TYPES.INTERRUPTED,
      started: 'the runner stopped before the test finished (killed?)',
      unstarted: 'not run: the runner stopped before it ran',
    };
  }
  const message = neverPlanned ? 'the suite was selected but never planned on this host' : 'the test was planned but never reported';
  return { type: HARNESS_ERROR_TYPES.HARNESS_ERROR, started: message, unstarted: message };
}

function buildSuiteRecord(slot: SuiteSlot, stop: StopReason, stoppedAt: string): HostSuiteRecord {
  const plan = slot.plan;
  const tests: ReportTestRecord[] = [];
  if (plan?.loadError !== undefined) {
    const [firstLine = ''] = plan.loadError.split('\n');
    tests.push({
      title: SUITE_LOAD_FAILED_TITLE,
      outcome: 'error',
      errorType: HARNESS_ERROR_TYPES.SUITE_LOAD_FAILED,
      message: firstLine.trim() || 'the suite file could not be loaded',
      detail: plan.loadError,
      output: '',
      startedAt: plan.ts,
      durationMs: 0,
      attempts: 0,
      flaky: false,
      failedAttempts: [],
    });
  } else if ((plan?.skipped !== undefined || plan?.error !== undefined) && slot.tests.length === 0) {
    addTestSlot(slot, plan?.error ? SUITE_NOT_RUN_TITLE : SUITE_SKIPPED_TITLE);
  }
  for (const test of slot.tests) tests.push(buildTestRecord(test, plan?.skipped, plan?.error, stop, stoppedAt));

  const firstStart = slot.tests.flatMap((test) => test.starts.map((event) => event.ts)).sort()[0];
  return {
    host: slot.host,
    suite: slot.suite,
    ...optional('startedAt', slot.startedAt ?? firstStart),
    durationMs: slot.durationMs ?? tests.reduce((sum, test) => sum + test.durationMs, 0),
    tests,
    metrics: slot.metrics,
    ...optional('skipped', plan?.skipped),
  };
}

/**
 * The test's outcome from its own events (see buildRunRecord), then its kernel events: a fatal one makes the test an
 * error of its class, titled by the event, whatever mocha said (a panic can follow a passing assertion); the excerpts
 * of every kernel event, fatal or not, are appended to its output.
 */
function buildTestRecord(test: TestSlot, skipped: string | undefined, blocked: HostCause | undefined, stop: StopReason, stoppedAt: string): ReportTestRecord {
  const record = buildOwnOutcome(test, skipped, blocked, stop, stoppedAt);
  if (test.kernelEvents.length === 0) return record;
  const fatal = pickMostSevere(test.kernelEvents.filter((event) => event.fatal));
  const evidence = test.kernelEvents
    .map((event) => `--- kernel ${event.fatal ? 'fault' : 'event'} ${event.class}: ${event.title} (${event.source} ${event.via}, ${event.detectedAt})\n${event.excerpt.replace(/\n?$/, '\n')}`)
    .join('');
  const withEvidence: ReportTestRecord = { ...record, output: `${record.output}${record.output && !record.output.endsWith('\n') ? '\n' : ''}${evidence}`, kernelEvents: test.kernelEvents };
  if (!fatal) return withEvidence;
  const before = record.outcome === 'passed' || record.outcome === 'skipped' ? `the test itself ${record.outcome}` : `the test itself: ${record.errorType ?? record.outcome}${record.message ? `: ${record.message}` : ''}`;
  return {
    ...withEvidence,
    outcome: 'error',
    errorType: fatal.class,
    message: fatal.title,
    detail: `${fatal.class} seen on the ${fatal.source} (${fatal.via}) at ${fatal.detectedAt}; ${before}`,
    flaky: false,
  };
}

function buildOwnOutcome(test: TestSlot, skipped: string | undefined, blocked: HostCause | undefined, stop: StopReason, stoppedAt: string): ReportTestRecord {
  const lastEnd = test.ends.at(-1);
  const finished = lastEnd !== undefined && !test.running;
  const earlier = finished ? test.ends.slice(0, -1) : test.ends;
  const failedAttempts = earlier.filter((event) => event.outcome === 'failed' || event.outcome === 'error').map(toFailedAttempt);
  const attempts = test.starts.length;
  const startedAt = test.starts[0]?.ts;
  const base = { title: test.title, ...optional('startedAt', startedAt), attempts, failedAttempts };

  if (finished) {
    return {
      ...base,
      outcome: lastEnd.outcome,
      ...optional('errorType', lastEnd.errorType ?? defaultErrorType(lastEnd.outcome)),
      ...optional('message', lastEnd.message),
      ...optional('detail', lastEnd.detail),
      output: lastEnd.output,
      durationMs: lastEnd.durationMs,
      flaky: lastEnd.flaky,
    };
  }
  if (skipped !== undefined && test.starts.length === 0) {
    return { ...base, outcome: 'skipped', message: skipped, output: '', durationMs: 0, flaky: false };
  }
  if (blocked !== undefined && test.starts.length === 0) {
    return { ...base, outcome: 'error', errorType: blocked.type, message: `not run: ${blocked.message}`, output: '', durationMs: 0, flaky: false };
  }
  const lastStart = test.starts.at(-1);
  return {
    ...base,
    outcome: 'error',
    errorType: stop.type,
    message: lastStart ? stop.started : stop.unstarted,
    output: '',
    durationMs: lastStart ? Math.max(0, Date.parse(stoppedAt) - Date.parse(lastStart.ts)) || 0 : 0,
    flaky: false,
  };
}

function toFailedAttempt(event: TestEndEvent): FailedAttempt {
  return {
    attempt: event.attempt,
    outcome: event.outcome === 'failed' ? 'failed' : 'error',
    errorType: event.errorType ?? defaultErrorType(event.outcome) ?? HARNESS_ERROR_TYPES.HARNESS_ERROR,
    ...optional('message', event.message),
    ...optional('detail', event.detail),
    output: event.output,
    durationMs: event.durationMs,
  };
}

/** A failure without a type is an assertion; an error without one is gauntlet's own problem. */
function defaultErrorType(outcome: OutcomeKind): string | undefined {
  if (outcome === 'failed') return FAILURE_TYPE;
  if (outcome === 'error') return HARNESS_ERROR_TYPES.HARNESS_ERROR;
  return undefined;
}

/** `{key: value}` when value is defined, else `{}`: an absent field stays absent rather than `undefined`. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Totals of a run. A flaky test counts as passed and as flaky. */
export function summarizeRun(record: RunRecord): RunSummary {
  const summary: RunSummary = {
    hostsTotal: record.hosts.length,
    hostsRan: record.hosts.filter((host) => host.unreachable === null).length,
    passed: 0,
    failed: 0,
    errors: 0,
    skipped: 0,
    flaky: 0,
  };
  for (const test of record.suites.flatMap((suite) => suite.tests)) {
    if (test.outcome === 'passed') summary.passed += 1;
    else if (test.outcome === 'failed') summary.failed += 1;
    else if (test.outcome === 'error') summary.errors += 1;
    else summary.skipped += 1;
    if (test.outcome === 'passed' && test.flaky) summary.flaky += 1;
  }
  return summary;
}

/**
 * The exit code a run earns: 130 / 143 (128 + signal number) when it was interrupted by SIGINT / SIGTERM, else 1 when
 * any test failed or errored (an unreachable host's tests are errors), else 0.
 */
export function exitCodeOf(record: RunRecord): number {
  const signal = record.end?.interrupted;
  if (signal) {
    const number = (constants.signals as Record<string, number | undefined>)[signal];
    return number === undefined ? 1 : 128 + number;
  }
  const bad = record.suites.some((suite) => suite.tests.some((test) => test.outcome === 'failed' || test.outcome === 'error'));
  return bad ? 1 : 0;
}
