// The `host` a suite uses inside a worker: every command, upload and engine stream goes through the runner's connection.

import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type Docker from 'dockerode';
import { GauntletError, type CommandRecord, type CommandResult, type Facts, type HostSpec, type KernelEventRecord } from '../model/index.js';
import { createDockerOverStreams } from '../transport/lazy.js';
import { createPortStream } from './port-stream.js';
import type { CallRunOptions, RunnerMessage, SerializedError, WorkerMessage } from './rpc.js';
import type { Host, HostEventFilter, HostKernelEvent, HostRunOptions, HostRunResult } from './suite-api.js';

/** Calls the runner over the worker's port; a lost connection fails every pending and later call. */
export class RunnerClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  private lost: SerializedError | null = null;
  private readonly lostListeners: Array<(error: SerializedError) => void> = [];
  /** Kernel events the runner saw on this host, in the order it saw them. */
  readonly kernelEvents: KernelEventRecord[] = [];
  private readonly kernelEventListeners = new Set<() => void>();
  private draining: string | null = null;
  private readonly drainListeners = new Set<(reason: string) => void>();

  constructor(private readonly port: MessagePort) {
    port.on('message', (message: RunnerMessage) => this.receive(message));
  }

  private receive(message: RunnerMessage): void {
    if (message.kind === 'kernel-event') {
      this.kernelEvents.push(message.event);
      for (const listener of this.kernelEventListeners) listener();
      return;
    }
    if (message.kind === 'drain') {
      this.drain(message.reason);
      return;
    }
    if (message.kind === 'lost') {
      this.lost = message.error;
      for (const { reject } of this.pending.values()) reject(toError(message.error));
      this.pending.clear();
      for (const listener of this.lostListeners) listener(message.error);
      return;
    }
    const call = this.pending.get(message.id);
    if (!call) return;
    this.pending.delete(message.id);
    if (message.ok) call.resolve(message.value);
    else call.reject(toError(message.error));
  }

  /** Calls `listener` after each new kernel event; returns the function that removes it. */
  onKernelEvent(listener: () => void): () => void {
    this.kernelEventListeners.add(listener);
    return () => this.kernelEventListeners.delete(listener);
  }

  /** Stops the host's work after the test now running; later calls change nothing. */
  drain(reason: string): void {
    if (this.draining !== null) return;
    this.draining = reason;
    for (const listener of this.drainListeners) listener(reason);
  }

  /** Why the host's work is to stop after the test now running, or null. */
  get drainReason(): string | null {
    return this.draining;
  }

  /** Calls `listener` when the runner asks the worker to drain; returns the function that removes it. */
  onDrain(listener: (reason: string) => void): () => void {
    this.drainListeners.add(listener);
    return () => this.drainListeners.delete(listener);
  }

  onLost(listener: (error: SerializedError) => void): void {
    this.lostListeners.push(listener);
  }

  get lostError(): SerializedError | null {
    return this.lost;
  }

  send(message: WorkerMessage, transfer: MessagePort[] = []): void {
    this.port.postMessage(message, transfer);
  }

  call<T>(build: (id: number) => WorkerMessage, transfer: MessagePort[] = []): Promise<T> {
    if (this.lost) return Promise.reject(toError(this.lost));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.send(build(id), transfer);
    });
  }
}

/** Rebuilds a runner-side error in the worker with its code (and partial command result) intact. */
function toError(error: SerializedError): Error {
  const err = new GauntletError(error.code as GauntletError['code'], error.message);
  if (error.result) Object.assign(err, { result: error.result });
  return err;
}

export interface HostHandleHooks {
  /** Default command timeout: the current test's timeout. */
  defaultTimeoutMs(): number;
  /** Appends to the current test's output. */
  appendOutput(line: string): void;
  recordMetric(name: string, value: number, unit: string): void;
  /** Records a command for the test's transcript; `startedAt` is `performance.now()` when it started. */
  recordCommand?(record: Omit<CommandRecord, 'startMs'> & { startedAt: number }): void;
}

/** Builds the `host` global for one host. */
export function createHostHandle(spec: HostSpec, facts: Facts | null, client: RunnerClient, hooks: HostHandleHooks): Host {
  let docker: Docker | undefined;

  const run = async (command: string, options: HostRunOptions = {}): Promise<HostRunResult> => {
    const callOptions: CallRunOptions = {
      timeoutMs: options.timeout ?? hooks.defaultTimeoutMs(),
      env: options.env,
      stdin: options.stdin,
    };
    let result: CommandResult;
    const startedAt = performance.now();
    try {
      result = await client.call<CommandResult>((id) => ({ kind: 'run', id, command, options: callOptions }));
    } catch (err) {
      hooks.appendOutput(`$ ${shownCommand(command)}\n  could not run: ${(err as Error).message}`);
      hooks.recordCommand?.({ command, startedAt, durationMs: Math.round(performance.now() - startedAt), exitCode: null, error: (err as Error).message });
      throw err;
    }
    hooks.recordCommand?.({
      command,
      startedAt,
      durationMs: result.durationMs,
      exitCode: result.exitCode,
      ...(result.signal ? { signal: result.signal } : {}),
      ...(result.timedOut ? { timedOut: true } : {}),
    });
    const status = result.timedOut ? `timed out after ${result.durationMs} ms` : result.signal ? `killed by SIG${result.signal}` : `exit ${result.exitCode}`;
    hooks.appendOutput(`$ ${shownCommand(command)}\n  ${status} in ${result.durationMs} ms${transcriptTail(result)}`);
    const { stdout, stderr, exitCode, signal, durationMs, timedOut } = result;
    return { stdout, stderr, exitCode, signal, durationMs, timedOut };
  };

  const runExpect = async (command: string, codes: number[] = [0], options?: HostRunOptions): Promise<HostRunResult> => {
    const result = await run(command, options);
    if (result.exitCode === null || !codes.includes(result.exitCode)) {
      const how = result.timedOut ? 'timed out' : result.signal ? `was killed by SIG${result.signal}` : `exited ${result.exitCode}`;
      const stderr = result.stderr.trim().split('\n').slice(-3).join(' | ');
      throw new CommandExpectationError(`\`${command}\` ${how}, expected exit ${codes.join(' or ')}${stderr ? `: ${stderr}` : ''}`, result);
    }
    return result;
  };

  return {
    name: spec.name,
    id: spec.id,
    facts,
    vars: spec.vars,
    run,
    runExpect,
    checkOutput: async (command, options) => (await runExpect(command, [0], options)).stdout,
    upload: async (source, remotePath) => {
      await client.call<void>((id) => ({ kind: 'upload', id, source: typeof source === 'string' ? source : new Uint8Array(source), remotePath }));
      hooks.appendOutput(`upload ${typeof source === 'string' ? source : `${source.length} bytes`} → ${remotePath}`);
    },
    get docker(): Docker {
      docker ??= createDocker(client);
      return docker;
    },
    log: (message) => hooks.appendOutput(message),
    events: (filter = {}) => client.kernelEvents.filter((event) => matchesEvent(event, filter)).map(toHostEvent),
    waitForEvent: (filter, timeoutMs = hooks.defaultTimeoutMs()) =>
      new Promise((resolve, reject) => {
        const find = () => client.kernelEvents.find((event) => matchesEvent(event, filter));
        const found = find();
        if (found) return resolve(toHostEvent(found));
        const timer = setTimeout(() => {
          remove();
          reject(new Error(`no kernel event ${describeFilter(filter)} within ${timeoutMs} ms (seen: ${client.kernelEvents.map((event) => event.class).join(', ') || 'none'})`));
        }, timeoutMs);
        const remove = client.onKernelEvent(() => {
          const event = find();
          if (!event) return;
          clearTimeout(timer);
          remove();
          resolve(toHostEvent(event));
        });
      }),
    metric: (name, value, unit = '') => {
      if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new TypeError(`metric name ${JSON.stringify(name)}: use letters, digits, _ . -`);
      if (!Number.isFinite(value)) throw new TypeError(`metric ${name}: value must be a finite number, got ${value}`);
      hooks.recordMetric(name, value, unit);
    },
  };
}

function matchesEvent(event: KernelEventRecord, filter: HostEventFilter): boolean {
  if (filter.class !== undefined && ![filter.class].flat().includes(event.class)) return false;
  if (filter.fatal !== undefined && event.fatal !== filter.fatal) return false;
  if (filter.since !== undefined && Date.parse(event.detectedAt) < filter.since.getTime()) return false;
  if (filter.title !== undefined && !(typeof filter.title === 'string' ? event.title.includes(filter.title) : filter.title.test(event.title))) return false;
  return true;
}

function describeFilter(filter: HostEventFilter): string {
  const parts = Object.entries(filter).map(([key, value]) => `${key}=${value instanceof Date ? value.toISOString() : String(value)}`);
  return parts.length > 0 ? `matching ${parts.join(' ')}` : 'at all';
}

function toHostEvent(event: KernelEventRecord): HostKernelEvent {
  return {
    class: event.class,
    title: event.title,
    fatal: event.fatal,
    source: event.source,
    via: event.via,
    detectedAt: new Date(event.detectedAt),
    excerpt: event.excerpt,
    test: event.test ? `${event.test.suite} > ${event.test.title}` : null,
  };
}

/** A failed `runExpect`/`checkOutput`: the host did not behave, so the test fails (not a harness error). */
export class CommandExpectationError extends Error {
  constructor(
    message: string,
    readonly result: HostRunResult,
  ) {
    super(message);
    this.name = 'CommandExpectationError';
  }
}

function transcriptTail(result: CommandResult): string {
  if (result.exitCode === 0) return '';
  const tail = result.stderr.trim().split('\n').slice(-5).join('\n  | ');
  return tail ? `\n  | ${tail}` : '';
}

/** dockerode whose every HTTP connection is an engine stream the runner opens on the host's connection. */
function createDocker(client: RunnerClient): Docker {
  return createDockerOverStreams(async () => {
    const { port1, port2 } = new MessageChannel();
    try {
      await client.call<void>((id) => ({ kind: 'docker-open', id, port: port2 }), [port2]);
    } catch (err) {
      port1.close();
      throw err;
    }
    return createPortStream(port1);
  });
}

/** A command as the test's output shows it: a long script by its first lines only. */
function shownCommand(command: string): string {
  const lines = command.trim().split('\n');
  if (lines.length <= 6) return command;
  return `${lines.slice(0, 3).join('\n')}\n… (${lines.length - 3} more lines)`;
}
