// The watch's text parsers: /dev/kmsg records, journalctl and dmesg lines, positions, and the shell scripts' syntax.
//
// Records marked "captured" were read from /dev/kmsg on a 6.18 kernel; the dictionary and caller forms are the
// examples of the kernel's Documentation/ABI/testing/dev-kmsg.

import { expect } from 'chai';
import { execa } from 'execa';
import { buildNetconsoleRemoveScript, buildNetconsoleSetupScript, KERNEL_LOG_SCRIPT } from '../../src/watch/index.js';
import { convertJournalLine, formatKernelTime, KernelLogReader, parseKmsgRecord, readDmesgTime } from '../../src/watch/kernel-log.js';
import { RestartBudget } from '../../src/watch/restart-budget.js';

describe('watch: kernel log parsing', () => {
  describe('parseKmsgRecord', () => {
    const rows: Array<{ what: string; line: string; level: number; seq: number; text: string }> = [
      {
        what: 'a plain record (captured)',
        line: '6,17678,5996406576,-;gt-run-v1: entered promiscuous mode',
        level: 6,
        seq: 17678,
        text: '[ 5996.406576] gt-run-v1: entered promiscuous mode\n',
      },
      {
        what: 'escaped tab, backslash and UTF-8 bytes, facility user (captured)',
        line: '12,20044,10292352093,-;line two\\x09tabbed \\x5c backslash \\xc3\\xa9',
        level: 4,
        seq: 20044,
        text: '[10292.352093] line two\ttabbed \\ backslash é\n',
      },
      {
        what: 'an early boot record',
        line: '7,160,424069,-;pci_root PNP0A03:00: host bridge window [io  0x0000-0x0cf7] (ignored)',
        level: 7,
        seq: 160,
        text: '[    0.424069] pci_root PNP0A03:00: host bridge window [io  0x0000-0x0cf7] (ignored)\n',
      },
      { what: 'a caller field after the flags', line: '6,1234,5678901,-,caller=T1;hello', level: 6, seq: 1234, text: '[    5.678901] hello\n' },
      {
        what: 'a multi-line message: one console line per line',
        line: '4,99,1000000,-;first line\\x0asecond line',
        level: 4,
        seq: 99,
        text: '[    1.000000] first line\n[    1.000000] second line\n',
      },
      { what: 'a semicolon inside the message', line: '6,5,1,-;a;b', level: 6, seq: 5, text: '[    0.000001] a;b\n' },
    ];
    for (const row of rows) {
      it(row.what, () => {
        expect(parseKmsgRecord(row.line)).to.deep.include({ level: row.level, seq: row.seq, text: row.text });
      });
    }

    it('drops dictionary lines and anything that is not a record', () => {
      expect(parseKmsgRecord(' SUBSYSTEM=acpi')).to.equal(null);
      expect(parseKmsgRecord(' DEVICE=+acpi:PNP0A03:00')).to.equal(null);
      expect(parseKmsgRecord('cat: /dev/kmsg: Broken pipe')).to.equal(null);
      expect(parseKmsgRecord('')).to.equal(null);
    });
  });

  it('formats times as the console does', () => {
    expect(formatKernelTime(0)).to.equal('[    0.000000] ');
    expect(formatKernelTime(123_456_000_001)).to.equal('[123456.000001] ');
  });

  describe('KernelLogReader', () => {
    it('starts after the last record the script found, drops dictionaries, and reports overwritten records', () => {
      const gaps: number[][] = [];
      const reader = new KernelLogReader(undefined, (lost, from, to) => gaps.push([lost, from, to]));
      expect(reader.push('@gauntlet-kmsg-via /dev/kmsg 20045')).to.equal('');
      expect(reader.positioned).to.equal(true);
      const out = [
        '6,20044,10292352093,-;old, already there',
        '6,20045,10292352168,-;old too',
        '6,20046,10292352200,-;new one',
        ' SUBSYSTEM=net',
        ' DEVICE=n2',
        '6,20050,10292352300,-;after a gap',
      ].map((line) => reader.push(line));
      expect(out.join('')).to.equal('[10292.352200] new one\n[10292.352300] after a gap\n');
      expect(gaps).to.deep.equal([[3, 20047, 20049]]);
      expect(reader.position).to.deep.equal({ seq: 20050 });
    });

    it('resumes after a given position instead of the script\'s', () => {
      const reader = new KernelLogReader({ seq: 10 });
      reader.push('@gauntlet-kmsg-via /dev/kmsg 50');
      expect(reader.push('6,10,1,-;seen before')).to.equal('');
      expect(reader.push('6,11,2,-;said while away')).to.equal('[    0.000002] said while away\n');
    });

    it('collects why earlier ways were skipped, and knows when none works', () => {
      const reader = new KernelLogReader(undefined);
      reader.push('@gauntlet-kmsg-skip /dev/kmsg: Operation not permitted');
      reader.push('@gauntlet-kmsg-skip journalctl: not installed');
      expect(reader.positioned).to.equal(false);
      reader.push('@gauntlet-kmsg-none');
      expect(reader).to.deep.include({ none: true, skipped: ['/dev/kmsg: Operation not permitted', 'journalctl: not installed'] });
    });

    it('turns journalctl short-monotonic lines into console lines', () => {
      const reader = new KernelLogReader(undefined);
      reader.push('@gauntlet-kmsg-via journalctl');
      expect(reader.via).to.equal('journalctl');
      expect(reader.push('[ 5996.406576] h0 kernel: br0: port 1(uplink) entered blocking state')).to.equal('[ 5996.406576] br0: port 1(uplink) entered blocking state\n');
      expect(convertJournalLine('-- No entries --')).to.equal(null);
      expect(convertJournalLine('[    0.000000] web1 kernel: Linux version 6.1.0')).to.equal('[    0.000000] Linux version 6.1.0\n');
    });

    it('drops dmesg lines up to the last timestamp, with their continuation lines', () => {
      const reader = new KernelLogReader(undefined);
      reader.push('@gauntlet-kmsg-via dmesg 5996.406700');
      const out = [
        '[ 5996.406576] old',
        '  continuation of old',
        '[ 5996.406700] last old',
        '[ 5996.406704] new',
        '  continuation of new',
      ].map((line) => reader.push(line));
      expect(out.join('')).to.equal('[ 5996.406704] new\n  continuation of new\n');
      expect(readDmesgTime('[ 5996.406704] new')).to.equal(5_996_406_704);
    });

    it('delivers everything from dmesg -W, which prints only new messages', () => {
      const reader = new KernelLogReader(undefined);
      reader.push('@gauntlet-kmsg-via dmesg new');
      expect(reader.push('[    1.000000] new')).to.equal('[    1.000000] new\n');
    });
  });

  describe('shell scripts', () => {
    async function checkSyntax(script: string): Promise<void> {
      const result = await execa('sh', ['-n', '-c', script], { reject: false });
      expect(result.stderr).to.equal('');
      expect(result.exitCode).to.equal(0);
    }

    it('the kernel log script is valid sh and never clears the log', async () => {
      await checkSyntax(KERNEL_LOG_SCRIPT);
      expect(KERNEL_LOG_SCRIPT).not.to.match(/dmesg -[a-zA-Z]*[cC]|--clear|--read-clear/);
    });

    it('the netconsole scripts are valid sh and quote the target directory', async () => {
      const setup = buildNetconsoleSetupScript({ dir: "/tmp/it's here/gauntlet-1", port: 6666, remoteIp: '10.0.0.1' });
      await checkSyntax(setup);
      expect(setup).to.include(`d='/tmp/it'\\''s here/gauntlet-1'`);
      expect(setup).to.include('remote=10.0.0.1\n');
      expect(setup).to.include('put remote_port 6666\n');
      await checkSyntax(buildNetconsoleSetupScript({ dir: '/sys/kernel/config/netconsole/gauntlet-ab12cd34', port: 514 }));
      await checkSyntax(buildNetconsoleRemoveScript('/sys/kernel/config/netconsole/gauntlet-ab12cd34'));
      expect(buildNetconsoleRemoveScript('/sys/kernel/config/netconsole/gauntlet-ab12cd34')).to.equal(
        '[ -d /sys/kernel/config/netconsole/gauntlet-ab12cd34 ] || exit 0; echo 0 > /sys/kernel/config/netconsole/gauntlet-ab12cd34/enabled 2>/dev/null; rmdir /sys/kernel/config/netconsole/gauntlet-ab12cd34',
      );
    });
  });

  it('RestartBudget allows a bounded number of restarts per window', () => {
    const budget = new RestartBudget(2, 1000);
    expect([budget.take(0), budget.take(10), budget.take(20)]).to.deep.equal([true, true, false]);
    expect(budget.take(1010)).to.equal(true);
    budget.reset();
    expect(budget.used).to.equal(0);
  });
});
