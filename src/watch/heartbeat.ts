// The heartbeat: a tiny command on the watch connection every interval, reporting ok, stalled or lost.

import { isGauntletError } from '../model/index.js';
import { formatSeconds, type Transport } from '../transport/index.js';
import type { HeartbeatReport } from './types.js';

export const HEARTBEAT_COMMAND = 'cat /proc/sys/kernel/random/boot_id';
/** An 'ok' report is repeated every this many heartbeats while nothing changes, so a caller sees liveness without a flood. */
export const OK_REPORT_EVERY = 15;

export type BeatResult =
  | { kind: 'ok'; bootId: string | undefined; latencyMs: number; error?: string }
  | { kind: 'stalled'; latencyMs: number; error: string }
  | { kind: 'lost'; error: string };

export interface BeatOptions {
  /** Called when no answer came within the timeout, whether or not the command ever ends. */
  onOverdue?: () => void;
  /**
   * Resolve 'stalled' at the timeout instead of waiting for the command (which keeps running in the background).
   * A host whose sshd no longer opens channels never starts the command, nor the command's own timer.
   */
  giveUp?: boolean;
}

/** Runs the heartbeat command once: the boot id and how long the host took to answer. */
export async function beatOnce(transport: Transport, timeoutMs: number, options: BeatOptions = {}): Promise<BeatResult> {
  const startedAt = Date.now();
  const overdue: BeatResult = { kind: 'stalled', latencyMs: timeoutMs, error: `no answer to the heartbeat within ${formatSeconds(timeoutMs)}` };
  let watchdog: NodeJS.Timeout | undefined;
  const timedOut = new Promise<BeatResult>((resolve) => {
    watchdog = setTimeout(() => {
      options.onOverdue?.();
      if (options.giveUp) resolve(overdue);
    }, timeoutMs);
  });
  try {
    return await Promise.race([runBeat(transport, timeoutMs, startedAt), timedOut]);
  } finally {
    clearTimeout(watchdog);
  }
}

async function runBeat(transport: Transport, timeoutMs: number, startedAt: number): Promise<BeatResult> {
  try {
    const result = await transport.run(HEARTBEAT_COMMAND, { timeoutMs, maxBuffer: 4096 });
    const latencyMs = Date.now() - startedAt;
    if (result.timedOut) return { kind: 'stalled', latencyMs, error: `no answer to the heartbeat within ${formatSeconds(timeoutMs)}` };
    const bootId = result.stdout.trim();
    if (result.exitCode === 0 && /^[0-9a-f-]{36}$/.test(bootId)) return { kind: 'ok', bootId, latencyMs };
    // The host answered, so it is alive; it just would not say its boot id.
    const why = result.stderr.trim().split('\n').pop() || `exit status ${String(result.exitCode)}`;
    return { kind: 'ok', bootId: undefined, latencyMs, error: `cannot read the boot id: ${why}` };
  } catch (err) {
    if ((isGauntletError(err) && err.code === 'LOST_CONNECTION') || transport.state === 'lost' || transport.state === 'closed') {
      return { kind: 'lost', error: (err as Error).message };
    }
    // The command could not start (the server refused a channel): the connection is up but not answering.
    return { kind: 'stalled', latencyMs: Date.now() - startedAt, error: `heartbeat failed: ${(err as Error).message}` };
  }
}

export interface HeartbeatHooks {
  report: (report: HeartbeatReport) => void;
  /** The connection was lost; the loop has stopped. */
  lost: (error: string) => void;
  /** A boot id was read (it may differ from the last one only if the host rebooted under a live connection). */
  bootId: (bootId: string) => void;
}

/** One heartbeat at a time: the next starts an interval after the previous one started, or at once if it was late. */
export class HeartbeatLoop {
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private state: 'ok' | 'stalled';
  private sinceReport = 0;

  /** @param lastReported the state last reported on this connection ('ok' or 'back' count as ok). */
  constructor(
    private readonly transport: Transport,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly hooks: HeartbeatHooks,
    lastReported: 'ok' | 'stalled' = 'ok',
  ) {
    this.state = lastReported;
  }

  start(): void {
    this.schedule(this.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), Math.max(0, delayMs));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const startedAt = Date.now();
    const result = await beatOnce(this.transport, this.timeoutMs, {
      onOverdue: () => {
        if (!this.stopped && this.transport.state === 'ready') this.markStalled(`no answer to the heartbeat within ${formatSeconds(this.timeoutMs)}`);
      },
    });
    if (this.stopped) return;
    switch (result.kind) {
      case 'lost':
        this.stopped = true;
        this.hooks.lost(result.error);
        return;
      case 'stalled':
        this.markStalled(result.error);
        break;
      case 'ok': {
        if (result.bootId) this.hooks.bootId(result.bootId);
        this.sinceReport += 1;
        if (this.state !== 'ok' || this.sinceReport >= OK_REPORT_EVERY) {
          this.state = 'ok';
          this.sinceReport = 0;
          this.hooks.report({
            state: 'ok',
            atMs: Date.now(),
            latencyMs: result.latencyMs,
            ...(result.bootId ? { bootId: result.bootId } : {}),
            ...(result.error ? { error: result.error } : {}),
          });
        }
        break;
      }
    }
    this.schedule(this.intervalMs - (Date.now() - startedAt));
  }

  private markStalled(error: string): void {
    if (this.state === 'stalled') return;
    this.state = 'stalled';
    this.sinceReport = 0;
    this.hooks.report({ state: 'stalled', atMs: Date.now(), error });
  }
}
