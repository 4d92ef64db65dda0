// Parsers for the small host probes' output: /proc files, uname, stat -f, systemctl and runtime versions.

import { GauntletError, type HardwareFacts, type KernelFacts, type SecurityFacts } from '../model/index.js';

/**
 * Parses /proc/meminfo into a map of field → value. Values given in `kB` are converted to bytes
 * (the kernel's `kB` is KiB); unitless counts (`HugePages_Total`) are kept as they are.
 */
export function parseMeminfo(text: string): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^([^:\s]+):\s*(\d+)(?:\s*(kB))?\s*$/.exec(line.trim());
    if (!match || match[1] === undefined || match[2] === undefined) continue;
    const value = Number(match[2]);
    fields[match[1]] = match[3] === 'kB' ? value * 1024 : value;
  }
  return fields;
}

/**
 * Tells the cgroup version from `stat -f -c %T /sys/fs/cgroup`: `cgroup2fs` is the unified v2
 * hierarchy; `tmpfs` is the v1 (or hybrid) layout, where /sys/fs/cgroup is a tmpfs holding one mount
 * per controller. Anything else throws, because guessing would put a wrong cgroup in the stack key.
 */
export function parseCgroupFsType(text: string): 1 | 2 {
  const type = text.trim();
  if (type === 'cgroup2fs') return 2;
  if (type === 'tmpfs' || type === 'cgroupfs') return 1;
  throw new GauntletError('PROBE_FAILED', `unrecognised filesystem type on /sys/fs/cgroup: ${JSON.stringify(type)}`);
}

/**
 * Reads the first line of an OCI runtime's `--version` output: `runc version 1.1.5+ds1` gives
 * `{ name: 'runc', version: '1.1.5+ds1' }`; the same shape serves crun, youki and runsc.
 */
export function parseRuntimeVersion(text: string): { name: string; version: string } {
  const first = firstLine(text);
  const match = /^(\S+)\s+version\s+(\S+)/i.exec(first);
  if (!match || match[1] === undefined || match[2] === undefined) {
    throw new GauntletError('PROBE_FAILED', `no "NAME version X" line in runtime output: ${JSON.stringify(first)}`);
  }
  return { name: match[1], version: match[2] };
}

/** Reads the number from the first line of `systemctl --version`: `systemd 252 (252.38-1~deb12u1)` gives `252`. */
export function parseSystemdVersion(text: string): string {
  const first = firstLine(text);
  const match = /^systemd\s+(\d+)\b/.exec(first);
  if (!match || match[1] === undefined) {
    throw new GauntletError('PROBE_FAILED', `no "systemd N" line in systemctl output: ${JSON.stringify(first)}`);
  }
  return match[1];
}

/** Reads the kernel probe's three lines: `uname -r`, `uname -v`, /proc/cmdline. */
export function parseKernelProbe(text: string): KernelFacts {
  const [release = '', version = '', cmdline = ''] = text.split('\n').map((line) => line.trim());
  if (release === '') throw new GauntletError('PROBE_FAILED', 'uname -r printed nothing');
  return { release, version, cmdline };
}

/** Reads the hardware probe's three lines: `uname -m`, `nproc`, and the MemTotal line of /proc/meminfo. */
export function parseHardwareProbe(text: string): HardwareFacts {
  const [arch = '', cpuText = '', ...rest] = text.split('\n').map((line) => line.trim());
  const cpus = Number(cpuText);
  const memTotalBytes = parseMeminfo(rest.join('\n')).MemTotal;
  if (arch === '' || !Number.isInteger(cpus) || cpus < 1 || memTotalBytes === undefined) {
    throw new GauntletError('PROBE_FAILED', `unexpected hardware probe output: ${JSON.stringify(text.slice(0, 200))}`);
  }
  return { arch, cpus, memTotalBytes };
}

/** Reads /sys/module/apparmor/parameters/enabled (`Y` or `N`), or the probe's `absent` when the module is not there. */
export function parseApparmorState(text: string): SecurityFacts['apparmor'] {
  const value = text.trim();
  if (value === 'Y') return 'enabled';
  if (value === 'N') return 'disabled';
  if (value === 'absent') return 'absent';
  throw new GauntletError('PROBE_FAILED', `unexpected AppArmor state: ${JSON.stringify(value)}`);
}

/**
 * Reads /sys/fs/selinux/enforce (`1` enforcing, `0` permissive), or the probe's own words: `disabled`
 * when selinuxfs is not mounted but /etc/selinux/config exists, `absent` when neither is there.
 */
export function parseSelinuxState(text: string): SecurityFacts['selinux'] {
  const value = text.trim();
  if (value === '1') return 'enforcing';
  if (value === '0') return 'permissive';
  if (value === 'disabled' || value === 'absent') return value;
  throw new GauntletError('PROBE_FAILED', `unexpected SELinux state: ${JSON.stringify(value)}`);
}

/**
 * Names a filesystem as docker's graphdriver does (`extfs`, `xfs`, `btrfs`), given the name GNU
 * `stat -f -c %T` prints. They differ only for ext2/3/4, which stat calls `ext2/ext3` after their
 * shared magic number; without this the same stack would get two keys depending on who named it.
 */
export function normaliseFsTypeName(statName: string): string {
  const name = statName.trim();
  return name === 'ext2/ext3' ? 'extfs' : name;
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? '';
}
