// Integration tests for the netns sshd host fixture: real OpenSSH servers in network namespaces, convergence and teardown.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { execa } from 'execa';
import YAML from 'yaml';
import { cleanupNetnsLab, createNetnsLab, NETNS_STATE_DIR, type NetnsHost, type NetnsLab } from '../helpers/netns-hosts.js';

const PREFIX = 'gt-nh';
const SUBNET = 9;
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(REPO, 'scripts/netns-hosts.ts');

/** Read the server's first line over a raw TCP socket. */
function readBanner(address: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: address, port });
    let buf = '';
    sock.setTimeout(10_000, () => {
      sock.destroy();
      reject(new Error(`no banner from ${address}:${port}`));
    });
    sock.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        sock.destroy();
        resolve(buf.slice(0, nl).trim());
      }
    });
    sock.on('error', reject);
    sock.on('close', () => reject(new Error(`closed before a banner from ${address}:${port}: ${JSON.stringify(buf)}`)));
  });
}

/** Connect and report how it ended: 'connected', an errno code, or 'timeout'. */
function tryConnect(address: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: address, port });
    sock.setTimeout(timeoutMs, () => {
      sock.destroy();
      resolve('timeout');
    });
    sock.once('connect', () => {
      sock.destroy();
      resolve('connected');
    });
    sock.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** Connect, then collect whatever the server sends for `windowMs`. */
function collectAfterConnect(address: string, port: number, windowMs: number): Promise<{ connected: boolean; bytes: number }> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let connected = false;
    const sock = net.connect({ host: address, port });
    sock.on('data', (chunk: Buffer) => (bytes += chunk.length));
    sock.once('error', reject);
    sock.once('connect', () => {
      connected = true;
      setTimeout(() => {
        sock.destroy();
        resolve({ connected, bytes });
      }, windowMs);
    });
  });
}

/** OpenSSH client arguments for a lab host, ignoring every user or system ssh configuration. */
function buildSshArgs(lab: NetnsLab, host: NetnsHost, knownHosts = lab.knownHostsPath): string[] {
  return [
    '-F', '/dev/null',
    '-i', lab.clientKeyPath,
    '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=10',
    '-p', String(host.port),
    `root@${host.address}`,
  ];
}

/** Run a command on a lab host with OpenSSH; never throws, returns the result. */
function runSsh(lab: NetnsLab, host: NetnsHost, command: string) {
  return execa('ssh', [...buildSshArgs(lab, host), command], { reject: false, timeout: 30_000 });
}

/** True when the PID exists and is not a zombie. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

/** Namespaces and root-namespace links that belong to the prefix. */
async function listLabObjects(prefix: string): Promise<string[]> {
  const ns = (await execa('ip', ['netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${prefix}-`));
  const links = (JSON.parse((await execa('ip', ['-j', 'link', 'show'])).stdout) as Array<{ ifname: string }>)
    .map((l) => l.ifname)
    .filter((n) => n.startsWith(`${prefix}-`));
  return [...ns, ...links];
}

describe('netns-hosts fixture: real sshd hosts in network namespaces', function () {
  this.timeout(120_000);
  let lab: NetnsLab;

  before(async function () {
    if (process.getuid?.() !== 0) throw new Error('the netns host fixture needs root (network namespaces, sshd)');
    lab = await createNetnsLab({ prefix: PREFIX, count: 3, subnet: SUBNET });
  });

  after(async function () {
    await lab?.teardown();
  });

  it('gives each host its own namespace and address, routed from the runner only via the lab bridge', async function () {
    expect(lab.hosts.map((h) => h.address)).to.deep.equal(['10.213.9.10', '10.213.9.11', '10.213.9.12']);
    expect(lab.bridgeAddress).to.equal('10.213.9.1');
    const route = JSON.parse((await execa('ip', ['-j', 'route', 'get', lab.deadAddress])).stdout) as Array<{ dev: string; gateway?: string }>;
    expect(route[0]).to.include({ dev: `${PREFIX}-br` });
    expect(route[0]?.gateway).to.equal(undefined);
    for (const h of lab.hosts) {
      const routes = (await execa('ip', ['-n', h.ns, '-4', 'route', 'show'])).stdout.trim().split('\n');
      expect(routes, `routes in ${h.ns}`).to.have.length(1);
      expect(routes[0]).to.match(/^10\.213\.9\.0\/24 dev eth0 /);
      expect(h.pid).to.be.a('number');
      expect(await isAlive(h.pid as number)).to.equal(true);
      expect(h.hostKeyPublic).to.match(/^ssh-ed25519 AAAA\S+$/);
      expect((await fs.readFile(path.join(lab.dir, `${h.name}.pid`), 'utf8')).trim()).to.equal(String(h.pid));
    }
    const state = JSON.parse(await fs.readFile(path.join(NETNS_STATE_DIR, `${PREFIX}.json`), 'utf8')) as {
      dir: string;
      procs: Record<string, { pid: number }>;
    };
    expect(state.dir).to.equal(lab.dir);
    expect(Object.values(state.procs).map((p) => p.pid).sort()).to.deep.equal(lab.hosts.map((h) => h.pid).sort());
  });

  it('answers on every host with an OpenSSH banner over raw TCP', async function () {
    for (const h of lab.hosts) {
      expect(await readBanner(h.address, h.port), h.name).to.match(/^SSH-2\.0-OpenSSH/);
    }
  });

  it('runs commands over real ssh, with strict host key checking, inside the host\'s own namespace', async function () {
    const results = await Promise.all(lab.hosts.map((h) => runSsh(lab, h, 'ip -4 addr show eth0')));
    results.forEach((r, i) => {
      const h = lab.hosts[i] as NetnsHost;
      expect(r.exitCode, `${h.name}: ${r.stderr}`).to.equal(0);
      expect(r.stdout).to.include(`inet ${h.address}/24`);
      for (const other of lab.hosts) if (other !== h) expect(r.stdout).not.to.include(`inet ${other.address}/`);
    });
  });

  it('lets hosts reach each other over the lab bridge (as a jump host needs)', async function () {
    const [from, to] = lab.hosts as [NetnsHost, NetnsHost];
    const r = await runSsh(lab, from, `timeout 10 bash -c 'exec 3<>/dev/tcp/${to.address}/22; head -n 1 <&3'`);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^SSH-2\.0-OpenSSH/);
  });

  it('writes an Ansible inventory of the lab hosts', async function () {
    const file = path.join(lab.dir, 'inv', 'hosts.yaml');
    await lab.writeInventory(file, { extraHosts: `dead: {ansible_host: ${lab.deadAddress}}` });
    const inv = YAML.parse(await fs.readFile(file, 'utf8')) as {
      all: { vars: Record<string, unknown>; hosts: Record<string, Record<string, unknown>> };
    };
    expect(Object.keys(inv.all.hosts)).to.deep.equal(['h0', 'h1', 'h2', 'dead']);
    expect(inv.all.hosts.dead).to.deep.equal({ ansible_host: lab.deadAddress });
    expect(inv.all.vars).to.deep.equal({
      ansible_user: 'root',
      ansible_ssh_private_key_file: lab.clientKeyPath,
      gauntlet_known_hosts: lab.knownHostsPath,
    });
    expect(inv.all.hosts.h1).to.deep.equal({
      ansible_host: '10.213.9.11',
      ansible_port: 22,
      ansible_user: 'root',
      ansible_ssh_private_key_file: lab.clientKeyPath,
      gauntlet_known_hosts: lab.knownHostsPath,
    });
    const knownHosts = await fs.readFile(lab.knownHostsPath, 'utf8');
    for (const h of lab.hosts) expect(knownHosts).to.include(`${h.address} ${h.hostKeyPublic}\n`);
    await lab.writeInventory(file, { knownHosts: '/dev/null' });
    const inv2 = YAML.parse(await fs.readFile(file, 'utf8')) as { all: { hosts: Record<string, Record<string, unknown>> } };
    expect(inv2.all.hosts.h0?.gauntlet_known_hosts).to.equal('/dev/null');
    expect(Object.keys(inv2.all.hosts)).to.deep.equal(['h0', 'h1', 'h2']);
  });

  it('has a silent host that accepts TCP but never speaks SSH', async function () {
    const silent = await lab.silentHost();
    expect(silent.ns).to.equal(`${PREFIX}-s`);
    expect(await lab.silentHost()).to.equal(silent);
    const seen = await collectAfterConnect(silent.address, silent.port, 1500);
    expect(seen).to.deep.equal({ connected: true, bytes: 0 });
  });

  it('has a dead address where connects never succeed', async function () {
    expect(await tryConnect(lab.deadAddress, 22, 5000)).to.be.oneOf(['EHOSTUNREACH', 'timeout']);
  });

  it('stopSshd kills the listener and established sessions (connects refused); startSshd restores it', async function () {
    const h = lab.hosts[1] as NetnsHost;
    const oldPid = h.pid as number;
    const session = execa('ssh', [...buildSshArgs(lab, h), 'echo ready; exec sleep 300'], { reject: false, timeout: 60_000 });
    await new Promise<void>((resolve, reject) => {
      session.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      void session.then((r) => reject(new Error(`ssh session ended early: ${r.stderr}`)));
    });
    await lab.stopSshd(h.name);
    const ended = await session;
    expect(ended.exitCode, 'the established ssh session dies with the host').to.equal(255);
    expect(ended.timedOut).to.equal(false);
    expect(h.pid).to.equal(null);
    expect(await isAlive(oldPid)).to.equal(false);
    expect((await execa('ip', ['netns', 'pids', h.ns])).stdout.trim()).to.equal('');
    expect(await tryConnect(h.address, h.port, 5000)).to.equal('ECONNREFUSED');

    await lab.startSshd(h.name);
    expect(h.pid).to.be.a('number').and.not.equal(oldPid);
    expect(await readBanner(h.address, h.port)).to.match(/^SSH-2\.0-OpenSSH/);
    const r = await runSsh(lab, h, 'echo back');
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal('back');
  });

  it('rotateHostKey makes OpenSSH report a changed host key against the old known_hosts', async function () {
    const h = lab.hosts[2] as NetnsHost;
    const oldKey = h.hostKeyPublic;
    const knownBefore = await fs.readFile(lab.knownHostsPath, 'utf8');
    await lab.rotateHostKey(h.name);
    expect(h.hostKeyPublic).to.match(/^ssh-ed25519 AAAA/).and.not.equal(oldKey);
    expect(await fs.readFile(lab.knownHostsPath, 'utf8')).to.equal(knownBefore);
    const r = await runSsh(lab, h, 'true');
    expect(r.exitCode).to.equal(255);
    expect(r.stderr).to.include('REMOTE HOST IDENTIFICATION HAS CHANGED');
    // With the new key trusted the host works again.
    const fresh = path.join(lab.dir, 'known_hosts.rotated');
    await fs.writeFile(fresh, `${h.address} ${h.hostKeyPublic}\n`);
    const ok = await execa('ssh', [...buildSshArgs(lab, h, fresh), 'true'], { reject: false, timeout: 30_000 });
    expect(ok.exitCode, ok.stderr).to.equal(0);
  });
});

describe('netns-hosts fixture: convergence and teardown', function () {
  this.timeout(180_000);
  const leftovers: number[] = [];
  let lab: NetnsLab | undefined;

  after(async function () {
    await lab?.teardown();
  });

  it('cleanupNetnsLab succeeds when nothing of the prefix exists', async function () {
    await cleanupNetnsLab('gt-nx');
    await cleanupNetnsLab('gt-nx');
    expect(await listLabObjects('gt-nx')).to.deep.equal([]);
  });

  it('converges over labs left running by killed runs (an exited CLI, a lab never torn down, strays in its namespaces)', async function () {
    // 1. Another process brings a lab up and exits without tearing it down, like a killed run.
    const up = await execa('node', ['--import', 'tsx', SCRIPT, 'up', '--prefix', PREFIX, '--count', '4', '--subnet', String(SUBNET)], {
      cwd: REPO,
      timeout: 120_000,
    });
    const summary = JSON.parse(up.stdout) as { dir: string; hosts: Array<{ pid: number }> };
    leftovers.push(...summary.hosts.map((h) => h.pid));
    // A stray process still living in one of those namespaces.
    const stray = spawn('ip', ['netns', 'exec', `${PREFIX}-3`, 'sleep', '1000'], { detached: true, stdio: 'ignore' });
    stray.unref();
    leftovers.push(stray.pid as number);
    for (const pid of leftovers) expect(await isAlive(pid), `leftover ${pid} runs`).to.equal(true);
    // A namespace whose name was deleted while its sshd lives on: only the state file still knows that PID.
    await execa('ip', ['netns', 'del', `${PREFIX}-0`]);
    expect(await isAlive(summary.hosts[0]?.pid as number)).to.equal(true);

    // 2. A lab created in this process and never torn down.
    const first = await createNetnsLab({ prefix: PREFIX, count: 2, subnet: SUBNET });
    for (const pid of leftovers) expect(await isAlive(pid), `leftover ${pid} killed`).to.equal(false);
    await fs.access(summary.dir).then(
      () => expect.fail(`old temp dir ${summary.dir} left behind`),
      () => undefined,
    );
    expect(await listLabObjects(PREFIX)).to.not.include(`${PREFIX}-3`);
    leftovers.push(...first.hosts.map((h) => h.pid as number));

    // 3. Creating again on top of it converges too.
    lab = await createNetnsLab({ prefix: PREFIX, count: 3, subnet: SUBNET });
    for (const pid of leftovers) expect(await isAlive(pid), `leftover ${pid} killed`).to.equal(false);
    expect((await listLabObjects(PREFIX)).sort()).to.deep.equal(
      [`${PREFIX}-0`, `${PREFIX}-1`, `${PREFIX}-2`, `${PREFIX}-sw`, `${PREFIX}-br`].sort(),
    );
    for (const h of lab.hosts) {
      const r = await runSsh(lab, h, 'hostname -I');
      expect(r.exitCode, `${h.name}: ${r.stderr}`).to.equal(0);
      expect(r.stdout).to.include(h.address);
    }
  });

  it('teardown removes namespaces, links, processes, temp dir and state file, and is idempotent', async function () {
    const current = lab as NetnsLab;
    await current.silentHost();
    const pids = [...current.hosts.map((h) => h.pid as number), (await current.silentHost()).pid as number];
    await current.teardown();
    expect(await listLabObjects(PREFIX)).to.deep.equal([]);
    for (const pid of pids) expect(await isAlive(pid), `pid ${pid}`).to.equal(false);
    await fs.access(current.dir).then(() => expect.fail('temp dir remains'), () => undefined);
    await fs.access(path.join(NETNS_STATE_DIR, `${PREFIX}.json`)).then(() => expect.fail('state file remains'), () => undefined);
    await current.teardown();
    lab = undefined;
    expect(await listLabObjects(PREFIX)).to.deep.equal([]);
  });
});
