// Console sources on the runner: a command's output, a QEMU chardev socket or file, and the choice by ConsoleSpec.

import { stat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import type { ConsoleSpec } from '../model/index.js';
import { FileTail } from './file-tail.js';
import { NetconsoleListener } from './netconsole.js';
import { RestartBudget } from './restart-budget.js';
import type { ConsoleSource, WatchSink } from './types.js';

/** Restarts of a console command within the window before it is given up. */
const MAX_COMMAND_RESTARTS = 5;
const COMMAND_RESTART_WINDOW_MS = 60_000;
/** Between a console command's exit and its restart. */
const COMMAND_RESTART_DELAY_MS = 1000;
/** Between SIGTERM and SIGKILL when a console command is stopped. */
const KILL_GRACE_MS = 2000;
/** How often a QEMU console path that is missing or whose socket closed is tried again. */
const QEMU_RETRY_MS = 500;
/** Characters of a command's stderr kept for the note about its exit. */
const STDERR_TAIL = 2000;

/** The console source for a host's `gauntlet_console`. */
export function createConsoleSource(spec: ConsoleSpec, sink: WatchSink): ConsoleSource {
  switch (spec.kind) {
    case 'file':
      return new FileTail(spec.path, `file:${spec.path}`, sink);
    case 'netconsole':
      return new NetconsoleListener(spec.port, spec.bind, sink);
    case 'command':
      return new CommandConsole(spec.command, sink);
    case 'qemu':
      return new QemuConsole(spec.path, sink);
  }
}

interface RunningCommand {
  pid: number | undefined;
  done: Promise<void>;
}

/**
 * Runs a command on the runner (`virsh console`, `ipmitool sol activate`, a serial reader) and delivers its
 * standard output. It runs in its own process group, so stopping it ends whatever it started; when it exits by
 * itself it is restarted, at most MAX_COMMAND_RESTARTS times a minute.
 */
export class CommandConsole implements ConsoleSource {
  private running: RunningCommand | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly budget = new RestartBudget(MAX_COMMAND_RESTARTS, COMMAND_RESTART_WINDOW_MS);

  constructor(
    private readonly command: string,
    private readonly sink: WatchSink,
  ) {}

  async start(): Promise<void> {
    await this.launch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const running = this.running;
    if (!running) return;
    signalGroup(running.pid, 'SIGTERM');
    const killTimer = setTimeout(() => signalGroup(running.pid, 'SIGKILL'), KILL_GRACE_MS);
    await running.done;
    clearTimeout(killTimer);
  }

  private async launch(): Promise<void> {
    if (this.stopped) return;
    const { execa } = await import('execa');
    if (this.stopped) return;
    const child = execa(this.command, {
      shell: true,
      buffer: false,
      reject: false,
      detached: true,
      stdin: 'ignore',
      stripFinalNewline: false,
    });
    const decoder = new StringDecoder('utf8');
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = decoder.write(chunk);
      if (!this.stopped && text !== '') this.sink.text('command', text);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    const done = child.then(
      (result) => {
        if (result.failed && result.exitCode === undefined && result.signal === undefined) return `could not start: ${result.shortMessage}`;
        const status = result.signal ? `was killed by ${result.signal}` : `exited with status ${String(result.exitCode)}`;
        const last = stderr.trim().split('\n').pop()?.trim();
        return last ? `${status}: ${last}` : status;
      },
      (err: unknown) => `failed: ${(err as Error).message}`,
    );
    const running: RunningCommand = { pid: child.pid, done: done.then(() => undefined) };
    this.running = running;
    void done.then((why) => {
      // Group members the shell left behind (a pipeline's other half) go with it.
      signalGroup(running.pid, 'SIGKILL');
      if (this.running === running) this.running = undefined;
      if (!this.stopped) this.restart(why);
    });
  }

  private restart(why: string): void {
    if (!this.budget.take()) {
      this.sink.note('warn', `console command ${why}; it exited ${MAX_COMMAND_RESTARTS + 1} times within ${COMMAND_RESTART_WINDOW_MS / 1000} s, so it is not restarted`);
      return;
    }
    this.sink.note('info', `console command ${why}; restarting it`);
    this.restartTimer = setTimeout(() => void this.launch(), COMMAND_RESTART_DELAY_MS * this.budget.used);
    this.restartTimer.unref();
  }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * A QEMU character device: a unix socket (`-serial unix:PATH,server=on,wait=off`) is connected to and read, and
 * reconnected when QEMU restarts; a file (`-serial file:PATH`) is followed like a console file. A path that does not
 * exist yet is checked again until it appears.
 */
export class QemuConsole implements ConsoleSource {
  private readonly via: string;
  private file: FileTail | undefined;
  private socket: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private waitingNoted = false;
  private connectedOnce = false;
  private refusedNoted = false;
  /** The path existed when the watch started: a file is then followed from its end. */
  private existedAtStart = false;

  constructor(
    private readonly path: string,
    private readonly sink: WatchSink,
  ) {
    this.via = `qemu:${path}`;
  }

  async start(): Promise<void> {
    await this.attach(true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.destroy();
    this.socket = undefined;
    await this.file?.stop();
  }

  private async attach(first: boolean): Promise<void> {
    if (this.stopped) return;
    let kind: 'socket' | 'file' | 'missing';
    try {
      const info = await stat(this.path);
      kind = info.isSocket() ? 'socket' : 'file';
      if (first) this.existedAtStart = true;
    } catch {
      kind = 'missing';
    }
    if (this.stopped) return;
    if (kind === 'file') {
      this.file = new FileTail(this.path, this.via, this.sink, { fromStart: !this.existedAtStart });
      await this.file.start();
      return;
    }
    if (kind === 'missing') {
      if (!this.waitingNoted) this.sink.note('info', `QEMU console ${this.path} does not exist yet; it is read once it appears`);
      this.waitingNoted = true;
      this.retryLater();
      return;
    }
    await this.connectSocket();
  }

  private connectSocket(): Promise<void> {
    return new Promise((resolve) => {
      const socket = connect(this.path);
      this.socket = socket;
      const decoder = new StringDecoder('utf8');
      let open = false;
      socket.on('connect', () => {
        open = true;
        if (this.connectedOnce) this.sink.note('info', `QEMU console ${this.path} connected again`);
        this.connectedOnce = true;
        this.refusedNoted = false;
        resolve();
      });
      socket.on('data', (chunk: Buffer) => {
        const text = decoder.write(chunk);
        if (!this.stopped && text !== '') this.sink.text(this.via, text);
      });
      let failure: string | undefined;
      socket.on('error', (err) => {
        // 'close' follows; refused or reset sockets are retried there.
        failure = err.message;
      });
      socket.on('close', () => {
        if (this.socket === socket) this.socket = undefined;
        if (this.stopped) return;
        if (open) this.sink.note('info', `QEMU console ${this.path} closed (QEMU exited?); reconnecting`);
        else if (!this.refusedNoted) this.sink.note('info', `QEMU console ${this.path} cannot be connected to (${failure ?? 'closed'}); retrying until QEMU listens`);
        if (!open) this.refusedNoted = true;
        this.retryLater();
        resolve();
      });
    });
  }

  private retryLater(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.attach(false), QEMU_RETRY_MS);
    this.timer.unref();
  }
}
