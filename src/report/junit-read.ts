// Reads JUnit reports (gauntlet's or another tool's with gauntlet.stack.* properties) back into per-test results.

import { readdir, readFile, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import pLimit from 'p-limit';
import { glob, isDynamicPattern } from 'tinyglobby';
import { GauntletError, type ResultSuite } from '../model/index.js';
import { readJournal } from './journal.js';
import { junitFileResult, readJunitText, type JunitFileResult } from './junit-parse.js';
import type { JunitBatch, JunitBatchResult } from './junit-read-worker.js';
import { renderJunit } from './junit.js';
import { buildRunRecord } from './run-record.js';

const EXPECTED_INPUT = 'expected JUnit XML files, run directories (with junit.xml or journal.jsonl) or globs';

/** Files read at once when parsing in this thread: enough to keep the disk busy while it parses. */
const READ_CONCURRENCY = 16;

/** At most this many worker threads, and one for at least this many files (fewer files: not worth starting one). */
const MAX_THREADS = 8;
const FILES_PER_THREAD = 100;
/** Files a worker is given at a time: large enough to make messages cheap, small enough to share the work out evenly. */
const BATCH_SIZE = 50;

/**
 * Worker threads run the built JavaScript. Run from the TypeScript sources (gauntlet's own unit tests), a worker
 * could not load them, so files are then read in this thread; the built CLI's tests cover the threads.
 */
const FROM_SOURCE = fileURLToPath(import.meta.url).endsWith('.ts');
const WORKER_URL = new URL('./junit-read-worker.js', import.meta.url);

/** One JUnit document found in the inputs. */
export interface JunitSource {
  path: string;
  /** The document itself when it is not the file at `path`: a killed run's report, rendered from its journal. */
  text?: string;
  /** Named on the command line (or by a glob) rather than found in a directory: it must be JUnit. */
  explicit: boolean;
}

/**
 * Finds the JUnit reports named by `inputs`: files, directories (searched recursively for `*.xml`; a run
 * directory with journal.jsonl but no junit.xml, as a killed run leaves it, is rendered from its journal) and globs.
 * A path that does not exist, a glob that matches nothing, or inputs that hold no report are bad input (USAGE).
 * Files are not read here: readJunitSources reads them.
 */
export async function findJunitSources(inputs: readonly string[]): Promise<JunitSource[]> {
  const problems: string[] = [];
  const sources = new Map<string, JunitSource>();
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
      if (!isDirectory) {
        if (!sources.has(path)) sources.set(path, { path, explicit: true });
      } else {
        for (const source of await searchDirectory(path)) if (!sources.has(source.path)) sources.set(source.path, source);
      }
    }
  }
  if (problems.length > 0) throw new GauntletError('USAGE', problems[0]!, { details: problems.slice(1) });
  if (sources.size === 0) throw new GauntletError('USAGE', `${inputs.join(' ')}: no JUnit report found (${EXPECTED_INPUT})`);
  return [...sources.values()];
}

/**
 * `*.xml` files under `dir`, and the journals of run directories that have no junit.xml; hidden folders and
 * node_modules are skipped. Sub-directories are searched at once; the result is in name order all the same.
 */
async function searchDirectory(dir: string): Promise<JunitSource[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const names = new Set(entries.map((entry) => entry.name));
  const found: JunitSource[] = [];
  if (!names.has('junit.xml') && names.has('journal.jsonl')) {
    const journal = join(dir, 'journal.jsonl');
    const { events } = await readJournal(journal);
    found.push({ path: journal, text: renderJunit(buildRunRecord(events)), explicit: false });
  }
  const nested = await Promise.all(
    entries.map(async (entry): Promise<JunitSource[]> => {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') return [];
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return searchDirectory(path);
      return entry.isFile() && entry.name.endsWith('.xml') ? [{ path, explicit: false }] : [];
    }),
  );
  return [...found, ...nested.flat()];
}

/**
 * Reads every source into testsuites, in the order of `sources`. Many files are read and parsed by worker threads,
 * one per core; a few, or on a single core, in this thread with reads overlapping the parsing. Only results are
 * kept, never the files' text. A file named explicitly that is not JUnit (or cannot be read) is bad input; an
 * `.xml` file found while searching a directory that is not JUnit is skipped and reported in `skipped`.
 */
export async function readJunitSources(sources: readonly JunitSource[]): Promise<{ suites: ResultSuite[]; skipped: string[] }> {
  const files = sources.filter((source) => source.text === undefined).map((source) => source.path);
  const threads = FROM_SOURCE ? 1 : Math.min(availableParallelism(), MAX_THREADS, Math.floor(files.length / FILES_PER_THREAD));
  const read = threads > 1 ? await readInWorkers(files, threads) : await readInThisThread(files);
  const byPath = new Map(files.map((path, i) => [path, read[i]!]));
  const suites: ResultSuite[] = [];
  const skipped: string[] = [];
  for (const source of sources) {
    let result: JunitFileResult;
    try {
      result = source.text === undefined ? byPath.get(source.path)! : readJunitText(source.text, source.path);
    } catch (err) {
      result = { problem: (err as Error).message };
    }
    if (Array.isArray(result)) {
      for (const suite of result) suites.push(suite);
      continue;
    }
    const message = `${source.path}: ${result.problem}`;
    if (source.explicit) throw new GauntletError('USAGE', message);
    skipped.push(message);
  }
  return { suites, skipped };
}

async function readInThisThread(paths: readonly string[]): Promise<Array<JunitFileResult>> {
  const limit = pLimit(READ_CONCURRENCY);
  return Promise.all(
    paths.map((path) =>
      limit(async () => junitFileResult(await readFile(path).catch((err: unknown) => err as Error), path)),
    ),
  );
}

/** Hands batches of files to `threads` workers as they finish the previous one; every worker is ended before it returns. */
async function readInWorkers(paths: readonly string[], threads: number): Promise<Array<JunitFileResult>> {
  const results = new Array<JunitFileResult>(paths.length);
  let next = 0;
  const work = async (): Promise<void> => {
    const worker = new Worker(WORKER_URL);
    try {
      await new Promise<void>((resolve, reject) => {
        let batch = { start: 0, end: 0 };
        const send = (): void => {
          if (next >= paths.length) return resolve();
          batch = { start: next, end: Math.min(paths.length, next + BATCH_SIZE) };
          next = batch.end;
          worker.postMessage({ paths: paths.slice(batch.start, batch.end) } satisfies JunitBatch);
        };
        worker.on('message', (reply: JunitBatchResult) => {
          reply.results.forEach((result, i) => (results[batch.start + i] = result));
          send();
        });
        worker.on('error', reject);
        worker.on('exit', (code) => reject(new Error(`a JUnit reader thread exited (code ${code}) before its work was done`)));
        send();
      });
    } finally {
      await worker.terminate();
    }
  };
  await Promise.all(Array.from({ length: threads }, work));
  return results;
}

export { composeStackKey, readJunitBytes, readJunitText } from './junit-parse.js';
