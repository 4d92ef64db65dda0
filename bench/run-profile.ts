// Where a `gauntlet run`'s time goes, read back from what the run itself wrote: journal.jsonl (an ISO timestamp on
// every event) and the mtime of junit.xml (written last). Also the check that a run's reports show every host passing.

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { HostFactsEvent, JournalEvent } from '../src/model/index.js';
import { BenchError } from './benchmark.js';

/** The spread of one quantity over the hosts of a run, in milliseconds. */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** Per-host moments, each in ms after run-start, in the order a host passes them. */
export const MILESTONES = {
  gatherStart: 'connected, facts gathering starts (`facts.gatheredAt`)',
  facts: '`host-facts` recorded',
  plan: '`suite-plan` (the worker has loaded mocha and the suite, and has the facts)',
  testStart: '`test-start`',
  testEnd: '`test-end`',
  hostEnd: '`host-end` (worker ended, connection closed)',
} as const;
export type Milestone = keyof typeof MILESTONES;

/** Per-host phases: the gaps between consecutive milestones (the first from run-start). */
export const PHASES = {
  connect: 'run-start → facts gathering starts: SSH connect (TCP, key exchange, auth)',
  gather: 'facts gathering (~12 probes + docker /info, /version) → `host-facts`',
  worker: '`host-facts` → `suite-plan`: waiting for the worker thread (start, mocha + suite load) as far as not done during connect and facts',
  toTest: '`suite-plan` → `test-start`',
  test: '`test-start` → `test-end`: the test (`host.checkOutput(\'true\')`, one exec over the worker ↔ runner RPC)',
  wrapUp: '`test-end` → `host-end`: suite end, worker terminated, SSH connection closed',
} as const;
export type Phase = keyof typeof PHASES;

export interface RunProfile {
  runId: string;
  hosts: number;
  /** run-start's timestamp (epoch ms). */
  runStartEpochMs: number;
  milestones: Record<Milestone, Spread>;
  perHost: Record<Phase, Spread>;
  /** run-start → run-end. */
  runEndMs: number;
  /** run-start → junit.xml written (its mtime); the end of everything the journal can see. */
  junitMs: number;
  /** The host whose `host-end` came last: its phases, then the runner's own tail. They add up to `junitMs`. */
  criticalPath: { host: string } & Record<Phase, number> & { finish: number; report: number };
}

/** Phases of the critical path after the last host: last `host-end` → `run-end`, and `run-end` → junit.xml written. */
export const TAIL_PHASES = {
  finish: 'last `host-end` → `run-end`: remaining workers and connections closed, run record built',
  report: '`run-end` → junit.xml written (its mtime): run record, summary, JUnit',
} as const;

interface HostTimes {
  name: string;
  at: Partial<Record<Milestone, number>>;
}

/** Read one run directory's journal and junit.xml's mtime into a profile; every host must have passed its one test. */
export async function profileRun(runDir: string): Promise<RunProfile> {
  const journalFile = path.join(runDir, 'journal.jsonl');
  const text = await readFile(journalFile, 'utf8');
  const events = text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as JournalEvent);
  const start = events[0];
  const end = events.at(-1);
  if (start?.type !== 'run-start' || end?.type !== 'run-end') {
    throw new BenchError('CHECK_FAILED', `${journalFile}: expected run-start first and run-end last`);
  }
  const t0 = Date.parse(start.ts);
  const since = (ts: string): number => Date.parse(ts) - t0;
  const hosts = new Map<string, HostTimes>(start.hosts.map((h) => [h.name, { name: h.name, at: {} }]));
  const at = (host: string): HostTimes['at'] => {
    const times = hosts.get(host);
    if (!times) throw new BenchError('CHECK_FAILED', `${journalFile}: event for unknown host ${host}`);
    return times.at;
  };
  for (const e of events) {
    switch (e.type) {
      case 'host-facts': {
        const facts = (e as HostFactsEvent).facts;
        at(e.host).gatherStart = since(facts.gatheredAt);
        at(e.host).facts = since(e.ts);
        break;
      }
      case 'suite-plan':
        at(e.host).plan = since(e.ts);
        break;
      case 'test-start':
        at(e.host).testStart = since(e.ts);
        break;
      case 'test-end':
        if (e.outcome !== 'passed') throw new BenchError('CHECK_FAILED', `${journalFile}: ${e.host}: test ${e.outcome}: ${e.message ?? ''}`);
        at(e.host).testEnd = since(e.ts);
        break;
      case 'host-end':
        at(e.host).hostEnd = since(e.ts);
        break;
      default:
        break;
    }
  }
  const complete = [...hosts.values()].map((h) => {
    const missing = (Object.keys(MILESTONES) as Milestone[]).filter((m) => h.at[m] === undefined);
    if (missing.length > 0) throw new BenchError('CHECK_FAILED', `${journalFile}: host ${h.name} has no ${missing.join(', ')} event`);
    return { name: h.name, at: h.at as Record<Milestone, number> };
  });
  if (complete.length === 0) throw new BenchError('CHECK_FAILED', `${journalFile}: no hosts`);

  const phasesOf = (a: Record<Milestone, number>): Record<Phase, number> => ({
    connect: a.gatherStart,
    gather: a.facts - a.gatherStart,
    worker: a.plan - a.facts,
    toTest: a.testStart - a.plan,
    test: a.testEnd - a.testStart,
    wrapUp: a.hostEnd - a.testEnd,
  });
  const runEndMs = since(end.ts);
  const junitMs = (await stat(path.join(runDir, 'junit.xml'))).mtimeMs - t0;
  const last = complete.reduce((a, b) => (b.at.hostEnd > a.at.hostEnd ? b : a));
  return {
    runId: start.runId,
    hosts: complete.length,
    runStartEpochMs: t0,
    milestones: mapKeys(MILESTONES, (m) => spread(complete.map((h) => h.at[m]))),
    perHost: mapKeys(PHASES, (p) => spread(complete.map((h) => phasesOf(h.at)[p]))),
    runEndMs,
    junitMs,
    criticalPath: { host: last.name, ...phasesOf(last.at), finish: runEndMs - last.at.hostEnd, report: junitMs - runEndMs },
  };
}

/** The median, over several runs, of every number in their profiles (the critical path's host: the most frequent). */
export function medianProfile(profiles: RunProfile[]): RunProfile {
  const first = profiles[0];
  if (!first) throw new Error('medianProfile: no profiles');
  const med = (pick: (p: RunProfile) => number): number => median(profiles.map(pick));
  const spreadOf = (pick: (p: RunProfile) => Spread): Spread => ({
    min: med((p) => pick(p).min),
    median: med((p) => pick(p).median),
    max: med((p) => pick(p).max),
  });
  const hosts = profiles.map((p) => p.criticalPath.host);
  return {
    runId: `median of ${profiles.length} runs`,
    hosts: first.hosts,
    runStartEpochMs: first.runStartEpochMs,
    milestones: mapKeys(MILESTONES, (m) => spreadOf((p) => p.milestones[m])),
    perHost: mapKeys(PHASES, (k) => spreadOf((p) => p.perHost[k])),
    runEndMs: med((p) => p.runEndMs),
    junitMs: med((p) => p.junitMs),
    criticalPath: {
      host: [...new Set(hosts)].join(', '),
      ...mapKeys(PHASES, (k) => med((p) => p.criticalPath[k])),
      finish: med((p) => p.criticalPath.finish),
      report: med((p) => p.criticalPath.report),
    },
  };
}

/**
 * The run's JUnit must hold exactly one passing `<testcase>` per lab host, in a `<testsuite name="SUITE @ HOST">`.
 * Minimal parsing with regular expressions: gauntlet writes the file, and only counts and names matter here.
 */
export async function checkJunit(runDir: string, suite: string, hostNames: string[]): Promise<string> {
  const file = path.join(runDir, 'junit.xml');
  const xml = await readFile(file, 'utf8');
  const fail = (why: string): never => {
    throw new BenchError('CHECK_FAILED', `${file}: ${why}`);
  };
  const root = /<testsuites\b[^>]*>/.exec(xml)?.[0] ?? fail('no <testsuites> element');
  const attr = (element: string, name: string): string | undefined => new RegExp(`\\b${name}="([^"]*)"`).exec(element)?.[1];
  const n = String(hostNames.length);
  if (attr(root, 'tests') !== n || attr(root, 'failures') !== '0' || attr(root, 'errors') !== '0') {
    fail(`expected tests="${n}" failures="0" errors="0", got ${root}`);
  }
  const testcases = xml.match(/<testcase\b/g)?.length ?? 0;
  if (testcases !== hostNames.length) fail(`${testcases} <testcase> elements, expected ${n}`);
  const bad = xml.match(/<(failure|error|skipped)\b/g);
  if (bad) fail(`${bad.length} <failure>/<error>/<skipped> elements`);
  const named = new Set([...xml.matchAll(/<testsuite\b[^>]*\bname="([^"]*)"/g)].map((m) => m[1]));
  const missing = hostNames.filter((h) => !named.has(`${suite} @ ${h}`));
  if (missing.length > 0) fail(`no <testsuite name="${suite} @ HOST"> for ${missing.slice(0, 5).join(', ')}`);
  return `${n} <testcase> elements, one per host in \`<testsuite name="${suite} @ HOST">\`, none failed, errored or skipped`;
}

function mapKeys<K extends string, V>(keys: Record<K, unknown>, value: (key: K) => V): Record<K, V> {
  return Object.fromEntries((Object.keys(keys) as K[]).map((k) => [k, value(k)])) as Record<K, V>;
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0] ?? 0, median: median(sorted), max: sorted.at(-1) ?? 0 };
}

/** The median (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return 0;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
