// JUnit XML from a RunRecord: one <testsuite> per suite on a host, valid against the Jenkins xUnit JUnit schema.

import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import junitReportBuilderModule, { type Builder, type TestCase, type TestSuite } from 'junit-report-builder';
import { FAILURE_TYPE, HARNESS_ERROR_TYPES, type Facts, type HostRecord, type HostSuiteRecord, type RunRecord, type TestRecord } from '../model/index.js';
import { findMergedShard } from './merge-runs.js';
import { listFailedAttempts, type FailedAttempt } from './run-record.js';

/**
 * The package's shared default builder, used only to make a new builder per report. The package is CommonJS
 * (`module.exports = builder`) but its typings declare an ES default export, so under NodeNext TypeScript believes the
 * builder is at `.default`; at run time Node hands over `module.exports` itself.
 */
const sharedBuilder = ((junitReportBuilderModule as unknown as { default?: Builder }).default ??
  (junitReportBuilderModule as unknown as Builder));

/** A new builder of its own for one report (never the package's shared default builder). */
export function newJunitBuilder(): Builder {
  return sharedBuilder.newBuilder();
}

/** The XML element type of the builder's underlying xmlbuilder tree. */
export type XmlElement = ReturnType<TestCase['build']>;

/** A test's output (and a failure's detail) keeps its last 1 MiB; what is cut is said at the top. */
export const MAX_OUTPUT_BYTES = 1024 * 1024;
/** Longest `message` attribute, in characters; the whole text stays in the element's body. */
export const MAX_MESSAGE_CHARS = 1000;

/**
 * Renders a run as JUnit XML. junit-report-builder builds the tree and the counts; four things it cannot express
 * are added to its xmlbuilder tree as each node is built (see `decorateOnBuild`): the `hostname` of a testsuite,
 * the `message` of `<skipped>`, the bodies of `<failure>`, `<error>` and `<system-out>` (as escaped text rather than
 * CDATA, because the builder's CDATA escapes only the first `]]>`), and the failed attempts of a retried test as
 * `<flakyFailure>` / `<flakyError>` (passed in the end) or `<rerunFailure>` / `<rerunError>` (did not).
 * The builder always writes a `skipped` count on `<testsuites>`, which the Jenkins schema does not allow; it is
 * deleted from that one start tag, which comes before any text from the run.
 */
export function renderJunit(record: RunRecord): string {
  return renderJunitDocument(`gauntlet ${record.start.runId}`, [{ record }]);
}

/** One run's part of a JUnit document that holds several runs (a soak's iterations). */
export interface JunitRunPart {
  record: RunRecord;
  /** Appended to each testsuite's name, `SUITE @ HOST<suffix>`, so the runs' testsuites stay apart. */
  nameSuffix?: string;
  /** Properties added after each testsuite's own. */
  properties?: [string, string][];
}

/** Renders several runs as one JUnit document named `name`, their testsuites in the order given. */
export function renderJunitDocument(name: string, parts: readonly JunitRunPart[]): string {
  const builder = sharedBuilder.newBuilder().name(cleanLine(name));
  for (const { record, nameSuffix = '', properties = [] } of parts) {
    const hosts = new Map(record.hosts.map((host) => [host.name, host]));
    for (const suiteRecord of record.suites) {
      const host = hosts.get(suiteRecord.host) ?? null;
      const suiteName = cleanLine(`${suiteRecord.suite} @ ${suiteRecord.host}${nameSuffix}`);
      const suite = builder
        .testSuite()
        .name(suiteName)
        .timestamp(formatTimestamp(suiteRecord.startedAt ?? record.start.ts, record.start.ts))
        .time(toSeconds(suiteRecord.durationMs));
      for (const [property, value] of [...listSuiteProperties(record, suiteRecord, host), ...properties]) suite.property(property, cleanLine(value, Infinity));
      const hostname = hostnameOf(suiteRecord.host, host);
      decorateOnBuild(suite, (element) => element.att('hostname', hostname));
      for (const test of suiteRecord.tests) addTestCase(suite, suiteName, test);
    }
  }
  return `${removeRootSkippedCount(builder.build())}\n`;
}

/** Writes the JUnit file atomically: a temporary file in the same folder, flushed, then renamed over `path`. */
export async function writeJunit(record: RunRecord, path: string): Promise<void> {
  await writeFileAtomically(path, renderJunit(record));
}

/** Writes `text` to `path` so that a reader sees the old file or the new one, never a part: a flushed temporary file renamed over it. */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  try {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/**
 * The `<properties>` of one testsuite, in this order (a property is left out when its value is unknown):
 *   gauntlet.run, gauntlet.version, gauntlet.seed, gauntlet.retries, gauntlet.shard (`INDEX/TOTAL`, sharded runs),
 *   gauntlet.shard.run (a merged run: the shard run the suite's results came from; seed and shard are that run's),
 *   gauntlet.suite.digest (sha256 of the suite file),
 *   gauntlet.host, gauntlet.host.id, gauntlet.host.unreachable (the connect error), gauntlet.host.error
 *   (`TYPE: message` when a reached host's work ended early), gauntlet.host.boot_id,
 *   gauntlet.host.label.NAME for each of the host's `gauntlet_labels` (a bare label is `true`), by name,
 *   gauntlet.stack.key, .distro, .kernel, .arch, .engine (`docker 20.10.24+dfsg1` or `none`), .storage_driver,
 *   .backing_fs, .cgroup (`cgroup2`), .cgroup_driver, .runtime (`runc 1.1.5` or `none`) — all only when the host's
 *   facts were recorded (never for an unreachable host),
 *   gauntlet.skipped (why the suite was skipped on this host),
 *   gauntlet.param.NAME for each run parameter (JSON when not a string),
 *   gauntlet.metric.NAME = `VALUE UNIT` for each metric; when a name repeats, the last value wins,
 *   gauntlet.kernel.events: every kernel event attributed to the suite's tests, `CLASS[!]: title` joined by ` | `
 *   (`!` marks a fatal one), in the order they were seen.
 */
export function listSuiteProperties(record: RunRecord, suite: HostSuiteRecord, host: HostRecord | null): [string, string][] {
  const start = record.start;
  // A merged run's testsuite keeps the seed and shard it ran with, and names the shard run it came from.
  const origin = findMergedShard(start, suite.host, suite.suite);
  const shard = origin ? origin.shard : start.shard;
  const properties: [string, string | null | undefined][] = [
    ['gauntlet.run', start.runId],
    ['gauntlet.version', start.gauntletVersion],
    ['gauntlet.seed', String(origin?.seed ?? start.seed)],
    ['gauntlet.retries', String(start.retries)],
    ['gauntlet.shard', shard ? `${shard.index}/${shard.total}` : null],
    ['gauntlet.shard.run', origin?.runId],
    ['gauntlet.suite.digest', start.suites.find((ref) => ref.name === suite.suite)?.digest],
    ['gauntlet.host', suite.host],
    ['gauntlet.host.id', host?.id || null],
    ['gauntlet.host.unreachable', host?.unreachable],
    ['gauntlet.host.error', host?.cause && host.unreachable === null ? `${host.cause.type}: ${host.cause.message}` : null],
    ['gauntlet.host.boot_id', host?.facts?.bootId || null],
    ...Object.entries(start.hosts.find((ref) => ref.name === suite.host)?.labels ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]): [string, string] => [`gauntlet.host.label.${name}`, value]),
    ...listStackProperties(host),
    ['gauntlet.skipped', suite.skipped],
    ...Object.entries(start.params).map(([name, value]): [string, string] => [
      `gauntlet.param.${name}`,
      typeof value === 'string' ? value : JSON.stringify(value) ?? 'null',
    ]),
    ...[...new Map(suite.metrics.map((metric) => [metric.name, metric])).values()].map(
      (metric): [string, string] => [`gauntlet.metric.${metric.name}`, `${metric.value} ${metric.unit}`.trim()],
    ),
    ['gauntlet.kernel.events', describeKernelEvents(suite)],
  ];
  return properties.filter((entry): entry is [string, string] => typeof entry[1] === 'string');
}

function describeKernelEvents(suite: HostSuiteRecord): string | null {
  const events = suite.tests.flatMap((test) => test.kernelEvents ?? []).sort((a, b) => a.detectedAt.localeCompare(b.detectedAt));
  return events.length === 0 ? null : events.map((event) => `${event.class}${event.fatal ? '!' : ''}: ${event.title}`).join(' | ');
}

function listStackProperties(host: HostRecord | null): [string, string | null][] {
  const facts: Facts | null | undefined = host?.facts;
  if (!host || !facts || host.unreachable !== null) return [];
  const known = (value: string | null | undefined): string => (value ? value : 'unknown');
  const { distro, engine, storage, cgroup, runtime } = facts;
  return [
    ['gauntlet.stack.key', host.stackKey],
    ['gauntlet.stack.distro', distro.id ? (distro.versionId ? `${distro.id}-${distro.versionId}` : distro.id) : 'unknown'],
    ['gauntlet.stack.kernel', known(facts.kernel.release)],
    ['gauntlet.stack.arch', known(facts.hardware.arch)],
    ['gauntlet.stack.engine', engine ? `${engine.name} ${known(engine.version)}` : 'none'],
    ['gauntlet.stack.storage_driver', storage ? known(storage.driver) : engine ? 'unknown' : 'none'],
    ['gauntlet.stack.backing_fs', storage ? known(storage.backingFs) : engine ? 'unknown' : 'none'],
    ['gauntlet.stack.cgroup', cgroup.version ? `cgroup${cgroup.version}` : 'unknown'],
    ['gauntlet.stack.cgroup_driver', known(cgroup.driver)],
    ['gauntlet.stack.runtime', runtime ? `${runtime.name} ${runtime.version ?? ''}`.trim() : engine ? 'unknown' : 'none'],
  ];
}

function addTestCase(suite: TestSuite, classname: string, test: TestRecord): void {
  const testCase = suite.testCase().className(classname).name(cleanLine(test.title)).time(toSeconds(test.durationMs));
  const message = test.message === undefined ? undefined : cleanLine(test.message);
  const type = test.errorType ?? (test.outcome === 'failed' ? FAILURE_TYPE : HARNESS_ERROR_TYPES.HARNESS_ERROR);
  if (test.outcome === 'failed') testCase.failure(message, type);
  if (test.outcome === 'error') testCase.error(message, type);
  if (test.outcome === 'skipped') testCase.skipped();
  const body = bodyOf(test.detail, test.message);
  const attempts = listFailedAttempts(test);
  decorateOnBuild(testCase, (element) => {
    const verdict = findChild(element, test.outcome === 'failed' ? 'failure' : test.outcome === 'error' ? 'error' : 'skipped');
    if (verdict && test.outcome === 'skipped' && message) verdict.att('message', message);
    else if (verdict && body) verdict.txt(body);
    for (const attempt of attempts) addFailedAttempt(element, attempt, test.outcome === 'passed');
    if (test.output) element.ele('system-out').txt(cleanBody(test.output));
  });
}

/** One earlier failed attempt: `flaky*` when the test passed in the end (Surefire's names), else `rerun*`. */
function addFailedAttempt(testcase: XmlElement, attempt: FailedAttempt, passed: boolean): void {
  const kind = attempt.outcome === 'failed' ? 'Failure' : 'Error';
  const attributes: Record<string, string> = { type: attempt.errorType };
  const label = `attempt ${attempt.attempt}`;
  attributes.message = attempt.message ? `${label}: ${cleanLine(attempt.message)}` : label;
  const element = testcase.ele(`${passed ? 'flaky' : 'rerun'}${kind}`, attributes);
  const body = bodyOf(attempt.detail, attempt.message);
  if (body) element.ele('stackTrace').txt(body);
  if (attempt.output) element.ele('system-out').txt(cleanBody(attempt.output));
}

/** The body of a verdict: the detail, else the message itself when it did not fit on one line. */
function bodyOf(detail: string | undefined, message: string | undefined): string {
  if (detail) return cleanBody(detail);
  if (message && (/[\r\n]/.test(message) || message.length > MAX_MESSAGE_CHARS)) return cleanBody(message);
  return '';
}

/** Runs `decorate` on the XML element a builder node makes, right after the builder made it. */
export function decorateOnBuild<T extends { build(parent: XmlElement): XmlElement }>(node: T, decorate: (element: XmlElement) => void): void {
  const build = node.build.bind(node);
  node.build = (parent: XmlElement): XmlElement => {
    const element = build(parent);
    decorate(element);
    return element;
  };
}

function findChild(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((child): child is XmlElement => (child as Partial<XmlElement>).name === name);
}

/** Deletes `skipped="N"` from the `<testsuites>` start tag (attribute values are quoted, with `"` escaped inside). */
export function removeRootSkippedCount(xml: string): string {
  return xml.replace(/^(<\?xml[^>]*\?>\s*<testsuites(?:\s+[\w.:-]+="[^"]*")*?)\s+skipped="\d+"/, '$1');
}

/** `2026-03-01T10:00:00` in UTC: the schemas' timestamp has no zone and no fraction. */
export function formatTimestamp(iso: string, fallback: string): string {
  const time = Date.parse(iso);
  const date = new Date(Number.isNaN(time) ? Date.parse(fallback) || 0 : time);
  return date.toISOString().slice(0, 19);
}

/** Seconds with at most three decimals, as the Surefire time pattern requires. */
function toSeconds(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms) / 1000 : 0;
}

/** The host's address from its URL id (`ssh://ops@10.0.4.11:22` → `10.0.4.11`), else its name. */
function hostnameOf(name: string, host: HostRecord | null): string {
  try {
    const hostname = new URL(host?.id ?? '').hostname.replace(/^\[(.*)\]$/, '$1');
    if (hostname) return decodeURIComponent(hostname);
  } catch {
    // not a URL: fall back to the inventory name
  }
  return cleanLine(name) || 'localhost';
}

/** Terminal colour and cursor sequences, which would leave `[31m` behind once their ESC is stripped. */
const ANSI_SEQUENCE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
/**
 * Characters XML 1.0 does not allow (C0 controls but tab and newlines, lone surrogates, U+FFFE/U+FFFF), and the
 * control characters it allows but discourages (DEL, C1), which are never meant as text in a report.
 */
const NOT_XML = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function cleanXmlText(text: string): string {
  return text.replace(ANSI_SEQUENCE, '').replace(/\r\n?/g, '\n').replace(NOT_XML, '');
}

/** One line: XML-safe, white space (newlines included) collapsed, at most `max` characters. */
export function cleanLine(text: string, max = MAX_MESSAGE_CHARS): string {
  const line = cleanXmlText(text).replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Multi-line text for an element body: its last MAX_OUTPUT_BYTES, XML-safe. */
export function cleanBody(text: string): string {
  return cleanXmlText(keepTail(text, MAX_OUTPUT_BYTES));
}

function keepTail(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let start = bytes.length - maxBytes;
  while (start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start += 1; // not inside a character
  const note = `[gauntlet: output truncated: the first ${start} of ${bytes.length} bytes were dropped, the last ${bytes.length - start} follow]`;
  return `${note}\n${bytes.subarray(start).toString('utf8')}`;
}
