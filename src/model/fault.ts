// Kernel and host fault classes, their severity order, and the KernelEvent a classified console log yields.

/**
 * Every fault class, one spelling everywhere (upper snake case). The first group is read from the kernel's own
 * console output; the last four are the harness's conclusions when the console has no (or no usable) evidence.
 */
export const FAULT_CLASSES = {
  PANIC: 'PANIC',
  OOPS: 'OOPS',
  MEMORY_SAFETY: 'MEMORY_SAFETY',
  SOFT_LOCKUP: 'SOFT_LOCKUP',
  HARD_LOCKUP: 'HARD_LOCKUP',
  RCU_STALL: 'RCU_STALL',
  HUNG_TASK: 'HUNG_TASK',
  LOCKDEP: 'LOCKDEP',
  WARNING: 'WARNING',
  NETDEV_LEAK: 'NETDEV_LEAK',
  OOM: 'OOM',
  FS_ERROR: 'FS_ERROR',
  LEAK: 'LEAK',
  REBOOT: 'REBOOT',
  LOST_CONNECTION: 'LOST_CONNECTION',
  NO_OUTPUT: 'NO_OUTPUT',
  UNEXPECTED_REBOOT: 'UNEXPECTED_REBOOT',
  HOST_UNREACHABLE: 'HOST_UNREACHABLE',
} as const;

export type FaultClass = (typeof FAULT_CLASSES)[keyof typeof FAULT_CLASSES];

/**
 * - `fatal`: the host (or the test's view of it) cannot be trusted to carry on: a test that saw it is an error.
 * - `degraded`: the kernel reported a bug or an error and carried on; the run goes on, the stack ranks lower.
 * - `info`: worth a line in the timeline, never a crash (an OOM kill inside a memory-limited container).
 */
export type FaultSeverity = 'fatal' | 'degraded' | 'info';

/**
 * The severity order, most severe first, with each class's default severity and whether its events make a log
 * count as crashed (`crash`): the kernel reported a bug or a failure, rather than a condition it handled itself (the
 * global OOM killer freeing memory) or information. A rule of the classifier may give one event another severity
 * than its class's default (a memory-cgroup OOM kill is `info`; an atomic-sleep BUG is an OOPS the kernel
 * survives); an event whose report contains a kernel panic is always fatal, and a fatal event is always a crash.
 *
 * Tie-break, so that "the most severe event" is the same on every run: first this order (a fatal event before a
 * degraded one before an info one, then by class position here), then the earlier event (lower `startLine`, or
 * for stream events lower `detectedAtMs`), then the title in code-unit order.
 */
export const FAULT_SEVERITY_ORDER: readonly { class: FaultClass; severity: FaultSeverity; crash: boolean }[] = [
  // The kernel stopped: `Kernel panic - not syncing`, a double fault, a failed assertion in a secure monitor.
  { class: 'PANIC', severity: 'fatal', crash: true },
  // The kernel's console went silent without a panic and the host stopped answering: no evidence is itself a fault.
  { class: 'LOST_CONNECTION', severity: 'fatal', crash: true },
  // The host came back with a new boot that nobody asked for (no orderly REBOOT before it).
  { class: 'UNEXPECTED_REBOOT', severity: 'fatal', crash: true },
  // A CPU stopped taking interrupts (NMI watchdog): usually the host is gone soon after.
  { class: 'HARD_LOCKUP', severity: 'fatal', crash: true },
  // An oops: BUG(), a NULL or wild pointer dereference, a general protection fault, an invalid opcode. The task
  // that hit it is killed, locks it held stay held.
  { class: 'OOPS', severity: 'fatal', crash: true },
  // A sanitizer caught memory corruption (KASAN, KMSAN, KFENCE, KCSAN, UBSAN, slab debugging): the kernel's
  // memory can no longer be trusted even if it carries on.
  { class: 'MEMORY_SAFETY', severity: 'fatal', crash: true },
  // A CPU spun in kernel mode for longer than the watchdog threshold.
  { class: 'SOFT_LOCKUP', severity: 'fatal', crash: true },
  // RCU grace periods stopped completing: memory is no longer freed, the host grinds to a halt.
  { class: 'RCU_STALL', severity: 'fatal', crash: true },
  // A task sat in uninterruptible sleep past hung_task_timeout_secs (a stuck filesystem, lock or device).
  { class: 'HUNG_TASK', severity: 'fatal', crash: true },
  // Console or kernel log produced nothing at all during the run: nothing can be concluded, which is a failure.
  { class: 'NO_OUTPUT', severity: 'fatal', crash: true },
  // The host could not be reached to start with.
  { class: 'HOST_UNREACHABLE', severity: 'fatal', crash: true },
  // A filesystem reported corruption or an I/O error and may have gone read-only or shut down.
  { class: 'FS_ERROR', severity: 'degraded', crash: true },
  // The global OOM killer ran: the host as a whole ran out of memory. The kernel coped, so it is no crash; an OOM
  // kill inside a memory cgroup is only information.
  { class: 'OOM', severity: 'degraded', crash: false },
  // A network device could not be unregistered because references leaked (stuck network namespace teardown).
  { class: 'NETDEV_LEAK', severity: 'degraded', crash: true },
  // Lock debugging found a deadlock risk or a locking rule broken (lockdep, spinlock debug, RCU lockdep).
  { class: 'LOCKDEP', severity: 'degraded', crash: true },
  // WARN_ON() and friends: the kernel found a state it did not expect and carried on.
  { class: 'WARNING', severity: 'degraded', crash: true },
  // kmemleak found unreferenced objects.
  { class: 'LEAK', severity: 'degraded', crash: true },
  // An orderly restart or power-off printed by the kernel (`reboot: Restarting system`).
  { class: 'REBOOT', severity: 'info', crash: false },
];

/** One report found in a console log: a crash, a warning, or an informational kernel event. */
export interface KernelEvent {
  class: FaultClass;
  /** Normalised title (addresses ADDR, numbers NUM, offsets dropped), the same for the same bug on every run. */
  title: string;
  /** Other titles that name the same bug, for deduplication. */
  alt: string[];
  /** The host cannot be trusted after it (the rule's severity, or any report that ends in a kernel panic). */
  fatal: boolean;
  /** The report was truncated or interleaved so that its stack could not be read (the title then ends `in corrupted`). */
  corrupted: boolean;
  /** The report's raw lines as they appeared in the log (carriage returns dropped), capped at 200 lines and 16 KiB. */
  excerpt: string;
  /** First and last line of the report in the log, 1-based and inclusive. */
  startLine: number;
  endLine: number;
  /** Name of the classifier rule that produced the event. */
  rule: string;
}

/** A KernelEvent found by a stream classifier, with when its first line arrived. */
export interface DetectedKernelEvent extends KernelEvent {
  /** Time (as the caller counts it, usually ms since the epoch) of the chunk that completed the report's header line. */
  detectedAtMs: number;
}

/** What a whole console log gave. */
export interface LogClassification {
  /** A crash was found: a fatal report, or a bug or failure the kernel reported (see FAULT_SEVERITY_ORDER's `crash`). */
  crashed: boolean;
  /** The first such report in the log, or null. */
  primary: KernelEvent | null;
  /** Every event, in log order (informational ones included). */
  events: KernelEvent[];
}
