// Writes the lab's Ansible-format inventory (lab.hosts.yaml) and the known_hosts file pinning the VMs' host key.

import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { PODMAN_SOCKET } from './guest-scripts.js';
import { engineOf, type VmState } from './vm-state.js';

export const INVENTORY_HEADER = '# Written by `gauntlet lab up`; `gauntlet lab down` rewrites it. Edits are lost.';

export interface LabInventoryOptions {
  keyFile: string;
  knownHosts: string;
}

/** One host per VM under the `lab` group, with everything gauntlet needs to reach, watch and restart it. */
export function renderLabInventory(vms: readonly VmState[], options: LabInventoryOptions): string {
  const hosts: Record<string, Record<string, unknown>> = {};
  for (const vm of vms) {
    // The guest boots a kernel it does not hold: its config sits next to the kernel in the runner's cache.
    const vmlinuz = vm.qemuArgs[vm.qemuArgs.indexOf('-kernel') + 1];
    hosts[vm.name] = {
      ansible_host: '127.0.0.1',
      ansible_port: vm.port,
      ansible_user: 'root',
      ansible_ssh_private_key_file: options.keyFile,
      gauntlet_known_hosts: options.knownHosts,
      gauntlet_disposable: true,
      gauntlet_console: `file:${vm.serialLog}`,
      gauntlet_power_cycle: vm.powerCycle,
      ...(vm.qemuArgs.includes('-kernel') && vmlinuz ? { gauntlet_kernel_config: join(dirname(vmlinuz), 'config') } : {}),
      ...(engineOf(vm) === 'podman' ? { gauntlet_docker_socket: PODMAN_SOCKET } : {}),
      gauntlet_labels: {
        lab: 'true',
        kernel: vm.kernel,
        fs: vm.fs,
        driver: vm.driver,
        engine: engineOf(vm),
        ...(vm.netconsolePort === undefined ? {} : { netconsole: `udp:127.0.0.1:${vm.netconsolePort}` }),
      },
    };
  }
  const tree = { all: { children: { lab: { hosts } } } };
  return `${INVENTORY_HEADER}\n${stringify(tree, { lineWidth: 0 })}`;
}

/** `[127.0.0.1]:PORT ssh-ed25519 AAAA…` for every VM: they share the image's host key, each on its own port. */
export function renderKnownHosts(vms: readonly VmState[], hostPublic: string): string {
  return vms.map((vm) => `[127.0.0.1]:${vm.port} ${hostPublic}\n`).join('');
}

/** Writes the inventory, or removes it when no VM is left (only a file this module wrote). */
export async function writeLabInventory(file: string, vms: readonly VmState[], options: LabInventoryOptions): Promise<void> {
  if (vms.length > 0) {
    await writeFile(file, renderLabInventory(vms, options));
    return;
  }
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text?.startsWith(INVENTORY_HEADER)) await rm(file, { force: true });
}
