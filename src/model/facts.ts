// Stack facts: what a host runs, gathered one small probe per fact, and the stack key derived from them.

export interface DistroFacts {
  /** `ID` from /etc/os-release (`debian`, `ubuntu`, `rhel`, `alpine`, …). */
  id: string;
  /** `VERSION_ID` (`12`, `22.04`); empty for rolling releases. */
  versionId: string;
  prettyName: string;
  /** `VERSION_CODENAME` when present. */
  codename?: string;
  idLike: string[];
}

export interface KernelFacts {
  /** `uname -r`. */
  release: string;
  /** `uname -v`. */
  version: string;
  /** /proc/cmdline. */
  cmdline: string;
}

export interface HardwareFacts {
  /** `uname -m`. */
  arch: string;
  cpus: number;
  memTotalBytes: number;
}

export type EngineName = 'docker' | 'podman';

export interface EngineFacts {
  name: EngineName;
  /** Server (daemon) version, not the client's. */
  version: string;
  apiVersion?: string;
  /** Which daemon answered: its ID and name, and the endpoint that reached it. */
  daemonId?: string;
  daemonName?: string;
  endpoint: string;
  /** Engine-reported operating system of the daemon host, as a cross-check of which daemon answered. */
  operatingSystem?: string;
  kernelVersion?: string;
}

export interface StorageFacts {
  /** `overlay2`, `btrfs`, `vfs`, `zfs`, `aufs`, `devicemapper`, `overlay` (podman), … */
  driver: string;
  /** Backing filesystem as the engine names it (`extfs`, `xfs`, `btrfs`), else from `stat -f`. */
  backingFs: string;
  dataRoot: string;
}

export interface CgroupFacts {
  /** 1 or 2; null when the probe failed. */
  version: 1 | 2 | null;
  /** `systemd` or `cgroupfs`, from the engine when there is one. */
  driver?: string;
}

export interface RuntimeFacts {
  /** `runc`, `crun`, … */
  name: string;
  version?: string;
}

export interface SecurityFacts {
  apparmor: 'enabled' | 'disabled' | 'absent' | 'unknown';
  selinux: 'enforcing' | 'permissive' | 'disabled' | 'absent' | 'unknown';
}

export interface InitFacts {
  /** Command name of PID 1 on the host (`systemd`, `init`, `sh`). */
  pid1: string;
  /** The engine's container init (`docker-init`, `catatonit`), when known. */
  engineInit?: string;
}

/** Everything known of one host. A missing engine is a fact (`engine: null`), not an error. */
export interface Facts {
  distro: DistroFacts;
  kernel: KernelFacts;
  hardware: HardwareFacts;
  bootId: string;
  engine: EngineFacts | null;
  storage: StorageFacts | null;
  cgroup: CgroupFacts;
  runtime: RuntimeFacts | null;
  init: InitFacts;
  security: SecurityFacts;
  /** `systemctl --version` first line's number, or null without systemd. */
  systemdVersion: string | null;
  /** Probes that failed, by fact name, with the reason: facts are partial rather than absent. */
  probeErrors: Record<string, string>;
  /** When gathered (ISO 8601) and how long it took. */
  gatheredAt: string;
  durationMs: number;
  /** Description of the runner's own machine, only on hosts reached by the local transport. */
  runner?: RunnerFacts;
}

/** The machine gauntlet itself runs on, from systeminformation, plus tool versions. */
export interface RunnerFacts {
  hostname: string;
  platform: string;
  distro: string;
  release: string;
  kernel: string;
  arch: string;
  cpuModel: string;
  cpus: number;
  memTotalBytes: number;
  node: string;
  gauntlet: string;
}

/**
 * A stack key names one combination of distro, kernel, engine, storage driver, backing filesystem and
 * cgroup version: `debian-12/6.1.0-56-amd64/docker-20.10.24/overlay2/extfs/cgroup2`.
 */
export type StackKey = string;

/** One host's answer to `gauntlet facts`. */
export interface HostFactsRecord {
  host: string;
  id: string;
  reachable: boolean;
  error: string | null;
  stackKey: StackKey | null;
  facts: Facts | null;
}
