// The SSH transport: one verified ssh2 connection per host, reused for every command, upload and docker request.

import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect as connectTcp, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { createDockerOverStreams } from './lazy.js';
import pLimit, { type LimitFunction } from 'p-limit';
import ssh2, { type AuthenticationType, type Client as SshClient, type ClientChannel, type ConnectConfig, type ParsedKey } from 'ssh2';
import { GauntletError, type CommandResult, type HostSpec, type RunOptions } from '../model/index.js';
import { describeErrno, errnoOf, formatSeconds } from './errno.js';
import {
  algorithmsForKeyType,
  fingerprintOf,
  judgeHostKey,
  keyTypeOf,
  knownHostName,
  openKnownHosts,
  type KnownHostEntry,
} from './known-hosts.js';
import { buildResult, DEFAULT_MAX_BUFFER, OutputCollector } from './output.js';
import { quoteShell, withEnv } from './shell.js';
import type { ConnectionState, Transport } from './transport.js';

export interface SshOptions {
  /** Record unknown host keys instead of refusing the host (OpenSSH's `StrictHostKeyChecking=accept-new`). */
  acceptNewHostKeys?: boolean;
  /** Session channels open at once on one connection; OpenSSH's MaxSessions defaults to 10. */
  maxChannels?: number;
  /** ssh-agent socket; defaults to `SSH_AUTH_SOCK`. */
  agentSocket?: string;
}

// ssh2 is CommonJS and Node cannot see its named exports from ESM.
const { Client, utils } = ssh2;
type Client = SshClient;

/** A command whose channel closed without an exit status: the partial output is kept for the report. */
export class CommandLostError extends GauntletError {
  constructor(
    message: string,
    readonly result: CommandResult,
  ) {
    super('LOST_CONNECTION', message);
  }
}

/** Between a timed-out command's KILL signal and giving up on its channel closing. */
const CLOSE_GRACE_MS = 2000;
/** Host key algorithms ssh2 can verify; recorded types outside this list cannot be preferred. */
const SUPPORTED_HOST_KEY_ALGORITHMS = new Set([
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
  'ssh-dss',
]);
/** Keys OpenSSH tries when none is configured, in its order. */
const DEFAULT_KEY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/** Private keys are read and parsed once per path per process, however many hosts share them. */
const parsedKeys = new Map<string, Promise<ParsedKey>>();

function loadPrivateKey(path: string): Promise<ParsedKey> {
  let parsed = parsedKeys.get(path);
  if (!parsed) {
    parsed = readFile(path).then((data) => {
      const key = utils.parseKey(data);
      if (key instanceof Error) {
        const encrypted = /encrypted|passphrase/i.test(key.message);
        throw new GauntletError(
          'AUTH_FAILED',
          encrypted
            ? `key file ${path} is encrypted; add it to ssh-agent (ssh-add ${path}) instead`
            : `key file ${path} is not a private key gauntlet can read: ${key.message}`,
        );
      }
      return Array.isArray(key) ? (key[0] as ParsedKey) : key;
    });
    parsedKeys.set(path, parsed);
  }
  return parsed;
}

export class SshTransport implements Transport {
  private current: ConnectionState = 'idle';
  private client: Client | undefined;
  private jumpTransport: SshTransport | undefined;
  private connecting: Promise<void> | undefined;
  private closing = false;
  private readonly channels: LimitFunction;
  private readonly pending = new Set<(err: Error) => void>();
  /** Commands still running, by the session PID each reported, so closing can end them on the host. */
  private readonly inflight = new Set<PidLineSplitter>();
  private readonly lostListeners: Array<(err: Error) => void> = [];
  private dockerClient: Docker | undefined;
  private dockerVia: 'streamlocal' | 'dial-stdio' = 'streamlocal';

  constructor(
    readonly host: HostSpec,
    private readonly options: SshOptions = {},
  ) {
    this.channels = pLimit(options.maxChannels ?? 8);
  }

  get state(): ConnectionState {
    return this.current;
  }

  connect(): Promise<void> {
    if (this.current === 'ready') return Promise.resolve();
    this.connecting ??= this.openConnection().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async openConnection(): Promise<void> {
    this.current = 'connecting';
    this.closing = false;
    const startedAt = performance.now();
    const budgetMs = this.host.connectTimeoutS * 1000;
    try {
      const [sock, auth, known] = await Promise.all([
        this.openSocket(budgetMs),
        this.authMethods(),
        this.knownEntries(),
      ]);
      const remaining = Math.max(1000, budgetMs - (performance.now() - startedAt));
      await this.handshake(sock, auth, known, remaining, startedAt);
      this.current = 'ready';
    } catch (err) {
      this.current = 'failed';
      this.client?.end();
      this.client = undefined;
      await this.jumpTransport?.close();
      this.jumpTransport = undefined;
      throw err;
    }
  }

  /** TCP to the host, or a tunnel through the jump host; the timer and errno are gauntlet's own. */
  private async openSocket(budgetMs: number): Promise<Duplex> {
    const { jump } = this.host;
    if (jump) {
      const jumpHost: HostSpec = {
        ...this.host,
        name: jump.name ?? `${jump.address}`,
        id: `ssh://${jump.user}@${jump.address}:${jump.port}`,
        address: jump.address,
        port: jump.port,
        user: jump.user,
        keyFile: jump.keyFile ?? this.host.keyFile,
        jump: undefined,
      };
      this.jumpTransport = new SshTransport(jumpHost, this.options);
      try {
        await this.jumpTransport.connect();
      } catch (err) {
        throw new GauntletError('HOST_UNREACHABLE', `jump host ${jumpHost.id}: ${(err as Error).message}`, { cause: err });
      }
      return this.jumpTransport.openTunnel(this.host.address, this.host.port);
    }
    const startedAt = performance.now();
    return new Promise<Socket>((resolve, reject) => {
      const sock = connectTcp({ host: this.host.address, port: this.host.port });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new GauntletError('HOST_UNREACHABLE', `connect ${describeErrno('ETIMEDOUT')} after ${formatSeconds(budgetMs)}`));
      }, budgetMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.setNoDelay(true);
        resolve(sock);
      });
      sock.once('error', (err) => {
        clearTimeout(timer);
        const elapsed = formatSeconds(performance.now() - startedAt);
        reject(new GauntletError('HOST_UNREACHABLE', `connect ${describeErrno(errnoOf(err))} after ${elapsed}`, { cause: err }));
      });
    });
  }

  /** A direct-tcpip channel from this host to another, used as the socket of a host behind it. */
  openTunnel(address: string, port: number): Promise<Duplex> {
    const client = this.requireClient();
    return new Promise((resolve, reject) => {
      client.forwardOut('127.0.0.1', 0, address, port, (err, channel) => {
        if (err) {
          reject(new GauntletError('HOST_UNREACHABLE', `tunnel from ${this.host.id} to ${address}:${port} refused: ${err.message}`, { cause: err }));
        } else {
          resolve(channel);
        }
      });
    });
  }

  private async authMethods(): Promise<AuthenticationType[] | ConnectConfig['authHandler']> {
    const user = this.host.user;
    const methods: NonNullable<ConnectConfig['authHandler']> & unknown[] = [];
    const keyFiles = this.host.keyFile ? [this.host.keyFile] : await existingDefaultKeys();
    for (const path of keyFiles) {
      methods.push({ type: 'publickey', username: user, key: await loadPrivateKey(path) });
    }
    const agent = this.options.agentSocket ?? process.env.SSH_AUTH_SOCK;
    if (agent) methods.push({ type: 'agent', username: user, agent });
    if (methods.length === 0) {
      throw new GauntletError(
        'AUTH_FAILED',
        `no way to authenticate as ${user}: set ansible_ssh_private_key_file, or run an ssh-agent (SSH_AUTH_SOCK)`,
      );
    }
    return methods as ConnectConfig['authHandler'];
  }

  private knownHostsPath(): string {
    return this.host.knownHostsFile ?? join(homedir(), '.ssh', 'known_hosts');
  }

  private knownEntries(): Promise<KnownHostEntry[]> {
    return openKnownHosts(this.knownHostsPath()).entriesFor(knownHostName(this.host.address, this.host.port));
  }

  private handshake(
    sock: Duplex,
    authHandler: ConnectConfig['authHandler'],
    known: KnownHostEntry[],
    readyTimeoutMs: number,
    startedAt: number,
  ): Promise<void> {
    const client = new Client();
    this.client = client;
    let bytesSeen = 0;
    sock.on('data', (chunk: Buffer) => {
      bytesSeen += chunk.length;
    });
    let keyProblem: GauntletError | undefined;
    const recorded = known.filter((entry) => !entry.revoked).map((entry) => entry.keyType);
    const preferred = [...new Set(recorded.flatMap(algorithmsForKeyType))].filter((a) => SUPPORTED_HOST_KEY_ALGORITHMS.has(a));

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err?: Error): void => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      };
      client.once('ready', () => {
        client.on('error', (err) => this.markLost(err));
        client.on('close', () => this.markLost(new Error('connection closed by the host')));
        settle();
      });
      client.on('error', (err: Error & { level?: string }) => {
        if (settled) return;
        const elapsed = formatSeconds(performance.now() - startedAt);
        if (keyProblem) settle(keyProblem);
        else if (err.level === 'client-authentication') {
          settle(new GauntletError('AUTH_FAILED', `authentication failed for user ${this.host.user} (every key and the agent were refused)`, { cause: err }));
        } else if (err.level === 'client-timeout') {
          settle(
            new GauntletError(
              'HOST_UNREACHABLE',
              bytesSeen === 0
                ? `no SSH banner after ${elapsed}: the port accepts TCP but nothing speaks SSH there`
                : `SSH handshake did not finish after ${elapsed}`,
              { cause: err },
            ),
          );
        } else {
          const code = errnoOf(err);
          const cause = code ? describeErrno(code) : err.message;
          settle(new GauntletError('HOST_UNREACHABLE', `SSH handshake failed after ${elapsed}: ${cause}`, { cause: err }));
        }
      });
      client.on('close', () => {
        if (settled) return;
        const elapsed = formatSeconds(performance.now() - startedAt);
        settle(keyProblem ?? new GauntletError('HOST_UNREACHABLE', `connection closed by the host during the SSH handshake after ${elapsed}`));
      });
      client.connect({
        sock,
        username: this.host.user,
        authHandler,
        readyTimeout: readyTimeoutMs,
        keepaliveInterval: this.host.keepaliveIntervalS * 1000,
        keepaliveCountMax: this.host.keepaliveCountMax,
        algorithms: preferred.length > 0 ? { serverHostKey: { remove: preferred, prepend: preferred } } : undefined,
        hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
          this.verifyHostKey(key, known).then(
            () => verify(true),
            (err: GauntletError) => {
              keyProblem = err;
              verify(false);
            },
          );
        },
      } as ConnectConfig);
    });
  }

  private async verifyHostKey(key: Buffer, known: KnownHostEntry[]): Promise<void> {
    const name = knownHostName(this.host.address, this.host.port);
    const file = this.knownHostsPath();
    const presented = `${keyTypeOf(key)} key ${fingerprintOf(key)}`;
    const verdict = judgeHostKey(known, key);
    switch (verdict.kind) {
      case 'match':
        return;
      case 'unknown':
        if (this.options.acceptNewHostKeys) {
          await openKnownHosts(file).record(name, key);
          return;
        }
        throw new GauntletError(
          'HOST_KEY_UNKNOWN',
          `host key for ${name} is not in ${file} (the host presents ${presented}); check the fingerprint, then rerun with --accept-new-host-keys to record it`,
        );
      case 'changed': {
        const old = verdict.expected.map((entry) => `${file}:${entry.line} has ${fingerprintOf(entry.key)}`).join(', ');
        throw new GauntletError(
          'HOST_KEY_CHANGED',
          `host key for ${name} has CHANGED: the host presents ${presented} but ${old}; someone may be intercepting the connection, or the host was reinstalled (then remove the old key: ssh-keygen -R '${name}' -f ${file})`,
        );
      }
      case 'revoked':
        throw new GauntletError('HOST_KEY_REVOKED', `host key for ${name} (${presented}) is marked @revoked in ${file}:${verdict.entry.line}`);
    }
  }

  private markLost(err: Error & { level?: string }): void {
    if (this.closing || this.current !== 'ready') return;
    this.current = 'lost';
    const reason =
      err.message === 'Keepalive timeout'
        ? `no answer to ${this.host.keepaliveCountMax} keepalives ${this.host.keepaliveIntervalS} s apart`
        : errnoOf(err)
          ? `connection ${describeErrno(errnoOf(err))}`
          : err.message;
    const lost = new GauntletError('LOST_CONNECTION', reason, { cause: err });
    for (const fail of [...this.pending]) fail(lost);
    for (const listener of this.lostListeners) {
      try {
        listener(lost);
      } catch {
        /* a listener's failure is its own */
      }
    }
    this.client?.end();
  }

  private requireClient(): Client {
    if (this.current === 'ready' && this.client) return this.client;
    const code = this.current === 'lost' ? 'LOST_CONNECTION' : 'NOT_CONNECTED';
    throw new GauntletError(code, `not connected to ${this.host.id} (state ${this.current})`);
  }

  run(command: string, options: RunOptions = {}): Promise<CommandResult> {
    return this.channels(() => this.exec(command, options));
  }

  private exec(command: string, options: RunOptions): Promise<CommandResult> {
    const client = this.requireClient();
    const limit = options.maxBuffer ?? DEFAULT_MAX_BUFFER;
    const stdout = new OutputCollector(limit, options.onStdout);
    const stderr = new OutputCollector(limit, options.onStderr);
    const pidLine = new PidLineSplitter((chunk) => stderr.push(chunk));
    this.inflight.add(pidLine);
    const startedAt = performance.now();
    // The session's shell prints its PID (the session and process-group leader) on stderr before becoming the
    // command, so a timeout can end the whole process group from a second channel: sshd ignores SSH `signal`
    // requests in many configurations.
    const wrapped = `echo "$$" >&2; exec /bin/sh -c ${quoteShell(withEnv(command, options.env))}`;

    return new Promise<CommandResult>((resolve, reject) => {
      let exitCode: number | null = null;
      let signal: string | null = null;
      let sawExit = false;
      let timedOut = false;
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      let graceTimer: NodeJS.Timeout | undefined;
      const snapshot = (): CommandResult => buildResult({ command, stdout, stderr, exitCode, signal, startedAt, timedOut });
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearTimeout(graceTimer);
        this.pending.delete(onLost);
        this.inflight.delete(pidLine);
        if (err) reject(new CommandLostError(err.message, snapshot()));
        else if (!sawExit && !timedOut) reject(new CommandLostError('the channel closed without an exit status', snapshot()));
        else resolve(snapshot());
      };
      const onLost = (err: Error): void => finish(err);
      this.pending.add(onLost);

      client.exec(wrapped, (err: Error | undefined, stream: ClientChannel) => {
        if (err) {
          done = true;
          this.pending.delete(onLost);
          this.inflight.delete(pidLine);
          const code = this.current === 'ready' ? 'COMMAND_FAILED' : 'LOST_CONNECTION';
          reject(new GauntletError(code, `could not open a channel on ${this.host.id}: ${err.message}`, { cause: err }));
          return;
        }
        stream.on('data', (chunk: Buffer) => stdout.push(chunk));
        stream.stderr.on('data', (chunk: Buffer) => pidLine.push(chunk));
        stream.on('exit', (code: number | null, signalName?: string) => {
          sawExit = true;
          if (typeof code === 'number') exitCode = code;
          else signal = signalName ? signalName.replace(/^SIG/, '') : null;
        });
        stream.on('close', () => finish());
        stream.on('error', (streamErr: Error) => finish(streamErr));
        if (options.timeoutMs && options.timeoutMs > 0) {
          timer = setTimeout(() => {
            timedOut = true;
            this.killSession(pidLine.pid);
            graceTimer = setTimeout(() => {
              stream.close();
              finish();
            }, CLOSE_GRACE_MS);
          }, options.timeoutMs);
        }
        if (options.stdin !== undefined) stream.end(options.stdin);
        else stream.end();
      });
    });
  }

  /** Ends a timed-out command's process group from a fresh channel; best effort, the host may be hung. */
  private killSession(pid: number | undefined): void {
    if (pid === undefined || this.current !== 'ready' || !this.client) return;
    this.client.exec(`kill -KILL -- -${pid} ${pid} 2>/dev/null`, (err, stream) => {
      if (!err) stream.resume().on('close', () => undefined).end();
    });
  }

  async upload(source: string | Buffer, remotePath: string): Promise<void> {
    const command = `cat > ${quoteShell(remotePath)}`;
    const result = await this.channels(
      () =>
        new Promise<CommandResult>((resolve, reject) => {
          const client = this.requireClient();
          const startedAt = performance.now();
          const stderr = new OutputCollector(64 * 1024);
          client.exec(command, (err, stream) => {
            if (err) {
              reject(new GauntletError('COMMAND_FAILED', `could not open a channel on ${this.host.id}: ${err.message}`));
              return;
            }
            let exitCode: number | null = null;
            stream.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
            // The channel closes only once its output side is drained too.
            stream.resume();
            stream.on('exit', (code: number | null) => {
              exitCode = code;
            });
            stream.on('close', () =>
              resolve(buildResult({ command, stdout: new OutputCollector(0), stderr, exitCode, signal: null, startedAt, timedOut: false })),
            );
            if (typeof source === 'string') {
              const file = createReadStream(source);
              file.on('error', (readErr) => {
                stream.close();
                reject(new GauntletError('COMMAND_FAILED', `cannot read ${source}: ${readErr.message}`));
              });
              file.pipe(stream);
            } else {
              stream.end(source);
            }
          });
        }),
    );
    if (result.exitCode !== 0) {
      throw new GauntletError('COMMAND_FAILED', `upload to ${this.host.id}:${remotePath} failed: ${result.stderr.trim() || `exit ${result.exitCode}`}`);
    }
  }

  /** A stream to the engine's unix socket: OpenSSH stream-local forwarding, else `docker system dial-stdio`. */
  openDockerStream(): Promise<Duplex> {
    const client = this.requireClient();
    const viaDialStdio = (): Promise<Duplex> =>
      new Promise((resolve, reject) => {
        client.exec(`docker -H ${quoteShell(`unix://${this.host.dockerSocket}`)} system dial-stdio`, (err, stream) => (err ? reject(err) : resolve(stream)));
      });
    if (this.dockerVia === 'dial-stdio') return viaDialStdio();
    return new Promise<Duplex>((resolve, reject) => {
      client.openssh_forwardOutStreamLocal(this.host.dockerSocket, (err, stream) => {
        if (!err) {
          resolve(stream);
          return;
        }
        // The server forbids stream-local forwarding (AllowStreamLocalForwarding no): use the docker CLI's bridge.
        this.dockerVia = 'dial-stdio';
        viaDialStdio().then(resolve, (fallbackErr: Error) =>
          reject(new GauntletError('ENGINE_UNAVAILABLE', `cannot reach ${this.dockerEndpoint()}: ${err.message}; docker system dial-stdio: ${fallbackErr.message}`)),
        );
      });
    });
  }

  docker(): Docker {
    this.dockerClient ??= createDockerOverStreams(() => this.openDockerStream());
    return this.dockerClient;
  }

  dockerEndpoint(): string {
    return `unix://${this.host.dockerSocket} via ${this.host.id}`;
  }

  async close(): Promise<void> {
    await this.endInflightCommands();
    this.closing = true;
    const closed = new GauntletError('LOST_CONNECTION', 'connection closed by gauntlet');
    for (const fail of [...this.pending]) fail(closed);
    if (this.client) {
      const client = this.client;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        client.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        client.end();
      });
      this.client = undefined;
    }
    await this.jumpTransport?.close();
    this.jumpTransport = undefined;
    if (this.current !== 'failed') this.current = 'closed';
  }

  onLost(listener: (err: Error) => void): void {
    this.lostListeners.push(listener);
  }

  /** Kills the process groups of commands still running, so closing early (an interrupted run) leaves nothing behind. */
  private async endInflightCommands(): Promise<void> {
    const pids = [...this.inflight].map((line) => line.pid).filter((pid): pid is number => pid !== undefined);
    if (pids.length === 0 || this.current !== 'ready' || !this.client) return;
    const client = this.client;
    const targets = pids.map((pid) => `-${pid} ${pid}`).join(' ');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      client.exec(`kill -KILL -- ${targets} 2>/dev/null`, (err, stream) => {
        if (err) {
          clearTimeout(timer);
          resolve();
          return;
        }
        stream.resume().on('close', () => {
          clearTimeout(timer);
          resolve();
        });
        stream.end();
      });
    });
  }
}

/** Takes the session PID line off the front of stderr and passes the rest on. */
class PidLineSplitter {
  pid: number | undefined;
  private head: Buffer | undefined = Buffer.alloc(0);

  constructor(private readonly forward: (chunk: Buffer) => void) {}

  push(chunk: Buffer): void {
    if (!this.head) {
      this.forward(chunk);
      return;
    }
    const joined = Buffer.concat([this.head, chunk]);
    const newline = joined.indexOf(0x0a);
    if (newline === -1 && joined.length < 32) {
      this.head = joined;
      return;
    }
    const line = newline === -1 ? '' : joined.subarray(0, newline).toString('latin1');
    this.head = undefined;
    if (/^\d+$/.test(line)) {
      this.pid = Number(line);
      if (joined.length > newline + 1) this.forward(joined.subarray(newline + 1));
    } else {
      this.forward(joined);
    }
  }
}

async function existingDefaultKeys(): Promise<string[]> {
  const found: string[] = [];
  for (const name of DEFAULT_KEY_FILES) {
    const path = join(homedir(), '.ssh', name);
    try {
      await readFile(path);
      found.push(path);
    } catch {
      /* not there: OpenSSH skips it too */
    }
  }
  return found;
}
