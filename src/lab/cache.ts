// Where the lab keeps its keys, kernels, image and VM state, and how cache entries are keyed and published.

import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface LabPaths {
  /** The cache root: `--cache`, `$GAUNTLET_LAB_CACHE`, or `~/.cache/gauntlet/lab`. */
  cache: string;
  /** The lab's SSH client key and the guests' host key. */
  keys: string;
  kernels: string;
  images: string;
  /** Downloaded .deb files reused by debootstrap and kernel fetches. */
  debs: string;
  /** One folder per VM (`--state`, default `<cache>/vms`). */
  vms: string;
}

export function resolveLabPaths(options: { cache?: string; state?: string } = {}): LabPaths {
  const cache = resolve(options.cache ?? process.env.GAUNTLET_LAB_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'gauntlet', 'lab'));
  return {
    cache,
    keys: join(cache, 'keys'),
    kernels: join(cache, 'kernels'),
    images: join(cache, 'images'),
    debs: join(cache, 'debs'),
    vms: resolve(options.state ?? join(cache, 'vms')),
  };
}

/** A short sha256 of everything that decides a cache entry's content (recipe text, package versions, keys). */
export function hashRecipe(parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part.length}:${part}\n`);
  return hash.digest('hex').slice(0, 16);
}

/** Reads a finished entry's manifest; undefined when the entry was never completed. */
export async function readManifest<T>(dir: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * Builds a cache entry in a scratch folder next to it and renames it into place with its manifest, so an
 * interrupted build never leaves a half-made entry that a later run would trust.
 */
export async function publishEntry<T>(dir: string, build: (scratch: string) => Promise<T>): Promise<T> {
  const scratch = `${dir}.partial-${process.pid}`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  try {
    const manifest = await build(scratch);
    await writeFile(join(scratch, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(scratch, dir);
    return manifest;
  } catch (err) {
    await rm(scratch, { recursive: true, force: true });
    throw err;
  }
}

/** Removes entries superseded by `keep` (same `<prefix>-` name, another key), so a recipe change does not pile up copies. */
export async function pruneSupersededEntries(parent: string, prefix: string, keep: string): Promise<void> {
  const names = await readdir(parent).catch(() => [] as string[]);
  const superseded = names.filter((name) => name.startsWith(`${prefix}-`) && name !== keep && !name.includes('.partial-') && /^[0-9a-f]{16}$/.test(name.slice(prefix.length + 1)));
  await Promise.all(superseded.map((name) => rm(join(parent, name), { recursive: true, force: true })));
}
