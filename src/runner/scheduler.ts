// Runs suites on every selected host at once: one connection and one worker thread per host, every event journaled.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import pLimit from 'p-limit';
import { describeRunner, gatherFacts, readGauntletVersion, stackKeyOf } from '../facts/index.js';
import {
  HARNESS_ERROR_TYPES,
  type Facts,
  type HostCause,
  type HostSpec,
  type KernelEventRecord,
  type TestRef,
  type Inventory,
  type JournalEvent,
  type RunRecord,
  type RunStartEvent,
  type RunSummary,
  type SuiteRef,
  type TestSelector,
} from '../model/index.js';
import { buildRunRecord, exitCodeOf, JournalWriter, pickMostSevere, ReporterMultiplexer, summarizeRun, writeJunit, type Reporter } from '../report/index.js';
import { createTransport, formatSeconds, type Transport } from '../transport/index.js';
import { FaultWatch, POST_MORTEM_BASELINE_COMMAND, buildPostMortemCommand, parsePostMortem } from './fault-watch.js';
import { bridgePortToStream } from './port-stream.js';
import { serializeError, testKey, type RunnerMessage, type WorkerMessage, type WorkerResume } from './rpc.js';
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
  /** Watch each host's kernel log, console and heartbeat (on by default). */
  watch: boolean;
  /** After a host crashed and came back, run its remaining tests (else they are errors with the crash as cause). */
  continueAfterCrash: boolean;
  /** How long to wait for a lost host to come back (after its power cycle, when it has one). */
  recoverTimeoutMs: number;
  /** The run's id, when the caller chose it (a soak names its iterations before they start); else a new one. */
  runId?: string;
  /** Run only this test of its suite (`gauntlet repro`); hooks still run. */
  only?: TestSelector;
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
/** After a host is lost, how long its console may still deliver the crash's last lines. */
const CONSOLE_GRACE_MS = 3000;
/** Fatal kernel events this long before a host was lost explain the loss. */
const EVIDENCE_WINDOW_MS = 60_000;
/** A power-cycle command that runs longer than this has failed. */
const POWER_CYCLE_TIMEOUT_MS = 10 * 60_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs the host's power-cycle command on the runner; null when it succeeded, else why it did not. */
async function runPowerCycle(command: string): Promise<string | null> {
  const { execa } = await import('execa');
  const result = await execa(command, { shell: true, reject: false, timeout: POWER_CYCLE_TIMEOUT_MS, stdin: 'ignore', all: true });
  if (result.exitCode === 0) return null;
  const tail = String(result.all ?? '').trim().split('\n').slice(-2).join(' | ');
  return result.timedOut ? `timed out after ${formatSeconds(POWER_CYCLE_TIMEOUT_MS)}` : `exit ${result.exitCode ?? result.signal}${tail ? `: ${tail}` : ''}`;
}

interface HostJob {
  host: HostSpec;
  suites: SuiteRef[];
}

/** The whole run. Resolves when every host is done or the run was interrupted; never rejects for a host's failure. */
export class Run {
  readonly runId: string;
  readonly reportDir: string;
  private readonly journal: JournalWriter;
  private readonly events: JournalEvent[] = [];
  private readonly reporters: ReporterMultiplexer;
  private readonly workers = new Set<Worker>();
  private readonly transports = new Set<Transport>();
  private interrupted: NodeJS.Signals | null = null;
  /** Set by drain(): why no further test starts. */
  private draining: string | null = null;
  /** Hosts connect while the runner describes itself; their events wait until run-start is journaled. */
  private readonly startRecorded: Promise<void>;
  private markStartRecorded!: () => void;
  private finished: Promise<RunResult> | null = null;
  /** Per host: the test running now (null between tests), and the last one that started. */
  private readonly runningTests = new Map<string, TestRef | null>();
  private readonly lastTests = new Map<string, TestRef>();
  /** Per host: the worker now running its suites, to hand it kernel events. */
  private readonly hostWorkers = new Map<string, Worker>();

  constructor(private readonly plan: RunPlan) {
    this.runId = plan.runId ?? createRunId();
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
    if (event.type === 'test-start') {
      const test = { suite: event.suite, title: event.title, attempt: event.attempt };
      this.runningTests.set(event.host, test);
      this.lastTests.set(event.host, test);
    } else if (event.type === 'test-end') {
      this.runningTests.set(event.host, null);
    }
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
      hosts: jobs.map(({ host }) => ({ name: host.name, id: host.id, ...(Object.keys(host.labels).length > 0 ? { labels: host.labels } : {}) })),
      suites: plan.suites,
      params: plan.params,
      seed: plan.seed,
      shard: plan.shard,
      pairs: Object.fromEntries(jobs.map(({ host, suites }) => [host.name, suites.map((suite) => suite.name)])),
      ...(plan.only ? { only: plan.only } : {}),
      retries: plan.retries,
      timeoutMs: plan.timeoutMs,
      suiteTimeoutMs: plan.suiteTimeoutMs,
      runner,
      process: { pid: process.pid, hostname: hostname() },
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

  /**
   * Ends the run gently: each host finishes the test it is running (and its suite's cleanup hooks), and every test
   * not yet started is skipped with `not run: <reason>`. A host being recovered after a crash starts no test either.
   * execute() then resolves as usual. Safe to call more than once; the first reason stands.
   */
  drain(reason: string): void {
    if (this.draining !== null || this.interrupted) return;
    this.draining = reason;
    for (const worker of this.hostWorkers.values()) {
      try {
        worker.postMessage({ kind: 'drain', reason } satisfies RunnerMessage);
      } catch {
        /* the worker is gone */
      }
    }
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

  /** The test a kernel event on this host is blamed on: the running one, else the last one that started. */
  private currentTest(host: string): TestRef | null {
    return this.runningTests.get(host) ?? this.lastTests.get(host) ?? null;
  }

  private openTransport(host: HostSpec): Transport {
    const transport = createTransport(host, { acceptNewHostKeys: this.plan.acceptNewHostKeys });
    this.transports.add(transport);
    return transport;
  }

  /**
   * One host from connect to done; every failure becomes the host's cause, never an exception. While its suites
   * run, the host's kernel is watched on a connection of its own. When the host is lost, the evidence decides what
   * happened; a host that comes back (through its power cycle, or by itself) is searched for what the kernel left,
   * and with `continueAfterCrash` its remaining tests run.
   */
  private async runHost({ host, suites }: HostJob): Promise<void> {
    let transport = this.openTransport(host);
    let cause: HostCause | undefined;
    let watch: FaultWatch | null = null;
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
      let baseline = new Set<string>();
      if (facts && this.plan.watch) {
        watch = new FaultWatch({
          host,
          connect: async () => {
            const own = this.openTransport(host);
            await own.connect();
            return own;
          },
          record: (event) => this.record(event),
          currentTest: () => this.currentTest(host.name),
          deliver: (event) => this.deliverKernelEvent(host.name, event),
        });
        const [, listed] = await Promise.all([watch.start(), transport.run(POST_MORTEM_BASELINE_COMMAND, { timeoutMs: 30_000 }).catch(() => null)]);
        baseline = new Set((listed?.stdout ?? '').split('\n').filter(Boolean));
      }
      let resume: WorkerResume | undefined;
      for (;;) {
        const ended = await this.runWorker(host, suites, transport, facts, unreachable, resume);
        cause = ended ?? cause;
        if (!watch || this.interrupted || ended?.type !== HARNESS_ERROR_TYPES.LOST_CONNECTION) break;
        // Blame the test that was running; when the loss came between tests, the last one that started.
        const running = this.runningTests.get(host.name) ?? null;
        const lostTest = running ?? this.lastTests.get(host.name) ?? null;
        const recovery = await this.recoverHost(host, watch, lostTest, running !== null, ended, baseline);
        cause = recovery.cause;
        if (!recovery.transport) break;
        // The lost connection is done with; the host's work goes on (or ends) on the new one.
        this.transports.delete(transport);
        await transport.close().catch(() => undefined);
        transport = recovery.transport;
        if (!this.plan.continueAfterCrash) break;
        resume = this.describeProgress(host.name, lostTest);
      }
    } finally {
      await watch?.stop();
      this.transports.delete(transport);
      await transport.close().catch(() => undefined);
      if (!this.interrupted) this.record({ type: 'host-end', ts: new Date().toISOString(), host: host.name, ...(cause ? { error: cause } : {}) });
    }
  }

  /** What the host's earlier workers planned and finished, for the worker that takes over after a crash. */
  private describeProgress(host: string, lostTest: TestRef | null): WorkerResume {
    const planned = new Set<string>();
    const finished = new Set<string>();
    for (const event of this.events) {
      if (event.type === 'suite-plan' && event.host === host) planned.add(event.suite);
      if (event.type === 'test-end' && event.host === host) finished.add(testKey(event.suite, event.title));
    }
    // The test that was running when the host went down is judged by what the kernel said; it is not run again.
    if (lostTest) finished.add(testKey(lostTest.suite, lostTest.title));
    return { planned: [...planned], finished: [...finished] };
  }

  /**
   * After the host's connection was lost: gathers the evidence, power-cycles the host when it has a power control,
   * waits for it, and reads what the kernel left behind. The test that was running is blamed (its test-end says the
   * connection was lost; a fatal kernel event overrides that with its class). Returns the new connection when the
   * host is back, and the cause for the host's remaining tests when they will not run.
   */
  private async recoverHost(host: HostSpec, watch: FaultWatch, lostTest: TestRef | null, wasRunning: boolean, lost: HostCause, baseline: Set<string>): Promise<{ transport?: Transport; cause?: HostCause }> {
    const lostAt = Date.now();
    const lostAtIso = new Date(lostAt).toISOString();
    if (lostTest && wasRunning) {
      this.record({ type: 'test-end', ts: lostAtIso, host: host.name, suite: lostTest.suite, title: lostTest.title, outcome: 'error', errorType: HARNESS_ERROR_TYPES.LOST_CONNECTION, message: lost.message, output: '', durationMs: 0, attempt: lostTest.attempt, flaky: false });
    }
    // A panic's last lines can still be on their way from the console: give them a moment, then close open reports.
    await sleep(CONSOLE_GRACE_MS);
    watch.flush();
    const crashedBoot = watch.bootId;
    // Evidence is what the lost test's own time produced: a soft lockup of an earlier test explains nothing.
    const sameTest = (event: KernelEventRecord) => !lostTest || (event.test?.suite === lostTest.suite && event.test.title === lostTest.title);
    let evidence: KernelEventRecord[] = watch.fatalSince(lostAt - EVIDENCE_WINDOW_MS).filter(sameTest);
    if (evidence.length === 0) {
      evidence = [
        watch.recordEvent({
          source: 'heartbeat',
          via: 'ssh',
          class: 'LOST_CONNECTION',
          title: 'lost connection to host',
          alt: [],
          fatal: true,
          corrupted: false,
          excerpt: lost.message,
          detectedAt: lostAtIso,
          test: lostTest,
          ...(crashedBoot ? { bootId: crashedBoot } : {}),
        }),
      ];
    }
    const crash = (): HostCause => {
      // The same choice the report makes for the test: the most severe class, then the earliest.
      const worst = pickMostSevere(evidence)!;
      const during = lostTest ? ` during ${lostTest.title}` : '';
      if (worst.class === 'LOST_CONNECTION') return { type: worst.class, message: `lost the host${during} (${lost.message}; no crash report on its console or kernel log)` };
      return { type: worst.class, message: `the host crashed${during}: ${worst.title}` };
    };
    const liveness = (state: 'power-cycle' | 'down', message: string) => this.record({ type: 'host-liveness', ts: new Date().toISOString(), host: host.name, state, message });

    // Waiting for a host to come back by itself is for runs that go on after a crash; a power control is always used.
    if (!host.powerCycle && !this.plan.continueAfterCrash) return { cause: crash() };
    if (host.powerCycle) {
      liveness('power-cycle', `running gauntlet_power_cycle: ${host.powerCycle}`);
      watch.expectRestart();
      const cycled = await runPowerCycle(host.powerCycle);
      if (cycled !== null) {
        liveness('down', `gauntlet_power_cycle failed: ${cycled}`);
        return { cause: crash() };
      }
    }
    if (this.interrupted) return { cause: crash() };
    const back = await watch.waitUntilBack(this.plan.recoverTimeoutMs);
    if (!back || this.interrupted) {
      liveness('down', `not back within ${formatSeconds(this.plan.recoverTimeoutMs)}`);
      return { cause: crash() };
    }
    const transport = this.openTransport(host);
    try {
      await transport.connect();
    } catch (err) {
      this.transports.delete(transport);
      liveness('down', `answers its watch but not a new connection: ${(err as Error).message}`);
      return { cause: crash() };
    }
    // The watch journals `back`, with the new boot id.
    const rebooted = crashedBoot !== undefined && watch.bootId !== undefined && watch.bootId !== crashedBoot;
    const output = await transport.run(buildPostMortemCommand(rebooted ? crashedBoot : undefined), { timeoutMs: 60_000 }).catch(() => null);
    const files = parsePostMortem(output?.stdout ?? '', baseline);
    for (const line of (output?.stdout ?? '').split('\n')) if (line.startsWith('=== ')) baseline.add(line.slice(4));
    const found = watch.recordPostMortem(files, lostTest, crashedBoot);
    evidence = [...found, ...evidence];
    if (rebooted && !host.powerCycle && evidence.every((event) => event.class === 'LOST_CONNECTION')) {
      evidence.unshift(
        watch.recordEvent({ source: 'heartbeat', via: 'boot id', class: 'UNEXPECTED_REBOOT', title: 'unexpected reboot', alt: [], fatal: true, corrupted: false, excerpt: `boot id ${crashedBoot} → ${watch.bootId}`, detectedAt: new Date().toISOString(), test: lostTest }),
      );
    }
    return this.plan.continueAfterCrash ? { transport } : { transport, cause: crash() };
  }

  private deliverKernelEvent(host: string, event: KernelEventRecord): void {
    try {
      this.hostWorkers.get(host)?.postMessage({ kind: 'kernel-event', event } satisfies RunnerMessage);
    } catch {
      /* the worker is gone */
    }
  }

  /** Runs the host's worker, serving its calls on the host's connection. Resolves to the cause if it ended early. */
  private runWorker(host: HostSpec, suites: SuiteRef[], transport: Transport, facts: Facts | null, unreachable: string | null, resume?: WorkerResume): Promise<HostCause | undefined> {
    const { plan } = this;
    const input: WorkerInput = {
      host,
      facts,
      unreachable,
      suites,
      params: plan.params,
      seed: plan.seed,
      runId: this.runId,
      timeoutMs: plan.timeoutMs,
      retries: plan.retries,
      bail: plan.bail,
      typescript: suites.some((suite) => /\.m?ts$/.test(suite.path)),
      ...(resume ? { resume } : {}),
      ...(this.draining !== null ? { drain: this.draining } : {}),
      ...(plan.only ? { only: plan.only } : {}),
    };
    const worker = new Worker(WORKER_URL, { workerData: input, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB }, stdout: true, stderr: true });
    this.workers.add(worker);
    this.hostWorkers.set(host.name, worker);
    // A worker that takes over after a crash sees the kernel events its predecessor saw (`host.events()`).
    for (const event of this.events) if (event.type === 'kernel-event' && event.host === host.name) this.deliverKernelEvent(host.name, event);
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
        if (this.hostWorkers.get(host.name) === worker) this.hostWorkers.delete(host.name);
        if (!done && !this.interrupted) cause ??= { type: HARNESS_ERROR_TYPES.WORKER_CRASHED, message: `worker exited unexpectedly (code=${code})` };
        resolve(cause);
      });
    });
  }
}
