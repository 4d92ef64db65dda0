// Tests the reproduction's pure parts: the failure signature, its recurrence and slug, the test lookup, the bundle's
// files and their redaction, and the archive holding exactly those files.

import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { extract, list } from 'tar';
import { GauntletError, type JournalEvent, type KernelEventRecord, type TestRecord } from '../../src/model/index.js';
import {
  buildRunRecord,
  cutConsoleWindow,
  findLeaks,
  findSignature,
  findTestSeed,
  matchSignature,
  redactBundle,
  renderBundleFiles,
  renderTranscript,
  selectBundleJournal,
  slugOfSignature,
  type ReproBundleInput,
} from '../../src/report/index.js';
import { findTest } from '../../src/runner/repro.js';
import { writeBundleArchive } from '../../src/runner/repro-archive.js';

/** A sysrq panic as the lab's serial console shows it. */
const PANIC_EXCERPT = [
  '[   41.822103] sysrq: Trigger a crash',
  '[   41.822422] Kernel panic - not syncing: sysrq triggered crash',
  '[   41.822770] CPU: 0 PID: 1234 Comm: sh Not tainted 6.1.0-56-amd64 #1  Debian 6.1.153-1',
  '[   41.823390] Call Trace:',
  '[   41.823540]  <TASK>',
  '[   41.823670]  dump_stack_lvl+0x44/0x5c',
  '[   41.823890]  panic+0x118/0x2ed',
  '[   41.824080]  sysrq_handle_crash+0x16/0x20',
].join('\n');

function kernelEvent(fields: Partial<KernelEventRecord> = {}): KernelEventRecord {
  return {
    type: 'kernel-event',
    ts: '2026-03-02T10:00:05.000Z',
    host: 'vm1',
    source: 'console',
    via: 'file:/lab/vm1/serial.log',
    class: 'PANIC',
    title: 'kernel panic: sysrq triggered crash',
    alt: [],
    fatal: true,
    corrupted: false,
    excerpt: PANIC_EXCERPT,
    detectedAt: '2026-03-02T10:00:04.900Z',
    test: { suite: 'faults', title: 'faults > panic', attempt: 1 },
    ...fields,
  };
}

function testRecord(fields: Partial<TestRecord> = {}): TestRecord {
  return { title: 'faults > panic', outcome: 'error', errorType: 'PANIC', message: 'kernel panic: sysrq triggered crash', output: '', durationMs: 9000, attempts: 1, flaky: false, ...fields };
}

/** A fake key in the PEM shape, generated for this test only. */
const FAKE_KEY = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  'QyNTUxOQAAACBmYWtlLWtleS1mb3ItZ2F1bnRsZXQtdGVzdHMtb25seS0xMjM0NTY3AAAA',
  '-----END OPENSSH PRIVATE KEY-----',
].join('\n');

describe('repro: the failure signature', () => {
  it('is the fatal kernel event of the test\'s class, with the alternative titles of its events', () => {
    const record = testRecord({
      kernelEvents: [
        kernelEvent({ class: 'OOM', title: 'oom kill in dd', fatal: false }),
        kernelEvent({ alt: ['panic in sysrq_handle_crash'] }),
        kernelEvent({ source: 'post-mortem', via: '/sys/fs/pstore/dmesg-ramoops-0', alt: ['sysrq crash'] }),
      ],
    });
    expect(findSignature(record)).to.deep.equal({ class: 'PANIC', title: 'kernel panic: sysrq triggered crash', alt: ['panic in sysrq_handle_crash', 'sysrq crash'], source: 'kernel-event' });
  });

  it('is the error type and the message with numbers blanked for a failure without a kernel fault', () => {
    const record = testRecord({ outcome: 'failed', errorType: 'ASSERTION', message: 'expected 137 to equal 0 after 12.5 s at 0xffff8881', kernelEvents: [] });
    expect(findSignature(record)).to.deep.equal({ class: 'ASSERTION', title: 'expected NUM to equal NUM after NUM s at ADDR', alt: [], source: 'test-error' });
  });

  it('is absent for a test that passed or was skipped', () => {
    expect(findSignature(testRecord({ outcome: 'passed', errorType: undefined, message: undefined }))).to.equal(null);
    expect(findSignature(testRecord({ outcome: 'skipped', errorType: undefined }))).to.equal(null);
  });

  it('recurs on the same class and title, or where an alternative title names the same bug', () => {
    const signature = { class: 'PANIC', title: 'kernel panic: sysrq triggered crash', alt: ['panic in sysrq_handle_crash'], source: 'kernel-event' as const };
    const same = kernelEvent({ source: 'post-mortem' });
    expect(matchSignature(signature, testRecord({ kernelEvents: [same] }))).to.equal(same);
    const byAlt = kernelEvent({ title: 'kernel panic: something else', alt: ['kernel panic: sysrq triggered crash'] });
    expect(matchSignature(signature, testRecord({ kernelEvents: [byAlt] }))).to.equal(byAlt);
    const bySignatureAlt = kernelEvent({ title: 'panic in sysrq_handle_crash' });
    expect(matchSignature(signature, testRecord({ kernelEvents: [bySignatureAlt] }))).to.equal(bySignatureAlt);
  });

  it('does not recur on another class, another title, or no kernel event', () => {
    const signature = { class: 'PANIC', title: 'kernel panic: sysrq triggered crash', alt: [], source: 'kernel-event' as const };
    expect(matchSignature(signature, testRecord({ kernelEvents: [kernelEvent({ class: 'OOPS' })] }))).to.equal(null);
    expect(matchSignature(signature, testRecord({ kernelEvents: [kernelEvent({ title: 'kernel panic: Attempted to kill init!' })] }))).to.equal(null);
    expect(matchSignature(signature, testRecord({ outcome: 'error', errorType: 'LOST_CONNECTION', kernelEvents: [] }))).to.equal(null);
  });

  it('recurs for a test error when the type and the normalised message are the same', () => {
    const signature = { class: 'ASSERTION', title: 'expected NUM to equal NUM', alt: [], source: 'test-error' as const };
    expect(matchSignature(signature, testRecord({ outcome: 'failed', errorType: 'ASSERTION', message: 'expected 1 to equal 0' }))).to.equal(true);
    expect(matchSignature(signature, testRecord({ outcome: 'failed', errorType: 'ASSERTION', message: 'expected true to equal false' }))).to.equal(null);
    expect(matchSignature(signature, testRecord({ outcome: 'error', errorType: 'TIMEOUT', message: 'expected 1 to equal 0' }))).to.equal(null);
    expect(matchSignature(signature, testRecord({ outcome: 'passed', errorType: 'ASSERTION', message: 'expected 1 to equal 0' }))).to.equal(null);
  });
});

describe('repro: the signature slug', () => {
  it('lower-cases the title and joins its words with -', () => {
    expect(slugOfSignature({ class: 'PANIC', title: 'Kernel panic - not syncing: sysrq triggered crash' })).to.equal('kernel-panic-not-syncing-sysrq-triggered-crash');
    expect(slugOfSignature({ class: 'OOPS', title: 'BUG: unable to handle kernel NULL pointer dereference in __list_del_entry_valid' })).to.equal('bug-unable-to-handle-kernel-null-pointer-dereference-in-list');
  });

  it('cuts a long title at a word, within 60 characters', () => {
    const slug = slugOfSignature({ class: 'WARNING', title: 'WARNING in ext4_da_update_reserve_space and then a very long tail of words that goes on' });
    expect(slug.length).to.be.at.most(60);
    expect(slug).to.equal('warning-in-ext4-da-update-reserve-space-and-then-a-very-long');
  });

  it('falls back to the class when the title has no letters or digits', () => {
    expect(slugOfSignature({ class: 'LOST_CONNECTION', title: '—' })).to.equal('lost-connection');
  });
});

/** A run in which faults > panic panicked on vm1 and passed on vm2; also faults > oom on vm1. */
function panicJournal(): JournalEvent[] {
  const at = (second: number) => `2026-03-02T10:00:${String(second).padStart(2, '0')}.000Z`;
  return [
    {
      type: 'run-start',
      ts: at(0),
      runId: 'run-1',
      gauntletVersion: '0.1.0',
      argv: ['run', '-i', '/home/ops/secret-place/hosts.yaml'],
      inventory: { file: '/home/ops/secret-place/hosts.yaml', digest: 'abc' },
      limit: null,
      hosts: [
        { name: 'vm1', id: 'ssh://root@10.1.2.3:22' },
        { name: 'vm2', id: 'ssh://root@10.1.2.4:22' },
      ],
      suites: [
        { name: 'faults', path: '/opt/gauntlet/suites/faults.spec.ts', digest: 'd1' },
        { name: 'other', path: '/opt/gauntlet/suites/other.spec.ts', digest: 'd2' },
      ],
      params: { scale: 'quick' },
      seed: 42,
      shard: null,
      retries: 0,
      runner: null,
      process: { pid: 99, hostname: 'runner.internal' },
    },
    { type: 'suite-plan', ts: at(1), host: 'vm1', suite: 'faults', tests: ['faults > oom', 'faults > panic'], meta: { destructive: true } },
    { type: 'suite-plan', ts: at(1), host: 'vm2', suite: 'faults', tests: ['faults > oom', 'faults > panic'], meta: { destructive: true } },
    { type: 'test-start', ts: at(2), host: 'vm1', suite: 'faults', title: 'faults > oom', attempt: 1 },
    { type: 'test-end', ts: at(3), host: 'vm1', suite: 'faults', title: 'faults > oom', outcome: 'passed', output: '', durationMs: 1000, attempt: 1, flaky: false },
    { type: 'test-start', ts: at(4), host: 'vm1', suite: 'faults', title: 'faults > panic', attempt: 1 },
    kernelEvent({ ts: at(5) }),
    {
      type: 'test-end',
      ts: at(6),
      host: 'vm1',
      suite: 'faults',
      title: 'faults > panic',
      outcome: 'passed',
      output: '',
      durationMs: 2000,
      attempt: 1,
      flaky: false,
      commands: [{ command: "nohup sh -c 'sleep 1; echo c > /proc/sysrq-trigger' </dev/null >/dev/null 2>&1 &", startMs: 120, durationMs: 35, exitCode: 0 }],
    },
    { type: 'test-start', ts: at(4), host: 'vm2', suite: 'faults', title: 'faults > panic', attempt: 1 },
    { type: 'test-end', ts: at(6), host: 'vm2', suite: 'faults', title: 'faults > panic', outcome: 'passed', output: '', durationMs: 2000, attempt: 1, flaky: false },
    { type: 'host-end', ts: at(7), host: 'vm1' },
    { type: 'host-end', ts: at(7), host: 'vm2' },
    { type: 'run-end', ts: at(8), exitCode: 1 },
  ];
}

describe('repro: finding the test in the run', () => {
  const record = buildRunRecord(panicJournal());

  it('takes "<suite> > <test>" and the title alone, as reports show them', () => {
    expect(findTest(record, 'faults > faults > panic', 'run-1')).to.deep.equal({ suite: 'faults', title: 'faults > panic' });
    expect(findTest(record, 'faults > panic', 'run-1')).to.deep.equal({ suite: 'faults', title: 'faults > panic' });
    expect(findTest(record, 'faults>panic', 'run-1')).to.deep.equal({ suite: 'faults', title: 'faults > panic' });
  });

  it('refuses a name the run does not have, listing what it has', () => {
    expect(() => findTest(record, 'faults > reboot', 'reports/run-1'))
      .to.throw(GauntletError, /--test "faults > reboot": expected a test of run run-1 in reports\/run-1 \("faults > oom", "faults > panic"\), got none of that name/)
      .with.property('code', 'USAGE');
  });
});

describe('repro: the bundle', () => {
  const journal = panicJournal();
  const input = (): ReproBundleInput => ({
    gauntletVersion: '0.1.0',
    signature: { class: 'PANIC', title: 'kernel panic: sysrq triggered crash', alt: [], source: 'kernel-event' },
    test: { suite: 'faults', title: 'faults > panic' },
    original: {
      runId: 'run-1',
      host: 'vm1',
      stackKey: 'debian-12/6.1.0-56-amd64/docker-20.10.24+dfsg1/overlay2/extfs/cgroup2',
      facts: null,
      error: { type: 'PANIC', message: 'kernel panic: sysrq triggered crash' },
      kernelEvents: [kernelEvent()],
      commands: [],
      commandsDropped: 0,
    },
    suite: { name: 'faults', fileName: 'faults.spec.ts', digest: 'd1', text: "it('panic', async () => {});\n" },
    params: { scale: 'quick' },
    seed: 42,
    host: { name: 'vm1', stackKey: 'debian-12/6.1.0-56-amd64/docker-20.10.24+dfsg1/overlay2/extfs/cgroup2', facts: null },
    hostInfo: { kernelConfig: { source: '/boot/config-6.1.0-56-amd64', text: 'CONFIG_PANIC_TIMEOUT=0\n' }, cmdline: 'console=ttyS0 root=/dev/vda', engine: { command: 'docker engine API', text: '{"Version": "20.10.24"}' } },
    attempts: [
      {
        number: 1,
        runId: 'run-2',
        host: 'vm1',
        reproduced: false,
        outcome: 'error',
        errorType: 'LOST_CONNECTION',
        message: 'connection lost',
        durationMs: 9000,
        kernelEvents: [],
        commands: [],
        commandsDropped: 0,
      },
      {
        number: 2,
        runId: 'run-3',
        host: 'vm1',
        reproduced: true,
        outcome: 'error',
        errorType: 'PANIC',
        message: 'kernel panic: sysrq triggered crash',
        startedAt: '2026-03-02T11:00:00.000Z',
        durationMs: 9000,
        kernelEvents: [kernelEvent()],
        commands: [
          { command: 'id -u', startMs: -40, durationMs: 12, exitCode: 0, hook: '"before all" hook for "panic"' },
          { command: "nohup sh -c 'sleep 1; echo c > /proc/sysrq-trigger' </dev/null >/dev/null 2>&1 &", startMs: 120, durationMs: 35, exitCode: 0 },
          { command: 'true', startMs: 3100, durationMs: 5000, exitCode: null, error: 'connection lost' },
        ],
        commandsDropped: 0,
        console: { via: 'file:/lab/vm1/serial.log, lines around the report', text: `[   40.000000] gauntlet-fault: begin class=PANIC\n${PANIC_EXCERPT}` },
      },
    ],
    attemptsAsked: 10,
    untilFirst: true,
    commandLine: "gauntlet repro reports/run-1 --test 'faults > panic' --until-first",
    vendorCommandLine: "gauntlet repro . --test 'faults > panic' -i hosts.yaml --attempts 10",
    journal: selectBundleJournal(journal, 'vm1', { suite: 'faults', title: 'faults > panic' }),
  });

  it('has the facts, kernel config and cmdline, engine info, occurrences, transcripts, suite and a README for the vendor', () => {
    const files = renderBundleFiles(input());
    expect([...files.keys()].sort()).to.deep.equal([
      'README.md',
      'attempts.json',
      'engine/info.txt',
      'facts/vm1.json',
      'journal.jsonl',
      'kernel/cmdline',
      'kernel/config',
      'occurrences/attempt-2.txt',
      'occurrences/original.txt',
      'signature.json',
      'suite/faults.spec.ts',
      'suite/params.json',
      'transcript/attempt-1.txt',
      'transcript/attempt-2.txt',
      'transcript/original.txt',
    ]);
    const readme = files.get('README.md')!;
    expect(readme).to.include('Reproduced **1/2** times').and.include("gauntlet repro . --test 'faults > panic' -i hosts.yaml --attempts 10");
    expect(readme).to.include('Up to 10 attempts were allowed; they stopped at the first recurrence.');
    expect(readme).to.include('| 2 | run-3 | PANIC: kernel panic: sysrq triggered crash | yes |');
    expect(files.get('occurrences/attempt-2.txt')).to.include('Kernel panic - not syncing: sysrq triggered crash').and.include('gauntlet-fault: begin class=PANIC');
    expect(files.get('kernel/config')).to.equal('CONFIG_PANIC_TIMEOUT=0\n');
    expect(JSON.parse(files.get('suite/params.json')!)).to.deep.equal({ suite: 'faults', digest: 'd1', params: { scale: 'quick' }, seed: 42 });
  });

  it('writes each command with its start from the test\'s start, its duration, its status and its hook', () => {
    const text = renderTranscript('faults > panic', input().attempts[1]!.commands, 2, '2026-03-02T11:00:00.000Z');
    const lines = text.split('\n');
    expect(lines[3]).to.equal('    -0.040     0.012  exit 0     $ id -u    ["before all" hook for "panic"]');
    expect(lines[4]).to.match(/^ +\+0\.120 +0\.035 {2}exit 0 {5}\$ nohup sh -c/);
    expect(lines[5]).to.match(/^ +\+3\.100 +5\.000 {2}not run {4}\$ true$/);
    expect(lines[6]!.trim()).to.equal('(connection lost)');
    expect(text).to.include('(2 more commands were run but not kept)');
  });

  it('keeps of the journal just the test on its host, without the inventory path, argv, runner or addresses', async () => {
    const kept = selectBundleJournal(journal, 'vm1', { suite: 'faults', title: 'faults > panic' });
    expect(kept.map((event) => event.type)).to.deep.equal(['run-start', 'suite-plan', 'test-start', 'kernel-event', 'test-end', 'host-end', 'run-end']);
    const text = kept.map((event) => JSON.stringify(event)).join('\n');
    expect(text).to.not.include('secret-place').and.not.include('10.1.2.').and.not.include('runner.internal').and.not.include('faults > oom').and.not.include('other.spec');
    // Read back, it is the same failure on the same test: the unpacked bundle is a folder `gauntlet repro` reads.
    const record = buildRunRecord(kept);
    const panic = record.suites.find((suite) => suite.host === 'vm1')!.tests.find((test) => test.title === 'faults > panic')!;
    expect(findSignature(panic)).to.include({ class: 'PANIC', title: 'kernel panic: sysrq triggered crash' });
  });

  it('gives a test of a merged run the seed of the shard it ran in, in its place in the bundle\'s journal', () => {
    const start = journal[0]!;
    if (start.type !== 'run-start') expect.fail('the journal starts with run-start');
    const merged: JournalEvent[] = [
      {
        ...start,
        seed: 11,
        mergedFrom: [
          { runId: 'shard-1', shard: { index: 1, total: 2 }, seed: 11, hosts: ['vm2'], pairs: { vm2: ['faults'] }, argv: ['run', '-i', '/secret-place/hosts.yaml'] },
          { runId: 'shard-2', shard: { index: 2, total: 2 }, seed: 22, hosts: ['vm1'], pairs: { vm1: ['faults'] }, argv: ['run', '-i', '/secret-place/hosts.yaml'] },
        ],
      },
      ...journal.slice(1),
    ];
    expect(findTestSeed(merged[0] as typeof start, 'vm1', 'faults')).to.equal(22);
    expect(findTestSeed(merged[0] as typeof start, 'vm2', 'faults')).to.equal(11);
    expect(findTestSeed(start, 'vm1', 'faults')).to.equal(start.seed);
    const kept = selectBundleJournal(merged, 'vm1', { suite: 'faults', title: 'faults > panic' })[0]!;
    expect(kept).to.include({ type: 'run-start', seed: 22 });
    expect(kept).to.not.have.property('mergedFrom');
  });
});

describe('repro: the console around an occurrence', () => {
  // A lab VM's serial console (append mode) over three boots: an OOM kill and a panic, then after the power cycle a
  // second panic of the same kind, then the boot after that.
  const capture = readFile(new URL('../fixtures/repro/two-panics-serial.txt', import.meta.url), 'utf8');

  it('is cut around the last occurrence, and starts no earlier than the boot it belongs to', async () => {
    const window = cutConsoleWindow(await capture, '[   34.069212] Kernel panic - not syncing: sysrq triggered crash\n[   34.069619] CPU: 0', 150, 80)!;
    const lines = window.split('\n');
    expect(lines[0]).to.match(/^\[ +15\.119081\] Initializing XFRM netlink socket/);
    expect(window).to.include('gauntlet-fault: begin class=PANIC id=mwrxp5bdyyx5nj');
    expect(window).to.include('[   34.069212] Kernel panic - not syncing: sysrq triggered crash');
    expect(window, 'the earlier boot\'s panic').to.not.include('[   76.');
    expect(window, 'the earlier boot\'s OOM kill').to.not.include('class=OOM');
    expect(window, 'lines end with \\n alone').to.not.include('\r');
  });

  it('starts at the kernel banner when the console shows one, and keeps at most the lines asked for', () => {
    const text = ['[ 9.000000] old boot', '[    0.000000] Linux version 6.1.0-56-amd64', '[    1.000000] a', '[    2.000000] b', '[    3.000000] BUG: x', '[    4.000000] c'].join('\n');
    expect(cutConsoleWindow(text, 'BUG: x', 10, 2)).to.equal('[    0.000000] Linux version 6.1.0-56-amd64\n[    1.000000] a\n[    2.000000] b\n[    3.000000] BUG: x\n[    4.000000] c');
    expect(cutConsoleWindow(text, 'BUG: x', 1, 1)).to.equal('[    2.000000] b\n[    3.000000] BUG: x');
    expect(cutConsoleWindow(text, 'not there', 10, 2)).to.equal(null);
  });
});

describe('repro: redaction', () => {
  const secrets = [
    { value: FAKE_KEY, what: 'private key' },
    { value: 'tok-9f8e7d6c5b4a', what: 'inventory variable api_token' },
    { value: 'abc', what: 'inventory variable short_secret' },
  ];

  it('removes private keys, whole or cut short, lines naming one, and secret values; JSON stays JSON', () => {
    const files = new Map([
      ['transcript/attempt-1.txt', `$ printf '%s' '${FAKE_KEY}' > /root/.ssh/id\n$ curl -H 'token: tok-9f8e7d6c5b4a' http://registry\n$ echo abc\n`],
      ['occurrences/attempt-1.txt', `before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAuFakeFakeFakeFakeFakeFakeFakeFake\nMIIEowIBAAKCAQEAuFakeFakeFakeFakeFakeFakeFakeFak2\nafter the cut\n`],
      ['engine/info.txt', 'Labels: ["note=PRIVATE KEY goes here"]\nok\n'],
      ['journal.jsonl', `${JSON.stringify({ type: 'test-end', output: `key ${FAKE_KEY} and tok-9f8e7d6c5b4a` })}\n`],
      ['attempts.json', JSON.stringify([{ message: 'token tok-9f8e7d6c5b4a refused' }], null, 2)],
    ]);
    const { files: clean, notes } = redactBundle(files, secrets);
    expect(clean.get('transcript/attempt-1.txt')).to.equal(
      "$ printf '%s' '[private key removed by gauntlet]' > /root/.ssh/id\n$ curl -H 'token: [inventory variable api_token removed by gauntlet]' http://registry\n$ echo abc\n",
    );
    expect(clean.get('occurrences/attempt-1.txt')).to.equal('before\n[private key removed by gauntlet]\nafter the cut\n');
    expect(clean.get('engine/info.txt')).to.equal('[line naming a private key removed by gauntlet]\nok\n');
    expect(JSON.parse(clean.get('journal.jsonl')!.trim())).to.deep.equal({ type: 'test-end', output: 'key [private key removed by gauntlet] and [inventory variable api_token removed by gauntlet]' });
    expect(JSON.parse(clean.get('attempts.json')!)).to.deep.equal([{ message: 'token [inventory variable api_token removed by gauntlet] refused' }]);
    expect(findLeaks(clean, secrets)).to.deep.equal([]);
    expect(notes).to.include('transcript/attempt-1.txt: 1 private key').and.include('engine/info.txt: 1 line naming a private key');
    expect(notes.join('\n')).to.not.include('tok-9f8e7d6c5b4a');
  });

  it('finds what was not removed', () => {
    const files = new Map([
      ['a.txt', `${FAKE_KEY}\n`],
      ['b.txt', 'tok-9f8e7d6c5b4a'],
      ['c.txt', 'nothing here'],
    ]);
    expect(findLeaks(files, secrets)).to.deep.equal(['a.txt: names a PRIVATE KEY', 'a.txt: holds the private key', 'b.txt: holds the inventory variable api_token']);
  });
});

describe('repro: the bundle archive', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-repro-archive-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds exactly the files under one folder, and leaves nothing else behind', async () => {
    const path = join(dir, 'out', 'repro-kernel-panic.tar.gz');
    const files = new Map([
      ['README.md', '# PANIC\n'],
      ['kernel/config', 'CONFIG_PANIC_TIMEOUT=0\n'],
      ['occurrences/attempt-1.txt', `${PANIC_EXCERPT}\n`],
    ]);
    await writeBundleArchive(path, 'repro-kernel-panic', files);
    const entries: string[] = [];
    await list({ file: path, onReadEntry: (entry) => entries.push(entry.path) });
    expect(entries.filter((entry) => !entry.endsWith('/'))).to.deep.equal(['repro-kernel-panic/README.md', 'repro-kernel-panic/kernel/config', 'repro-kernel-panic/occurrences/attempt-1.txt']);
    expect(await readdir(join(dir, 'out'))).to.deep.equal(['repro-kernel-panic.tar.gz']);
    const unpacked = join(dir, 'unpacked');
    await rm(unpacked, { recursive: true, force: true });
    await mkdir(unpacked);
    await extract({ file: path, cwd: unpacked });
    expect(await readFile(join(unpacked, 'repro-kernel-panic', 'occurrences', 'attempt-1.txt'), 'utf8')).to.equal(`${PANIC_EXCERPT}\n`);
  });
});
