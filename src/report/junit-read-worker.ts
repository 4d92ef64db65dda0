// A worker thread of readJunitSources: reads and parses batches of JUnit files, so large report trees use every core.

import { readFileSync } from 'node:fs';
import { parentPort, type MessagePort } from 'node:worker_threads';
import type { ResultSuite } from '../model/index.js';
import { readJunitBytes } from './junit-parse.js';

/** A batch of files to read. */
export interface JunitBatch {
  paths: string[];
}

/** Each file's testsuites, or why it could not be read as JUnit, in the batch's order. */
export interface JunitBatchResult {
  results: Array<ResultSuite[] | { problem: string }>;
}

if (!parentPort) throw new Error('junit-read-worker runs as a worker thread of readJunitSources, not on its own');
const port: MessagePort = parentPort;
port.on('message', (batch: JunitBatch) => {
  const results = batch.paths.map((path): ResultSuite[] | { problem: string } => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      return { problem: `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
    try {
      return readJunitBytes(bytes, path);
    } catch (err) {
      return { problem: (err as Error).message };
    }
  });
  port.postMessage({ results } satisfies JunitBatchResult);
});
