// `gauntlet clean`: removes from the selected hosts what interrupted runs left behind (their containers,
// images, volumes, networks, namespaces, veths, cgroups, mounts, loop devices, workspaces and fill files).

import type { Command } from 'commander';
import { GauntletError } from '../../model/index.js';
import { EXIT } from '../errors.js';
import { addInventoryOptions, type InventoryOptions } from '../options.js';

interface CleanOptions extends InventoryOptions {
  run?: string;
  out: string;
  json?: boolean;
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
    const [{ loadInventory, selectHosts }, { cleanRunLeftovers, findRunsInProgress }, { isRunId }] = await Promise.all([
      import('../../inventory/index.js'),
      import('../../runner/leftovers.js'),
      import('../../runner/kit/index.js'),
    ]);
    if (options.run !== undefined && !isRunId(options.run)) {
      throw new GauntletError('USAGE', `--run: expected a run id like 20261122-103000-ab12 (a folder name under reports/), got ${JSON.stringify(options.run)}`);
    }
    const inventory = await loadInventory(options.inventory);
    const hosts = selectHosts(inventory, options.limit);
    const inProgress = options.run ? [] : await findRunsInProgress(options.out);
    if (inProgress.length > 0 && !options.json) process.stdout.write(`runs in progress on this machine, left alone: ${inProgress.join(', ')}\n`);
    const scope = options.run ? { runId: options.run } : { exceptRunIds: inProgress };
    const results = await Promise.all(hosts.map((host) => cleanRunLeftovers(host, scope, { acceptNewHostKeys: options.acceptNewHostKeys })));
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
