// Pure: testsuites read back from JUnit give stacks ranked in three tiers (proven, unproven, crashed), each with why.

import { STACK_FIELDS, type RankCriteria, type RankedStack, type Ranking, type ResultSuite, type StackEvidence, type StackField, type StackTier } from '../model/index.js';
import { collectEvidence, formatHours, listMissingEvidence } from './evidence.js';

export const DEFAULT_CRITERIA: RankCriteria = { minHours: 1, minRuns: 3 };

export interface RankOptions extends Partial<RankCriteria> {
  /** Fields to group by; default `['key']`. */
  by?: readonly StackField[];
  /** Keep only runs that started at or after this time. */
  since?: Date | null;
}

const TIER_ORDER: Record<StackTier, number> = { proven: 0, unproven: 1, crashed: 2 };

/**
 * Ranks stacks. Order, tier by tier (a stack with little evidence never outranks a proven one, a crashed one never
 * outranks one that has not crashed):
 *   1. proven (no fatal event, ≥ minHours test-hours over ≥ minRuns runs): by the upper bound of the fatal-event
 *      rate, lowest first, then by the lower bound of the pass rate, highest first;
 *   2. unproven (no fatal event, too little exposure): by exposure, most first;
 *   3. crashed (≥ 1 fatal event): by the upper bound of the fatal-event rate, lowest first.
 * Ties end on the group's name, so the order is the same on every run.
 */
export function rankStacks(suites: readonly ResultSuite[], options: RankOptions = {}): Ranking {
  const criteria: RankCriteria = { minHours: options.minHours ?? DEFAULT_CRITERIA.minHours, minRuns: options.minRuns ?? DEFAULT_CRITERIA.minRuns };
  const by = options.by && options.by.length > 0 ? [...options.by] : (['key'] as StackField[]);
  const since = options.since ?? null;
  const kept = filterSince(suites.filter(hasStack), since);
  const groups = new Map<string, { fields: Partial<Record<StackField, string>>; suites: ResultSuite[] }>();
  for (const suite of kept) {
    const fields = Object.fromEntries(by.map((field) => [field, suite.stack[field] ?? 'unknown'])) as Partial<Record<StackField, string>>;
    const group = describeGroup(by, fields);
    const entry = groups.get(group) ?? { fields, suites: [] };
    entry.suites.push(suite);
    groups.set(group, entry);
  }
  const stacks = [...groups.entries()]
    .map(([group, entry]) => placeStack(collectEvidence(group, entry.fields, entry.suites), criteria))
    .sort(compareStacks)
    .map((stack, index) => ({ ...stack, rank: index + 1 }));
  return { by, since: since ? since.toISOString() : null, ...criteria, stacks, ignoredSuites: suites.length - kept.length };
}

/** `key` alone is the key itself; other groupings read `kernel=6.1.0-56-amd64, storage_driver=overlay2`. */
export function describeGroup(by: readonly StackField[], fields: Partial<Record<StackField, string>>): string {
  if (by.length === 1 && by[0] === 'key') return fields.key ?? 'unknown';
  return by.map((field) => `${field}=${fields[field] ?? 'unknown'}`).join(', ');
}

/** A testsuite counts for ranking only when it says which stack it ran on. */
export function hasStack(suite: ResultSuite): boolean {
  return STACK_FIELDS.some((field) => suite.stack[field] !== undefined);
}

/** Keeps whole runs whose first testsuite started at or after `since` (a run without timestamps is dropped). */
export function filterSince(suites: readonly ResultSuite[], since: Date | null): ResultSuite[] {
  if (!since) return [...suites];
  const started = new Map<string, number>();
  for (const suite of suites) {
    const time = suite.timestamp ? Date.parse(suite.timestamp) : Number.NaN;
    if (Number.isNaN(time)) continue;
    started.set(suite.run, Math.min(started.get(suite.run) ?? Infinity, time));
  }
  return suites.filter((suite) => (started.get(suite.run) ?? -Infinity) >= since.getTime());
}

/** The tier of a stack's evidence, why, and what it lacks. */
export function placeStack(evidence: StackEvidence, criteria: RankCriteria): Omit<RankedStack, 'rank'> {
  const missing = listMissingEvidence(evidence, criteria.minHours, criteria.minRuns);
  if (evidence.fatalEvents > 0) {
    const classes = countClasses(evidence);
    const events = plural(evidence.fatalEvents, 'fatal event');
    return { ...evidence, tier: 'crashed', missing: [], reason: `crashed: ${events} (${classes}) in ${formatHours(evidence.exposureHours)} test-hours over ${plural(evidence.runs, 'run')}; ${describeRate(evidence)}` };
  }
  if (missing.length > 0) {
    return { ...evidence, tier: 'unproven', missing, reason: `unproven: ${missing.join(', ')}; no fatal event so far` };
  }
  return { ...evidence, tier: 'proven', missing, reason: `proven: no fatal event in ${formatHours(evidence.exposureHours)} test-hours over ${plural(evidence.runs, 'run')}; ${describeRate(evidence)}` };
}

function compareStacks(a: Omit<RankedStack, 'rank'>, b: Omit<RankedStack, 'rank'>): number {
  const tier = TIER_ORDER[a.tier] - TIER_ORDER[b.tier];
  if (tier !== 0) return tier;
  let order = 0;
  if (a.tier === 'unproven') order = b.exposureHours - a.exposureHours;
  else {
    order = upper(a.fatalRateInterval.high) - upper(b.fatalRateInterval.high);
    if (order === 0 || Number.isNaN(order)) order = a.tier === 'proven' ? b.passRateInterval.low - a.passRateInterval.low : 0;
  }
  return order !== 0 && !Number.isNaN(order) ? order : a.group < b.group ? -1 : a.group > b.group ? 1 : 0;
}

function upper(high: number | null): number {
  return high ?? Infinity;
}

function countClasses(evidence: StackEvidence): string {
  const counts = new Map<string, number>();
  for (const signature of evidence.signatures) counts.set(signature.class, (counts.get(signature.class) ?? 0) + signature.count);
  return [...counts.entries()].map(([name, count]) => (count === 1 ? name : `${name} ×${count}`)).join(', ');
}

/** `fatal rate ≤ 30.7 per 100 test-hours (95%)` with no event, else `3.2 [0.66–9.4] per 100 test-hours (95%)`. */
export function describeRate(evidence: StackEvidence): string {
  const { fatalRate, fatalRateInterval } = evidence;
  if (fatalRate === null) return 'no exposure, so no rate';
  if (evidence.fatalEvents === 0) return `fatal rate ≤ ${formatRate(fatalRateInterval.high)} per 100 test-hours (95%)`;
  return `fatal rate ${formatRate(fatalRate)} [${formatRate(fatalRateInterval.low)}–${formatRate(fatalRateInterval.high)}] per 100 test-hours (95%)`;
}

/** Three significant digits: 3.69, 30.7, 1230; ∞ for an unbounded rate. */
export function formatRate(rate: number | null): string {
  if (rate === null || !Number.isFinite(rate)) return '∞';
  if (rate === 0) return '0';
  return rate >= 1000 ? String(Math.round(rate)) : String(Number(rate.toPrecision(3)));
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
