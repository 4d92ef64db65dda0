// Runs suites on every selected host at once: one connection and one worker thread per host, every event journaled.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import pLimit from 'p-limit';
import { describeRunner, gatherFacts, readGauntletVersion, stackKeyOf } from '../facts/index.js';
import {
  HARNESS_ERROR_TYPES,
  type Facts,
  type HostCause,
  type HostSpec,
  type Inventory,
  type JournalEvent,
  type RunRecord,
  type RunStartEvent,
  type RunSummary,
  type SuiteRef,
} from '../model/index.js';
import { buildRunRecord, exitCodeOf, JournalWriter, ReporterMultiplexer, summarizeRun, writeJunit, type Reporter } from '../report/index.js';
import { createTransport, formatSeconds, type Transport } from '../transport/index.js';
import { bridgePortToStream } from './port-stream.js';
import { serializeError, type RunnerMessage, type WorkerMessage } from './rpc.js';
import { selectShard, type Shard } from './shard.js';
import type { WorkerInput } from './worker.js';

export interface RunPlan {
  inventory: Inventory;
  hosts: HostSpec[];
  limit: string | null;
  suites: SuiteRef[];
  params: Record<string, unknown>;
  seed: number;
  shard: Shard | null;
  retries: number;
  bail: boolean;
  /** Per-test timeout overriding the suites' own. */
  timeoutMs: number | null;
  /** Per-suite timeout: a suite still running after this is stopped and its unfinished tests are errors. */
  suiteTimeoutMs: number | null;
  /** Hosts worked on at once. */
  workers: number;
  /** Parent of the run's directory. */
  outDir: string;
  acceptNewHostKeys: boolean;
  argv: string[];
  reporters: Reporter[];
}

export interface RunResult {
  runId: string;
  reportDir: string;
  record: RunRecord;
  summary: RunSummary;
  exitCode: number;
}

/** Sortable and unique: `20261122-075501-3fa2`. */
export function createRunId(date = new Date()): string {
  const stamp = date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

const WORKER_URL = new URL(fileURLToPath(import.meta.url).endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
/** Memory a host's worker may use before it, alone, is stopped. */
const WORKER_HEAP_MB = 1024;

interface HostJob {
  host: HostSpec;
  suites: SuiteRef[];
}

/** The whole run. Resolves when every host is done or the run was interrupted; never rejects for a host's failure. */
export class Run {
  readonly runId = createRunId();
  readonly reportDir: string;
  private readonly journal: JournalWriter;
  private readonly events: JournalEvent[] = [];
  private readonly reporters: ReporterMultiplexer;
  private readonly workers = new Set<Worker>();
  private readonly transports = new Set<Transport>();
  private interrupted: NodeJS.Signals | null = null;
  /** Hosts connect while the runner describes itself; their events wait until run-start is journaled. */
  private readonly startRecorded: Promise<void>;
  private markStartRecorded!: () => void;
  private finished: Promise<RunResult> | null = null;

  constructor(private readonly plan: RunPlan) {
    this.reportDir = join(plan.outDir, this.runId);
    this.journal = JournalWriter.open(join(this.reportDir, 'journal.jsonl'));
    this.reporters = new ReporterMultiplexer(plan.reporters);
    this.startRecorded = new Promise((resolve) => {
      this.markStartRecorded = resolve;
    });
  }

  /** Appends to the journal first (the source of truth), then tells the reporters. */
  private record(event: JournalEvent): void {
    if (this.interrupted && event.type !== 'run-end') return;
    this.journal.append(event);
    this.events.push(event);
    if (event.type === 'run-start') this.reporters.onRunStart(event);
    else this.reporters.onEvent(event);
  }

  async execute(): Promise<RunResult> {
    const { plan } = this;
    const jobs = selectShard(plan.hosts, plan.suites, plan.shard).map(({ host, suites }): HostJob => ({ host, suites }));
    const limit = pLimit(Math.max(1, plan.workers));
    const hostsDone = Promise.all(jobs.map((job) => limit(() => (this.interrupted ? Promise.resolve() : this.runHost(job)))));
    const [runner, version] = await Promise.all([describeRunner().catch(() => null), readGauntletVersion()]);
    const start: RunStartEvent = {
      type: 'run-start',
      ts: new Date().toISOString(),
      runId: this.runId,
      gauntletVersion: version,
      argv: plan.argv,
      inventory: { file: plan.inventory.file, digest: plan.inventory.digest },
      limit: plan.limit,
      hosts: jobs.map(({ host }) => ({ name: host.name, id: host.id })),
      suites: plan.suites,
      params: plan.params,
      seed: plan.seed,
      shard: plan.shard,
      pairs: Object.fromEntries(jobs.map(({ host, suites }) => [host.name, suites.map((suite) => suite.name)])),
      retries: plan.retries,
      runner,
    };
    this.record(start);
    this.markStartRecorded();
    await hostsDone;
    return this.finish(null);
  }

  /**
   * Stops the run: workers are terminated, commands still running on hosts are killed, unfinished tests
   * become INTERRUPTED errors, and the reports are written. Safe to call more than once.
   */
  interrupt(signal: NodeJS.Signals): Promise<RunResult> {
    if (!this.interrupted) this.interrupted = signal;
    return this.finish(signal);
  }

  private finish(signal: NodeJS.Signals | null): Promise<RunResult> {
    this.finished ??= (async () => {
      await Promise.all([...this.workers].map((worker) => worker.terminate()));
      await Promise.all([...this.transports].map((transport) => transport.close().catch(() => undefined)));
      const provisional = buildRunRecord([...this.events, { type: 'run-end', ts: new Date().toISOString(), exitCode: 0, ...(signal ? { interrupted: signal } : {}) }]);
      const exitCode = exitCodeOf(provisional);
      this.record({ type: 'run-end', ts: new Date().toISOString(), exitCode, ...(signal ? { interrupted: signal } : {}) });
      this.journal.close();
      const record = buildRunRecord(this.events);
      const summary = summarizeRun(record);
      await writeJunit(record, join(this.reportDir, 'junit.xml'));
      await this.reporters.onRunEnd(record, summary, this.reportDir);
      return { runId: this.runId, reportDir: this.reportDir, record, summary, exitCode };
    })();
    return this.finished;
  }

  /** One host from connect to done; every failure becomes the host's cause, never an exception. */
  private async runHost({ host, suites }: HostJob): Promise<void> {
    const transport = createTransport(host, { acceptNewHostKeys: this.plan.acceptNewHostKeys });
    this.transports.add(transport);
    let cause: HostCause | undefined;
    try {
      let facts: Facts | null = null;
      let unreachable: string | null = null;
      try {
        await transport.connect();
        facts = await gatherFacts(transport);
        await this.startRecorded;
        this.record({ type: 'host-facts', ts: new Date().toISOString(), host: host.name, id: host.id, stackKey: stackKeyOf(facts), facts });
      } catch (err) {
        await this.startRecorded;
        unreachable = (err as Error).message;
        const code = (err as { code?: string }).code;
        if (code === 'LOST_CONNECTION') {
          cause = { type: HARNESS_ERROR_TYPES.LOST_CONNECTION, message: `connection lost while gathering facts: ${unreachable}` };
        } else {
          this.record({ type: 'host-unreachable', ts: new Date().toISOString(), host: host.name, id: host.id, error: unreachable });
          cause = { type: HARNESS_ERROR_TYPES.HOST_UNREACHABLE, message: unreachable };
        }
      }
      if (this.interrupted) return;
      cause = (await this.runWorker(host, suites, transport, facts, unreachable)) ?? cause;
    } finally {
      this.transports.delete(transport);
      await transport.close().catch(() => undefined);
      if (!this.interrupted) this.record({ type: 'host-end', ts: new Date().toISOString(), host: host.name, ...(cause ? { error: cause } : {}) });
    }
  }

  /** Runs the host's worker, serving its calls on the host's connection. Resolves to the cause if it ended early. */
  private runWorker(host: HostSpec, suites: SuiteRef[], transport: Transport, facts: Facts | null, unreachable: string | null): Promise<HostCause | undefined> {
    const { plan } = this;
    const input: WorkerInput = {
      host,
      facts,
      unreachable,
      suites,
      params: plan.params,
      seed: plan.seed,
      timeoutMs: plan.timeoutMs,
      retries: plan.retries,
      bail: plan.bail,
      typescript: suites.some((suite) => /\.m?ts$/.test(suite.path)),
    };
    const worker = new Worker(WORKER_URL, { workerData: input, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB }, stdout: true, stderr: true });
    this.workers.add(worker);
    // A suite's stray console output belongs to its host, not the terminal: the worker also routes console to test output.
    worker.stdout.resume();
    worker.stderr.resume();

    let cause: HostCause | undefined;
    let done = false;
    let suiteTimer: NodeJS.Timeout | undefined;
    const post = (message: RunnerMessage): void => {
      try {
        worker.postMessage(message);
      } catch {
        /* the worker is gone */
      }
    };
    const stop = (why: HostCause): void => {
      cause ??= why;
      void worker.terminate();
    };

    transport.onLost((err) => {
      cause ??= { type: HARNESS_ERROR_TYPES.LOST_CONNECTION, message: err.message };
      post({ kind: 'lost', error: serializeError(err) });
    });

    return new Promise((resolve) => {
      worker.on('message', (message: WorkerMessage) => {
        switch (message.kind) {
          case 'event': {
            const event = message.event;
            if (event.type === 'suite-start' && plan.suiteTimeoutMs) {
              clearTimeout(suiteTimer);
              suiteTimer = setTimeout(
                () => stop({ type: HARNESS_ERROR_TYPES.TIMEOUT, message: `suite ${event.suite} ran past its ${formatSeconds(plan.suiteTimeoutMs!)} timeout and was stopped` }),
                plan.suiteTimeoutMs,
              );
            } else if (event.type === 'suite-end') {
              clearTimeout(suiteTimer);
            }
            this.record(event);
            break;
          }
          case 'run':
            transport.run(message.command, message.options).then(
              (value) => post({ kind: 'result', id: message.id, ok: true, value }),
              (err: unknown) => post({ kind: 'result', id: message.id, ok: false, error: serializeError(err) }),
            );
            break;
          case 'upload':
            transport.upload(typeof message.source === 'string' ? message.source : Buffer.from(message.source), message.remotePath).then(
              () => post({ kind: 'result', id: message.id, ok: true, value: null }),
              (err: unknown) => post({ kind: 'result', id: message.id, ok: false, error: serializeError(err) }),
            );
            break;
          case 'docker-open':
            transport.openDockerStream().then(
              (stream) => {
                bridgePortToStream(message.port, stream);
                post({ kind: 'result', id: message.id, ok: true, value: null });
              },
              (err: unknown) => {
                message.port.close();
                post({ kind: 'result', id: message.id, ok: false, error: serializeError(err) });
              },
            );
            break;
          case 'done':
            done = true;
            void worker.terminate();
            break;
        }
      });
      worker.on('error', (err: Error) => {
        const oom = (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
        cause ??= {
          type: HARNESS_ERROR_TYPES.WORKER_CRASHED,
          message: oom ? `worker ran out of memory (${WORKER_HEAP_MB} MiB heap)` : `worker crashed: ${err.message.split('\n')[0]}`,
        };
      });
      worker.on('exit', (code) => {
        clearTimeout(suiteTimer);
        this.workers.delete(worker);
        if (!done && !this.interrupted) cause ??= { type: HARNESS_ERROR_TYPES.WORKER_CRASHED, message: `worker exited unexpectedly (code=${code})` };
        resolve(cause);
      });
    });
  }
}
