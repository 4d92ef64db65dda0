// Collects a command's output streams up to a byte limit and assembles the CommandResult.

import type { CommandResult } from '../model/index.js';

export const DEFAULT_MAX_BUFFER = 16 * 1024 * 1024;

/** Keeps the first `limit` bytes of a stream and forwards every chunk to an optional listener. */
export class OutputCollector {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  truncated = false;

  constructor(
    private readonly limit: number,
    private readonly listener?: (chunk: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.listener) {
      // A throwing listener must not break the command's bookkeeping.
      try {
        this.listener(chunk);
      } catch {
        /* listener errors are the caller's to report */
      }
    }
    const room = this.limit - this.kept;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (piece.length < chunk.length) this.truncated = true;
    this.chunks.push(Buffer.from(piece));
    this.kept += piece.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export function buildResult(fields: {
  command: string;
  stdout: OutputCollector;
  stderr: OutputCollector;
  exitCode: number | null;
  signal: string | null;
  startedAt: number;
  timedOut: boolean;
}): CommandResult {
  return {
    command: fields.command,
    stdout: fields.stdout.text(),
    stderr: fields.stderr.text(),
    exitCode: fields.exitCode,
    signal: fields.signal,
    durationMs: Math.round(performance.now() - fields.startedAt),
    timedOut: fields.timedOut,
    isTerminated: fields.timedOut || fields.signal !== null,
    isTruncated: fields.stdout.truncated || fields.stderr.truncated,
  };
}
