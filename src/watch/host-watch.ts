// One host under watch: its own connection for the kernel log and the heartbeat, plus its console on the runner.

import { randomBytes } from 'node:crypto';
import type { HostSpec } from '../model/index.js';
import { formatSeconds, type Transport } from '../transport/index.js';
import { createConsoleSource } from './console-sources.js';
import { beatOnce, HeartbeatLoop, type BeatResult } from './heartbeat.js';
import { KernelLogStream, type KernelLogPosition } from './kernel-log.js';
import { buildNetconsoleRemoveScript, buildNetconsoleSetupScript, NETCONSOLE_CONFIGFS, parseNetconsoleSetup } from './netconsole.js';
import type { ConsoleSource, HeartbeatReport, HostWatch, HostWatchOptions, WatchNote, WatchSink, WatchText } from './types.js';

/** How long start() and waitUntilBack() wait for the kernel log to be positioned before carrying on without it. */
const POSITION_TIMEOUT_MS = 15_000;
/** Limit for configuring and removing the host's netconsole target. */
const NETCONSOLE_TIMEOUT_MS = 20_000;

/** One watch connection and what runs on it. A lost session is never revived: the host coming back gets a new one. */
interface Session {
  transport: Transport;
  lost: boolean;
  kernelLog?: KernelLogStream;
  heartbeat?: HeartbeatLoop;
}

export function createHostWatch(options: HostWatchOptions): HostWatch {
  return new DefaultHostWatch(options);
}

class DefaultHostWatch implements HostWatch {
  private readonly host: HostSpec;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private session: Session | undefined;
  private consoles: ConsoleSource[] | undefined;
  private consolesStarted: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private waiting: Promise<boolean> | undefined;
  private stopped = false;
  private currentBootId: string | undefined;
  /** Where the kernel log stood on the current boot when its session was lost. */
  private kernelPosition: KernelLogPosition | undefined;
  private netconsoleDir: string | undefined;
  /** Settles when stop() is called, so every wait of the watch ends with it. */
  private readonly stoppedSignal: Promise<void>;
  private signalStopped: () => void = () => undefined;
  /** Connections being closed in the background (lost ones, late arrivals after a deadline). */
  private readonly closing = new Set<Promise<void>>();

  constructor(private readonly options: HostWatchOptions) {
    this.host = options.host;
    this.intervalMs = options.heartbeatIntervalMs ?? options.host.heartbeatIntervalS * 1000;
    this.timeoutMs = options.heartbeatTimeoutMs ?? options.host.heartbeatTimeoutS * 1000;
    this.stoppedSignal = new Promise((resolve) => {
      this.signalStopped = resolve;
    });
  }

  get bootId(): string | undefined {
    return this.currentBootId;
  }

  start(): Promise<void> {
    this.starting ??= this.open();
    return this.starting;
  }

  waitUntilBack(deadlineMs: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    this.waiting ??= this.reconnect(deadlineMs).finally(() => {
      this.waiting = undefined;
    });
    return this.waiting;
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  // ---- Connections ----------------------------------------------------------------------------------

  private async open(): Promise<void> {
    if (this.stopped) return;
    const transport = await this.openTransport(undefined);
    if (!transport) return;
    if (this.host.connection === 'ssh' && this.host.keepaliveIntervalS === 0) {
      this.note('info', 'keepalives are off for this host (gauntlet_keepalive_interval: 0), so a dead host shows as stalled, and as lost only when TCP gives up');
    }
    const first = await beatOnce(transport, this.timeoutMs, { giveUp: true });
    if (this.stopped) {
      await transport.close().catch(() => undefined);
      return;
    }
    await Promise.all([this.startConsoles(), this.attach(transport, first, 'start')]);
  }

  /**
   * Opens a connection through the caller's factory. With a limit, gives up after `limitMs` (a connection that
   * arrives later is closed); a stopped watch gives up at once. Errors propagate only without a limit.
   */
  private async openTransport(limitMs: number | undefined): Promise<Transport | undefined> {
    const attempt = this.options.connect().then(async (transport) => {
      if (transport.state !== 'ready') await transport.connect();
      return transport;
    });
    const outcome = await this.within(attempt, limitMs);
    if (!outcome) {
      this.track(attempt.then((late) => late.close()));
      return undefined;
    }
    if (this.stopped) {
      await outcome.value.close().catch(() => undefined);
      return undefined;
    }
    return outcome.value;
  }

  /**
   * Makes `transport` the watch connection: reports how the host answered, starts the kernel log (resumed where it
   * stood when the host was last seen on the same boot, else at its current end), configures netconsole when asked,
   * and starts the heartbeat. Resolves once the kernel log is positioned, or POSITION_TIMEOUT_MS later.
   */
  private async attach(transport: Transport, first: BeatResult, mode: 'start' | 'back'): Promise<void> {
    const session: Session = { transport, lost: false };
    this.session = session;
    transport.onLost((err) => this.handleLost(session, err.message));
    if (first.kind === 'lost' || transport.state === 'lost' || transport.state === 'closed') {
      this.handleLost(session, first.kind === 'lost' ? first.error : `connection ${transport.state}`);
      return;
    }
    const previousBoot = this.currentBootId;
    const bootId = first.kind === 'ok' ? first.bootId : undefined;
    if (bootId) this.currentBootId = bootId;
    const sameBoot = bootId !== undefined && bootId === previousBoot;
    if (first.kind === 'ok') {
      this.report({
        state: mode === 'start' ? 'ok' : 'back',
        atMs: Date.now(),
        latencyMs: first.latencyMs,
        ...(bootId ? { bootId } : {}),
        ...(mode === 'back' && bootId && previousBoot ? { rebooted: !sameBoot } : {}),
        ...(first.error ? { error: first.error } : {}),
      });
    } else {
      this.report({ state: 'stalled', atMs: Date.now(), error: first.error });
    }

    session.kernelLog = new KernelLogStream(transport, this.sinkFor('kmsg'), sameBoot ? this.kernelPosition : undefined);
    const positioned = session.kernelLog.start();
    const netconsole = this.configureNetconsole(session);
    session.heartbeat = new HeartbeatLoop(
      transport,
      this.intervalMs,
      this.timeoutMs,
      {
        report: (report) => this.report({ ...report, ...(report.bootId === undefined && this.currentBootId ? { bootId: this.currentBootId } : {}) }),
        lost: (error) => this.handleLost(session, error),
        bootId: (id) => this.noteBootId(id),
      },
      first.kind === 'stalled' ? 'stalled' : 'ok',
    );
    session.heartbeat.start();
    const inTime = await this.within(positioned, POSITION_TIMEOUT_MS);
    if (!inTime && !this.stopped && !session.lost) {
      this.note('warn', `the kernel log was not positioned within ${formatSeconds(POSITION_TIMEOUT_MS)}; it is delivered once the host answers`);
    }
    await this.within(netconsole);
  }

  private handleLost(session: Session, error: string): void {
    if (session.lost) return;
    session.lost = true;
    session.heartbeat?.stop();
    session.kernelLog?.stop();
    if (session.kernelLog) this.kernelPosition = session.kernelLog.lastPosition;
    this.report({ state: 'lost', atMs: Date.now(), error, ...(this.currentBootId ? { bootId: this.currentBootId } : {}) });
    this.track(session.transport.close());
  }

  private async reconnect(deadlineMs: number): Promise<boolean> {
    const deadline = Date.now() + deadlineMs;
    const live = this.session && !this.session.lost ? this.session : undefined;
    if (live) {
      // The connection looks up, but the caller has reason to doubt it: ask the host now.
      const beat = await beatOnce(live.transport, Math.max(1, Math.min(this.timeoutMs, deadline - Date.now())), { giveUp: true });
      if (this.stopped) return false;
      if (beat.kind === 'ok') return true;
      this.handleLost(live, beat.kind === 'lost' ? beat.error : `${beat.error}; reconnecting`);
    }
    let lastError = 'no attempt finished';
    while (!this.stopped) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const attemptStarted = Date.now();
      try {
        const transport = await this.openTransport(remaining);
        if (transport) {
          const beat = await beatOnce(transport, Math.max(1, Math.min(this.timeoutMs, deadline - Date.now())), { giveUp: true });
          if (this.stopped) {
            await transport.close().catch(() => undefined);
            return false;
          }
          if (beat.kind === 'ok') {
            await Promise.all([this.startConsoles(), this.attach(transport, beat, 'back')]);
            return !this.stopped;
          }
          lastError = beat.error;
          this.track(transport.close());
        }
      } catch (err) {
        lastError = (err as Error).message;
      }
      const pause = Math.min(this.intervalMs - (Date.now() - attemptStarted), deadline - Date.now());
      if (pause > 0) await this.within(new Promise<never>(() => undefined), pause);
    }
    if (!this.stopped) this.note('info', `not back within ${formatSeconds(deadlineMs)}; last attempt: ${lastError}`);
    return false;
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    this.signalStopped();
    await Promise.allSettled([this.starting, this.waiting]);
    const session = this.session;
    session?.heartbeat?.stop();
    session?.kernelLog?.stop();
    if (session && !session.lost && this.netconsoleDir && session.transport.state === 'ready') {
      // A hung host may never open the channel, and the command's own timer starts only once it does.
      const removed = session.transport.run(buildNetconsoleRemoveScript(this.netconsoleDir), { timeoutMs: NETCONSOLE_TIMEOUT_MS }).catch(() => undefined);
      await waitAtMost(removed, NETCONSOLE_TIMEOUT_MS);
    }
    await Promise.allSettled([
      session?.transport.close(),
      this.consolesStarted?.then(() => Promise.allSettled((this.consoles ?? []).map((source) => source.stop()))),
      ...this.closing,
    ]);
  }

  // ---- Sources --------------------------------------------------------------------------------------

  private startConsoles(): Promise<void> {
    this.consolesStarted ??= (async () => {
      const spec = this.host.console;
      this.consoles = spec ? [createConsoleSource(spec, this.sinkFor('console'))] : [];
      await Promise.allSettled(this.consoles.map((source) => source.start()));
    })();
    return this.consolesStarted;
  }

  private async configureNetconsole(session: Session): Promise<void> {
    const spec = this.host.console;
    if (spec?.kind !== 'netconsole' || !spec.configure) return;
    const wildcard = spec.bind === undefined || spec.bind === '0.0.0.0' || spec.bind === '::';
    if (this.host.jump && wildcard) {
      this.note('warn', `netconsole not configured: the host is reached through ${this.host.jump.address}, so its SSH client address is not the runner's; set the console's bind to the runner's address as the host sees it`);
      return;
    }
    this.netconsoleDir ??= `${NETCONSOLE_CONFIGFS}/gauntlet-${randomBytes(4).toString('hex')}`;
    const script = buildNetconsoleSetupScript({ dir: this.netconsoleDir, port: spec.port, ...(wildcard ? {} : { remoteIp: spec.bind }) });
    try {
      const result = await session.transport.run(script, { timeoutMs: NETCONSOLE_TIMEOUT_MS });
      const setup = parseNetconsoleSetup(result.stdout);
      if (result.exitCode === 0 && setup) {
        this.note('info', `netconsole on the host sends to ${setup.remoteIp}:${spec.port} from ${setup.dev} (next hop ${setup.mac})`);
      } else {
        const why = result.stderr.trim().split('\n').pop() || (result.timedOut ? `no answer within ${formatSeconds(NETCONSOLE_TIMEOUT_MS)}` : `exit status ${String(result.exitCode)}`);
        this.note('warn', `netconsole not configured on the host: ${why}`);
      }
    } catch (err) {
      if (!session.lost) this.note('warn', `netconsole not configured on the host: ${(err as Error).message}`);
    }
  }

  private noteBootId(bootId: string): void {
    if (this.currentBootId !== undefined && this.currentBootId !== bootId) {
      this.note('warn', `the host's boot id changed from ${this.currentBootId} to ${bootId} while its connection stayed up`);
    }
    this.currentBootId = bootId;
  }

  // ---- Delivery -------------------------------------------------------------------------------------

  private sinkFor(source: WatchText['source']): WatchSink {
    return {
      text: (via, text) => this.deliver(() => this.options.onText({ source, via, text, atMs: Date.now() })),
      note: (level, message) => this.note(level, message),
    };
  }

  private report(report: HeartbeatReport): void {
    this.deliver(() => this.options.onHeartbeat(report));
  }

  private note(level: WatchNote['level'], message: string): void {
    this.deliver(() => this.options.onNote({ level, message, atMs: Date.now() }));
  }

  /** Calls the caller's callback unless stopped; its errors are its own and never stop the watch. */
  private deliver(call: () => void): void {
    if (this.stopped) return;
    try {
      call();
    } catch {
      /* the caller's failure */
    }
  }

  // ---- Helpers --------------------------------------------------------------------------------------

  /**
   * Waits for `work`, at most `ms` (without it, as long as it takes), and never past stop(). Undefined when it gave
   * up; `work` itself goes on.
   */
  private within<T>(work: Promise<T>, ms?: number): Promise<{ value: T } | undefined> {
    return waitAtMost(work, ms, this.stoppedSignal);
  }

  private track(closing: Promise<unknown>): void {
    const done = closing.then(
      () => undefined,
      () => undefined,
    );
    this.closing.add(done);
    void done.finally(() => this.closing.delete(done));
  }
}

/** `{ value }` once `work` resolves; undefined after `ms` or once `stopped` settles, whichever is first. */
async function waitAtMost<T>(work: Promise<T>, ms?: number, stopped?: Promise<void>): Promise<{ value: T } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<undefined>((resolve) => {
    // Not unref'd: a caller awaiting waitUntilBack() must not see the process exit under it.
    if (ms !== undefined) timer = setTimeout(() => resolve(undefined), ms);
    void stopped?.then(() => resolve(undefined));
  });
  try {
    return await Promise.race([work.then((value) => ({ value })), gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}
