// The terminal output of `gauntlet run`: a live per-host view on a terminal, timestamped plain lines for CI and pipes, and the summary at the end.

import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { styleText } from 'node:util';
import { createLogUpdate } from 'log-update';
import { HARNESS_ERROR_TYPES, type HostCause, type HostRecord, type JournalEvent, type RunRecord, type RunStartEvent, type RunSummary, type TestEndEvent, type TestRecord } from '../model/index.js';
import type { Reporter } from './reporter.js';
import { renderFrame } from './terminal-live.js';
import { choosePhaseForCause, RunProgress, type HostProgress } from './terminal-progress.js';
import {
  cleanText,
  formatCounts,
  formatDuration,
  formatHostLabel,
  formatSummary,
  formatTestCount,
  formatTestName,
  formatTimestamp,
} from './terminal-text.js';

export { formatSummary } from './terminal-text.js';

export interface TerminalReporterOptions {
  stream: NodeJS.WriteStream | Writable;
  /** Redraw a per-host view in place (a terminal, not CI); otherwise print one timestamped line per happening. */
  live: boolean;
  /** The clock, for elapsed times in the live view and for an event whose time does not parse. */
  now?: () => Date;
  /** Also print suite and test starts, plans and metrics (plain lines only). */
  verbose?: boolean;
}

/** How often the live view is redrawn; events in between only change what the next redraw shows. */
const REDRAW_INTERVAL_MS = 200;

/** Failed and errored tests listed in the summary before the rest are only counted. */
const MAX_SUMMARY_ENTRIES = 20;

/** Fallback size when the stream does not say (not a terminal, or a test double). */
const DEFAULT_SIZE = { columns: 80, rows: 24 };

/**
 * One thing worth a line. `problem` lines (failures, errors, unreachable and lost hosts) are the ones the live view
 * prints permanently above its rows; plain mode prints every notice.
 */
interface Notice {
  ts: string | undefined;
  text: string;
  problem: boolean;
}

/**
 * `(0.3 s)`, `(0.3 s, attempt 1/3)` when the run retries, `(1.2 s, passed on attempt 2)` for a flaky pass. A test
 * that never ran (attempt 0: its `before` hook failed) gets no attempt.
 */
function formatTestTiming(event: TestEndEvent, retries: number): string {
  const parts = [formatDuration(event.durationMs)];
  if (event.outcome === 'passed' && event.flaky) parts.push(`passed on attempt ${event.attempt}`);
  else if (retries > 0 && event.attempt > 0 && (event.outcome === 'failed' || event.outcome === 'error')) parts.push(`attempt ${event.attempt}/${retries + 1}`);
  return `(${parts.join(', ')})`;
}

/** `: message`, or nothing when there is none. */
function formatMessageTail(message: string | undefined): string {
  const text = message === undefined ? '' : cleanText(message);
  return text === '' ? '' : `: ${text}`;
}

/** `FAIL`, `ERROR TIMEOUT`, …: the verdict word of a test line. Failures have one type (ASSERTION), so it is not repeated. */
function formatVerdict(outcome: TestEndEvent['outcome'], errorType: string | undefined, flaky: boolean): string {
  switch (outcome) {
    case 'passed':
      return flaky ? 'FLAKY' : 'PASS';
    case 'failed':
      return 'FAIL';
    case 'error':
      return errorType === undefined || errorType === '' ? 'ERROR' : `ERROR ${cleanText(errorType)}`;
    case 'skipped':
      return 'SKIP';
  }
}

/** `lost (LOST_CONNECTION): no answer to 3 keepalives; 3 tests not finished`. */
function formatCause(cause: HostCause, unfinished: number): string {
  const tail = unfinished > 0 ? `; ${formatTestCount(unfinished)} not finished` : '';
  return `${choosePhaseForCause(cause)} (${cleanText(cause.type)})${formatMessageTail(cause.message)}${tail}`;
}

/** `unreachable: connect ETIMEDOUT (connection timed out) after 20 s; 14 tests not run`; no count when no plan said. */
function formatUnreachable(error: string, notRun: number | null): string {
  const tail = notRun === null ? '' : `; ${formatTestCount(notRun)} not run`;
  return `unreachable${formatMessageTail(error)}${tail}`;
}

/** `run 01J…: 3 hosts, 2 suites, seed 42, retries 1, shard 1/4`. Never argv or params: they may hold secrets. */
function formatRunStart(start: RunStartEvent): string {
  const parts = [`${start.hosts.length} ${start.hosts.length === 1 ? 'host' : 'hosts'}`, `${start.suites.length} ${start.suites.length === 1 ? 'suite' : 'suites'}`, `seed ${start.seed}`];
  if (start.retries > 0) parts.push(`retries ${start.retries}`);
  if (start.shard !== null) parts.push(`shard ${start.shard.index}/${start.shard.total}`);
  return `run ${cleanText(start.runId)}: ${parts.join(', ')}`;
}

/** Tests a finished record holds for a host (suites skipped as a whole left out), or null when it holds none. */
function countRecordedTests(record: RunRecord, hostName: string): number | null {
  const suites = record.suites.filter((suite) => suite.host === hostName && suite.skipped === undefined);
  return suites.length === 0 ? null : suites.reduce((sum, suite) => sum + suite.tests.length, 0);
}

/** `[h2 ssh://…] FAIL storage-churn > data survives rename: expected 'abc' to equal 'abd'`. */
function formatProblemTest(label: string, suite: string, test: TestRecord): string {
  return `${label} ${formatVerdict(test.outcome, test.errorType, test.flaky)} ${formatTestName(suite, test.title)}${formatMessageTail(test.message)}`;
}

/** The messages the run record gives the tests a stop reason left unfinished: started ones and never-started ones. */
function isStopMessage(message: string | undefined, stopMessage: string): boolean {
  return message === stopMessage || message === `not run: ${stopMessage}`;
}

/**
 * The failed and errored tests, host by host. A host whose work ended early gets one line for its cause, and the
 * tests that only carry that cause are counted in it rather than listed; likewise the tests an interruption left
 * unfinished are only counted (in `interrupted`). Unreachable hosts have their own lines.
 */
function listProblems(record: RunRecord, labelOf: (host: HostRecord | string) => string): { entries: string[]; interrupted: number } {
  const suitesByHost = new Map<string, RunRecord['suites']>();
  for (const suite of record.suites) suitesByHost.set(suite.host, [...(suitesByHost.get(suite.host) ?? []), suite]);
  const known = new Set(record.hosts.map((host) => host.name));
  const orphans = [...suitesByHost.keys()].filter((name) => !known.has(name));
  const signal = record.end?.interrupted;

  const entries: string[] = [];
  let interrupted = 0;
  for (const host of [...record.hosts, ...orphans]) {
    const name = typeof host === 'string' ? host : host.name;
    const hostRecord = typeof host === 'string' ? null : host;
    if (hostRecord !== null && hostRecord.unreachable !== null) continue;
    const cause = hostRecord?.cause ?? null;
    const label = labelOf(host);
    const tests: string[] = [];
    let unfinished = 0;
    for (const suite of suitesByHost.get(name) ?? []) {
      for (const test of suite.tests) {
        if (test.outcome !== 'failed' && test.outcome !== 'error') continue;
        if (cause !== null && test.errorType === cause.type && isStopMessage(test.message, cause.message)) unfinished += 1;
        else if (signal !== undefined && test.errorType === HARNESS_ERROR_TYPES.INTERRUPTED && isStopMessage(test.message, `interrupted by ${signal}`)) interrupted += 1;
        else tests.push(formatProblemTest(label, suite.suite, test));
      }
    }
    if (cause !== null) entries.push(`${label} ${formatCause(cause, unfinished)}`);
    entries.push(...tests);
  }
  return { entries, interrupted };
}

/** At most `max` lines, then `… and N more`. */
function capLines(lines: string[], max: number): string[] {
  return lines.length <= max ? lines : [...lines.slice(0, max), `… and ${lines.length - max} more`];
}

/**
 * The block printed when the run is over: a blank line, the summary line, an interruption if any, the failed and
 * errored tests (capped), the unreachable hosts with their causes, then where the report and journal are.
 */
function buildSummaryBlock(record: RunRecord, summary: RunSummary, reportDir: string, progress: RunProgress): string[] {
  const labelOf = (host: HostRecord | string): string => {
    if (typeof host !== 'string') return formatHostLabel(host.name, host.id);
    return formatHostLabel(host, progress.hosts.get(host)?.id);
  };
  const { entries, interrupted } = listProblems(record, labelOf);
  const lines = ['', formatSummary(summary)];
  if (record.end?.interrupted !== undefined) {
    const tail = interrupted > 0 ? `; ${formatTestCount(interrupted)} not finished` : '';
    lines.push(`interrupted by ${cleanText(record.end.interrupted)}${tail}`);
  }
  const problems = capLines(entries, MAX_SUMMARY_ENTRIES);
  const unreachable = capLines(
    record.hosts
      .filter((host) => host.unreachable !== null)
      .map((host) => `${labelOf(host)} ${formatUnreachable(host.unreachable ?? '', countRecordedTests(record, host.name))}`),
    MAX_SUMMARY_ENTRIES,
  );
  lines.push(...[...problems, ...unreachable].map((line) => `  ${line}`));
  lines.push(`report: ${join(reportDir, 'junit.xml')}`, `journal: ${join(reportDir, 'journal.jsonl')}`);
  return lines;
}

/** Creates the reporter. With `live`, the caller has checked the stream is a terminal and this is not CI. */
export function createTerminalReporter(options: TerminalReporterOptions): Reporter {
  const { stream, live, verbose = false } = options;
  const now = options.now ?? (() => new Date());
  const progress = new RunProgress();
  /** Unreachable hosts whose one line has been printed. */
  const announced = new Set<string>();
  let log: ReturnType<typeof createLogUpdate> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let ended = false;

  const useColour = live && 'hasColors' in stream && typeof stream.hasColors === 'function' && stream.hasColors();
  const problemMark = useColour ? styleText('red', '✖') : '✖';

  const write = (lines: string[]): void => {
    if (lines.length > 0) stream.write(`${lines.join('\n')}\n`);
  };

  const readSize = (): { columns: number; rows: number } => {
    const { columns, rows } = stream as Partial<NodeJS.WriteStream>;
    return {
      columns: typeof columns === 'number' && columns > 0 ? columns : DEFAULT_SIZE.columns,
      rows: typeof rows === 'number' && rows > 0 ? rows : DEFAULT_SIZE.rows,
    };
  };

  const drawFrame = (): void => {
    if (log === null) return;
    log(renderFrame(progress, readSize(), now().getTime()));
  };

  /** Starts the live area and its redraw timer; the timer is unref'd so it never keeps the process alive. */
  const startLive = (): void => {
    if (!live || log !== null || ended) return;
    log = createLogUpdate(stream);
    timer = setInterval(drawFrame, REDRAW_INTERVAL_MS);
    timer.unref();
  };

  const stopLive = (): void => {
    if (timer !== null) clearInterval(timer);
    timer = null;
    if (log !== null) {
      drawFrame();
      log.done();
    }
    log = null;
  };

  /** Plain mode: every notice, timestamped. Live mode: problems only, printed above the live area, which is then redrawn. */
  const emit = (notices: Notice[]): void => {
    if (!live) {
      write(notices.map((notice) => `${formatTimestamp(notice.ts, now())} ${notice.text}`));
      return;
    }
    const problems = notices.filter((notice) => notice.problem).map((notice) => `${problemMark} ${notice.text}`);
    if (problems.length === 0) return;
    if (log === null) {
      write(problems);
      return;
    }
    log.clear();
    write(problems);
    drawFrame();
  };

  const announceUnreachable = (host: HostProgress, ts: string | undefined, notRun: number | null): Notice => {
    announced.add(host.name);
    return { ts, text: `${formatHostLabel(host.name, host.id)} ${formatUnreachable(host.unreachable ?? '', notRun)}`, problem: true };
  };

  /** What one event is worth saying, given the progress after it. */
  const describeEvent = (event: JournalEvent, host: HostProgress | null): Notice[] => {
    const retries = progress.start?.retries ?? 0;
    if (event.type === 'run-start') return [{ ts: event.ts, text: formatRunStart(event), problem: false }];
    if (event.type === 'run-end') {
      return event.interrupted === undefined ? [] : [{ ts: event.ts, text: `run interrupted by ${cleanText(event.interrupted)}`, problem: true }];
    }
    if (host === null) return [];
    const label = formatHostLabel(host.name, host.id);
    const say = (text: string, problem = false): Notice[] => [{ ts: event.ts, text: `${label} ${text}`, problem }];
    // An unreachable host gets one line, at its end, when its plans have said how many tests will not run.
    if (host.phase === 'unreachable' && event.type !== 'host-end') return [];
    switch (event.type) {
      case 'host-facts':
        return say(`facts ${cleanText(event.stackKey)}`);
      case 'suite-plan':
        if (event.loadError !== undefined) return say(`ERROR ${HARNESS_ERROR_TYPES.SUITE_LOAD_FAILED} ${cleanText(event.suite)}${formatMessageTail(event.loadError)}`, true);
        if (event.skipped !== undefined) return say(`SKIP ${cleanText(event.suite)} (${formatTestCount(event.tests.length)})${formatMessageTail(event.skipped)}`);
        return verbose ? say(`plan ${cleanText(event.suite)}: ${formatTestCount(event.tests.length)}`) : [];
      case 'suite-start':
        return verbose ? say(`start ${cleanText(event.suite)}`) : [];
      case 'test-start':
        return verbose ? say(`START ${formatTestName(event.suite, event.title)}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`) : [];
      case 'test-end': {
        const verdict = formatVerdict(event.outcome, event.errorType, event.flaky);
        const name = formatTestName(event.suite, event.title);
        if (event.outcome === 'skipped') return say(`${verdict} ${name}${formatMessageTail(event.message)}`);
        const tail = event.outcome === 'passed' ? '' : formatMessageTail(event.message);
        return say(`${verdict} ${name} ${formatTestTiming(event, retries)}${tail}`, event.outcome === 'failed' || event.outcome === 'error');
      }
      case 'metric':
        return verbose ? say(`metric ${cleanText(event.suite)} ${cleanText(event.name)}=${event.value} ${cleanText(event.unit)}`.trimEnd()) : [];
      case 'suite-end':
        return verbose ? say(`end ${cleanText(event.suite)} (${formatDuration(event.durationMs)})`) : [];
      case 'host-end':
        if (host.phase === 'unreachable') return [announceUnreachable(host, event.ts, host.plans > 0 ? progress.countUnfinished(host) : null)];
        if (host.cause !== null) return say(formatCause(host.cause, progress.countUnfinished(host)), true);
        return say(`done: ${formatCounts(progress.countOutcomes(host))}`);
      case 'host-unreachable':
        return [];
      case 'kernel-event': {
        const during = event.test ? ` during ${formatTestName(event.test.suite, event.test.title)}` : '';
        const latency = event.latencyMs === undefined ? '' : `, seen ${formatDuration(event.latencyMs)} after its first line`;
        return say(`KERNEL ${cleanText(event.class)} ${cleanText(event.title)}${during} (${cleanText(event.source)} ${cleanText(event.via)}${latency})`, event.fatal);
      }
      case 'host-liveness':
        return say(`${event.state}${event.rebooted ? ' (rebooted)' : ''}${formatMessageTail(event.message)}`, event.state !== 'back');
    }
  };

  const beginRun = (start: RunStartEvent): void => {
    progress.startRun(start, now().getTime());
    startLive();
    emit(describeEvent(start, null));
    drawFrame();
  };

  return {
    onRunStart: beginRun,

    onEvent(event: JournalEvent): void {
      if (event.type === 'run-start') {
        beginRun(event);
        return;
      }
      const host = progress.applyEvent(event, now().getTime());
      startLive();
      emit(describeEvent(event, host));
    },

    onRunEnd(record: RunRecord, summary: RunSummary, reportDir: string): void {
      // A host that was unreachable but never ended still gets its line, with the count from the final record.
      const pending = [...progress.hosts.values()].filter((host) => host.phase === 'unreachable' && !announced.has(host.name));
      emit(pending.map((host) => announceUnreachable(host, undefined, host.plans > 0 ? progress.countUnfinished(host) : countRecordedTests(record, host.name))));
      stopLive();
      ended = true;
      write(buildSummaryBlock(record, summary, reportDir, progress));
    },
  };
}
