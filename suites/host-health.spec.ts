// Quick, read-only checks that a host is fit to be tested: an untainted kernel, PID and memory headroom.
//
// Parameters:
//   pidHeadroomPct  (default 20)  at least this share of pid_max must be free
//   memAvailablePct (default 10)  at least this share of memory must be available

import { expect } from 'chai';
import { host, meta, numberParam, params } from 'gauntlet/suite';

meta({
  description: 'The kernel has not oopsed, warned or locked up since boot, and there are PIDs and memory to spare.',
  timeoutMs: 30_000,
  params: {
    pidHeadroomPct: { default: 20, description: 'share of pid_max that must be free, in percent' },
    memAvailablePct: { default: 10, description: 'share of memory that must be available, in percent' },
  },
});

/** Taint flags (Documentation/admin-guide/tainted-kernels.rst) that mean the running kernel is already damaged. */
const DAMAGE_FLAGS: Array<[bit: number, letter: string, meaning: string]> = [
  [4, 'M', 'a machine check exception happened'],
  [5, 'B', 'a bad page was referenced'],
  [7, 'D', 'the kernel died (an oops or BUG)'],
  [9, 'W', 'the kernel issued a warning'],
  [14, 'L', 'a soft lockup occurred'],
];


describe('host health', () => {
  it('runs a kernel that has not oopsed, warned or locked up since boot', async () => {
    const tainted = Number((await host.checkOutput('cat /proc/sys/kernel/tainted')).trim());
    host.metric('kernel_tainted', tainted);
    const damage = DAMAGE_FLAGS.filter(([bit]) => (tainted & (1 << bit)) !== 0).map(([, letter, meaning]) => `${letter}: ${meaning}`);
    expect(damage, `kernel taint ${tainted}`).to.deep.equal([]);
  });

  it('has PIDs to spare', async () => {
    const [pidMax, tasks] = (await host.checkOutput('cat /proc/sys/kernel/pid_max; ls /proc | grep -c "^[0-9]"')).trim().split('\n').map(Number);
    const freePct = (100 * (pidMax! - tasks!)) / pidMax!;
    host.metric('pid_free_pct', Math.round(freePct * 10) / 10, '%');
    expect(freePct, `${tasks} processes of pid_max ${pidMax}`).to.be.at.least(numberParam(params, 'pidHeadroomPct', 20));
  });

  it('has memory available', async () => {
    const meminfo = await host.checkOutput('grep -E "^(MemTotal|MemAvailable):" /proc/meminfo');
    const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(meminfo)?.[1]);
    const availablePct = (100 * kb('MemAvailable')) / kb('MemTotal');
    host.metric('mem_available_pct', Math.round(availablePct * 10) / 10, '%');
    expect(availablePct).to.be.at.least(numberParam(params, 'memAvailablePct', 10));
  });
});
