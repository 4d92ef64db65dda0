// The lab's inventory and known_hosts writers, read back with gauntlet's own inventory loader; the lab's option checks.
import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadInventory } from '../../src/inventory/index.js';
import { findKnownHostEntries, knownHostName } from '../../src/transport/known-hosts.js';
import { buildKernelArgs, renderKnownHosts, type VmState } from '../../src/lab/index.js';
import { writeLabInventory } from '../../src/lab/inventory.js';
import { renderGuestInit, renderInitramfsInit } from '../../src/lab/guest-scripts.js';

const HOST_PUBLIC = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBkNt1kV2yO7k0wGdJr0rJb2X5n1b9aUnS3lJp1ZpJ5c';

function makeVm(dir: string, name: string, kernel: string, port: number): VmState {
  const vmDir = join(dir, 'vms', name);
  return {
    name,
    kernel,
    fs: 'ext4',
    driver: 'overlay2',
    memMiB: 768,
    accel: 'tcg',
    port,
    pid: 4242,
    startedAt: '2026-01-01T00:00:00.000Z',
    bootCount: 1,
    dir: vmDir,
    overlay: join(vmDir, 'overlay.qcow2'),
    dataDisk: join(vmDir, 'data.raw'),
    serialLog: join(vmDir, 'serial.log'),
    pidFile: join(vmDir, 'qemu.pid'),
    ramFile: `/dev/shm/gauntlet-lab-${name}`,
    qemuArgs: [],
    inventory: join(dir, 'lab.hosts.yaml'),
    powerCycle: `/usr/bin/node '/opt/my gauntlet/main.js' lab power-cycle ${name} --cache ${dir}`,
    cache: dir,
    stateRoot: join(dir, 'vms'),
  };
}

describe('lab inventory', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-lab-inv-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses with loadInventory and carries console, power cycle and disposable for every VM', async () => {
    const keyFile = join(dir, 'id_ed25519');
    const knownHosts = join(dir, 'known_hosts');
    await writeFile(keyFile, 'not a real key\n', { mode: 0o600 });
    const vms = [makeVm(dir, 'lab-6.1.0-56', '6.1.0-56-amd64', 40001), makeVm(dir, 'lab-6.12.117', '6.12.117+deb12-amd64', 40002)];
    await writeFile(knownHosts, renderKnownHosts(vms, HOST_PUBLIC));
    const file = join(dir, 'lab.hosts.yaml');
    await writeLabInventory(file, vms, { keyFile, knownHosts });

    const inventory = await loadInventory(file);
    expect(inventory.hosts.map((host) => host.name)).to.deep.equal(['lab-6.1.0-56', 'lab-6.12.117']);
    inventory.hosts.forEach((host, i) => {
      const vm = vms[i]!;
      expect(host.id).to.equal(`ssh://root@127.0.0.1:${vm.port}`);
      expect(host.connection).to.equal('ssh');
      expect(host.keyFile).to.equal(keyFile);
      expect(host.knownHostsFile).to.equal(knownHosts);
      expect(host.disposable).to.equal(true);
      expect(host.console).to.deep.equal({ kind: 'file', path: vm.serialLog });
      expect(host.powerCycle).to.equal(vm.powerCycle);
      expect(host.labels).to.deep.equal({ lab: 'true', kernel: vm.kernel, fs: 'ext4', driver: 'overlay2', engine: 'docker' });
      expect(host.dockerSocket).to.equal('/var/run/docker.sock');
      expect(host.groups).to.deep.equal(['all', 'lab']);
    });
  });

  it('points a podman VM at podman\'s docker-compatible socket and names its netconsole port', async () => {
    const file = join(dir, 'lab.hosts.yaml');
    await writeFile(join(dir, 'k'), 'not a real key\n', { mode: 0o600 });
    const vm = { ...makeVm(dir, 'pod', '6.12.117+deb12-amd64', 40003), engine: 'podman' as const, fs: 'xfs', driver: 'vfs', netconsolePort: 6670 };
    await writeLabInventory(file, [vm], { keyFile: join(dir, 'k'), knownHosts: join(dir, 'kh') });
    const [host] = (await loadInventory(file)).hosts;
    expect(host!.dockerSocket).to.equal('/run/podman/podman.sock');
    expect(host!.labels).to.deep.equal({ lab: 'true', kernel: vm.kernel, fs: 'xfs', driver: 'vfs', engine: 'podman', netconsole: 'udp:127.0.0.1:6670' });
  });

  it('names the kernel config next to the kernel the VM boots, for repro bundles (the guest holds none)', async () => {
    const file = join(dir, 'lab.hosts.yaml');
    await writeFile(join(dir, 'k'), 'not a real key\n', { mode: 0o600 });
    const vm = { ...makeVm(dir, 'k61', '6.1.0-56-amd64', 40004), qemuArgs: ['-m', '768M', '-kernel', '/cache/kernels/6.1.0-56-amd64-51d6002b/vmlinuz', '-initrd', '/cache/kernels/6.1.0-56-amd64-51d6002b/initrd.cpio'] };
    await writeLabInventory(file, [vm], { keyFile: join(dir, 'k'), knownHosts: join(dir, 'kh') });
    const [host] = (await loadInventory(file)).hosts;
    expect(host!.vars.gauntlet_kernel_config).to.equal('/cache/kernels/6.1.0-56-amd64-51d6002b/config');
  });

  it('pins the host key per forwarded port as OpenSSH names it', () => {
    const text = renderKnownHosts([makeVm(dir, 'a', '6.1.0-56-amd64', 40001), makeVm(dir, 'b', '6.1.0-56-amd64', 40002)], HOST_PUBLIC);
    expect(text).to.equal(`[127.0.0.1]:40001 ${HOST_PUBLIC}\n[127.0.0.1]:40002 ${HOST_PUBLIC}\n`);
    const entries = findKnownHostEntries(text, knownHostName('127.0.0.1', 40002));
    expect(entries.map((entry) => [entry.keyType, entry.line])).to.deep.equal([['ssh-ed25519', 2]]);
  });

  it('removes an inventory it wrote once no VM is left, and leaves any other file alone', async () => {
    const file = join(dir, 'lab.hosts.yaml');
    await writeLabInventory(file, [makeVm(dir, 'a', '6.1.0-56-amd64', 40001)], { keyFile: '/k', knownHosts: '/kh' });
    await writeLabInventory(file, [], { keyFile: '/k', knownHosts: '/kh' });
    await readFile(file).then(
      () => expect.fail('the inventory should be gone'),
      (err: NodeJS.ErrnoException) => expect(err.code).to.equal('ENOENT'),
    );
    await writeFile(file, 'all: {}\n');
    await writeLabInventory(file, [], { keyFile: '/k', knownHosts: '/kh' });
    expect(await readFile(file, 'utf8')).to.equal('all: {}\n');
  });
});

describe('lab guest init scripts', () => {
  for (const [name, render] of [['the guest init', renderGuestInit], ['the initramfs init', renderInitramfsInit]] as const) {
    it(`${name} is valid shell`, () => {
      const check = spawnSync('sh', ['-n'], { input: render(), encoding: 'utf8' });
      expect(check.stderr).to.equal('');
      expect(check.status).to.equal(0);
    });
  }

  it('starts the engine only on the data disk it was asked for, and says why not otherwise', () => {
    const init = renderGuestInit();
    expect(init).to.include('fail "cannot mount the data disk');
    expect(init).to.include('podman system service --time=0 unix:///run/podman/podman.sock');
    // xfs labels are at most 12 characters; a longer one fails mkfs.xfs.
    for (const label of init.matchAll(/-L (\S+)/g)) expect(label[1]!.length).to.be.at.most(12);
  });
});

describe('lab kernel arguments', () => {
  it('reserves the ramoops region it points ramoops at, and passes the stack to the guest init', () => {
    const args = buildKernelArgs({ name: 'x', memMiB: 768, fs: 'xfs', driver: 'vfs', engine: 'podman', netconsolePort: 6666 }).split(' ');
    expect(args).to.include.members(['memmap=1M$0x18000000', 'ramoops.mem_address=0x18000000', 'panic=-1', 'apparmor=0']);
    expect(args).to.include.members(['gauntlet.fs=xfs', 'gauntlet.driver=vfs', 'gauntlet.engine=podman', 'gauntlet.netconsole=6666']);
    expect(buildKernelArgs({ name: 'x', memMiB: 768, fs: 'ext4', driver: 'overlay2', engine: 'docker' })).to.not.include('netconsole');
  });
});
