// What `lab up` will boot: each VM's kernel, filesystem, storage driver, engine and memory, checked and named.

import { GauntletError } from '../model/index.js';
import { checkKernelRelease, DEFAULT_KERNELS } from './kernels.js';

export const FILESYSTEMS = ['ext4', 'xfs', 'btrfs'] as const;
export const STORAGE_DRIVERS = ['overlay2', 'btrfs', 'vfs'] as const;
export const ENGINES = ['docker', 'podman'] as const;
export const MEM_RANGE_MIB = { min: 384, max: 8192, default: 768 } as const;
export const MAX_VMS = 16;

export type Filesystem = (typeof FILESYSTEMS)[number];
export type StorageDriver = (typeof STORAGE_DRIVERS)[number];
export type Engine = (typeof ENGINES)[number];

/** One VM to boot. */
export interface VmSpec {
  name: string;
  kernel: string;
  fs: Filesystem;
  driver: StorageDriver;
  engine: Engine;
  memMiB: number;
  /** The runner's UDP port on 127.0.0.1 the guest's netconsole sends kernel messages to. */
  netconsolePort?: number;
}

/**
 * One line of a matrix: every combination of its kernels, filesystems, drivers and engines, `count` times.
 * Without drivers, each filesystem gets its natural one (btrfs on btrfs, overlay2 elsewhere).
 */
export interface VmMatrix {
  name?: string;
  kernels: string[];
  fs: string[];
  drivers?: string[];
  engines: string[];
  memMiB: number;
  count: number;
}

/** What was expected and what was received, for a message that names where the value came from. */
export interface SettingProblem {
  expected: string;
  got: string;
}

/** A VM name: a valid inventory host name and a safe file name. */
export function checkVmName(name: string, what = 'a VM name'): void {
  if (!/^[a-z][a-z0-9.-]{0,40}$/.test(name)) {
    throw new GauntletError('USAGE', `lab: expected ${what} of lower-case letters, digits, '.' and '-' starting with a letter, got ${JSON.stringify(name)}`);
  }
}

const show = (value: unknown): string => JSON.stringify(value);

/** Checks one setting's value; `undefined` when it is fine. */
export function checkVmSetting(setting: 'kernel' | 'fs' | 'driver' | 'engine' | 'mem' | 'count' | 'name' | 'netconsole', value: unknown): SettingProblem | undefined {
  const oneOf = (allowed: readonly string[]) => (typeof value === 'string' && allowed.includes(value) ? undefined : { expected: `one of ${allowed.join(', ')}`, got: show(value) });
  const integer = (min: number, max: number, what: string) =>
    Number.isInteger(value) && (value as number) >= min && (value as number) <= max ? undefined : { expected: `${what} as an integer ${min}-${max}`, got: show(value) };
  switch (setting) {
    case 'kernel':
      try {
        if (typeof value !== 'string') throw new Error();
        checkKernelRelease(value);
        return undefined;
      } catch {
        return { expected: `a Debian kernel release such as ${DEFAULT_KERNELS.join(' or ')}`, got: show(value) };
      }
    case 'fs':
      return oneOf(FILESYSTEMS);
    case 'driver':
      return oneOf(STORAGE_DRIVERS);
    case 'engine':
      return oneOf(ENGINES);
    case 'mem':
      return integer(MEM_RANGE_MIB.min, MEM_RANGE_MIB.max, 'MiB');
    case 'count':
      return integer(1, MAX_VMS, 'a VM count');
    case 'netconsole':
      return integer(1024, 65535, 'a UDP port');
    case 'name':
      try {
        if (typeof value !== 'string') throw new Error();
        checkVmName(value);
        return undefined;
      } catch {
        return { expected: "a name of lower-case letters, digits, '.' and '-' starting with a letter", got: show(value) };
      }
  }
}

/** Why a driver cannot run on a filesystem, or `undefined` when it can. */
export function checkDriverOnFs(driver: string, fs: string): SettingProblem | undefined {
  if (driver === 'btrfs' && fs !== 'btrfs') return { expected: 'fs btrfs for driver btrfs', got: `fs ${fs}` };
  if (driver === 'overlay2' && fs === 'btrfs') return { expected: 'driver btrfs or vfs on fs btrfs (overlay2 does not run on btrfs)', got: 'driver overlay2' };
  return undefined;
}

export function naturalDriver(fs: string): StorageDriver {
  return fs === 'btrfs' ? 'btrfs' : 'overlay2';
}

/** The short form of a kernel release used in VM names: `6.1.0-56`, `6.12.117`. */
function shortKernel(kernel: string): string {
  return kernel.replace(/-amd64$/, '').replace(/\+deb\d+/, '');
}

/**
 * Expands matrices into VMs. Names: a matrix's `name` alone when it makes one VM of one kernel; otherwise
 * `<name or "lab">-<kernel>` plus whatever varies in that matrix (fs, driver, engine, copy number), made
 * unique with `-2`, `-3`. Settings are assumed checked; combinations are checked here.
 */
export function expandVmMatrices(matrices: readonly VmMatrix[], netconsolePort?: number): VmSpec[] {
  const vms: VmSpec[] = [];
  const taken = new Set<string>();
  for (const matrix of matrices) {
    const kernels = matrix.kernels.length > 0 ? matrix.kernels : [...DEFAULT_KERNELS];
    const combos: Array<{ kernel: string; fs: Filesystem; driver: StorageDriver; engine: Engine }> = [];
    for (const kernel of kernels) {
      for (const fs of matrix.fs as Filesystem[]) {
        for (const driver of (matrix.drivers ?? [naturalDriver(fs)]) as StorageDriver[]) {
          const clash = checkDriverOnFs(driver, fs);
          if (clash) throw new GauntletError('USAGE', `lab: --fs ${fs} --driver ${driver}: expected ${clash.expected}, got ${clash.got}`);
          for (const engine of matrix.engines as Engine[]) combos.push({ kernel, fs, driver, engine });
        }
      }
    }
    const single = combos.length === 1 && matrix.count === 1 && matrix.name !== undefined;
    for (const combo of combos) {
      for (let copy = 1; copy <= matrix.count; copy++) {
        const parts = single ? [matrix.name!] : [matrix.name ?? 'lab', shortKernel(combo.kernel)];
        if (!single) {
          if (matrix.fs.length > 1) parts.push(combo.fs);
          if ((matrix.drivers?.length ?? 0) > 1) parts.push(combo.driver);
          if (matrix.engines.length > 1) parts.push(combo.engine);
          if (matrix.count > 1) parts.push(String(copy));
        }
        const base = parts.join('-');
        let name = base;
        for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
        taken.add(name);
        checkVmName(name);
        vms.push({ name, ...combo, memMiB: matrix.memMiB });
      }
    }
  }
  if (vms.length > MAX_VMS) throw new GauntletError('USAGE', `lab: expected at most ${MAX_VMS} VMs, got ${vms.length}`);
  if (netconsolePort !== undefined) {
    if (netconsolePort + vms.length - 1 > 65535) throw new GauntletError('USAGE', `lab: --netconsole: expected a port with room for ${vms.length} VMs below 65536, got ${netconsolePort}`);
    vms.forEach((vm, i) => (vm.netconsolePort = netconsolePort + i));
  }
  return vms;
}
