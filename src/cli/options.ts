// Options shared by every command that reads an inventory and reaches hosts.

import type { Command } from 'commander';

export interface InventoryOptions {
  inventory: string;
  limit?: string;
  acceptNewHostKeys?: boolean;
}

export function addInventoryOptions(command: Command): Command {
  return command
    .option('-i, --inventory <file>', 'Ansible-format YAML inventory', 'hosts.yaml')
    .option('-l, --limit <pattern>', 'select hosts as Ansible does: names, groups, globs, comma-separated, !exclude, &intersect')
    .option('--accept-new-host-keys', 'record unknown host keys in known_hosts on first use (a changed key is still refused)');
}
