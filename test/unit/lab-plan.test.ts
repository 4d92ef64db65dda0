// What `lab up` boots: matrices expanded and named, lab files read with every problem's line and column.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { expandVmMatrices, parseLabFile, type VmMatrix } from '../../src/lab/index.js';
import { GauntletError } from '../../src/model/index.js';

const K61 = '6.1.0-56-amd64';
const K612 = '6.12.117+deb12-amd64';
const BASE: VmMatrix = { kernels: [K61], fs: ['ext4'], engines: ['docker'], memMiB: 768, count: 1 };

function usageError(fn: () => unknown): GauntletError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(GauntletError);
    expect((err as GauntletError).code).to.equal('USAGE');
    return err as GauntletError;
  }
  return expect.fail('expected a USAGE error');
}

describe('lab VM matrix', () => {
  it('names VMs after their kernels, uniquely, and a single named VM by its name', () => {
    expect(expandVmMatrices([{ ...BASE, kernels: [K61, K612] }]).map((vm) => vm.name)).to.deep.equal(['lab-6.1.0-56', 'lab-6.12.117']);
    expect(expandVmMatrices([{ ...BASE, name: 'ci', kernels: [K61, K61] }]).map((vm) => vm.name)).to.deep.equal(['ci-6.1.0-56', 'ci-6.1.0-56-2']);
    expect(expandVmMatrices([{ ...BASE, name: 'solo' }]).map((vm) => vm.name)).to.deep.equal(['solo']);
  });

  it('boots the default kernels when none is named', () => {
    expect(expandVmMatrices([{ ...BASE, kernels: [] }]).map((vm) => vm.kernel)).to.deep.equal([K61, K612]);
  });

  it('expands every combination, count times, naming what varies', () => {
    const vms = expandVmMatrices([{ ...BASE, name: 'm', kernels: [K61, K612], fs: ['ext4', 'btrfs'], count: 2 }]);
    expect(vms.map((vm) => `${vm.name} ${vm.kernel} ${vm.driver}/${vm.fs}`)).to.deep.equal([
      `m-6.1.0-56-ext4-1 ${K61} overlay2/ext4`,
      `m-6.1.0-56-ext4-2 ${K61} overlay2/ext4`,
      `m-6.1.0-56-btrfs-1 ${K61} btrfs/btrfs`,
      `m-6.1.0-56-btrfs-2 ${K61} btrfs/btrfs`,
      `m-6.12.117-ext4-1 ${K612} overlay2/ext4`,
      `m-6.12.117-ext4-2 ${K612} overlay2/ext4`,
      `m-6.12.117-btrfs-1 ${K612} btrfs/btrfs`,
      `m-6.12.117-btrfs-2 ${K612} btrfs/btrfs`,
    ]);
  });

  it('gives each VM its own netconsole port from the base', () => {
    const vms = expandVmMatrices([{ ...BASE, kernels: [K61, K612] }], 6666);
    expect(vms.map((vm) => vm.netconsolePort)).to.deep.equal([6666, 6667]);
  });

  it('refuses a driver on a filesystem it cannot run on, and too many VMs', () => {
    expect(usageError(() => expandVmMatrices([{ ...BASE, drivers: ['btrfs'] }])).message).to.equal('lab: --fs ext4 --driver btrfs: expected fs btrfs for driver btrfs, got fs ext4');
    expect(usageError(() => expandVmMatrices([{ ...BASE, fs: ['btrfs'], drivers: ['overlay2'] }])).message).to.equal(
      'lab: --fs btrfs --driver overlay2: expected driver btrfs or vfs on fs btrfs (overlay2 does not run on btrfs), got driver overlay2',
    );
    expect(usageError(() => expandVmMatrices([{ ...BASE, count: 9, kernels: [K61, K612] }])).message).to.equal('lab: expected at most 16 VMs, got 18');
  });
});

describe('lab file', () => {
  it('reads the shipped example', async () => {
    const path = fileURLToPath(new URL('../../examples/lab/matrix.yaml', import.meta.url));
    const lab = parseLabFile(await readFile(path, 'utf8'), 'examples/lab/matrix.yaml');
    expect(lab.vms.length).to.be.greaterThan(1);
    expect(new Set(lab.vms.map((vm) => vm.kernel))).to.have.property('size', 2);
  });

  it('reads a section that is itself one matrix, with lab-wide settings', () => {
    const lab = parseLabFile(`lab:\n  kernel: [${K61}, ${K612}]\n  fs: xfs\n  engine: podman\n  mem: 1024\n  accel: tcg\n  netconsole: 7000\nother: ignored\n`, 'lab.yaml');
    expect(lab.accel).to.equal('tcg');
    expect(lab.vms).to.deep.equal([
      { name: 'lab-6.1.0-56', kernel: K61, fs: 'xfs', driver: 'overlay2', engine: 'podman', memMiB: 1024, netconsolePort: 7000 },
      { name: 'lab-6.12.117', kernel: K612, fs: 'xfs', driver: 'overlay2', engine: 'podman', memMiB: 1024, netconsolePort: 7001 },
    ]);
  });

  it('applies section defaults to each entry of vms, entries overriding them', () => {
    const lab = parseLabFile(`lab:\n  mem: 512\n  vms:\n    - name: old\n      kernel: ${K61}\n    - name: new\n      kernel: ${K612}\n      fs: btrfs\n      mem: 1024\n`, 'lab.yaml');
    expect(lab.vms.map((vm) => [vm.name, vm.kernel, vm.fs, vm.driver, vm.memMiB])).to.deep.equal([
      ['old', K61, 'ext4', 'overlay2', 512],
      ['new', K612, 'btrfs', 'btrfs', 1024],
    ]);
  });

  const rows: Array<{ what: string; text: string; lines: string[] }> = [
    { what: 'no lab section', text: 'all: {}\n', lines: ['lab.yaml:1:1 lab: expected a lab: section describing the VMs, got no lab: key'] },
    { what: 'a section that is a list', text: 'lab:\n  - a\n', lines: ['lab.yaml:2:3 lab: expected a mapping (kernel, fs, driver, engine, mem, count, or vms: [...]), got a list'] },
    { what: 'an unknown filesystem', text: 'lab:\n  fs: zfs\n', lines: ['lab.yaml:2:7 lab.fs: expected one of ext4, xfs, btrfs, got "zfs"'] },
    {
      what: 'a bad kernel inside a list',
      text: `lab:\n  kernel: [${K61}, latest]\n`,
      lines: ['lab.yaml:2:28 lab.kernel[1]: expected a Debian kernel release such as 6.1.0-56-amd64 or 6.12.117+deb12-amd64, got "latest"'],
    },
    { what: 'a misspelt key, with a hint', text: 'lab:\n  kernal: x\n', lines: ['lab.yaml:2:3 lab.kernal: expected one of the keys name, kernel, fs, driver, engine, mem, count, vms, accel, netconsole, got "kernal"; hint: did you mean kernel?'] },
    {
      what: 'problems in two entries, all listed',
      text: 'lab:\n  vms:\n    - name: Bad_Name\n    - fs: ext4\n      driver: btrfs\n      mem: 64\n',
      lines: [
        'lab.yaml:3:13 lab.vms[0].name: expected a name of lower-case letters, digits, \'.\' and \'-\' starting with a letter, got "Bad_Name"',
        'lab.yaml:5:15 lab.vms[1].driver: expected fs btrfs for driver btrfs, got fs ext4',
        'lab.yaml:6:12 lab.vms[1].mem: expected MiB as an integer 384-8192, got 64',
      ],
    },
    { what: 'an empty vms list', text: 'lab:\n  vms: []\n', lines: ['lab.yaml:2:8 lab.vms: expected a non-empty list of VM entries, got a list'] },
    { what: 'a bad accelerator', text: 'lab:\n  accel: fast\n', lines: ['lab.yaml:2:10 lab.accel: expected one of auto, kvm, tcg, got "fast"'] },
    { what: 'broken YAML', text: 'lab:\n  fs: [ext4\n', lines: ['lab.yaml:3:1 (yaml): expected valid YAML, got flow sequence in block collection must be sufficiently indented and end with a ]'] },
  ];
  for (const row of rows) {
    it(`lists ${row.what} as file:line:col problems`, () => {
      const err = usageError(() => parseLabFile(row.text, 'lab.yaml'));
      expect(err.details).to.deep.equal(row.lines);
      expect(err.message).to.equal(`lab: lab.yaml: ${row.lines.length} problem${row.lines.length === 1 ? '' : 's'}`);
    });
  }
});
