// What the kernel left behind after a crash: the command that prints it runs in a real shell on crafted files,
// and its output splits into files, old ones (present before the run) left out.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { buildPostMortemCommand, classifyPostMortem, parsePostMortem, parsePostMortemSince, POST_MORTEM_BASELINE_COMMAND } from '../../src/runner/fault-watch.js';

/** Runs a post-mortem command with its absolute paths moved under `root`. */
function runUnder(root: string, command: string): string {
  const moved = command.replaceAll('/sys/fs/pstore', `${root}/sys/fs/pstore`).replaceAll('/var/lib/systemd/pstore', `${root}/var/lib/systemd/pstore`).replaceAll('/var/crash', `${root}/var/crash`);
  const result = spawnSync('sh', ['-c', moved], { encoding: 'utf8' });
  expect(result.status, result.stderr).to.equal(0);
  return result.stdout.replaceAll(root, '');
}

describe('post-mortem collection', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'gauntlet-post-mortem-'));
    mkdirSync(join(root, 'sys/fs/pstore'), { recursive: true });
    mkdirSync(join(root, 'var/crash/202611221000'), { recursive: true });
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('prints each crash file with its path, and leaves out the ones listed before the run', () => {
    const old = join(root, 'sys/fs/pstore/dmesg-ramoops-1');
    writeFileSync(old, 'Kernel panic - not syncing: an old crash\n');
    utimesSync(old, 1_700_000_000, 1_700_000_000);
    const baseline = new Set(runUnder(root, POST_MORTEM_BASELINE_COMMAND).split('\n').filter(Boolean));
    expect([...baseline]).to.deep.equal(['/sys/fs/pstore/dmesg-ramoops-1 1700000000']);

    writeFileSync(join(root, 'sys/fs/pstore/dmesg-ramoops-0'), 'Panic#1 Part1\n<0>[   89.01] Kernel panic - not syncing: sysrq triggered crash\n');
    writeFileSync(join(root, 'var/crash/202611221000/vmcore-dmesg.txt'), '[  12.5] BUG: kernel NULL pointer dereference, address: 0000000000000008\n');
    const files = parsePostMortem(runUnder(root, buildPostMortemCommand(undefined)), baseline);
    expect(files.map((file) => file.path)).to.deep.equal(['/sys/fs/pstore/dmesg-ramoops-0', '/var/crash/202611221000/vmcore-dmesg.txt']);
    expect(files[0]!.text).to.include('sysrq triggered crash');
    expect(files[1]!.text).to.include('NULL pointer dereference');
  });

  it('for a host back too late for its run, keeps what is newer than the run\'s start and blames the most severe report', () => {
    const old = join(root, 'sys/fs/pstore/dmesg-ramoops-1');
    writeFileSync(old, 'Kernel panic - not syncing: an old crash\n');
    utimesSync(old, 1_700_000_000, 1_700_000_000);
    writeFileSync(join(root, 'sys/fs/pstore/dmesg-ramoops-0'), 'Panic#1 Part1\n<6>[   88.90] sysrq: Trigger a crash\n<0>[   89.01] Kernel panic - not syncing: sysrq triggered crash\n');
    const since = 1_700_000_100 * 1000;
    const files = parsePostMortemSince(runUnder(root, buildPostMortemCommand(undefined)), since);
    expect(files.map((file) => file.path)).to.deep.equal(['/sys/fs/pstore/dmesg-ramoops-0']);
    const test = { suite: 'faults', title: 'faults > panic', attempt: 1 };
    expect(classifyPostMortem(files, test, 'b00t').map((event) => [event.source, event.via, event.class, event.title, event.test, event.bootId])).to.deep.equal([
      ['post-mortem', '/sys/fs/pstore/dmesg-ramoops-0', 'PANIC', 'kernel panic: sysrq triggered crash', test, 'b00t'],
    ]);
    // The crashed boot's journal is that boot's by its id: kept whatever its (absent) time.
    expect(parsePostMortemSince('=== journalctl -k -b b00t 0\n[ 1.0] Kernel panic - not syncing: x\n', since).map((file) => file.path)).to.deep.equal(['journalctl -k -b b00t']);
  });

  it('asks the journal for the crashed boot only when the host rebooted', () => {
    expect(buildPostMortemCommand(undefined)).to.not.include('journalctl');
    expect(buildPostMortemCommand('eef811d7-5e2e-4875-947a-e36326ac6d31')).to.include('journalctl -k -b eef811d75e2e4875947ae36326ac6d31');
  });
});
