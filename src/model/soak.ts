// A soak as recorded: the soak journal's events (soak.jsonl), one line each, next to its iterations' run folders.

import type { RunSummary, SuiteRef, TestRef } from './run.js';

/** What a soak needs to go on after its runner was killed: everything `gauntlet soak` was told, resolved. */
export interface SoakSettings {
  /** The inventory file, as given (resolved against the folder the soak was started in). */
  inventoryFile: string;
  limit: string | null;
  suites: SuiteRef[];
  params: Record<string, unknown>;
  retries: number;
  bail: boolean;
  timeoutMs: number | null;
  suiteTimeoutMs: number | null;
  workers: number;
  watch: boolean;
  continueAfterCrash: boolean;
  recoverTimeoutMs: number;
  acceptNewHostKeys: boolean;
  /** How often a progress summary is printed. */
  progressMs: number;
}

interface SoakEventBase {
  /** ISO 8601 time the event happened. */
  ts: string;
}

/** The runner process that works on the soak, so a second one can tell a live soak from a killed one. */
export interface SoakProcess {
  pid: number;
  hostname: string;
}

export interface SoakStartEvent extends SoakEventBase {
  type: 'soak-start';
  soakId: string;
  gauntletVersion: string;
  argv: string[];
  /** When the last iteration may start at the latest; the soak ends there. */
  deadline: string;
  durationMs: number;
  settings: SoakSettings;
  /** sha256 of the inventory file when the soak started. */
  inventoryDigest: string;
  process: SoakProcess;
}

/** A runner took over a soak whose runner was killed (`gauntlet soak --resume`). */
export interface SoakResumeEvent extends SoakEventBase {
  type: 'soak-resume';
  argv: string[];
  process: SoakProcess;
}

/** Journaled before the iteration's run starts, with the run id its folder will have. */
export interface IterationStartEvent extends SoakEventBase {
  type: 'iteration-start';
  iteration: number;
  runId: string;
  seed: number;
  hosts: string[];
}

export interface IterationEndEvent extends SoakEventBase {
  type: 'iteration-end';
  iteration: number;
  runId: string;
  exitCode: number;
  summary: RunSummary;
  /**
   * The soak's runner was killed during the iteration; a resumed soak closed it with what its journal held
   * (tests it finished keep their outcome; the one it was running is INTERRUPTED; the rest were never run).
   */
  killed?: boolean;
  /** A signal stopped the iteration (`SIGINT`, `SIGTERM`): its unfinished tests are INTERRUPTED. */
  interrupted?: string;
  /** The iteration's run never started (the runner was killed before its journal was written): it holds nothing. */
  empty?: boolean;
}

/** A host stopped answering and stays out of the next iterations until it answers again. */
export interface SoakHostDownEvent extends SoakEventBase {
  type: 'host-down';
  host: string;
  iteration: number;
  reason: string;
  /**
   * Set when the host was lost during the iteration (not unreachable from its start): where to look once it is back,
   * so that what its kernel left (pstore, kdump, the crashed boot's journal) still reaches the lost test.
   */
  lost?: {
    runId: string;
    /** The test that was running when the host was lost, or null. */
    test: TestRef | null;
    /** The boot that crashed. */
    bootId?: string;
    /** Post-mortem files older than this (the iteration's start) belong to earlier crashes. */
    since: string;
  };
}

/** A host that was down answers again and takes part from the next iteration on. */
export interface SoakHostBackEvent extends SoakEventBase {
  type: 'host-back';
  host: string;
  iteration: number;
  /** What the kernel left behind and the lost test now carries (`CLASS: title`), when the host was lost. */
  postMortem?: string[];
}

export interface SoakEndEvent extends SoakEventBase {
  type: 'soak-end';
  exitCode: number;
  /** Why it ended: the deadline passed, no host was left, or a signal stopped it. */
  reason: 'deadline' | 'no-hosts' | 'interrupted';
  /** `SIGINT` / `SIGTERM` when the soak was stopped. */
  interrupted?: string;
}

export type SoakEvent = SoakStartEvent | SoakResumeEvent | IterationStartEvent | IterationEndEvent | SoakHostDownEvent | SoakHostBackEvent | SoakEndEvent;
