// `gauntlet repro`: re-runs one failed test of a recorded run on a host of the same stack until its failure recurs, then bundles the evidence for a vendor.

import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { readGauntletVersion } from '../facts/index.js';
import { loadInventory } from '../inventory/index.js';
import { GauntletError, type Inventory, type JournalEvent, type RunRecord, type SuiteRef, type TestEndEvent, type TestRecord, type TestSelector } from '../model/index.js';
import {
  buildRunRecord,
  describeTest,
  findLeaks,
  findSignature,
  matchSignature,
  readJournal,
  redactBundle,
  renderBundleFiles,
  findTestSeed,
  selectBundleJournal,
  slugOfSignature,
  SUITE_LOAD_FAILED_TITLE,
  SUITE_NOT_RUN_TITLE,
  SUITE_SKIPPED_TITLE,
  type ReproAttemptReport,
  type ReproHostInfo,
  type ReproSignature,
} from '../report/index.js';
import { quoteShell } from '../transport/index.js';
import { writeBundleArchive } from './repro-archive.js';
import { chooseReproHost, collectInventorySecrets, readConsoleWindow, readHostInfo, type ChosenHost } from './repro-host.js';
import { Run } from './scheduler.js';
import { findShippedSuitesDir } from './suites.js';

export interface ReproOptions {
  /** The recorded run's folder (with journal.jsonl), or an unpacked bundle. */
  runDir: string;
  /** `<suite> > <test>` as reports show it. */
  test: string;
  /** Run on this inventory host (it must have the recorded stack); default: the original host, else any with the stack. */
  host?: string;
  attempts: number;
  untilFirst: boolean;
  /** Default: the inventory file the run recorded. */
  inventory?: string;
  /** Where the attempts' run folders and the bundle go; default `reports/repro-<run-id>`. */
  outDir?: string;
  acceptNewHostKeys: boolean;
  recoverTimeoutMs: number;
  /** The command's own arguments, for the bundle's README. */
  argv: string[];
  progress: (line: string) => void;
  warn: (line: string) => void;
}

export interface ReproResult {
  signature: ReproSignature;
  test: TestSelector;
  host: string;
  reproduced: number;
  attempts: number;
  outDir: string;
  bundlePath: string;
  stoppedEarly?: string;
}

/** Titles that stand for a whole suite in a report, never a test that can be re-run. */
const PLACEHOLDER_TITLES = new Set([SUITE_LOAD_FAILED_TITLE, SUITE_SKIPPED_TITLE, SUITE_NOT_RUN_TITLE]);

/** What the recorded run says about the test, read and checked before any host is reached. */
interface Recorded {
  runDir: string;
  events: JournalEvent[];
  record: RunRecord;
  test: TestSelector;
  host: string;
  testRecord: TestRecord;
  signature: ReproSignature;
  stackKey: string;
  suite: SuiteRef;
  destructive: boolean;
  /** The seed the test ran with: the run's, or in a merged run the seed of the shard the host's suite ran in. */
  seed: number;
}

export class Reproduction {
  private current: Run | null = null;
  private interrupted: NodeJS.Signals | null = null;

  constructor(private readonly options: ReproOptions) {}

  /** Stops the attempt that is running (its run is reported as interrupted); no bundle is written. */
  async interrupt(signal: NodeJS.Signals): Promise<void> {
    this.interrupted ??= signal;
    await this.current?.interrupt(signal);
  }

  async execute(): Promise<ReproResult> {
    const { options } = this;
    const recorded = await readRecordedRun(options.runDir, options.test, options.host);
    const { inventory, inventoryWarning } = await loadReproInventory(recorded, options.inventory);
    if (inventoryWarning) options.warn(inventoryWarning);
    const suiteFile = await findSuiteFile(recorded);
    const chosen = await chooseReproHost(inventory, recorded.stackKey, recorded.host, options.host, { acceptNewHostKeys: options.acceptNewHostKeys });
    let hostInfo: ReproHostInfo;
    try {
      if (recorded.destructive && !chosen.host.disposable) {
        throw new GauntletError('USAGE', `suite ${recorded.suite.name} is destructive and host ${chosen.host.name} is not disposable (gauntlet_disposable: true): refusing to run it there`);
      }
      hostInfo = await readHostInfo(chosen.transport, chosen.facts, inventory.file);
    } finally {
      await chosen.transport.close().catch(() => undefined);
    }
    const outDir = resolve(options.outDir ?? join('reports', `repro-${recorded.record.start.runId}`));
    options.progress(
      `repro: ${describeTest(recorded.test)} on ${chosen.host.name} (${chosen.stackKey}), up to ${options.attempts} attempt${options.attempts === 1 ? '' : 's'}${options.untilFirst ? ', until the first recurrence' : ''}; looking for ${recorded.signature.class}: ${recorded.signature.title}`,
    );

    const attempts: ReproAttemptReport[] = [];
    let stoppedEarly: string | undefined;
    for (let number = 1; number <= options.attempts; number++) {
      const outcome = await this.runAttempt(number, recorded, inventory, chosen, { ...recorded.suite, path: suiteFile }, outDir);
      if (this.interrupted) throw new GauntletError('USAGE', `interrupted by ${this.interrupted} during attempt ${number}; no bundle written`);
      attempts.push(outcome.report);
      const reproduced = attempts.filter((attempt) => attempt.reproduced).length;
      options.progress(`attempt ${number}/${options.attempts}: ${outcome.report.reproduced ? 'reproduced' : 'not reproduced'} (${describeOutcome(outcome.report)}); ${reproduced}/${number} so far; ${outcome.reportDir}`);
      stoppedEarly = outcome.stop;
      if (stoppedEarly || (options.untilFirst && outcome.report.reproduced)) break;
    }
    if (stoppedEarly) options.warn(`stopped after attempt ${attempts.length}: ${stoppedEarly}`);

    const reproduced = attempts.filter((attempt) => attempt.reproduced).length;
    const bundlePath = await this.writeBundle(recorded, inventory, suiteFile, chosen, hostInfo, attempts, outDir, stoppedEarly);
    return { signature: recorded.signature, test: recorded.test, host: chosen.host.name, reproduced, attempts: attempts.length, outDir, bundlePath, ...(stoppedEarly ? { stoppedEarly } : {}) };
  }

  /** One attempt: a normal run of the one test; then whether the signature recurred, and its evidence. */
  private async runAttempt(number: number, recorded: Recorded, inventory: Inventory, chosen: ChosenHost, suite: SuiteRef, outDir: string): Promise<{ report: ReproAttemptReport; reportDir: string; stop?: string }> {
    const { options } = this;
    const host = chosen.host;
    const run = new Run({
      inventory,
      hosts: [host],
      limit: null,
      suites: [suite],
      params: recorded.record.start.params,
      seed: recorded.seed,
      shard: null,
      retries: 0,
      bail: false,
      timeoutMs: recorded.record.start.timeoutMs ?? null,
      suiteTimeoutMs: recorded.record.start.suiteTimeoutMs ?? null,
      workers: 1,
      outDir,
      acceptNewHostKeys: options.acceptNewHostKeys,
      argv: options.argv,
      reporters: [],
      watch: true,
      continueAfterCrash: false,
      recoverTimeoutMs: options.recoverTimeoutMs,
      only: recorded.test,
    });
    this.current = run;
    const result = await run.execute();
    this.current = null;
    const { events } = await readJournal(join(result.reportDir, 'journal.jsonl'));
    const test = result.record.suites.find((entry) => entry.host === host.name && entry.suite === recorded.test.suite)?.tests.find((entry) => entry.title === recorded.test.title);
    const match = test ? matchSignature(recorded.signature, test) : null;
    const end = findLastTestEnd(events, host.name, recorded.test);
    const report: ReproAttemptReport = {
      number,
      runId: result.runId,
      host: host.name,
      reproduced: match !== null,
      outcome: test?.outcome ?? 'missing',
      ...(test?.errorType ? { errorType: test.errorType } : {}),
      ...(test?.message ? { message: test.message } : {}),
      ...(test?.detail ? { detail: test.detail } : {}),
      ...(test?.startedAt ? { startedAt: test.startedAt } : {}),
      durationMs: test?.durationMs ?? 0,
      kernelEvents: test?.kernelEvents ?? [],
      commands: end?.commands ?? [],
      commandsDropped: end?.commandsDropped ?? 0,
    };
    if (match !== null && match !== true) {
      // The console's own copy of the report is the best anchor in the console file; else whichever event matched.
      const anchor = report.kernelEvents.find((event) => event.source === 'console' && event.class === match.class) ?? match;
      const window = await readConsoleWindow(host, anchor);
      if (window) report.console = window;
    }
    return { report, reportDir: result.reportDir, ...optionalStop(findStopReason(events, host.name, number, test)) };
  }

  private async writeBundle(recorded: Recorded, inventory: Inventory, suiteFile: string, chosen: ChosenHost, hostInfo: ReproHostInfo, attempts: ReproAttemptReport[], outDir: string, stoppedEarly: string | undefined): Promise<string> {
    const { options } = this;
    const originalEnd = findLastTestEnd(recorded.events, recorded.host, recorded.test);
    const originalFacts = recorded.record.hosts.find((host) => host.name === recorded.host)?.facts ?? null;
    const files = renderBundleFiles({
      gauntletVersion: await readGauntletVersion(),
      signature: recorded.signature,
      test: recorded.test,
      original: {
        runId: recorded.record.start.runId,
        host: recorded.host,
        stackKey: recorded.stackKey,
        facts: originalFacts,
        error: { type: recorded.testRecord.errorType, message: recorded.testRecord.message, detail: recorded.testRecord.detail },
        kernelEvents: recorded.testRecord.kernelEvents ?? [],
        commands: originalEnd?.commands ?? [],
        commandsDropped: originalEnd?.commandsDropped ?? 0,
        ...(recorded.testRecord.startedAt ? { startedAt: recorded.testRecord.startedAt } : {}),
      },
      suite: { name: recorded.suite.name, fileName: basename(recorded.suite.path), digest: recorded.suite.digest, text: await readFile(suiteFile, 'utf8') },
      params: recorded.record.start.params,
      seed: recorded.seed,
      host: { name: chosen.host.name, stackKey: chosen.stackKey, facts: chosen.facts },
      hostInfo,
      attempts,
      attemptsAsked: options.attempts,
      untilFirst: options.untilFirst,
      ...(stoppedEarly ? { stoppedEarly } : {}),
      commandLine: ['gauntlet', ...options.argv].map(quoteShell).join(' '),
      vendorCommandLine: ['gauntlet', 'repro', '.', '--test', describeTest(recorded.test), '-i', 'hosts.yaml', '--attempts', String(options.attempts)].map(quoteShell).join(' '),
      journal: selectBundleJournal(recorded.events, recorded.host, recorded.test),
    });
    // The original run's inventory may have had other secrets than the one the attempts used (`-i`): both are kept out.
    const recordedInventory = options.inventory === undefined ? null : await loadInventory(recorded.record.start.inventory.file).catch(() => null);
    const secrets = [...(await collectInventorySecrets(inventory)), ...(recordedInventory ? await collectInventorySecrets(recordedInventory) : [])];
    const { files: clean, notes } = redactBundle(files, secrets);
    if (notes.length > 0) clean.set('REDACTIONS.txt', `Removed before this bundle was written (values not shown):\n${notes.map((note) => `- ${note}`).join('\n')}\n`);
    const leaks = findLeaks(clean, secrets);
    // Redaction removes what findLeaks looks for, so this is a gauntlet bug; the bundle is refused rather than written.
    if (leaks.length > 0) throw new Error(`refusing to write the bundle, it would leak: ${leaks.join('; ')}`);
    const slug = slugOfSignature(recorded.signature);
    const bundlePath = join(outDir, `repro-${slug}.tar.gz`);
    await writeBundleArchive(bundlePath, `repro-${slug}`, clean);
    return bundlePath;
  }
}

/** Reads the run folder's journal and finds the test, the host it failed on, its signature, stack and suite. */
async function readRecordedRun(dir: string, wanted: string, host: string | undefined): Promise<Recorded> {
  const runDir = resolve(dir);
  const kind = await stat(runDir).then(
    (info) => (info.isDirectory() ? 'dir' : 'file'),
    (err: NodeJS.ErrnoException) => err.code ?? 'unreadable',
  );
  if (kind !== 'dir') throw new GauntletError('USAGE', `${dir}: expected a run directory (reports/<run-id>/ with journal.jsonl), got ${kind === 'file' ? 'a file' : kind}`);
  const { events } = await readJournal(join(runDir, 'journal.jsonl'));
  const record = buildRunRecord(events);
  const test = findTest(record, wanted, dir);
  const runs = record.suites
    .filter((suite) => suite.suite === test.suite)
    .flatMap((suite) => suite.tests.filter((entry) => entry.title === test.title).map((entry) => ({ host: suite.host, test: entry, signature: findSignature(entry) })));
  const failing = runs.filter((entry) => entry.signature !== null);
  const chosen = failing.find((entry) => entry.host === host) ?? failing[0];
  if (!chosen) {
    throw new GauntletError('USAGE', `${dir}: "${describeTest(test)}" did not fail in run ${record.start.runId} (${runs.map((entry) => `${entry.host}: ${entry.test.outcome}`).join(', ')}): nothing to reproduce`);
  }
  const stackKey = record.hosts.find((entry) => entry.name === chosen.host)?.stackKey;
  if (!stackKey) throw new GauntletError('USAGE', `${dir}: run ${record.start.runId} recorded no stack for host ${chosen.host} (its facts were never gathered), so no host can be matched to it`);
  const suite = record.start.suites.find((entry) => entry.name === test.suite);
  if (!suite) throw new GauntletError('USAGE', `${dir}: run ${record.start.runId} did not record suite ${test.suite} in its run-start (expected one of ${record.start.suites.map((entry) => entry.name).join(', ')})`);
  const plan = events.find((event) => event.type === 'suite-plan' && event.host === chosen.host && event.suite === test.suite);
  const destructive = plan?.type === 'suite-plan' && plan.meta.destructive === true;
  return { runDir, events, record, test, host: chosen.host, testRecord: chosen.test, signature: chosen.signature!, stackKey, suite, destructive, seed: findTestSeed(record.start, chosen.host, test.suite) };
}

/**
 * The test `wanted` names: `suite > title` (`faults > faults > panic`), or the title alone as reports show it when it
 * starts with its describe block (`faults > panic`). Unknown or ambiguous names are bad input listing what the run has.
 */
export function findTest(record: RunRecord, wanted: string, dir: string): TestSelector {
  const normalise = (text: string) => text.split('>').map((part) => part.trim()).join(' > ');
  const target = normalise(wanted);
  const all = new Map<string, TestSelector>();
  for (const suite of record.suites) {
    for (const test of suite.tests) if (!PLACEHOLDER_TITLES.has(test.title)) all.set(JSON.stringify([suite.suite, test.title]), { suite: suite.suite, title: test.title });
  }
  const tests = [...all.values()];
  const matches = tests.filter((test) => normalise(`${test.suite} > ${test.title}`) === target || normalise(test.title) === target);
  if (matches.length === 1) return matches[0]!;
  const listed = tests.map((test) => `"${describeTest(test)}"`);
  const shown = listed.length > 8 ? [...listed.slice(0, 8), `… ${listed.length - 8} more`] : listed;
  if (matches.length === 0) throw new GauntletError('USAGE', `--test "${wanted}": expected a test of run ${record.start.runId} in ${dir} (${shown.join(', ') || 'it ran none'}), got none of that name`);
  throw new GauntletError('USAGE', `--test "${wanted}": more than one test of run ${record.start.runId} has that name: ${matches.map((test) => `suite ${test.suite} test "${test.title}"`).join('; ')}; write it as "<suite> > <test>"`);
}

/** The inventory the attempts use: `--inventory`, else the one the run recorded (with a warning when it changed since). */
async function loadReproInventory(recorded: Recorded, file: string | undefined): Promise<{ inventory: Inventory; inventoryWarning?: string }> {
  const start = recorded.record.start;
  if (file === undefined && start.inventory.file === '(not included)') {
    throw new GauntletError('USAGE', `${recorded.runDir}: the run records no inventory file (an unpacked bundle): pass -i/--inventory with a host of stack ${recorded.stackKey}`);
  }
  const path = file ?? start.inventory.file;
  const inventory = await loadInventory(path);
  if (file === undefined && inventory.digest !== start.inventory.digest) {
    return { inventory, inventoryWarning: `${path} changed since run ${start.runId} (sha256 ${inventory.digest.slice(0, 12)}…, the run recorded ${start.inventory.digest.slice(0, 12)}…); using it as it is now` };
  }
  return { inventory };
}

/**
 * The suite file with the recorded content: at the recorded path, else in the run folder's `suite/` (an unpacked
 * bundle), else among the shipped suites. A file that exists with other content is bad input naming both digests.
 */
async function findSuiteFile(recorded: Recorded): Promise<string> {
  const { suite } = recorded;
  const candidates = [suite.path, join(recorded.runDir, 'suite', basename(suite.path)), join(findShippedSuitesDir(), basename(suite.path))];
  const differing: string[] = [];
  for (const path of [...new Set(candidates)]) {
    const bytes = await readFile(path).catch(() => null);
    if (bytes === null) continue;
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (digest === suite.digest) return path;
    differing.push(`${path} has sha256 ${digest}`);
  }
  if (differing.length > 0) {
    throw new GauntletError('USAGE', `suite ${suite.name}: the run recorded sha256 ${suite.digest}, but ${differing[0]}: the suite changed since the run, so its test would not be the same; restore that version to reproduce`, {
      details: differing.slice(1),
    });
  }
  throw new GauntletError('USAGE', `suite ${suite.name}: no file with the recorded content (sha256 ${suite.digest}) at ${candidates.join(', ')}`);
}

function findLastTestEnd(events: readonly JournalEvent[], host: string, test: TestSelector): TestEndEvent | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if (event.type === 'test-end' && event.host === host && event.suite === test.suite && event.title === test.title) return event;
  }
  return undefined;
}

/** Why no further attempt can run: the host stayed down, could not be reached, or the test did not run at all. */
function findStopReason(events: readonly JournalEvent[], host: string, number: number, test: TestRecord | undefined): string | undefined {
  const unreachable = events.find((event) => event.type === 'host-unreachable' && event.host === host);
  if (unreachable?.type === 'host-unreachable') return `${host} could not be reached for attempt ${number}: ${unreachable.error}`;
  const down = events.find((event) => event.type === 'host-liveness' && event.host === host && event.state === 'down');
  if (down?.type === 'host-liveness') return `${host} did not come back after attempt ${number}: ${down.message ?? 'down'}`;
  if (!test) return `attempt ${number} ended without the test (see its journal)`;
  if (test.outcome === 'skipped') return `the test did not run: ${test.message ?? 'skipped'}`;
  return undefined;
}

function optionalStop(stop: string | undefined): { stop?: string } {
  return stop === undefined ? {} : { stop };
}

function describeOutcome(attempt: ReproAttemptReport): string {
  return attempt.errorType ? `${attempt.errorType}: ${attempt.message ?? ''}`.trim() : attempt.outcome;
}
