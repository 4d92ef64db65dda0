// Parses JUnit documents into per-test results for ranking: a streaming, conforming XML parse that keeps only what ranking reads.

import { basename } from 'node:path';
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { GauntletError, STACK_FIELDS, type OutcomeKind, type ResultAttempt, type ResultKernelEvent, type ResultSuite, type ResultTest, type StackField } from '../model/index.js';

/** A `<testsuite>` as read: what ranking needs of it, and its child testsuites. */
interface SuiteNode {
  attributes: Record<string, string>;
  properties: Array<[string, string]>;
  tests: ResultTest[];
  children: SuiteNode[];
}

/** A `<testcase>` being read: its own attributes, and the attributes of its verdict and attempt children. */
interface CaseNode {
  attributes: Record<string, string>;
  error?: Record<string, string>;
  failure?: Record<string, string>;
  skipped: boolean;
  attempts: Record<AttemptElement, Array<Record<string, string>>>;
}

/** Children of `<testcase>` that record an earlier failed attempt, in the order their attempts are listed. */
const ATTEMPT_ELEMENTS = [
  ['flakyFailure', 'failed'],
  ['rerunFailure', 'failed'],
  ['flakyError', 'error'],
  ['rerunError', 'error'],
] as const;
type AttemptElement = (typeof ATTEMPT_ELEMENTS)[number][0];

/** What an open element is to the reader; `other` for everything it passes over (`<system-out>`, bodies, …). */
type Frame =
  | { kind: 'testsuites' }
  | { kind: 'testsuite'; node: SuiteNode }
  | { kind: 'properties'; suite: SuiteNode }
  | { kind: 'property'; suite: SuiteNode; name: string; value: string | undefined; text: string }
  | { kind: 'testcase'; suite: SuiteNode; node: CaseNode }
  | { kind: 'other' };

/** Parses one JUnit document given as text (see readJunitBytes). */
export function readJunitText(text: string, source: string): ResultSuite[] {
  return parseJunit(new TextInput(text), source);
}

/** One JUnit file's suites, or why it could not be used (the readers report it, or skip it). */
export type JunitFileResult = ResultSuite[] | { problem: string };

/** The suites of a file's bytes, or the parse error as a problem; `bytes` is the error when the file could not be read. */
export function junitFileResult(bytes: Buffer | Error, path: string): JunitFileResult {
  if (bytes instanceof Error) return { problem: `cannot read the file: ${(bytes as NodeJS.ErrnoException).code ?? bytes.message}` };
  try {
    return readJunitBytes(bytes, path);
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

/**
 * Parses one JUnit document (root `<testsuites>` or a single `<testsuite>`; nested testsuites inherit properties)
 * from the bytes of a UTF-8 file.
 *
 * It streams through the document with a conforming XML parser (saxes), keeping only the elements and attributes
 * ranking reads. The bodies of `<system-out>` and `<system-err>` (most of a report's bytes) are not even decoded
 * when they are plain text: the parser is given the document up to such an element's start tag, and when it has
 * just opened that element there (not inside a CDATA section or a comment), it is given the end tag next. A body
 * holding any markup (`<`: CDATA, comments, elements) is parsed as usual. So the results are the same as parsing
 * everything; only well-formedness errors inside plain-text outputs (a bad entity) go unnoticed.
 */
export function readJunitBytes(bytes: Buffer, source: string): ResultSuite[] {
  return parseJunit(new BytesInput(bytes), source);
}

/** The properties ranking reads; the others (params, metrics, …) are passed over. */
const READ_PROPERTIES: ReadonlySet<string> = new Set([
  'gauntlet.run',
  'gauntlet.shard.run',
  'gauntlet.host',
  'gauntlet.host.id',
  'gauntlet.kernel.events',
  ...STACK_FIELDS.map((field) => `gauntlet.stack.${field}`),
]);

/** Host labels, `gauntlet.host.label.NAME`, are read too. */
const LABEL_PROPERTY = 'gauntlet.host.label.';

function isReadProperty(name: string): boolean {
  return READ_PROPERTIES.has(name) || name.startsWith(LABEL_PROPERTY);
}

/** The output elements whose plain-text bodies are passed over. */
const OUTPUT_ELEMENTS = ['system-out', 'system-err'] as const;

/** A document as the parser is fed: found by index, handed over in decoded pieces. */
interface JunitInput {
  readonly length: number;
  indexOf(needle: string, from: number): number;
  /** Decoded text of [start, end). */
  piece(start: number, end: number): string;
}

class TextInput implements JunitInput {
  constructor(private readonly text: string) {}
  get length(): number {
    return this.text.length;
  }
  indexOf(needle: string, from: number): number {
    return this.text.indexOf(needle, from);
  }
  piece(start: number, end: number): string {
    return this.text.slice(start, end);
  }
}

/** The markup searched for, as bytes, made once. */
const NEEDLES = new Map<string, Buffer>();

/** Markup is ASCII, so indexes found for it never cut a UTF-8 character in two. */
class BytesInput implements JunitInput {
  constructor(private readonly bytes: Buffer) {}
  get length(): number {
    return this.bytes.length;
  }
  indexOf(needle: string, from: number): number {
    let bytes = NEEDLES.get(needle);
    if (!bytes) NEEDLES.set(needle, (bytes = Buffer.from(needle, 'latin1')));
    return this.bytes.indexOf(bytes, from);
  }
  piece(start: number, end: number): string {
    return this.bytes.toString('utf8', start, end);
  }
}

function parseJunit(input: JunitInput, source: string): ResultSuite[] {
  const parser = new SaxesParser<{ xmlns: false }>({ xmlns: false });
  const stack: Frame[] = [];
  const top: SuiteNode[] = [];
  let rootName: string | null = null;
  /** Set when the parser's last event opened an output element; cleared by every other event and before each piece. */
  const feed = { openedOutput: false };
  const openSuite = (attributes: Record<string, string>): SuiteNode => ({ attributes, properties: [], tests: [], children: [] });

  parser.on('opentag', (tag: SaxesTagPlain) => {
    const parent = stack.at(-1);
    const name = tag.name;
    feed.openedOutput = (OUTPUT_ELEMENTS as readonly string[]).includes(name);
    let frame: Frame = { kind: 'other' };
    if (!parent) {
      rootName = name;
      if (name === 'testsuites') frame = { kind: 'testsuites' };
      else if (name === 'testsuite') {
        const node = openSuite(tag.attributes);
        top.push(node);
        frame = { kind: 'testsuite', node };
      }
    } else if (parent.kind === 'testsuites' && name === 'testsuite') {
      const node = openSuite(tag.attributes);
      top.push(node);
      frame = { kind: 'testsuite', node };
    } else if (parent.kind === 'testsuite') {
      if (name === 'testsuite') {
        const node = openSuite(tag.attributes);
        parent.node.children.push(node);
        frame = { kind: 'testsuite', node };
      } else if (name === 'properties') {
        frame = { kind: 'properties', suite: parent.node };
      } else if (name === 'testcase') {
        frame = { kind: 'testcase', suite: parent.node, node: { attributes: tag.attributes, skipped: false, attempts: { flakyFailure: [], rerunFailure: [], flakyError: [], rerunError: [] } } };
      }
    } else if (parent.kind === 'properties' && name === 'property' && isReadProperty(tag.attributes.name ?? '')) {
      frame = { kind: 'property', suite: parent.suite, name: tag.attributes.name!, value: tag.attributes.value, text: '' };
    } else if (parent.kind === 'testcase') {
      const node = parent.node;
      if (name === 'error') node.error ??= tag.attributes;
      else if (name === 'failure') node.failure ??= tag.attributes;
      else if (name === 'skipped') node.skipped = true;
      else if (Object.hasOwn(node.attempts, name)) node.attempts[name as AttemptElement].push(tag.attributes);
    }
    stack.push(frame);
  });
  const onText = (chunk: string): void => {
    feed.openedOutput = false;
    const frame = stack.at(-1);
    if (frame?.kind === 'property') frame.text += chunk;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('comment', () => {
    feed.openedOutput = false;
  });
  parser.on('processinginstruction', () => {
    feed.openedOutput = false;
  });
  parser.on('closetag', () => {
    feed.openedOutput = false;
    const frame = stack.pop();
    if (frame?.kind === 'property') {
      frame.suite.properties.push([frame.name, frame.value ?? frame.text.trim()]);
    } else if (frame?.kind === 'testcase') {
      frame.suite.tests.push(readTestCase(frame.node));
    }
  });
  try {
    feedSkippingOutputs(parser, input, feed);
    parser.close();
  } catch (err) {
    throw new GauntletError('USAGE', `not well-formed XML: ${firstLine((err as Error).message)}`, { cause: err });
  }
  if (rootName !== 'testsuites' && rootName !== 'testsuite') {
    throw new GauntletError('USAGE', 'expected a JUnit document (<testsuites> or <testsuite>), got another XML document');
  }
  const suites: ResultSuite[] = [];
  const visit = (node: SuiteNode, inherited: Map<string, string>): void => {
    const properties = new Map(inherited);
    for (const [name, value] of node.properties) properties.set(name, value);
    if (node.tests.length > 0 || node.children.length === 0) suites.push(toSuite(node, properties, source));
    for (const child of node.children) visit(child, properties);
  };
  for (const suite of top) visit(suite, new Map());
  return suites;
}

/**
 * Feeds the document to the parser, passing over the plain-text bodies of output elements (see readJunitBytes).
 * Each piece ends right after a candidate start tag, so an output element the parser opens while taking a piece is
 * that candidate.
 */
function feedSkippingOutputs(parser: SaxesParser<{ xmlns: false }>, input: JunitInput, feed: { openedOutput: boolean }): void {
  const next = OUTPUT_ELEMENTS.map((name) => input.indexOf(`<${name}>`, 0));
  let fed = 0;
  for (;;) {
    const found = next.reduce((best, at, i) => (at !== -1 && (best === -1 || at < next[best]!) ? i : best), -1);
    if (found === -1) break;
    const name = OUTPUT_ELEMENTS[found]!;
    const bodyStart = next[found]! + name.length + 2;
    feed.openedOutput = false;
    parser.write(input.piece(fed, bodyStart));
    fed = bodyStart;
    if (feed.openedOutput) {
      // Plain text when the body's first markup is the element's end tag: passed over.
      const markup = input.indexOf('<', bodyStart);
      if (markup !== -1 && input.indexOf(`</${name}>`, markup) === markup) fed = markup;
    }
    for (const [i, other] of OUTPUT_ELEMENTS.entries()) if (next[i] !== -1 && next[i]! < fed) next[i] = input.indexOf(`<${other}>`, fed);
  }
  parser.write(input.piece(fed, input.length));
}

function toSuite(node: SuiteNode, properties: Map<string, string>, source: string): ResultSuite {
  const stack: Partial<Record<StackField, string>> = {};
  for (const field of STACK_FIELDS) {
    const value = properties.get(`gauntlet.stack.${field}`);
    if (value !== undefined && value !== '') stack[field] = value;
  }
  if (!stack.key && STACK_FIELDS.some((field) => stack[field] !== undefined)) stack.key = composeStackKey(stack);
  const timestamp = node.attributes.timestamp;
  const time = timestamp ? Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(timestamp) ? timestamp : `${timestamp}Z`) : Number.NaN;
  const name = node.attributes.name ?? basename(source);
  return {
    source,
    name,
    suite: suiteOfName(name, properties.get('gauntlet.host')),
    run: properties.get('gauntlet.shard.run') ?? properties.get('gauntlet.run') ?? source,
    host: properties.get('gauntlet.host.id') ?? properties.get('gauntlet.host') ?? node.attributes.hostname ?? 'unknown',
    timestamp: Number.isNaN(time) ? null : new Date(time).toISOString(),
    stack,
    kernelEvents: parseKernelEvents(properties.get('gauntlet.kernel.events')),
    tests: node.tests,
    ...readLabels(properties),
  };
}

/** `gauntlet.host.label.NAME` properties as `{labels: {NAME: value}}`, or nothing when there are none. */
function readLabels(properties: Map<string, string>): { labels?: Record<string, string> } {
  const labels: Record<string, string> = {};
  for (const [name, value] of properties) if (name.startsWith(LABEL_PROPERTY) && name.length > LABEL_PROPERTY.length) labels[name.slice(LABEL_PROPERTY.length)] = value;
  return Object.keys(labels).length > 0 ? { labels } : {};
}

/** `SUITE` of gauntlet's `SUITE @ HOST…` when the testsuite names its host (`gauntlet.host`), else the whole name. */
function suiteOfName(name: string, host: string | undefined): string {
  const at = host ? name.lastIndexOf(` @ ${host}`) : -1;
  return at > 0 ? name.slice(0, at) : name;
}

/**
 * The stack key of a report that gives the stack's parts but not its key, as the README's "Stack key" builds it:
 * `<distro>/<kernel>/<engine>/<storage_driver>/<backing_fs>/<cgroup>`, the engine as `docker-20.10.24`.
 */
export function composeStackKey(stack: Partial<Record<StackField, string>>): string {
  const segment = (value: string | undefined): string => (value ? value.toLowerCase().replace(/[\s/]+/g, '_') : 'unknown');
  const engine = stack.engine ? stack.engine.trim().replace(/\s+/, '-') : undefined;
  return [stack.distro, stack.kernel, engine, stack.storage_driver, stack.backing_fs, stack.cgroup].map(segment).join('/');
}

function readTestCase(node: CaseNode): ResultTest {
  const seconds = Number((node.attributes.time ?? '0').replace(/,/g, ''));
  let outcome: OutcomeKind = 'passed';
  let verdict: Record<string, string> | undefined;
  if (node.error) [outcome, verdict] = ['error', node.error];
  else if (node.failure) [outcome, verdict] = ['failed', node.failure];
  else if (node.skipped) outcome = 'skipped';
  const attempts: ResultAttempt[] = [];
  for (const [name, kind] of ATTEMPT_ELEMENTS) {
    for (const element of node.attempts[name]) attempts.push({ outcome: kind, type: element.type ?? defaultType(kind), ...optional('message', element.message) });
  }
  const test: ResultTest = {
    name: node.attributes.name ?? '(unnamed)',
    durationMs: Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : 0,
    outcome,
    attempts,
  };
  if (verdict) {
    test.type = verdict.type ?? defaultType(outcome === 'error' ? 'error' : 'failed');
    if (verdict.message !== undefined) test.message = verdict.message;
  }
  return test;
}

/** A failure or error another tool wrote without a `type`. */
function defaultType(kind: 'failed' | 'error'): string {
  return kind === 'failed' ? 'FAILURE' : 'ERROR';
}

/** `CLASS: title | CLASS!: title`, as junit.ts writes `gauntlet.kernel.events` (`!` marks a fatal event). */
function parseKernelEvents(value: string | undefined): ResultKernelEvent[] {
  if (!value) return [];
  return value.split(' | ').flatMap((part) => {
    const match = /^([A-Z][A-Z0-9_]*)(!?): (.*)$/s.exec(part.trim());
    return match ? [{ class: match[1]!, fatal: match[2] === '!', title: match[3]! }] : [];
  });
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
