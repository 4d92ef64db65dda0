// The stack key: one string naming a host's distro, kernel, engine, storage, backing filesystem and cgroup.

import { GauntletError, type Facts, type StackKey } from '../model/index.js';

/**
 * The six fields of a stack key, in order. The ranker groups by these names.
 */
export const STACK_KEY_FIELDS = ['distro', 'kernel', 'engine', 'storage_driver', 'backing_fs', 'cgroup'] as const;

export type StackKeyField = (typeof STACK_KEY_FIELDS)[number];

/** A stack key split into its six fields, each already sanitised as in the key. */
export type StackKeyParts = Record<StackKeyField, string>;

/**
 * Derives the stack key of a host from its facts.
 *
 * Format: six segments joined by `/`, in this order:
 *
 *     <distro>/<kernel>/<engine>/<storage_driver>/<backing_fs>/<cgroup>
 *
 * - `distro`: os-release `ID`, then `-` and `VERSION_ID` when there is one (`debian-12`, `ubuntu-24.04`);
 *   a rolling release without `VERSION_ID` gives the ID alone (`arch`).
 * - `kernel`: `uname -r` (`6.1.0-56-amd64`).
 * - `engine`: engine name, `-`, the server's version exactly as the daemon reports it, distribution
 *   suffix included (`docker-20.10.24+dfsg1`, `podman-4.3.1`).
 * - `storage_driver`: the engine's storage driver (`overlay2`; podman's `overlay`).
 * - `backing_fs`: the filesystem under the engine's data root, named as docker names it (`extfs`, `xfs`,
 *   `btrfs`).
 * - `cgroup`: `cgroup1` or `cgroup2`.
 *
 * A host without a container engine has `none` in each of `engine`, `storage_driver` and `backing_fs`
 * (`arch/6.9.7-arch1-1/none/none/none/cgroup2`). Each part is lower-cased, every `/` and whitespace
 * character in it becomes `_`, and an empty or unknown value (a failed probe) becomes `unknown`, so a
 * key always has exactly six non-empty segments and splits back unambiguously on `/`.
 *
 * Example: `debian-12/6.1.0-56-amd64/docker-20.10.24/overlay2/extfs/cgroup2`.
 */
export function stackKeyOf(facts: Facts): StackKey {
  const { distro, kernel, engine, storage, cgroup } = facts;
  const parts: StackKeyParts = {
    distro: distro.versionId ? `${sanitiseSegment(distro.id)}-${sanitiseSegment(distro.versionId)}` : sanitiseSegment(distro.id),
    kernel: sanitiseSegment(kernel.release),
    engine: engine ? `${sanitiseSegment(engine.name)}-${sanitiseSegment(engine.version)}` : 'none',
    storage_driver: engine ? sanitiseSegment(storage?.driver ?? '') : 'none',
    backing_fs: engine ? sanitiseSegment(storage?.backingFs ?? '') : 'none',
    cgroup: cgroup.version === null ? 'unknown' : `cgroup${cgroup.version}`,
  };
  return formatStackKey(parts);
}

/** Joins six fields into a key, sanitising each as `stackKeyOf` does. */
export function formatStackKey(parts: StackKeyParts): StackKey {
  return STACK_KEY_FIELDS.map((field) => sanitiseSegment(parts[field])).join('/');
}

/** Splits a stack key into its six named fields. Throws a `USAGE` GauntletError when it has not six non-empty segments. */
export function parseStackKey(key: StackKey): StackKeyParts {
  const segments = key.split('/');
  if (segments.length !== STACK_KEY_FIELDS.length || segments.some((segment) => segment === '')) {
    throw new GauntletError(
      'USAGE',
      `not a stack key: ${JSON.stringify(key)} (expected ${STACK_KEY_FIELDS.length} non-empty segments: ${STACK_KEY_FIELDS.join('/')})`,
    );
  }
  const parts = {} as StackKeyParts;
  STACK_KEY_FIELDS.forEach((field, i) => {
    parts[field] = segments[i] ?? '';
  });
  return parts;
}

/** Lower-cases a value, turns `/` and whitespace into `_`, and gives `unknown` for an empty one. */
export function sanitiseSegment(value: string): string {
  const cleaned = value.trim().toLowerCase().replace(/[/\s]/g, '_');
  return cleaned === '' ? 'unknown' : cleaned;
}
