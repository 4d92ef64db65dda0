// What runs left behind: which runs are still in progress on this machine, and removing a run's objects from a host.

import { readdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { HostSpec } from '../model/index.js';
import type { SshOptions } from '../transport/index.js';
import { connectHost, describeError } from './fleet.js';
import { cleanHost, type CleanScope } from './kit/index.js';

/** Passes at most, and the pause before each further one, for leftovers that land late. */
const LATE_PASSES = 3;
const LATE_PASS_DELAY_MS = 5000;
/** How deep run folders are looked for under the reports folder: a soak keeps its iterations at `<soak>/iterations/<run>`. */
const MAX_DEPTH = 3;

/** A process that exists and has not ended (an unreaped zombie has ended). */
export async function isProcessAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat === null || !/^\d+ \(.*\) Z /s.test(stat);
}

/** Whether `owner` is a process on this machine that is still running. */
export async function isRunnerAlive(owner: { pid?: number; hostname?: string } | undefined): Promise<boolean> {
  return typeof owner?.pid === 'number' && owner.hostname === hostname() && (await isProcessAlive(owner.pid));
}

/**
 * Runs still in progress on this machine: a run folder under `reportsDir` (a soak's iterations included) whose journal
 * has no `run-end` and whose runner process is alive here. Their objects are not leftovers.
 */
export async function findRunsInProgress(reportsDir: string, depth = 0): Promise<string[]> {
  const entries = await readdir(reportsDir, { withFileTypes: true }).catch(() => []);
  const active: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const dir = join(reportsDir, entry.name);
    const journal = await readFile(join(dir, 'journal.jsonl'), 'utf8').catch(() => null);
    if (journal === null) {
      if (depth + 1 < MAX_DEPTH) active.push(...(await findRunsInProgress(dir, depth + 1)));
      continue;
    }
    if (journal.includes('"type":"run-end"')) continue;
    let start: { runId?: string; process?: { pid?: number; hostname?: string } };
    try {
      start = JSON.parse(journal.split('\n', 1)[0]!) as typeof start;
    } catch {
      continue;
    }
    if (start.runId && (await isRunnerAlive(start.process))) active.push(start.runId);
  }
  return active;
}

export interface CleanResult {
  host: string;
  id: string;
  /** Unreachable, or the cleaning itself failed. */
  error: string | null;
  removed: string[];
  problems: string[];
}

/**
 * Removes from one host what the runs in `scope` left: connects, cleans, and after a pass that found something looks
 * again (an engine operation a killed runner started, an image load or a commit, can land after the first pass).
 * Never rejects.
 */
export async function cleanRunLeftovers(host: HostSpec, scope: CleanScope, options: SshOptions = {}): Promise<CleanResult> {
  const connection = await connectHost(host, options);
  if (connection.transport === null) return { host: host.name, id: host.id, error: `unreachable: ${describeError(connection.error)}`, removed: [], problems: [] };
  const transport = connection.transport;
  try {
    const kitHost = {
      run: (cmd: string, runOptions?: { timeout?: number }) => transport.run(cmd, { timeoutMs: runOptions?.timeout ?? 0 }),
      get docker() {
        return transport.docker();
      },
    };
    const removed: string[] = [];
    let problems: string[] = [];
    for (let pass = 0; pass < LATE_PASSES; pass++) {
      if (pass > 0) await new Promise((resolve) => setTimeout(resolve, LATE_PASS_DELAY_MS));
      const result = await cleanHost(kitHost, scope);
      removed.push(...result.removed);
      problems = result.problems;
      if (result.removed.length === 0) break;
    }
    return { host: host.name, id: host.id, error: null, removed, problems };
  } catch (err) {
    return { host: host.name, id: host.id, error: describeError(err), removed: [], problems: [] };
  } finally {
    await transport.close().catch(() => undefined);
  }
}
