// One small probe per fact: a short command run over Transport.run with its parser, plus the engine probes.

import type Docker from 'dockerode';
import { GauntletError, isGauntletError, type DistroFacts, type HardwareFacts, type KernelFacts, type SecurityFacts } from '../model/index.js';
import { describeErrno, errnoOf, formatSeconds } from '../transport/errno.js';
import { quoteShell } from '../transport/shell.js';
import type { Transport } from '../transport/transport.js';
import { parseDockerInfo, parsePodmanInfo, type EngineReport, type EngineRuntime } from './engine-parsers.js';
import {
  normaliseFsTypeName,
  parseApparmorState,
  parseCgroupFsType,
  parseHardwareProbe,
  parseKernelProbe,
  parseRuntimeVersion,
  parseSelinuxState,
  parseSystemdVersion,
} from './host-parsers.js';
import { parseOsRelease } from './os-release.js';

/** Default limit for one probe. Each is a cat or a --version; 10 s is long enough for a loaded host. */
export const PROBE_TIMEOUT_MS = 10_000;

/**
 * One fact's probe: a POSIX sh command and the parser of its standard output. Commands report an
 * absent feature on standard output (`absent`) and exit 0, so a non-zero exit always means the probe
 * itself failed.
 */
export interface Probe<T> {
  /** The fact's name: the key under which a failure is recorded in `Facts.probeErrors`. */
  fact: string;
  command: string;
  parse(stdout: string): T;
}

/** Extra sbin directories: over ssh a non-root login's PATH often lacks /usr/sbin, where Debian puts runc. */
const SBIN_PATH = 'PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"';

export const osReleaseProbe: Probe<DistroFacts> = {
  fact: 'distro',
  command: 'cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release',
  parse: parseOsRelease,
};

export const kernelProbe: Probe<KernelFacts> = {
  fact: 'kernel',
  command: 'uname -r; uname -v; cat /proc/cmdline',
  parse: parseKernelProbe,
};

export const hardwareProbe: Probe<HardwareFacts> = {
  fact: 'hardware',
  command: 'uname -m; nproc; grep MemTotal /proc/meminfo',
  parse: parseHardwareProbe,
};

export const bootIdProbe: Probe<string> = {
  fact: 'bootId',
  command: 'cat /proc/sys/kernel/random/boot_id',
  parse: (stdout) => {
    const id = stdout.trim();
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new GauntletError('PROBE_FAILED', `unexpected boot id: ${JSON.stringify(id)}`);
    return id;
  },
};

export const cgroupProbe: Probe<1 | 2> = {
  fact: 'cgroup',
  command: 'stat -f -c %T /sys/fs/cgroup',
  parse: parseCgroupFsType,
};

export const pid1Probe: Probe<string> = {
  fact: 'init',
  command: 'cat /proc/1/comm',
  parse: (stdout) => {
    const comm = stdout.trim();
    if (comm === '') throw new GauntletError('PROBE_FAILED', '/proc/1/comm is empty');
    return comm;
  },
};

export const apparmorProbe: Probe<SecurityFacts['apparmor']> = {
  fact: 'apparmor',
  command: 'if [ -r /sys/module/apparmor/parameters/enabled ]; then cat /sys/module/apparmor/parameters/enabled; else echo absent; fi',
  parse: parseApparmorState,
};

export const selinuxProbe: Probe<SecurityFacts['selinux']> = {
  fact: 'selinux',
  command:
    'if [ -r /sys/fs/selinux/enforce ]; then cat /sys/fs/selinux/enforce; ' +
    'elif [ -e /etc/selinux/config ]; then echo disabled; else echo absent; fi',
  parse: parseSelinuxState,
};

/** The installed systemd's version, or null when there is no systemctl. */
export const systemdProbe: Probe<string | null> = {
  fact: 'systemdVersion',
  command: 'if command -v systemctl >/dev/null 2>&1; then systemctl --version; else echo absent; fi',
  parse: (stdout) => (stdout.trim() === 'absent' ? null : parseSystemdVersion(stdout)),
};

/**
 * Whether the engine socket exists on the host. Asked before the docker API because only the local
 * socket reports a missing engine with an errno (ENOENT, ECONNREFUSED): through ssh forwarding or
 * `docker system dial-stdio` it is an anonymous channel failure, indistinguishable from a broken engine.
 */
export function dockerSocketProbe(socketPath: string): Probe<boolean> {
  const quoted = quoteShell(socketPath);
  return {
    fact: 'engine',
    command: `if [ -S ${quoted} ]; then echo present; else echo absent; fi`,
    parse: (stdout) => stdout.trim() === 'present',
  };
}

/** `podman info` when podman is installed; null (no engine) when it is not. */
export const podmanInfoProbe: Probe<EngineReport | null> = {
  fact: 'engine',
  command: 'if command -v podman >/dev/null 2>&1; then podman info --format json; else echo absent; fi',
  parse: (stdout) => (stdout.trim() === 'absent' ? null : parsePodmanInfo(stdout)),
};

/** The version of the runtime the engine named, from its binary (the engine's path when it gave one). */
export function runtimeVersionProbe(runtime: EngineRuntime): Probe<string> {
  return {
    fact: 'runtime',
    command: `${SBIN_PATH} ${quoteShell(runtime.path || runtime.name)} --version`,
    parse: (stdout) => parseRuntimeVersion(stdout).version,
  };
}

/** The filesystem under the engine's data root, for engines that do not name it. */
export function backingFsProbe(dataRoot: string): Probe<string> {
  return {
    fact: 'backingFs',
    command: `stat -f -c %T ${quoteShell(dataRoot)}`,
    parse: (stdout) => {
      const name = normaliseFsTypeName(stdout);
      if (name === '') throw new GauntletError('PROBE_FAILED', `stat -f printed nothing for ${dataRoot}`);
      return name;
    },
  };
}

/**
 * Runs one probe and parses its output. Rejects with a GauntletError whose message is the reason to
 * record: `TIMEOUT`, `COMMAND_FAILED` (non-zero exit, with the first line of standard error) or
 * `PROBE_FAILED` (output the parser did not understand). Transport errors (`LOST_CONNECTION`,
 * `NOT_CONNECTED`) pass through unchanged.
 */
export async function runProbe<T>(transport: Transport, probe: Probe<T>, timeoutMs = PROBE_TIMEOUT_MS): Promise<T> {
  const result = await transport.run(probe.command, { timeoutMs });
  if (result.timedOut) {
    throw new GauntletError('TIMEOUT', `\`${probe.command}\` timed out after ${formatSeconds(timeoutMs)}`);
  }
  if (result.exitCode !== 0) {
    const status = result.exitCode === null ? `signal ${result.signal ?? 'unknown'}` : `exit ${result.exitCode}`;
    const firstErr = result.stderr.split('\n').find((line) => line.trim() !== '')?.trim();
    throw new GauntletError('COMMAND_FAILED', `\`${probe.command}\` failed (${status})${firstErr ? `: ${firstErr}` : ''}`);
  }
  return probe.parse(result.stdout);
}

/**
 * Asks the host's docker engine (through `transport.docker()`) for /info and /version. Resolves null
 * when no engine listens there (socket missing, connection refused): a missing engine is a fact.
 * Rejects with `ENGINE_UNAVAILABLE` or `TIMEOUT` when an engine is there but does not answer properly
 * (permission denied, server error, no answer in time).
 */
export async function probeDockerEngine(transport: Transport, timeoutMs = PROBE_TIMEOUT_MS): Promise<EngineReport | null> {
  const endpoint = transport.dockerEndpoint();
  let docker: Docker;
  try {
    docker = transport.docker();
  } catch (err) {
    if (isGauntletError(err) && (err.code === 'LOST_CONNECTION' || err.code === 'NOT_CONNECTED')) throw err;
    throw new GauntletError('ENGINE_UNAVAILABLE', `docker at ${endpoint}: ${(err as Error).message}`, { cause: err });
  }
  try {
    // Both at once: over SSH each engine request is a stream-local channel, which sshd's MaxSessions does not count.
    const [info, version] = await Promise.all([callDockerApi(docker, 'info', endpoint, timeoutMs), callDockerApi(docker, 'version', endpoint, timeoutMs)]);
    return parseDockerInfo(info, version);
  } catch (err) {
    if (isEngineAbsent(err)) return null;
    if (isGauntletError(err)) throw err;
    const code = errnoOf(err);
    const syscall = (err as { syscall?: unknown }).syscall;
    const reason = code ? `${typeof syscall === 'string' ? `${syscall} ` : ''}${describeErrno(code)}` : (err as Error).message;
    throw new GauntletError('ENGINE_UNAVAILABLE', `docker at ${endpoint}: ${reason}`, { cause: err });
  }
}

type AbortableDockerCall = (this: Docker, opts: { abortSignal: AbortSignal }) => Promise<unknown>;

/**
 * Calls dockerode's `info()` or `version()` with an abort signal and a deadline. dockerode accepts
 * `{ abortSignal }` for these calls, but @types/dockerode declares them without options, hence the cast.
 * The race is kept as well, in case a transport's stream ignores the abort.
 */
async function callDockerApi(docker: Docker, call: 'info' | 'version', endpoint: string, timeoutMs: number): Promise<unknown> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new GauntletError('TIMEOUT', `docker /${call} at ${endpoint} did not answer within ${formatSeconds(timeoutMs)}`));
    }, timeoutMs);
  });
  try {
    const method = docker[call] as unknown as AbortableDockerCall;
    return await Promise.race([method.call(docker, { abortSignal: controller.signal }), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when the error says nothing listens at the engine socket, as opposed to an engine refusing us. */
/**
 * Only a socket that is not there means "no docker". A socket that refuses connections means a daemon that is
 * installed but down, which is evidence about the host (a crashed engine), so it is reported, never taken as
 * absence: falling back to another engine would silently change the host's stack key.
 */
function isEngineAbsent(err: unknown): boolean {
  if (errnoOf(err) === 'ENOENT') return true;
  // Without an errno (a forwarded socket), only the words can tell; gatherFacts asks dockerSocketProbe first anyway.
  const message = err instanceof Error ? err.message : String(err);
  return /no such file or directory|ENOENT/i.test(message);
}
