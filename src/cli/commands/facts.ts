// `gauntlet facts`: which stack every selected host runs, as a table or JSON.

import type { Command } from 'commander';
import Table from 'cli-table3';
import type { HostFactsRecord } from '../../model/index.js';
import { EXIT } from '../errors.js';
import { addInventoryOptions, type InventoryOptions } from '../options.js';

interface FactsOptions extends InventoryOptions {
  json?: boolean;
}

export function registerFactsCommand(program: Command): void {
  const command = program
    .command('facts')
    .description('Gather each selected host\'s stack (distro, kernel, engine, storage driver, backing filesystem, cgroup, runtime) and print it.')
    .option('--json', 'print a JSON array, one object per host');
  addInventoryOptions(command);
  command.addHelpText(
    'after',
    '\nExit codes: 0 every selected host answered, 1 any did not, 2 bad input.\n\nStack key format: <distro>[-<version>]/<kernel release>/<engine>-<version>/<storage driver>/<backing fs>/cgroup<N>',
  );
  command.action(async (options: FactsOptions) => {
    // Loaded here, not at start-up: `gauntlet --help` and other commands need none of it.
    const [{ loadInventory, selectHosts }, { collectFleetFacts }] = await Promise.all([import('../../inventory/index.js'), import('../../runner/fleet.js')]);
    const inventory = await loadInventory(options.inventory);
    const hosts = selectHosts(inventory, options.limit);
    const records = await collectFleetFacts(hosts, { acceptNewHostKeys: options.acceptNewHostKeys });
    process.stdout.write(options.json ? `${JSON.stringify(records, null, 2)}\n` : renderFactsTable(records));
    process.exitCode = records.every((record) => record.reachable && record.error === null) ? EXIT.OK : EXIT.FAILED;
  });
}

export function renderFactsTable(records: HostFactsRecord[]): string {
  const table = new Table({
    head: ['HOST', 'ID', 'KERNEL', 'ENGINE', 'STACK KEY / ERROR'],
    style: { head: [], border: [], compact: true },
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' },
  });
  for (const record of records) {
    const facts = record.facts;
    const engine = facts?.engine ? `${facts.engine.name} ${facts.engine.version}` : facts ? 'none' : '-';
    table.push([record.host, record.id, facts?.kernel.release ?? '-', engine, record.error ? `unreachable: ${record.error}` : (record.stackKey ?? '-')]);
  }
  const reachable = records.filter((record) => record.reachable).length;
  return `${table.toString()}\n\n${reachable}/${records.length} hosts answered\n`;
}
