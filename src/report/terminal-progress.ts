// What the terminal reporter knows about each host while a run goes on, folded from the journal's events as they arrive.

import { HARNESS_ERROR_TYPES, type HostCause, type JournalEvent, type OutcomeKind, type RunStartEvent } from '../model/index.js';
import type { OutcomeCounts } from './terminal-text.js';

/**
 * Where a host is, as far as the journal tells. `connecting` covers everything before the host's facts arrive
 * (waiting for a slot, connecting, gathering facts): the journal has no event between those steps.
 * `ready` means facts are in and no suite has started yet. The last four are final.
 */
export type HostPhase = 'connecting' | 'ready' | 'running' | 'done' | 'unreachable' | 'lost' | 'stopped' | 'aborted';

/** Phases after which nothing more happens on the host. */
export const FINAL_PHASES: ReadonlySet<HostPhase> = new Set<HostPhase>(['done', 'unreachable', 'lost', 'stopped', 'aborted']);

export interface RunningTest {
  suite: string;
  title: string;
  attempt: number;
  /** When the reporter heard of the start, on its own clock, so elapsed time never mixes two clocks. */
  startedAtMs: number;
}

export interface HostProgress {
  name: string;
  id: string;
  /** Position in the run's host list (inventory order), for a stable display order. */
  order: number;
  phase: HostPhase;
  stackKey: string | null;
  /** Why the host could not be reached. */
  unreachable: string | null;
  /** Why the host's work ended early. */
  cause: HostCause | null;
  /** Suite plans received, whatever they said. */
  plans: number;
  /** Tests the host's plans will run, by test key; skipped suites and suites that failed to load are not in it. */
  planned: Set<string>;
  /** The latest outcome of each test, by test key: a retry replaces the earlier attempt, so counts are final ones. */
  outcomes: Map<string, { outcome: OutcomeKind; flaky: boolean }>;
  /** The suite that started last and has not ended. */
  suite: string | null;
  /** The test that started last and has not ended. */
  test: RunningTest | null;
}

/** The key of one test on one host. A suite-level entry (load failure) uses an empty title. */
function makeTestKey(suite: string, title: string): string {
  return `${suite}\u0000${title}`;
}

/** The final phase a host-end with a cause puts a host in. */
export function choosePhaseForCause(cause: HostCause): HostPhase {
  if (cause.type === HARNESS_ERROR_TYPES.HOST_UNREACHABLE) return 'unreachable';
  if (cause.type === HARNESS_ERROR_TYPES.LOST_CONNECTION) return 'lost';
  if (cause.type === HARNESS_ERROR_TYPES.INTERRUPTED) return 'stopped';
  return 'aborted';
}

/** Every host's progress, built from run-start and then each event in turn. */
export class RunProgress {
  start: RunStartEvent | null = null;
  /** Host name → progress, in the run's host order. */
  readonly hosts = new Map<string, HostProgress>();
  /** When the run began, on the reporter's clock. */
  startedAtMs = 0;

  /** Takes the run's identity and creates one row per selected host, in inventory order. */
  startRun(start: RunStartEvent, nowMs: number): void {
    this.start = start;
    this.startedAtMs = nowMs;
    for (const host of start.hosts) this.findHost(host.name, host.id);
  }

  /** The host's progress, created on first sight (a host missing from run-start still gets a row). */
  findHost(name: string, id?: string): HostProgress {
    let host = this.hosts.get(name);
    if (host === undefined) {
      host = {
        name,
        id: id ?? '',
        order: this.hosts.size,
        phase: 'connecting',
        stackKey: null,
        unreachable: null,
        cause: null,
        plans: 0,
        planned: new Set(),
        outcomes: new Map(),
        suite: null,
        test: null,
      };
      this.hosts.set(name, host);
    } else if (id !== undefined && id !== '') {
      host.id = id;
    }
    return host;
  }

  /** Folds one event in; returns the host it concerns, or null for run-level events. */
  applyEvent(event: JournalEvent, nowMs: number): HostProgress | null {
    switch (event.type) {
      case 'run-start':
        this.startRun(event, nowMs);
        return null;
      case 'run-end':
        // An interrupted run journals no host-end for the hosts it stopped.
        if (event.interrupted !== undefined) {
          for (const host of this.hosts.values()) {
            if (FINAL_PHASES.has(host.phase)) continue;
            host.phase = 'stopped';
            host.cause = { type: HARNESS_ERROR_TYPES.INTERRUPTED, message: `interrupted by ${event.interrupted}` };
            host.suite = null;
            host.test = null;
          }
        }
        return null;
      case 'host-facts': {
        const host = this.findHost(event.host, event.id);
        host.stackKey = event.stackKey;
        if (host.phase === 'connecting') host.phase = 'ready';
        return host;
      }
      case 'host-unreachable': {
        const host = this.findHost(event.host, event.id);
        host.unreachable = event.error;
        host.phase = 'unreachable';
        return host;
      }
      case 'suite-plan': {
        const host = this.findHost(event.host);
        host.plans += 1;
        if (event.loadError !== undefined) {
          host.outcomes.set(makeTestKey(event.suite, ''), { outcome: 'error', flaky: false });
        } else if (event.skipped !== undefined) {
          for (const title of event.tests) host.outcomes.set(makeTestKey(event.suite, title), { outcome: 'skipped', flaky: false });
        } else {
          for (const title of event.tests) host.planned.add(makeTestKey(event.suite, title));
        }
        return host;
      }
      case 'suite-start': {
        const host = this.findHost(event.host);
        host.suite = event.suite;
        if (!FINAL_PHASES.has(host.phase)) host.phase = 'running';
        return host;
      }
      case 'test-start': {
        const host = this.findHost(event.host);
        host.suite = event.suite;
        host.test = { suite: event.suite, title: event.title, attempt: event.attempt, startedAtMs: nowMs };
        if (!FINAL_PHASES.has(host.phase)) host.phase = 'running';
        return host;
      }
      case 'test-end': {
        const host = this.findHost(event.host);
        host.outcomes.set(makeTestKey(event.suite, event.title), { outcome: event.outcome, flaky: event.flaky });
        if (host.test?.suite === event.suite && host.test.title === event.title) host.test = null;
        return host;
      }
      case 'metric':
        return this.findHost(event.host);
      case 'suite-end': {
        const host = this.findHost(event.host);
        if (host.suite === event.suite) host.suite = null;
        if (host.test?.suite === event.suite) host.test = null;
        return host;
      }
      case 'kernel-event':
      case 'host-liveness':
        return this.findHost(event.host);
      case 'host-end': {
        const host = this.findHost(event.host);
        host.suite = null;
        host.test = null;
        if (event.error !== undefined) {
          host.cause = event.error;
          host.phase = host.phase === 'unreachable' ? 'unreachable' : choosePhaseForCause(event.error);
          if (host.phase === 'unreachable' && host.unreachable === null) host.unreachable = event.error.message;
        } else if (host.phase !== 'unreachable') {
          host.phase = 'done';
        }
        return host;
      }
    }
  }

  /**
   * The host's outcome totals so far. Once a host is finished, its planned tests without an outcome are errors, as
   * the run record counts them (unreachable, lost, interrupted), so the live totals end equal to the summary's.
   */
  countOutcomes(host: HostProgress): OutcomeCounts {
    const counts: OutcomeCounts = { passed: 0, failed: 0, errors: 0, skipped: 0, flaky: 0 };
    if (FINAL_PHASES.has(host.phase)) for (const key of host.planned) if (!host.outcomes.has(key)) counts.errors += 1;
    for (const { outcome, flaky } of host.outcomes.values()) {
      if (outcome === 'passed') counts.passed += 1;
      else if (outcome === 'failed') counts.failed += 1;
      else if (outcome === 'error') counts.errors += 1;
      else counts.skipped += 1;
      if (flaky) counts.flaky += 1;
    }
    return counts;
  }

  /** The whole run's outcome totals so far. */
  countRunOutcomes(): OutcomeCounts {
    const total: OutcomeCounts = { passed: 0, failed: 0, errors: 0, skipped: 0, flaky: 0 };
    for (const host of this.hosts.values()) {
      const counts = this.countOutcomes(host);
      total.passed += counts.passed;
      total.failed += counts.failed;
      total.errors += counts.errors;
      total.skipped += counts.skipped;
      total.flaky += counts.flaky;
    }
    return total;
  }

  /**
   * Planned tests that have no outcome. For an unreachable host that is every planned test, even if the runner
   * also journals each of them as an error: none of them ran.
   */
  countUnfinished(host: HostProgress): number {
    if (host.phase === 'unreachable') return host.planned.size;
    let unfinished = 0;
    for (const key of host.planned) if (!host.outcomes.has(key)) unfinished += 1;
    return unfinished;
  }
}
