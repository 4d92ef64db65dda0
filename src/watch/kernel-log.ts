// The host's kernel log as a stream on the watch connection: /dev/kmsg, else journalctl, else dmesg, from the current end.

import { StringDecoder } from 'node:string_decoder';
import { isGauntletError, type CommandResult } from '../model/index.js';
import type { Transport } from '../transport/index.js';
import { RestartBudget } from './restart-budget.js';
import type { WatchSink } from './types.js';

/** The ways of reading the kernel log, in the order they are tried. */
export type KernelLogVia = '/dev/kmsg' | 'journalctl' | 'dmesg';

/** Where the reader is in the host's kernel log: the last record delivered (or skipped as old). */
export interface KernelLogPosition {
  /** /dev/kmsg sequence number. */
  seq?: number;
  /** dmesg timestamp in microseconds. */
  tsUs?: number;
}

/** Restarts of a stream that ended while the host answers, within RESTART_WINDOW_MS. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** Output bytes kept in the command's result; everything is streamed, only stderr's start matters for notes. */
const KEPT_BYTES = 8192;

/**
 * The shell script run on the host. It prints `@gauntlet-kmsg-skip REASON` for each way that cannot work, then
 * `@gauntlet-kmsg-via WAY [POSITION]` and becomes the reader; or `@gauntlet-kmsg-none`. It only reads: the host's
 * log is never cleared.
 *
 * - /dev/kmsg: the records already in the buffer are drained without blocking (`dd iflag=nonblock`) to learn the
 *   last sequence number; `cat /dev/kmsg` then starts from the oldest record and the reader drops everything up to
 *   that number. Sequence numbers, unlike timestamps, cannot be confused by a clock.
 * - journalctl: `-n 0 -f` prints only what comes next.
 * - dmesg: `-W` (util-linux 2.36+) prints only new messages; with `-w`, the last timestamp printed by a plain
 *   `dmesg` is the position.
 */
export const KERNEL_LOG_SCRIPT = [
  `skip() { printf '@gauntlet-kmsg-skip %s\\n' "$*"; }`,
  `lastseq() { sed -n 's/^[0-9]*,\\([0-9]*\\),.*/\\1/p' | tail -n 1; }`,
  `if err=$( (exec </dev/kmsg) 2>&1 ); then`,
  `  last=$(dd if=/dev/kmsg iflag=nonblock bs=65536 2>/dev/null | lastseq)`,
  `  if [ -z "$last" ] && command -v timeout >/dev/null 2>&1; then last=$(timeout 1 cat /dev/kmsg 2>/dev/null | lastseq); fi`,
  `  if [ -n "$last" ]; then printf '@gauntlet-kmsg-via /dev/kmsg %s\\n' "$last"; exec cat /dev/kmsg; fi`,
  `  skip "/dev/kmsg: cannot tell where it ends (dd without iflag=nonblock, and no timeout command)"`,
  `else`,
  `  skip "/dev/kmsg: $(printf '%s\\n' "$err" | tail -n 1 | sed 's/^.*: //')"`,
  `fi`,
  `if command -v journalctl >/dev/null 2>&1; then`,
  `  if [ -n "$(journalctl -k -n 1 -q --no-pager 2>/dev/null)" ]; then`,
  `    printf '@gauntlet-kmsg-via journalctl\\n'`,
  `    exec journalctl -k -f -n 0 -q --no-pager -o short-monotonic`,
  `  fi`,
  `  skip "journalctl: no kernel messages readable"`,
  `else`,
  `  skip "journalctl: not installed"`,
  `fi`,
  `if command -v dmesg >/dev/null 2>&1; then`,
  `  if err=$(dmesg 2>&1 >/dev/null); then`,
  `    if dmesg --help 2>&1 | grep -q -e --follow-new; then printf '@gauntlet-kmsg-via dmesg new\\n'; exec dmesg -W; fi`,
  `    last=$(dmesg 2>/dev/null | sed -n 's/^\\[ *\\([0-9]*\\.[0-9]*\\)\\].*/\\1/p' | tail -n 1)`,
  `    printf '@gauntlet-kmsg-via dmesg %s\\n' "\${last:-0}"`,
  `    exec dmesg -w`,
  `  fi`,
  `  skip "dmesg: $(printf '%s\\n' "$err" | tail -n 1 | sed 's/^dmesg: //')"`,
  `else`,
  `  skip "dmesg: not installed"`,
  `fi`,
  `printf '@gauntlet-kmsg-none\\n'`,
].join('\n');

/** `[  123.456789] ` as the kernel prints it on the console (`[%5lu.%06lu]`). */
export function formatKernelTime(usec: number): string {
  const seconds = Math.floor(usec / 1_000_000);
  const micros = usec % 1_000_000;
  return `[${String(seconds).padStart(5)}.${String(micros).padStart(6, '0')}] `;
}

/** A /dev/kmsg record: `prio,seq,usec,flags[,more];message` with non-printable bytes escaped as `\xNN`. */
export interface KmsgRecord {
  level: number;
  seq: number;
  usec: number;
  /** Console-style lines, each ending in '\n' (a multi-line message gives one line per line, same timestamp). */
  text: string;
}

/**
 * Parses one line read from /dev/kmsg. Dictionary lines (` SUBSYSTEM=…`, starting with a space) and anything
 * that is not a record give null.
 */
export function parseKmsgRecord(line: string): KmsgRecord | null {
  const match = /^(\d+),(\d+),(\d+),[^;]*;(.*)$/.exec(line);
  if (!match) return null;
  const prefix = formatKernelTime(Number(match[3]));
  const message = unescapeKmsg(match[4]!);
  const text = message
    .split('\n')
    .map((part) => `${prefix}${part}\n`)
    .join('');
  return { level: Number(match[1]) & 7, seq: Number(match[2]), usec: Number(match[3]), text };
}

/** `\x0a` → newline, `\x5c` → backslash; escaped bytes are decoded as UTF-8 together with the rest. */
function unescapeKmsg(text: string): string {
  if (!text.includes('\\x')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && text[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      bytes.push(...Buffer.from(text[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `[ 5996.406576] host kernel: message` (journalctl -o short-monotonic) → `[ 5996.406576] message`. */
export function convertJournalLine(line: string): string | null {
  if (line.startsWith('-- ') || line.trim() === '') return null;
  const match = /^\[\s*(\d+)\.(\d{1,6})\] \S+ kernel: ?(.*)$/.exec(line);
  if (!match) return `${line}\n`;
  return `${formatKernelTime(Number(match[1]) * 1_000_000 + Number(match[2]!.padEnd(6, '0')))}${match[3]}\n`;
}

/** The timestamp of a dmesg line `[  123.456789] …` in microseconds, or undefined for a line without one. */
export function readDmesgTime(line: string): number | undefined {
  const match = /^\[\s*(\d+)\.(\d{1,6})\]/.exec(line);
  return match ? Number(match[1]) * 1_000_000 + Number(match[2]!.padEnd(6, '0')) : undefined;
}

/** Turns the script's output lines into console-style text, dropping what was already in the log. */
export class KernelLogReader {
  via: KernelLogVia | undefined;
  /** The script found no way to read the kernel log. */
  none = false;
  /** Why earlier ways were skipped, in order. */
  readonly skipped: string[] = [];
  /** The last record delivered or dropped as old. */
  readonly position: KernelLogPosition;
  private keepContinuation = false;

  /**
   * @param resumeFrom where a previous reader on the same boot stopped; without it the script's own position (the
   *   current end of the log) is used.
   * @param onGap called when records were overwritten before they could be read.
   */
  constructor(
    private readonly resumeFrom: KernelLogPosition | undefined,
    private readonly onGap: (lost: number, fromSeq: number, toSeq: number) => void = () => undefined,
  ) {
    this.position = { ...resumeFrom };
  }

  get positioned(): boolean {
    return this.via !== undefined || this.none;
  }

  /** One line of output without its newline; returns the text to deliver (possibly empty). */
  push(line: string): string {
    if (!this.positioned) {
      this.readHeader(line);
      return '';
    }
    switch (this.via) {
      case '/dev/kmsg':
        return this.pushKmsg(line);
      case 'journalctl':
        return convertJournalLine(line) ?? '';
      case 'dmesg':
        return this.pushDmesg(line);
      default:
        return '';
    }
  }

  private readHeader(line: string): void {
    if (line.startsWith('@gauntlet-kmsg-skip ')) {
      this.skipped.push(line.slice('@gauntlet-kmsg-skip '.length));
    } else if (line === '@gauntlet-kmsg-none') {
      this.none = true;
    } else if (line.startsWith('@gauntlet-kmsg-via ')) {
      const [via, arg] = line.slice('@gauntlet-kmsg-via '.length).split(' ');
      if (via === '/dev/kmsg') {
        this.via = via;
        if (this.resumeFrom?.seq === undefined) this.position.seq = Number(arg);
      } else if (via === 'journalctl') {
        this.via = via;
      } else if (via === 'dmesg') {
        this.via = via;
        // `new`: dmesg -W prints only what comes next.
        if (arg !== 'new' && this.resumeFrom?.tsUs === undefined) this.position.tsUs = readDmesgTime(`[${arg ?? '0'}]`) ?? 0;
      }
    }
  }

  private pushKmsg(line: string): string {
    const record = parseKmsgRecord(line);
    if (!record) return '';
    const last = this.position.seq;
    if (last !== undefined && record.seq <= last) return '';
    if (last !== undefined && record.seq > last + 1) this.onGap(record.seq - last - 1, last + 1, record.seq - 1);
    this.position.seq = record.seq;
    return record.text;
  }

  private pushDmesg(line: string): string {
    const ts = readDmesgTime(line);
    if (ts === undefined) return this.keepContinuation ? `${line}\n` : '';
    const last = this.position.tsUs;
    this.keepContinuation = last === undefined || ts > last;
    if (!this.keepContinuation) return '';
    this.position.tsUs = ts;
    return `${line}\n`;
  }
}

/**
 * Reads the kernel log over a connection, restarting the reader when it ends while the host still answers (a
 * `cat` that hit the buffer wrapping, a journalctl that was restarted), at most MAX_RESTARTS times a minute.
 */
export class KernelLogStream {
  private stopped = false;
  private position: KernelLogPosition;
  private via: KernelLogVia | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly budget = new RestartBudget(MAX_RESTARTS, RESTART_WINDOW_MS);

  /**
   * @param resumeFrom the position of an earlier stream on the same boot: records after it are delivered, so
   *   what the kernel said while the connection was down is not lost. Without it the stream starts at the end.
   */
  constructor(
    private readonly transport: Transport,
    private readonly sink: WatchSink,
    private readonly resumeFrom?: KernelLogPosition,
  ) {
    this.position = { ...resumeFrom };
  }

  /** Where the stream is: pass it to the next stream on the same boot. */
  get lastPosition(): KernelLogPosition {
    return { ...this.position };
  }

  /** Starts reading; resolves once positioned at the current end, or once it is known that nothing can be read. */
  start(): Promise<void> {
    return this.launch(this.resumeFrom !== undefined);
  }

  /** Stops restarting; the reader on the host ends when its connection is closed. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.restartTimer);
  }

  private launch(resume: boolean): Promise<void> {
    let markPositioned: () => void = () => undefined;
    const positioned = new Promise<void>((resolve) => {
      markPositioned = resolve;
    });
    const reader = new KernelLogReader(resume ? this.position : undefined, (lost, from, to) =>
      this.sink.note('warn', `kernel log: ${lost} message${lost === 1 ? ' was' : 's were'} overwritten before they could be read (seq ${from}-${to})`),
    );
    const decoder = new StringDecoder('utf8');
    let partial = '';
    const onStdout = (chunk: Buffer): void => {
      if (this.stopped) return;
      const lines = (partial + decoder.write(chunk)).split('\n');
      partial = lines.pop() ?? '';
      let text = '';
      for (const line of lines) {
        const wasPositioned = reader.positioned;
        text += reader.push(line);
        if (!wasPositioned && reader.positioned) this.announce(reader);
      }
      this.position = { ...reader.position };
      if (reader.positioned) markPositioned();
      if (text !== '' && reader.via) this.sink.text(reader.via, text);
    };
    this.transport
      .run(KERNEL_LOG_SCRIPT, { onStdout, maxBuffer: KEPT_BYTES })
      .then(
        (result) => this.handleEnd(reader, describeEnd(result)),
        (err: unknown) => this.handleFailure(err),
      )
      .catch(() => undefined)
      .finally(markPositioned);
    return positioned;
  }

  private announce(reader: KernelLogReader): void {
    if (reader.none || reader.via === this.via) return;
    this.via = reader.via;
    if (reader.skipped.length > 0) this.sink.note('info', `kernel log via ${reader.via} (${reader.skipped.join('; ')})`);
  }

  private handleEnd(reader: KernelLogReader, why: string): void {
    if (this.stopped) return;
    if (reader.none) {
      this.sink.note('warn', `no kernel log: ${reader.skipped.join('; ')}; the heartbeat carries on`);
      return;
    }
    this.scheduleRestart(`kernel log stream${reader.via ? ` (${reader.via})` : ''} ended: ${why}`);
  }

  private handleFailure(err: unknown): void {
    if (this.stopped) return;
    // A lost connection is the watch's to report, and the host's to come back from.
    if ((isGauntletError(err) && err.code === 'LOST_CONNECTION') || this.transport.state !== 'ready') return;
    this.scheduleRestart(`kernel log stream failed: ${(err as Error).message}`);
  }

  private scheduleRestart(what: string): void {
    if (this.transport.state !== 'ready') return;
    if (!this.budget.take()) {
      this.sink.note('warn', `${what}; it ended ${MAX_RESTARTS + 1} times within ${RESTART_WINDOW_MS / 1000} s, so it is not restarted (the heartbeat carries on)`);
      return;
    }
    this.sink.note('info', `${what}; restarting`);
    // The first restart is at once (a wrapped buffer); later ones back off.
    const delayMs = (this.budget.used - 1) * 1000;
    this.restartTimer = setTimeout(() => {
      if (!this.stopped && this.transport.state === 'ready') void this.launch(true);
    }, delayMs);
    this.restartTimer.unref();
  }
}

/** Why a reader command ended, in a few words: its last line of stderr, else its exit status. */
function describeEnd(result: CommandResult): string {
  const lastLine = result.stderr.trim().split('\n').pop()?.trim();
  if (lastLine) return lastLine;
  if (result.signal) return `killed by SIG${result.signal.replace(/^SIG/, '')}`;
  return `exit status ${String(result.exitCode)}`;
}
