// Reads JUnit reports (gauntlet's or another tool's with gauntlet.stack.* properties) back into per-test results.

import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { glob, isDynamicPattern } from 'tinyglobby';
import { GauntletError, STACK_FIELDS, type OutcomeKind, type ResultAttempt, type ResultKernelEvent, type ResultSuite, type ResultTest, type StackField } from '../model/index.js';
import { readJournal } from './journal.js';
import { renderJunit } from './junit.js';
import { buildRunRecord } from './run-record.js';

type XmlNode = Record<string, unknown>;

/** Elements that may repeat; the parser then always gives arrays, even for one. */
const REPEATED = new Set(['testsuite', 'testcase', 'property', 'failure', 'error', 'flakyFailure', 'flakyError', 'rerunFailure', 'rerunError']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseAttributeValue: false,
  parseTagValue: false,
  processEntities: true,
  isArray: (name) => REPEATED.has(name),
});

const EXPECTED_INPUT = 'expected JUnit XML files, run directories (with junit.xml or journal.jsonl) or globs';

/** One JUnit document found in the inputs: its path, and its text (rendered from the journal when junit.xml is missing). */
export interface JunitSource {
  path: string;
  text: string;
  /** Named on the command line (or by a glob) rather than found in a directory: it must be JUnit. */
  explicit: boolean;
}

/**
 * Finds the JUnit reports named by `inputs`: files, directories (searched recursively for `*.xml`; a run
 * directory with journal.jsonl but no junit.xml, as a killed run leaves it, is rendered from its journal) and globs.
 * A path that does not exist, a glob that matches nothing, or inputs that hold no report are bad input (USAGE).
 */
export async function findJunitSources(inputs: readonly string[]): Promise<JunitSource[]> {
  const problems: string[] = [];
  const sources = new Map<string, JunitSource>();
  const add = async (path: string): Promise<void> => {
    if (!sources.has(path)) sources.set(path, { path, text: await readFile(path, 'utf8'), explicit: true });
  };
  for (const input of inputs) {
    const paths = isDynamicPattern(input) ? await glob(input, { onlyFiles: false, absolute: false, expandDirectories: false }) : [input];
    if (paths.length === 0) problems.push(`${input}: matched nothing (${EXPECTED_INPUT})`);
    for (const path of paths.sort()) {
      let isDirectory: boolean;
      try {
        isDirectory = (await stat(path)).isDirectory();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        problems.push(`${path}: ${EXPECTED_INPUT}, got ${code}`);
        continue;
      }
      if (!isDirectory) await add(path);
      else for (const source of await searchDirectory(path)) if (!sources.has(source.path)) sources.set(source.path, source);
    }
  }
  if (problems.length > 0) throw new GauntletError('USAGE', problems[0]!, { details: problems.slice(1) });
  if (sources.size === 0) throw new GauntletError('USAGE', `${inputs.join(' ')}: no JUnit report found (${EXPECTED_INPUT})`);
  return [...sources.values()];
}

/** `*.xml` files under `dir`, and the journals of run directories that have no junit.xml; hidden folders and node_modules are skipped. */
async function searchDirectory(dir: string): Promise<JunitSource[]> {
  const found: JunitSource[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const names = new Set(entries.map((entry) => entry.name));
  if (!names.has('junit.xml') && names.has('journal.jsonl')) {
    const journal = join(dir, 'journal.jsonl');
    const { events } = await readJournal(journal);
    found.push({ path: journal, text: renderJunit(buildRunRecord(events)), explicit: false });
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await searchDirectory(path)));
    else if (entry.isFile() && entry.name.endsWith('.xml')) found.push({ path, text: await readFile(path, 'utf8'), explicit: false });
  }
  return found;
}

/**
 * Reads every source into testsuites. A file named explicitly that is not JUnit is bad input; an `.xml` file found
 * while searching a directory that is not JUnit is skipped and reported in `skipped`.
 */
export function readJunitSources(sources: readonly JunitSource[]): { suites: ResultSuite[]; skipped: string[] } {
  const suites: ResultSuite[] = [];
  const skipped: string[] = [];
  for (const source of sources) {
    try {
      suites.push(...readJunitText(source.text, source.path));
    } catch (err) {
      const message = `${source.path}: ${(err as Error).message}`;
      if (source.explicit) throw new GauntletError('USAGE', message, { cause: err });
      skipped.push(message);
    }
  }
  return { suites, skipped };
}

/** Parses one JUnit document (root `<testsuites>` or a single `<testsuite>`; nested testsuites inherit properties). */
export function readJunitText(text: string, source: string): ResultSuite[] {
  let document: XmlNode;
  try {
    document = parser.parse(text, true) as XmlNode;
  } catch (err) {
    throw new GauntletError('USAGE', `not well-formed XML: ${firstLine((err as Error).message)}`, { cause: err });
  }
  const root = document.testsuites as XmlNode | undefined;
  const top = root ? asArray(root.testsuite) : document.testsuite ? asArray(document.testsuite) : null;
  if (!top) throw new GauntletError('USAGE', 'expected a JUnit document (<testsuites> or <testsuite>), got another XML document');
  const suites: ResultSuite[] = [];
  const visit = (node: XmlNode, inherited: Map<string, string>): void => {
    const properties = new Map(inherited);
    const propertyBlock = node.properties as XmlNode | undefined;
    for (const property of asArray(propertyBlock?.property)) {
      const name = attribute(property, 'name');
      if (name) properties.set(name, attribute(property, 'value') ?? textOf(property));
    }
    const tests = asArray(node.testcase).map(readTestCase);
    if (tests.length > 0 || asArray(node.testsuite).length === 0) suites.push(toSuite(node, properties, tests, source));
    for (const child of asArray(node.testsuite)) visit(child, properties);
  };
  for (const suite of top) visit(suite, new Map());
  return suites;
}

function toSuite(node: XmlNode, properties: Map<string, string>, tests: ResultTest[], source: string): ResultSuite {
  const stack: Partial<Record<StackField, string>> = {};
  for (const field of STACK_FIELDS) {
    const value = properties.get(`gauntlet.stack.${field}`);
    if (value !== undefined && value !== '') stack[field] = value;
  }
  if (!stack.key && STACK_FIELDS.some((field) => stack[field] !== undefined)) stack.key = composeStackKey(stack);
  const timestamp = attribute(node, 'timestamp');
  const time = timestamp ? Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(timestamp) ? timestamp : `${timestamp}Z`) : Number.NaN;
  return {
    source,
    name: attribute(node, 'name') ?? basename(source),
    run: properties.get('gauntlet.run') ?? source,
    host: properties.get('gauntlet.host.id') ?? properties.get('gauntlet.host') ?? attribute(node, 'hostname') ?? 'unknown',
    timestamp: Number.isNaN(time) ? null : new Date(time).toISOString(),
    stack,
    kernelEvents: parseKernelEvents(properties.get('gauntlet.kernel.events')),
    tests,
  };
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

function readTestCase(node: XmlNode): ResultTest {
  const seconds = Number((attribute(node, 'time') ?? '0').replace(/,/g, ''));
  const error = asArray(node.error)[0];
  const failure = asArray(node.failure)[0];
  let outcome: OutcomeKind = 'passed';
  let verdict: XmlNode | undefined;
  if (error) [outcome, verdict] = ['error', error];
  else if (failure) [outcome, verdict] = ['failed', failure];
  else if (node.skipped !== undefined) outcome = 'skipped';
  const attempts: ResultAttempt[] = [];
  for (const [name, kind] of [['flakyFailure', 'failed'], ['rerunFailure', 'failed'], ['flakyError', 'error'], ['rerunError', 'error']] as const) {
    for (const element of asArray(node[name])) attempts.push({ outcome: kind, type: attribute(element, 'type') ?? defaultType(kind), ...optional('message', attribute(element, 'message')) });
  }
  const test: ResultTest = {
    name: attribute(node, 'name') ?? '(unnamed)',
    durationMs: Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : 0,
    outcome,
    attempts,
  };
  if (verdict) {
    test.type = attribute(verdict, 'type') ?? defaultType(outcome === 'error' ? 'error' : 'failed');
    const message = attribute(verdict, 'message');
    if (message !== undefined) test.message = message;
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

function asArray(value: unknown): XmlNode[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map((item) => (typeof item === 'object' && item !== null ? (item as XmlNode) : { '#text': String(item) }));
}

function attribute(node: XmlNode | undefined, name: string): string | undefined {
  const value = node?.[`@${name}`];
  return value === undefined || value === null ? undefined : String(value);
}

function textOf(node: XmlNode): string {
  const value = node['#text'];
  return value === undefined ? '' : String(value).trim();
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
