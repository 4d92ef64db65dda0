// Messages between the runner and a host's worker thread: events up, command calls up, results and losses down.

import type { MessagePort } from 'node:worker_threads';
import type { CommandResult, KernelEventRecord, RunOptions, WorkerEvent } from '../model/index.js';

/** The command options a worker may send (callbacks cannot cross threads; output streams back as `output`). */
export type CallRunOptions = Omit<RunOptions, 'onStdout' | 'onStderr'>;

export type WorkerMessage =
  | { kind: 'event'; event: WorkerEvent }
  | { kind: 'run'; id: number; command: string; options: CallRunOptions }
  | { kind: 'upload'; id: number; source: string | Uint8Array; remotePath: string }
  | { kind: 'docker-open'; id: number; port: MessagePort }
  | { kind: 'done' };

export interface SerializedError {
  code: string;
  message: string;
  /** Partial output of a command whose channel was lost. */
  result?: CommandResult;
}

export type RunnerMessage =
  | { kind: 'result'; id: number; ok: true; value: unknown }
  | { kind: 'result'; id: number; ok: false; error: SerializedError }
  /** The host's connection died; every later call fails with this. */
  | { kind: 'lost'; error: SerializedError }
  /** A kernel event seen on the host (for `host.events()`). */
  | { kind: 'kernel-event'; event: KernelEventRecord }
  /** Finish the test now running, then run no more: the rest are skipped with this reason (a soak's deadline). */
  | { kind: 'drain'; reason: string };

export function serializeError(err: unknown): SerializedError {
  if (err && typeof err === 'object') {
    const { code, message, result } = err as { code?: unknown; message?: unknown; result?: CommandResult };
    return {
      code: typeof code === 'string' ? code : 'HARNESS_ERROR',
      message: typeof message === 'string' ? message : String(err),
      ...(result ? { result } : {}),
    };
  }
  return { code: 'HARNESS_ERROR', message: String(err) };
}

export interface WorkerResume {
  /** Suites whose plan was already announced. */
  planned: string[];
  /** Tests already judged (or blamed for the crash), as `testKey(suite, title)`. */
  finished: string[];
}

/** One test's key across workers (this module is shared by the runner and its workers). */
export function testKey(suite: string, title: string): string {
  return JSON.stringify([suite, title]);
}
