// A host's worker thread: loads the suites with mocha, announces every planned test, runs them, and reports events.

import { formatWithOptions } from 'node:util';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import Mocha from 'mocha';
import {
  FAILURE_TYPE,
  HARNESS_ERROR_TYPES,
  type Facts,
  type HostSpec,
  type OutcomeKind,
  type SuiteMeta,
  type SuiteRef,
  type CommandRecord,
  type TestEndEvent,
  type TestSelector,
  type WorkerEvent,
} from '../model/index.js';
import { createHostHandle, RunnerClient } from './host-handle.js';
import { testKey, type WorkerResume } from './rpc.js';
import { brokenRequirement, unmetRequirement } from './requirements.js';
import { explainLoadError } from './suites.js';
import { installSuiteContext } from './suite-api.js';

export interface WorkerInput {
  host: HostSpec;
  facts: Facts | null;
  /** Set when the host could not be reached: the suites are only planned, so every test is reported. */
  unreachable: string | null;
  suites: SuiteRef[];
  params: Record<string, unknown>;
  seed: number;
  runId: string;
  /** `--timeout`: overrides every suite's own default. */
  timeoutMs: number | null;
  retries: number;
  bail: boolean;
  /** Whether any suite needs the TypeScript loader. */
  typescript: boolean;
  /** Set when the host came back after a crash: what an earlier worker already planned and finished. */
  resume?: WorkerResume;
  /** Set when the run is draining already as the worker starts: no test runs, each is skipped with this reason. */
  drain?: string;
  /** Run only this test (its suite's hooks still run); the suite's other tests are neither planned nor run. */
  only?: TestSelector;
}

/** A test's timeout when neither the suite nor `--timeout` gives one. */
const DEFAULT_TEST_TIMEOUT_MS = 120_000;

interface LoadedSuite {
  ref: SuiteRef;
  mocha: Mocha | null;
  meta: SuiteMeta;
  tests: string[];
  loadError?: string;
}

const input = workerData as WorkerInput;
const port = parentPort as MessagePort;
const client = new RunnerClient(port);
if (input.drain !== undefined) client.drain(input.drain);

const now = (): string => new Date().toISOString();
const emit = (event: WorkerEvent): void => client.send({ kind: 'event', event });

let current: { suite: string; output: string[]; timeoutMs: number } = { suite: '', output: [], timeoutMs: DEFAULT_TEST_TIMEOUT_MS };
let declaredMeta: SuiteMeta = {};

/** Commands kept per test for its transcript, and the characters kept of each command line. */
const MAX_TRANSCRIPT_COMMANDS = 1000;
const MAX_TRANSCRIPT_COMMAND_CHARS = 4000;
/** Commands run since the last test ended (hooks included), for the next test-end's transcript. */
const transcript = {
  commands: [] as Array<Omit<CommandRecord, 'startMs'> & { startedAt: number }>,
  dropped: 0,
  testStartedAt: performance.now(),
  hook: null as string | null,
};

/** The transcript's commands, timed from the test's start, for a test-end event; starts the next transcript. */
function takeTranscript(): Pick<TestEndEvent, 'commands' | 'commandsDropped'> {
  const commands = transcript.commands.map(({ startedAt, ...command }): CommandRecord => ({ ...command, startMs: Math.round(startedAt - transcript.testStartedAt) }));
  const dropped = transcript.dropped;
  transcript.commands = [];
  transcript.dropped = 0;
  return { ...(commands.length > 0 ? { commands } : {}), ...(dropped > 0 ? { commandsDropped: dropped } : {}) };
}

const host = createHostHandle(input.host, input.facts, client, {
  defaultTimeoutMs: () => current.timeoutMs,
  appendOutput: (line) => current.output.push(line),
  recordMetric: (name, value, unit) => emit({ type: 'metric', ts: now(), host: input.host.name, suite: current.suite, name, value, unit }),
  recordCommand: (record) => {
    if (transcript.commands.length >= MAX_TRANSCRIPT_COMMANDS) {
      transcript.dropped += 1;
      return;
    }
    const command = record.command.length > MAX_TRANSCRIPT_COMMAND_CHARS ? `${record.command.slice(0, MAX_TRANSCRIPT_COMMAND_CHARS)}… (${record.command.length} characters in all)` : record.command;
    transcript.commands.push({ ...record, command, ...(transcript.hook ? { hook: transcript.hook } : {}) });
  },
});

// A suite's console output is part of the test that printed it, not noise on the runner's terminal.
for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  console[method] = (...args: unknown[]) => current.output.push(formatWithOptions({ colors: false }, ...args));
}

installSuiteContext({
  host,
  params: input.params,
  seed: input.seed,
  runId: input.runId,
  meta: (declared) => {
    declaredMeta = { ...declaredMeta, ...declared };
  },
});

function titleOf(test: Mocha.Runnable): string {
  return test.titlePath().join(' > ');
}

function collectTests(suite: Mocha.Suite, into: string[] = []): string[] {
  for (const test of suite.tests) into.push(titleOf(test));
  for (const child of suite.suites) collectTests(child, into);
  return into;
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? text.trim();
}

/** Maps what a test threw to an outcome: the suite's judgement is a failure, anything else an error with a type. */
function classifyError(err: unknown): { outcome: OutcomeKind; errorType: string } {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_MOCHA_TIMEOUT' || code === 'TIMEOUT') return { outcome: 'error', errorType: HARNESS_ERROR_TYPES.TIMEOUT };
  if (code === 'LOST_CONNECTION' || code === 'NOT_CONNECTED') return { outcome: 'error', errorType: HARNESS_ERROR_TYPES.LOST_CONNECTION };
  if (code === 'HOST_UNREACHABLE') return { outcome: 'error', errorType: HARNESS_ERROR_TYPES.HOST_UNREACHABLE };
  if (code === 'ENGINE_UNAVAILABLE' || code === 'COMMAND_FAILED') return { outcome: 'error', errorType: HARNESS_ERROR_TYPES.HARNESS_ERROR };
  return { outcome: 'failed', errorType: FAILURE_TYPE };
}

function describeError(err: unknown): { message: string; detail: string } {
  if (err instanceof Error) {
    const { actual, expected, showDiff } = err as Error & { actual?: unknown; expected?: unknown; showDiff?: boolean };
    const diff = showDiff !== false && (actual !== undefined || expected !== undefined) ? `\nexpected: ${stringify(expected)}\nactual:   ${stringify(actual)}` : '';
    return { message: firstLine(err.message) || err.name, detail: `${err.stack ?? err.message}${diff}` };
  }
  return { message: firstLine(String(err)), detail: String(err) };
}

function stringify(value: unknown): string {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

async function loadSuite(ref: SuiteRef): Promise<LoadedSuite> {
  declaredMeta = {};
  // Suites, hooks and tests copy their timeout from their parent when the file is loaded, before meta() is known:
  // load with the run's default, then replace that default everywhere the suite did not set its own.
  const loadTimeoutMs = input.timeoutMs ?? DEFAULT_TEST_TIMEOUT_MS;
  const mocha = new Mocha({
    reporter: class Silent extends Mocha.reporters.Base {},
    forbidOnly: true,
    retries: input.retries,
    bail: input.bail,
    timeout: loadTimeoutMs,
  });
  mocha.addFile(ref.path);
  try {
    await mocha.loadFilesAsync();
  } catch (err) {
    return { ref, mocha: null, meta: {}, tests: [], loadError: await explainLoadError(ref.path, err) };
  }
  const meta = declaredMeta;
  if (input.timeoutMs === null && meta.timeoutMs !== undefined) replaceTimeout(mocha.suite, loadTimeoutMs, meta.timeoutMs);
  if (input.only) keepOnly(mocha.suite, input.only.suite === ref.name ? input.only.title : null);
  return { ref, mocha, meta, tests: collectTests(mocha.suite) };
}

/** Keeps only the test titled `title` (none when null) in the suite tree; mocha skips the hooks of emptied suites. */
function keepOnly(suite: Mocha.Suite, title: string | null): void {
  suite.tests = suite.tests.filter((test) => titleOf(test) === title);
  for (const child of suite.suites) keepOnly(child, title);
}

/** Sets `to` on every suite, hook and test under `suite` whose timeout is still `from` (not chosen by the suite). */
function replaceTimeout(suite: Mocha.Suite, from: number, to: number): void {
  if (suite.timeout() === from) suite.timeout(to);
  // Mocha keeps hooks in these arrays; its typings do not expose them.
  const hooks = suite as unknown as Record<'_beforeAll' | '_beforeEach' | '_afterAll' | '_afterEach', Mocha.Hook[]>;
  const runnables: Mocha.Runnable[] = [...suite.tests, ...hooks._beforeAll, ...hooks._beforeEach, ...hooks._afterAll, ...hooks._afterEach];
  for (const runnable of runnables) if (runnable.timeout() === from) runnable.timeout(to);
  for (const child of suite.suites) replaceTimeout(child, from, to);
}

/** Drops already-finished tests from the suite tree; returns the titles that remain, in run order. */
function dropFinished(suite: Mocha.Suite, name: string, finished: ReadonlySet<string>): string[] {
  suite.tests = suite.tests.filter((test) => !finished.has(testKey(name, titleOf(test))));
  for (const child of suite.suites) dropFinished(child, name, finished);
  return collectTests(suite);
}

/** Runs one loaded suite; resolves whether the host should go on (false after a failure with --bail). */
function runSuite(loaded: LoadedSuite, planned: Set<string>): Promise<{ failed: boolean }> {
  const suite = loaded.ref.name;
  const hostName = input.host.name;
  const ended = new Set<string>();
  let failed = false;
  let blockingHook: { title: string; message: string; errorType: string } | null = null;
  const startedAt = performance.now();
  emit({ type: 'suite-start', ts: now(), host: hostName, suite });
  current = { suite, output: [], timeoutMs: input.timeoutMs ?? loaded.meta.timeoutMs ?? DEFAULT_TEST_TIMEOUT_MS };

  const end = (title: string, fields: Omit<TestEndEvent, 'type' | 'ts' | 'host' | 'suite' | 'title' | 'output'>): void => {
    ended.add(title);
    emit({ type: 'test-end', ts: now(), host: hostName, suite, title, output: current.output.join('\n'), ...fields, ...takeTranscript() });
  };

  return new Promise((resolve) => {
    let stopDraining: () => void = () => undefined;
    const runner = loaded.mocha!.run(() => {
      // Tests mocha never reached (a failed `before` hook, --bail, a lost host) are still reported, never dropped.
      for (const title of planned) {
        if (ended.has(title)) continue;
        if (client.lostError) continue; // the runner gives them the host's cause
        if (blockingHook) {
          end(title, { outcome: 'error', errorType: blockingHook.errorType, message: `not run: ${blockingHook.title} failed: ${blockingHook.message}`, durationMs: 0, attempt: 0, flaky: false });
        } else if (input.bail && failed) {
          end(title, { outcome: 'skipped', message: 'not run: --bail after an earlier failure on this host', durationMs: 0, attempt: 0, flaky: false });
        } else if (client.drainReason !== null) {
          end(title, { outcome: 'skipped', message: `not run: ${client.drainReason}`, durationMs: 0, attempt: 0, flaky: false });
        }
      }
      stopDraining();
      emit({ type: 'suite-end', ts: now(), host: hostName, suite, durationMs: Math.round(performance.now() - startedAt) });
      loaded.mocha!.dispose();
      resolve({ failed });
    });
    client.onLost(() => runner.abort());
    // Mocha's abort lets the running test finish, then runs the after hooks: the host is left cleaned up.
    stopDraining = client.onDrain(() => runner.abort());

    runner.on(Mocha.Runner.constants.EVENT_HOOK_BEGIN, (hook: Mocha.Hook) => {
      transcript.hook = hook.title;
    });
    runner.on(Mocha.Runner.constants.EVENT_HOOK_END, () => {
      transcript.hook = null;
    });
    runner.on(Mocha.Runner.constants.EVENT_TEST_BEGIN, (test: Mocha.Test) => {
      transcript.testStartedAt = performance.now();
      current.output = [];
      current.timeoutMs = test.timeout() || current.timeoutMs;
      emit({ type: 'test-start', ts: now(), host: hostName, suite, title: titleOf(test), attempt: currentAttempt(test) });
    });
    runner.on(Mocha.Runner.constants.EVENT_TEST_PASS, (test: Mocha.Test) => {
      const attempt = currentAttempt(test);
      end(titleOf(test), { outcome: 'passed', durationMs: test.duration ?? 0, attempt, flaky: attempt > 1 });
    });
    runner.on(Mocha.Runner.constants.EVENT_TEST_RETRY, (test: Mocha.Test, err: unknown) => {
      const { outcome, errorType } = classifyError(err);
      end(titleOf(test), { outcome, errorType, ...describeError(err), durationMs: test.duration ?? 0, attempt: currentAttempt(test), flaky: false });
    });
    runner.on(Mocha.Runner.constants.EVENT_TEST_PENDING, (test: Mocha.Test) => {
      end(titleOf(test), { outcome: 'skipped', message: 'skipped by the suite (it.skip or this.skip())', durationMs: 0, attempt: 0, flaky: false });
    });
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, (runnable: Mocha.Runnable, err: unknown) => {
      failed = true;
      const { outcome, errorType } = classifyError(err);
      if ((runnable as Mocha.Runnable & { type?: string }).type === 'hook') {
        const hookTitle = runnable.title;
        const { message, detail } = describeError(err);
        const type = errorType === FAILURE_TYPE ? HARNESS_ERROR_TYPES.HOOK_FAILED : errorType;
        if (/^"(before|beforeEach)/.test(hookTitle)) {
          blockingHook = { title: hookTitle, message, errorType: type };
          return;
        }
        // An after hook failed: its tests are judged, but the cleanup is not; that is an error of its own.
        end(titleOf(runnable), { outcome: 'error', errorType: type, message, detail, durationMs: runnable.duration ?? 0, attempt: 1, flaky: false });
        return;
      }
      end(titleOf(runnable), { outcome, errorType, ...describeError(err), durationMs: runnable.duration ?? 0, attempt: currentAttempt(runnable as Mocha.Test), flaky: false });
    });
  });
}

function currentAttempt(test: Mocha.Test): number {
  // Mocha's typings keep currentRetry() protected, but it is the public way to read a test's attempt.
  const retryable = test as unknown as { currentRetry?: () => number };
  return (typeof retryable.currentRetry === 'function' ? retryable.currentRetry() : 0) + 1;
}

async function main(): Promise<void> {
  if (input.typescript) {
    // Both loaders: a .ts suite is ESM inside a "type": "module" package and CommonJS anywhere else.
    const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
    esm.register();
    cjs.register();
  }
  const hostName = input.host.name;
  const loaded: LoadedSuite[] = [];
  for (const ref of input.suites) loaded.push(await loadSuite(ref));

  // Announce every suite's tests before running any, so a crash later cannot lose one. After a crash, the
  // runner has the plans already: only the tests not yet finished run, and none is announced twice.
  const alreadyPlanned = new Set(input.resume?.planned ?? []);
  const finished = new Set(input.resume?.finished ?? []);
  const plans = loaded.map((suite) => {
    const error = input.unreachable ? undefined : (brokenRequirement(suite.meta, input.facts) ?? undefined);
    const skipped = input.unreachable || error ? undefined : (unmetRequirement(suite.meta, input.host, input.facts) ?? undefined);
    if (alreadyPlanned.has(suite.ref.name)) return { suite, skipped: skipped ?? error?.message };
    emit({
      type: 'suite-plan',
      ts: now(),
      host: hostName,
      suite: suite.ref.name,
      tests: suite.tests,
      meta: suite.meta,
      ...(skipped ? { skipped } : {}),
      ...(error ? { error } : {}),
      ...(suite.loadError ? { loadError: suite.loadError } : {}),
    });
    return { suite, skipped: skipped ?? error?.message };
  });
  if (input.unreachable) return;

  let bailed = false;
  for (const { suite, skipped } of plans) {
    if (skipped || !suite.mocha || client.lostError) continue;
    const remaining = finished.size > 0 ? dropFinished(suite.mocha.suite, suite.ref.name, finished) : suite.tests;
    if (remaining.length === 0) continue;
    const notRun = bailed ? 'not run: --bail after an earlier failure on this host' : client.drainReason === null ? null : `not run: ${client.drainReason}`;
    if (notRun !== null) {
      for (const title of remaining) {
        emit({ type: 'test-end', ts: now(), host: hostName, suite: suite.ref.name, title, outcome: 'skipped', message: notRun, output: '', durationMs: 0, attempt: 0, flaky: false });
      }
      continue;
    }
    const { failed } = await runSuite(suite, new Set(remaining));
    if (failed && input.bail) bailed = true;
  }
}

main().then(
  () => client.send({ kind: 'done' }),
  (err: unknown) => {
    // Thrown outside any test: the runner turns this into the host's cause for every unfinished test.
    throw err;
  },
);
