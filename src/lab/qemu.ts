// QEMU for lab VMs: the command line, the accelerator that works here, and starting and stopping by PID.

import { access, constants, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { release as hostRelease } from 'node:os';
import { join } from 'node:path';
import { GauntletError } from '../model/index.js';
import { GUEST_ARG_PREFIX } from './guest-scripts.js';
import { findTool, lastLines, runTool, TOOL_PATH } from './host-tools.js';
import type { LabPaths } from './cache.js';

export type Accel = 'kvm' | 'tcg';

/** TCG with a 256 MiB translation cache: about 0.8 GiB of QEMU RSS per VM instead of 1.6 GiB. */
const TCG_ACCEL = 'tcg,thread=multi,tb-size=256';

export interface QemuSpec {
  name: string;
  accel: Accel;
  memMiB: number;
  vmlinuz: string;
  initrd: string;
  modulesImage: string;
  overlay: string;
  dataDisk: string;
  serialLog: string;
  pidFile: string;
  /** Guest RAM lives in this file (/dev/shm) so ramoops survives a QEMU restart. */
  ramFile: string;
  port: number;
  fs: string;
  driver: string;
  engine: string;
  /** The runner's UDP port (on 127.0.0.1, the guest's 10.0.2.2) for netconsole. */
  netconsolePort?: number;
}

/** Where ramoops lives in guest RAM: 1 MiB at half the memory, reserved with memmap so nothing else uses it. */
export function ramoopsAddress(memMiB: number): string {
  return `0x${(Math.floor(memMiB / 2) * 1024 * 1024).toString(16)}`;
}

export function buildKernelArgs(spec: Pick<QemuSpec, 'name' | 'memMiB' | 'fs' | 'driver' | 'engine' | 'netconsolePort'>): string {
  const address = ramoopsAddress(spec.memMiB);
  return [
    'console=ttyS0,115200',
    'apparmor=0', // the minbase image has no apparmor_parser and dockerd refuses to start without it
    'panic=-1', // reboot at once on panic; -no-reboot turns that into QEMU exiting, the lab's crash signal
    'quiet', // the guest init restores the console level once booted
    '8250.nr_uarts=1',
    'i8042.noaux',
    'i8042.nokbd',
    `memmap=1M$${address}`,
    `ramoops.mem_address=${address}`,
    'ramoops.mem_size=0x100000',
    'ramoops.record_size=0x40000',
    'ramoops.console_size=0x40000',
    'ramoops.ecc=1',
    `${GUEST_ARG_PREFIX}name=${spec.name}`,
    `${GUEST_ARG_PREFIX}fs=${spec.fs}`,
    `${GUEST_ARG_PREFIX}driver=${spec.driver}`,
    `${GUEST_ARG_PREFIX}engine=${spec.engine}`,
    ...(spec.netconsolePort === undefined ? [] : [`${GUEST_ARG_PREFIX}netconsole=${spec.netconsolePort}`]),
  ].join(' ');
}

/** The full command line (without the binary). The order of -drive options fixes vda, vdb, vdc in the guest. */
export function buildQemuArgs(spec: QemuSpec): string[] {
  return [
    '-name', `gauntlet-lab-${spec.name}`,
    '-accel', spec.accel === 'kvm' ? 'kvm' : TCG_ACCEL,
    '-machine', 'pc,memory-backend=ram',
    '-m', `${spec.memMiB}M`,
    '-object', `memory-backend-file,id=ram,size=${spec.memMiB}M,mem-path=${spec.ramFile},share=on`,
    '-smp', '1',
    '-nodefaults',
    '-no-user-config',
    '-display', 'none',
    '-no-reboot',
    '-kernel', spec.vmlinuz,
    '-initrd', spec.initrd,
    '-append', buildKernelArgs(spec),
    '-drive', `file=${spec.overlay},format=qcow2,if=virtio,cache=unsafe`,
    '-drive', `file=${spec.dataDisk},format=raw,if=virtio,cache=unsafe`,
    '-drive', `file=${spec.modulesImage},format=raw,if=virtio,readonly=on`,
    '-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${spec.port}-:22`,
    '-device', 'virtio-net-pci,netdev=n0',
    '-chardev', `file,id=serial0,path=${spec.serialLog},append=on`,
    '-serial', 'chardev:serial0',
    '-pidfile', spec.pidFile,
    '-daemonize',
  ];
}

/** Starts a VM detached (QEMU daemonizes once its devices are up) and returns its PID. */
export async function startQemu(args: string[], pidFile: string): Promise<number> {
  await rm(pidFile, { force: true });
  try {
    await runTool('qemu-system-x86_64', args, { timeoutMs: 60_000 });
  } catch (err) {
    throw new GauntletError('LAB_FAILED', `${(err as Error).message}`, { cause: err });
  }
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new GauntletError('LAB_FAILED', `lab: QEMU wrote no PID to ${pidFile}`);
  return pid;
}

/** True when `pid` is a live QEMU started for this VM (its command line names the VM's pidfile): never another process that reused the PID. */
export async function isVmProcess(pid: number | undefined, pidFile: string): Promise<boolean> {
  if (!pid) return false;
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = /\) (\S)/.exec(stat)?.[1];
    return cmdline.split('\0').includes(pidFile) && state !== 'Z';
  } catch {
    return false;
  }
}

/** Stops a VM's QEMU: SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopQemu(pid: number | undefined, pidFile: string, graceMs = 3000): Promise<void> {
  if (!(await isVmProcess(pid, pidFile))) return;
  sendSignal(pid!, graceMs === 0 ? 'SIGKILL' : 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (await isVmProcess(pid, pidFile)) {
    if (Date.now() > deadline) sendSignal(pid!, 'SIGKILL');
    if (Date.now() > deadline + 10_000) throw new GauntletError('LAB_FAILED', `lab: QEMU ${pid} did not exit after SIGKILL`);
    await sleep(50);
  }
}

function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * KVM when it works, else TCG. /dev/kvm can exist and still hang guests (it does on nested hosts), so a
 * short probe boots the kernel with KVM and looks for its first line on the serial port; the verdict is
 * cached per host kernel and QEMU version.
 */
export async function chooseAccel(paths: LabPaths, requested: 'auto' | Accel, vmlinuz: string, log: (line: string) => void): Promise<Accel> {
  if (requested !== 'auto') return requested;
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    log('accel: /dev/kvm is not usable; using TCG');
    return 'tcg';
  }
  const { stdout: version } = await runTool('qemu-system-x86_64', ['--version']);
  const probeKey = `${hostRelease()} ${version.split('\n')[0]}`;
  const verdictFile = join(paths.cache, 'accel.json');
  try {
    const cached = JSON.parse(await readFile(verdictFile, 'utf8')) as { key: string; accel: Accel; reason: string };
    if (cached.key === probeKey) {
      log(`accel: ${cached.accel.toUpperCase()} (${cached.reason}; probed earlier)`);
      return cached.accel;
    }
  } catch {
    // not probed yet
  }
  const { accel, reason } = await probeKvm(paths, vmlinuz);
  await writeFile(verdictFile, `${JSON.stringify({ key: probeKey, accel, reason }, null, 2)}\n`);
  log(`accel: ${accel.toUpperCase()} (${reason})`);
  return accel;
}

const KVM_PROBE_MS = 8000;

async function probeKvm(paths: LabPaths, vmlinuz: string): Promise<{ accel: Accel; reason: string }> {
  const dir = join(paths.cache, 'kvm-probe');
  await mkdir(dir, { recursive: true });
  const serial = join(dir, 'serial.log');
  await rm(serial, { force: true });
  const { execa } = await import('execa');
  const child = execa(
    await findTool('qemu-system-x86_64'),
    ['-accel', 'kvm', '-m', '256M', '-smp', '1', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot', '-kernel', vmlinuz, '-append', 'console=ttyS0 panic=-1', '-serial', `file:${serial}`],
    { reject: false, stdin: 'ignore', env: { PATH: TOOL_PATH } },
  );
  const deadline = Date.now() + KVM_PROBE_MS;
  let text = '';
  while (Date.now() < deadline && child.exitCode === null) {
    text = await readFile(serial, 'utf8').catch(() => '');
    if (text.includes('Linux version')) break;
    await sleep(200);
  }
  text = await readFile(serial, 'utf8').catch(() => text);
  child.kill('SIGKILL');
  const result = await child;
  if (text.includes('Linux version')) return { accel: 'kvm', reason: 'a KVM guest printed its first line' };
  const why = result.exitCode !== null && result.exitCode !== undefined && !result.isTerminated ? `QEMU with KVM exited: ${lastLines(String(result.stderr), 1)}` : `a KVM guest printed nothing in ${KVM_PROBE_MS / 1000} s: KVM hangs here`;
  return { accel: 'tcg', reason: `${why}; falling back to TCG` };
}
