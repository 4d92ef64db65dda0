// Pure merge of the journals of `--shard i/n` runs into one run's events: one plan, each host × suite once, hosts once.

import {
  GauntletError,
  HARNESS_ERROR_TYPES,
  type HostRef,
  type JournalEvent,
  type MergedShard,
  type RunEndEvent,
  type RunStartEvent,
  type TestEndEvent,
} from '../model/index.js';
import { buildRunRecord, exitCodeOf } from './run-record.js';

/** One run to merge: its events as read from its journal, and where they were read (for messages). */
export interface MergeInput {
  dir: string;
  events: JournalEvent[];
}

export interface MergeOptions {
  /** The merged run's id (new: a merged run is a run of its own). */
  runId: string;
  /** The merge's command line, recorded as the merged run's `argv`. */
  argv: string[];
}

export interface MergeResult {
  /** The merged run's journal: run-start, every kept event, run-end. */
  events: JournalEvent[];
  /** Missing shards, shards given twice, runs of different gauntlet versions: one sentence each. */
  warnings: string[];
  /** Test results left out because a later run of the same shard had the same host × suite. */
  duplicatesDropped: number;
  /** The shards merged, in order: `1/4`, `2/4`, … */
  shards: string[];
}

/** Events that belong to one host × suite pair. */
type PairEvent = Extract<JournalEvent, { suite: string }>;

/**
 * A run-end "signal" no real run has: a run's unfinished tests are found by rebuilding it as interrupted by this and
 * looking for it in their messages.
 */
const PROBE_SIGNAL = 'gauntlet-merge-probe\u0000';

/**
 * Merges shard runs of one plan into the events of one run. The rules:
 *   - every input must be a `--shard i/n` run, each run once, all of one plan: the same suites (names and content
 *     digests), params, inventory digest, `--limit`, retries and shard total; otherwise nothing is merged (USAGE,
 *     naming what differs and where);
 *   - a shard index missing from 1..n, or given more than once, is a warning;
 *   - a host × suite pair in more than one run (the same shard run twice) keeps the results of the run that started
 *     later, all of them or none; the tests of the other are counted in `duplicatesDropped`;
 *   - a host in several shards is one host: its facts are the latest run's that reached it;
 *   - every test keeps the outcome its own run gives it: tests a run never finished (killed, interrupted, host lost,
 *     unreachable) get an explicit `test-end` with the outcome rebuilding that run alone gives them, so the
 *     merged journal says the same without the other shards' endings;
 *   - the merged run-start is new (`runId`, `argv`), unsharded (`shard: null`), owes exactly the pairs merged, and
 *     lists in `mergedFrom` each shard's run id, shard, seed, command line and the pairs it gave; `seed` is the
 *     first shard's (the same as every shard's when they ran with one `--seed`; each pair's own is in `mergedFrom`);
 *   - the merged run ends interrupted (130/143) when a shard whose results it kept was interrupted, else it exits as
 *     its tests say.
 */
export function mergeRuns(inputs: readonly MergeInput[], options: MergeOptions): MergeResult {
  if (inputs.length === 0) throw new GauntletError('USAGE', 'expected one or more run directories of `gauntlet run --shard i/n`');
  const runs = inputs.map((input, order) => describeRun(input, order));
  checkRuns(runs);
  runs.sort((a, b) => a.shard.index - b.shard.index || a.start.ts.localeCompare(b.start.ts) || a.order - b.order);
  const warnings = [...checkShardCoverage(runs), ...checkVersions(runs)];

  // Each pair goes to the run that started last among those that have it (ties: the later on the command line).
  const winners = new Map<string, Run>();
  for (const run of runs) {
    for (const key of run.pairKeys) {
      const current = winners.get(key);
      if (!current || isLater(run, current)) winners.set(key, run);
    }
  }
  let duplicatesDropped = 0;
  for (const run of runs) {
    for (const suite of run.ownSuites) if (winners.get(pairKey(suite.host, suite.suite)) !== run) duplicatesDropped += suite.tests;
  }
  const wonHosts = (run: Run): Set<string> => new Set([...run.pairKeys].filter((key) => winners.get(key) === run).map((key) => hostOfKey(key)));
  // A host's facts come from the latest run that reached it; its "unreachable" only when no run did.
  const factsFrom = new Map<string, Run>();
  const unreachableFrom = new Map<string, Run>();
  for (const run of runs) {
    for (const host of wonHosts(run)) {
      if (run.reached.has(host) && (!factsFrom.has(host) || isLater(run, factsFrom.get(host)!))) factsFrom.set(host, run);
      if (run.unreachable.has(host) && (!unreachableFrom.has(host) || isLater(run, unreachableFrom.get(host)!))) unreachableFrom.set(host, run);
    }
  }

  const events: JournalEvent[] = [];
  const hosts = new Map<string, HostRef>();
  const pairs = new Map<string, string[]>();
  const mergedFrom: MergedShard[] = [];
  for (const run of runs) {
    const won = wonHosts(run);
    const runPairs: Record<string, string[]> = {};
    for (const suite of run.ownSuites) {
      if (winners.get(pairKey(suite.host, suite.suite)) !== run) continue;
      (runPairs[suite.host] ??= []).push(suite.suite);
      const list = pairs.get(suite.host) ?? [];
      list.push(suite.suite);
      pairs.set(suite.host, list);
    }
    for (const ref of run.start.hosts) if (won.has(ref.name)) hosts.set(ref.name, ref);
    mergedFrom.push({ runId: run.start.runId, shard: run.start.shard, seed: run.start.seed, hosts: Object.keys(runPairs), pairs: runPairs, argv: run.start.argv });
    for (const event of [...run.events.slice(1), ...run.endings]) {
      if (keepEvent(event, run, { winners, won, factsFrom, unreachableFrom })) events.push(event);
    }
  }

  const first = runs[0]!;
  const runners = new Set(runs.map((run) => JSON.stringify(run.start.runner)));
  const start: RunStartEvent = {
    type: 'run-start',
    ts: runs.map((run) => run.start.ts).sort()[0]!,
    runId: options.runId,
    gauntletVersion: latest(runs).start.gauntletVersion,
    argv: options.argv,
    inventory: first.start.inventory,
    limit: first.start.limit,
    hosts: [...hosts.values()],
    suites: first.start.suites,
    params: first.start.params,
    seed: first.start.seed,
    shard: null,
    pairs: Object.fromEntries(pairs),
    retries: first.start.retries,
    runner: runners.size === 1 ? first.start.runner : null,
    mergedFrom,
  };
  // Interrupted when a shard whose results it kept was.
  const interrupted = runs.find((run) => run.end?.interrupted && wonHosts(run).size > 0)?.end?.interrupted;
  const endTs = runs.map((run) => run.end?.ts ?? run.events.at(-1)!.ts).sort().at(-1)!;
  const provisional: RunEndEvent = { type: 'run-end', ts: endTs, exitCode: 0, ...(interrupted ? { interrupted } : {}) };
  const exitCode = exitCodeOf(buildRunRecord([start, ...events, provisional]));
  return {
    events: [start, ...events, { ...provisional, exitCode }],
    warnings,
    duplicatesDropped,
    shards: runs.map((run) => `${run.shard.index}/${run.shard.total}`),
  };
}

/** The merged shard that gave a host × suite pair its results, or undefined for a run that was not merged. */
export function findMergedShard(start: RunStartEvent, host: string, suite: string): MergedShard | undefined {
  return start.mergedFrom?.find((shard) => shard.pairs[host]?.includes(suite));
}

interface Run {
  dir: string;
  order: number;
  events: JournalEvent[];
  start: RunStartEvent;
  end: RunEndEvent | null;
  shard: { index: number; total: number };
  /** `pairKey`s of every host × suite the run's record has. */
  pairKeys: Set<string>;
  /** The run's own record's suites: host, suite and how many tests. */
  ownSuites: Array<{ host: string; suite: string; tests: number }>;
  /** Hosts the run reached (it has their facts) and hosts it could not reach. */
  reached: Set<string>;
  unreachable: Set<string>;
  /** Explicit test-ends for the tests the run never finished, as the run alone decides them. */
  endings: TestEndEvent[];
}

function describeRun(input: MergeInput, order: number): Run {
  const start = input.events[0];
  if (start?.type !== 'run-start') throw new GauntletError('USAGE', `${input.dir}: the journal does not start with a run-start event`);
  if (start.shard === null) {
    const what = start.mergedFrom ? 'a merged run' : 'a run without --shard';
    throw new GauntletError('USAGE', `${input.dir}: run ${start.runId} is ${what}; expected the run directories of \`gauntlet run --shard i/n\` jobs`);
  }
  const end = input.events.findLast((event): event is RunEndEvent => event.type === 'run-end') ?? null;
  const record = buildRunRecord(input.events);
  return {
    dir: input.dir,
    order,
    events: input.events,
    start,
    end,
    shard: start.shard,
    pairKeys: new Set(record.suites.map((suite) => pairKey(suite.host, suite.suite))),
    ownSuites: record.suites.map((suite) => ({ host: suite.host, suite: suite.suite, tests: suite.tests.length })),
    reached: new Set(input.events.flatMap((event) => (event.type === 'host-facts' ? [event.host] : []))),
    unreachable: new Set(input.events.flatMap((event) => (event.type === 'host-unreachable' ? [event.host] : []))),
    endings: listEndings(input.events, end),
  };
}

/**
 * Test-ends for the tests a run never finished. The run is rebuilt twice with its kernel events attributed to no
 * test (they are merged as they are, and would otherwise decide the outcome twice): as it ended, which gives each
 * unfinished test its own outcome, and as if stopped by PROBE_SIGNAL with no host causes, which marks exactly the
 * unfinished tests.
 */
function listEndings(events: readonly JournalEvent[], end: RunEndEvent | null): TestEndEvent[] {
  const own = events.map((event): JournalEvent => (event.type === 'kernel-event' ? { ...event, test: null } : event));
  const probe = own.flatMap((event): JournalEvent[] => {
    if (event.type === 'host-unreachable' || event.type === 'run-end') return [];
    if (event.type === 'host-end') return [{ type: 'host-end', ts: event.ts, host: event.host }];
    return [event];
  });
  const ts = end?.ts ?? events.at(-1)!.ts;
  probe.push({ type: 'run-end', ts, exitCode: 0, interrupted: PROBE_SIGNAL });
  const actual = buildRunRecord(own).suites;
  const probed = buildRunRecord(probe).suites;
  const endings: TestEndEvent[] = [];
  probed.forEach((suite, s) => {
    suite.tests.forEach((test, t) => {
      if (test.errorType !== HARNESS_ERROR_TYPES.INTERRUPTED || !test.message?.endsWith(`interrupted by ${PROBE_SIGNAL}`)) return;
      const outcome = actual[s]!.tests[t]!;
      endings.push({
        type: 'test-end',
        ts,
        host: suite.host,
        suite: suite.suite,
        title: outcome.title,
        outcome: outcome.outcome,
        ...(outcome.errorType === undefined ? {} : { errorType: outcome.errorType }),
        ...(outcome.message === undefined ? {} : { message: outcome.message }),
        ...(outcome.detail === undefined ? {} : { detail: outcome.detail }),
        output: outcome.output,
        durationMs: outcome.durationMs,
        attempt: Math.max(1, outcome.attempts),
        flaky: false,
      });
    });
  });
  return endings;
}

/** Which of a run's events the merged journal keeps. */
function keepEvent(
  event: JournalEvent,
  run: Run,
  chosen: { winners: Map<string, Run>; won: Set<string>; factsFrom: Map<string, Run>; unreachableFrom: Map<string, Run> },
): boolean {
  switch (event.type) {
    case 'run-start':
    case 'run-end':
      return false;
    case 'host-facts':
      return chosen.factsFrom.get(event.host) === run;
    case 'host-unreachable':
      return !chosen.factsFrom.has(event.host) && chosen.unreachableFrom.get(event.host) === run;
    case 'host-end':
    case 'host-liveness':
      return chosen.won.has(event.host);
    case 'kernel-event':
      return event.test ? chosen.winners.get(pairKey(event.host, event.test.suite)) === run : chosen.won.has(event.host);
    default:
      return chosen.winners.get(pairKey(event.host, (event as PairEvent).suite)) === run;
  }
}

/** Refuses inputs that are not shards of one plan, naming every difference (USAGE, nothing merged). */
function checkRuns(runs: readonly Run[]): void {
  const problems: string[] = [];
  const byId = new Map<string, Run>();
  for (const run of runs) {
    const seen = byId.get(run.start.runId);
    if (seen) problems.push(`run ${run.start.runId} is given twice: ${seen.dir} and ${run.dir}`);
    byId.set(run.start.runId, run);
  }
  const aspects: Array<[string, (start: RunStartEvent) => string]> = [
    ['shard totals', (start) => `n=${start.shard?.total ?? '-'}`],
    ['suites', (start) => [...start.suites].map((suite) => `${suite.name} ${suite.digest}`).sort().join(', ')],
    ['params', (start) => canonicalJson(start.params)],
    ['inventory digests', (start) => start.inventory.digest],
    ['--limit', (start) => start.limit ?? '(none)'],
    ['retries', (start) => String(start.retries)],
  ];
  for (const [aspect, describe] of aspects) {
    const groups = new Map<string, string[]>();
    for (const run of runs) groups.set(describe(run.start), [...(groups.get(describe(run.start)) ?? []), run.dir]);
    if (groups.size > 1) {
      problems.push(`${aspect} differ: ${[...groups].map(([value, dirs]) => `${dirs.join(', ')} ${dirs.length > 1 ? 'have' : 'has'} ${value}`).join('; ')}`);
    }
  }
  if (problems.length > 0) {
    throw new GauntletError('USAGE', `not shards of one plan, nothing merged: ${problems[0]}`, { details: problems.slice(1) });
  }
}

function checkShardCoverage(runs: readonly Run[]): string[] {
  const warnings: string[] = [];
  const total = runs[0]!.shard.total;
  const missing: string[] = [];
  for (let index = 1; index <= total; index++) {
    const same = runs.filter((run) => run.shard.index === index);
    if (same.length === 0) missing.push(`${index}/${total}`);
    if (same.length > 1) {
      warnings.push(`shard ${index}/${total} is given ${same.length} times (${same.map((run) => `${run.start.runId} in ${run.dir}`).join(', ')}): where they share a host × suite, the run that started last is kept`);
    }
  }
  if (missing.length > 0) {
    warnings.push(`shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing: the merged run lacks their host × suite pairs`);
  }
  return warnings;
}

function checkVersions(runs: readonly Run[]): string[] {
  const versions = new Set(runs.map((run) => run.start.gauntletVersion));
  if (versions.size <= 1) return [];
  return [`the shards ran different gauntlet versions (${runs.map((run) => `${run.shard.index}/${run.shard.total}: ${run.start.gauntletVersion}`).join(', ')}); the merged run records ${latest(runs).start.gauntletVersion}`];
}

/** Started later, or at the same time but later on the command line. */
function isLater(a: Run, b: Run): boolean {
  return a.start.ts > b.start.ts || (a.start.ts === b.start.ts && a.order > b.order);
}

function latest(runs: readonly Run[]): Run {
  return runs.reduce((best, run) => (isLater(run, best) ? run : best));
}

function pairKey(host: string, suite: string): string {
  return JSON.stringify([host, suite]);
}

function hostOfKey(key: string): string {
  return (JSON.parse(key) as [string, string])[0];
}

/** JSON with object keys sorted, so equal params compare equal whatever order they were given in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
