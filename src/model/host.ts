// Host specification: one selected inventory host with its connection and gauntlet settings resolved.

/** How gauntlet reaches a host: OpenSSH-compatible ssh2 session, or a local process runner. */
export type ConnectionKind = 'ssh' | 'local';

/** A hop in front of the target host (Ansible `-o ProxyJump=…` or `gauntlet_jump`). */
export interface JumpSpec {
  address: string;
  port: number;
  user: string;
  /** Inventory host name when the jump host is itself in the inventory. */
  name?: string;
  keyFile?: string;
}

/** Where the host's console text can be read while it runs (used by the watchers). */
export type ConsoleSpec =
  | { kind: 'file'; path: string }
  | { kind: 'netconsole'; port: number; bind?: string; configure?: boolean }
  | { kind: 'command'; command: string }
  | { kind: 'qemu'; path: string };

/** Position of a value in the inventory file, for messages that point at it. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

export interface HostSpec {
  /** Inventory host name (the key under `hosts:`). */
  name: string;
  /** Stable URL identity: `ssh://user@addr:port`, or `local://NAME` for the local transport. */
  id: string;
  connection: ConnectionKind;
  /** `ansible_host`, defaulting to the inventory name. */
  address: string;
  port: number;
  user: string;
  /** Absolute path of `ansible_ssh_private_key_file`, when given. */
  keyFile?: string;
  jump?: JumpSpec;
  /** `gauntlet_known_hosts`; when unset, the user's `~/.ssh/known_hosts`. */
  knownHostsFile?: string;
  /** Groups the host belongs to, `all` included, outermost first. */
  groups: string[];
  /** `gauntlet_labels`, normalised to key/value pairs (a bare label maps to `"true"`). */
  labels: Record<string, string>;
  /** `gauntlet_disposable`: destructive suites run only where this is true. */
  disposable: boolean;
  console?: ConsoleSpec;
  /** `gauntlet_power_cycle`: a command run on the runner that hard-restarts the host. */
  powerCycle?: string;
  /** `gauntlet_connect_timeout` in seconds (TCP connect plus SSH handshake). */
  connectTimeoutS: number;
  /** `gauntlet_keepalive_interval` in seconds; 0 disables keepalives. */
  keepaliveIntervalS: number;
  /** `gauntlet_keepalive_count_max`: unanswered keepalives before the connection counts as lost. */
  keepaliveCountMax: number;
  /** `gauntlet_heartbeat_interval` in seconds: how often the watch asks the host for its boot id. */
  heartbeatIntervalS: number;
  /** `gauntlet_heartbeat_timeout` in seconds: a heartbeat unanswered this long reports the host as stalled. */
  heartbeatTimeoutS: number;
  /** `gauntlet_docker_socket`: the engine's unix socket on the host. */
  dockerSocket: string;
  /** Every variable after inheritance (all → parents → children → host), for suites that read their own. */
  vars: Record<string, unknown>;
  /** Where the host is defined, for messages. */
  source?: SourcePos;
}

/** The result of reading an inventory: every host, in file order, plus the group tree. */
export interface Inventory {
  file: string;
  /** sha256 of the file's bytes, recorded in run journals. */
  digest: string;
  hosts: HostSpec[];
  /** group name → direct member host names (after inheritance of children). */
  groups: Record<string, string[]>;
}
