// Ranking and qualification: test results read back from JUnit, each stack's evidence, its tier, and verdicts.

import type { OutcomeKind } from './run.js';

/**
 * The fields of a stack, as the `gauntlet.stack.*` properties of a JUnit testsuite name them (`key` is
 * `gauntlet.stack.key`). `--by` and the selectors of `gauntlet qualify` take these names.
 */
export const STACK_FIELDS = ['key', 'distro', 'kernel', 'arch', 'engine', 'storage_driver', 'backing_fs', 'cgroup', 'cgroup_driver', 'runtime'] as const;

export type StackField = (typeof STACK_FIELDS)[number];

/** An earlier failed attempt of a test (`<flakyError>`, `<rerunFailure>`, …): a kernel crash there still counts. */
export interface ResultAttempt {
  outcome: 'failed' | 'error';
  type: string;
  message?: string;
}

/** One `<testcase>` as read back from a JUnit file. */
export interface ResultTest {
  name: string;
  durationMs: number;
  outcome: OutcomeKind;
  /** The `type` of `<failure>` or `<error>`. */
  type?: string;
  /** Its `message` (one line). */
  message?: string;
  attempts: ResultAttempt[];
}

/** A kernel event listed in a testsuite's `gauntlet.kernel.events` property. */
export interface ResultKernelEvent {
  class: string;
  title: string;
  fatal: boolean;
}

/** One `<testsuite>` (one suite on one host) as read back from a JUnit file. */
export interface ResultSuite {
  /** The file it was read from. */
  source: string;
  /** The testsuite's name (`SUITE @ HOST`). */
  name: string;
  /**
   * The suite it ran: `SUITE` of a gauntlet testsuite's name (`SUITE @ HOST`, and whatever follows, such as a soak's
   * ` #3`), else the whole name. With `run` and `host` it says which testsuite this is, wherever it was read from.
   */
  suite?: string;
  /**
   * `gauntlet.shard.run` (a merged run's testsuite counts under the shard run it came from), else `gauntlet.run`, else
   * the file it came from: suites of one run share it.
   */
  run: string;
  /** `gauntlet.host.id`, else `gauntlet.host`, else the `hostname` attribute. */
  host: string;
  /** The testsuite's `timestamp` as ISO 8601 UTC, or null when it has none. */
  timestamp: string | null;
  /** The `gauntlet.stack.*` properties; empty when the suite carries none (an unreachable host). */
  stack: Partial<Record<StackField, string>>;
  kernelEvents: ResultKernelEvent[];
  tests: ResultTest[];
  /** The host's labels (`gauntlet.host.label.NAME` properties), when it had any. */
  labels?: Record<string, string>;
}

/**
 * - `proven`: no fatal event, and at least the minimum exposure (test-hours) over the minimum number of runs.
 * - `unproven`: no fatal event, but too little exposure to say so with confidence.
 * - `crashed`: at least one fatal kernel event.
 */
export type StackTier = 'proven' | 'unproven' | 'crashed';

/** A two-sided 95% interval; `high` is null when it is unbounded (no exposure, no tests). */
export interface Interval {
  low: number;
  high: number | null;
}

/** Where a crash signature happened. */
export interface SignatureOccurrence {
  run: string;
  /** The testsuite (`SUITE @ HOST`). */
  suite: string;
  test: string;
  source: string;
}

/** One distinct crash: a fatal class and its normalised title, with every place it happened. */
export interface CrashSignature {
  class: string;
  title: string;
  count: number;
  runs: string[];
  occurrences: SignatureOccurrence[];
}

/** The evidence about one stack (or one group of stacks, with `--by`). */
export interface StackEvidence {
  /** `key` for the default grouping, else `field=value` pairs joined by `, `. */
  group: string;
  fields: Partial<Record<StackField, string>>;
  runs: number;
  hosts: number;
  tests: number;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  /** Sum of test durations, in hours. */
  exposureHours: number;
  /** Failures and errors by their JUnit `type` (a fault class, `ASSERTION`, `TIMEOUT`, …). */
  byType: Record<string, number>;
  /** Degraded kernel events (warnings, filesystem errors, …) by class, from `gauntlet.kernel.events`. */
  degraded: Record<string, number>;
  fatalEvents: number;
  /** Fatal events per 100 test-hours; null without exposure. */
  fatalRate: number | null;
  /** Exact Poisson 95% interval of that rate. */
  fatalRateInterval: Interval;
  /** Passed / (passed + failed + errors); null when no test was judged. */
  passRate: number | null;
  /** Wilson 95% interval of the pass rate. */
  passRateInterval: Interval;
  signatures: CrashSignature[];
}

export interface RankedStack extends StackEvidence {
  /** 1-based place. */
  rank: number;
  tier: StackTier;
  /** Why the stack is in its tier, in words. */
  reason: string;
  /** Evidence a stack lacks to be proven (`0.4 of 1 test-hours`, `2 of 3 runs`); empty when proven or crashed. */
  missing: string[];
}

export interface RankCriteria {
  /** Minimum exposure for `proven`, in test-hours. */
  minHours: number;
  /** Minimum number of runs for `proven`. */
  minRuns: number;
}

export interface Ranking extends RankCriteria {
  /** The fields stacks were grouped by. */
  by: StackField[];
  /** Only runs that started at or after this time (ISO 8601), or null. */
  since: string | null;
  stacks: RankedStack[];
  /** Testsuites left out: without `gauntlet.stack.*` properties, or before `since`. */
  ignoredSuites: number;
}

export type QualificationVerdict = 'pass' | 'fail' | 'insufficient';

/** `gauntlet qualify`: a candidate's evidence against a baseline's. */
export interface Qualification extends RankCriteria {
  verdict: QualificationVerdict;
  /** One line per reason for the verdict. */
  reasons: string[];
  baselineSelector: string;
  candidateSelector: string;
  baseline: StackEvidence;
  candidate: StackEvidence;
  /** Candidate signatures the baseline lacks. */
  newSignatures: CrashSignature[];
  /** One-sided p-value that the candidate's fatal rate is no higher than the baseline's (conditional binomial test). */
  rateTest: { pValue: number; alpha: number; worse: boolean };
  /** Exposure the candidate lacks, as in RankedStack. */
  missing: string[];
}
