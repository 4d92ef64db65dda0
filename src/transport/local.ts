// The local transport: runs commands on the runner itself with execa, for `ansible_connection: local`.

import { copyFile, writeFile } from 'node:fs/promises';
import { connect as connectSocket } from 'node:net';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { loadDocker } from './lazy.js';
import { GauntletError, type CommandResult, type HostSpec, type RunOptions } from '../model/index.js';
import { describeErrno } from './errno.js';
import { buildResult, DEFAULT_MAX_BUFFER, OutputCollector } from './output.js';
import type { ConnectionState, Transport } from './transport.js';

/** Grace between SIGTERM and SIGKILL when a command times out. */
const KILL_GRACE_MS = 2000;

export class LocalTransport implements Transport {
  private current: ConnectionState = 'idle';
  private dockerClient: Docker | undefined;
  private readonly running = new Set<number>();

  constructor(readonly host: HostSpec) {}

  get state(): ConnectionState {
    return this.current;
  }

  async connect(): Promise<void> {
    this.current = 'ready';
  }

  async run(command: string, options: RunOptions = {}): Promise<CommandResult> {
    if (this.current !== 'ready') {
      throw new GauntletError('NOT_CONNECTED', `[${this.host.name} ${this.host.id}] not connected (state ${this.current})`);
    }
    const limit = options.maxBuffer ?? DEFAULT_MAX_BUFFER;
    const stdout = new OutputCollector(limit, options.onStdout);
    const stderr = new OutputCollector(limit, options.onStderr);
    const startedAt = performance.now();
    // Own process group, so a timeout ends the whole pipeline the shell started, not just the shell.
    const { execa } = await import('execa');
    const child = execa('/bin/sh', ['-c', command], {
      buffer: false,
      reject: false,
      detached: true,
      stripFinalNewline: false,
      env: options.env,
      input: options.stdin,
      stdin: options.stdin === undefined ? 'ignore' : undefined,
    });
    const pid = child.pid;
    if (pid !== undefined) this.running.add(pid);
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));

    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer =
      options.timeoutMs && options.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            signalGroup(pid, 'SIGTERM');
            killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
          }, options.timeoutMs)
        : undefined;
    try {
      const outcome = await child;
      if (outcome.failed && outcome.exitCode === undefined && outcome.signal === undefined) {
        throw new GauntletError('COMMAND_FAILED', `could not start /bin/sh on the runner: ${outcome.shortMessage}`, { cause: outcome.cause });
      }
      return buildResult({
        command,
        stdout,
        stderr,
        exitCode: outcome.signal ? null : (outcome.exitCode ?? null),
        signal: outcome.signal ? outcome.signal.replace(/^SIG/, '') : null,
        startedAt,
        timedOut,
      });
    } finally {
      clearTimeout(timer);
      clearTimeout(killTimer);
      if (pid !== undefined) this.running.delete(pid);
    }
  }

  async upload(source: string | Buffer, remotePath: string): Promise<void> {
    if (typeof source === 'string') await copyFile(source, remotePath);
    else await writeFile(remotePath, source);
  }

  openDockerStream(): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const socket = connectSocket(this.host.dockerSocket);
      socket.once('connect', () => resolve(socket));
      socket.once('error', (err: NodeJS.ErrnoException) =>
        reject(new GauntletError('ENGINE_UNAVAILABLE', `cannot reach ${this.dockerEndpoint()}: ${describeErrno(err.code)}`, { cause: err })),
      );
    });
  }

  docker(): Docker {
    this.dockerClient ??= new (loadDocker())({ socketPath: this.host.dockerSocket });
    return this.dockerClient;
  }

  dockerEndpoint(): string {
    return `unix://${this.host.dockerSocket}`;
  }

  async close(): Promise<void> {
    for (const pid of this.running) signalGroup(pid, 'SIGKILL');
    this.current = 'closed';
  }

  onLost(): void {
    // The runner cannot lose its connection to itself.
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
