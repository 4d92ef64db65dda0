// Gathers one host's Facts: runs the probes concurrently (bounded) and keeps partial facts when some fail.

import {
  isGauntletError,
  type CgroupFacts,
  type DistroFacts,
  type EngineFacts,
  type Facts,
  type GauntletError,
  type HardwareFacts,
  type KernelFacts,
  type RunnerFacts,
  type RuntimeFacts,
  type StorageFacts,
} from '../model/index.js';
import type { Transport } from '../transport/transport.js';
import pLimit, { type LimitFunction } from 'p-limit';
import { describeRunner } from './describe-runner.js';
import type { EngineReport } from './engine-parsers.js';
import {
  apparmorProbe,
  backingFsProbe,
  bootIdProbe,
  cgroupProbe,
  dockerSocketProbe,
  hardwareProbe,
  kernelProbe,
  osReleaseProbe,
  pid1Probe,
  podmanInfoProbe,
  probeDockerEngine,
  PROBE_TIMEOUT_MS,
  runProbe,
  runtimeVersionProbe,
  selinuxProbe,
  systemdProbe,
  type Probe,
} from './probes.js';

/**
 * Probes in flight at once on one host. sshd's MaxSessions defaults to 10 channels per connection, and
 * the watchers and the docker stream need some of them.
 */
export const DEFAULT_PROBE_CONCURRENCY = 6;

export interface GatherOptions {
  /** Limit for each probe and each engine call; default 10 s. */
  probeTimeoutMs?: number;
  /** Probes run at once on the host; default 6. */
  concurrency?: number;
}

/**
 * Gathers a host's facts over a connected transport. Every probe that fails leaves an empty value and
 * a reason in `probeErrors[fact]`; a host without docker or podman gets `engine: null`. Only losing the
 * connection itself rejects (`LOST_CONNECTION` / `NOT_CONNECTED`), after every probe has settled,
 * because then nothing gathered can be trusted to describe the host as it is now.
 *
 * On a transport whose `connection` is `local`, `runner` describes this same machine.
 */
export async function gatherFacts(transport: Transport, opts: GatherOptions = {}): Promise<Facts> {
  const startedAt = performance.now();
  const gatheredAt = new Date().toISOString();
  const ctx = new GatherContext(transport, opts);

  // The engine goes first: it is the longest chain (socket, info and version, then runtime and backing fs).
  const [stack, distro, kernel, hardware, bootId, cgroupVersion, pid1, apparmor, selinux, systemdVersion, runner] =
    await Promise.all([
      gatherEngineStack(ctx),
      ctx.probe(osReleaseProbe, emptyDistro()),
      ctx.probe(kernelProbe, emptyKernel()),
      ctx.probe(hardwareProbe, emptyHardware()),
      ctx.probe(bootIdProbe, ''),
      ctx.probe(cgroupProbe, undefined),
      ctx.probe(pid1Probe, ''),
      ctx.probe(apparmorProbe, 'unknown' as const),
      ctx.probe(selinuxProbe, 'unknown' as const),
      ctx.probe(systemdProbe, null),
      transport.host.connection === 'local' ? ctx.attempt<RunnerFacts | undefined>('runner', describeRunner, undefined) : undefined,
    ]);
  if (ctx.lost) throw ctx.lost;

  const { probeErrors } = ctx;
  const version = cgroupVersion ?? stack.cgroup.version;
  // The host's own /sys/fs/cgroup wins; the engine's word stands in when stat failed.
  if (version !== undefined) delete probeErrors.cgroup;
  const cgroup: CgroupFacts = { version: version ?? null };
  if (stack.cgroup.driver) cgroup.driver = stack.cgroup.driver;

  if (stack.engine?.name === 'docker' && stack.engine.kernelVersion && kernel.release && stack.engine.kernelVersion !== kernel.release) {
    // dockerode issue #568: a misconfigured endpoint silently reaches another machine's daemon.
    probeErrors.engineHost =
      `the engine at ${stack.engine.endpoint} reports kernel ${stack.engine.kernelVersion} but this host runs ` +
      `${kernel.release}; it may be another machine's daemon`;
  }

  const facts: Facts = {
    distro,
    kernel,
    hardware,
    bootId,
    engine: stack.engine,
    storage: stack.storage,
    cgroup,
    runtime: stack.runtime,
    init: stack.engineInit ? { pid1, engineInit: stack.engineInit } : { pid1 },
    security: { apparmor, selinux },
    systemdVersion,
    probeErrors,
    gatheredAt,
    durationMs: Math.round(performance.now() - startedAt),
  };
  if (runner) facts.runner = runner;
  return facts;
}

/** The engine-derived part of Facts. */
interface EngineStack {
  engine: EngineFacts | null;
  storage: StorageFacts | null;
  runtime: RuntimeFacts | null;
  cgroup: EngineReport['cgroup'];
  engineInit?: string;
}

const NO_ENGINE: EngineStack = { engine: null, storage: null, runtime: null, cgroup: {} };

/**
 * Asks docker first (when its socket exists on the host), then podman when no docker engine listens.
 * A docker engine that is there but fails (permission denied, timeout) is recorded as an error without
 * falling back to podman, since podman's answer would then describe a different stack than the one the
 * suites will use. Then fills what the engine left out: the runtime's version and the backing filesystem.
 */
async function gatherEngineStack(ctx: GatherContext): Promise<EngineStack> {
  const { transport } = ctx;
  const socketPresent = await ctx.probe(dockerSocketProbe(transport.host.dockerSocket), undefined);
  if (socketPresent === undefined) return NO_ENGINE;
  const docker = socketPresent
    ? await ctx.attempt('engine', () => ctx.limit(() => probeDockerEngine(transport, ctx.timeoutMs)), undefined)
    : null;
  if (docker === undefined) return NO_ENGINE;
  let report: EngineReport | null = docker;
  let endpoint = transport.dockerEndpoint();
  if (report === null) {
    report = await ctx.probe(podmanInfoProbe, null);
    endpoint = `podman info via ${transport.host.id}`;
  }
  if (report === null) return NO_ENGINE;

  const { runtime: reportedRuntime, storage: reportedStorage } = report;
  const [runtimeVersion, backingFs] = await Promise.all([
    reportedRuntime && !reportedRuntime.version ? ctx.probe(runtimeVersionProbe(reportedRuntime), undefined) : reportedRuntime?.version,
    fillBackingFs(ctx, reportedStorage),
  ]);

  let runtime: RuntimeFacts | null = null;
  if (reportedRuntime) {
    runtime = runtimeVersion ? { name: reportedRuntime.name, version: runtimeVersion } : { name: reportedRuntime.name };
  }
  const stack: EngineStack = {
    engine: { ...report.engine, endpoint },
    storage: { ...reportedStorage, backingFs },
    runtime,
    cgroup: report.cgroup,
  };
  if (report.engineInit) stack.engineInit = report.engineInit;
  return stack;
}

async function fillBackingFs(ctx: GatherContext, storage: StorageFacts): Promise<string> {
  if (storage.backingFs !== '') return storage.backingFs;
  if (storage.dataRoot === '') {
    ctx.probeErrors.backingFs = 'the engine named neither the backing filesystem nor its data root';
    return '';
  }
  return ctx.probe(backingFsProbe(storage.dataRoot), '');
}

/** Shared state of one gathering: the slot limiter, the errors so far, and whether the connection was lost. */
class GatherContext {
  readonly probeErrors: Record<string, string> = {};
  readonly limit: LimitFunction;
  readonly timeoutMs: number;
  lost: GauntletError | undefined;

  constructor(
    readonly transport: Transport,
    opts: GatherOptions,
  ) {
    this.limit = pLimit(opts.concurrency ?? DEFAULT_PROBE_CONCURRENCY);
    this.timeoutMs = opts.probeTimeoutMs ?? PROBE_TIMEOUT_MS;
  }

  /** Runs a task; on failure records `probeErrors[fact]` and returns the fallback. Never rejects. */
  async attempt<T, F = T>(fact: string, task: () => Promise<T>, fallback: F): Promise<T | F> {
    try {
      return await task();
    } catch (err) {
      if (isGauntletError(err) && (err.code === 'LOST_CONNECTION' || err.code === 'NOT_CONNECTED')) this.lost ??= err;
      this.probeErrors[fact] = err instanceof Error ? err.message : String(err);
      return fallback;
    }
  }

  /** Runs a command probe in a slot, with the failure handling of `attempt`. */
  probe<T, F>(probe: Probe<T>, fallback: F): Promise<T | F> {
    return this.attempt(probe.fact, () => this.limit(() => runProbe(this.transport, probe, this.timeoutMs)), fallback);
  }
}

// The values a failed probe leaves: empty, never guessed (the stack key renders empty as `unknown`).
function emptyDistro(): DistroFacts {
  return { id: '', versionId: '', prettyName: '', idLike: [] };
}

function emptyKernel(): KernelFacts {
  return { release: '', version: '', cmdline: '' };
}

function emptyHardware(): HardwareFacts {
  return { arch: '', cpus: 0, memTotalBytes: 0 };
}
