// Lab VMs for integration tests: a temporary state folder, `gauntlet lab up` from a lab file, and `lab down` that always runs.

import { access, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliResult } from './cli.js';

export interface LabVms {
  /** The temporary folder holding everything below. */
  dir: string;
  /** The VMs' state folder (`lab up --state`). */
  state: string;
  /** The inventory `lab up` writes. */
  inventory: string;
  /** What `lab up` printed. */
  up: CliResult;
  /** Stops every VM of this state folder and removes the temporary folder; safe to call after a failed `up`. */
  down(): Promise<void>;
}

/**
 * Boots the VMs a lab file describes, in a state folder of their own (the kernel and image cache is the shared default
 * one). VMs that a killed earlier run of the same test left (temporary folders with this prefix) are stopped first, so
 * they cost no CPU and no port. Throws with `lab up`'s output when it fails, after stopping whatever did start.
 */
export async function startLabVms(prefix: string, labFile: string, timeoutMs: number): Promise<LabVms> {
  await stopLeftovers(prefix);
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const state = join(dir, 'vms');
  const inventory = join(dir, 'lab.hosts.yaml');
  const file = join(dir, 'lab.yaml');
  await writeFile(file, labFile);
  const down = async (): Promise<void> => {
    await runCli(['lab', 'down', '--state', state], { timeoutMs: 120_000 });
    await rm(dir, { recursive: true, force: true });
  };
  const up = await runCli(['lab', 'up', '-f', file, '--state', state, '-i', inventory], { timeoutMs });
  if (up.exitCode !== 0) {
    await down();
    throw new Error(`gauntlet lab up failed (exit ${up.exitCode}):\n${up.stdout}\n${up.stderr}`);
  }
  return { dir, state, inventory, up, down };
}

/** `lab down` and removal of every temporary folder an earlier run with this prefix left behind. */
async function stopLeftovers(prefix: string): Promise<void> {
  const names = (await readdir(tmpdir())).filter((name) => name.startsWith(prefix));
  for (const name of names) {
    const dir = join(tmpdir(), name);
    const state = join(dir, 'vms');
    if (await access(state).then(() => true, () => false)) await runCli(['lab', 'down', '--state', state], { timeoutMs: 120_000 });
    await rm(dir, { recursive: true, force: true });
  }
}
