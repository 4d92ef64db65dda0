// A worker thread of readJunitSources: reads and parses batches of JUnit files, so large report trees use every core.

import { readFileSync } from 'node:fs';
import { parentPort, type MessagePort } from 'node:worker_threads';
import { junitFileResult, type JunitFileResult } from './junit-parse.js';

/** A batch of files to read. */
export interface JunitBatch {
  paths: string[];
}

/** Each file's testsuites, or why it could not be read as JUnit, in the batch's order. */
export interface JunitBatchResult {
  results: Array<JunitFileResult>;
}

if (!parentPort) throw new Error('junit-read-worker runs as a worker thread of readJunitSources, not on its own');
const port: MessagePort = parentPort;
port.on('message', (batch: JunitBatch) => {
  const results = batch.paths.map((path) => {
    let bytes: Buffer | Error;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      bytes = err as Error;
    }
    return junitFileResult(bytes, path);
  });
  port.postMessage({ results } satisfies JunitBatchResult);
});
