// The lab's inventory and known_hosts writers, read back with gauntlet's own inventory loader; the lab's option checks.
import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadInventory } from '../../src/inventory/index.js';
import { findKnownHostEntries, knownHostName } from '../../src/transport/known-hosts.js';
import { buildKernelArgs, checkUpOptions, nameVms, renderKnownHosts, type VmState } from '../../src/lab/index.js';
import { writeLabInventory } from '../../src/lab/inventory.js';
import { GauntletError } from '../../src/model/index.js';

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
      expect(host.labels).to.deep.equal({ lab: 'true', kernel: vm.kernel, fs: 'ext4', driver: 'overlay2' });
      expect(host.groups).to.deep.equal(['all', 'lab']);
    });
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

describe('lab options', () => {
  const valid = { kernels: ['6.1.0-56-amd64'], fs: 'ext4', driver: 'overlay2', memMiB: 768 };
  const rows: Array<{ what: string; options: Partial<typeof valid> & { name?: string }; message: string }> = [
    { what: 'a kernel that is not a release', options: { kernels: ['latest'] }, message: 'lab: --kernel: expected a kernel release such as 6.1.0-56-amd64 or 6.12.117+deb12-amd64, got "latest"' },
    { what: 'an unknown filesystem', options: { fs: 'zfs' }, message: 'lab: --fs: expected one of ext4, xfs, btrfs, got "zfs"' },
    { what: 'an unknown driver', options: { driver: 'aufs' }, message: 'lab: --driver: expected one of overlay2, btrfs, vfs, got "aufs"' },
    { what: 'btrfs driver on ext4', options: { driver: 'btrfs' }, message: 'lab: --driver btrfs needs --fs btrfs, got --fs ext4' },
    { what: 'overlay2 on btrfs', options: { fs: 'btrfs' }, message: 'lab: --driver overlay2 does not run on --fs btrfs; use --driver btrfs or --fs ext4|xfs' },
    { what: 'too little memory', options: { memMiB: 128 }, message: 'lab: --mem: expected MiB as an integer 384-8192, got 128' },
    { what: 'a name with a slash', options: { name: 'a/b' }, message: 'lab: expected a --name of lower-case letters, digits, \'.\' and \'-\' starting with a letter, got "a/b"' },
  ];
  for (const row of rows) {
    it(`refuses ${row.what} as USAGE`, () => {
      try {
        checkUpOptions({ ...valid, ...row.options });
      } catch (err) {
        expect(err).to.be.instanceOf(GauntletError);
        expect((err as GauntletError).code).to.equal('USAGE');
        expect((err as GauntletError).message).to.equal(row.message);
        return;
      }
      expect.fail('expected a USAGE error');
    });
  }

  it('names VMs after their kernels, and uniquely', () => {
    expect(nameVms(['6.1.0-56-amd64', '6.12.117+deb12-amd64'], undefined)).to.deep.equal(['lab-6.1.0-56', 'lab-6.12.117']);
    expect(nameVms(['6.1.0-56-amd64', '6.1.0-56-amd64'], 'ci')).to.deep.equal(['ci-6.1.0-56', 'ci-6.1.0-56-2']);
    expect(nameVms(['6.1.0-56-amd64'], 'solo')).to.deep.equal(['solo']);
  });

  it('reserves the ramoops region it points ramoops at', () => {
    const args = buildKernelArgs({ name: 'x', memMiB: 768, fs: 'ext4', driver: 'overlay2' }).split(' ');
    expect(args).to.include.members(['memmap=1M$0x18000000', 'ramoops.mem_address=0x18000000', 'panic=-1', 'apparmor=0']);
  });
});
