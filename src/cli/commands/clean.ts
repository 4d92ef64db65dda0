// `gauntlet clean`: removes from the selected hosts what interrupted runs left behind (their containers,
// images, volumes, networks, namespaces, veths, cgroups, mounts, loop devices, workspaces and fill files).

import { readdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { GauntletError } from '../../model/index.js';
import { EXIT } from '../errors.js';
import { addInventoryOptions, type InventoryOptions } from '../options.js';

/** Passes at most, and the pause before each further one, for leftovers that land late. */
const LATE_PASSES = 3;
const LATE_PASS_DELAY_MS = 5000;

interface CleanOptions extends InventoryOptions {
  run?: string;
  out: string;
  json?: boolean;
}

/**
 * Runs still in progress on this machine: a report folder whose journal has no `run-end` and whose runner
 * process is alive here. Their objects are not leftovers.
 */
async function findRunsInProgress(reportsDir: string): Promise<string[]> {
  const entries = await readdir(reportsDir, { withFileTypes: true }).catch(() => []);
  const active: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const journal = await readFile(join(reportsDir, entry.name, 'journal.jsonl'), 'utf8').catch(() => null);
    if (journal === null || journal.includes('"type":"run-end"')) continue;
    let start: { runId?: string; process?: { pid?: number; hostname?: string } };
    try {
      start = JSON.parse(journal.split('\n', 1)[0]!) as typeof start;
    } catch {
      continue;
    }
    const pid = start.process?.pid;
    if (!start.runId || typeof pid !== 'number' || start.process?.hostname !== hostname()) continue;
    if (await isAlive(pid)) active.push(start.runId);
  }
  return active;
}

/** A process that exists and has not ended (an unreaped zombie has ended). */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat === null || !/^\d+ \(.*\) Z /s.test(stat);
}

export function registerCleanCommand(program: Command): void {
  const command = program
    .command('clean')
    .description("Remove what interrupted runs left on the selected hosts: every object marked with a run's label or name, and nothing else.")
    .option('--run <run-id>', "only this run's leftovers (default: every run's, except runs still in progress on this machine)")
    .option('-o, --out <dir>', 'the reports folder in which runs in progress are looked for', 'reports')
    .option('--json', 'print a JSON array, one object per host');
  addInventoryOptions(command);
  command.addHelpText(
    'after',
    [
      '',
      'Without --run, runs still in progress on this machine (a report folder under --out whose journal has no end and',
      "whose runner process is alive) are left alone; runs from other machines are not known here: clean their hosts with --run.",
      '',
      'Objects are found by their marks: engine objects labelled gauntlet.run=<run-id>; namespaces, cgroups, workspaces',
      '(/var/tmp/gauntlet-<run-id>-…) and fill files named gauntlet-<run-id>-…; veths named gtl<4 hex of the run id>….',
      '',
      'Exit codes: 0 every host clean, 1 a host unreachable or an object that could not be removed, 2 bad input.',
    ].join('\n'),
  );
  command.action(async (options: CleanOptions) => {
    const [{ loadInventory, selectHosts }, { connectHost, describeError }, { cleanHost, isRunId }] = await Promise.all([
      import('../../inventory/index.js'),
      import('../../runner/fleet.js'),
      import('../../runner/kit/index.js'),
    ]);
    if (options.run !== undefined && !isRunId(options.run)) {
      throw new GauntletError('USAGE', `--run: expected a run id like 20261122-103000-ab12 (a folder name under reports/), got ${JSON.stringify(options.run)}`);
    }
    const inventory = await loadInventory(options.inventory);
    const hosts = selectHosts(inventory, options.limit);
    const inProgress = options.run ? [] : await findRunsInProgress(options.out);
    if (inProgress.length > 0 && !options.json) process.stdout.write(`runs in progress on this machine, left alone: ${inProgress.join(', ')}\n`);
    const results = await Promise.all(
      hosts.map(async (host) => {
        const connection = await connectHost(host, { acceptNewHostKeys: options.acceptNewHostKeys });
        if (connection.transport === null) return { host: host.name, id: host.id, error: `unreachable: ${describeError(connection.error)}`, removed: [], problems: [] };
        const transport = connection.transport;
        try {
          const kitHost = {
            run: (cmd: string, runOptions?: { timeout?: number }) => transport.run(cmd, { timeoutMs: runOptions?.timeout ?? 0 }),
            get docker() {
              return transport.docker();
            },
          };
          const scope = options.run ? { runId: options.run } : { exceptRunIds: inProgress };
          // An engine operation the killed runner started (an image load, a commit) can still land after the
          // first pass: after a pass that found something, look again until one finds nothing.
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
      }),
    );
    if (options.json) {
      process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    } else {
      for (const result of results) {
        const head = `[${result.host} ${result.id}]`;
        if (result.error) {
          process.stdout.write(`${head} ${result.error}\n`);
          continue;
        }
        process.stdout.write(`${head} removed ${result.removed.length}${result.problems.length ? `, ${result.problems.length} could not be removed` : ''}\n`);
        for (const line of result.removed) process.stdout.write(`  removed ${line}\n`);
        for (const line of result.problems) process.stdout.write(`  PROBLEM ${line}\n`);
      }
      const clean = results.filter((r) => !r.error && r.problems.length === 0).length;
      process.stdout.write(`\n${clean}/${results.length} hosts clean\n`);
    }
    process.exitCode = results.every((r) => !r.error && r.problems.length === 0) ? EXIT.OK : EXIT.FAILED;
  });
}
