// Images without a registry: a base image made on the host from a static busybox, imported into its engine.

import { readFile } from 'node:fs/promises';
import { quoteShell } from '../../transport/index.js';
import type { KitHost } from './hygiene.js';
import type { Owner } from './owner.js';

export interface ImageHost extends KitHost {
  upload?(source: string | Buffer, remotePath: string): Promise<void>;
}

export interface BaseImageOptions {
  /** The engine's command line on the host, with options: `docker` (default), `podman`, `docker -H unix:///…`. */
  cli?: string;
  /** Where a static busybox may be found on the runner, uploaded when the host has none. */
  runnerBusybox?: readonly string[];
}

export interface BaseImage {
  /** `gauntlet-<run id>-<suite>:base` */
  ref: string;
  /** Where its busybox came from: `host:/bin/busybox` or `runner:/bin/busybox`. */
  source: string;
}

/** The engine's command on a host with these facts: `podman` where podman answers, else `docker`. */
export function engineCli(facts: { engine?: { name?: string } | null } | null | undefined): string {
  return facts?.engine?.name === 'podman' ? 'podman' : 'docker';
}

const HOST_BUSYBOX = ['/bin/busybox', '/usr/bin/busybox', '/usr/lib/busybox/busybox', '/sbin/busybox'];
const RUNNER_BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'];

/** A static executable names no program interpreter (`ld-linux…`, `ld-musl…`) in its bytes. */
function isStatic(bytes: Buffer): boolean {
  return bytes.subarray(0, 4).toString('latin1') === '\x7fELF' && !bytes.includes('/ld-linux') && !bytes.includes('/ld-musl');
}

/**
 * The engine command with the owner's labels: `--change 'LABEL gauntlet.run=…'` for `import`, `--label` for
 * `run`/`create`/`volume create`/`network create`.
 */
export function labelChanges(owner: Owner): string {
  return Object.entries(owner.labels)
    .map(([key, value]) => `--change ${quoteShell(`LABEL ${key}=${value}`)}`)
    .join(' ');
}

export function labelOptions(owner: Owner): string {
  return Object.entries(owner.labels)
    .map(([key, value]) => `--label ${quoteShell(`${key}=${value}`)}`)
    .join(' ');
}

/**
 * Makes the suite's base image: a root filesystem with a static busybox and its applets (from the host, else
 * uploaded from the runner), imported with the owner's labels. Throws, saying what is missing, when neither
 * has a static busybox.
 */
export async function buildBaseImage(host: ImageHost, owner: Owner, options: BaseImageOptions = {}): Promise<BaseImage> {
  const cli = options.cli ?? 'docker';
  const dir = `${owner.workspace}/base`;
  const ref = `${owner.prefix}:base`;
  const found = await host.run(
    `for c in ${HOST_BUSYBOX.join(' ')}; do if [ -x "$c" ] && [ "$(head -c 4 "$c" | od -An -c | tr -d ' ')" = '177ELF' ] && ! grep -qa -e /ld-linux -e /ld-musl "$c"; then echo "$c"; exit 0; fi; done; exit 1`,
  );
  let source: string;
  const busybox = `${dir}/busybox`;
  await host.run(`mkdir -p ${quoteShell(dir)}`);
  if (found.exitCode === 0 && found.stdout.trim() !== '') {
    const path = found.stdout.trim();
    await host.run(`cp ${quoteShell(path)} ${quoteShell(busybox)}`);
    source = `host:${path}`;
  } else {
    let uploaded: string | null = null;
    for (const candidate of options.runnerBusybox ?? RUNNER_BUSYBOX) {
      const bytes = await readFile(candidate).catch(() => null);
      if (bytes && isStatic(bytes) && host.upload) {
        await host.upload(bytes, busybox);
        uploaded = candidate;
        break;
      }
    }
    if (!uploaded) throw new Error(`no static busybox on the host (${HOST_BUSYBOX.join(', ')}) nor on the runner (${RUNNER_BUSYBOX.join(', ')}); install busybox-static on either`);
    source = `runner:${uploaded}`;
  }
  const script = [
    'set -e',
    `cd ${quoteShell(dir)}`,
    'rm -rf rootfs && mkdir -p rootfs/bin rootfs/etc rootfs/tmp rootfs/proc rootfs/sys rootfs/dev rootfs/root rootfs/data',
    'chmod 755 busybox && cp busybox rootfs/bin/busybox',
    'for applet in $(./busybox --list); do [ -e "rootfs/bin/$applet" ] || ln -s busybox "rootfs/bin/$applet"; done',
    `printf 'root:x:0:0:root:/root:/bin/sh\\nnobody:x:65534:65534:nobody:/:/bin/false\\n' > rootfs/etc/passwd`,
    `printf 'root:x:0:\\nnogroup:x:65534:\\n' > rootfs/etc/group`,
    'chmod 1777 rootfs/tmp',
    'tar -C rootfs -cf rootfs.tar .',
    `${cli} import ${labelChanges(owner)} --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' rootfs.tar ${quoteShell(ref)} >/dev/null`,
    'rm -rf rootfs',
  ].join('\n');
  const made = await host.run(script, { timeout: 120_000 });
  if (made.exitCode !== 0) throw new Error(`cannot import the base image ${ref}: ${made.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return { ref, source };
}
