// Synthetic testsuites, as read back from JUnit, for the rank and qualify tests.

import type { Facts, ResultSuite, ResultTest, StackField } from '../../src/model/index.js';

export const STABLE = 'debian-12/6.1.0-56-amd64/docker-20.10.24+dfsg1/overlay2/extfs/cgroup2';
export const PANICKY = 'debian-12/6.12.9-amd64/docker-20.10.24+dfsg1/overlay2/extfs/cgroup2';
export const THIN = 'debian-12/6.6.1-amd64/docker-20.10.24+dfsg1/btrfs/btrfs/cgroup2';

/** The stack fields of a key: `distro/kernel/engine/storage_driver/backing_fs/cgroup`. */
export function stackOf(key: string): Partial<Record<StackField, string>> {
  const [distro, kernel, engine, storage_driver, backing_fs, cgroup] = key.split('/');
  return { key, distro, kernel, engine, storage_driver, backing_fs, cgroup };
}

/** Facts of a host on the stack `key` (a docker host: only what the JUnit stack properties read matters). */
export function factsOnStack(key: string): Facts {
  const stack = stackOf(key);
  return {
    distro: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)', idLike: [] },
    kernel: { release: stack.kernel!, version: '#1 SMP', cmdline: '' },
    hardware: { arch: 'x86_64', cpus: 2, memTotalBytes: 2 ** 31 },
    bootId: 'b00t',
    engine: { name: 'docker', version: '20.10.24+dfsg1', endpoint: 'unix:///var/run/docker.sock' },
    storage: { driver: stack.storage_driver!, backingFs: stack.backing_fs!, dataRoot: '/var/lib/docker' },
    cgroup: { version: 2, driver: 'systemd' },
    runtime: { name: 'runc', version: '1.1.5' },
    init: { pid1: 'systemd' },
    security: { apparmor: 'enabled', selinux: 'absent' },
    systemdVersion: '252',
    probeErrors: {},
    gatheredAt: '2026-03-01T10:00:00.000Z',
    durationMs: 1,
  };
}

export function passing(name: string, minutes: number): ResultTest {
  return { name, durationMs: minutes * 60_000, outcome: 'passed', attempts: [] };
}

export function crashed(name: string, minutes: number, faultClass: string, title: string): ResultTest {
  return { name, durationMs: minutes * 60_000, outcome: 'error', type: faultClass, message: title, attempts: [] };
}

/** One testsuite of run `run` on `host`, for the stack `key`. */
export function suiteOf(run: string, key: string, tests: ResultTest[], options: { host?: string; timestamp?: string } = {}): ResultSuite {
  return {
    source: `reports/${run}/junit.xml`,
    name: `stress @ ${options.host ?? 'node1'}`,
    run,
    host: `ssh://ops@${options.host ?? 'node1'}:22`,
    timestamp: options.timestamp ?? '2026-03-01T10:00:00.000Z',
    stack: stackOf(key),
    kernelEvents: [],
    tests,
  };
}
