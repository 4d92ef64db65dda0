// The run journal: one JSON event per line, appended synchronously as events happen, and read back tolerantly.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GauntletError, type JournalEvent } from '../model/index.js';

/**
 * Every event type a journal may hold; a line of another type (from a newer gauntlet) is skipped with a warning.
 * Written as a record over the union so that a new event type cannot be added to the model without being listed.
 */
const EVENT_TYPE_RECORD: Record<JournalEvent['type'], true> = {
  'run-start': true,
  'host-facts': true,
  'host-unreachable': true,
  'suite-plan': true,
  'suite-start': true,
  'test-start': true,
  'test-end': true,
  metric: true,
  'suite-end': true,
  'host-end': true,
  'kernel-event': true,
  'host-liveness': true,
  'run-end': true,
};
const EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys(EVENT_TYPE_RECORD));

/**
 * Appends events to `journal.jsonl`. Each `append` is one synchronous write of one whole line, so an event is in
 * the kernel's hands before `append` returns: a SIGKILL right after loses nothing already appended (it cannot
 * survive a crash of the runner's own machine; that would need an fsync per line).
 */
export class JournalWriter<E extends { type: string; ts: string } = JournalEvent> {
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Opens `path` for appending, creating its folder and the file as needed. */
  static open<E extends { type: string; ts: string } = JournalEvent>(path: string): JournalWriter<E> {
    mkdirSync(dirname(path), { recursive: true });
    return new JournalWriter<E>(path, openSync(path, 'a'));
  }

  append(event: E): void {
    if (this.fd === null) throw new Error(`journal ${this.path} is closed`);
    // JSON.stringify escapes every newline inside strings, so one event is always exactly one line.
    const line = Buffer.from(`${JSON.stringify(event)}\n`, 'utf8');
    let written = 0;
    while (written < line.length) written += writeSync(this.fd, line, written, line.length - written);
  }

  /** Closes the file; closing twice is harmless. */
  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }
}

export interface JournalContents {
  events: JournalEvent[];
  /** Lines that were tolerated and left out, one sentence each, naming `file:line`. */
  warnings: string[];
}

/**
 * Reads a journal. A bad last line is what a runner killed mid-write leaves behind, so it is left out with a
 * warning; a bad line anywhere else means the file is not what gauntlet wrote, and is a USAGE error naming
 * `file:line`. The first event must be `run-start`.
 */
export async function readJournal(path: string): Promise<JournalContents> {
  const { events, warnings } = await readEventLines<JournalEvent>(path, EVENT_TYPES, 'run-start', 'journal.jsonl (is this a gauntlet run directory?)');
  return { events, warnings };
}

/**
 * Reads a file of one JSON event per line, tolerating what a killed writer leaves (a truncated last line) and events
 * of types a newer gauntlet writes (left out with a warning). `first` is the type the file must start with; `missing`
 * completes the message for a folder without the file: `<folder>: no <missing>`.
 */
export async function readEventLines<E extends { type: string; ts: string }>(
  path: string,
  types: ReadonlySet<string>,
  first: E['type'],
  missing: string,
): Promise<{ events: E[]; warnings: string[] }> {
  const text = await readJournalText(path, missing);
  const lines = text.split('\n');
  // A file that ends with a newline splits into a last empty string, which is no line at all.
  if (lines.at(-1) === '') lines.pop();
  const events: E[] = [];
  const warnings: string[] = [];
  lines.forEach((line, index) => {
    const where = `${path}:${index + 1}`;
    if (line.trim() === '') {
      warnings.push(`${where}: skipped an empty line`);
      return;
    }
    const parsed = parseEventLine(line);
    if (typeof parsed === 'string') {
      if (index === lines.length - 1) {
        warnings.push(`${where}: ignored a truncated last line (the runner was probably stopped while writing it)`);
        return;
      }
      throw new GauntletError('USAGE', `${where}: not a journal event: ${parsed}`);
    }
    if (!types.has(parsed.type)) {
      warnings.push(`${where}: skipped an event of unknown type "${parsed.type}" (written by a newer gauntlet?)`);
      return;
    }
    events.push(parsed as E);
  });
  const head = events[0];
  if (!head) throw new GauntletError('USAGE', `${path}: the journal holds no events (expected a ${first} first)`);
  if (head.type !== first) throw new GauntletError('USAGE', `${path}: the first event is "${head.type}", expected "${first}"`);
  return { events, warnings };
}

async function readJournalText(path: string, missing: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new GauntletError('USAGE', `${dirname(path)}: no ${missing}`, { cause: err });
    }
    throw new GauntletError('USAGE', `${path}: cannot read the journal: ${(err as Error).message}`, { cause: err });
  }
}

/** Parses one line into an object with a string `type` and `ts`, or returns why it is not one. */
function parseEventLine(line: string): { type: string; ts: string } | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return (err as Error).message;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected a JSON object';
  const { type, ts } = value as Record<string, unknown>;
  if (typeof type !== 'string') return 'no "type"';
  if (typeof ts !== 'string') return 'no "ts"';
  return value as { type: string; ts: string };
}
