// A soak: the selected suites run again and again, each iteration a run of its own with a fresh seed, until a
// deadline; hosts that go down are left out until they answer; a soak whose runner was killed can be resumed.

import { randomInt } from 'node:crypto';
import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { readGauntletVersion } from '../facts/index.js';
import {
  GauntletError,
  type HostSpec,
  type Inventory,
  type JournalEvent,
  type RunRecord,
  type SoakEvent,
  type SoakHostDownEvent,
  type SoakSettings,
  type TestRef,
} from '../model/index.js';
import {
  buildRunRecord,
  buildSoakState,
  exitCodeOf,
  exitCodeOfSoak,
  formatSoakProgress,
  formatSoakSummary,
  ITERATIONS_DIR,
  JournalWriter,
  readJournal,
  readSoakJournal,
  renderSoakJunit,
  SOAK_JOURNAL,
  summarizeRun,
  totalSoak,
  writeFileAtomically,
  writeJunit,
  type Reporter,
  type SoakState,
  type SoakTotals,
} from '../report/index.js';
import type { Transport } from '../transport/index.js';
import { buildPostMortemCommand, classifyPostMortem, parsePostMortemSince } from './fault-watch.js';
import { connectHost } from './fleet.js';
import { cleanRunLeftovers, isRunnerAlive } from './leftovers.js';
import { createRunId, Run } from './scheduler.js';
import { fingerprint } from './suites.js';

/** How often hosts that are down are tried again while no host is up. */
const DOWN_PROBE_INTERVAL_MS = 30_000;

export interface SoakPlan {
  inventory: Inventory;
  hosts: HostSpec[];
  settings: SoakSettings;
  durationMs: number;
  /** Parent of the soak's folder. */
  outDir: string;
  argv: string[];
  /** Where progress lines go (one line each, no newline). */
  log: (line: string) => void;
}

export interface SoakResult {
  soakId: string;
  dir: string;
  junitPath: string;
  exitCode: number;
  summary: string[];
}

/** What resuming needs besides the soak's own journal. */
export interface ResumeOptions {
  argv: string[];
  log: (line: string) => void;
}

export class Soak {
  private readonly journal: JournalWriter<SoakEvent>;
  private readonly events: SoakEvent[];
  private readonly records = new Map<string, RunRecord>();
  private folded: SoakState | null = null;
  private current: Run | null = null;
  private currentIteration: number | null = null;
  private interrupted: NodeJS.Signals | null = null;
  private readonly live = { passed: 0, failed: 0, errors: 0, skipped: 0, flaky: 0 };

  private constructor(
    readonly soakId: string,
    readonly dir: string,
    private readonly inventory: Inventory,
    private readonly hosts: HostSpec[],
    events: SoakEvent[],
    private readonly log: (line: string) => void,
  ) {
    this.events = events;
    this.journal = JournalWriter.open<SoakEvent>(join(dir, SOAK_JOURNAL));
  }

  /** Starts a new soak: its folder `<outDir>/<soak id>/` and the journal's first event. */
  static async start(plan: SoakPlan): Promise<Soak> {
    const soakId = createRunId();
    const dir = join(plan.outDir, soakId);
    const startedAt = Date.now();
    const soak = new Soak(soakId, dir, plan.inventory, plan.hosts, [], plan.log);
    soak.record({
      type: 'soak-start',
      ts: new Date(startedAt).toISOString(),
      soakId,
      gauntletVersion: await readGauntletVersion(),
      argv: plan.argv,
      deadline: new Date(startedAt + plan.durationMs).toISOString(),
      durationMs: plan.durationMs,
      settings: { ...plan.settings, inventoryFile: resolve(plan.settings.inventoryFile) },
      inventoryDigest: plan.inventory.digest,
      process: { pid: process.pid, hostname: hostname() },
    });
    return soak;
  }

  /**
   * Takes over a soak whose runner was killed (or stopped by a signal): checks that no runner is still at work on it,
   * closes the iteration that was cut short (its leftovers are removed from the hosts), and goes on to the deadline.
   * `loadInventory` and `selectHosts` come from the caller so that this layer reads no files but the soak's own.
   */
  static async resume(
    dir: string,
    options: ResumeOptions,
    load: { loadInventory: (file: string) => Promise<Inventory>; selectHosts: (inventory: Inventory, limit: string | undefined) => HostSpec[] },
  ): Promise<Soak> {
    const { events, warnings } = await readSoakJournal(dir);
    for (const warning of warnings) options.log(`warning: ${warning}`);
    const state = buildSoakState(events);
    if (state.end && state.end.reason !== 'interrupted') {
      throw new GauntletError('USAGE', `${dir}: soak ${state.start.soakId} already ended (${state.end.reason === 'deadline' ? 'its deadline passed' : 'no host was left'}) at ${state.end.ts}; nothing to resume`);
    }
    if (await isRunnerAlive(state.process)) {
      throw new GauntletError('USAGE', `${dir}: soak ${state.start.soakId} is still running (pid ${state.process.pid} on this machine); stop it before resuming`);
    }
    const { settings } = state.start;
    const inventory = await load.loadInventory(settings.inventoryFile);
    if (inventory.digest !== state.start.inventoryDigest) {
      options.log(`warning: ${settings.inventoryFile} changed since the soak started; its current content is used`);
    }
    for (const suite of settings.suites) {
      const digest = await fingerprint(suite.path).then(
        (ref) => ref.digest,
        () => null,
      );
      if (digest === null) throw new GauntletError('USAGE', `${suite.path}: the soak's suite ${suite.name} is gone (expected the file the soak started with, sha256 ${suite.digest})`);
      if (digest !== suite.digest) options.log(`warning: suite ${suite.name} changed since the soak started (sha256 ${suite.digest.slice(0, 12)}… → ${digest.slice(0, 12)}…); each iteration records the digest it ran`);
    }
    const hosts = load.selectHosts(inventory, settings.limit ?? undefined);
    const soak = new Soak(state.start.soakId, dir, inventory, hosts, [...events], options.log);
    soak.record({ type: 'soak-resume', ts: new Date().toISOString(), argv: options.argv, process: { pid: process.pid, hostname: hostname() } });
    options.log(`resuming soak ${soak.soakId} in ${dir} until ${state.start.deadline}`);
    await soak.loadIterations();
    return soak;
  }

  /** What the journal says so far, folded again whenever an event is journaled. */
  private get state(): SoakState {
    this.folded ??= buildSoakState(this.events);
    return this.folded;
  }

  private record(event: SoakEvent): void {
    this.journal.append(event);
    this.events.push(event);
    this.folded = null;
  }

  /** Reads the iterations' run records; closes the one a killed runner left open. */
  private async loadIterations(): Promise<void> {
    for (const iteration of this.state.iterations) {
      const { runId } = iteration.start;
      const journalPath = join(this.dir, ITERATIONS_DIR, runId, 'journal.jsonl');
      const exists = await access(journalPath).then(
        () => true,
        () => false,
      );
      if (!exists) {
        if (!iteration.end) this.record({ type: 'iteration-end', ts: new Date().toISOString(), iteration: iteration.start.iteration, runId, exitCode: 0, summary: emptySummary(), killed: true, empty: true });
        continue;
      }
      const { events } = await readJournal(journalPath);
      const record = buildRunRecord(events);
      this.records.set(runId, record);
      if (iteration.end) continue;
      this.log(`iteration ${iteration.start.iteration} (run ${runId}) was cut short by a killed runner: removing what it left on its hosts`);
      await this.cleanIteration(runId, iteration.start.hosts);
      await writeJunit(record, join(this.dir, ITERATIONS_DIR, runId, 'junit.xml'));
      this.record({ type: 'iteration-end', ts: new Date().toISOString(), iteration: iteration.start.iteration, runId, exitCode: exitCodeOf(record), summary: summarizeRun(record), killed: true });
    }
  }

  private async cleanIteration(runId: string, hostNames: string[]): Promise<void> {
    const hosts = this.hosts.filter((host) => hostNames.includes(host.name));
    const results = await Promise.all(hosts.map((host) => cleanRunLeftovers(host, { runId }, { acceptNewHostKeys: this.state.start.settings.acceptNewHostKeys })));
    for (const result of results) {
      if (result.error) this.log(`[${result.host}] could not remove run ${runId}'s leftovers: ${result.error} (gauntlet clean --run ${runId} later)`);
      else if (result.problems.length > 0) this.log(`[${result.host}] ${result.problems.length} of run ${runId}'s leftovers could not be removed: ${result.problems[0]}`);
      else if (result.removed.length > 0) this.log(`[${result.host}] removed ${result.removed.length} leftovers of run ${runId}`);
    }
  }

  /** Stops the iteration now running (its unfinished tests become INTERRUPTED) and ends the soak. */
  interrupt(signal: NodeJS.Signals): void {
    if (this.interrupted) return;
    this.interrupted = signal;
    void this.current?.interrupt(signal);
  }

  /** Runs iterations until the deadline (or a signal); never rejects for a host's failure. */
  async execute(): Promise<SoakResult> {
    const deadline = Date.parse(this.state.start.deadline);
    const progress = setInterval(() => this.log(this.formatProgress()), this.state.start.settings.progressMs);
    progress.unref();
    let reason: 'deadline' | 'no-hosts' | 'interrupted' = 'deadline';
    try {
      let iteration = Math.max(0, ...this.state.iterations.map((it) => it.start.iteration));
      while (!this.interrupted && Date.now() < deadline) {
        const hosts = await this.selectLiveHosts(iteration + 1, deadline);
        if (this.interrupted || Date.now() >= deadline) break;
        if (hosts.length === 0) {
          reason = 'no-hosts';
          break;
        }
        iteration += 1;
        await this.runIteration(iteration, hosts, deadline);
      }
    } finally {
      clearInterval(progress);
    }
    if (this.interrupted) reason = 'interrupted';
    return this.finish(reason);
  }

  /**
   * The hosts the next iteration runs on: every selected host not down. Down hosts are tried again first; while none
   * is up the soak waits, trying every DOWN_PROBE_INTERVAL_MS, until one answers or the deadline passes.
   */
  private async selectLiveHosts(iteration: number, deadline: number): Promise<HostSpec[]> {
    for (;;) {
      for (const host of this.hosts.filter((candidate) => this.state.down.has(candidate.name))) {
        const down = this.state.down.get(host.name)!;
        const connection = await connectHost(host, { acceptNewHostKeys: this.state.start.settings.acceptNewHostKeys });
        if (connection.transport === null) continue;
        let postMortem: string[] = [];
        try {
          if (down.lost) postMortem = await this.collectLatePostMortem(host.name, connection.transport, down.lost);
        } finally {
          await connection.transport.close().catch(() => undefined);
        }
        this.record({ type: 'host-back', ts: new Date().toISOString(), host: host.name, iteration, ...(down.lost ? { postMortem } : {}) });
        const found = postMortem.length > 0 ? `; what its kernel left: ${postMortem.join(' | ')}` : '';
        this.log(`[${host.name}] answers again: back in the soak from iteration ${iteration}${found}`);
      }
      const up = this.hosts.filter((host) => !this.state.down.has(host.name));
      if (up.length > 0 || this.interrupted || Date.now() + DOWN_PROBE_INTERVAL_MS >= deadline) return up;
      await new Promise((resolvePause) => setTimeout(resolvePause, DOWN_PROBE_INTERVAL_MS));
    }
  }

  /**
   * A host lost during an iteration came back after that iteration's own recovery gave up: reads what its kernel left
   * since the iteration started (pstore, kdump, the crashed boot's journal), journals it in the iteration's run as
   * post-mortem kernel events blamed on the lost test, and rebuilds that run's reports. Returns `CLASS: title` of each.
   */
  private async collectLatePostMortem(host: string, transport: Transport, lost: NonNullable<SoakHostDownEvent['lost']>): Promise<string[]> {
    // The crashed boot's journal is read only when the host really booted again; a host that only stopped answering
    // would offer its whole current kernel log instead.
    const now = await transport.run('cat /proc/sys/kernel/random/boot_id', { timeoutMs: 30_000 }).catch(() => null);
    const rebooted = lost.bootId !== undefined && now !== null && now.exitCode === 0 && now.stdout.trim() !== lost.bootId;
    const output = await transport.run(buildPostMortemCommand(rebooted ? lost.bootId : undefined), { timeoutMs: 60_000 }).catch(() => null);
    const files = parsePostMortemSince(output?.stdout ?? '', Date.parse(lost.since));
    const events = classifyPostMortem(files, lost.test, lost.bootId);
    if (events.length === 0) return [];
    const runDir = join(this.dir, ITERATIONS_DIR, lost.runId);
    const journal = JournalWriter.open(join(runDir, 'journal.jsonl'));
    try {
      for (const event of events) journal.append({ type: 'kernel-event', ts: new Date().toISOString(), host, ...event });
    } finally {
      journal.close();
    }
    const record = buildRunRecord((await readJournal(join(runDir, 'journal.jsonl'))).events);
    this.records.set(lost.runId, record);
    await writeJunit(record, join(runDir, 'junit.xml'));
    await this.writeReports();
    return events.map((event) => `${event.class}: ${event.title}`);
  }

  private async answers(host: HostSpec): Promise<boolean> {
    const connection = await connectHost(host, { acceptNewHostKeys: this.state.start.settings.acceptNewHostKeys });
    await connection.transport?.close().catch(() => undefined);
    return connection.transport !== null;
  }

  private async runIteration(iteration: number, hosts: HostSpec[], deadline: number): Promise<void> {
    const { settings } = this.state.start;
    const runId = createRunId();
    const seed = randomInt(0, 2 ** 31);
    this.record({ type: 'iteration-start', ts: new Date().toISOString(), iteration, runId, seed, hosts: hosts.map((host) => host.name) });
    Object.assign(this.live, { passed: 0, failed: 0, errors: 0, skipped: 0, flaky: 0 });
    const run = new Run({
      inventory: this.inventory,
      hosts,
      limit: settings.limit,
      suites: settings.suites,
      params: settings.params,
      seed,
      shard: null,
      retries: settings.retries,
      bail: settings.bail,
      timeoutMs: settings.timeoutMs,
      suiteTimeoutMs: settings.suiteTimeoutMs,
      workers: settings.workers,
      outDir: join(this.dir, ITERATIONS_DIR),
      acceptNewHostKeys: settings.acceptNewHostKeys,
      argv: this.state.start.argv,
      reporters: [this.createIterationReporter(iteration)],
      watch: settings.watch,
      continueAfterCrash: settings.continueAfterCrash,
      recoverTimeoutMs: settings.recoverTimeoutMs,
      runId,
    });
    this.current = run;
    this.currentIteration = iteration;
    // A signal that came while the iteration was being set up stops it at once.
    if (this.interrupted) void run.interrupt(this.interrupted);
    const drainTimer = setTimeout(() => run.drain(`the soak's deadline passed (${new Date(deadline).toISOString()})`), Math.max(0, deadline - Date.now()));
    let result;
    try {
      result = await run.execute();
    } finally {
      clearTimeout(drainTimer);
      this.current = null;
      this.currentIteration = null;
    }
    this.records.set(runId, result.record);
    this.record({
      type: 'iteration-end',
      ts: new Date().toISOString(),
      iteration,
      runId,
      exitCode: result.exitCode,
      summary: result.summary,
      ...(result.record.end?.interrupted ? { interrupted: result.record.end.interrupted } : {}),
    });
    // A signal stopped the tests where they were, before their cleanup hooks: remove what they left, by the run's marks.
    if (result.record.end?.interrupted) {
      this.log(`iteration ${iteration} (run ${runId}) was stopped by ${result.record.end.interrupted}: removing what it left on its hosts`);
      await this.cleanIteration(runId, hosts.map((host) => host.name));
    }
    await this.markDownHosts(iteration, result.record);
    await this.writeReports();
  }

  /** Hosts that could not be reached, or whose work ended early and that do not answer now, are left out. */
  private async markDownHosts(iteration: number, record: RunRecord): Promise<void> {
    if (this.interrupted) return;
    for (const host of record.hosts) {
      const spec = this.hosts.find((candidate) => candidate.name === host.name);
      if (!spec || this.state.down.has(host.name)) continue;
      let reason: string | null = null;
      let lost: SoakHostDownEvent['lost'];
      if (host.unreachable !== null) {
        reason = `unreachable: ${host.unreachable}`;
      } else if (host.cause && !(await this.answers(spec))) {
        reason = `${host.cause.type}: ${host.cause.message}`;
        lost = { runId: record.start.runId, test: findLostTest(record, host.name), ...(host.facts?.bootId ? { bootId: host.facts.bootId } : {}), since: record.start.ts };
      }
      if (reason === null) continue;
      this.record({ type: 'host-down', ts: new Date().toISOString(), host: host.name, iteration, reason, ...(lost ? { lost } : {}) });
      this.log(`[${host.name}] down after iteration ${iteration}, left out until it answers: ${reason}`);
    }
  }

  /** Counts the running iteration's outcomes and prints what must not wait for the next progress line. */
  private createIterationReporter(iteration: number): Reporter {
    return {
      onEvent: (event: JournalEvent) => {
        if (event.type === 'test-end') {
          if (event.outcome === 'passed') this.live.passed += 1;
          else if (event.outcome === 'failed') this.live.failed += 1;
          else if (event.outcome === 'error') this.live.errors += 1;
          else this.live.skipped += 1;
        } else if (event.type === 'kernel-event' && event.fatal) {
          const during = event.test ? ` during ${event.test.suite} > ${event.test.title}` : '';
          this.log(`[${event.host}] ${event.class}: ${event.title} (iteration ${iteration}${during})`);
        } else if (event.type === 'host-liveness' && event.state !== 'stalled') {
          this.log(`[${event.host}] ${event.state}${event.message ? `: ${event.message}` : ''} (iteration ${iteration})`);
        } else if (event.type === 'host-unreachable') {
          this.log(`[${event.host}] unreachable: ${event.error} (iteration ${iteration})`);
        }
      },
    };
  }

  private formatProgress(): string {
    const state = this.state;
    const totals = totalSoak(state, this.records);
    const withLive: SoakTotals = {
      ...totals,
      passed: totals.passed + (this.current ? this.live.passed : 0),
      failed: totals.failed + (this.current ? this.live.failed : 0),
      errors: totals.errors + (this.current ? this.live.errors : 0),
      skipped: totals.skipped + (this.current ? this.live.skipped : 0),
    };
    return formatSoakProgress(state, withLive, new Date(), this.currentIteration);
  }

  /** The soak's JUnit: every iteration's testsuites once, written atomically. */
  private async writeReports(): Promise<string> {
    const path = join(this.dir, 'junit.xml');
    await writeFileAtomically(path, renderSoakJunit(this.state, this.records));
    return path;
  }

  private async finish(reason: 'deadline' | 'no-hosts' | 'interrupted'): Promise<SoakResult> {
    const junitPath = await this.writeReports();
    const state = this.state;
    const totals = totalSoak(state, this.records);
    const exitCode = exitCodeOfSoak(state, totals, this.interrupted);
    this.record({ type: 'soak-end', ts: new Date().toISOString(), exitCode, reason, ...(this.interrupted ? { interrupted: this.interrupted } : {}) });
    this.journal.close();
    const summary = formatSoakSummary(this.state, totals);
    if (reason === 'no-hosts') summary.push('  ended early: every host was down');
    return { soakId: this.soakId, dir: this.dir, junitPath, exitCode, summary };
  }
}

/** The test a host was lost in: the one whose kernel events say the connection was lost, or null. */
function findLostTest(record: RunRecord, host: string): TestRef | null {
  for (const suite of record.suites) {
    if (suite.host !== host) continue;
    for (const test of suite.tests) {
      const lost = test.kernelEvents?.find((event) => event.class === 'LOST_CONNECTION' && event.test);
      if (lost?.test) return lost.test;
    }
  }
  return null;
}

function emptySummary() {
  return { hostsTotal: 0, hostsRan: 0, passed: 0, failed: 0, errors: 0, skipped: 0, flaky: 0 };
}
