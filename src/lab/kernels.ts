// Debian kernels for lab VMs: download linux-image-<release>-unsigned, keep the kernel, build its initramfs and modules disk.

import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { GauntletError } from '../model/index.js';
import { hashRecipe, pruneSupersededEntries, publishEntry, readManifest, type LabPaths } from './cache.js';
import { encodeCpio, type CpioEntry } from './cpio.js';
import { renderInitramfsInit } from './guest-scripts.js';
import { runTool, TOOL_PATH } from './host-tools.js';

/** The kernels `lab up` boots when no --kernel is given: the newest 6.1 and 6.12 in bookworm's archive. */
export const DEFAULT_KERNELS = ['6.1.0-56-amd64', '6.12.117+deb12-amd64'] as const;

/** Bump when the way a kernel entry is built changes, so old cache entries are not reused. */
const KERNEL_RECIPE = 'kernel-v1';

/** Module trees a container test host never loads (sound, GPUs, radios, cameras): 391 MB → about 150 MB. */
const TRIMMED_MODULE_DIRS = [
  'sound',
  'drivers/gpu',
  'drivers/media',
  'drivers/net/wireless',
  'drivers/bluetooth',
  'drivers/infiniband',
  'drivers/staging',
  'drivers/iio',
  'drivers/isdn',
  'drivers/usb',
  'drivers/hid',
  'drivers/input/touchscreen',
  'drivers/net/can',
  'drivers/net/ethernet',
  'net/wireless',
  'net/mac80211',
  'net/bluetooth',
];

/** What the initramfs loads to reach the root disk; a name the kernel has built in is skipped. */
const ROOT_MODULES = ['virtio_pci', 'virtio_blk', 'crc32c_generic', 'ext4'];

export interface KernelEntry {
  release: string;
  /** The Debian package version it came from (`6.1.192-2`). */
  packageVersion: string;
  dir: string;
  vmlinuz: string;
  initrd: string;
  modulesImage: string;
  config: string;
  systemMap: string;
}

interface KernelManifest {
  release: string;
  packageVersion: string;
  key: string;
  builtAt: string;
}

/** A kernel release as `uname -r` prints it, e.g. 6.1.0-56-amd64 or 6.12.117+deb12-amd64. */
export function checkKernelRelease(release: string): void {
  if (!/^\d+\.\d+(\.\d+)?[-+][\w.+~-]*amd64$/.test(release)) {
    throw new GauntletError('USAGE', `lab: --kernel: expected a kernel release such as ${DEFAULT_KERNELS.join(' or ')}, got ${JSON.stringify(release)}`);
  }
}

/** The package's candidate version in the runner's apt lists, or a USAGE error naming the releases that exist. */
export async function findKernelPackageVersion(release: string): Promise<string> {
  const pkg = `linux-image-${release}-unsigned`;
  const { stdout } = await runTool('apt-cache', ['policy', pkg]);
  const candidate = /Candidate:\s*(\S+)/.exec(stdout)?.[1];
  if (candidate && candidate !== '(none)') return candidate;
  const series = /^\d+\.\d+/.exec(release)?.[0] ?? '';
  const { stdout: found } = await runTool('apt-cache', ['search', '--names-only', `^linux-image-${series.replace('.', '\\.')}.*-amd64-unsigned$`]);
  const releases = found
    .split('\n')
    .map((line) => /^linux-image-(\S+)-unsigned\b/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && !/-(rt|cloud)-amd64$/.test(name));
  const hint = releases.length > 0 ? `; available: ${releases.join(', ')}` : '; run apt-get update if the archive has it';
  throw new GauntletError('USAGE', `lab: --kernel ${release}: no package ${pkg} in the apt lists${hint}`);
}

/** The cached kernel entry for a release, fetched and prepared on first use. */
export async function ensureKernel(paths: LabPaths, release: string, log: (line: string) => void): Promise<KernelEntry & { cached: boolean }> {
  checkKernelRelease(release);
  const packageVersion = await findKernelPackageVersion(release);
  const key = hashRecipe([KERNEL_RECIPE, release, packageVersion, renderInitramfsInit(), ...TRIMMED_MODULE_DIRS, ...ROOT_MODULES]);
  const dir = join(paths.kernels, `${release}-${key}`);
  const entry = describeKernelEntry(dir, release, packageVersion);
  if ((await readManifest<KernelManifest>(dir))?.key === key) return { ...entry, cached: true };

  log(`kernel ${release}: downloading linux-image-${release}-unsigned ${packageVersion}`);
  await mkdir(paths.debs, { recursive: true });
  await publishEntry<KernelManifest>(dir, async (scratch) => {
    const deb = await downloadPackage(paths, `linux-image-${release}-unsigned`, packageVersion);
    const tree = join(scratch, 'tree');
    await runTool('dpkg-deb', ['-x', deb, tree]);
    const scratchEntry = describeKernelEntry(scratch, release, packageVersion);
    await copyFile(join(tree, 'boot', `vmlinuz-${release}`), scratchEntry.vmlinuz);
    await copyFile(join(tree, 'boot', `config-${release}`), scratchEntry.config);
    await copyFile(join(tree, 'boot', `System.map-${release}`), scratchEntry.systemMap);
    const moduleDir = join(tree, 'lib', 'modules', release);
    await Promise.all(TRIMMED_MODULE_DIRS.map((sub) => rm(join(moduleDir, 'kernel', sub), { recursive: true, force: true })));
    await runTool('depmod', ['-b', tree, release]);
    log(`kernel ${release}: building the initramfs and the modules disk`);
    await writeFile(scratchEntry.initrd, await buildInitramfs(paths, tree, release));
    await buildModulesImage(join(tree, 'lib', 'modules'), scratchEntry.modulesImage);
    await rm(tree, { recursive: true, force: true });
    return { release, packageVersion, key, builtAt: new Date().toISOString() };
  });
  await pruneSupersededEntries(paths.kernels, release, basename(dir));
  return { ...entry, cached: false };
}

function describeKernelEntry(dir: string, release: string, packageVersion: string): KernelEntry {
  return {
    release,
    packageVersion,
    dir,
    vmlinuz: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.cpio'),
    modulesImage: join(dir, 'modules.ext4'),
    config: join(dir, 'config'),
    systemMap: join(dir, 'System.map'),
  };
}

/** `apt-get download` into the shared .deb folder, unless that exact version is already there. */
export async function downloadPackage(paths: LabPaths, pkg: string, version: string): Promise<string> {
  await mkdir(paths.debs, { recursive: true });
  const expected = `${pkg}_${version.replace(/:/g, '%3a')}_amd64.deb`;
  const present = await readdir(paths.debs);
  if (!present.includes(expected)) await runTool('apt-get', ['download', '-q', `${pkg}=${version}`], { cwd: paths.debs });
  const after = await readdir(paths.debs);
  const file = after.find((name) => name === expected) ?? after.find((name) => name.startsWith(`${pkg}_`) && name.endsWith('.deb'));
  if (!file) throw new GauntletError('LAB_FAILED', `lab: apt-get download ${pkg}=${version} left no .deb in ${paths.debs}`);
  return join(paths.debs, file);
}

/** busybox plus the root-disk modules (decompressed: busybox insmod reads plain .ko) and /init. */
async function buildInitramfs(paths: LabPaths, tree: string, release: string): Promise<Buffer> {
  const busybox = await fetchBusybox(paths);
  const entries: CpioEntry[] = ['bin', 'dev', 'proc', 'sys', 'newroot', 'modules'].map((path) => ({ kind: 'dir', path }));
  entries.push({ kind: 'char', path: 'dev/console', major: 5, minor: 1 });
  entries.push({ kind: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 });
  entries.push({ kind: 'file', path: 'init', data: Buffer.from(renderInitramfsInit()), mode: 0o755 });
  const order: string[] = [];
  const seen = new Set<string>();
  for (const module of ROOT_MODULES) {
    const result = await runTool('modprobe', ['-d', tree, '-S', release, '--show-depends', module]).catch(() => undefined);
    if (!result) continue; // not in this kernel at all (crc32c_generic became a library in newer kernels)
    for (const line of result.stdout.split('\n')) {
      const match = /^insmod (\S+)(.*)$/.exec(line.trim());
      if (!match || seen.has(match[1]!)) continue;
      seen.add(match[1]!);
      const name = basename(match[1]!).replace(/\.ko(\.xz|\.zst|\.gz)?$/, '.ko');
      entries.push({ kind: 'file', path: `modules/${name}`, data: await readModule(match[1]!) });
      order.push(`${name}${match[2] ?? ''}`.trimEnd());
    }
  }
  entries.push({ kind: 'file', path: 'modules/order', data: Buffer.from(`${order.join('\n')}\n`) });
  return encodeCpio(entries);
}

async function readModule(file: string): Promise<Buffer> {
  if (file.endsWith('.xz')) return Buffer.from(await runToolBinary('xz', ['-dc', file]));
  if (file.endsWith('.zst')) return Buffer.from(await runToolBinary('zstd', ['-dcq', file]));
  return readFile(file);
}

async function runToolBinary(name: string, args: string[]): Promise<Uint8Array> {
  const { execa } = await import('execa');
  const result = await execa(name, args, { encoding: 'buffer', env: { PATH: TOOL_PATH }, reject: false });
  if (result.exitCode !== 0) throw new GauntletError('LAB_FAILED', `lab: ${name} ${args.join(' ')} exited ${result.exitCode}`);
  return result.stdout;
}

/** The static busybox from Debian's busybox-static package, fetched once per cache. */
async function fetchBusybox(paths: LabPaths): Promise<Buffer> {
  const target = join(paths.debs, 'busybox-static', 'bin', 'busybox');
  try {
    return await readFile(target);
  } catch {
    const { stdout } = await runTool('apt-cache', ['policy', 'busybox-static']);
    const version = /Candidate:\s*(\S+)/.exec(stdout)?.[1];
    if (!version || version === '(none)') throw new GauntletError('LAB_FAILED', 'lab: no busybox-static package in the apt lists; run apt-get update');
    const deb = await downloadPackage(paths, 'busybox-static', version);
    await runTool('dpkg-deb', ['-x', deb, join(paths.debs, 'busybox-static')]);
    return readFile(target);
  }
}

/** An ext4 image of lib/modules (read-only in the guest), sized to its content with room for metadata. */
async function buildModulesImage(modulesRoot: string, image: string): Promise<void> {
  const bytes = await measureTree(modulesRoot);
  const sizeMiB = Math.ceil((bytes * 1.15) / 1048576) + 64;
  await runTool('mke2fs', ['-q', '-t', 'ext4', '-O', '^has_journal', '-L', 'gauntlet-modules', '-d', modulesRoot, image, `${sizeMiB}M`]);
}

async function measureTree(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += (await measureTree(path)) + 4096;
    else total += Math.ceil((await stat(path)).size / 4096) * 4096;
  }
  return total;
}
