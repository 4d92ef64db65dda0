// The guest root image: debootstrap bookworm with sshd, docker, podman and the filesystem tools, as a cached qcow2.

import { chmod, copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashRecipe, pruneSupersededEntries, publishEntry, readManifest, type LabPaths } from './cache.js';
import { renderGuestInit, renderSshdConfig } from './guest-scripts.js';
import { runTool } from './host-tools.js';
import type { LabKeys } from './keys.js';

/** Bump when the recipe below changes in a way the hashed inputs do not show. */
const IMAGE_RECIPE = 'image-v1';
export const IMAGE_SUITE = 'bookworm';
const IMAGE_SIZE = '6G';

/** What a test host needs: sshd, both engines (one runs per VM), network and module tools, every filesystem's tools. */
export const IMAGE_PACKAGES = [
  'openssh-server',
  'docker.io',
  'podman',
  'crun',
  'conmon',
  'containernetworking-plugins',
  'catatonit',
  'iproute2',
  'kmod',
  'procps',
  'e2fsprogs',
  'xfsprogs',
  'btrfs-progs',
  'util-linux',
  'iptables',
  'ca-certificates',
] as const;

/** Folders dropped from the image: documentation and translations nobody reads on a test host. */
const PRUNED_DIRS = ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale', 'var/cache/apt', 'var/lib/apt/lists'];

export interface ImageEntry {
  dir: string;
  /** The base qcow2 every VM overlay is backed by. */
  base: string;
  key: string;
  packageVersions: Record<string, string>;
}

interface ImageManifest {
  key: string;
  suite: string;
  packageVersions: Record<string, string>;
  builtAt: string;
  buildSeconds: number;
}

function mirrorUrl(): string {
  return process.env.GAUNTLET_LAB_MIRROR ?? 'http://deb.debian.org/debian';
}

/** The image for these keys, built on first use (about a minute) and reused while recipe and versions hold. */
export async function ensureImage(paths: LabPaths, keys: LabKeys, log: (line: string) => void): Promise<ImageEntry & { cached: boolean }> {
  const packageVersions = await readPackageVersions([...IMAGE_PACKAGES]);
  const key = hashRecipe([
    IMAGE_RECIPE,
    IMAGE_SUITE,
    mirrorUrl(),
    IMAGE_SIZE,
    ...Object.entries(packageVersions).map(([pkg, version]) => `${pkg}=${version}`),
    renderGuestInit(),
    renderSshdConfig(),
    keys.clientPublic,
    keys.hostPublic,
  ]);
  const dir = join(paths.images, `${IMAGE_SUITE}-${key}`);
  const entry: ImageEntry = { dir, base: join(dir, 'base.qcow2'), key, packageVersions };
  if ((await readManifest<ImageManifest>(dir))?.key === key) return { ...entry, cached: true };

  const startedAt = performance.now();
  await publishEntry<ImageManifest>(dir, async (scratch) => {
    const root = join(scratch, 'root');
    const debCache = join(paths.debs, 'debootstrap');
    await mkdir(debCache, { recursive: true });
    const reused = (await readdir(debCache)).filter((name) => name.endsWith('.deb')).length;
    log(`image: debootstrap ${IMAGE_SUITE} (minbase + ${IMAGE_PACKAGES.length} packages${reused > 0 ? `, ${reused} .debs cached` : ''})`);
    await runTool(
      'debootstrap',
      ['--variant=minbase', `--cache-dir=${debCache}`, `--include=${IMAGE_PACKAGES.join(',')}`, IMAGE_SUITE, root, mirrorUrl()],
      { timeoutMs: 900_000 },
    );
    log(`image: configuring the guest (init, sshd, keys) after ${formatSeconds(performance.now() - startedAt)}`);
    await configureRoot(root, keys);
    log('image: writing the ext4 disk and converting it to qcow2');
    const raw = join(scratch, 'root.raw');
    await runTool('mke2fs', ['-q', '-t', 'ext4', '-L', 'gauntlet-root', '-d', root, raw, IMAGE_SIZE]);
    await runTool('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, join(scratch, 'base.qcow2')]);
    await rm(raw, { force: true });
    await rm(root, { recursive: true, force: true });
    return { key, suite: IMAGE_SUITE, packageVersions, builtAt: new Date().toISOString(), buildSeconds: (performance.now() - startedAt) / 1000 };
  });
  await pruneSupersededEntries(paths.images, IMAGE_SUITE, `${IMAGE_SUITE}-${key}`);
  return { ...entry, cached: false };
}

/** Candidate versions from the runner's apt lists: the same archive debootstrap installs from. */
async function readPackageVersions(packages: string[]): Promise<Record<string, string>> {
  const { stdout } = await runTool('apt-cache', ['policy', ...packages]);
  const versions: Record<string, string> = {};
  let current: string | undefined;
  for (const line of stdout.split('\n')) {
    const pkg = /^(\S+):$/.exec(line)?.[1];
    if (pkg) current = pkg;
    const candidate = /^\s+Candidate:\s*(\S+)/.exec(line)?.[1];
    if (current && candidate) versions[current] = candidate;
  }
  return versions;
}

async function configureRoot(root: string, keys: LabKeys): Promise<void> {
  await writeFile(join(root, 'sbin', 'gauntlet-init'), renderGuestInit(), { mode: 0o755 });
  const sshDir = join(root, 'etc', 'ssh');
  for (const name of await readdir(sshDir)) {
    if (name.startsWith('ssh_host_')) await rm(join(sshDir, name));
  }
  await copyFile(keys.hostKey, join(sshDir, 'ssh_host_ed25519_key'));
  await chmod(join(sshDir, 'ssh_host_ed25519_key'), 0o600);
  await writeFile(join(sshDir, 'ssh_host_ed25519_key.pub'), `${keys.hostPublic} root@gauntlet-lab\n`);
  await mkdir(join(sshDir, 'sshd_config.d'), { recursive: true });
  await writeFile(join(sshDir, 'sshd_config.d', 'gauntlet.conf'), renderSshdConfig());
  await mkdir(join(root, 'root', '.ssh'), { recursive: true, mode: 0o700 });
  await writeFile(join(root, 'root', '.ssh', 'authorized_keys'), `${keys.clientPublic} gauntlet-lab\n`, { mode: 0o600 });
  await writeFile(join(root, 'etc', 'hostname'), 'lab\n');
  await writeFile(join(root, 'etc', 'hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  await writeFile(join(root, 'etc', 'fstab'), '# gauntlet lab: /sbin/gauntlet-init mounts everything\n');
  await mkdir(join(root, 'var', 'lib', 'docker'), { recursive: true });
  await Promise.all(PRUNED_DIRS.map((sub) => rm(join(root, sub), { recursive: true, force: true })));
  await Promise.all(['var/cache/apt', 'var/lib/apt/lists/partial'].map((sub) => mkdir(join(root, sub), { recursive: true })));
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
