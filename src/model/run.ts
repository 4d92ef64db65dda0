// A run as recorded: the journal's events (one JSON object per line) and the outcomes they add up to.

import type { Facts, RunnerFacts, StackKey } from './facts.js';

/** How one test ended. `failed` is the suite's judgement; `error` means it could not be judged. */
export type OutcomeKind = 'passed' | 'failed' | 'error' | 'skipped';

/** The one failure type: the suite found the host wrong (an assertion, a thrown error, an unexpected exit code). */
export const FAILURE_TYPE = 'ASSERTION';

/**
 * Constant `type`s of `<error>` for harness and host problems. Kernel fault classes (`PANIC`, `SOFT_LOCKUP`, …)
 * join them once fault detection attributes an event to a test.
 */
export const HARNESS_ERROR_TYPES = {
  /** The host could not be reached at all. */
  HOST_UNREACHABLE: 'HOST_UNREACHABLE',
  /** A test, hook or command ran past its timeout. */
  TIMEOUT: 'TIMEOUT',
  /** The runner was stopped (SIGINT, SIGTERM, or killed) before the test finished. */
  INTERRUPTED: 'INTERRUPTED',
  /** The host's connection died while the test ran (keepalives unanswered, reset, closed). */
  LOST_CONNECTION: 'LOST_CONNECTION',
  /** The worker running the host's tests exited or crashed unexpectedly. */
  WORKER_CRASHED: 'WORKER_CRASHED',
  /** A `before`/`beforeEach`/`after` hook failed, so the tests it guards could not be judged. */
  HOOK_FAILED: 'HOOK_FAILED',
  /** The suite file could not be loaded (syntax error, missing import). */
  SUITE_LOAD_FAILED: 'SUITE_LOAD_FAILED',
  /** The host's container engine is installed but did not answer, so suites that need it could not run. */
  ENGINE_UNAVAILABLE: 'ENGINE_UNAVAILABLE',
  /** Anything else that went wrong in gauntlet itself. */
  HARNESS_ERROR: 'HARNESS_ERROR',
} as const;

export type HarnessErrorType = (typeof HARNESS_ERROR_TYPES)[keyof typeof HARNESS_ERROR_TYPES];

/** What a suite declares about itself; the runner enforces it. */
export interface SuiteMeta {
  /** One line saying what the suite proves. */
  description?: string;
  /** Runs only on hosts with `gauntlet_disposable: true`. */
  destructive?: boolean;
  /** Facts a host must have; a host without them skips the suite with the reason. */
  requires?: SuiteRequirements;
  /** Default per-test timeout in milliseconds. */
  timeoutMs?: number;
  /** Parameters the suite reads from `params`, with defaults, for `gauntlet suites`. */
  params?: Record<string, { default: unknown; description: string }>;
}

export interface SuiteRequirements {
  /** `docker`, `podman`, or `any` engine. */
  engine?: 'docker' | 'podman' | 'any';
  /** Allowed storage drivers. */
  storageDriver?: string[];
  /** Allowed backing filesystems (docker's names: `extfs`, `xfs`, `btrfs`). */
  backingFs?: string[];
  cgroup?: 1 | 2;
  /** `ssh` or `local`. */
  connection?: 'ssh' | 'local';
}

/** A suite chosen for the run, identified by name and the digest of its file's content. */
export interface SuiteRef {
  name: string;
  /** Absolute path of the spec file. */
  path: string;
  /** sha256 of the file's bytes, so a reproduction can prove it ran the same suite. */
  digest: string;
}

/** One test of one suite: the suite's name and the test's full title within it (`describe > it`). */
export interface TestSelector {
  suite: string;
  title: string;
}

export interface HostRef {
  name: string;
  id: string;
  /** The host's `gauntlet_labels` when it has any, so reports can select hosts by them (`label.disk=nvme`). */
  labels?: Record<string, string>;
}

/** A cause that applies to every test a host did not finish. */
export interface HostCause {
  type: string;
  message: string;
}

interface EventBase {
  /** ISO 8601 time the event happened. */
  ts: string;
}

export interface RunStartEvent extends EventBase {
  type: 'run-start';
  runId: string;
  gauntletVersion: string;
  argv: string[];
  inventory: { file: string; digest: string };
  limit: string | null;
  hosts: HostRef[];
  suites: SuiteRef[];
  params: Record<string, unknown>;
  seed: number;
  shard: { index: number; total: number } | null;
  /** The suites each host owes in this run (its shard's host × suite pairs), by host name. */
  pairs?: Record<string, string[]>;
  /** Set when the run was limited to one test (`gauntlet repro`); the suite's hooks still ran. */
  only?: TestSelector;
  retries: number;
  /** `--timeout` and `--suite-timeout` in milliseconds when given (null: the suites' own), so a reproduction uses them too. */
  timeoutMs?: number | null;
  suiteTimeoutMs?: number | null;
  runner: RunnerFacts | null;
  /** The runner's process and machine, so `gauntlet clean` can tell a run still in progress from an interrupted one. */
  process?: { pid: number; hostname: string };
  /**
   * Set by `gauntlet merge`: the shard runs this run was merged from, each with the host × suite pairs whose results
   * it gave (so the seed, shard and run a host's suite ran with can be found again).
   */
  mergedFrom?: MergedShard[];
}

/** One shard run of a merged run (see RunStartEvent.mergedFrom). */
export interface MergedShard {
  runId: string;
  shard: { index: number; total: number } | null;
  seed: number;
  /** Hosts whose results in the merged run came from this shard. */
  hosts: string[];
  /** The suites each of those hosts ran in this shard, by host name. */
  pairs: Record<string, string[]>;
  /** The shard's own command line. */
  argv: string[];
}

export interface HostFactsEvent extends EventBase {
  type: 'host-facts';
  host: string;
  id: string;
  stackKey: StackKey;
  facts: Facts;
}

export interface HostUnreachableEvent extends EventBase {
  type: 'host-unreachable';
  host: string;
  id: string;
  error: string;
}

/** The tests a suite will run on a host, announced before the first one starts, so none can be dropped. */
export interface SuitePlanEvent extends EventBase {
  type: 'suite-plan';
  host: string;
  suite: string;
  /** Full titles within the suite (`describe > it`), in run order. */
  tests: string[];
  meta: SuiteMeta;
  /** The whole suite is skipped on this host, with the reason (destructive, requirements, bail). */
  skipped?: string;
  /** The suite file could not be loaded; `tests` is then empty. */
  loadError?: string;
  /** The suite cannot run on this host for a reason that is a problem, not a choice (its engine does not answer): every test is this error. */
  error?: HostCause;
}

export interface SuiteStartEvent extends EventBase {
  type: 'suite-start';
  host: string;
  suite: string;
}

export interface TestStartEvent extends EventBase {
  type: 'test-start';
  host: string;
  suite: string;
  title: string;
  attempt: number;
}

export interface TestEndEvent extends EventBase {
  type: 'test-end';
  host: string;
  suite: string;
  title: string;
  outcome: OutcomeKind;
  /** `ASSERTION` for failures; a harness or kernel class for errors. */
  errorType?: string;
  /** One line. */
  message?: string;
  /** Stack, diff or command output behind the message. */
  detail?: string;
  /** What the test logged and the commands it ran. */
  output: string;
  durationMs: number;
  attempt: number;
  /** Passed only after failing on an earlier attempt. */
  flaky: boolean;
  /**
   * Every command run on the host since the previous test ended (this test's hooks and body), with timings. Absent in
   * journals of earlier gauntlet versions and in test-ends the runner writes itself (a test lost with its host).
   */
  commands?: CommandRecord[];
  /** Commands left out of `commands` because the test ran more than it keeps. */
  commandsDropped?: number;
}

/** One command a test ran on its host, for the transcript of a reproduction. */
export interface CommandRecord {
  /** The command line (a very long one is cut, and says so). */
  command: string;
  /** Milliseconds from the test's start to the command's; negative for a `before` hook that ran earlier. */
  startMs: number;
  durationMs: number;
  exitCode: number | null;
  /** Signal name without SIG, when the command ended by one. */
  signal?: string;
  timedOut?: boolean;
  /** Why the command could not run or finish (the connection was lost). */
  error?: string;
  /** The hook it ran in (`"before each" hook`), when not in the test's body. */
  hook?: string;
}

export interface MetricEvent extends EventBase {
  type: 'metric';
  host: string;
  suite: string;
  name: string;
  value: number;
  unit: string;
}

export interface SuiteEndEvent extends EventBase {
  type: 'suite-end';
  host: string;
  suite: string;
  durationMs: number;
}

export interface HostEndEvent extends EventBase {
  type: 'host-end';
  host: string;
  /** Set when the host's work ended early; its unfinished tests take this cause. */
  error?: HostCause;
}

/** The test a host was running when something happened to it. */
export interface TestRef {
  suite: string;
  title: string;
  attempt: number;
}

/**
 * A kernel fault seen on a host during the run, from its kernel log, its console, or what the kernel left behind
 * after a crash (post-mortem); or the harness's own conclusion (`LOST_CONNECTION`, `UNEXPECTED_REBOOT`).
 */
export interface KernelEventRecord extends EventBase {
  type: 'kernel-event';
  host: string;
  /** Where the evidence was read. */
  source: 'kmsg' | 'console' | 'post-mortem' | 'heartbeat';
  /** How: `/dev/kmsg`, `file:PATH`, `netconsole:PORT`, `/sys/fs/pstore/dmesg-ramoops-0`, … */
  via: string;
  /** A fault class (`PANIC`, `SOFT_LOCKUP`, …; see fault.ts). */
  class: string;
  title: string;
  alt: string[];
  fatal: boolean;
  corrupted: boolean;
  /** The report's raw lines. */
  excerpt: string;
  /** When the report's first line reached the runner. */
  detectedAt: string;
  /** From that first line to this event being journaled (detection latency), for live sources. */
  latencyMs?: number;
  /** The test the event is attributed to: the one running at that moment, or null when none was. */
  test: TestRef | null;
  /** The host's boot id the event belongs to (post-mortem: the boot that crashed). */
  bootId?: string;
}

/**
 * A change in whether a host answers (its watch connection stalled, was lost, came back; the runner power-cycled
 * it; it stayed down), or a problem of the watch itself (a console that cannot be read): `watch-problem`.
 */
export interface HostLivenessEvent extends EventBase {
  type: 'host-liveness';
  host: string;
  state: 'stalled' | 'lost' | 'power-cycle' | 'back' | 'down' | 'watch-problem';
  message?: string;
  bootId?: string;
  /** For `back`: the boot id changed. */
  rebooted?: boolean;
}

export interface RunEndEvent extends EventBase {
  type: 'run-end';
  exitCode: number;
  /** `SIGINT` / `SIGTERM` when the run was stopped. */
  interrupted?: string;
}

export type JournalEvent =
  | RunStartEvent
  | HostFactsEvent
  | HostUnreachableEvent
  | SuitePlanEvent
  | SuiteStartEvent
  | TestStartEvent
  | TestEndEvent
  | MetricEvent
  | SuiteEndEvent
  | HostEndEvent
  | KernelEventRecord
  | HostLivenessEvent
  | RunEndEvent;

/** Events a host's worker sends to the runner, which journals them as they come. */
export type WorkerEvent = Exclude<JournalEvent, RunStartEvent | RunEndEvent | KernelEventRecord | HostLivenessEvent>;

/** One test's final outcome, after reconciling plans, attempts and causes. */
export interface TestRecord {
  title: string;
  outcome: OutcomeKind;
  errorType?: string;
  message?: string;
  detail?: string;
  output: string;
  startedAt?: string;
  durationMs: number;
  attempts: number;
  flaky: boolean;
  /** Kernel events attributed to this test, fatal or not, in the order they were seen. */
  kernelEvents?: KernelEventRecord[];
}

export interface Metric {
  name: string;
  value: number;
  unit: string;
}

/** One suite on one host: a JUnit `<testsuite>` named `SUITE @ HOST`. */
export interface HostSuiteRecord {
  host: string;
  suite: string;
  startedAt?: string;
  durationMs: number;
  tests: TestRecord[];
  metrics: Metric[];
  skipped?: string;
}

export interface HostRecord {
  name: string;
  id: string;
  stackKey: StackKey | null;
  facts: Facts | null;
  unreachable: string | null;
  /** Why the host's work ended early, if it did. */
  cause: HostCause | null;
  /** Kernel events seen while no test was running on the host. */
  kernelEvents?: KernelEventRecord[];
}

/** A whole run, as rebuilt from its journal. */
export interface RunRecord {
  start: RunStartEvent;
  hosts: HostRecord[];
  suites: HostSuiteRecord[];
  end: RunEndEvent | null;
}

export interface RunSummary {
  hostsTotal: number;
  /** Hosts that were reached and ran their suites. */
  hostsRan: number;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  flaky: number;
}
