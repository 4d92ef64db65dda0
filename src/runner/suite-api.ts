// The suite API (`gauntlet/suite`): what a suite sees of the host under test, the run's params and seed.
//
// Inside a suite these are also globals, like mocha's own `describe` and `it`: `host`, `params`, `seed`,
// `runId` and `meta`. Typed suites import them from here instead:
//
//   import { host, params, meta } from 'gauntlet/suite';
//   meta({ requires: { engine: 'docker' }, timeoutMs: 60_000 });
//   describe('engine', () => { it('answers', async () => { await host.checkOutput('docker info'); }); });

import type Docker from 'dockerode';
import type { CommandResult, Facts, SuiteMeta } from '../model/index.js';

export type { CommandResult, Facts, SuiteMeta, SuiteRequirements } from '../model/index.js';
export * from './kit/index.js';

export interface HostRunOptions {
  /** Milliseconds; defaults to the test's own timeout. */
  timeout?: number;
  env?: Record<string, string>;
  stdin?: string | Buffer;
}

/** The result of `host.run`: never rejected for a non-zero exit. */
export type HostRunResult = Pick<CommandResult, 'stdout' | 'stderr' | 'exitCode' | 'signal' | 'durationMs' | 'timedOut'>;

/** A kernel event gauntlet saw on the host while the run went on (its kernel log, console, or a post-mortem). */
export interface HostKernelEvent {
  /** Fault class: `OOM`, `WARNING`, `HUNG_TASK`, `PANIC`, … */
  class: string;
  /** Normalised title, e.g. `OOM kill in memory cgroup`. */
  title: string;
  /** A fatal event also makes the test it happened in an error of its class. */
  fatal: boolean;
  source: 'kmsg' | 'console' | 'post-mortem' | 'heartbeat';
  via: string;
  detectedAt: Date;
  excerpt: string;
  /** The test it was attributed to (`suite > test title`), or null. */
  test: string | null;
}

/** Which kernel events `host.events()` and `host.waitForEvent()` return. */
export interface HostEventFilter {
  class?: string | string[];
  fatal?: boolean;
  /** Seen at or after this time. */
  since?: Date;
  /** Part of the title, or a pattern it matches. */
  title?: string | RegExp;
}

/** The handle to the host under test. */
export interface Host {
  /** Inventory name. */
  readonly name: string;
  /** `ssh://user@addr:port` or `local://NAME`. */
  readonly id: string;
  /** The stack facts gathered before the suite ran; null when the host could not be reached. */
  readonly facts: Facts | null;
  /** The host's inventory variables (after inheritance). */
  readonly vars: Record<string, unknown>;
  /** Runs a shell command; resolves on any exit status, rejects only when the command could not run. */
  run(command: string, options?: HostRunOptions): Promise<HostRunResult>;
  /** Runs a command and rejects unless its exit code is one of `codes` (default `[0]`). */
  runExpect(command: string, codes?: number[], options?: HostRunOptions): Promise<HostRunResult>;
  /** Runs a command that must exit 0 and resolves to its standard output. */
  checkOutput(command: string, options?: HostRunOptions): Promise<string>;
  /** Copies a local file, or a buffer, to a path on the host. */
  upload(source: string | Buffer, remotePath: string): Promise<void>;
  /** A dockerode client bound to this host's engine, over the host's own connection. */
  readonly docker: Docker;
  /** Adds a line to the current test's output. */
  log(message: string): void;
  /** Records a measurement; it lands in the JUnit properties as `gauntlet.metric.NAME`. */
  metric(name: string, value: number, unit?: string): void;
  /** Kernel events seen on this host so far in the run (non-fatal ones included), oldest first. */
  events(filter?: HostEventFilter): HostKernelEvent[];
  /** Resolves with the first kernel event matching `filter`, waiting for it up to `timeoutMs` (default: the test's timeout). */
  waitForEvent(filter: HostEventFilter, timeoutMs?: number): Promise<HostKernelEvent>;
}

/** What the worker provides before any suite file is loaded. */
export interface SuiteContext {
  host: Host;
  params: Record<string, unknown>;
  seed: number;
  runId: string;
  meta: (declared: SuiteMeta) => void;
}

/** The host under test. */
export let host: Host;
/** `--param key=value` values (JSON when they parse as JSON). */
export let params: Record<string, unknown>;
/** The run's seed (`--seed`, else random); the same seed gives the same sequence of operations. */
export let seed: number;
/** The run's id (`20261122-103000-ab12`): suites mark what they create with it (`ownerOf(runId, suite)`). */
export let runId: string;
/** Declares the suite's metadata; call it at the top of the file. */
export let meta: (declared: SuiteMeta) => void;

/** Installs the context a worker built, as this module's exports and as globals. Not for suites. */
export function installSuiteContext(context: SuiteContext): void {
  ({ host, params, seed, runId, meta } = context);
  Object.assign(globalThis, { host, params, seed, runId, meta });
}
