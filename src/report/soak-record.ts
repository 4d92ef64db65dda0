// A soak rebuilt from its journal (soak.jsonl) and its iterations' run records: the combined JUnit, the counts, the lines a user reads.

import { join } from 'node:path';
import {
  HARNESS_ERROR_TYPES,
  type IterationEndEvent,
  type IterationStartEvent,
  type JournalEvent,
  type RunRecord,
  type SoakEndEvent,
  type SoakEvent,
  type SoakHostDownEvent,
  type SoakStartEvent,
} from '../model/index.js';
import { readEventLines, readJournal } from './journal.js';
import { renderJunitDocument, type JunitRunPart } from './junit.js';
import { buildRunRecord } from './run-record.js';
import { formatCounts, formatDuration, type OutcomeCounts } from './terminal-text.js';

/** The soak journal's file name inside the soak's folder, and the folder its iterations' run folders go in. */
export const SOAK_JOURNAL = 'soak.jsonl';
export const ITERATIONS_DIR = 'iterations';

const SOAK_EVENT_TYPES: Record<SoakEvent['type'], true> = {
  'soak-start': true,
  'soak-resume': true,
  'iteration-start': true,
  'iteration-end': true,
  'host-down': true,
  'host-back': true,
  'soak-end': true,
};

/** Reads `<dir>/soak.jsonl` (USAGE error naming the problem when it is not a soak's journal). */
export async function readSoakJournal(dir: string): Promise<{ events: SoakEvent[]; warnings: string[] }> {
  return readEventLines<SoakEvent>(join(dir, SOAK_JOURNAL), new Set(Object.keys(SOAK_EVENT_TYPES)), 'soak-start', `${SOAK_JOURNAL} (is this a soak's folder, reports/<soak-id>?)`);
}

/** One iteration: its start, its end once it has one. */
export interface SoakIteration {
  start: IterationStartEvent;
  end: IterationEndEvent | null;
}

/** What a soak's journal says so far. */
export interface SoakState {
  start: SoakStartEvent;
  iterations: SoakIteration[];
  /** Hosts down now, by name: the event that marked each down. */
  down: Map<string, SoakHostDownEvent>;
  end: SoakEndEvent | null;
  /** The latest runner process that worked on the soak (the first, or the last to resume it). */
  process: SoakStartEvent['process'];
}

/** Folds the soak's events into its state; the first event is the soak-start (readSoakJournal checks it). */
export function buildSoakState(events: readonly SoakEvent[]): SoakState {
  const start = events[0] as SoakStartEvent;
  const iterations = new Map<number, SoakIteration>();
  const down = new Map<string, SoakHostDownEvent>();
  let end: SoakEndEvent | null = null;
  let process = start.process;
  for (const event of events) {
    switch (event.type) {
      case 'soak-resume':
        process = event.process;
        end = null;
        break;
      case 'iteration-start':
        iterations.set(event.iteration, { start: event, end: null });
        break;
      case 'iteration-end': {
        const iteration = iterations.get(event.iteration);
        if (iteration) iteration.end = event;
        break;
      }
      case 'host-down':
        down.set(event.host, event);
        break;
      case 'host-back':
        down.delete(event.host);
        break;
      case 'soak-end':
        end = event;
        break;
      default:
        break;
    }
  }
  return { start, iterations: [...iterations.values()].sort((a, b) => a.start.iteration - b.start.iteration), down, end, process };
}

/**
 * Whether a test's error is the runner's own stop (killed, or a signal) cut short: reported as it happened
 * (INTERRUPTED), but no evidence against the host, so it does not fail a soak that was resumed.
 */
function isRunnerDeath(iteration: SoakIteration, outcome: string, errorType: string | undefined): boolean {
  const stopped = iteration.end?.killed === true || iteration.end?.interrupted !== undefined;
  return stopped && outcome === 'error' && errorType === HARNESS_ERROR_TYPES.INTERRUPTED;
}

export interface SoakTotals extends OutcomeCounts {
  iterations: number;
  /** Iterations cut short by a killed runner. */
  killed: number;
  /** Iterations stopped by a signal (SIGINT, SIGTERM). */
  stopped: number;
  /** Crashes, by `CLASS: title` of the fatal kernel event that decided each test's outcome, with how often each was seen. */
  fatal: Map<string, number>;
  /** Tests cut short by the runner being killed or stopped (reported INTERRUPTED, not counted against the hosts). */
  runnerDeaths: number;
}

/** Counts over every iteration that has a run record. */
export function totalSoak(state: SoakState, records: ReadonlyMap<string, RunRecord>): SoakTotals {
  const totals: SoakTotals = { iterations: 0, killed: 0, stopped: 0, passed: 0, failed: 0, errors: 0, skipped: 0, flaky: 0, fatal: new Map(), runnerDeaths: 0 };
  for (const iteration of state.iterations) {
    const record = records.get(iteration.start.runId);
    if (!record) continue;
    totals.iterations += 1;
    if (iteration.end?.killed) totals.killed += 1;
    else if (iteration.end?.interrupted) totals.stopped += 1;
    for (const suite of record.suites) {
      for (const test of suite.tests) {
        if (isRunnerDeath(iteration, test.outcome, test.errorType)) totals.runnerDeaths += 1;
        else if (test.outcome === 'passed') totals.passed += 1;
        else if (test.outcome === 'failed') totals.failed += 1;
        else if (test.outcome === 'error') totals.errors += 1;
        else totals.skipped += 1;
        if (test.outcome === 'passed' && test.flaky) totals.flaky += 1;
        // One crash per test: the event that decided its outcome (a post-mortem PANIC over the lost connection before it).
        const fatal = (test.kernelEvents ?? []).filter((event) => event.fatal);
        const decisive = fatal.find((event) => event.class === test.errorType) ?? fatal[0];
        if (decisive) {
          const key = `${decisive.class}: ${decisive.title}`;
          totals.fatal.set(key, (totals.fatal.get(key) ?? 0) + 1);
        }
      }
    }
  }
  return totals;
}

/**
 * The exit code a soak earns: 130 / 143 when a signal stopped it, else 1 when any test failed or errored (tests cut
 * short by the soak's own runner being killed excepted) or a host was down at the end, else 0.
 */
export function exitCodeOfSoak(state: SoakState, totals: SoakTotals, signal: NodeJS.Signals | null): number {
  if (signal !== null) return signal === 'SIGINT' ? 130 : 143;
  return totals.failed > 0 || totals.errors > 0 || state.down.size > 0 ? 1 : 0;
}

/**
 * The soak as one JUnit document: every iteration's testsuites once, in iteration order, named
 * `SUITE @ HOST #N` and carrying `gauntlet.soak` and `gauntlet.iteration` besides their run's own properties.
 */
export function renderSoakJunit(state: SoakState, records: ReadonlyMap<string, RunRecord>): string {
  const parts: JunitRunPart[] = [];
  for (const iteration of state.iterations) {
    const record = records.get(iteration.start.runId);
    if (!record) continue;
    const n = String(iteration.start.iteration);
    parts.push({ record, nameSuffix: ` #${n}`, properties: [['gauntlet.soak', state.start.soakId], ['gauntlet.iteration', n]] });
  }
  return renderJunitDocument(`gauntlet soak ${state.start.soakId}`, parts);
}

/**
 * The progress line printed every few minutes:
 * `soak 20261122-…: 1h 05m of 8h 00m · iteration 14 running (13 done) · down: db2 · 1234 passed · 2 failed · … · 0 fatal kernel events`.
 */
export function formatSoakProgress(state: SoakState, totals: SoakTotals, now: Date, running: number | null): string {
  const startedAt = Date.parse(state.start.ts);
  const elapsed = formatDuration(now.getTime() - startedAt);
  const parts = [`soak ${state.start.soakId}: ${elapsed} of ${formatDuration(state.start.durationMs)}`];
  parts.push(running === null ? `${totals.iterations} iterations done` : `iteration ${running} running (${totals.iterations} done)`);
  if (state.down.size > 0) parts.push(`down: ${[...state.down.keys()].join(', ')}`);
  parts.push(formatCounts(totals));
  const fatal = [...totals.fatal.values()].reduce((sum, count) => sum + count, 0);
  parts.push(`${fatal} fatal kernel ${fatal === 1 ? 'event' : 'events'}`);
  return parts.join(' · ');
}

/** The lines printed when a soak ends: the verdict, each fatal signature, the hosts left out, the killed iterations. */
export function formatSoakSummary(state: SoakState, totals: SoakTotals): string[] {
  const lines = [
    `soak ${state.start.soakId}: ${totals.iterations} ${totals.iterations === 1 ? 'iteration' : 'iterations'} · ${formatCounts(totals)}`,
  ];
  for (const [signature, count] of [...totals.fatal].sort((a, b) => b[1] - a[1])) lines.push(`  fatal ×${count}: ${signature}`);
  for (const [host, event] of state.down) lines.push(`  host ${host} down at the end: ${event.reason}`);
  const interrupted = totals.runnerDeaths > 0 ? ` (${totals.runnerDeaths} ${totals.runnerDeaths === 1 ? 'test' : 'tests'} INTERRUPTED, not counted against the hosts)` : '';
  if (totals.killed > 0) {
    lines.push(`  ${totals.killed} ${totals.killed === 1 ? 'iteration was' : 'iterations were'} cut short by a killed runner and resumed${interrupted}`);
  }
  if (totals.stopped > 0) {
    lines.push(`  ${totals.stopped} ${totals.stopped === 1 ? 'iteration was' : 'iterations were'} stopped by a signal${totals.killed > 0 ? '' : interrupted}`);
  }
  return lines;
}

export interface SoakReport {
  state: SoakState;
  records: Map<string, RunRecord>;
  /** Each iteration's journal events, by run id (what its page is drawn from). */
  journals: Map<string, JournalEvent[]>;
  totals: SoakTotals;
  warnings: string[];
}

/**
 * Reads a soak's folder back: its journal and every iteration's run journal (an iteration whose run folder never got
 * a journal holds nothing). What `gauntlet report` rebuilds a soak's JUnit from, also after its runner was killed.
 */
export async function readSoakReport(dir: string): Promise<SoakReport> {
  const { events, warnings } = await readSoakJournal(dir);
  const state = buildSoakState(events);
  const records = new Map<string, RunRecord>();
  const journals = new Map<string, JournalEvent[]>();
  for (const iteration of state.iterations) {
    const journal = join(dir, ITERATIONS_DIR, iteration.start.runId, 'journal.jsonl');
    let read;
    try {
      read = await readJournal(journal);
    } catch (err) {
      if ((err as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') continue;
      throw err;
    }
    warnings.push(...read.warnings);
    records.set(iteration.start.runId, buildRunRecord(read.events));
    journals.set(iteration.start.runId, read.events);
  }
  return { state, records, journals, totals: totalSoak(state, records), warnings };
}
