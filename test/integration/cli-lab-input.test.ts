// `gauntlet lab` answers bad input before building or booting anything: one clear message, exit 2.
import { mkdtempSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { runCli } from '../helpers/cli.js';

describe('gauntlet lab: bad input', () => {
  // Made while the tests are declared: the expected messages name these paths.
  const dir = mkdtempSync(join(tmpdir(), 'gauntlet-lab-input-'));
  const state = join(dir, 'vms');

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const rows: Array<{ args: string[]; message: string }> = [
    { args: ['lab', 'up', '--kernel', 'latest', '--state', state], message: 'gauntlet: lab: --kernel: expected a Debian kernel release such as 6.1.0-56-amd64 or 6.12.117+deb12-amd64, got "latest"' },
    { args: ['lab', 'up', '--fs', 'zfs', '--state', state], message: 'gauntlet: lab: --fs: expected one of ext4, xfs, btrfs, got "zfs"' },
    { args: ['lab', 'up', '--mem', 'lots', '--state', state], message: 'gauntlet: lab: --mem: expected MiB as an integer 384-8192, got "lots"' },
    { args: ['lab', 'up', '--fs', 'ext4', '--driver', 'btrfs', '--state', state], message: 'gauntlet: lab: --fs ext4 --driver btrfs: expected fs btrfs for driver btrfs, got fs ext4' },
    { args: ['lab', 'up', '--engine', 'rkt', '--state', state], message: 'gauntlet: lab: --engine: expected one of docker, podman, got "rkt"' },
    { args: ['lab', 'up', '--count', '0', '--state', state], message: 'gauntlet: lab: --count: expected a VM count as an integer 1-16, got 0' },
    { args: ['lab', 'up', '--netconsole', '80', '--state', state], message: 'gauntlet: lab: --netconsole: expected a UDP port as an integer 1024-65535, got 80' },
    { args: ['lab', 'up', '--accel', 'fast', '--state', state], message: 'gauntlet: lab: --accel: expected one of auto, kvm, tcg, got "fast"' },
    { args: ['lab', 'up', '-f', join(dir, 'missing.yaml'), '--state', state], message: `gauntlet: lab: ${join(dir, 'missing.yaml')}: expected a readable lab file, got ENOENT: no such file` },
    { args: ['lab', 'up', '-f', join(dir, 'lab.yaml'), '--kernel', '6.1.0-56-amd64', '--state', state], message: `gauntlet: lab: expected either a lab file or VM options, got ${join(dir, 'lab.yaml')} and --kernel` },
    { args: ['lab', 'power-cycle', 'nope', '--state', state], message: `gauntlet: lab: no VM named "nope"; no lab VMs under ${state}` },
    { args: ['lab', 'down', 'nope', '--state', state], message: `gauntlet: lab: no VM named "nope"; no lab VMs under ${state}` },
  ];
  for (const row of rows) {
    it(row.args.slice(1).join(' ').replaceAll(`${dir}/`, ''), async () => {
      const result = await runCli(row.args);
      expect(result.exitCode, result.stderr).to.equal(2);
      expect(result.stderr.trim()).to.equal(row.message);
      expect(result.stdout).to.equal('');
    });
  }

  it('lists every problem of a lab file with its line and column', async () => {
    const file = join(dir, 'bad-lab.yaml');
    await writeFile(file, 'lab:\n  vms:\n    - name: one\n      fs: zfs\n    - kernel: latest\n');
    const result = await runCli(['lab', 'up', '-f', file, '--state', state]);
    expect(result.exitCode).to.equal(2);
    expect(result.stderr.trim().split('\n')).to.deep.equal([
      `gauntlet: lab: ${file}: 2 problems`,
      `  ${file}:4:11 lab.vms[0].fs: expected one of ext4, xfs, btrfs, got "zfs"`,
      `  ${file}:5:15 lab.vms[1].kernel: expected a Debian kernel release such as 6.1.0-56-amd64 or 6.12.117+deb12-amd64, got "latest"`,
    ]);
    expect(result.stdout).to.equal('');
  });
});
