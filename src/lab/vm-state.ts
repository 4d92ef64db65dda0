// Each lab VM's recorded state (`<state>/<name>/state.json`): how it was started, its PID, port and files.

import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GauntletError } from '../model/index.js';
import type { Accel } from './qemu.js';
import type { Engine } from './vm-plan.js';

export interface VmState {
  name: string;
  kernel: string;
  fs: string;
  driver: string;
  /** Absent in states written before podman VMs existed: docker. */
  engine?: Engine;
  /** The runner's UDP port the guest's netconsole sends to. */
  netconsolePort?: number;
  memMiB: number;
  accel: Accel;
  port: number;
  pid: number;
  /** When the current QEMU process was started (ISO time). */
  startedAt: string;
  /** 1 after `lab up`, +1 per power cycle. */
  bootCount: number;
  dir: string;
  overlay: string;
  dataDisk: string;
  serialLog: string;
  pidFile: string;
  ramFile: string;
  /** The exact QEMU arguments, so a power cycle restarts the same machine. */
  qemuArgs: string[];
  /** The inventory `lab up` wrote this VM into, rewritten by `lab down`. */
  inventory: string;
  /** The shell command that hard-restarts this VM (`gauntlet lab power-cycle NAME …`), for the inventory. */
  powerCycle: string;
  cache: string;
  stateRoot: string;
}

const STATE_FILE = 'state.json';

export function engineOf(state: Pick<VmState, 'engine'>): Engine {
  return state.engine ?? 'docker';
}

export async function writeVmState(state: VmState): Promise<void> {
  await mkdir(state.dir, { recursive: true });
  const file = join(state.dir, STATE_FILE);
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

/** Every VM recorded under the state folder, sorted by name. */
export async function listVmStates(stateRoot: string): Promise<VmState[]> {
  let names: string[];
  try {
    names = await readdir(stateRoot);
  } catch {
    return [];
  }
  const states: VmState[] = [];
  for (const name of names.sort()) {
    try {
      states.push(JSON.parse(await readFile(join(stateRoot, name, STATE_FILE), 'utf8')) as VmState);
    } catch {
      // not a VM folder (known_hosts) or a VM whose start never finished
    }
  }
  return states;
}

/** The recorded VM called `name`, or a USAGE error listing the VMs that exist. */
export async function findVmState(stateRoot: string, name: string): Promise<VmState> {
  const states = await listVmStates(stateRoot);
  const state = states.find((candidate) => candidate.name === name);
  if (state) return state;
  const known = states.length > 0 ? `; lab VMs: ${states.map((s) => s.name).join(', ')}` : `; no lab VMs under ${stateRoot}`;
  throw new GauntletError('USAGE', `lab: no VM named ${JSON.stringify(name)}${known}`);
}
