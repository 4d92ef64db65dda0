// Tests how the classifier reads a machine starting in a console log: a new boot under a running system is an
// unexpected reboot; a first boot, a boot after a panic or an orderly restart, a boot the runner caused, and the
// boots a journal or a pstore record begins with are not.

import { expect } from 'chai';
import { classifyLog, createStreamClassifier } from '../../src/classify/index.js';

const RUNNING = [
  '[  812.113402][ T5021] EXT4-fs (loop3): mounted filesystem 00000000-0000-0000-0000-000000000000 r/w without journal.',
  '[  812.402117][ T5031] overlayfs: upper fs does not support tmpfile.',
  'executing program',
];
const FIRMWARE = [
  'SeaBIOS (version 1.16.2-debian-1.16.2-1)',
  'iPXE (https://ipxe.org) 00:03.0 CA00 PCI2.10 PnP PMM+BEFD0D00+BEF30D00 CA00',
  'Booting from Hard Disk...',
  'early console in extract_kernel',
  'input_data: 0x0000000004a1c2a8',
  'kernel_total_size: 0x0000000003e2c000',
  '',
  'Decompressing Linux... Parsing ELF... done.',
  'Booting the kernel (entry_offset: 0x0000000000000000).',
];
const NEW_KERNEL = [
  '[    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.148-1 (2025-08-26)',
  '[    0.000000] Command line: console=ttyS0,115200 panic=-1',
  '[    0.000000] BIOS-provided physical RAM map:',
];
const PANIC = [
  '[  813.001001] sysrq: Trigger a crash',
  '[  813.001746] Kernel panic - not syncing: sysrq triggered crash',
  '[  813.001980] CPU: 0 PID: 5040 Comm: bash Not tainted 6.1.0-56-amd64 #1  Debian 6.1.148-1',
  '[  813.002200] Call Trace:',
  '[  813.002300]  <TASK>',
  '[  813.002400]  dump_stack_lvl+0x44/0x5c',
  '[  813.002500]  panic+0x118/0x2ed',
  '[  813.002600]  sysrq_handle_crash+0x16/0x20',
  '[  813.002700]  __handle_sysrq.cold+0x44/0x11c',
  '[  813.002800]  write_sysrq_trigger+0x24/0x40',
  '[  813.002900]  </TASK>',
  '[  813.003100] Kernel Offset: 0x11800000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)',
  '[  813.003200] ---[ end Kernel panic - not syncing: sysrq triggered crash ]---',
];
const log = (...parts: string[][]): string => `${parts.flat().join('\n')}\n`;
const classes = (text: string): string[] => classifyLog(text).events.map((event) => event.class);

describe('classify: a machine starting', () => {
  it('calls a new boot under a running system an unexpected reboot: fatal, a crash, at the decompressor', () => {
    const result = classifyLog(log(RUNNING, FIRMWARE, NEW_KERNEL));
    expect(result.crashed).to.equal(true);
    expect(result.primary).to.include({ class: 'UNEXPECTED_REBOOT', title: 'unexpected kernel reboot', fatal: true, rule: 'unexpected-reboot' });
    expect(result.primary!.startLine).to.equal(RUNNING.length + FIRMWARE.length);
    expect(result.events).to.have.length(1);
  });

  it("finds it at the kernel's first line when the console shows no decompressor, after the old kernel's lines", () => {
    const result = classifyLog(log(RUNNING, NEW_KERNEL));
    expect(result.primary).to.include({ class: 'UNEXPECTED_REBOOT', rule: 'unexpected-reboot-banner', startLine: RUNNING.length + 1 });
  });

  it('finds it after a running system that printed only user-space lines', () => {
    expect(classes(log(['executing program', 'mmap(&(0x7f0000000000/0x1000)=nil, 0x1000, 0x3, 0x32, 0xffffffffffffffff, 0x0)'], FIRMWARE, NEW_KERNEL))).to.deep.equal([
      'UNEXPECTED_REBOOT',
    ]);
  });

  it('finds nothing in a log that starts with the machine starting (firmware, decompressor or the kernel)', () => {
    expect(classifyLog(log(FIRMWARE, NEW_KERNEL, RUNNING)).crashed).to.equal(false);
    expect(classifyLog(log(NEW_KERNEL, RUNNING)).crashed).to.equal(false);
  });

  it("takes a boot after a panic as the panic's consequence, and one after an orderly restart as expected", () => {
    const afterPanic = classifyLog(log(RUNNING, PANIC, FIRMWARE, NEW_KERNEL));
    expect(afterPanic.events.map((event) => event.class)).to.deep.equal(['PANIC']);
    expect(afterPanic.primary!.title).to.equal('kernel panic: sysrq triggered crash');
    const orderly = classifyLog(log(RUNNING, ['[  900.100000] reboot: Restarting system'], FIRMWARE, NEW_KERNEL));
    expect(orderly.crashed).to.equal(false);
    expect(orderly.events.map((event) => event.class)).to.deep.equal(['REBOOT']);
  });

  it('counts every unexpected restart once, and none for the boot that follows an expected one', () => {
    const text = log(RUNNING, FIRMWARE, NEW_KERNEL, RUNNING, NEW_KERNEL, RUNNING, ['[  900.100000] reboot: Power down'], FIRMWARE, NEW_KERNEL, RUNNING);
    expect(classes(text)).to.deep.equal(['UNEXPECTED_REBOOT', 'UNEXPECTED_REBOOT', 'REBOOT']);
  });

  it('ends a report the reset cut off; a fatal one explains the restart, a warning does not', () => {
    const lockup = ['[  812.500000] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [kworker/1:2:140]', '[  812.500100] Modules linked in: gauntlet_softlockup(OE)'];
    const afterLockup = classifyLog(log(RUNNING, lockup, FIRMWARE, NEW_KERNEL));
    expect(afterLockup.events.map((event) => event.class)).to.deep.equal(['SOFT_LOCKUP']);
    expect(afterLockup.events[0]!.endLine).to.equal(RUNNING.length + lockup.length);
    const warning = [
      '[  812.500000] ------------[ cut here ]------------',
      '[  812.500050] WARNING: CPU: 1 PID: 5031 at fs/overlayfs/util.c:1100 ovl_copy_up_start+0x1a0/0x1c0 [overlay]',
      '[  812.500100] Modules linked in: overlay',
    ];
    const afterWarning = classifyLog(log(RUNNING, warning, FIRMWARE, NEW_KERNEL));
    expect(afterWarning.events.map((event) => event.class)).to.deep.equal(['WARNING', 'UNEXPECTED_REBOOT']);
    expect(afterWarning.events[0]!.endLine).to.equal(RUNNING.length + warning.length);
    expect(afterWarning.primary!.class).to.equal('WARNING');
  });

  it("reads no restart into the boot a pstore record or a journal starts with, nor into a journal's boot boundaries", () => {
    const pstore = ['Panic#1 Part1', ...NEW_KERNEL.map((line) => `<6>${line}`), '<6>[   14.333690] Initializing XFRM netlink socket'];
    expect(classifyLog(log(pstore)).crashed).to.equal(false);
    const journal = (host: string) => NEW_KERNEL.map((line) => line.replace('] ', `] ${host} kernel: `));
    const boots = log(journal('h1'), ['[   40.000000] h1 kernel: loop0: detected capacity change from 0 to 8', '-- Boot 0f1e2d3c4b5a69788796a5b4c3d2e1f0 --'], journal('h1'));
    expect(classifyLog(boots).crashed).to.equal(false);
    const syslog = log(['Nov 22 08:00:00 h1 kernel: [  812.11] loop0: detected capacity change'], ['Nov 22 08:05:00 h1 kernel: [    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12)']);
    expect(classifyLog(syslog).crashed).to.equal(false);
  });

  it('does not take the words inside another message for a boot', () => {
    const echoed = "[ 1164.176368][T16664] fuse: Unknown parameter '        Booting the kernel.        '";
    expect(classifyLog(log(RUNNING, [echoed], RUNNING)).crashed).to.equal(false);
  });

  it('in a stream, takes no restart for unexpected once it was announced (a power cycle)', () => {
    const text = log(RUNNING, FIRMWARE, NEW_KERNEL);
    const told = createStreamClassifier({ quietMs: 1000 });
    told.push(log(RUNNING), 0);
    told.expectRestart();
    const announced = [...told.push(log(FIRMWARE, NEW_KERNEL), 10), ...told.flush(20)];
    expect(announced).to.deep.equal([]);
    const untold = createStreamClassifier({ quietMs: 1000 });
    const events = [...untold.push(text, 0), ...untold.flush(20)];
    expect(events.map((event) => event.class)).to.deep.equal(['UNEXPECTED_REBOOT']);
  });
});
