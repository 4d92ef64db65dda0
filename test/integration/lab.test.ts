// `gauntlet lab` end to end with real QEMU: two Debian kernels up, facts through the written inventory, power cycle, down.
// The image and kernel cache is the default one (shared across runs, so only the first run builds); VM state is temporary.

import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { runCli } from '../helpers/cli.js';

const KERNELS = ['6.1.0-56-amd64', '6.12.117+deb12-amd64'];
const LAB_TIMEOUT_MS = 15 * 60_000;

interface FactsEntry {
  host: string;
  reachable: boolean;
  error: string | null;
  stackKey: string | null;
  facts: { kernel: { release: string }; bootId: string; engine: { name: string } | null } | null;
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

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-lab-'));
    state = join(dir, 'vms');
    inventory = join(dir, 'lab.hosts.yaml');
  });

  after(async () => {
    // Whatever happened above, no VM outlives the test.
    await runCli(['lab', 'down', '--state', state], { timeoutMs: 120_000 });
    await rm(dir, { recursive: true, force: true });
  });

  it('boots one VM per kernel and writes an inventory gauntlet reads', async () => {
    const args = ['lab', 'up', '--name', 'ci', '--state', state, '-i', inventory, ...KERNELS.flatMap((kernel) => ['--kernel', kernel])];
    const up = await runCli(args, { timeoutMs: LAB_TIMEOUT_MS - 60_000 });
    expect(up.exitCode, `${up.stdout}\n${up.stderr}`).to.equal(0);
    expect(up.stdout).to.match(/SSH on 127\.0\.0\.1:\d+ after \d+\.\d s/);
    expect(up.stdout).to.match(/2\/2 VMs ready/);

    const status = await runCli(['lab', 'status', '--json', '--state', state]);
    expect(status.exitCode, status.stderr).to.equal(0);
    vms = JSON.parse(status.stdout) as VmStatus[];
    expect(vms.map((vm) => vm.kernel).sort()).to.deep.equal([...KERNELS].sort());
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

  it('gives each VM its own stack key with the kernel it booted', async () => {
    const facts = await runCli(['facts', '--json', '-i', inventory]);
    expect(facts.exitCode, facts.stderr).to.equal(0);
    const entries = JSON.parse(facts.stdout) as FactsEntry[];
    expect(entries).to.have.length(2);
    for (const entry of entries) {
      expect(entry.reachable, entry.host).to.equal(true);
      expect(entry.facts!.engine?.name).to.equal('docker');
      expect(entry.facts!.kernel.release).to.equal(vms.find((vm) => vm.name === entry.host)!.kernel);
    }
    expect(entries.map((entry) => entry.facts!.kernel.release).sort()).to.deep.equal([...KERNELS].sort());
    expect(new Set(entries.map((entry) => entry.stackKey)).size).to.equal(2);
  });

  it('power-cycles a VM back to SSH with a new boot id', async () => {
    const vm = vms[0]!;
    const bootId = async () => {
      const result = await runCli(['lab', 'ssh', '--state', state, vm.name, '--', 'cat /proc/sys/kernel/random/boot_id']);
      expect(result.exitCode, result.stderr).to.equal(0);
      return result.stdout.trim();
    };
    const before = await bootId();
    const cycle = await runCli(['lab', 'power-cycle', '--state', state, vm.name], { timeoutMs: 300_000 });
    expect(cycle.exitCode, cycle.stderr).to.equal(0);
    expect(cycle.stdout).to.match(/SSH back after/);
    const after = await bootId();
    expect(after).to.match(/^[0-9a-f-]{36}$/);
    expect(after).to.not.equal(before);
    expect(await isRunningQemu(vm.pid), 'the old QEMU is gone').to.equal(false);
  });

  it('runs the faults suite for real: the kernel text of each fault is in the serial log, and power control brings the VM back with the panic in pstore', async () => {
    const out = join(dir, 'reports');
    const run = await runCli(['run', '-i', inventory, '--suite', 'faults', '--out', out], { timeoutMs: 600_000 });
    expect(run.stdout, run.stdout + run.stderr).to.match(/2\/2 hosts ran · 8 passed · 0 failed · 0 errors/);
    for (const vm of vms) {
      const serial = await readFile(join(state, vm.name, 'serial.log'), 'utf8');
      expect(serial, vm.name).to.match(/Memory cgroup out of memory: Killed process \d+ \(dd\)/);
      expect(serial, vm.name).to.match(/blocked for more than 5 seconds/);
      expect(serial, vm.name).to.match(/soft lockup - CPU#\d+ stuck for \d+s/);
      expect(serial, vm.name).to.include('sysrq triggered crash');
      const cycle = await runCli(['lab', 'power-cycle', '--state', state, vm.name], { timeoutMs: 300_000 });
      expect(cycle.exitCode, cycle.stderr).to.equal(0);
      const pstore = await runCli(['lab', 'ssh', '--state', state, vm.name, '--', 'cat /sys/fs/pstore/dmesg-ramoops-0']);
      expect(pstore.exitCode, pstore.stderr).to.equal(0);
      expect(pstore.stdout, vm.name).to.include('Kernel panic - not syncing: sysrq triggered crash');
    }
  });

  it('down leaves no QEMU, no disks and no forwarded port behind', async () => {
    const status = JSON.parse((await runCli(['lab', 'status', '--json', '--state', state])).stdout) as VmStatus[];
    const down = await runCli(['lab', 'down', '--state', state]);
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

  it('answers bad input with one line and exit 2', async () => {
    for (const args of [
      ['lab', 'up', '--kernel', 'latest', '--state', state],
      ['lab', 'up', '--fs', 'zfs', '--state', state],
      ['lab', 'up', '--mem', 'lots', '--state', state],
      ['lab', 'power-cycle', 'nope', '--state', state],
      ['lab', 'down', 'nope', '--state', state],
    ]) {
      const result = await runCli(args);
      expect(result.exitCode, args.join(' ')).to.equal(2);
      expect(result.stderr.trim().split('\n'), args.join(' ')).to.have.length(1);
      expect(result.stderr).to.match(/^gauntlet: lab: /);
    }
  });
});
