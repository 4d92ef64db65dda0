// Parsers for what a container engine says of itself: docker's /info and /version, and `podman info`.

import { GauntletError, type EngineFacts, type StorageFacts } from '../model/index.js';
import { parseRuntimeVersion } from './host-parsers.js';

/** The OCI runtime an engine uses by default, with its binary path and version when the engine gives them. */
export interface EngineRuntime {
  name: string;
  path?: string;
  version?: string;
}

/**
 * Everything one engine answer tells about a host. The gatherer adds the endpoint, and probes the
 * host for what is missing (`storage.backingFs === ''`, `runtime.version` undefined).
 */
export interface EngineReport {
  engine: Omit<EngineFacts, 'endpoint'>;
  /** `backingFs` is empty when the engine does not name it (btrfs and zfs drivers, containerd snapshotters). */
  storage: StorageFacts;
  /** Absent fields were not reported (docker before 20.10 has no `CgroupVersion`). */
  cgroup: { version?: 1 | 2; driver?: string };
  runtime: EngineRuntime | null;
  /** The engine's container init binary (`docker-init`), when it names one. */
  engineInit?: string;
}

type Json = Record<string, unknown>;
/** The keys of T whose values are strings (optional ones included). */
type StringKeys<T> = { [P in keyof T]-?: NonNullable<T[P]> extends string ? P : never }[keyof T];

/**
 * Parses docker's `GET /info` and `GET /version` answers (as JSON text or as the objects dockerode
 * returns). Fields that old daemons lack are left out rather than guessed. A podman service behind
 * the docker API (podman-docker, `podman system service`) is recognised by its `Podman Engine`
 * component and named `podman`.
 */
export function parseDockerInfo(infoJson: unknown, versionJson: unknown): EngineReport {
  const info = asObject(infoJson, 'docker /info');
  const version = asObject(versionJson, 'docker /version');
  const components = Array.isArray(version.Components) ? version.Components.map((c) => asObject(c, 'component')) : [];
  const isPodman = components.some((c) => text(c.Name) === 'Podman Engine');

  const engine: EngineReport['engine'] = {
    name: isPodman ? 'podman' : 'docker',
    version: text(info.ServerVersion) || text(version.Version),
  };
  assignDefined(engine, 'apiVersion', text(version.ApiVersion));
  assignDefined(engine, 'daemonId', text(info.ID));
  assignDefined(engine, 'daemonName', text(info.Name));
  assignDefined(engine, 'operatingSystem', text(info.OperatingSystem));
  assignDefined(engine, 'kernelVersion', text(info.KernelVersion) || text(version.KernelVersion));

  const driverStatus = Array.isArray(info.DriverStatus) ? info.DriverStatus : [];
  const backing = driverStatus.find((pair): pair is unknown[] => Array.isArray(pair) && pair[0] === 'Backing Filesystem');
  const storage: StorageFacts = {
    driver: text(info.Driver),
    backingFs: text(backing?.[1]),
    dataRoot: text(info.DockerRootDir),
  };

  const cgroup: EngineReport['cgroup'] = {};
  const cgroupVersion = cgroupVersionOf(text(info.CgroupVersion));
  if (cgroupVersion !== undefined) cgroup.version = cgroupVersion;
  assignDefined(cgroup, 'driver', text(info.CgroupDriver));

  const report: EngineReport = { engine, storage, cgroup, runtime: dockerRuntimeOf(info, components) };
  assignDefined(report, 'engineInit', text(info.InitBinary));
  return report;
}

/** Parses `podman info --format json` (podman 2 and later). */
export function parsePodmanInfo(json: unknown): EngineReport {
  const root = asObject(json, 'podman info');
  const host = asObject(root.host ?? {}, 'podman info host');
  const store = asObject(root.store ?? {}, 'podman info store');
  const version = asObject(root.version ?? {}, 'podman info version');
  const distribution = asObject(host.distribution ?? {}, 'podman info host.distribution');
  const graphStatus = asObject(store.graphStatus ?? {}, 'podman info store.graphStatus');
  const ociRuntime = asObject(host.ociRuntime ?? {}, 'podman info host.ociRuntime');

  const engine: EngineReport['engine'] = { name: 'podman', version: text(version.Version) };
  assignDefined(engine, 'apiVersion', text(version.APIVersion));
  // podman has no daemon and so no daemon ID; the host name says which machine answered.
  assignDefined(engine, 'daemonName', text(host.hostname));
  assignDefined(engine, 'operatingSystem', [text(distribution.distribution), text(distribution.version)].filter(Boolean).join(' '));
  assignDefined(engine, 'kernelVersion', text(host.kernel));

  const cgroup: EngineReport['cgroup'] = {};
  const cgroupVersion = cgroupVersionOf(text(host.cgroupVersion));
  if (cgroupVersion !== undefined) cgroup.version = cgroupVersion;
  assignDefined(cgroup, 'driver', text(host.cgroupManager));

  let runtime: EngineRuntime | null = null;
  const runtimeName = text(ociRuntime.name);
  if (runtimeName !== '') {
    runtime = { name: runtimeName };
    assignDefined(runtime, 'path', text(ociRuntime.path));
    assignDefined(runtime, 'version', versionFromRuntimeOutput(text(ociRuntime.version)));
  }

  return {
    engine,
    storage: {
      driver: text(store.graphDriverName),
      backingFs: text(graphStatus['Backing Filesystem']),
      dataRoot: text(store.graphRoot),
    },
    cgroup,
    runtime,
  };
}

/** The default runtime from /info, with the version /version reports for it (`runc`, or podman's `OCI Runtime (runc)`). */
function dockerRuntimeOf(info: Json, components: Json[]): EngineRuntime | null {
  const name = text(info.DefaultRuntime);
  if (name === '') return null;
  const runtime: EngineRuntime = { name };
  const runtimes = info.Runtimes && typeof info.Runtimes === 'object' ? (info.Runtimes as Json) : {};
  const entry = runtimes[name];
  if (entry && typeof entry === 'object') assignDefined(runtime, 'path', text((entry as Json).path));
  const component = components.find((c) => text(c.Name) === name || text(c.Name) === `OCI Runtime (${name})`);
  if (component) {
    const reported = text(component.Version);
    // docker gives the bare version (`1.1.5+ds1`); podman's compat API gives the whole `runc --version` text.
    assignDefined(runtime, 'version', reported.includes(' version ') ? versionFromRuntimeOutput(reported) : reported);
  }
  return runtime;
}

function versionFromRuntimeOutput(output: string): string {
  if (output === '') return '';
  try {
    return parseRuntimeVersion(output).version;
  } catch {
    return '';
  }
}

/** docker says `"1"`/`"2"`, podman `"v1"`/`"v2"`. */
function cgroupVersionOf(value: string): 1 | 2 | undefined {
  const v = value.replace(/^v/, '');
  if (v === '1') return 1;
  if (v === '2') return 2;
  return undefined;
}

function asObject(value: unknown, what: string): Json {
  const parsed = typeof value === 'string' ? parseJson(value, what) : value;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new GauntletError('PROBE_FAILED', `${what} is not a JSON object`);
  }
  return parsed as Json;
}

function parseJson(value: string, what: string): unknown {
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new GauntletError('PROBE_FAILED', `${what} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** A JSON value as trimmed text; numbers are accepted (some daemons send `CgroupVersion` as a number). */
function text(value: unknown): string {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return String(value);
  return '';
}

/** Sets an optional field only when there is something to say, so absent stays absent (not ''). */
function assignDefined<T extends object, K extends StringKeys<T>>(target: T, key: K, value: string): void {
  if (value !== '') (target as Record<K, unknown>)[key] = value;
}
