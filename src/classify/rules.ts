// The kernel-log rule table: how each kind of report starts, what it is called, its class and severity, and
// where in it the guilty function is. Adding a pattern means one row here plus one real log with its expected title.

import type { FaultClass, FaultSeverity } from '../model/fault.js';

/** Where a report's guilty function is found. */
export interface StackRule {
  /**
   * Sources, tried in order until one gives a function that is not skipped:
   * - `header`: the header pattern's `fn` group (`BUG: KASAN: … in FUNC+0x…`, `WARNING: … at file:line FUNC+0x…`);
   * - `at`: the first lockdep `at: FUNC+0x…` line (where the lock in question was taken);
   * - `pc`: the faulting instruction (`RIP:`, `pc :`, `PC is at`), then the link register;
   * - `trace`: the call trace, reliable frames only (`?` frames are stale).
   */
  from: readonly ('header' | 'at' | 'pc' | 'trace')[];
  /** Read the call trace only after the first line that matches (lockdep's `-> #0` chain, a leak's `backtrace:`). */
  after?: RegExp;
  /** …and only up to the first line after that which matches. */
  until?: RegExp;
  /** More functions that do not name the bug for this kind of report (the checker's own helpers). */
  skip?: RegExp;
  /**
   * `first` (default): the first function not skipped. `entry`, for stalls and lockups, where the CPU was caught
   * at a random point of a loop: the handler a system call dispatched to (the ioctl, read or write handler), else
   * the system call, else the first function not skipped.
   */
  pick?: 'first' | 'entry';
  /** A header's function alone is not enough: without a pc line or a call trace the report is truncated. */
  needsTrace?: boolean;
  /**
   * For `entry`: stacks that do not show where the report's own stall happened, so they never name it. Lines
   * matching `from` start a part of the report whose stacks are someone else's (an RCU stall's dump of its
   * starved grace-period kthread and of the CPU where it last ran); a task's stack printed by sched_show_task is
   * also someone else's (a preempted task that blocks the grace period), unless `ownTask` matches the line just
   * before it (`Task dump for CPU 1:`, the stalled CPU's own task). A `from` line's part ends where a CPU's stack
   * starts (`NMI backtrace for cpu 1`), or for a `oneStack` line after the one stack it announces. A stack that holds the reporter's own frames
   * (`selfDump`) is the detecting CPU's, and counts only when an interrupt caught code below them. With no
   * stack left, the report is corrupted: neither the trace nor the pc names it.
   */
  foreign?: { from: RegExp; oneStack: RegExp; ownTask: RegExp; selfDump: RegExp };
  /**
   * For `trace`: frames that name the report wherever they are in the trace, looked for before the first usable
   * frame (a task hung in `rtnl_lock` or in any of the RCU grace-period waits is one bug each, whoever waited).
   */
  names?: readonly { pattern: RegExp; name: string }[];
}

/** A value read from a report's body for the title (`Read`/`Write` of a KASAN report). */
export interface FieldRule {
  /** The first report line whose message matches gives group 1. */
  pattern: RegExp;
  /** Look at the header and at most this many lines after it (default: the whole report). */
  within?: number;
  /** The title can do without it (otherwise a missing field means the report is truncated: `fallbackTitle`). */
  optional?: boolean;
}

export interface KernelLogRule {
  /** Stable name, reported as KernelEvent.rule. */
  name: string;
  class: FaultClass;
  /** Overrides the class's default severity (FAULT_SEVERITY_ORDER in src/model/fault.ts). */
  severity?: FaultSeverity;
  /**
   * Literal text every header line of this rule contains (one of them, for a list). All rules' `header`s are
   * combined into one search, so lines without any of them are never matched against the patterns, and the
   * pattern of a rule is tried only on lines that hold one of its own.
   */
  header: string | readonly string[];
  /**
   * Matches the header line's message (console prefixes removed, leading blanks trimmed). Named group `fn`, when
   * present, is the function the header names.
   */
  pattern: RegExp;
  /** `{1}`…`{9}`: the header's groups; `{frame}`: the guilty function; `{NAME}`: a field. */
  title: string;
  /** Used instead of `title` when a field the title needs is missing from the report. */
  fallbackTitle?: string;
  /**
   * Used instead of `title` when nothing of the report's body was printed (the console cut it off after the header
   * and its banner: the kernel version line, rules of dashes): what the report is about is lost, so it is named by
   * its header (`WARNING: possible circular locking dependency detected`). The event is corrupted.
   */
  bareTitle?: string;
  /** Other titles for the same bug (same placeholders). */
  alt?: readonly string[];
  /** Present when the title names a function (`{frame}`); without a readable one the title ends `in corrupted`. */
  stack?: StackRule;
  fields?: Readonly<Record<string, FieldRule>>;
  /** Values that are spelled differently in titles (`double-free` → `invalid-free`: one bug, one title). */
  aliases?: Readonly<Record<string, string>>;
  /**
   * `report` (default): the report runs until an end marker (`---[ end trace`, KASAN's closing `====`), the next
   * report, or 300 lines. `line`: the header line is the whole report. `block`: the header and the lines right
   * after it that match `continues`.
   */
  shape?: 'report' | 'line' | 'block';
  /** For `block`: lines that still belong to the report. */
  continues?: RegExp;
  /** An extra line that ends this kind of report (kept in the report). */
  end?: RegExp;
  /**
   * The header is often printed as a consequence of another report, and then continues that report instead of
   * starting a new one: `always` (a kernel panic ends whatever report is open), or `before-stack` (`kernel BUG at`
   * after a usercopy report, `Internal error: Oops` after `Unable to handle kernel paging request`: only while the
   * open report has not printed its call trace yet).
   */
  followUp?: 'always' | 'before-stack';
  /**
   * With `before-stack`: a header whose message matches this continues the open report even after its stack (a
   * panic that names a report as its cause: `panic_on_warn set`, `Fatal exception`, `softlockup: hung tasks`). Any
   * other header after the stack starts a report of its own (`sysrq triggered crash` after a soft lockup).
   */
  followUpWhen?: RegExp;
  /** Lines of the finished report that turn it into another rule's event (a memory-cgroup OOM kill). */
  refine?: readonly { when: RegExp; rule: string }[];
  /**
   * A report of this kind may run longer than MAX_REPORT_LINES: a stack that ran out prints every frame of the deep
   * call chain, and where the chain started is at its end.
   */
  maxLines?: number;
  /** The header must start a message: a header word in the middle of a line (`…accessgeneral protection fault`) is not one. */
  anchored?: boolean;
  /**
   * A line where a machine starts rather than a report, handled by what came before it in the log:
   * - `firmware`: the firmware's or boot loader's first banner. Up to the kernel's first words, what the console
   *   shows is the machine starting, not output of a running system. No event.
   * - `journal`: a journal's own boundary between boots (`-- Boot 1a2b… --`): the log starts over. No event.
   * - `{ after }`: the first words of a new kernel. An event only when, before it (and before the firmware of this
   *   start), the log showed the machine running (`output`: any line; `kernel`: the kernel's own timestamped
   *   lines) and nothing explained a restart: no fatal report, no orderly `reboot:`, no restart the watcher was
   *   told of (a power cycle). Otherwise the machine was reset under the running system: a triple fault, a
   *   hardware watchdog, a hypervisor's reset.
   */
  boot?: 'firmware' | 'journal' | { after: 'output' | 'kernel' };
}

/**
 * Where a warning points: `WARNING: CPU: 0 PID: 1 at FILE:LINE FUNC+0x…`, `WARNING: [cond] FILE:LINE at FUNC+0x…,
 * CPU#0: …` (6.x) or `WARNING: at FILE:LINE FUNC+0x…()` (before 3.x).
 */
/** A function name in a header; not a bare address (`0xffffffffc0123456`, code in a module without symbols). */
const FN = String.raw`(?!0x[0-9a-f])[\w.$]+`;
const WARNING_AT = String.raw`WARNING: (?:CPU: \d+ PID: -?\d+ at (?<file>\S+?):\d+ (?<fn>${FN})?|(?:\[.*\] )?(?<file2>\S+?):\d+ at (?<fn2>${FN})?|at (?<file3>\S+?):\d+ (?<fn3>${FN})?)`;
const warningAt = (file: string, fn = '') =>
  new RegExp(`^WARNING: (?:CPU: \\d+ PID: -?\\d+ at ${file}:\\d+ ${fn}|(?:\\[.*\\] )?${file}:\\d+ at ${fn}|at ${file}:\\d+ ${fn})`);
/** KASAN's `Read of size 8 at addr …` (or `Write at addr …` for tag-based KASAN). */
const KASAN_ACCESS: FieldRule = { pattern: /^(Read|Write) (?:of size \d+|at addr)/, within: 8 };
/** syzbot reports a double free as an invalid free: it is the same bug whichever free came second. */
const KASAN_ALIASES = { 'double-free': 'invalid-free' };
/** `[#1]`-style oops counter that every oops header ends with. */
const OOPS_COUNT = String.raw`[0-9a-f]+ \[#\d+\]`;
/**
 * Panic messages that name the report before them as their cause: panic_on_warn and panic_on_oops, the watchdogs'
 * panics (softlockup_panic, hardlockup_panic, hung_task_panic, panic_on_rcu_stall), panic_on_oom, killing init or
 * an interrupt handler in an oops, and the sanitizers' and stack checks' own panics.
 */
const PANIC_CAUSED_BY_REPORT =
  /^Kernel panic - not syncing: (?:.*panic_on_\w+|.*Fatal exception|Oops\b|.*(?:soft|hard)lockup|Hard LOCKUP|hung_task|RCU Stall|.*rcu_\w+ detected|Attempted to kill|Aiee|scheduling while atomic|bad mode|Machine halted|KASAN|KMSAN|KFENCE|KCSAN|UBSAN|kfence|.*stack|.*double fault|Out of memory|System is deadlocked on memory|.*BUG)/;
/** A lockdep report's call trace, or its `at:` lines when the trace is missing. */
const LOCKDEP_STACK: StackRule = { from: ['at', 'trace'], after: /^stack backtrace:/ };
const LOCKDEP_TRACE: StackRule = { from: ['trace', 'at'], after: /^stack backtrace:/ };
const OOPS_STACK: StackRule = { from: ['pc', 'trace'] };
/** A stall's stacks, else the instruction the CPU was caught at (a kthread of a module spinning shows only `kthread` below it). */
const STALL_STACK: StackRule = { from: ['trace', 'pc'], pick: 'entry' };
/** An RCU stall names the stalled CPU's stack only: see StackRule.foreign. */
const RCU_STALL_STACK: StackRule = {
  ...STALL_STACK,
  foreign: {
    from: /^(?:rcu: )?(?:RCU grace-period kthread stack dump:|Stack dump where RCU GP kthread last ran:|\S+ kthread starved for)/,
    oneStack: /Stack dump where RCU GP kthread last ran/,
    ownTask: /^Task dump for CPU \d+:/,
    selfDump: /^(?:_?sched_show_task|dump_cpu_task|rcu_dump_cpu_stacks|rcu_exp_wait_wake|synchronize_rcu_expedited|print_other_cpu_stall)$/,
  },
};
/**
 * A stack that ran out names where the deep call chain started (the system call, work item or netlink message
 * handler), like a stall: the frame where it overflowed is arbitrary.
 */
const STACK_EXHAUSTED: StackRule = { from: ['trace'], pick: 'entry' };
/** How long a report of an exhausted stack may run: a kernel stack holds a few thousand frames at most. */
const STACK_EXHAUSTED_LINES = 4000;
/** The lines btrfs prints about one problem, after its first. */
const BTRFS_ERROR_LINE = /^BTRFS (?:critical|error|warning|info) \(device [^)]+\): (?:corrupt (?:leaf|node)|read time tree block corruption|write time tree block corruption|read error corrected|block=|failed to|unable to|parent transid verify failed)/;
/** XFS prints a burst of lines per problem, all `XFS (dev): …`. */
const XFS_LINE = /^(?:XFS(?: \([^)]+\))?: |[0-9a-f]{8}: )/;
/** A kmemleak report names the first caller that is not itself an allocator (`sk_alloc`, `__alloc_skb`, …). */
const LEAK_STACK: StackRule = {
  from: ['trace'],
  after: /^\s*backtrace/,
  skip: /kmemleak|kmalloc|kcalloc|kzalloc|vmalloc|mmap|kmem|slab|alloc|create_object|idr_get|list_lru_init|kasprintf|kvasprintf|pcpu_create|strdup|strndup|memdup/,
};
/**
 * A hung task is a victim: it names the lock or wait it is stuck in, not the scheduler, lock or wait helpers on the
 * way (syzbot's hung-task convention: `rtnl_lock` and the RCU grace-period waits are buckets of their own).
 */
const HUNG_STACK: StackRule = {
  from: ['trace'],
  names: [
    { pattern: /rtnl_lock/, name: 'rtnl_lock' },
    { pattern: /synchronize_(?:rcu|srcu|net|sched)/, name: 'synchronize_rcu' },
  ],
  skip: /sched|_lock|_slowlock|down|rwsem|completion|kthread|wait|synchronize|context_switch|__switch_to|cancel_delayed_work|rcu_barrier/,
};
/** Frames of hardware tag-based KASAN's fault path (arm64 MTE), before the access it caught. */
const KASAN_SKIP = /kernel_fault|tag_check|mem_abort|^el1_|^el1h_/;
/**
 * KMSAN names the code that used the uninitialised value, not the generic socket buffer and netlink code, nor the
 * generic crypto routines where many users' data meet.
 */
const KMSAN_SKIP = /alloc_skb|netlink_ack|netlink_rcv_skb|_encrypt$|^(?:crypto|cipher|drbg|rng)_/;
/** Lock debugging named after a socket's user, not the socket lock's own helpers. */
const SOCKET_LOCK_SKIP = /lock_sock|release_sock/;
/** Debug objects report the object's owner, not the timer, work, RCU, allocator or kobject code that checked it. */
const ODEBUG_SKIP = /debug_|rcu|hrtimer_|timer_|work_|percpu_|kmem_|slab_|kfree|vunmap|vfree|__free_|kobject_/;
/** Suspicious RCU usage names the caller, not the RCU or allocator code it went through. */
const RCU_USAGE_SKIP = /rcu|kmem|slab|kmalloc|vmalloc|kcalloc|kzalloc/;

/**
 * The table, most specific rows first: a header line is matched against the rows in order and the first row that
 * matches wins. Titles follow syzbot's conventions, so a title can be looked up there.
 */
export const KERNEL_LOG_RULES: readonly KernelLogRule[] = [
  // ---- Panics --------------------------------------------------------------------------------------------------
  {
    name: 'stack-protector',
    class: 'PANIC',
    header: 'Kernel panic - not syncing',
    pattern: /^Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: (?:[0-9a-f]{8,16}\b|(?<fn>[\w.$]+))?/,
    title: 'kernel panic: stack is corrupted in {frame}',
    stack: { from: ['header', 'trace'], skip: /^__stack_chk_fail/ },
  },
  {
    name: 'corrupted-stack-end',
    class: 'PANIC',
    header: 'Kernel panic - not syncing',
    pattern: /^Kernel panic - not syncing: corrupted stack end detected inside scheduler/,
    title: 'kernel panic: corrupted stack end in {frame}',
    stack: STACK_EXHAUSTED,
    maxLines: STACK_EXHAUSTED_LINES,
  },
  {
    name: 'kernel-stack-overflow',
    class: 'PANIC',
    header: 'Kernel panic - not syncing',
    pattern: /^Kernel panic - not syncing: kernel stack overflow/,
    title: 'kernel stack overflow in {frame}',
    stack: { ...STACK_EXHAUSTED, skip: /^(?:handle_stack_overflow|exc_double_fault|asm_exc_double_fault|df_debug|panic_bad_stack)$/ },
    maxLines: STACK_EXHAUSTED_LINES,
  },
  {
    name: 'double-fault',
    class: 'PANIC',
    header: 'PANIC: double fault',
    pattern: /^PANIC: double fault/,
    title: 'PANIC: double fault in {frame}',
    stack: OOPS_STACK,
  },
  {
    name: 'trusty-assert',
    class: 'PANIC',
    header: 'trusty: panic',
    pattern: /^trusty: panic .*?ASSERT FAILED at \(.*?\): (.*)$/,
    title: 'trusty: ASSERT FAILED: {1}',
  },
  {
    name: 'trusty-panic',
    class: 'PANIC',
    header: 'trusty: panic',
    pattern: /^trusty: panic \(.*?\): (.+?)\s*$/,
    title: 'trusty: panic: {1}',
  },
  {
    // The console's tty could not get its line discipline back: named without the tty and the error.
    name: 'n-tty-ldisc-panic',
    class: 'PANIC',
    header: 'Kernel panic - not syncing',
    pattern: /^Kernel panic - not syncing: Couldn't open N_TTY ldisc/,
    title: "kernel panic: Couldn't open N_TTY ldisc",
    followUp: 'before-stack',
    followUpWhen: PANIC_CAUSED_BY_REPORT,
  },
  {
    // Any other panic. An open report absorbs the panic it caused (`panic_on_warn set`, `Fatal exception`, a
    // watchdog's panic): it is how that report ended, and it makes that report's event fatal. A panic for a reason
    // of its own (`sysrq triggered crash`) after the report's stack is a report of its own.
    name: 'kernel-panic',
    class: 'PANIC',
    header: 'Kernel panic - not syncing',
    pattern: /^Kernel panic - not syncing: (.*?)(?: exitcode=0x[0-9a-f]+|:? in interrupt)?\.?\s*$/,
    title: 'kernel panic: {1}',
    followUp: 'before-stack',
    followUpWhen: PANIC_CAUSED_BY_REPORT,
  },

  // ---- Oopses --------------------------------------------------------------------------------------------------
  {
    // A Rust panic (`rust_kernel: panicked at drivers/android/binder/node.rs:877:13:`, the message on the next
    // line), which then BUG()s: named by its message and the Rust function that panicked, past the panic machinery.
    name: 'rust-panic',
    class: 'OOPS',
    header: 'rust_kernel: panicked',
    pattern: /^rust_kernel: panicked\b/,
    title: '{message} in {frame}',
    fallbackTitle: 'rust_kernel: panicked in {frame}',
    fields: { message: { pattern: /^(?!rust_kernel: panicked)(\S.*?)\s*$/, within: 1 } },
    stack: { from: ['trace'], skip: /rust_begin_unwind/ },
  },
  {
    name: 'null-deref',
    class: 'OOPS',
    // x86 (`BUG: kernel NULL pointer dereference, address: …` since 5.x), arm and arm64, powerpc (`BUG: Kernel NULL
    // pointer dereference on read at 0x…`).
    header: ['BUG: unable to handle kernel NULL', 'BUG: kernel NULL pointer', 'BUG: Kernel NULL pointer', 'Unable to handle kernel NULL'],
    pattern: /^(?:BUG: unable to handle kernel NULL pointer dereference|BUG: kernel NULL pointer dereference, address|BUG: Kernel NULL pointer dereference (?:on (?:read|write) )?at 0x|Unable to handle kernel NULL pointer dereference at virtual address)/,
    title: 'BUG: unable to handle kernel NULL pointer dereference in {frame}',
    stack: OOPS_STACK,
  },
  {
    // A kernel access to a user address outside the uaccess helpers: riscv's `… without uaccess routines at virtual
    // address …` (then `Oops [#1]`), arm64's `… outside uaccess routines at virtual address …`.
    name: 'user-memory-access',
    class: 'OOPS',
    header: 'Unable to handle kernel access to user memory',
    pattern: /^Unable to handle kernel access to user memory (?:without|outside) uaccess routines/,
    title: 'BUG: unable to handle kernel access to user memory in {frame}',
    stack: OOPS_STACK,
  },
  {
    name: 'paging-request',
    class: 'OOPS',
    // x86 (`BUG: unable to handle page fault for address: …` since 5.x), arm and arm64 (`Unable to handle kernel
    // paging request at virtual address …`, and the other reasons of arm64's die_kernel_fault: `execute from
    // non-executable memory`, `write to read-only memory`, …), riscv, MIPS (`CPU 0 Unable to handle kernel paging
    // request at virtual address …, epc == …`), older powerpc (`… paging request for data at address 0x…`), powerpc
    // (`BUG: Unable to handle kernel data access on read at 0x…`, `… instruction fetch`) and s390.
    header: ['BUG: unable to handle', 'BUG: Unable to handle kernel', 'Unable to handle kernel'],
    pattern: /^(?:BUG: unable to handle (?:kernel paging request|page fault for address)|BUG: Unable to handle (?:kernel (?:data access|instruction fetch)|unknown paging fault)|(?:CPU \d+ )?Unable to handle kernel (?:paging request (?:at|for)|[a-z][\w -]*? at virtual address)|Unable to handle kernel pointer dereference in virtual (?:kernel|user) address space)/,
    title: 'BUG: unable to handle kernel paging request in {frame}',
    stack: OOPS_STACK,
  },
  {
    // The console cut off in the middle of the header: what kind of fault it was is lost.
    name: 'truncated-oops',
    class: 'OOPS',
    header: 'BUG: unable to handle',
    pattern: /^BUG: unable to handle kernel\s*$/,
    title: 'BUG: unable to handle kernel',
  },
  {
    name: 'gpf',
    class: 'OOPS',
    header: 'general protection fault',
    pattern: new RegExp(`^(?:Oops: )?(?:segment-related )?general protection fault(?:, (?:probably for non-canonical address|maybe for address) 0x[0-9a-f]+)?: ${OOPS_COUNT}`),
    title: 'general protection fault in {frame}',
    stack: OOPS_STACK,
  },
  {
    // KASAN's line about a wild pointer, printed right after a general protection fault's header (and taken for
    // that report's header when interleaving garbled it).
    name: 'kasan-gpf',
    class: 'OOPS',
    header: 'KASAN: ',
    pattern: /^KASAN: (?:null-ptr-deref|maybe wild-memory-access|probably user-memory-access) in range \[/,
    title: 'general protection fault in {frame}',
    stack: OOPS_STACK,
    followUp: 'before-stack',
  },
  {
    name: 'bad-usercopy',
    class: 'OOPS',
    header: ['kernel BUG at', 'usercopy: Kernel memory'],
    pattern: /^(?:kernel BUG at mm\/usercopy\.c:\d+!|usercopy: Kernel memory (?:exposure|overwrite) attempt detected)/,
    title: 'BUG: bad usercopy in {frame}',
    stack: { from: ['pc', 'trace'], skip: /^(?:usercopy_\w+|__check_\w+|check_\w+_object|check_heap_object)$/ },
  },
  {
    name: 'corrupted-list',
    class: 'OOPS',
    header: ['kernel BUG at', 'list_add corruption', 'list_del corruption'],
    pattern: /^(?:kernel BUG at lib\/list_debug\.c:\d+!|list_(?:add|del) corruption)/,
    title: 'BUG: corrupted list in {frame}',
    stack: OOPS_STACK,
  },
  {
    name: 'skb-panic',
    class: 'OOPS',
    header: 'skbuff: skb_',
    pattern: /^skbuff: skb_(?:over|under)_panic: /,
    title: 'kernel BUG in {frame}',
    stack: { from: ['pc', 'trace'], skip: /^(?:skb_panic|skb_over_panic|skb_under_panic|skb_put|skb_push|__skb_put|__skb_push)$/ },
  },
  {
    name: 'fortify-panic',
    class: 'OOPS',
    header: 'detected buffer overflow',
    pattern: /^detected buffer overflow in \w+/,
    title: 'kernel BUG in {frame}',
    stack: OOPS_STACK,
  },
  {
    name: 'kernel-bug',
    class: 'OOPS',
    header: 'kernel BUG at',
    pattern: /^[kK]ernel BUG at (\S+?)(?::\d+)?!?(?:\s|$)/,
    title: 'kernel BUG in {frame}',
    // The skb helpers' BUG_ON()s check their caller's arithmetic.
    stack: { ...OOPS_STACK, skip: /^skb_/ },
    followUp: 'before-stack',
  },
  {
    // riscv's BUG() trap (`Kernel BUG [#1]`), right after `kernel BUG at file:line!` when that was printed.
    name: 'kernel-bug-trap',
    class: 'OOPS',
    header: 'Kernel BUG [#',
    pattern: /^Kernel BUG \[#\d+\]\s*$/,
    title: 'kernel BUG in {frame}',
    stack: OOPS_STACK,
    followUp: 'before-stack',
    anchored: true,
  },
  {
    // x86's die() after a stack overflow, right after `BUG: stack guard page was hit at …` when that was printed:
    // `kernel stack overflow (double-fault): 0000 [#1]`, `kernel stack overflow (page fault): …` (4.x), `Oops:
    // stack guard page: 0000 [#1]` (6.x).
    name: 'stack-overflow-oops',
    class: 'OOPS',
    header: ['kernel stack overflow (', 'stack guard page: '],
    pattern: new RegExp(`^(?:Oops: )?(?:kernel stack overflow \\((?:double-fault|page fault)\\)|stack guard page): ${OOPS_COUNT}`),
    title: 'BUG: stack guard page was hit in {frame}',
    alt: ['stack-overflow in {frame}'],
    stack: STACK_EXHAUSTED,
    maxLines: STACK_EXHAUSTED_LINES,
    followUp: 'before-stack',
  },
  {
    // s390's program checks in kernel mode: `Low-address protection: 0004 ilc:2 [#1]`, `illegal operation: 0001
    // ilc:1 [#1]`, `monitor event: 0040 ilc:2 [#1]` (BUG()), `Translation specification: …`.
    name: 's390-program-check',
    class: 'OOPS',
    header: ' ilc:',
    pattern: new RegExp(`^(?!Oops)([A-Za-z][\\w -]*?): [0-9a-f]{4} ilc:\\d \\[#\\d+\\]`),
    title: '{1} in {frame}',
    stack: OOPS_STACK,
    followUp: 'before-stack',
    anchored: true,
  },
  {
    name: 'invalid-opcode',
    class: 'OOPS',
    header: 'invalid opcode',
    pattern: new RegExp(`^(?:Oops: )?invalid opcode: ${OOPS_COUNT}`),
    title: 'invalid opcode in {frame}',
    stack: OOPS_STACK,
    followUp: 'before-stack',
  },
  {
    name: 'divide-error',
    class: 'OOPS',
    header: ['divide error', 'divide_error'],
    pattern: new RegExp(`^(?:Oops: )?divide(?: |_)error: ${OOPS_COUNT}`),
    title: 'divide error in {frame}',
    stack: OOPS_STACK,
  },
  {
    // x86's stack segment fault (#SS), printed like a general protection fault.
    name: 'stack-segment',
    class: 'OOPS',
    header: 'stack segment: ',
    pattern: new RegExp(`^(?:Oops: )?stack segment: ${OOPS_COUNT}`),
    title: 'stack segment fault in {frame}',
    stack: OOPS_STACK,
  },
  {
    name: 'int3',
    class: 'OOPS',
    header: 'int3',
    pattern: new RegExp(`^(?:Oops: )?int3: ${OOPS_COUNT}`),
    title: 'int3 in {frame}',
    stack: OOPS_STACK,
  },
  {
    name: 'stack-guard-page',
    class: 'OOPS',
    header: ['BUG: stack guard page', 'BUG: TASK stack guard page', 'BUG: IRQ stack guard page'],
    pattern: /^BUG: (?:TASK |IRQ )?stack guard page was hit at/,
    title: 'BUG: stack guard page was hit in {frame}',
    stack: STACK_EXHAUSTED,
    maxLines: STACK_EXHAUSTED_LINES,
  },
  {
    name: 'unhandled-fault',
    class: 'OOPS',
    header: 'Unhandled fault',
    pattern: /^Unhandled fault: /,
    title: 'Unhandled fault in {frame}',
    stack: OOPS_STACK,
  },
  {
    name: 'alignment-trap',
    class: 'OOPS',
    header: 'Alignment trap',
    pattern: /^Alignment trap: /,
    title: 'Alignment trap in {frame}',
    stack: OOPS_STACK,
  },
  {
    name: 'internal-error',
    class: 'OOPS',
    header: 'Internal error',
    pattern: new RegExp(`^Internal error: .*${OOPS_COUNT}`),
    title: 'Internal error in {frame}',
    stack: OOPS_STACK,
    followUp: 'before-stack',
  },
  {
    name: 'generic-oops',
    class: 'OOPS',
    // `Oops: 0000 [#1]`, arm's `Oops - BUG: …`, powerpc's `Oops: Kernel access of bad area, sig: 11 [#1]`, s390's
    // `Oops: 0004 ilc:3 [#1]`, and riscv's die(), which prints its reason with no colon: `Oops [#1]`, `Oops - illegal
    // instruction [#1]`, `Oops - store (or AMO) access fault [#1]`.
    header: 'Oops',
    pattern: /^Oops(?:(?: - [\w /]+)?: .*?\[#\d+\]| - [^[]*? \[#\d+\]\s*$| \[#\d+\]\s*$)/,
    title: 'BUG: unable to handle kernel in {frame}',
    stack: OOPS_STACK,
    followUp: 'before-stack',
  },
  {
    name: 'atomic-sleep',
    class: 'OOPS',
    severity: 'degraded',
    header: 'BUG: sleeping function',
    pattern: /^BUG: sleeping function called from invalid context/,
    title: 'BUG: sleeping function called from invalid context in {frame}',
    stack: { from: ['trace'] },
  },
  {
    name: 'scheduling-while-atomic',
    class: 'OOPS',
    severity: 'degraded',
    header: 'BUG: scheduling while atomic',
    pattern: /^BUG: scheduling while atomic/,
    title: 'BUG: scheduling while atomic in {frame}',
    stack: { from: ['trace'], skip: /schedule/ },
  },
  {
    name: 'bad-page-state',
    class: 'OOPS',
    severity: 'degraded',
    header: 'BUG: Bad page',
    pattern: /^BUG: Bad page (state|cache)/,
    title: 'BUG: Bad page {1} in {frame}',
    // Named after whoever allocated the page (page_owner's `page last allocated` stack), past the page allocator
    // and the page and folio helpers on the way; without that stack the report cannot say.
    stack: { from: ['trace'], after: /^page last allocated/, until: /^page last free/, skip: /(?:free|put|get|update|release)_page|free_unref|^_*folio|truncate_inode_pages|page_frag_free|alloc|vmap|page_owner/ },
  },
  {
    name: 'bad-page-map',
    class: 'OOPS',
    severity: 'degraded',
    header: 'BUG: Bad page map',
    pattern: /^BUG: Bad page map/,
    title: 'BUG: Bad page map',
  },
  {
    name: 'bad-rss-counter',
    class: 'OOPS',
    severity: 'degraded',
    header: 'BUG: Bad rss-counter',
    pattern: /^BUG: Bad rss-counter state/,
    title: 'BUG: Bad rss-counter state',
    shape: 'line',
  },
  {
    name: 'dentry-in-use',
    class: 'OOPS',
    header: 'BUG: Dentry',
    pattern: /^BUG: Dentry .*still in use \(-?\d+\) \[(unmount) of/,
    title: 'BUG: Dentry still in use in {1}',
  },

  // ---- Memory safety: sanitizers and slab debugging -----------------------------------------------------------
  {
    // The 4.x format: the address on the header line, `Read of size N by task` below (missing when truncated).
    name: 'kasan-at-addr',
    class: 'MEMORY_SAFETY',
    header: 'BUG: KASAN',
    pattern: /^BUG: KASAN: ([\w-]+) in (?<fn>[\w.$]+)(?:\+0x[0-9a-f]+\/0x[0-9a-f]+)? (at addr [0-9a-f]+)/,
    title: 'KASAN: {1} {access} in {frame}',
    fallbackTitle: 'KASAN: {1} in {2} {3}',
    fields: { access: KASAN_ACCESS },
    aliases: KASAN_ALIASES,
    stack: { from: ['header', 'trace'], skip: KASAN_SKIP },
    end: /^={40,}$/,
  },
  {
    // A free of what was not allocated, or freed twice: named after the code that freed it, not the allocator's
    // free functions on the way.
    name: 'kasan-invalid-free',
    class: 'MEMORY_SAFETY',
    header: 'BUG: KASAN',
    pattern: /^BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in (?<fn>[\w.$]+)/,
    title: 'KASAN: invalid-free in {frame}',
    stack: { from: ['header', 'trace'], skip: /slab_|kfree|vunmap|vfree/ },
    end: /^={40,}$/,
  },
  {
    name: 'kasan',
    class: 'MEMORY_SAFETY',
    header: 'BUG: KASAN',
    pattern: /^BUG: KASAN: (?:double-free or )?([\w-]+) in (?<fn>[\w.$]+)/,
    title: 'KASAN: {1} {access} in {frame}',
    fields: { access: { ...KASAN_ACCESS, optional: true } },
    aliases: KASAN_ALIASES,
    stack: { from: ['header', 'trace'], skip: KASAN_SKIP },
    end: /^={40,}$/,
  },
  {
    name: 'kasan-on-address',
    class: 'MEMORY_SAFETY',
    header: 'BUG: KASAN',
    pattern: /^BUG: KASAN: ([\w-]+) on address/,
    title: 'KASAN: {1} {access}',
    fallbackTitle: 'KASAN: {1}',
    fields: { access: { pattern: /^(Read|Write) (?:of size \d+|at addr)/, within: 8 } },
    end: /^={40,}$/,
  },
  {
    // A leak to a USB device is named after the driver that sent it, not the USB core's send functions.
    name: 'kmsan-usb-infoleak',
    class: 'MEMORY_SAFETY',
    header: 'BUG: KMSAN',
    pattern: /^BUG: KMSAN: (kernel-usb-infoleak) in (?<fn>[\w.$]+)/,
    title: 'KMSAN: {1} in {frame}',
    stack: { from: ['header', 'trace'], skip: /alloc_skb|usb_submit_urb|usb_start_wait_urb|usb_bulk_msg|usb_interrupt_msg|usb_control_msg/ },
    end: /^={40,}$/,
  },
  {
    name: 'kmsan',
    class: 'MEMORY_SAFETY',
    header: 'BUG: KMSAN',
    pattern: /^BUG: KMSAN: ([\w-]+) in (?<fn>[\w.$]+)/,
    title: 'KMSAN: {1} in {frame}',
    stack: { from: ['header', 'trace'], skip: KMSAN_SKIP },
    end: /^={40,}$/,
  },
  {
    name: 'kfence',
    class: 'MEMORY_SAFETY',
    header: 'BUG: KFENCE',
    pattern: /^BUG: KFENCE: ([\w -]+?) in (?<fn>[\w.$]+)/,
    title: 'KFENCE: {1} in {frame}',
    stack: { from: ['header', 'trace'] },
    end: /^={40,}$/,
  },
  {
    name: 'kcsan',
    class: 'MEMORY_SAFETY',
    header: 'BUG: KCSAN',
    pattern: /^BUG: KCSAN: ([\w-]+) in ([\w.$]+)(?:\+0x[0-9a-f]+\/0x[0-9a-f]+)?( \/ [\w.$]+)?/,
    title: 'KCSAN: {1} in {2}{3}',
    end: /^={40,}$/,
  },
  {
    name: 'ubsan',
    class: 'MEMORY_SAFETY',
    header: 'UBSAN: ',
    pattern: /^UBSAN: (?:Undefined behaviour|([\w-]+)) in /,
    title: 'UBSAN: {kind} in {frame}',
    fields: { kind: { pattern: /^UBSAN: ([\w-]+) in /, within: 1 } },
    fallbackTitle: 'UBSAN: undefined-behaviour in {frame}',
    stack: { from: ['trace'], skip: /ubsan|overflow|handle_null_ptr_deref|val_to_string/ },
    end: /^={40,}$/,
  },
  {
    name: 'slab-bug',
    class: 'MEMORY_SAFETY',
    header: 'BUG ',
    pattern: /^BUG [\w-]+(?:\([\w-]+\))? \((?:Not tainted|Tainted: [^)]*)\): (?!kasan)(.*?)\s*$/,
    title: 'BUG: {1}',
  },
  {
    name: 'slab-object-info',
    class: 'MEMORY_SAFETY',
    header: ['INFO: Freed in', 'INFO: Allocated in'],
    pattern: /^INFO: (Freed|Allocated) in (?<fn>[\w.$]+)\S* (age=\d+ cpu=\d+ pid=\d+)/,
    title: 'INFO: {1} in {2} {3}',
  },

  // ---- Hangs ---------------------------------------------------------------------------------------------------
  {
    name: 'soft-lockup',
    class: 'SOFT_LOCKUP',
    header: 'BUG: soft lockup',
    pattern: /^(?:watchdog: |NMI watchdog: )?BUG: soft lockup - CPU#\d+ stuck for \d+s!/,
    title: 'BUG: soft lockup in {frame}',
    alt: ['stall in {frame}'],
    stack: STALL_STACK,
  },
  {
    name: 'hard-lockup',
    class: 'HARD_LOCKUP',
    header: ['Watchdog detected hard LOCKUP', 'Hard LOCKUP'],
    pattern: /^(?:(?:NMI watchdog: |watchdog: )?Watchdog detected hard LOCKUP on cpu \d+|Watchdog CPU:\d+ Hard LOCKUP)/,
    title: 'BUG: hard lockup in {frame}',
    alt: ['stall in {frame}'],
    stack: STALL_STACK,
    followUp: 'before-stack',
  },
  {
    name: 'rcu-stall',
    class: 'RCU_STALL',
    header: 'INFO: rcu_',
    pattern: /^(?:rcu: )?INFO: rcu_\w+ (?:self-)?detected (?:expedited )?stalls?/,
    title: 'INFO: rcu detected stall in {frame}',
    alt: ['stall in {frame}'],
    stack: RCU_STALL_STACK,
  },
  {
    name: 'hung-task',
    class: 'HUNG_TASK',
    header: 'INFO: task ',
    pattern: /^INFO: task \S.*:-?\d+ blocked for more than \d+ seconds/,
    title: 'INFO: task hung in {frame}',
    alt: ['hang in {frame}'],
    stack: HUNG_STACK,
  },
  {
    name: 'task-cant-die',
    class: 'HUNG_TASK',
    header: 'INFO: task ',
    pattern: /^INFO: task \S.*:-?\d+ can't die for more than \d+ seconds/,
    title: "INFO: task can't die in {frame}",
    alt: ['hang in {frame}'],
    stack: { from: ['trace'], skip: /schedule/ },
  },
  {
    name: 'workqueue-lockup',
    class: 'HUNG_TASK',
    header: 'BUG: workqueue lockup',
    pattern: /^BUG: workqueue lockup - pool/,
    title: 'BUG: workqueue lockup',
  },

  // ---- Lock debugging ------------------------------------------------------------------------------------------
  {
    name: 'lockdep-circular',
    class: 'LOCKDEP',
    header: 'possible circular locking dependency',
    pattern: /^(?:(WARNING): |\[ (INFO): )possible circular locking dependency detected/,
    title: 'possible deadlock in {frame}',
    bareTitle: '{1}{2}: possible circular locking dependency detected',
    // The workqueue functions take locks that stand for work items: a deadlock through them is their caller's.
    stack: { from: ['at', 'trace'], after: /^-> #0/, until: /^\s*$/, skip: /process_one_work|flush_workqueue|drain_workqueue|destroy_workqueue/ },
  },
  {
    name: 'lockdep-deadlock',
    class: 'LOCKDEP',
    header: ['possible recursive locking', 'lock inversion'],
    pattern: /^(?:(WARNING): |\[ (INFO): )(possible recursive locking detected|possible irq lock inversion dependency detected)/,
    title: 'possible deadlock in {frame}',
    bareTitle: '{1}{2}: {3}',
    stack: LOCKDEP_STACK,
  },
  {
    // Named after where the lock became irq-safe: taking it there while another CPU holds it is the deadlock.
    name: 'lockdep-irq-order',
    class: 'LOCKDEP',
    header: 'lock order detected',
    pattern: /^(?:WARNING: |\[ INFO: )(?:HARD|SOFT)IRQ-safe -> (?:HARD|SOFT)IRQ-unsafe lock order detected/,
    title: 'possible deadlock in {frame}',
    stack: { from: ['trace', 'at'], after: /which became \S+-irq-safe at:/ },
  },
  {
    name: 'lockdep-inconsistent',
    class: 'LOCKDEP',
    header: 'inconsistent lock state',
    pattern: /^(?:(WARNING): |\[ (INFO): )inconsistent lock state/,
    title: 'inconsistent lock state in {frame}',
    bareTitle: '{1}{2}: inconsistent lock state',
    stack: LOCKDEP_TRACE,
  },
  {
    name: 'lockdep-bug',
    class: 'LOCKDEP',
    header: ['held lock freed', 'bad unlock balance', 'lock held when returning'],
    // `[ BUG: bad unlock balance detected! ]` before 4.15, `WARNING: bad unlock balance detected!` since.
    pattern: /^(?:\[ )?(BUG|WARNING): (held lock freed|bad unlock balance|lock held when returning to user space)(?: detected)?!?/,
    title: '{1}: {2} in {frame}',
    stack: LOCKDEP_TRACE,
  },
  {
    // lockdep's `WARNING: Nested lock was not taken` (a nest_lock annotation without the outer lock held).
    name: 'lockdep-nested-lock',
    class: 'LOCKDEP',
    header: ['Nested lock was not taken', 'nested lock was not taken'],
    pattern: /^(?:\[ )?(BUG|WARNING): [Nn]ested lock was not taken/,
    title: '{1}: nested lock was not taken in {frame}',
    stack: LOCKDEP_TRACE,
  },
  {
    name: 'lockdep-invalid-wait-context',
    class: 'LOCKDEP',
    // `[ BUG: Invalid wait context ]` on x86, `BUG: Invalid wait context` on arm and arm64.
    header: 'BUG: Invalid wait context',
    pattern: /^(?:\[ )?BUG: Invalid wait context\b/,
    title: 'WARNING: locking bug in {frame}',
    stack: { ...LOCKDEP_TRACE, skip: SOCKET_LOCK_SKIP },
  },
  {
    name: 'lockdep-still-held',
    class: 'LOCKDEP',
    header: 'still has locks held!',
    // `BUG: …` before 4.15, `WARNING: …` since.
    pattern: /^(BUG|WARNING): \S.* still has locks held!/,
    title: '{1}: still has locks held in {frame}',
    stack: LOCKDEP_STACK,
  },
  {
    name: 'lockdep-suspicious-rcu',
    class: 'LOCKDEP',
    header: 'suspicious RCU usage',
    pattern: /^(?:(WARNING): |\[ (INFO): )suspicious RCU usage/,
    title: '{1}{2}: suspicious RCU usage in {frame}',
    bareTitle: '{1}{2}: suspicious RCU usage',
    stack: { from: ['trace'], after: /^stack backtrace:/, skip: RCU_USAGE_SKIP },
  },
  {
    name: 'lockdep-locking-bug',
    class: 'LOCKDEP',
    // lockdep's own checks failing in its lock_* entry points (`DEBUG_LOCKS_WARN_ON(…)`, then the WARNING).
    header: 'WARNING: ',
    pattern: /^WARNING: (?:CPU: \d+ PID: -?\d+ at |(?:\[.*\] )?)kernel\/locking\/lockdep\S*\.c:\d+ (?:at )?\S*lock_/,
    title: 'WARNING: locking bug in {frame}',
    stack: { ...OOPS_STACK, skip: SOCKET_LOCK_SKIP },
  },
  {
    name: 'spinlock-debug',
    class: 'LOCKDEP',
    header: ['BUG: spinlock', 'BUG: rwlock'],
    pattern: /^BUG: (spinlock|rwlock) (lockup suspected|recursion|bad magic|wrong CPU|wrong owner|already unlocked|cpu recursion|trylock failure on UP) on CPU#\d+/,
    title: 'BUG: {1} {2} in {frame}',
    // Named after the lock's user, not the spinlock code that checked it.
    stack: { from: ['trace'], skip: /spin_|_lock|_unlock/ },
  },
  {
    name: 'preemptible-code',
    class: 'LOCKDEP',
    header: 'BUG: using ',
    pattern: /^BUG: using ([\w()]+) in preemptible/,
    title: 'BUG: using {1} in preemptible code in {frame}',
    stack: { from: ['trace'], skip: /dump_stack|preempt|debug_|processor_id|this_cpu/ },
  },
  {
    name: 'non-static-key',
    class: 'LOCKDEP',
    header: 'INFO: trying to register non-static key',
    pattern: /^INFO: trying to register non-static key/,
    title: 'INFO: trying to register non-static key in {frame}',
    stack: { from: ['trace'], skip: /stack|lock|IRQ/ },
  },
  {
    name: 'workqueue-leaked-lock',
    class: 'LOCKDEP',
    header: 'BUG: workqueue leaked',
    pattern: /^BUG: workqueue leaked lock or atomic/,
    title: 'BUG: workqueue leaked lock or atomic in {fn}',
    fields: { fn: { pattern: /last function: ([\w.$]+)/, within: 4 } },
    fallbackTitle: 'BUG: workqueue leaked lock or atomic',
  },
  {
    // `BUG: key ffff88003c0d9b90 has not been registered!`, `… not in .data!`: a lock without a static key.
    name: 'lockdep-key',
    class: 'LOCKDEP',
    header: 'BUG: key ',
    pattern: /^BUG: key [0-9a-f]+ (has not been registered|not in \.data)!/,
    title: 'BUG: key {1}!',
  },
  {
    // lockdep's check of a lock's subclass (`BUG: looking up invalid subclass: 8`), printed with a stack.
    name: 'lockdep-invalid-subclass',
    class: 'LOCKDEP',
    header: 'BUG: looking up invalid subclass',
    pattern: /^BUG: looking up invalid subclass: (\d+)/,
    title: 'BUG: looking up invalid subclass in {frame}',
    stack: { from: ['trace'], skip: /^(?:look_up_lock_class|register_lock_class|__lock_acquire|lock_acquire\w*|lockdep_init_map\w*|_raw_\w+|__mutex_lock\w*|mutex_lock\w*|down_\w+|lock_sock\w*)$/ },
  },
  {
    name: 'lockdep-limit',
    class: 'LOCKDEP',
    header: 'BUG: MAX_',
    pattern: /^BUG: (MAX_\w+) too low!/,
    title: 'BUG: {1} too low!',
  },

  // ---- Warnings ------------------------------------------------------------------------------------------------
  {
    name: 'refcount-warning',
    class: 'WARNING',
    header: 'WARNING: ',
    pattern: warningAt('lib/refcount\\.c'),
    title: 'WARNING: refcount bug in {frame}',
    stack: { from: ['pc', 'trace'], needsTrace: true, skip: /refcount|kobject_/ },
  },
  {
    name: 'odebug',
    class: 'WARNING',
    header: 'ODEBUG: ',
    pattern: /^ODEBUG: \w+ \w+(?: \w+)? \(active state \d+\)/,
    title: 'WARNING: ODEBUG bug in {frame}',
    stack: { from: ['trace'], skip: ODEBUG_SKIP },
    // Kernels that print it through WARN() print it as the message after their `WARNING: … lib/debugobjects.c` line.
    followUp: 'before-stack',
  },
  {
    name: 'odebug-warning',
    class: 'WARNING',
    header: 'WARNING: ',
    pattern: warningAt('lib/debugobjects\\.c'),
    title: 'WARNING: ODEBUG bug in {frame}',
    stack: { from: ['pc', 'trace'], needsTrace: true, skip: ODEBUG_SKIP },
    followUp: 'before-stack',
  },
  {
    name: 'kmalloc-warning',
    class: 'WARNING',
    header: 'WARNING: ',
    pattern: warningAt('mm/\\S+', '(?:kmalloc_slab|kvmalloc_node\\w*|__kvmalloc_node\\w*|kmalloc_large\\w*|kmalloc_order\\w*|__kmalloc\\w*)\\+'),
    title: 'WARNING: kmalloc bug in {frame}',
    stack: { from: ['pc', 'trace'], needsTrace: true, skip: /kmalloc|kcalloc|kzalloc|krealloc|vmalloc|slab|kmem/ },
  },
  {
    // procfs refusing an entry (a duplicate name, a bad one): named after whoever registered it.
    name: 'proc-registration-warning',
    class: 'WARNING',
    header: 'WARNING: ',
    pattern: warningAt('fs/proc/generic\\.c'),
    title: 'WARNING: proc registration bug in {frame}',
    stack: { from: ['pc', 'trace'], skip: /proc_/, needsTrace: true },
  },
  {
    name: 'kobject-warning',
    class: 'WARNING',
    header: 'WARNING: ',
    pattern: warningAt('lib/kobject\\.c'),
    title: 'WARNING: kobject bug in {frame}',
    stack: { from: ['pc', 'trace'], skip: /^kobject_\w+$/, needsTrace: true },
  },
  {
    name: 'usercopy-warning',
    class: 'WARNING',
    header: 'WARNING: ',
    pattern: warningAt('mm/usercopy\\.c'),
    title: 'WARNING: bad usercopy in {frame}',
    stack: { from: ['pc', 'trace'], skip: /^(?:usercopy_\w+|__check_\w+|check_\w+_object)$/, needsTrace: true },
  },
  {
    name: 'zero-size-vmalloc',
    class: 'WARNING',
    header: 'WARNING: ',
    pattern: warningAt('mm/vmalloc\\.c', '__vmalloc_node_range\\w*\\+'),
    title: 'WARNING: zero-size vmalloc in {frame}',
    stack: { from: ['pc', 'trace'], skip: /^(?:__vmalloc_node\w*|vmalloc\w*|vzalloc\w*)$/, needsTrace: true },
  },
  {
    name: 'usb-submit-urb',
    class: 'WARNING',
    header: 'WARNING: ',
    pattern: warningAt('drivers/usb/core/urb\\.c', 'usb_submit_urb'),
    title: 'WARNING in {frame}/usb_submit_urb',
    stack: { from: ['pc', 'trace'], skip: /usb_submit_urb|usb_start_wait_urb|usb_bulk_msg|usb_interrupt_msg|usb_control_msg/ },
  },
  {
    name: 'bad-stack-frame-pointer',
    class: 'WARNING',
    header: 'WARNING: kernel stack',
    pattern: /^WARNING: kernel stack (frame pointer|regs) at [0-9a-f]+ in \S+ has bad ('bp' )?value/,
    title: 'WARNING: kernel stack {1} has bad {2}value',
  },
  {
    name: 'warning',
    class: 'WARNING',
    header: 'WARNING: ',
    pattern: new RegExp(`^${WARNING_AT}`),
    title: 'WARNING in {frame}',
    stack: { from: ['header', 'pc', 'trace'], needsTrace: true },
    end: /^---\[ end trace/,
    // Before 4.x the hard-lockup detector reported through WARN(): the message follows the WARNING line.
    refine: [{ when: /^Watchdog detected hard LOCKUP on cpu \d+/, rule: 'hard-lockup' }],
  },

  // ---- Leaks ---------------------------------------------------------------------------------------------------
  {
    name: 'netdev-unregister',
    class: 'NETDEV_LEAK',
    header: 'unregister_netdevice',
    pattern: /^unregister_netdevice: waiting for (\S+) to become free\. Usage count = -?\d+/,
    title: 'unregister_netdevice: waiting for DEV to become free',
    shape: 'line',
  },
  {
    name: 'kmemleak',
    class: 'LEAK',
    header: 'unreferenced object',
    pattern: /^unreferenced object 0x[0-9a-f]+ \(size \d+\):/,
    title: 'memory leak in {frame}',
    stack: LEAK_STACK,
    followUp: 'before-stack',
  },
  {
    name: 'memory-leak',
    class: 'LEAK',
    header: 'BUG: memory leak',
    pattern: /^BUG: memory leak$/,
    title: 'memory leak in {frame}',
    stack: LEAK_STACK,
  },

  // ---- Out of memory -------------------------------------------------------------------------------------------
  {
    name: 'oom-memcg',
    class: 'OOM',
    severity: 'info',
    header: 'Memory cgroup out of memory',
    pattern: /^Memory cgroup out of memory: Kill(?:ed)? process/,
    title: 'OOM kill in memory cgroup',
    shape: 'line',
  },
  {
    name: 'oom-memcg-kill',
    class: 'OOM',
    severity: 'info',
    header: 'oom-kill:constraint=CONSTRAINT_MEMCG',
    pattern: /^oom-kill:constraint=CONSTRAINT_MEMCG,.*oom_memcg=/,
    title: 'OOM kill in memory cgroup',
    shape: 'line',
  },
  {
    name: 'oom-killer',
    class: 'OOM',
    header: 'invoked oom-killer',
    pattern: /^\S.* invoked oom-killer: /,
    title: 'out of memory',
    end: /^(?:Memory cgroup out of memory: |Out of memory: )?Kill(?:ed)? process -?\d+/,
    // A memory cgroup's limit, not the host, ran out: the report says so in words, in its memcg lines or its stack.
    refine: [
      {
        when: /^(?:Memory cgroup out of memory|oom-kill:constraint=CONSTRAINT_MEMCG|Task in \S+ killed as a result of limit of \/|memory: usage \d+kB, limit \d+kB|(?:\[<[0-9a-f]+>\] )?(?:\? )?mem_cgroup_out_of_memory\+)/,
        rule: 'oom-memcg',
      },
    ],
  },
  {
    name: 'oom-kill',
    class: 'OOM',
    header: 'Out of memory: Kill',
    pattern: /^Out of memory: Kill(?:ed)? process/,
    title: 'out of memory',
    shape: 'line',
  },

  // ---- Filesystems ---------------------------------------------------------------------------------------------
  // Titles name the filesystem and what happened, never the device, so the same failure dedups across hosts.
  {
    // `EXT4-fs error (device sda1): ext4_lookup:1611: inode #2: comm ls: deleted inode referenced: 12`
    // `EXT4-fs error (device loop0) in __ext4_new_inode:1096: Journal has aborted` (__ext4_std_error)
    name: 'ext4-error',
    class: 'FS_ERROR',
    header: 'EXT4-fs error',
    pattern: /^EXT4-fs error \(device [^)]+\)/,
    title: 'EXT4-fs error in {fn}',
    fallbackTitle: 'EXT4-fs error',
    fields: { fn: { pattern: /^EXT4-fs error \(device [^)]+\)(?::| in) (\w+)(?::\d+)?:/, within: 0 } },
    shape: 'line',
  },
  {
    // `EXT4-fs (sda1): Remounting filesystem read-only` (errors=remount-ro after an error).
    name: 'ext4-remount-ro',
    class: 'FS_ERROR',
    header: 'EXT4-fs',
    pattern: /^EXT4-fs(?: error)? \([^)]+\): Remounting filesystem read-only/,
    title: 'EXT4-fs error: remounting filesystem read-only',
    shape: 'line',
  },
  {
    // `EXT4-fs (sda1): I/O error while writing superblock`, `… previous I/O error to superblock detected`
    name: 'ext4-io-error',
    class: 'FS_ERROR',
    header: 'EXT4-fs',
    pattern: /^EXT4-fs \([^)]+\): (?:previous )?I\/O error/,
    title: 'EXT4-fs error: I/O error',
    shape: 'line',
  },
  {
    // `Aborting journal on device sda1-8.` (jbd2, under ext4 and ocfs2)
    name: 'jbd2-abort',
    class: 'FS_ERROR',
    header: 'Aborting journal on device',
    pattern: /^Aborting journal on device \S+/,
    title: 'JBD2: aborting journal',
    shape: 'line',
  },
  {
    // `BTRFS critical (device sda): corrupt leaf: root=5 block=… slot=63 …` (the tree checker), with the
    // `read time tree block corruption detected` lines that follow it.
    name: 'btrfs-corrupt',
    class: 'FS_ERROR',
    header: 'BTRFS',
    pattern: /^BTRFS (?:critical|error) \(device [^)]+\): corrupt (leaf|node)/,
    title: 'BTRFS: corrupt {1}',
    shape: 'block',
    continues: BTRFS_ERROR_LINE,
  },
  {
    // `BTRFS: Transaction aborted (error -28)`: the WARNING that follows is an event of its own.
    name: 'btrfs-transaction-aborted',
    class: 'FS_ERROR',
    header: 'BTRFS: Transaction aborted',
    pattern: /^BTRFS: Transaction aborted \(error -?\d+\)/,
    title: 'BTRFS: transaction aborted',
    shape: 'line',
  },
  {
    // `BTRFS info (device sda3: state E): forced readonly`
    name: 'btrfs-forced-readonly',
    class: 'FS_ERROR',
    header: 'BTRFS',
    pattern: /^BTRFS(?: info| error| warning)? \(device [^)]+\): forced readonly/,
    title: 'BTRFS: forced readonly',
    shape: 'line',
  },
  {
    // `BTRFS: error (device sda) in __btrfs_free_extent:3105: errno=-2 No such entry`,
    // `BTRFS error (device vda3): parent transid verify failed on logical 60178432 mirror 1 wanted 13 found 0`
    name: 'btrfs-error',
    class: 'FS_ERROR',
    header: 'BTRFS',
    pattern: /^BTRFS(?: critical| error|: error) \(device [^)]+\)(?::| in) /,
    title: 'BTRFS error in {fn}',
    fallbackTitle: 'BTRFS error: {what}',
    fields: {
      fn: { pattern: /^BTRFS(?: critical| error|: error) \(device [^)]+\)(?::| in) (\w+):\d+/, within: 0 },
      what: { pattern: /^BTRFS(?: critical| error|: error) \(device [^)]+\): ([a-z][a-z ]*[a-z])/, within: 0, optional: true },
    },
    shape: 'line',
  },
  {
    // `XFS (dm-0): Log I/O Error Detected. Shutting down filesystem`, `Log I/O Error (0x6) detected at … Shutting
    // down filesystem.` (6.x), `xfs_do_force_shutdown(0x2) called from …`,
    // `Filesystem has been shut down due to log error (0x2).`, and `xfs_log_force: error -5 returned.` after it.
    name: 'xfs-shutdown',
    class: 'FS_ERROR',
    header: ['XFS (', 'XFS: '],
    pattern: /^XFS \([^)]+\): (?:Filesystem has been shut down|xfs_do_force_shutdown|Corruption of in-memory data detected|(?:Log |Metadata )?I\/O Error (?:\(0x[0-9a-f]+\) )?[Dd]etected|log I\/O error|xfs_log_force: error)/,
    title: 'XFS: filesystem shut down',
    shape: 'block',
    continues: XFS_LINE,
  },
  {
    // `XFS (dm-4): Internal error xfs_iunlink_remove at line 2038 …`, `Corruption detected. Unmount and run xfs_repair`,
    // `Metadata corruption detected at xfs_…`, `metadata I/O error …`; a shutdown in the same burst names it.
    name: 'xfs-corruption',
    class: 'FS_ERROR',
    header: ['XFS (', 'XFS: '],
    pattern: /^XFS(?: \([^)]+\))?: (?:Metadata corruption detected|Corruption detected|Metadata CRC error detected|Internal error|metadata I\/O error)/,
    title: 'XFS: corruption detected',
    shape: 'block',
    continues: XFS_LINE,
    refine: [{ when: /^XFS \([^)]+\): (?:xfs_do_force_shutdown|.*Shutting down filesystem|Filesystem has been shut down)/, rule: 'xfs-shutdown' }],
  },
  {
    // Errors of overlayfs, the container engines' storage: `overlayfs: lowerdir is in-use as upperdir/workdir`,
    // `overlayfs: failed to create directory …/work/work (errno: 13); mounting read-only`. Not the option parser's
    // complaints about a path it cannot resolve (a caller's mistake, printed for every bad mount request).
    name: 'overlayfs-error',
    class: 'FS_ERROR',
    header: 'overlayfs: ',
    pattern: /^overlayfs: (?!failed to resolve|missing |unrecognized |bad mount option)((?:failed to|cannot|can't|unable to)\b[\w ]*?|\w+ is in-use (?:as|by) [\w/ ]+?|[\w ]*\berror\b[\w ]*?|(?:orphan|invalid|corrupt)\w*\b[\w ]*?)(?=\s*['"(:;,.]|\s+\/|$)/,
    title: 'overlayfs: {1}',
    shape: 'line',
  },
  {
    name: 'vfs-busy-inodes',
    class: 'FS_ERROR',
    header: 'VFS: Busy inodes',
    pattern: /^VFS: Busy inodes after unmount/,
    title: 'VFS: Busy inodes after unmount (use-after-free)',
    shape: 'line',
  },
  {
    name: 'vfs-file-count',
    class: 'FS_ERROR',
    header: 'VFS: Close',
    pattern: /^VFS: Close: file count is 0/,
    title: 'VFS: Close: file count is zero (use-after-free)',
    shape: 'line',
  },

  // ---- Any other BUG ------------------------------------------------------------------------------------------
  {
    // The kernel's other one-line BUG reports (`BUG: Bad page cache in process …`, `BUG: non-zero pgtables_bytes on
    // freeing mm: -4096`): named by their words up to the first value. Last in the table, and only where a
    // message starts.
    name: 'bug',
    class: 'OOPS',
    severity: 'degraded',
    header: 'BUG: ',
    // Not syzkaller's own notes that use the word (`BUG: no syscalls can create resource fd_bpf_map`).
    pattern: /^BUG: (?!no syscalls can create resource)((?:[A-Za-z_][\w'()-]*!?(?=\s|$))(?: [A-Za-z_][\w'()-]*!?(?=\s|$))*(?: [A-Za-z_][\w'()-]*(?=:))?)/,
    title: 'BUG: {1}',
    anchored: true,
  },

  {
    // A header the console cut off right after its first word (`INFO:` and nothing more): a report was starting,
    // what kind is lost. Only a whole message (never a word inside a line), and never named after a frame.
    name: 'truncated-header',
    class: 'OOPS',
    severity: 'degraded',
    header: ['BUG:', 'INFO:', 'WARNING:'],
    pattern: /^(BUG|INFO|WARNING):\s*$/,
    title: '{1}: {frame}',
    stack: { from: ['header'] },
    anchored: true,
  },

  // ---- A machine starting ------------------------------------------------------------------------------------
  {
    // Firmware and boot loader banners (SeaBIOS, iPXE, OVMF's boot manager, GRUB, the EFI stub, the x86
    // decompressor's first words): a boot is under way.
    name: 'boot-firmware',
    class: 'REBOOT',
    severity: 'info',
    header: ['SeaBIOS (version', 'iPXE ', 'BdsDxe: ', 'GRUB', 'EFI stub: ', 'early console in ', 'Decompressing Linux', 'Booting from ', 'U-Boot '],
    pattern: /^(?:SeaBIOS \(version|iPXE |BdsDxe: |Welcome to GRUB|GNU GRUB|EFI stub: |early console in |Decompressing Linux|Booting from |U-Boot \d)/,
    title: 'machine starting',
    shape: 'line',
    anchored: true,
    boot: 'firmware',
  },
  {
    name: 'journal-boot',
    class: 'REBOOT',
    severity: 'info',
    header: '-- Boot ',
    pattern: /^-- Boot [0-9a-f]{32} --$/,
    title: 'journal boot',
    shape: 'line',
    anchored: true,
    boot: 'journal',
  },
  {
    // The x86 decompressor's last words, after the running system's output (syzbot's `unexpected kernel reboot`).
    name: 'unexpected-reboot',
    class: 'UNEXPECTED_REBOOT',
    header: 'Booting the kernel',
    pattern: /^Booting the kernel\b/,
    title: 'unexpected kernel reboot',
    shape: 'line',
    anchored: true,
    boot: { after: 'output' },
  },
  {
    // The kernel's first line, for consoles that do not show the decompressor: only after the previous kernel's own
    // lines (a pstore record or a boot's journal starts with this line after a header of its own).
    name: 'unexpected-reboot-banner',
    class: 'UNEXPECTED_REBOOT',
    header: 'Linux version ',
    pattern: /^Linux version \d+\.\d+\S* \(/,
    title: 'unexpected kernel reboot',
    shape: 'line',
    anchored: true,
    boot: { after: 'kernel' },
  },

  // ---- Orderly restarts ----------------------------------------------------------------------------------------
  {
    name: 'reboot',
    class: 'REBOOT',
    header: 'reboot: ',
    pattern: /^reboot: (Restarting system|Power down|System halted)/,
    title: 'reboot: {1}',
    shape: 'line',
  },
];
