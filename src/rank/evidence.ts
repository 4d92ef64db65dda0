// Pure: the evidence about a set of testsuites (exposure, outcomes, fatal events and their signatures, intervals).

import { FAULT_SEVERITY_ORDER, type CrashSignature, type ResultSuite, type StackEvidence, type StackField } from '../model/index.js';
import { estimateRate, wilsonInterval } from './statistics.js';

/**
 * The classes whose errors count as fatal kernel events: those FAULT_SEVERITY_ORDER (src/model/fault.ts, the one
 * commented severity list) calls fatal, except HOST_UNREACHABLE: a host that could not be reached ran nothing, so it
 * says nothing about its stack (and gauntlet writes no stack properties for it). `LOST_CONNECTION` counts: a host
 * that stopped answering mid-test with no console evidence is treated as a crash, as the runner does.
 */
export const FATAL_CLASSES: ReadonlySet<string> = new Set(
  FAULT_SEVERITY_ORDER.filter((entry) => entry.severity === 'fatal' && entry.class !== 'HOST_UNREACHABLE').map((entry) => entry.class),
);

/** Classes the same list calls degraded: reported (from `gauntlet.kernel.events`), never a crash for ranking. */
export const DEGRADED_CLASSES: ReadonlySet<string> = new Set(
  FAULT_SEVERITY_ORDER.filter((entry) => entry.severity === 'degraded').map((entry) => entry.class),
);

/**
 * Classes whose message describes the harness's view (the transport's error, the boot ids), not a kernel report:
 * their signature is the class alone, so the same loss on two runs is one signature.
 */
const TITLE_IS_CLASS = new Set(['LOST_CONNECTION', 'UNEXPECTED_REBOOT', 'NO_OUTPUT']);

/** The normalised title of a fatal error: the class alone for harness conclusions, else the message, one line. */
export function normalizeSignatureTitle(faultClass: string, message: string | undefined): string {
  if (TITLE_IS_CLASS.has(faultClass)) return faultClass.toLowerCase().replace(/_/g, ' ');
  const title = (message ?? '').replace(/\s+/g, ' ').trim();
  return title || '(no title)';
}

export function signatureId(signature: { class: string; title: string }): string {
  return `${signature.class}: ${signature.title}`;
}

const MS_PER_HOUR = 3_600_000;

/**
 * The testsuites, each once: the same testsuite (its run, host and suite) can be read from more than one report, such
 * as a merged run's junit.xml and its shards' (a merged testsuite names its shard run), or a soak's junit.xml and
 * its iterations' (reports/ holds both). The first one read is kept.
 */
export function dedupeSuites(suites: readonly ResultSuite[]): ResultSuite[] {
  const seen = new Set<string>();
  return suites.filter((suite) => {
    const identity = JSON.stringify([suite.run, suite.host, suite.suite ?? suite.name]);
    if (seen.has(identity)) return false;
    seen.add(identity);
    return true;
  });
}

/** Adds up the evidence of `suites` (each testsuite once: see dedupeSuites), labelled `group` with the stack `fields` they share. */
export function collectEvidence(group: string, fields: Partial<Record<StackField, string>>, found: readonly ResultSuite[]): StackEvidence {
  const suites = dedupeSuites(found);
  const runs = new Set<string>();
  const hosts = new Set<string>();
  const byType: Record<string, number> = {};
  const degraded: Record<string, number> = {};
  const signatures = new Map<string, CrashSignature>();
  let tests = 0, passed = 0, failed = 0, errors = 0, skipped = 0, exposureMs = 0, fatalEvents = 0;
  const noteFatal = (faultClass: string, message: string | undefined, suite: ResultSuite, test: string): void => {
    fatalEvents += 1;
    const title = normalizeSignatureTitle(faultClass, message);
    const id = signatureId({ class: faultClass, title });
    const signature = signatures.get(id) ?? { class: faultClass, title, count: 0, runs: [], occurrences: [] };
    signature.count += 1;
    if (!signature.runs.includes(suite.run)) signature.runs.push(suite.run);
    signature.occurrences.push({ run: suite.run, suite: suite.name, test, source: suite.source });
    signatures.set(id, signature);
  };
  for (const suite of suites) {
    runs.add(suite.run);
    hosts.add(suite.host);
    for (const event of suite.kernelEvents) {
      if (!event.fatal && DEGRADED_CLASSES.has(event.class)) degraded[event.class] = (degraded[event.class] ?? 0) + 1;
    }
    for (const test of suite.tests) {
      tests += 1;
      exposureMs += test.durationMs;
      if (test.outcome === 'passed') passed += 1;
      else if (test.outcome === 'failed') failed += 1;
      else if (test.outcome === 'error') errors += 1;
      else skipped += 1;
      if ((test.outcome === 'failed' || test.outcome === 'error') && test.type) byType[test.type] = (byType[test.type] ?? 0) + 1;
      // An earlier attempt that crashed the kernel is a crash too, even when a retry passed.
      for (const attempt of test.attempts) {
        if (attempt.outcome === 'error' && FATAL_CLASSES.has(attempt.type)) noteFatal(attempt.type, attempt.message, suite, test.name);
      }
      if (test.outcome === 'error' && test.type && FATAL_CLASSES.has(test.type)) noteFatal(test.type, test.message, suite, test.name);
    }
  }
  const exposureHours = exposureMs / MS_PER_HOUR;
  const rate = estimateRate(fatalEvents, exposureHours);
  const judged = passed + failed + errors;
  return {
    group,
    fields,
    runs: runs.size,
    hosts: hosts.size,
    tests,
    passed,
    failed,
    errors,
    skipped,
    exposureHours,
    byType,
    degraded,
    fatalEvents,
    fatalRate: rate.rate,
    fatalRateInterval: rate.interval,
    passRate: judged > 0 ? passed / judged : null,
    passRateInterval: wilsonInterval(passed, judged),
    signatures: [...signatures.values()].sort((a, b) => b.count - a.count || signatureId(a).localeCompare(signatureId(b))),
  };
}

/** What a stack lacks to be proven: `0.4 of 1 test-hours`, `2 of 3 runs`; empty when it has enough. */
export function listMissingEvidence(evidence: StackEvidence, minHours: number, minRuns: number): string[] {
  const missing: string[] = [];
  if (evidence.exposureHours < minHours) missing.push(`${formatHours(evidence.exposureHours)} of ${formatHours(minHours)} test-hours`);
  if (evidence.runs < minRuns) missing.push(`${evidence.runs} of ${minRuns} runs`);
  return missing;
}

/** Hours with up to 2 significant decimals: 12.3, 0.42, 0.0031, 1. */
export function formatHours(hours: number): string {
  if (hours === 0) return '0';
  if (hours >= 10) return String(Math.round(hours * 10) / 10);
  return String(Number(hours.toPrecision(2)));
}
