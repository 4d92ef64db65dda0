// Tests the classifier's rule table on real captures from container hosts (one row per container-host rule), and its
// parts: the severity model, console prefixes, title normalisation and the rule table's own consistency.

import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import {
  classifyLog,
  createStreamClassifier,
  isCrashEvent,
  KERNEL_LOG_RULES,
  mostSevereEvent,
  normalizeTitle,
  severityOf,
  SKIPPED_FRAME_WORDS,
  SKIPPED_FRAMES,
  stripConsolePrefix,
  summarizeEvents,
  type DetectedKernelEvent,
} from '../../src/classify/index.js';
import { FAULT_CLASSES, FAULT_SEVERITY_ORDER, type FaultClass, type KernelEvent } from '../../src/model/index.js';
import { isTraceFrame, parseFrame } from '../../src/classify/frames.js';
import { demangleRustSymbol } from '../../src/classify/rust-symbols.js';
import { readConsoleFixtures } from '../helpers/console-corpus.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/console/', import.meta.url));

interface RuleRow {
  /** The rule the fixture's primary (or, for a log without a crash, first) event comes from. */
  rule: string;
  fixture: string;
  class: FaultClass;
  fatal: boolean;
}

/**
 * One row per container-host rule and real capture. The expected title, whether the log is a crash (a TITLE line or
 * none) and further expected events (EVENT lines) are in each fixture's header; the source issue in its `# source:`.
 */
const ROWS: readonly RuleRow[] = [
  { rule: 'netdev-unregister', fixture: 'netdev-unregister-lo.txt', class: 'NETDEV_LEAK', fatal: false },
  { rule: 'netdev-unregister', fixture: 'netdev-unregister-then-hung-task.txt', class: 'NETDEV_LEAK', fatal: false },
  { rule: 'hung-task', fixture: 'hung-task-copy-net-ns.txt', class: 'HUNG_TASK', fatal: true },
  { rule: 'hung-task', fixture: 'hung-task-cleanup-net.txt', class: 'HUNG_TASK', fatal: true },
  { rule: 'hard-lockup', fixture: 'hard-lockup-nmi-watchdog.txt', class: 'HARD_LOCKUP', fatal: true },
  { rule: 'hard-lockup', fixture: 'hard-lockup-warn-format.txt', class: 'HARD_LOCKUP', fatal: true },
  { rule: 'btrfs-corrupt', fixture: 'btrfs-corrupt-leaf-syslog.txt', class: 'FS_ERROR', fatal: false },
  { rule: 'btrfs-corrupt', fixture: 'btrfs-corrupt-leaf-dmesg-time.txt', class: 'FS_ERROR', fatal: false },
  { rule: 'btrfs-error', fixture: 'btrfs-error-forced-readonly.txt', class: 'FS_ERROR', fatal: false },
  { rule: 'xfs-shutdown', fixture: 'xfs-corruption-shutdown.txt', class: 'FS_ERROR', fatal: false },
  { rule: 'xfs-shutdown', fixture: 'xfs-log-error-shutdown-talos.txt', class: 'FS_ERROR', fatal: false },
  { rule: 'xfs-shutdown', fixture: 'xfs-log-io-error-ebs.txt', class: 'FS_ERROR', fatal: false },
  { rule: 'ext4-io-error', fixture: 'ext4-aborted-journal-remount-ro.txt', class: 'FS_ERROR', fatal: false },
  { rule: 'ext4-error', fixture: 'ext4-error-sonic-syslog.txt', class: 'FS_ERROR', fatal: false },
  { rule: 'ext4-error', fixture: 'ext4-remount-ro-dmesg-time.txt', class: 'FS_ERROR', fatal: false },
  { rule: 'overlayfs-error', fixture: 'overlayfs-lowerdir-in-use.txt', class: 'FS_ERROR', fatal: false },
  { rule: 'oom-memcg', fixture: 'memcg-oom-kill.txt', class: 'OOM', fatal: false },
  { rule: 'oom-memcg', fixture: 'memcg-oom-kill-syslog.txt', class: 'OOM', fatal: false },
  { rule: 'oom-memcg', fixture: 'memcg-oom-kill-3.10.txt', class: 'OOM', fatal: false },
];

/**
 * Captures of our own, from lab VMs: every event they must give is listed in the fixture (`EXPECT:`); `worst` is the
 * title of the most severe fatal event (null: none is fatal).
 */
interface LabRow {
  fixture: string;
  worst: string | null;
}

const SUITE_PANIC = 'kernel panic: sysrq triggered crash';
const LAB_ROWS: readonly LabRow[] = [
  { fixture: 'lab-6.1.0-56-serial.txt', worst: SUITE_PANIC },
  { fixture: 'lab-6.1.0-56-pstore.txt', worst: SUITE_PANIC },
  { fixture: 'lab-6.1.0-56-fs-errors.txt', worst: null },
  { fixture: 'lab-6.12.117-serial.txt', worst: SUITE_PANIC },
  { fixture: 'lab-6.12.117-pstore.txt', worst: SUITE_PANIC },
  { fixture: 'lab-6.12.117-fs-errors.txt', worst: null },
];
const isLabCapture = (name: string): boolean => name.startsWith('lab-');

/** The kernel timestamp of a console line in ms, for replaying a capture with its own timing. */
function kernelTimeMs(line: string): number | null {
  const m = /\[ *(\d+)\.(\d{6})\]/.exec(line);
  return m ? Number(m[1]) * 1000 + Number(m[2]) / 1000 : null;
}

/** Whether `wanted` appears in `titles` in this order (other titles may come between). */
function inOrder(titles: readonly string[], wanted: readonly string[]): boolean {
  let next = 0;
  for (const title of titles) if (title === wanted[next]) next++;
  return next === wanted.length;
}

describe('classify: container-host rules on real captures', () => {
  const fixtures = new Map(readConsoleFixtures(FIXTURES, (name) => name.endsWith('.txt') && !isLabCapture(name)).map((f) => [f.name, f]));

  it('has a row for every fixture, and every fixture names its source', () => {
    expect([...new Set(ROWS.map((row) => row.fixture))].sort()).to.deep.equal([...fixtures.keys()].sort());
    for (const fixture of fixtures.values()) expect(fixture.source, fixture.name).to.match(/^https:\/\/github\.com\/\S+\/(?:issues|pull)\/\d+$/);
  });

  for (const row of ROWS) {
    it(`${row.rule}: ${row.fixture}`, () => {
      const fixture = fixtures.get(row.fixture)!;
      const result = classifyLog(fixture.log);
      expect(result.crashed, 'crashed').to.equal(fixture.title !== undefined);
      const main = result.primary ?? result.events[0]!;
      expect(main, 'an event').to.not.equal(undefined);
      expect({ rule: main.rule, class: main.class, fatal: main.fatal, corrupted: main.corrupted }).to.deep.equal({
        rule: row.rule,
        class: row.class,
        fatal: row.fatal,
        corrupted: fixture.corrupted,
      });
      if (fixture.title !== undefined) expect(main.title).to.equal(fixture.title);
      const rest = result.events.filter((event) => event !== result.primary).map((event) => event.title);
      expect(inOrder(rest, fixture.events), `events ${JSON.stringify(rest)} include ${JSON.stringify(fixture.events)}`).to.equal(true);
      expect(fixture.log).to.include(main.excerpt.split('\n')[0]!);
    });
  }
});

describe('classify: real captures from lab VMs', () => {
  const fixtures = new Map(readConsoleFixtures(FIXTURES, (name) => isLabCapture(name)).map((f) => [f.name, f]));

  it('has a row for every capture, and every capture names its kernel and lists its events', () => {
    expect(LAB_ROWS.map((row) => row.fixture).sort()).to.deep.equal([...fixtures.keys()].sort());
    for (const fixture of fixtures.values()) {
      expect(fixture.source, fixture.name).to.match(/^gauntlet lab VM, Debian kernel \S+ under QEMU TCG$/);
      expect(fixture.expected.length, fixture.name).to.be.greaterThan(0);
    }
  });

  for (const row of LAB_ROWS) {
    it(`${row.fixture}: every event, in order, each fatal as its class says`, () => {
      const fixture = fixtures.get(row.fixture)!;
      const result = classifyLog(fixture.log);
      expect(result.events.map((e) => ({ class: e.class, title: e.title }))).to.deep.equal(fixture.expected);
      expect(result.primary && { class: result.primary.class, title: result.primary.title }).to.deep.equal({ class: fixture.type, title: fixture.title });
      const fatalClasses = new Set(FAULT_SEVERITY_ORDER.filter((entry) => entry.severity === 'fatal').map((entry) => entry.class));
      for (const event of result.events) {
        expect(event.fatal, event.title).to.equal(fatalClasses.has(event.class));
        expect(event.corrupted, event.title).to.equal(false);
      }
      expect(mostSevereEvent(result.events.filter((e) => e.fatal))?.title ?? null).to.equal(row.worst);
    });

    it(`${row.fixture}: the same events streamed line by line with the console's own timing (5 s quiet ends a report)`, () => {
      const fixture = fixtures.get(row.fixture)!;
      const classifier = createStreamClassifier({ quietMs: 5000 });
      const events: DetectedKernelEvent[] = [];
      let atMs = 0;
      for (const line of fixture.log.split('\n')) {
        atMs = kernelTimeMs(line) ?? atMs;
        events.push(...classifier.push(`${line}\n`, atMs));
      }
      events.push(...classifier.flush(atMs));
      expect(summarizeEvents(events).events.map((e) => ({ class: e.class, title: e.title }))).to.deep.equal(fixture.expected);
    });
  }

  it('gives each report its own stack: a panic after a soft lockup is an event of its own', () => {
    const result = classifyLog(fixtures.get('lab-6.1.0-56-pstore.txt')!.log);
    const lockup = result.events.find((e) => e.class === 'SOFT_LOCKUP')!;
    const panic = result.events.find((e) => e.class === 'PANIC')!;
    expect(lockup.excerpt).to.include('RIP: 0010:gauntlet_spin+0x5e/0x60 [gauntlet_softlockup]');
    expect(lockup.excerpt).to.not.include('Kernel panic');
    expect(panic.excerpt.split('\n')[0]).to.include('Kernel panic - not syncing: sysrq triggered crash');
    expect(panic.excerpt).to.include('proc_reg_write');
    expect(panic.startLine).to.be.greaterThan(lockup.endLine);
  });
});

describe('classify: severity', () => {
  const classes = Object.values(FAULT_CLASSES);

  it('orders every class exactly once', () => {
    expect(FAULT_SEVERITY_ORDER.map((entry) => entry.class).sort()).to.deep.equal([...classes].sort());
  });

  it('gives the classes their default severity', () => {
    const fatal = FAULT_SEVERITY_ORDER.filter((entry) => entry.severity === 'fatal').map((entry) => entry.class);
    expect(fatal.sort()).to.deep.equal(
      ['PANIC', 'OOPS', 'MEMORY_SAFETY', 'SOFT_LOCKUP', 'HARD_LOCKUP', 'RCU_STALL', 'HUNG_TASK', 'UNEXPECTED_REBOOT', 'LOST_CONNECTION', 'NO_OUTPUT', 'HOST_UNREACHABLE'].sort(),
    );
    const degraded = FAULT_SEVERITY_ORDER.filter((entry) => entry.severity === 'degraded').map((entry) => entry.class);
    expect(degraded.sort()).to.deep.equal(['OOM', 'FS_ERROR', 'WARNING', 'LOCKDEP', 'NETDEV_LEAK', 'LEAK'].sort());
  });

  it('makes a warning that ends in a panic fatal, and a memory-cgroup OOM kill no crash', () => {
    const warning = ['[   55.967976] WARNING: CPU: 1 PID: 8377 at arch/x86/kvm/x86.c:7209 kvm_arch_vcpu_ioctl_run+0x1f7/0x5a00', '[   56.157961] RIP: 0010:kvm_arch_vcpu_ioctl_run+0x1f7/0x5a00'];
    const plain = classifyLog(warning.join('\n')).primary!;
    expect([plain.class, plain.title, plain.fatal]).to.deep.equal(['WARNING', 'WARNING in kvm_arch_vcpu_ioctl_run', false]);
    const panicked = classifyLog([...warning, '[   56.041277] Kernel panic - not syncing: panic_on_warn set ...'].join('\n'));
    expect(panicked.events).to.have.length(1);
    expect(panicked.primary!.fatal).to.equal(true);
    const oom = classifyLog('[ 7063.247407] Memory cgroup out of memory: Killed process 63214 (uwsgi) total-vm:3149468kB');
    expect(oom.crashed).to.equal(false);
    expect(oom.events.map((e) => [e.class, e.fatal, isCrashEvent(e)])).to.deep.equal([['OOM', false, false]]);
  });

  it('counts a global OOM kill against the stack but not as a crash: the kernel coped', () => {
    const log = [
      '[  201.264929] syz-executor642 invoked oom-killer: gfp_mask=0x6202c2(GFP_HIGHUSER|__GFP_NOWARN), nodemask=(null), order=0, oom_score_adj=1000',
      '[  201.270000] Out of memory: Killed process 6135 (syz-executor642) total-vm:72392kB, anon-rss:2072kB, file-rss:0kB',
      '[  201.280000] eth0: link up',
    ];
    const result = classifyLog(log.join('\n'));
    expect(result.crashed).to.equal(false);
    expect(result.events.map((e) => [e.rule, e.class, e.title, e.fatal, e.startLine, e.endLine])).to.deep.equal([['oom-killer', 'OOM', 'out of memory', false, 1, 2]]);
    expect(severityOf(result.events[0]!)).to.equal('degraded');
  });

  it('picks the most severe event deterministically: severity, class, then the earlier one', () => {
    const event = (cls: FaultClass, fatal: boolean, startLine: number, rule = 'x'): KernelEvent => ({
      class: cls,
      title: `${cls} ${startLine}`,
      alt: [],
      fatal,
      corrupted: false,
      excerpt: '',
      startLine,
      endLine: startLine,
      rule,
    });
    const events = [event('WARNING', false, 1, 'warning'), event('HUNG_TASK', true, 9), event('OOPS', true, 7), event('OOPS', true, 3)];
    expect(mostSevereEvent(events)!.title).to.equal('OOPS 3');
    expect(mostSevereEvent([event('WARNING', true, 5, 'warning'), event('PANIC', true, 6)])!.title).to.equal('PANIC 6');
    expect(mostSevereEvent([])).to.equal(null);
  });
});

describe('classify: console prefixes', () => {
  const cases: readonly [string, string][] = [
    ['[   12.345678] BUG: KASAN: x', 'BUG: KASAN: x'],
    ['[  771.755252][ T5218] Kernel panic - not syncing: x', 'Kernel panic - not syncing: x'],
    ['[  771.755252][    C1] rcu: INFO: x', 'rcu: INFO: x'],
    ['[    T123] WARNING: x', 'WARNING: x'],
    ['<4>[1401585.395821]  [<ffffffff8b129665>] watchdog_overflow_callback+0xd5/0xe0', ' [<ffffffff8b129665>] watchdog_overflow_callback+0xd5/0xe0'],
    ['kern  :warn  : [  12.345678] WARNING: x', 'WARNING: x'],
    ['[  12.345678] myhost kernel: BUG: x', 'BUG: x'],
    ['Jun 23 10:10:34 hv kernel:  dump_stack+0x66/0x8b', ' dump_stack+0x66/0x8b'],
    ['2026-11-22T08:00:00+0000 node1 kernel: BUG: x', 'BUG: x'],
    ['2025 Jun 18 07:12:32.614365 sonic_testbed CRIT kernel: [ 1019.487101] EXT4-fs error (device loop1): x', 'EXT4-fs error (device loop1): x'],
    ['[Thu Dec  7 00:05:15 2017] Memory cgroup out of memory: x', 'Memory cgroup out of memory: x'],
    ['109.200.197.196: kern:   alert: [2024-05-13T15:13:11.99477118Z]: XFS (sdb6): x', 'XFS (sdb6): x'],
    ['2018/01/09 14:28:48 BUG: memory leak', 'BUG: memory leak'],
    ['kernel: XFS (dm-4): Corruption detected.', 'XFS (dm-4): Corruption detected.'],
    ['plain text: not a prefix', 'plain text: not a prefix'],
  ];
  for (const [line, message] of cases) {
    it(JSON.stringify(line), () => expect(stripConsolePrefix(line)).to.equal(message));
  }
});

describe('classify: titles', () => {
  it('normalises addresses, numbers and offsets, and keeps names with digits', () => {
    expect(normalizeTitle('KASAN: use-after-free in do_con_write.part.23+0x1c50/0x1cb0 at addr ffff88000012c43a')).to.equal(
      'KASAN: use-after-free in do_con_write.part.NUM at addr ADDR',
    );
    expect(normalizeTitle('INFO: Freed in fasync_free_rcu age=624 cpu=0 pid=3')).to.equal('INFO: Freed in fasync_free_rcu age=NUM cpu=NUM pid=NUM');
    expect(normalizeTitle('KCSAN: data-race in e1000_clean_rx_irq / x25_connect  0xdead')).to.equal('KCSAN: data-race in e1000_clean_rx_irq / x25_connect ADDR');
  });

  it('names the first frame that is not a generic helper, and says `corrupted` without a readable stack', () => {
    const log = [
      '[  300.000000] INFO: task kworker/u4:6:5166 blocked for more than 143 seconds.',
      '[  300.000001] Call Trace:',
      '[  300.000002]  __schedule+0x897/0x1e60',
      '[  300.000003]  schedule+0xfe/0x350',
      '[  300.000004]  schedule_timeout+0x140/0x260',
      '[  300.000005]  wait_for_completion+0x192/0x340',
      '[  300.000006]  __flush_work.cold+0x2c/0x36',
      '[  300.000007]  netdev_run_todo+0x173/0x2c4',
    ];
    expect(classifyLog(log.join('\n')).primary!.title).to.equal('INFO: task hung in netdev_run_todo');
    expect(classifyLog(log.slice(0, 6).join('\n')).primary).to.deep.include({ title: 'INFO: task hung in corrupted', corrupted: true });
  });
});

describe('classify: one-line BUG reports', () => {
  it('names an unknown BUG by its words, but never takes `BUG: ` inside another message for one', () => {
    const bug = classifyLog('[  512.000000] BUG: non-zero pgtables_bytes on freeing mm: -4096');
    expect(bug.primary).to.deep.include({ rule: 'bug', class: 'OOPS', title: 'BUG: non-zero pgtables_bytes on freeing mm', fatal: false });
    expect(classifyLog('[  512.000000] systemd[1]: unit foo.service says BUG: nothing to see').crashed).to.equal(false);
    expect(classifyLog('2024/01/01 00:00:00 BUG: no syscalls can create resource fd_bpf_map').crashed).to.equal(false);
  });
});

/**
 * Report forms the corpus and our captures have no log of yet, each built from a realistic report of that form (the
 * kernel's own format strings, arch and version as noted). Every row is `synthetic`: replace it with a real capture
 * (a fixture and a ROWS or LAB_ROWS row) when one turns up.
 */
interface SyntheticRow {
  synthetic: true;
  form: string;
  lines: readonly string[];
  rule: string;
  class: FaultClass;
  title: string;
}

const X86_STACK = (fn: string): string[] => [
  'CPU: 1 PID: 4242 Comm: syz-executor Not tainted 6.1.0 #1',
  'Hardware name: QEMU Standard PC (i440FX + PIIX, 1996)',
  `RIP: 0010:${fn}+0x12/0x80`,
  'RSP: 0018:ffffc90003b1fbd8 EFLAGS: 00010246',
  'Call Trace:',
  ' <TASK>',
  ` ${fn}+0x12/0x80`,
  ' foo_ioctl+0x30/0x90',
  ' __x64_sys_ioctl+0x19d/0x210',
  ' do_syscall_64+0x3b/0xb0',
  ' </TASK>',
  '---[ end trace 0000000000000000 ]---',
];
const RISCV_STACK = (fn: string): string[] => [
  'Modules linked in:',
  'CPU: 1 PID: 4242 Comm: syz-executor Not tainted 6.1.0 #1',
  'Hardware name: riscv-virtio,qemu (DT)',
  `epc : ${fn}+0x72/0xb2`,
  ' ra : foo_ioctl+0x70/0xb2',
  'epc : ffffffe00008c8b0 ra : ffffffe00008c8ae sp : ffffffe025d17ec0',
  'status: 0000000000000120 badaddr: 000000002749f0d0 cause: 000000000000000f',
  '[<ffffffe00008c8b0>] ' + `${fn}+0x72/0xb2`,
  '[<ffffffe000005570>] foo_ioctl+0x70/0xb2',
  '---[ end trace 0000000000000000 ]---',
];

const LOCKDEP_BACKTRACE = (fns: readonly string[]): string[] => [
  'other info that might help us debug this:',
  'stack backtrace:',
  'CPU: 1 PID: 4242 Comm: syz-executor Not tainted 6.1.0 #1',
  'Call Trace:',
  ' <TASK>',
  ' dump_stack_lvl+0x8b/0xb3',
  ...fns.map((fn) => ` ${fn}+0x30/0x90`),
  ' do_syscall_64+0x3b/0xb0',
  ' </TASK>',
];

const SYNTHETIC_ROWS: readonly SyntheticRow[] = [
  {
    synthetic: true,
    form: 'arm64 lockdep: BUG: Invalid wait context (without the brackets x86 prints around it)',
    lines: ['=============================', 'BUG: Invalid wait context', '6.1.0 #1 Not tainted', '-----------------------------', ...LOCKDEP_BACKTRACE(['lock_acquire', '_raw_spin_lock', 'lock_sock_nested', 'foo_sock_bind'])],
    rule: 'lockdep-invalid-wait-context',
    class: 'LOCKDEP',
    title: 'WARNING: locking bug in foo_sock_bind',
  },
  {
    synthetic: true,
    form: 'lockdep: WARNING: Nested lock was not taken (kernel/locking/lockdep.c, __lock_acquire)',
    lines: ['=============================', 'WARNING: Nested lock was not taken', '6.1.0 #1 Not tainted', '----------------------------', ...LOCKDEP_BACKTRACE(['lock_acquire', '_raw_spin_lock_nest_lock', 'kvm_mmu_lock_all'])],
    rule: 'lockdep-nested-lock',
    class: 'LOCKDEP',
    title: 'WARNING: nested lock was not taken in kvm_mmu_lock_all',
  },
  {
    synthetic: true,
    form: 'lockdep before 4.15: BUG: <task> still has locks held! (the lock taken at: names it)',
    lines: [
      '=====================================',
      '[ BUG: syz-executor/4242 still has locks held! ]',
      '4.9.0 #1 Not tainted',
      '1 lock held by syz-executor/4242:',
      ' #0:  (&pipe->mutex/1){+.+.+.}, at: [<ffffffff81a2b3c4>] pipe_lock_nested+0x1c/0x20',
      'stack backtrace:',
      ' [<ffffffff81c1d2e9>] dump_stack+0xc1/0x128',
      ' [<ffffffff81a2c5d7>] pipe_wait+0x1a7/0x1d0',
    ],
    rule: 'lockdep-still-held',
    class: 'LOCKDEP',
    title: 'BUG: still has locks held in pipe_lock_nested',
  },
  {
    synthetic: true,
    form: 'x86: WARNING in fs/proc/generic.c (proc_register refusing a duplicate entry)',
    lines: ['proc_dir_entry \'net/foo\' already registered', 'WARNING: CPU: 1 PID: 4242 at fs/proc/generic.c:381 proc_register+0x2d4/0x3a0', 'Modules linked in:', ...X86_STACK('proc_register').map((line) => line.replace(' foo_ioctl+', ' proc_create_net_data+').replace(' __x64_sys_ioctl+', ' foo_net_init+'))],
    rule: 'proc-registration-warning',
    class: 'WARNING',
    title: 'WARNING: proc registration bug in foo_net_init',
  },
  {
    synthetic: true,
    form: "Kernel panic - not syncing: Couldn't open N_TTY ldisc for <tty> --- error -<errno>.",
    lines: ["Kernel panic - not syncing: Couldn't open N_TTY ldisc for ptm0 --- error -12.", 'CPU: 1 PID: 4242 Comm: syz-executor Not tainted 4.14.0 #1', 'Call Trace:', ' dump_stack+0xc1/0x128', ' panic+0x1bf/0x3a0', ' tty_ldisc_reinit+0x1d0/0x200'],
    rule: 'n-tty-ldisc-panic',
    class: 'PANIC',
    title: "kernel panic: Couldn't open N_TTY ldisc",
  },
  {
    synthetic: true,
    form: 'trusty: panic (<file>): <message> (a secure-world panic other than a failed assertion)',
    lines: ['trusty: panic (lib/sm/sm.c:206): sm: invalid smc call 0x3c000012'],
    rule: 'trusty-panic',
    class: 'PANIC',
    title: 'trusty: panic: sm: invalid smc call ADDR',
  },
  {
    synthetic: true,
    form: 'mm: BUG: Bad page map (named by its words alone: which mapping went wrong is not in a stack)',
    lines: ['BUG: Bad page map in process syz-executor  pte:8000000012345067 pmd:12345067', 'addr:0000000020000000 vm_flags:080000fb anon_vma:0000000000000000 mapping:ffff88801234 index:0', ...X86_STACK('print_bad_pte')],
    rule: 'bad-page-map',
    class: 'OOPS',
    title: 'BUG: Bad page map',
  },
  {
    synthetic: true,
    form: 'KASAN: double-free or invalid-free in kfree (named after the caller of the free functions)',
    lines: ['==================================================================', 'BUG: KASAN: double-free or invalid-free in kfree+0xd1/0x2a0', '', 'CPU: 1 PID: 4242 Comm: syz-executor Not tainted 5.4.0 #1', 'Call Trace:', ' dump_stack+0xc1/0x128', ' print_address_description+0x6c/0x3f0', ' kasan_report_invalid_free+0x64/0xa0', ' __kasan_slab_free+0x13a/0x150', ' kfree+0xd1/0x2a0', ' foo_release_buffers+0x44/0x90', ' foo_ioctl+0x30/0x90'],
    rule: 'kasan-invalid-free',
    class: 'MEMORY_SAFETY',
    title: 'KASAN: invalid-free in foo_release_buffers',
  },
  {
    synthetic: true,
    form: 'riscv: Unable to handle kernel access to user memory without uaccess routines, then Oops [#1]',
    lines: ['Unable to handle kernel access to user memory without uaccess routines at virtual address 000000002749f0d0', 'Oops [#1]', ...RISCV_STACK('bar_copy')],
    rule: 'user-memory-access',
    class: 'OOPS',
    title: 'BUG: unable to handle kernel access to user memory in bar_copy',
  },
  {
    synthetic: true,
    form: 'arm64: Unable to handle kernel access to user memory outside uaccess routines',
    lines: [
      'Unable to handle kernel access to user memory outside uaccess routines at virtual address 0000000020000100',
      'Mem abort info:',
      '  ESR = 0x000000009600004f',
      'Internal error: Oops: 000000009600004f [#1] PREEMPT SMP',
      'Modules linked in:',
      'CPU: 1 PID: 4242 Comm: syz-executor Not tainted 6.1.0 #1',
      'pc : bar_copy+0x24/0x80',
      'lr : foo_ioctl+0x30/0x90',
      'Call trace:',
      ' bar_copy+0x24/0x80',
      ' foo_ioctl+0x30/0x90',
    ],
    rule: 'user-memory-access',
    class: 'OOPS',
    title: 'BUG: unable to handle kernel access to user memory in bar_copy',
  },
  {
    synthetic: true,
    form: 'riscv: a bare Oops [#1] (the fault line lost)',
    lines: ['Oops [#1]', ...RISCV_STACK('bar_do')],
    rule: 'generic-oops',
    class: 'OOPS',
    title: 'BUG: unable to handle kernel in bar_do',
  },
  {
    synthetic: true,
    form: 'riscv: Oops - illegal instruction [#1]',
    lines: ['Oops - illegal instruction [#1]', ...RISCV_STACK('bar_do')],
    rule: 'generic-oops',
    class: 'OOPS',
    title: 'BUG: unable to handle kernel in bar_do',
  },
  {
    synthetic: true,
    form: 'riscv: Kernel BUG [#1] without the kernel BUG at line',
    lines: ['Kernel BUG [#1]', ...RISCV_STACK('bar_do')],
    rule: 'kernel-bug-trap',
    class: 'OOPS',
    title: 'kernel BUG in bar_do',
  },
  {
    synthetic: true,
    form: 'riscv: kernel BUG at file:line! then Kernel BUG [#1]',
    lines: ['------------[ cut here ]------------', 'kernel BUG at fs/ext4/inode.c:2707!', 'Kernel BUG [#1]', ...RISCV_STACK('ext4_writepages')],
    rule: 'kernel-bug',
    class: 'OOPS',
    title: 'kernel BUG in ext4_writepages',
  },
  {
    synthetic: true,
    form: 'powerpc: BUG: Kernel NULL pointer dereference on read at 0x…',
    lines: [
      'BUG: Kernel NULL pointer dereference on read at 0x00000008',
      'Faulting instruction address: 0xc000000000123456',
      'Oops: Kernel access of bad area, sig: 11 [#1]',
      'NIP [c000000000123456] bar_do+0x24/0x80',
      'LR [c000000000123400] foo_ioctl+0x30/0x90',
      'Call Trace:',
      '[c00000000aa3bc80] [c000000000123400] foo_ioctl+0x30/0x90',
    ],
    rule: 'null-deref',
    class: 'OOPS',
    title: 'BUG: unable to handle kernel NULL pointer dereference in bar_do',
  },
  {
    synthetic: true,
    form: 'powerpc: BUG: Unable to handle kernel data access on write at 0x…',
    lines: [
      'BUG: Unable to handle kernel data access on write at 0xc008000012345000',
      'Faulting instruction address: 0xc000000000123456',
      'Oops: Kernel access of bad area, sig: 11 [#1]',
      'NIP [c000000000123456] bar_do+0x24/0x80',
      'LR [c000000000123400] foo_ioctl+0x30/0x90',
    ],
    rule: 'paging-request',
    class: 'OOPS',
    title: 'BUG: unable to handle kernel paging request in bar_do',
  },
  {
    synthetic: true,
    form: 'arm64: Unable to handle kernel execution of user memory at virtual address',
    lines: [
      'Unable to handle kernel execution of user memory at virtual address 0000000020000000',
      'Internal error: Oops: 000000008600000f [#1] PREEMPT SMP',
      'pc : 0x20000000',
      'lr : bar_do+0x24/0x80',
      'Call trace:',
      ' 0x20000000',
      ' bar_do+0x24/0x80',
      ' foo_ioctl+0x30/0x90',
    ],
    rule: 'paging-request',
    class: 'OOPS',
    title: 'BUG: unable to handle kernel paging request in bar_do',
  },
  {
    synthetic: true,
    form: 's390: a program check in kernel mode, named by the PSW',
    lines: [
      'Low-address protection: 0004 ilc:3 [#1] SMP',
      'Modules linked in:',
      'CPU: 1 PID: 4242 Comm: syz-executor Not tainted 6.1.0 #1',
      'Hardware name: IBM 3931 A01 704 (KVM/Linux)',
      'Krnl PSW : 0704c00180000000 000000000012345a (bar_do+0x24/0x80)',
      'Call Trace:',
      ' [<000000000012345a>] bar_do+0x24/0x80',
      ' [<000000000012340a>] foo_ioctl+0x30/0x90',
    ],
    rule: 's390-program-check',
    class: 'OOPS',
    title: 'Low-address protection in bar_do',
  },
  {
    synthetic: true,
    form: 'x86: kernel stack overflow (double-fault) without the guard page line',
    lines: ['kernel stack overflow (double-fault): 0000 [#1] PREEMPT SMP KASAN', ...X86_STACK('bar_recurse')],
    rule: 'stack-overflow-oops',
    class: 'OOPS',
    title: 'BUG: stack guard page was hit in foo_ioctl',
  },
  {
    synthetic: true,
    form: 'x86 6.x: BUG: TASK stack guard page was hit, then Oops: stack guard page',
    lines: [
      'BUG: TASK stack guard page was hit at ffffc90003b17f78 (stack is ffffc90003b18000..ffffc90003b1ffff)',
      'Oops: stack guard page: 0000 [#1] PREEMPT SMP KASAN NOPTI',
      ...X86_STACK('bar_recurse'),
    ],
    rule: 'stack-guard-page',
    class: 'OOPS',
    title: 'BUG: stack guard page was hit in foo_ioctl',
  },
  {
    synthetic: true,
    form: 'lockdep: BUG: looking up invalid subclass',
    lines: [
      'BUG: looking up invalid subclass: 8',
      'turning off the locking correctness validator.',
      'CPU: 1 PID: 4242 Comm: syz-executor Not tainted 6.1.0 #1',
      'Call Trace:',
      ' <TASK>',
      ' dump_stack_lvl+0xcd/0x134',
      ' look_up_lock_class+0x6f/0x120',
      ' register_lock_class+0xbe/0x1120',
      ' __lock_acquire+0x109/0x5ca0',
      ' lock_acquire+0x1ab/0x520',
      ' _raw_spin_lock_irqsave+0x3d/0x60',
      ' bar_lock_nested+0x44/0x90',
      ' foo_ioctl+0x30/0x90',
      ' </TASK>',
    ],
    rule: 'lockdep-invalid-subclass',
    class: 'LOCKDEP',
    title: 'BUG: looking up invalid subclass in bar_lock_nested',
  },
  {
    synthetic: true,
    form: 'WARNING in a module without symbols: the header names an address, the pc line the function',
    lines: ['------------[ cut here ]------------', 'WARNING: CPU: 1 PID: 4242 at drivers/foo/bar.c:1234 0xffffffffc0123456', 'Modules linked in: foo', ...X86_STACK('bar_check')],
    rule: 'warning',
    class: 'WARNING',
    title: 'WARNING in bar_check',
  },
];

describe('classify: report forms without a real capture yet (synthetic)', () => {
  for (const row of SYNTHETIC_ROWS) {
    it(`${row.rule}: ${row.form}`, () => {
      expect(row.synthetic).to.equal(true);
      const log = row.lines.map((line, i) => `[  100.${String(i).padStart(6, '0')}] ${line}`).join('\n');
      const result = classifyLog(`${log}\n`);
      expect(result.crashed, 'crashed').to.equal(true);
      expect({ rule: result.primary!.rule, class: result.primary!.class, title: result.primary!.title }).to.deep.equal({
        rule: row.rule,
        class: row.class,
        title: row.title,
      });
    });
  }

  it('takes none of their header words inside another message for a report', () => {
    for (const line of ['audit: comm="sh" Kernel BUG [#1]', 'Illegal operation: 0001 ilc:1 in user space', 'sshd[123]: Oops [#1] is just text']) {
      expect(classifyLog(`[  100.000000] ${line}\n`).crashed, line).to.equal(false);
    }
  });
});

describe('classify: the rule table', () => {
  it('has unique rule names, refinements that name rules, and header words for the prefilter', () => {
    const names = KERNEL_LOG_RULES.map((rule) => rule.name);
    expect(new Set(names).size).to.equal(names.length);
    for (const rule of KERNEL_LOG_RULES) {
      for (const refinement of rule.refine ?? []) expect(names, `${rule.name} refines to ${refinement.rule}`).to.include(refinement.rule);
      const words = typeof rule.header === 'string' ? [rule.header] : rule.header;
      expect(words.length, rule.name).to.be.greaterThan(0);
      for (const word of words) expect(word.length, rule.name).to.be.greaterThan(3);
      expect(Object.values(FAULT_CLASSES), rule.name).to.include(rule.class);
      if (rule.title.includes('{frame}')) expect(rule.stack, `${rule.name} names a frame`).to.not.equal(undefined);
    }
  });

  it('keeps the skipped frames as data, each a valid pattern', () => {
    expect(SKIPPED_FRAMES.length).to.be.greaterThan(200);
    for (const pattern of SKIPPED_FRAMES) expect(() => new RegExp(`^(?:${pattern})$`), pattern).to.not.throw();
    expect(SKIPPED_FRAME_WORDS.length).to.be.greaterThan(150);
    for (const pattern of SKIPPED_FRAME_WORDS) expect(() => new RegExp(pattern), pattern).to.not.throw();
    expect(readdirSync(FIXTURES).filter((name) => name.endsWith('.txt')).length).to.equal(ROWS.length + LAB_ROWS.length);
  });
});

describe('classify: guilty frames', () => {
  const gpfIn = (frames: readonly string[]): string =>
    classifyLog(
      [
        'general protection fault: 0000 [#1] SMP KASAN',
        'CPU: 1 PID: 4242 Comm: syz-executor Not tainted 5.4.0 #1',
        `RIP: 0010:${frames[0]}+0x12/0x80`,
        'Call Trace:',
        ...frames.slice(1).map((fn) => ` ${fn}+0x30/0x90`),
        ' do_syscall_64+0x3b/0xb0',
      ]
        .map((line, i) => `[  100.${String(i).padStart(6, '0')}] ${line}`)
        .join('\n'),
    ).primary!.title;

  it('skips a generic helper wherever its name holds one (a filesystem\'s own lock wrapper too), as syzbot does', () => {
    expect(gpfIn(['reiserfs_write_lock', 'reiserfs_readdir_inode', 'iterate_dir'])).to.equal('general protection fault in reiserfs_readdir_inode');
    expect(gpfIn(['iput', 'ntfs_fill_super', 'mount_bdev'])).to.equal('general protection fault in ntfs_fill_super');
  });

  it('keeps a function that only starts like a helper, and instrumentation the trace runs through', () => {
    expect(gpfIn(['l2cap_sock_teardown_cb', 'l2cap_chan_del'])).to.equal('general protection fault in l2cap_sock_teardown_cb');
    expect(gpfIn(['write_comp_data', 'foo_parse'])).to.equal('general protection fault in write_comp_data');
  });

  it('tells a call-trace line without reading its name exactly when reading it finds a trace frame (every corpus and fixture line)', () => {
    const corpus = fileURLToPath(new URL('../../../shared/corpus/syzkaller-linux/', import.meta.url));
    const logs = [...readConsoleFixtures(corpus, (name) => /^\d+$/.test(name)), ...readConsoleFixtures(FIXTURES, (name) => name.endsWith('.txt'))];
    let traces = 0;
    let others = 0;
    for (const { name, log } of logs) {
      for (const line of log.split('\n')) {
        const message = stripConsolePrefix(line);
        const trace = parseFrame(message, 0)?.kind === 'trace';
        expect(isTraceFrame(message), `${name}: ${message}`).to.equal(trace);
        if (trace) traces++;
        else others++;
      }
    }
    // Both answers are common, so the agreement means something.
    expect(traces).to.be.greaterThan(10_000);
    expect(others).to.be.greaterThan(10_000);
  });

  it('reads Rust symbols back into Rust paths, without crate hashes', () => {
    expect(demangleRustSymbol('_RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process10update_ref')).to.equal('<rust_binder::process::Process>::update_ref');
    expect(demangleRustSymbol('_RNvXs1_CscPPBqWtAqum_11ashmem_rustNtB5_6AshmemNtNtCs43vyB533jt3_6kernel10miscdevice10MiscDevice4mmap')).to.equal(
      '<ashmem_rust::Ashmem as kernel::miscdevice::MiscDevice>::mmap',
    );
    expect(demangleRustSymbol('_RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind')).to.equal('__rustc::rust_begin_unwind');
    expect(demangleRustSymbol('_RINvNtCs1234_4core3ptr13drop_in_placeNtCs5678_6kernel4TaskEB4_')).to.equal('core::ptr::drop_in_place::<kernel::Task>');
    expect(demangleRustSymbol('_ZN4core9panicking9panic_fmt17h0123456789abcdefE')).to.equal('core::panicking::panic_fmt');
    expect(demangleRustSymbol('_RNvB99_3foo')).to.equal(null);
    expect(demangleRustSymbol('ext4_fill_super')).to.equal(null);
  });
});
