// `gauntlet lab` end to end with real QEMU: a lab file with three stacks (two Debian kernels; ext4, btrfs and xfs;
// overlay2, btrfs and vfs; docker and podman), facts through the written inventory, netconsole, power cycle, faults,
// down. The image and kernel cache is the default one (shared across runs, so only the first run builds); VM state
// is temporary. The lab's timings are printed at the end, so CI shows what the lab costs.

import { createSocket, type Socket } from 'node:dgram';
import { readdirSync } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse, stringify } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { validateJunit } from '../helpers/junit.js';

const KERNELS = ['6.1.0-56-amd64', '6.12.117+deb12-amd64'];
const LAB_TIMEOUT_MS = 15 * 60_000;
/** name → the stack it must report: engine, storage driver, backing filesystem. */
const STACKS: Record<string, { kernel: string; engine: string; driver: string; backingFs: string }> = {
  'ci-ext4': { kernel: KERNELS[0]!, engine: 'docker', driver: 'overlay2', backingFs: 'extfs' },
  'ci-btrfs': { kernel: KERNELS[1]!, engine: 'docker', driver: 'btrfs', backingFs: 'btrfs' },
  'ci-podman': { kernel: KERNELS[1]!, engine: 'podman', driver: 'vfs', backingFs: 'xfs' },
};

function renderLabFile(netconsole: number): string {
  return `lab:
  netconsole: ${netconsole}
  vms:
    - name: ci-ext4
      kernel: ${KERNELS[0]}
      fs: ext4
    - name: ci-btrfs
      kernel: ${KERNELS[1]}
      fs: btrfs
    - name: ci-podman
      kernel: ${KERNELS[1]}
      fs: xfs
      driver: vfs
      engine: podman
`;
}

/** UDP listeners on `count` consecutive loopback ports; what each receives is kept as text. */
async function listenUdp(count: number): Promise<{ base: number; received: string[]; sockets: Socket[] }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const sockets: Socket[] = [];
    const received = Array.from({ length: count }, () => '');
    try {
      for (let i = 0; i < count; i++) {
        const socket = createSocket('udp4');
        sockets.push(socket);
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(base + i, '127.0.0.1', () => resolve());
        });
        socket.on('message', (message) => (received[i] += message.toString('utf8')));
      }
      return { base, received, sockets };
    } catch {
      sockets.forEach((socket) => socket.close());
    }
  }
  throw new Error('no free run of UDP ports on 127.0.0.1');
}

interface KernelEventLine {
  host: string;
  class: string;
  title: string;
  fatal: boolean;
  source: string;
  via: string;
  latencyMs?: number;
  test: { suite: string; title: string } | null;
}

/** Each testcase of a host's suites in a JUnit file: its name and its `<error>`, if any. */
function readTestcases(junit: string, host: string): Record<string, { error: { type: string; message: string } | null }> {
  const cases: Record<string, { error: { type: string; message: string } | null }> = {};
  const decode = (text: string) => text.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  for (const suite of junit.split('<testsuite ').slice(1)) {
    if (!new RegExp(`name="[^"]* @ ${host}"`).test(suite.slice(0, 400))) continue;
    for (const testcase of suite.split('<testcase ').slice(1)) {
      const name = decode(/(?:^|\s)name="([^"]*)"/.exec(testcase)![1]!);
      const error = /<error [^>]*?(?:type="([^"]*)"[^>]*?message="([^"]*)"|message="([^"]*)"[^>]*?type="([^"]*)")/.exec(testcase.split('</testcase>')[0]!);
      cases[name] = { error: error ? { type: decode(error[1] ?? error[4]!), message: decode(error[2] ?? error[3]!) } : null };
    }
  }
  return cases;
}

interface FactsStack {
  engine: { name: string } | null;
  storage: { driver: string; backingFs: string } | null;
}

interface FactsEntry {
  host: string;
  reachable: boolean;
  error: string | null;
  stackKey: string | null;
  facts: ({ kernel: { release: string }; bootId: string } & FactsStack) | null;
}

interface VmStatus {
  name: string;
  kernel: string;
  port: number;
  pid: number;
  running: boolean;
  bootCount: number;
}

function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0) until it is reaped; it is not a running QEMU.
  return true;
}

async function isRunningQemu(pid: number): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && /\) (\S)/.exec(stat)?.[1] !== 'Z';
}

describe('gauntlet lab (CLI, real QEMU VMs)', function () {
  this.timeout(LAB_TIMEOUT_MS);
  let dir: string;
  let state: string;
  let inventory: string;
  let vms: VmStatus[] = [];
  let udp: Awaited<ReturnType<typeof listenUdp>>;
  /** What the lab cost, printed at the end: `lab up`'s own timings and each step's wall time. */
  const timings: string[] = [];
  const startedAt = performance.now();
  const timed = async <T>(what: string, step: () => Promise<T>): Promise<T> => {
    const stepStart = performance.now();
    try {
      return await step();
    } finally {
      timings.push(`${what}: ${((performance.now() - stepStart) / 1000).toFixed(1)} s`);
    }
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-lab-'));
    state = join(dir, 'vms');
    inventory = join(dir, 'lab.hosts.yaml');
    udp = await listenUdp(Object.keys(STACKS).length);
  });

  after(async () => {
    // Whatever happened above, no VM outlives the test.
    await runCli(['lab', 'down', '--state', state], { timeoutMs: 120_000 });
    udp?.sockets.forEach((socket) => socket.close());
    await rm(dir, { recursive: true, force: true });
    console.log(`\n      lab timings (TCG, ${Object.keys(STACKS).length} VMs):\n${[...timings, `whole lab test: ${((performance.now() - startedAt) / 1000).toFixed(1)} s`].map((line) => `        ${line}`).join('\n')}\n`);
  });

  it('boots the VMs a lab file describes and writes an inventory gauntlet reads', async () => {
    const labFile = join(dir, 'lab.yaml');
    await writeFile(labFile, renderLabFile(udp.base));
    const up = await timed('lab up', () => runCli(['lab', 'up', '-f', labFile, '--state', state, '-i', inventory], { timeoutMs: LAB_TIMEOUT_MS - 60_000 }));
    expect(up.exitCode, `${up.stdout}\n${up.stderr}`).to.equal(0);
    expect(up.stdout).to.match(/SSH on 127\.0\.0\.1:\d+ after \d+\.\d s/);
    expect(up.stdout).to.match(/3\/3 VMs ready/);
    for (const line of up.stdout.split('\n')) {
      if (/^lab: (image|kernel|ready to boot|ci-\S+: (SSH on|docker|podman))/.test(line)) timings.push(`  ${line.replace(/^lab: /, '')}`);
    }

    const status = await runCli(['lab', 'status', '--json', '--state', state]);
    expect(status.exitCode, status.stderr).to.equal(0);
    vms = JSON.parse(status.stdout) as VmStatus[];
    expect(Object.fromEntries(vms.map((vm) => [vm.name, vm.kernel]))).to.deep.equal(Object.fromEntries(Object.entries(STACKS).map(([name, stack]) => [name, stack.kernel])));
    expect(vms.every((vm) => vm.running && vm.bootCount === 1)).to.equal(true);

    const tree = parse(await readFile(inventory, 'utf8')) as { all: { children: { lab: { hosts: Record<string, Record<string, unknown>> } } } };
    const hosts = tree.all.children.lab.hosts;
    expect(Object.keys(hosts).sort()).to.deep.equal(vms.map((vm) => vm.name).sort());
    for (const [name, vars] of Object.entries(hosts)) {
      expect(vars.gauntlet_disposable, name).to.equal(true);
      expect(vars.gauntlet_console, name).to.equal(`file:${join(state, name, 'serial.log')}`);
      expect(vars.gauntlet_power_cycle, name).to.be.a('string').and.include(`lab power-cycle ${name}`);
      expect(vars.ansible_host, name).to.equal('127.0.0.1');
    }
  });

  it('gives each VM its own stack key: the kernel it booted, its engine, storage driver and filesystem', async () => {
    const facts = await timed('facts', () => runCli(['facts', '--json', '-i', inventory]));
    expect(facts.exitCode, facts.stderr).to.equal(0);
    const entries = JSON.parse(facts.stdout) as FactsEntry[];
    expect(entries).to.have.length(3);
    for (const entry of entries) {
      const expected = STACKS[entry.host]!;
      expect(entry.reachable, entry.host).to.equal(true);
      expect(entry.facts!.kernel.release, entry.host).to.equal(expected.kernel);
      expect(entry.facts!.engine?.name, entry.host).to.equal(expected.engine);
      expect(entry.facts!.storage, entry.host).to.include({ driver: expected.driver, backingFs: expected.backingFs });
    }
    expect(new Set(entries.map((entry) => entry.stackKey)).size).to.equal(3);
  });

  it('sends kernel messages by netconsole to the port the lab file names', async () => {
    const marker = `gauntlet-netconsole-${process.pid}`;
    for (const vm of vms) {
      const result = await runCli(['lab', 'ssh', '--state', state, vm.name, '--', `echo ${marker}-${vm.name} > /dev/kmsg`]);
      expect(result.exitCode, result.stderr).to.equal(0);
    }
    const deadline = Date.now() + 10_000;
    const names = Object.keys(STACKS);
    while (Date.now() < deadline && !names.every((name, i) => udp.received[i]!.includes(`${marker}-${name}`))) await new Promise((resolve) => setTimeout(resolve, 100));
    names.forEach((name, i) => expect(udp.received[i], `UDP port ${udp.base + i}`).to.include(`${marker}-${name}`));
  });

  it('power-cycles a VM back to SSH with a new boot id', async () => {
    const vm = vms[0]!;
    const bootId = async () => {
      const result = await runCli(['lab', 'ssh', '--state', state, vm.name, '--', 'cat /proc/sys/kernel/random/boot_id']);
      expect(result.exitCode, result.stderr).to.equal(0);
      return result.stdout.trim();
    };
    const before = await bootId();
    const cycle = await timed(`power-cycle ${vm.name}`, () => runCli(['lab', 'power-cycle', '--state', state, vm.name], { timeoutMs: 300_000 }));
    expect(cycle.exitCode, cycle.stderr).to.equal(0);
    expect(cycle.stdout).to.match(/SSH back after/);
    const after = await bootId();
    expect(after).to.match(/^[0-9a-f-]{36}$/);
    expect(after).to.not.equal(before);
    expect(await isRunningQemu(vm.pid), 'the old QEMU is gone').to.equal(false);
  });

  it('runs the faults suite for real: each fault is detected, classified and blamed on its test, and the run goes on after the panic', async () => {
    const out = join(dir, 'reports');
    const run = await timed('faults suite (watched, --continue-after-crash)', () =>
      runCli(['run', '-i', inventory, '--suite', 'faults', '--out', out, '--continue-after-crash'], { timeoutMs: 900_000 }),
    );
    // Per docker VM: the OOM test and the after-panic test pass; hung task, soft lockup and panic are errors of their
    // class. The podman VM skips the suite (it needs docker).
    expect(run.stdout, run.stdout + run.stderr).to.match(/3\/3 hosts ran · 4 passed · 0 failed · 6 errors · 5 skipped/);
    const reportDir = join(out, readdirSync(out)[0]!);
    await validateJunit(join(reportDir, 'junit.xml'));
    const junit = await readFile(join(reportDir, 'junit.xml'), 'utf8');
    const journal = (await readFile(join(reportDir, 'journal.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const kernelEvents = journal.filter((event) => event.type === 'kernel-event') as unknown as KernelEventLine[];
    for (const vm of vms.filter((candidate) => STACKS[candidate.name]!.engine === 'docker')) {
      const cases = readTestcases(junit, vm.name);
      expect(cases['faults > oom kill in a memory-limited container'], vm.name).to.deep.equal({ error: null });
      expect(cases['faults > hung task']?.error, vm.name).to.include({ type: 'HUNG_TASK' });
      expect(cases['faults > hung task']!.error!.message, vm.name).to.match(/^INFO: task hung in /);
      expect(cases['faults > soft lockup']?.error, vm.name).to.include({ type: 'SOFT_LOCKUP' });
      expect(cases['faults > soft lockup']!.error!.message, vm.name).to.match(/soft lockup/);
      expect(cases['faults > panic']?.error, vm.name).to.include({ type: 'PANIC' });
      expect(cases['faults > panic']!.error!.message, vm.name).to.match(/sysrq triggered crash/);
      expect(cases['faults > after the panic: the host is back and kept the panic'], vm.name).to.deep.equal({ error: null });

      const mine = kernelEvents.filter((event) => event.host === vm.name);
      const oom = mine.find((event) => event.class === 'OOM');
      expect(oom, `${vm.name} OOM event`).to.include({ fatal: false });
      expect(oom!.test?.title).to.equal('faults > oom kill in a memory-limited container');
      const live = mine.find((event) => event.class === 'PANIC' && event.source !== 'post-mortem');
      const postMortem = mine.find((event) => event.class === 'PANIC' && event.source === 'post-mortem');
      expect(live, `${vm.name}: the panic seen live on the console`).to.not.equal(undefined);
      expect(live!.test?.title).to.equal('faults > panic');
      expect(postMortem, `${vm.name}: the panic read from pstore after the power cycle`).to.include({ via: '/sys/fs/pstore/dmesg-ramoops-0' });
      expect(postMortem!.test?.title).to.equal('faults > panic');
      timings.push(`panic detection latency on ${vm.name} (first console line → journal): ${live!.latencyMs} ms`);
      expect(journal.some((event) => event.type === 'host-liveness' && event.host === vm.name && event.state === 'power-cycle'), `${vm.name} power-cycled`).to.equal(true);

      const serial = await readFile(join(state, vm.name, 'serial.log'), 'utf8');
      expect(serial, vm.name).to.match(/Memory cgroup out of memory: Killed process \d+ \(dd\)/);
      expect(serial, vm.name).to.match(/blocked for more than 5 seconds/);
      expect(serial, vm.name).to.match(/soft lockup - CPU#\d+ stuck for \d+s/);
      expect(serial, vm.name).to.include('sysrq triggered crash');
      expect(udp.received[Object.keys(STACKS).indexOf(vm.name)], `${vm.name} netconsole`).to.include('Kernel panic - not syncing: sysrq triggered crash');
    }
  });

  it('classifies the same panic with the console turned off: lost connection first, then the post-mortem title', async () => {
    const vm = vms.find((candidate) => candidate.name === 'ci-ext4')!;
    const tree = parse(await readFile(inventory, 'utf8')) as { all: { children: { lab: { hosts: Record<string, Record<string, unknown>> } } } };
    const hosts = tree.all.children.lab.hosts;
    for (const name of Object.keys(hosts)) if (name !== vm.name) delete hosts[name];
    delete hosts[vm.name]!.gauntlet_console;
    const blind = join(dir, 'blind.hosts.yaml');
    await writeFile(blind, stringify(tree));
    const out = join(dir, 'reports-blind');
    const run = await timed('faults suite without a console', () => runCli(['run', '-i', blind, '--suite', 'faults', '--out', out, '--continue-after-crash'], { timeoutMs: 900_000 }));
    const reportDir = join(out, readdirSync(out)[0]!);
    const junit = await readFile(join(reportDir, 'junit.xml'), 'utf8');
    const panic = readTestcases(junit, vm.name)['faults > panic'];
    expect(panic?.error, run.stdout).to.include({ type: 'PANIC' });
    expect(panic!.error!.message).to.match(/sysrq triggered crash/);
    const events = (await readFile(join(reportDir, 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as KernelEventLine & { type: string })
      .filter((event) => event.type === 'kernel-event' && event.test?.title === 'faults > panic');
    expect(events.map((event) => `${event.class}/${event.source}`)).to.deep.equal(['LOST_CONNECTION/heartbeat', 'PANIC/post-mortem']);
  });

  it('down leaves no QEMU, no disks and no forwarded port behind', async () => {
    const status = JSON.parse((await runCli(['lab', 'status', '--json', '--state', state])).stdout) as VmStatus[];
    const down = await timed('lab down', () => runCli(['lab', 'down', '--state', state]));
    expect(down.exitCode, down.stderr).to.equal(0);
    for (const vm of status) {
      expect(await isRunningQemu(vm.pid), `${vm.name} pid ${vm.pid}`).to.equal(false);
      expect(await exists(join(state, vm.name, 'overlay.qcow2')), `${vm.name} overlay`).to.equal(false);
      expect(await exists(join(state, vm.name, 'data.raw')), `${vm.name} data disk`).to.equal(false);
      expect(await isListening(vm.port), `${vm.name} port ${vm.port}`).to.equal(false);
    }
    expect(await exists(inventory), 'the inventory of stopped VMs').to.equal(false);
    const after = await runCli(['lab', 'status', '--json', '--state', state]);
    expect(JSON.parse(after.stdout)).to.deep.equal([]);
  });
});
