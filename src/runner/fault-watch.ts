// One host's kernel under watch while its suites run: watch streams → classifier → kernel events attributed to tests.

import { classifyLog, createStreamClassifier, mostSevereEvent, type StreamClassifier } from '../classify/index.js';
import type { DetectedKernelEvent, HostLivenessEvent, HostSpec, KernelEvent, KernelEventRecord, TestRef } from '../model/index.js';
import type { Transport } from '../transport/index.js';
import { createHostWatch, type HostWatch, type WatchText } from '../watch/index.js';

/** A report is complete after this long without a new line of it (most end sooner, on their end marker). */
const QUIET_MS = 1500;
/** The same fault seen on the console and in the kernel log within this window is one event. */
const DEDUP_WINDOW_MS = 60_000;
/** How often pending reports are checked for their quiet period. */
const TICK_MS = 250;

export interface FaultWatchOptions {
  host: HostSpec;
  /** Opens a new connection to the host (the watch's own, never the suite's). */
  connect: () => Promise<Transport>;
  /** Journals an event (the runner's record()). */
  record: (event: KernelEventRecord | HostLivenessEvent) => void;
  /** The test running on the host now, or the last one that started: what an event is blamed on. */
  currentTest: () => TestRef | null;
  /** Tells the host's worker, for `host.events()`. */
  deliver: (event: KernelEventRecord) => void;
}

/** What the kernel left behind after a crash, read once the host is back. */
export interface PostMortemFile {
  path: string;
  text: string;
}

export class FaultWatch {
  private readonly watch: HostWatch;
  private readonly classifiers = new Map<string, StreamClassifier>();
  private readonly seen: KernelEventRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(private readonly options: FaultWatchOptions) {
    this.watch = createHostWatch({
      host: options.host,
      connect: options.connect,
      onText: (text) => this.feed(text),
      onHeartbeat: (report) => {
        if (report.state === 'ok') return;
        options.record({
          type: 'host-liveness',
          ts: new Date(report.atMs).toISOString(),
          host: options.host.name,
          state: report.state,
          ...(report.error ? { message: report.error } : {}),
          ...(report.bootId ? { bootId: report.bootId } : {}),
          ...(report.rebooted !== undefined ? { rebooted: report.rebooted } : {}),
        });
      },
      onNote: (note) => {
        if (note.level === 'warn') options.record({ type: 'host-liveness', ts: new Date(note.atMs).toISOString(), host: options.host.name, state: 'watch-problem', message: note.message });
      },
    });
  }

  /** Positions the streams at their current end and starts the heartbeat; a watch that cannot start is reported, not thrown. */
  async start(): Promise<boolean> {
    try {
      await this.watch.start();
      this.started = true;
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
      return true;
    } catch (err) {
      this.options.record({ type: 'host-liveness', ts: new Date().toISOString(), host: this.options.host.name, state: 'stalled', message: `watch could not start: ${(err as Error).message}` });
      return false;
    }
  }

  get bootId(): string | undefined {
    return this.watch.bootId;
  }

  /** Fatal events journaled at or after `sinceMs`. */
  fatalSince(sinceMs: number): KernelEventRecord[] {
    return this.seen.filter((event) => event.fatal && Date.parse(event.detectedAt) >= sinceMs);
  }

  /** Finishes every report still pending (the host went quiet or away). */
  flush(): void {
    const now = Date.now();
    for (const [key, classifier] of this.classifiers) this.emit(key, classifier.flush(now));
  }

  /** The runner is about to power-cycle the host: the boot its console then shows is no unexpected reboot. */
  expectRestart(): void {
    for (const classifier of this.classifiers.values()) classifier.expectRestart();
  }

  /** Waits for the host to answer again; true when it did before the deadline. */
  waitUntilBack(deadlineMs: number): Promise<boolean> {
    return this.started ? this.watch.waitUntilBack(deadlineMs) : Promise.resolve(false);
  }

  /** Journals an event the runner concluded itself (lost connection, unexpected reboot) or read after a crash. */
  recordEvent(event: Omit<KernelEventRecord, 'type' | 'ts' | 'host' | 'test'> & { test?: TestRef | null }): KernelEventRecord {
    const record: KernelEventRecord = { type: 'kernel-event', ts: new Date().toISOString(), host: this.options.host.name, ...event, test: event.test ?? this.options.currentTest() };
    this.seen.push(record);
    this.options.record(record);
    this.options.deliver(record);
    return record;
  }

  /**
   * Classifies what the kernel left behind and journals, per file, the report that ended the kernel: the most
   * severe one (a panic before the hung task the same buffer still holds from earlier). Returns those events.
   */
  recordPostMortem(files: PostMortemFile[], test: TestRef | null, bootId: string | undefined): KernelEventRecord[] {
    return classifyPostMortem(files, test, bootId).map((event) => this.recordEvent(event));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.flush();
    await this.watch.stop().catch(() => undefined);
  }

  private classifierFor(key: string): StreamClassifier {
    let classifier = this.classifiers.get(key);
    if (!classifier) {
      // Events are kept for the whole run: their excerpts must not hold on to the console chunks they came in.
      classifier = createStreamClassifier({ quietMs: QUIET_MS, copyExcerpts: true });
      this.classifiers.set(key, classifier);
    }
    return classifier;
  }

  private feed(text: WatchText): void {
    const key = `${text.source}\u0000${text.via}`;
    this.emit(key, this.classifierFor(key).push(text.text, text.atMs));
  }

  private tick(): void {
    const now = Date.now();
    for (const [key, classifier] of this.classifiers) this.emit(key, classifier.push('', now));
  }

  private emit(key: string, events: DetectedKernelEvent[]): void {
    const [source, via] = key.split('\u0000') as ['kmsg' | 'console', string];
    for (const event of events) {
      const detectedAtMs = event.detectedAtMs;
      // The console and the kernel log carry the same report: the first to complete it wins.
      const duplicate = this.seen.some(
        (other) => other.class === event.class && other.title === event.title && other.source !== source && Math.abs(Date.parse(other.detectedAt) - detectedAtMs) < DEDUP_WINDOW_MS,
      );
      if (duplicate) continue;
      this.recordEvent({
        source,
        via,
        ...pickEventFields(event),
        detectedAt: new Date(detectedAtMs).toISOString(),
        latencyMs: Math.max(0, Date.now() - detectedAtMs),
        ...(this.watch.bootId ? { bootId: this.watch.bootId } : {}),
      });
    }
  }
}

/** Per post-mortem file, the report that ended the kernel: the most severe fatal one, blamed on `test`. */
export function classifyPostMortem(files: PostMortemFile[], test: TestRef | null, bootId: string | undefined): (Omit<KernelEventRecord, 'type' | 'ts' | 'host' | 'test'> & { test: TestRef | null })[] {
  return files.flatMap((file) => {
    const primary = mostSevereEvent(classifyLog(file.text, { copyExcerpts: true }).events.filter((event) => event.fatal));
    if (!primary) return [];
    return [{ source: 'post-mortem' as const, via: file.path, ...pickEventFields(primary), detectedAt: new Date().toISOString(), test, ...(bootId ? { bootId } : {}) }];
  });
}

/**
 * The post-mortem files a host shows after coming back, left out those older than `since` (ms since the epoch, by
 * their mtime): what a crash after that moment left. For a host that came back too late for its run's own recovery.
 */
export function parsePostMortemSince(output: string, since: number): PostMortemFile[] {
  const older = new Set<string>();
  for (const line of output.split('\n')) {
    const header = /^=== (.+) (\d+)$/.exec(line);
    // The crashed boot's kernel log (`journalctl -k -b BOOT`) is that boot's by its id, whatever the time.
    if (header && !header[1]!.startsWith('journalctl ') && Number(header[2]) * 1000 < since) older.add(`${header[1]} ${header[2]}`);
  }
  return parsePostMortem(output, older);
}

function pickEventFields(event: KernelEvent): Pick<KernelEventRecord, 'class' | 'title' | 'alt' | 'fatal' | 'corrupted' | 'excerpt'> {
  return { class: event.class, title: event.title, alt: event.alt, fatal: event.fatal, corrupted: event.corrupted, excerpt: event.excerpt };
}

/**
 * The shell command that prints what a crashed kernel left behind, each file headed `=== PATH`: pstore (ramoops,
 * EFI), systemd's pstore archive, kdump's vmcore-dmesg, and the kernel log of the boot that crashed when the
 * journal kept it. Each header carries the file's mtime, so parsePostMortem can leave out the files that existed
 * before the run (POST_MORTEM_BASELINE_COMMAND) and an old crash is not blamed.
 */
export function buildPostMortemCommand(crashedBootId: string | undefined): string {
  const boot = crashedBootId ? crashedBootId.replace(/-/g, '') : '';
  return [
    'for f in /sys/fs/pstore/* /var/lib/systemd/pstore/*/* /var/crash/*/vmcore-dmesg.txt; do',
    '  [ -f "$f" ] || continue',
    '  printf "=== %s %s\\n" "$f" "$(stat -c %Y "$f" 2>/dev/null)"',
    '  cat "$f" 2>/dev/null',
    'done',
    ...(boot
      ? [`if command -v journalctl >/dev/null 2>&1 && journalctl -k -b ${boot} -n 0 >/dev/null 2>&1; then`, `  printf "=== journalctl -k -b ${boot} 0\\n"`, `  journalctl -k -b ${boot} --no-pager -o short-monotonic 2>/dev/null | tail -n 3000`, 'fi']
      : []),
  ].join('\n');
}

/** The command listing post-mortem files present now (`PATH MTIME` lines), taken when the watch starts. */
export const POST_MORTEM_BASELINE_COMMAND =
  'for f in /sys/fs/pstore/* /var/lib/systemd/pstore/*/* /var/crash/*/vmcore-dmesg.txt; do [ -f "$f" ] && printf "%s %s\\n" "$f" "$(stat -c %Y "$f" 2>/dev/null)"; done; true';

/** Splits the post-mortem command's output into files, leaving out those already in the baseline (same path and mtime). */
export function parsePostMortem(output: string, baseline: ReadonlySet<string>): PostMortemFile[] {
  const files: PostMortemFile[] = [];
  let current: { path: string; key: string; lines: string[] } | null = null;
  const close = () => {
    if (current && !baseline.has(current.key) && current.lines.join('').trim() !== '') files.push({ path: current.path, text: current.lines.join('\n') });
  };
  for (const line of output.split('\n')) {
    const header = /^=== (.+) (\d*)$/.exec(line);
    if (header) {
      close();
      current = { path: header[1]!, key: `${header[1]} ${header[2]}`, lines: [] };
    } else if (current) {
      current.lines.push(line);
    }
  }
  close();
  return files;
}
