// Whether a host meets what a suite requires; the reason when it does not.

import { HARNESS_ERROR_TYPES, type Facts, type HostCause, type HostSpec, type SuiteMeta } from '../model/index.js';

/**
 * A requirement the host cannot meet because something on it is broken, not absent: the suite's tests are then
 * errors, never skips. Today that is an engine that is installed but did not answer.
 */
export function brokenRequirement(meta: SuiteMeta, facts: Facts | null): HostCause | null {
  const engineError = facts?.probeErrors.engine;
  if (!meta.requires?.engine || !facts || facts.engine || !engineError) return null;
  return { type: HARNESS_ERROR_TYPES.ENGINE_UNAVAILABLE, message: `the suite needs the container engine, which did not answer: ${engineError}` };
}

/** The first unmet requirement in words, or null when the suite may run on the host. */
export function unmetRequirement(meta: SuiteMeta, host: HostSpec, facts: Facts | null): string | null {
  if (meta.destructive && !host.disposable) {
    return 'destructive suite: runs only on hosts with gauntlet_disposable: true';
  }
  const requires = meta.requires ?? {};
  if (requires.connection && requires.connection !== host.connection) {
    return `requires the ${requires.connection} connection; host uses ${host.connection}`;
  }
  if (!facts) return null;
  const engine = facts.engine;
  if (requires.engine) {
    if (!engine) return `requires ${requires.engine === 'any' ? 'a container engine' : requires.engine}; host has no engine${facts.probeErrors.engine ? ` (${facts.probeErrors.engine})` : ''}`;
    if (requires.engine !== 'any' && engine.name !== requires.engine) return `requires ${requires.engine}; host runs ${engine.name}`;
  }
  if (requires.storageDriver && !requires.storageDriver.includes(facts.storage?.driver ?? '')) {
    return `requires storage driver ${requires.storageDriver.join(' or ')}; host has ${facts.storage?.driver ?? 'none'}`;
  }
  if (requires.backingFs && !requires.backingFs.includes(facts.storage?.backingFs ?? '')) {
    return `requires backing filesystem ${requires.backingFs.join(' or ')}; host has ${facts.storage?.backingFs || 'none'}`;
  }
  if (requires.cgroup && facts.cgroup.version !== requires.cgroup) {
    return `requires cgroup v${requires.cgroup}; host has ${facts.cgroup.version === null ? 'an unknown version' : `v${facts.cgroup.version}`}`;
  }
  return null;
}
