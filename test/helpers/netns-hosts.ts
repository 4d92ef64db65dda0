// Test fixture: real OpenSSH sshd hosts inside throwaway Linux network namespaces on 10.213.<subnet>.0/24.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import YAML from 'yaml';
import type { HostSpec } from '../../src/model/index.js';

export interface NetnsHost {
  /** Inventory name of the host (`h0`, `h1`, …; `silent` for the silent host). */
  name: string;
  /** Network namespace the host lives in. */
  ns: string;
  address: string;
  port: number;
  /** PID of the listening process (sshd, or node for the silent host); null while stopped. */
  pid: number | null;
  /** Private host key file; empty for the silent host (it has no key). */
  hostKeyPath: string;
  /** `ssh-ed25519 AAAA…` (no comment); empty for the silent host. */
  hostKeyPublic: string;
}

export interface NetnsLab {
  prefix: string;
  /** Temp dir holding keys, sshd configs, pid files and logs. */
  dir: string;
  hosts: NetnsHost[];
  /** ed25519 private key authorised for root on every host. */
  clientKeyPath: string;
  /** known_hosts with every host's (original) key. */
  knownHostsPath: string;
  /** Runner-side address on the lab bridge, `10.213.<subnet>.1`. */
  bridgeAddress: string;
  /** An address in the lab subnet where nothing exists (connects fail or time out). */
  deadAddress: string;
  /** A host whose port 22 accepts TCP but never sends a byte; created on first call, torn down with the lab. */
  silentHost(): Promise<NetnsHost>;
  /** Kill every process in the host's namespace (sshd and its per-connection children), like a host dying. */
  stopSshd(name: string): Promise<void>;
  /** Start the host's sshd again with the same host key; no-op while it runs. */
  startSshd(name: string): Promise<void>;
  /** Give the host a new host key and restart sshd; knownHostsPath keeps the old key. */
  rotateHostKey(name: string): Promise<void>;
  /**
   * Write an Ansible YAML inventory: `all.hosts.<name>: {ansible_host, ansible_port, ansible_user: root,
   * ansible_ssh_private_key_file, gauntlet_known_hosts}`, the last three also in `all.vars`.
   */
  writeInventory(file: string, opts?: WriteInventoryOptions): Promise<void>;
  /** Kill our processes by PID, delete namespaces/veths/bridge, remove the temp dir. Idempotent. */
  teardown(): Promise<void>;
}

export interface WriteInventoryOptions {
  /**
   * YAML text of a mapping of additional hosts merged under `all.hosts` (e.g. `dead: {ansible_host: 10.213.9.254}`);
   * they inherit user, key and known_hosts from `all.vars`.
   */
  extraHosts?: string;
  /** Value of `gauntlet_known_hosts` instead of the lab's knownHostsPath. */
  knownHosts?: string;
}

export interface CreateNetnsLabOptions {
  /** Name prefix for namespaces, bridge and veths: lowercase letters, digits, dashes; at most 10 chars. */
  prefix: string;
  /** Number of sshd hosts, 1..200. */
  count: number;
  /** Third octet of the lab subnet 10.213.<subnet>.0/24, 1..250. */
  subnet: number;
}

/** Where each lab records its PIDs and temp dir, so a later run can clean up after a killed one. */
export const NETNS_STATE_DIR = '/run/gauntlet-test';

/** A HostSpec reaching lab host `index` as root with the lab's key and known_hosts; `overrides` win. */
export function specForNetnsHost(lab: NetnsLab, index: number, overrides: Partial<HostSpec> = {}): HostSpec {
  const host = lab.hosts[index]!;
  const address = overrides.address ?? host.address;
  return {
    name: host.name,
    id: `ssh://root@${address}:22`,
    connection: 'ssh',
    address,
    port: 22,
    user: 'root',
    keyFile: lab.clientKeyPath,
    knownHostsFile: lab.knownHostsPath,
    groups: ['all'],
    labels: {},
    disposable: false,
    connectTimeoutS: 5,
    keepaliveIntervalS: 1,
    keepaliveCountMax: 3,
    heartbeatIntervalS: 2,
    heartbeatTimeoutS: 5,
    dockerSocket: '/var/run/docker.sock',
    vars: {},
    ...overrides,
  };
}

const SSHD = '/usr/sbin/sshd';
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
const MAX_HOSTS = 200;
const HOST_OCTET_BASE = 10;
const SILENT_OCTET = 250;
const DEAD_OCTET = 254;
const READY_TIMEOUT_MS = 15_000;
const KILL_TIMEOUT_MS = 10_000;
const PARALLEL = 32;
const TMP_DIR_TAG = 'gauntlet-netns-';
const SILENT_MARK = 'gauntlet-silent:';
/** Root's shell start-up files hidden from lab sessions (they belong to the runner, not to a fresh host). */
const ROOT_RC_FILES = ['.bashrc', '.bash_profile', '.bash_login', '.profile', '.bash_logout'];

/**
 * `sh -c` wrapper run in the host's private mount namespace: bind an empty file over each listed start-up file,
 * then exec the real command so the PID stays the same.
 */
const LAUNCH_SH = [
  'empty=$1; shift',
  'while [ "$1" != -- ]; do mount --bind "$empty" "$1" || { echo "gauntlet: cannot mask $1" >&2; exit 97; }; shift; done',
  'shift',
  'exec "$@"',
].join('\n');

/** Node program for the silent host: accept connections, hold them open, never write. */
const SILENT_SERVER_JS = [
  "const net = require('node:net');",
  'const held = [];',
  "net.createServer((s) => { held.push(s); s.on('error', () => {}); s.on('close', () => held.splice(held.indexOf(s), 1)); })",
  '  .listen(22, process.argv[1]);',
].join('\n');

interface StateProc {
  pid: number;
  kind: 'sshd' | 'silent';
}

interface LabState {
  prefix: string;
  subnet: number;
  dir: string;
  procs: Record<string, StateProc>;
}

interface Names {
  /** Root-namespace end of the uplink veth; holds the runner address. */
  uplink: string;
  /** Namespace holding the lab's bridge (`br0`). */
  switchNs: string;
  hostNs: (i: number) => string;
  hostVeth: (i: number) => string;
  silentNs: string;
  silentVeth: string;
  nsPattern: RegExp;
  linkPattern: RegExp;
}

/** Create a lab of `count` sshd hosts after cleaning up anything a previous run of the same prefix left behind. */
export async function createNetnsLab(opts: CreateNetnsLabOptions): Promise<NetnsLab> {
  const { prefix, count, subnet } = opts;
  checkPrefix(prefix);
  if (!Number.isInteger(count) || count < 1 || count > MAX_HOSTS) {
    throw new Error(`netns lab: count must be an integer 1..${MAX_HOSTS}, got ${String(count)}`);
  }
  if (!Number.isInteger(subnet) || subnet < 1 || subnet > 250) {
    throw new Error(`netns lab: subnet must be an integer 1..250, got ${String(subnet)}`);
  }
  await cleanupNetnsLab(prefix);
  await ensureSubnetFree(subnet);

  await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  await fs.mkdir(NETNS_STATE_DIR, { recursive: true, mode: 0o700 });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `${TMP_DIR_TAG}${prefix}-`));
  const lab = new Lab(prefix, subnet, dir, count);
  try {
    await lab.saveState();
    await lab.build();
    return lab;
  } catch (err) {
    await lab.teardown().catch(() => {});
    throw err;
  }
}

/** Remove everything of `prefix` left by earlier runs: recorded processes, namespaces and their processes, veths, bridge, temp dir, state file. */
export async function cleanupNetnsLab(prefix: string): Promise<void> {
  checkPrefix(prefix);
  const names = buildNames(prefix);
  const stateFile = getStateFile(prefix);
  const state = await readState(stateFile);

  // 1. Recorded PIDs still alive and still recognisably ours (guards against PID reuse).
  if (state) {
    const recorded: number[] = [];
    for (const proc of Object.values(state.procs)) {
      if (await isOurProcess(proc.pid, state.dir)) recorded.push(proc.pid);
    }
    await killPids(recorded);
  }

  // 2. Everything still living in our namespaces is ours; 3. delete links, then namespaces.
  for (let attempt = 0; ; attempt++) {
    const namespaces = (await listNetns()).filter((ns) => names.nsPattern.test(ns));
    const links = (await listRootLinks()).filter((l) => names.linkPattern.test(l));
    if (namespaces.length === 0 && links.length === 0) break;
    if (attempt >= 3) {
      throw new Error(`netns lab ${prefix}: cleanup could not remove ${[...namespaces, ...links].join(', ')}`);
    }
    await killPids(await listNetnsPids(namespaces));
    // Root-namespace links first (deleting one end of a veth removes its peer at once), then the namespaces.
    const lines = [...links.map((l) => `link del dev ${l}`), ...namespaces.map((ns) => `netns del ${ns}`)];
    await runIpBatch(lines, true);
  }

  // 4. The previous run's temp dir (only if it is really one of ours) and the state file.
  if (state && isOurTempDir(state.dir, prefix)) {
    await fs.rm(state.dir, { recursive: true, force: true });
  }
  await fs.rm(stateFile, { force: true });
}

class Lab implements NetnsLab {
  readonly hosts: NetnsHost[] = [];
  readonly clientKeyPath: string;
  readonly knownHostsPath: string;
  readonly bridgeAddress: string;
  readonly deadAddress: string;
  private readonly names: Names;
  private readonly children = new Map<number, ChildProcess>();
  private silent: Promise<NetnsHost> | null = null;
  private silentRecord: NetnsHost | null = null;
  private stateWrite: Promise<void> = Promise.resolve();
  private tornDown = false;

  constructor(
    readonly prefix: string,
    private readonly subnet: number,
    readonly dir: string,
    count: number,
  ) {
    this.names = buildNames(prefix);
    this.clientKeyPath = path.join(dir, 'client_ed25519');
    this.knownHostsPath = path.join(dir, 'known_hosts');
    this.bridgeAddress = this.addressOf(1);
    this.deadAddress = this.addressOf(DEAD_OCTET);
    for (let i = 0; i < count; i++) {
      this.hosts.push({
        name: `h${i}`,
        ns: this.names.hostNs(i),
        address: this.addressOf(HOST_OCTET_BASE + i),
        port: 22,
        pid: null,
        hostKeyPath: path.join(dir, `h${i}_host_ed25519`),
        hostKeyPublic: '',
      });
    }
  }

  /** Generate keys, build the network, start every sshd and wait until each accepts TCP. */
  async build(): Promise<void> {
    await Promise.all([this.generateKeys(), this.buildNetwork()]);
    await Promise.all(this.hosts.map((h) => this.launchSshd(h)));
    await Promise.all(this.hosts.map((h) => this.awaitListening(h)));
  }

  async silentHost(): Promise<NetnsHost> {
    this.assertLive();
    this.silent ??= this.createSilentHost();
    return this.silent;
  }

  async stopSshd(name: string): Promise<void> {
    this.assertLive();
    const host = this.hostNamed(name);
    await this.killNamespace(host);
  }

  async startSshd(name: string): Promise<void> {
    this.assertLive();
    const host = this.hostNamed(name);
    if (host.pid !== null && (await isAlive(host.pid))) return;
    await this.launchSshd(host);
    await this.awaitListening(host);
  }

  async rotateHostKey(name: string): Promise<void> {
    this.assertLive();
    const host = this.hostNamed(name);
    await this.killNamespace(host);
    await fs.rm(host.hostKeyPath, { force: true });
    await fs.rm(`${host.hostKeyPath}.pub`, { force: true });
    host.hostKeyPublic = await generateKey(host.hostKeyPath, `gauntlet-${this.prefix}-${host.name}-rotated`);
    await this.launchSshd(host);
    await this.awaitListening(host);
  }

  async writeInventory(file: string, opts: WriteInventoryOptions = {}): Promise<void> {
    const access = {
      ansible_user: 'root',
      ansible_ssh_private_key_file: this.clientKeyPath,
      gauntlet_known_hosts: opts.knownHosts ?? this.knownHostsPath,
    };
    const hosts: Record<string, unknown> = {};
    for (const h of this.hosts) hosts[h.name] = { ansible_host: h.address, ansible_port: h.port, ...access };
    if (opts.extraHosts !== undefined && opts.extraHosts.trim() !== '') {
      const extra: unknown = YAML.parse(opts.extraHosts);
      if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) {
        throw new Error('writeInventory: extraHosts must be YAML text of a mapping of host name to host variables');
      }
      Object.assign(hosts, extra);
    }
    const header = `# gauntlet netns lab ${this.prefix}: ${this.hosts.length} hosts on 10.213.${this.subnet}.0/24\n`;
    await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
    // The access settings also go in all.vars, so extra hosts (a dead address, say) inherit the lab's user and key.
    await fs.writeFile(file, header + YAML.stringify({ all: { vars: access, hosts } }));
  }

  async teardown(): Promise<void> {
    this.tornDown = true;
    const pids = [...this.children.keys()];
    await killPids(pids);
    this.children.clear();
    for (const h of this.hosts) h.pid = null;
    if (this.silentRecord) this.silentRecord.pid = null;
    await this.stateWrite.catch(() => {});
    await cleanupNetnsLab(this.prefix);
    await fs.rm(this.dir, { recursive: true, force: true });
  }

  /** Record the lab's temp dir and live PIDs in the state file (writes are serialised, each atomic). */
  saveState(): Promise<void> {
    const next = this.stateWrite.then(async () => {
      if (this.tornDown) return;
      const procs: Record<string, StateProc> = {};
      for (const h of this.hosts) if (h.pid !== null) procs[h.name] = { pid: h.pid, kind: 'sshd' };
      if (this.silentRecord?.pid != null) procs[this.silentRecord.name] = { pid: this.silentRecord.pid, kind: 'silent' };
      const state: LabState = { prefix: this.prefix, subnet: this.subnet, dir: this.dir, procs };
      const file = getStateFile(this.prefix);
      const tmp = `${file}.${process.pid}.tmp`;
      await fs.writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
      await fs.rename(tmp, file);
    });
    this.stateWrite = next.catch(() => {});
    return next;
  }

  private addressOf(octet: number): string {
    return `10.213.${this.subnet}.${octet}`;
  }

  private assertLive(): void {
    if (this.tornDown) throw new Error(`netns lab ${this.prefix} has been torn down`);
  }

  private hostNamed(name: string): NetnsHost {
    const host = this.hosts.find((h) => h.name === name);
    if (!host) throw new Error(`netns lab ${this.prefix}: no host named ${JSON.stringify(name)}`);
    return host;
  }

  private async generateKeys(): Promise<void> {
    const clientPublic = await generateKey(this.clientKeyPath, `gauntlet-${this.prefix}-client`);
    await fs.writeFile(path.join(this.dir, 'authorized_keys'), `${clientPublic}\n`);
    await mapLimit(this.hosts, PARALLEL, async (h) => {
      h.hostKeyPublic = await generateKey(h.hostKeyPath, `gauntlet-${this.prefix}-${h.name}`);
    });
    const lines = this.hosts.map((h) => `${formatKnownHostsHost(h.address, h.port)} ${h.hostKeyPublic}`);
    await fs.writeFile(this.knownHostsPath, `${lines.join('\n')}\n`);
  }

  /**
   * A switch namespace holding bridge `br0`; the runner reaches it through the uplink veth `<prefix>-br`
   * (10.213.<subnet>.1/24) and each host namespace through its own veth. The bridge lives in its own
   * namespace so the root namespace's firewall (e.g. Docker's FORWARD DROP with br_netfilter) never sees
   * host-to-host frames. No default routes, no NAT, no forwarding.
   */
  private async buildNetwork(): Promise<void> {
    const { uplink, switchNs } = this.names;
    const root = [
      `netns add ${switchNs}`,
      `link add name ${uplink} type veth peer name uplink netns ${switchNs}`,
      `addr add ${this.bridgeAddress}/24 dev ${uplink}`,
      `link set dev ${uplink} up`,
    ];
    const sw = ['link set dev lo up', 'link add name br0 type bridge', 'link set dev br0 up', 'link set dev uplink master br0', 'link set dev uplink up'];
    this.hosts.forEach((h, i) => {
      root.push(...buildVethLines(h.ns, this.names.hostVeth(i), switchNs));
      sw.push(...buildBridgePortLines(this.names.hostVeth(i)));
    });
    await runIpBatch(root);
    await runIpBatch(sw, false, switchNs);
    await mapLimit(this.hosts, PARALLEL, (h) => configureNamespace(h.ns, h.address));
    await this.checkRoute();
  }

  /** The lab subnet must be reached through the lab bridge and nothing else. */
  private async checkRoute(): Promise<void> {
    const { stdout } = await execa('ip', ['-j', 'route', 'get', this.deadAddress]);
    const routes = JSON.parse(stdout) as Array<{ dev?: string; gateway?: string }>;
    const route = routes[0];
    if (!route || route.dev !== this.names.uplink || route.gateway !== undefined) {
      throw new Error(`netns lab ${this.prefix}: ${this.deadAddress} does not route via ${this.names.uplink}: ${stdout}`);
    }
  }

  private sshdConfigPath(h: NetnsHost): string {
    return path.join(this.dir, `${h.name}_sshd_config`);
  }

  private async launchSshd(h: NetnsHost): Promise<void> {
    const conf = this.sshdConfigPath(h);
    await fs.writeFile(conf, await this.sshdConfig(h));
    await this.launch(h, [SSHD, '-D', '-e', '-f', conf], true);
  }

  private async sshdConfig(h: NetnsHost): Promise<string> {
    const lines = [
      `# gauntlet netns lab ${this.prefix}, host ${h.name} in netns ${h.ns}`,
      `Port ${h.port}`,
      `ListenAddress ${h.address}`,
      `HostKey ${h.hostKeyPath}`,
      `AuthorizedKeysFile ${path.join(this.dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PidFile none',
      'MaxSessions 64',
      'MaxStartups 200',
      'AllowStreamLocalForwarding yes',
      'AllowTcpForwarding yes',
      'LogLevel ERROR',
      'UseDNS no',
      'PrintMotd no',
      'PrintLastLog no',
      'X11Forwarding no',
    ];
    if (await isExecutable(SFTP_SERVER)) lines.push(`Subsystem sftp ${SFTP_SERVER}`);
    return `${lines.join('\n')}\n`;
  }

  /**
   * Spawn argv in the host's network namespace (nsenter), detached in its own process group, logging to `<dir>/<name>.log`; record the PID.
   * With `maskRootRc`, root's shell start-up files are hidden in the process's own mount namespace first, so
   * sessions on the host do not run the runner's ~/.bashrc (which can be slow or hang, e.g. `pyenv rehash`).
   */
  private async launch(h: NetnsHost, argv: string[], maskRootRc = false): Promise<void> {
    let command = argv;
    if (maskRootRc) {
      const empty = path.join(this.dir, 'empty-rc');
      await fs.writeFile(empty, '');
      const masks: string[] = [];
      for (const rc of ROOT_RC_FILES) {
        const file = path.join('/root', rc);
        if ((await fs.stat(file).catch(() => null))?.isFile()) masks.push(file);
      }
      command = ['/bin/sh', '-c', LAUNCH_SH, 'gauntlet-launch', empty, ...masks, '--', ...argv];
    }
    const log = await fs.open(path.join(this.dir, `${h.name}.log`), 'a');
    let child: ChildProcess;
    let spawned: Promise<number>;
    try {
      // Only the network namespace is the host's own. `ip netns exec` would also remount /sys, which hides the
      // machine's cgroup tree from sessions; `unshare --mount` gives the private mount namespace the masks need.
      child = spawn('nsenter', [`--net=/run/netns/${h.ns}`, 'unshare', '--mount', '--propagation', 'private', ...command], {
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
      });
      // Listen before any await: 'spawn' is emitted on the next tick.
      spawned = new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('spawn', () => (child.pid === undefined ? reject(new Error('spawn gave no pid')) : resolve(child.pid)));
      });
    } finally {
      await log.close();
    }
    const pid = await spawned;
    child.unref();
    child.on('error', () => {});
    this.children.set(pid, child);
    child.once('exit', () => this.children.delete(pid));
    h.pid = pid;
    await fs.writeFile(path.join(this.dir, `${h.name}.pid`), `${pid}\n`);
    await this.saveState();
  }

  /** Poll a TCP connect from the root namespace until the host's port accepts, or fail with its log. */
  private async awaitListening(h: NetnsHost): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let lastError = '';
    while (Date.now() < deadline) {
      const child = h.pid === null ? undefined : this.children.get(h.pid);
      if (h.pid === null || !child || child.exitCode !== null || child.signalCode !== null) {
        lastError = `process exited (${child ? String(child.exitCode ?? child.signalCode) : 'gone'})`;
        break;
      }
      try {
        await probeTcp(h.address, h.port, 1000);
        return;
      } catch (err) {
        lastError = (err as Error).message;
      }
      await sleep(50);
    }
    const log = await fs.readFile(path.join(this.dir, `${h.name}.log`), 'utf8').catch(() => '(no log)');
    throw new Error(
      `netns lab ${this.prefix}: host ${h.name} (netns ${h.ns}, ${h.address}:${h.port}) did not accept TCP ` +
        `within ${READY_TIMEOUT_MS} ms: ${lastError}; log ${path.join(this.dir, `${h.name}.log`)}:\n${log.trim() || '(empty)'}`,
    );
  }

  /** Kill every process in the host's namespace by PID (the listener and its per-connection children). */
  private async killNamespace(h: NetnsHost): Promise<void> {
    const pids = new Set(await listNetnsPids([h.ns]));
    if (h.pid !== null) pids.add(h.pid);
    await killPids([...pids]);
    h.pid = null;
    await fs.rm(path.join(this.dir, `${h.name}.pid`), { force: true });
    await this.saveState();
  }

  private async createSilentHost(): Promise<NetnsHost> {
    const host: NetnsHost = {
      name: 'silent',
      ns: this.names.silentNs,
      address: this.addressOf(SILENT_OCTET),
      port: 22,
      pid: null,
      hostKeyPath: '',
      hostKeyPublic: '',
    };
    this.silentRecord = host;
    await runIpBatch(buildVethLines(host.ns, this.names.silentVeth, this.names.switchNs));
    await runIpBatch(buildBridgePortLines(this.names.silentVeth), false, this.names.switchNs);
    await configureNamespace(host.ns, host.address);
    await this.launch(host, [process.execPath, '-e', SILENT_SERVER_JS, host.address, `${SILENT_MARK}${this.dir}`]);
    await this.awaitListening(host);
    return host;
  }
}

function checkPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || !/^[a-z][a-z0-9-]{0,9}$/.test(prefix) || prefix.endsWith('-')) {
    throw new Error(
      `netns lab: prefix must be 1-10 chars of lowercase letters, digits and dashes, starting with a letter: ${JSON.stringify(prefix)}`,
    );
  }
}

function buildNames(prefix: string): Names {
  const p = prefix.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  return {
    uplink: `${prefix}-br`,
    switchNs: `${prefix}-sw`,
    hostNs: (i) => `${prefix}-${i}`,
    hostVeth: (i) => `${prefix}-v${i}`,
    silentNs: `${prefix}-s`,
    silentVeth: `${prefix}-vs`,
    nsPattern: new RegExp(`^${p}-(\\d+|s|sw)$`),
    linkPattern: new RegExp(`^${p}-(br|v\\d+|vs)$`),
  };
}

function getStateFile(prefix: string): string {
  return path.join(NETNS_STATE_DIR, `${prefix}.json`);
}

async function readState(file: string): Promise<LabState | null> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<LabState>;
    if (typeof parsed.dir !== 'string' || typeof parsed.procs !== 'object' || parsed.procs === null) return null;
    return parsed as LabState;
  } catch {
    return null;
  }
}

function isOurTempDir(dir: string, prefix: string): boolean {
  return (
    path.isAbsolute(dir) &&
    path.dirname(dir) === os.tmpdir() &&
    path.basename(dir).startsWith(`${TMP_DIR_TAG}${prefix}-`)
  );
}

/** True when PID is alive and its command line is an sshd or node we started for the lab in `dir`. */
async function isOurProcess(pid: number, dir: string): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 1 || !(await isAlive(pid))) return false;
  let argv: string[];
  try {
    argv = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  } catch {
    return false;
  }
  // sshd rewrites its title into one string: "sshd: /usr/sbin/sshd -D -e -f <dir>/h0_sshd_config [listener] …".
  const text = argv.join(' ');
  const exe = path.basename(argv[0] ?? '');
  if (exe === 'sshd' || text.startsWith('sshd:')) return text.includes(` ${dir}/`);
  if (exe === 'node' || argv[0] === process.execPath) return argv.includes(`${SILENT_MARK}${dir}`);
  // Between nsenter and the exec of sshd, the launcher shell.
  if (exe === 'sh' && argv[3] === 'gauntlet-launch') return text.includes(` ${dir}/`);
  return false;
}

/** Alive means it exists and is not a zombie. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** SIGKILL each PID and wait until none is alive. */
async function killPids(pids: number[]): Promise<void> {
  const targets = [...new Set(pids)].filter((p) => Number.isInteger(p) && p > 1 && p !== process.pid);
  for (const pid of targets) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  const deadline = Date.now() + KILL_TIMEOUT_MS;
  for (;;) {
    const alive: number[] = [];
    for (const pid of targets) if (await isAlive(pid)) alive.push(pid);
    if (alive.length === 0) return;
    if (Date.now() > deadline) throw new Error(`netns lab: processes ${alive.join(', ')} survived SIGKILL`);
    await sleep(20);
  }
}

/** PIDs whose network namespace is one of the named ones (what `ip netns pids` reports, in one /proc pass). */
async function listNetnsPids(namespaces: string[]): Promise<number[]> {
  const wanted = new Set<string>();
  for (const ns of namespaces) {
    try {
      const st = await fs.stat(path.join('/run/netns', ns));
      wanted.add(`net:[${st.ino}]`);
    } catch {
      // The namespace is already gone.
    }
  }
  if (wanted.size === 0) return [];
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (wanted.has(await fs.readlink(`/proc/${entry}/ns/net`))) pids.push(Number(entry));
    } catch {
      // Exited meanwhile, or a kernel thread.
    }
  }
  return pids;
}

async function listNetns(): Promise<string[]> {
  const { stdout } = await execa('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

async function listRootLinks(): Promise<string[]> {
  const { stdout } = await execa('ip', ['-j', 'link', 'show']);
  return (JSON.parse(stdout || '[]') as Array<{ ifname: string }>).map((l) => l.ifname);
}

/** Refuse a subnet some other interface (another lab, or the machine itself) already uses. */
async function ensureSubnetFree(subnet: number): Promise<void> {
  const { stdout } = await execa('ip', ['-j', '-4', 'addr', 'show']);
  const ifaces = JSON.parse(stdout || '[]') as Array<{ ifname: string; addr_info?: Array<{ local?: string }> }>;
  const net24 = `10.213.${subnet}.`;
  for (const iface of ifaces) {
    for (const a of iface.addr_info ?? []) {
      if (a.local?.startsWith(net24)) {
        throw new Error(`netns lab: subnet 10.213.${subnet}.0/24 is already in use by ${iface.ifname} (${a.local}); pick another subnet`);
      }
    }
  }
}

/** Root-namespace `ip -batch` lines creating a host namespace and a veth from the switch namespace to its `eth0`. */
function buildVethLines(ns: string, veth: string, switchNs: string): string[] {
  return [`netns add ${ns}`, `link add name ${veth} netns ${switchNs} type veth peer name eth0 netns ${ns}`];
}

/** Switch-namespace `ip -batch` lines attaching a host's veth to the bridge. */
function buildBridgePortLines(veth: string): string[] {
  return [`link set dev ${veth} master br0`, `link set dev ${veth} up`];
}

/** Inside the namespace: lo up, eth0 up with its /24 address. No routes beyond the connected one. */
async function configureNamespace(ns: string, address: string): Promise<void> {
  await runIpBatch(['link set dev lo up', `addr add ${address}/24 dev eth0`, 'link set dev eth0 up'], false, ns);
}

async function runIpBatch(lines: string[], force = false, ns?: string): Promise<void> {
  if (lines.length === 0) return;
  const args = [...(ns ? ['-n', ns] : []), ...(force ? ['-force'] : []), '-batch', '-'];
  try {
    await execa('ip', args, { input: `${lines.join('\n')}\n` });
  } catch (err) {
    if (force) return; // Best effort; the caller re-checks what is left.
    const e = err as { stderr?: string; shortMessage?: string };
    throw new Error(`netns lab: ip ${args.join(' ')} failed: ${(e.stderr ?? e.shortMessage ?? String(err)).trim()}`);
  }
}

/** Generate an ed25519 key pair at `file`; return the public key as `ssh-ed25519 AAAA…` without its comment. */
async function generateKey(file: string, comment: string): Promise<string> {
  await execa('ssh-keygen', ['-t', 'ed25519', '-N', '', '-q', '-C', comment, '-f', file]);
  const pub = (await fs.readFile(`${file}.pub`, 'utf8')).trim().split(/\s+/);
  return `${pub[0]} ${pub[1]}`;
}

function formatKnownHostsHost(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** Resolve once a TCP connect to address:port succeeds (closing it at once); reject on error or timeout. */
function probeTcp(address: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: address, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`connect to ${address}:${port} timed out`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve();
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    });
  });
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await fs.access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Run `fn` over `items` with at most `limit` in flight; reject with the first error after all settle. */
async function mapLimit<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        await fn(items[i] as T, i);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}
