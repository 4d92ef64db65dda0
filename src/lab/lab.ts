// The lab's lifecycle: up (build or reuse, boot VMs in parallel, write the inventory), status, power-cycle, down, clean.

import { createHash } from 'node:crypto';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { GauntletError } from '../model/index.js';
import { resolveLabPaths, type LabPaths } from './cache.js';
import { buildSshArgs, readSerialTail, waitForEngine, waitForSshBanner, type SshTarget } from './guest-ssh.js';
import { runTool } from './host-tools.js';
import { ensureImage, formatSeconds } from './image.js';
import { renderKnownHosts, writeLabInventory } from './inventory.js';
import { buildSoftLockupModule } from './kernel-module.js';
import { ensureKernel, type KernelEntry } from './kernels.js';
import { ensureLabKeys, type LabKeys } from './keys.js';
import { buildQemuArgs, chooseAccel, isVmProcess, startQemu, stopQemu, type Accel } from './qemu.js';
import { engineOf, findVmState, listVmStates, writeVmState, type VmState } from './vm-state.js';
import type { Engine, VmSpec } from './vm-plan.js';

const DATA_DISK_BYTES = 8 * 1024 ** 3;
const SSH_TIMEOUT_MS = 180_000;
const ENGINE_TIMEOUT_MS = 240_000;

export interface LabLocation {
  cache?: string;
  state?: string;
}

export interface UpOptions extends LabLocation {
  /** The VMs to boot, checked and named (vm-plan.ts). */
  vms: VmSpec[];
  accel: 'auto' | Accel;
  /** Absolute path of the inventory to write. */
  inventory: string;
  /** Builds the command line that power-cycles a VM, written into the inventory. */
  powerCycleCommand: (name: string, paths: LabPaths) => string;
  log: (line: string) => void;
}

export interface VmBootResult {
  name: string;
  kernel: string;
  engine: Engine;
  port: number;
  /** QEMU start to the SSH banner, and to the engine's API answering. */
  sshMs?: number;
  engineMs?: number;
  engineVersion?: string;
  error?: string;
}

export interface UpResult {
  vms: VmBootResult[];
  inventory: string;
  prepareMs: number;
}

export async function upLab(options: UpOptions): Promise<UpResult> {
  const names = options.vms.map((vm) => vm.name);
  if (names.length === 0) throw new GauntletError('USAGE', 'lab: expected at least one VM to boot, got none');
  const paths = resolveLabPaths(options);
  await mkdir(paths.vms, { recursive: true });
  await refuseRunningVms(paths, names);
  if (process.getuid?.() !== 0) throw new GauntletError('USAGE', 'lab: lab up needs root (debootstrap and mke2fs -d keep file ownership); run it as root');

  const log = options.log;
  const startedAt = performance.now();
  const keys = await ensureLabKeys(paths);
  const uniqueKernels = [...new Set(options.vms.map((vm) => vm.kernel))];
  // The faults suite's soft-lockup module, built per kernel on the runner; a VM without it still boots.
  const modules = Promise.all(
    uniqueKernels.map((kernel) =>
      timeStep(() => buildSoftLockupModule(kernel, paths.cache)).then(
        ({ ms }) => log(`soft-lockup test module for ${kernel}: ready in ${formatSeconds(ms)}`),
        (err: Error) => log(`soft-lockup test module for ${kernel}: not built (${err.message}); the faults suite's soft lockup test will fail`),
      ),
    ),
  );
  const [image, ...kernelEntries] = await Promise.all([
    timeStep(() => ensureImage(paths, keys, log)),
    ...uniqueKernels.map((kernel) => timeStep(() => ensureKernel(paths, kernel, log))),
  ]);
  await modules;
  log(`image ${image.value.key}: ${image.value.cached ? 'cached' : `built in ${formatSeconds(image.ms)}`}`);
  const byRelease = new Map<string, KernelEntry>();
  kernelEntries.forEach((entry, i) => {
    byRelease.set(uniqueKernels[i]!, entry.value as KernelEntry);
    log(`kernel ${uniqueKernels[i]} (${entry.value.packageVersion}): ${entry.value.cached ? 'cached' : `prepared in ${formatSeconds(entry.ms)}`}`);
  });
  const accel = await chooseAccel(paths, options.accel, byRelease.get(uniqueKernels[0]!)!.vmlinuz, log);
  const prepareMs = performance.now() - startedAt;
  log(`ready to boot after ${formatSeconds(prepareMs)}; booting ${names.length} VM${names.length === 1 ? '' : 's'} in parallel`);

  const ports = await allocatePorts(names.length);
  const knownHosts = join(paths.vms, 'known_hosts');
  const target = (port: number): SshTarget => ({ port, keyFile: keys.clientKey, knownHosts });
  const states = await Promise.all(
    options.vms.map((vm, i) => prepareVm({ paths, vm, kernel: byRelease.get(vm.kernel)!, imageBase: image.value.base, port: ports[i]!, accel, options })),
  );
  await writeKnownHosts(paths, keys);

  const results = await Promise.all(states.map((state) => bootVm(state, target(state.port), log)));
  await writeLabInventory(options.inventory, (await listVmStates(paths.vms)).filter((vm) => vm.inventory === options.inventory), {
    keyFile: keys.clientKey,
    knownHosts,
  });
  return { vms: results, inventory: options.inventory, prepareMs };
}

async function timeStep<T>(step: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const startedAt = performance.now();
  const value = await step();
  return { value, ms: performance.now() - startedAt };
}

async function refuseRunningVms(paths: LabPaths, names: string[]): Promise<void> {
  for (const state of await listVmStates(paths.vms)) {
    if (!names.includes(state.name)) continue;
    if (await isVmProcess(state.pid, state.pidFile)) {
      throw new GauntletError('USAGE', `lab: VM ${state.name} is already running (pid ${state.pid}, port ${state.port}); run gauntlet lab down ${state.name} first, or choose another --name`);
    }
    await removeVmFiles(state);
  }
}

/** Free loopback ports, distinct from each other; the kernel picks them, so they do not clash with listeners. */
async function allocatePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

interface PrepareVmInput {
  paths: LabPaths;
  vm: VmSpec;
  kernel: KernelEntry;
  imageBase: string;
  port: number;
  accel: Accel;
  options: UpOptions;
}

/** The VM's own files: a copy-on-write overlay of the image, an empty sparse data disk, its state record. */
async function prepareVm(input: PrepareVmInput): Promise<VmState> {
  const { paths, vm, kernel, options } = input;
  const name = vm.name;
  const dir = join(paths.vms, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const overlay = join(dir, 'overlay.qcow2');
  const dataDisk = join(dir, 'data.raw');
  await runTool('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', input.imageBase, overlay]);
  const handle = await open(dataDisk, 'w');
  await handle.truncate(DATA_DISK_BYTES);
  await handle.close();
  const stateTag = createHash('sha256').update(paths.vms).digest('hex').slice(0, 8);
  const ramFile = `/dev/shm/gauntlet-lab-${name}-${stateTag}`;
  await rm(ramFile, { force: true });
  const spec = {
    name,
    accel: input.accel,
    memMiB: vm.memMiB,
    vmlinuz: kernel.vmlinuz,
    initrd: kernel.initrd,
    modulesImage: kernel.modulesImage,
    overlay,
    dataDisk,
    serialLog: join(dir, 'serial.log'),
    pidFile: join(dir, 'qemu.pid'),
    ramFile,
    port: input.port,
    fs: vm.fs,
    driver: vm.driver,
    engine: vm.engine,
    ...(vm.netconsolePort === undefined ? {} : { netconsolePort: vm.netconsolePort }),
  };
  const state: VmState = {
    name,
    kernel: vm.kernel,
    fs: vm.fs,
    driver: vm.driver,
    engine: vm.engine,
    ...(vm.netconsolePort === undefined ? {} : { netconsolePort: vm.netconsolePort }),
    memMiB: vm.memMiB,
    accel: input.accel,
    port: input.port,
    pid: 0,
    startedAt: new Date().toISOString(),
    bootCount: 0,
    dir,
    overlay,
    dataDisk,
    serialLog: spec.serialLog,
    pidFile: spec.pidFile,
    ramFile,
    qemuArgs: buildQemuArgs(spec),
    inventory: options.inventory,
    powerCycle: options.powerCycleCommand(name, paths),
    cache: paths.cache,
    stateRoot: paths.vms,
  };
  await writeVmState(state);
  return state;
}

/** Starts QEMU and waits for SSH, then for the engine; a VM that fails is reported, never thrown past the others. */
async function bootVm(state: VmState, target: SshTarget, log: (line: string) => void): Promise<VmBootResult> {
  const engine = engineOf(state);
  const result: VmBootResult = { name: state.name, kernel: state.kernel, engine, port: state.port };
  try {
    const startedAt = performance.now();
    await startVmProcess(state);
    const isAlive = () => isVmProcess(state.pid, state.pidFile);
    await waitForSshBanner(state.port, { timeoutMs: SSH_TIMEOUT_MS, isAlive, serialLog: state.serialLog, vm: state.name });
    result.sshMs = performance.now() - startedAt;
    log(`${state.name}: SSH on 127.0.0.1:${state.port} after ${formatSeconds(result.sshMs)} (kernel ${state.kernel}, ${state.accel.toUpperCase()})`);
    result.engineVersion = await waitForEngine(target, engine, { timeoutMs: ENGINE_TIMEOUT_MS, isAlive, vm: state.name, serialLog: state.serialLog });
    result.engineMs = performance.now() - startedAt;
    log(`${state.name}: ${engine} ${result.engineVersion} answered after ${formatSeconds(result.engineMs)}`);
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    log(`${state.name}: failed: ${result.error}`);
  }
  return result;
}

async function startVmProcess(state: VmState): Promise<void> {
  const pid = await startQemu(state.qemuArgs, state.pidFile);
  state.pid = pid;
  state.startedAt = new Date().toISOString();
  state.bootCount += 1;
  await writeVmState(state);
}

async function writeKnownHosts(paths: LabPaths, keys: LabKeys): Promise<void> {
  await writeFile(join(paths.vms, 'known_hosts'), renderKnownHosts(await listVmStates(paths.vms), keys.hostPublic));
}

export interface VmStatus {
  name: string;
  kernel: string;
  port: number;
  pid: number;
  running: boolean;
  uptimeS?: number;
  bootCount: number;
  fs: string;
  driver: string;
  engine: Engine;
  accel: Accel;
  serialLog: string;
  netconsolePort?: number;
}

export async function describeLab(location: LabLocation): Promise<VmStatus[]> {
  const paths = resolveLabPaths(location);
  const states = await listVmStates(paths.vms);
  return Promise.all(
    states.map(async (state) => {
      const running = await isVmProcess(state.pid, state.pidFile);
      return {
        name: state.name,
        kernel: state.kernel,
        port: state.port,
        pid: state.pid,
        running,
        uptimeS: running ? (Date.now() - Date.parse(state.startedAt)) / 1000 : undefined,
        bootCount: state.bootCount,
        fs: state.fs,
        driver: state.driver,
        engine: engineOf(state),
        accel: state.accel,
        serialLog: state.serialLog,
        ...(state.netconsolePort === undefined ? {} : { netconsolePort: state.netconsolePort }),
      };
    }),
  );
}

/**
 * A hard power cycle: SIGKILL the VM's QEMU and start it again with the same arguments on the same overlay.
 * Guest RAM is a file in /dev/shm, so ramoops (and the panic it holds) is still there for the next boot.
 */
export async function powerCycleVm(location: LabLocation & { name: string; wait: boolean; log: (line: string) => void }): Promise<{ sshMs?: number }> {
  const paths = resolveLabPaths(location);
  const state = await findVmState(paths.vms, location.name);
  await stopQemu(state.pid, state.pidFile, 0);
  const startedAt = performance.now();
  await startVmProcess(state);
  location.log(`${state.name}: QEMU restarted (pid ${state.pid}, boot ${state.bootCount})`);
  if (!location.wait) return {};
  const isAlive = () => isVmProcess(state.pid, state.pidFile);
  await waitForSshBanner(state.port, { timeoutMs: SSH_TIMEOUT_MS, isAlive, serialLog: state.serialLog, vm: state.name });
  const sshMs = performance.now() - startedAt;
  location.log(`${state.name}: SSH back after ${formatSeconds(sshMs)}`);
  // Back means back as a container host: a suite run right after a power cycle needs the engine, not just SSH.
  const keys = await ensureLabKeys(paths);
  const engine = engineOf(state);
  await waitForEngine({ port: state.port, keyFile: keys.clientKey, knownHosts: join(paths.vms, 'known_hosts') }, engine, { timeoutMs: ENGINE_TIMEOUT_MS, isAlive, vm: state.name, serialLog: state.serialLog });
  location.log(`${state.name}: ${engine} back after ${formatSeconds(performance.now() - startedAt)}`);
  return { sshMs };
}

/** Stops the named VMs (all when none is named), removes their disks and RAM files, and rewrites their inventories. */
export async function downLab(location: LabLocation & { names: string[]; log: (line: string) => void }): Promise<string[]> {
  const paths = resolveLabPaths(location);
  const states = location.names.length > 0 ? await Promise.all(location.names.map((name) => findVmState(paths.vms, name))) : await listVmStates(paths.vms);
  await Promise.all(
    states.map(async (state) => {
      await stopQemu(state.pid, state.pidFile);
      await removeVmFiles(state);
      location.log(`${state.name}: stopped (pid ${state.pid}), overlay and data disk removed, port ${state.port} freed`);
    }),
  );
  const remaining = await listVmStates(paths.vms);
  const keys = await ensureLabKeys(paths);
  for (const inventory of new Set(states.map((state) => state.inventory))) {
    await writeLabInventory(inventory, remaining.filter((vm) => vm.inventory === inventory), { keyFile: keys.clientKey, knownHosts: join(paths.vms, 'known_hosts') });
  }
  if (remaining.length === 0) await rm(join(paths.vms, 'known_hosts'), { force: true });
  else await writeKnownHosts(paths, keys);
  return states.map((state) => state.name);
}

async function removeVmFiles(state: VmState): Promise<void> {
  await rm(state.dir, { recursive: true, force: true });
  await rm(state.ramFile, { force: true });
}

/** `lab down` for every VM, then the caches: image, kernels, downloaded packages, keys. */
export async function cleanLab(location: LabLocation & { log: (line: string) => void }): Promise<void> {
  await downLab({ ...location, names: [] });
  const paths = resolveLabPaths(location);
  for (const dir of [paths.images, paths.kernels, paths.debs, paths.keys, join(paths.cache, 'kvm-probe'), join(paths.cache, 'accel.json')]) {
    await rm(dir, { recursive: true, force: true });
  }
  location.log(`caches removed from ${paths.cache}`);
}

/** The `ssh` arguments that open a shell (or run `command`) on a VM with the lab key and pinned host key. */
export async function buildVmSshArgs(location: LabLocation & { name: string }): Promise<{ args: string[]; serialLog: string }> {
  const paths = resolveLabPaths(location);
  const state = await findVmState(paths.vms, location.name);
  if (!(await isVmProcess(state.pid, state.pidFile))) {
    throw new GauntletError('LAB_FAILED', `lab: VM ${state.name} is not running; ${await readSerialTail(state.serialLog, 2)}; try gauntlet lab power-cycle ${state.name}`);
  }
  return { args: buildSshArgs({ port: state.port, keyFile: join(paths.keys, 'id_ed25519'), knownHosts: join(paths.vms, 'known_hosts') }, { batch: false }), serialLog: state.serialLog };
}
