// Turns one collected report (its rule, header match and lines) into a KernelEvent: the guilty frame, the title
// and its alternatives, severity, and the excerpt.

import { FAULT_SEVERITY_ORDER, type FaultClass, type FaultSeverity, type KernelEvent } from '../model/fault.js';
import { isFaultInjectionFrame, isSkippedFrame, isStallAnchorFrame, isStallFaultAnchorFrame, normalizeFunction, parseFrame, type Frame } from './frames.js';
import type { KernelLogRule, StackRule } from './rules.js';
import { allowIndent } from './line-match.js';
import { TitleFiller } from './title.js';

/** A report's messages (its lines without console prefixes), cut from the lines only when read. */
export class ReportMessages {
  private readonly cut: (string | undefined)[] = [];

  constructor(
    private readonly lines: readonly string[],
    private readonly offsets: readonly number[],
  ) {}

  get length(): number {
    return this.lines.length;
  }

  at(index: number): string {
    let message = this.cut[index];
    if (message === undefined) {
      const offset = this.offsets[index]!;
      message = offset === 0 ? this.lines[index]! : this.lines[index]!.slice(offset);
      this.cut[index] = message;
    }
    return message;
  }

  /** Reads a line's message differently (the part of an interleaved header line where the header starts). */
  set(index: number, message: string): void {
    this.cut[index] = message;
  }
}

/** A report as the engine collected it. */
export interface CollectedReport {
  rule: KernelLogRule;
  /** The header pattern's match on the header message. */
  groups: readonly (string | undefined)[];
  named: Readonly<Record<string, string | undefined>>;
  /** Raw lines (as in the log) and their messages (console prefixes removed); `headerIndex` is the header's. */
  lines: readonly string[];
  messages: ReportMessages;
  headerIndex: number;
  /** 1-based line number of `lines[0]`. */
  startLine: number;
  /** A kernel panic was part of the report. */
  panicked: boolean;
  /** Index of the line `Call Trace:` (or `Call trace:`, `Backtrace:`, `stack backtrace:`), -1 when none. */
  callTrace: number;
  /**
   * The text the lines were read from, when they are its consecutive lines from `sourceStart` on, exactly as they
   * are there (no other line between, no carriage return dropped): the excerpt is then cut from it rather than
   * joined.
   */
  sourceText: string | null;
  sourceStart: number;
  /** The lines as the log has them (trailing blanks kept, carriage returns dropped) when any differs from `lines`. */
  rawLines: readonly string[] | null;
}

export const MAX_EXCERPT_LINES = 200;
export const MAX_EXCERPT_BYTES = 16 * 1024;

const DEFAULT_SEVERITY = new Map<FaultClass, FaultSeverity>(FAULT_SEVERITY_ORDER.map((entry) => [entry.class, entry.severity]));

export function severityOfRule(rule: KernelLogRule): FaultSeverity {
  return rule.severity ?? DEFAULT_SEVERITY.get(rule.class) ?? 'degraded';
}

/** Builds the event for a finished report. */
export function buildEvent(report: CollectedReport): KernelEvent {
  const { rule } = report;
  const values: Record<string, string | undefined> = { ...report.named };
  let missingField = false;
  for (const [name, field] of Object.entries(rule.fields ?? {})) {
    const value = readField(report, field.pattern, field.within);
    if (value === undefined && !field.optional) missingField = true;
    values[name] = value;
  }
  let corrupted = false;
  if (rule.stack) {
    const frame = isInterleaved(report) || hasFaultInjectionDump(report, rule.stack) ? null : findGuiltyFrame(report, rule.stack);
    values.frame = frame ?? 'corrupted';
    corrupted = frame === null;
  }
  let template = missingField && rule.fallbackTitle ? rule.fallbackTitle : rule.title;
  if (missingField && rule.fallbackTitle) corrupted = true;
  if (rule.bareTitle !== undefined && isBare(report)) {
    template = rule.bareTitle;
    corrupted = true;
  }
  const filler = new TitleFiller(report.groups, values, rule.aliases);
  const title = filler.fill(template);
  const alt = [...new Set((rule.alt ?? []).map((t) => filler.fill(t)))].filter((t) => t !== title);
  const endLine = report.startLine + report.lines.length - 1;
  return {
    class: rule.class,
    title,
    alt,
    fatal: severityOfRule(rule) === 'fatal' || report.panicked,
    corrupted,
    excerpt: capExcerpt(report),
    startLine: report.startLine,
    endLine,
    rule: rule.name,
  };
}

const HEADER_PID = /\bCPU: \d+ PID: (-?\d+) /;
const CPU_LINE = /^\s*CPU: \d+ (?:UID: \d+ )?PID: (-?\d+) /;

/**
 * A header that names its task (`WARNING: CPU: 0 PID: 18900 at …`) is followed by that task's `CPU: 0 PID: 18900
 * Comm: …` line before its call trace. A call trace before it, or another task's CPU line first, is output of
 * another task printed into the report: its stack cannot be told apart, so the report is corrupted.
 */
function isInterleaved(report: CollectedReport): boolean {
  const { messages, headerIndex, callTrace } = report;
  if (callTrace <= headerIndex) return false;
  const pid = HEADER_PID.exec(messages.at(headerIndex))?.[1];
  if (pid === undefined) return false;
  for (let i = headerIndex + 1; i < callTrace; i++) {
    const cpu = CPU_LINE.exec(messages.at(i));
    if (cpu) return cpu[1] !== pid;
  }
  // No CPU line before the trace: interleaved only when the task's own one comes after it.
  for (let i = callTrace + 1; i < messages.length; i++) {
    const cpu = CPU_LINE.exec(messages.at(i));
    if (cpu?.[1] === pid) return true;
  }
  return false;
}

/**
 * Fault injection's dump (its `should_fail` stack) printed between the header and the report's own stack: the
 * report's lines and that dump's cannot be told apart, so the report is corrupted.
 */
function hasFaultInjectionDump(report: CollectedReport, stack: StackRule): boolean {
  const { messages, headerIndex } = report;
  let end = report.callTrace;
  if (stack.after) {
    const tolerant = allowIndent(stack.after);
    end = -1;
    for (let i = headerIndex + 1; i < messages.length && end === -1; i++) if (tolerant.test(messages.at(i))) end = i;
  }
  for (let i = headerIndex + 1; i < end; i++) {
    const message = messages.at(i);
    if (!message.includes('should_fail') && !message.includes('fail_dump')) continue;
    const frame = parseFrame(message, i);
    if (frame?.kind === 'trace' && frame.reliable && isFaultInjectionFrame(frame.fn)) return true;
  }
  return false;
}

/** Lines of a report's banner (the kernel version, rules, blank lines), or the scrap of a line cut off. */
const BANNER_LINE = /^(?:[-=]{3,}.*|.*\b(?:Not tainted|Tainted: ).*|\S{0,2}\s*)$/;

/** Nothing but the header and its banner was printed. */
function isBare(report: CollectedReport): boolean {
  const { messages, headerIndex } = report;
  for (let i = headerIndex + 1; i < messages.length; i++) if (!BANNER_LINE.test(messages.at(i).trim())) return false;
  return true;
}

function readField(report: CollectedReport, pattern: RegExp, within = Infinity): string | undefined {
  const last = Math.min(report.messages.length, report.headerIndex + within + 1);
  for (let i = report.headerIndex; i < last; i++) {
    const m = pattern.exec(report.messages.at(i).trimStart());
    if (m) return m[1];
  }
  return undefined;
}

/**
 * The report's first lines as the log has them (trailing blanks kept, carriage returns dropped), at most
 * MAX_EXCERPT_LINES of them and MAX_EXCERPT_BYTES of UTF-8, joined by newlines.
 */
function capExcerpt(report: CollectedReport): string {
  const lines = report.rawLines ?? report.lines;
  const count = Math.min(lines.length, MAX_EXCERPT_LINES);
  // A UTF-16 unit is at least 1 and at most 3 bytes of UTF-8: most excerpts need no byte count at all, and one
  // longer in units than the cap in bytes is cut without joining it whole first.
  let units = count - 1;
  for (let i = 0; i < count; i++) units += lines[i]!.length;
  if (units <= MAX_EXCERPT_BYTES) {
    const text = firstLines(report, count, units);
    if (units * 3 <= MAX_EXCERPT_BYTES || Buffer.byteLength(text) <= MAX_EXCERPT_BYTES) return text;
  }
  let kept = 0;
  let bytes = 0;
  units = -1;
  for (; kept < count; kept++) {
    bytes += Buffer.byteLength(lines[kept]!) + 1;
    if (bytes > MAX_EXCERPT_BYTES + 1) break;
    units += lines[kept]!.length + 1;
  }
  return firstLines(report, kept, units);
}

/** The report's first `count` lines joined by newlines (`units` long): cut from its source when it has one. */
function firstLines(report: CollectedReport, count: number, units: number): string {
  if (count === 0) return '';
  if (report.sourceText !== null) return report.sourceText.slice(report.sourceStart, report.sourceStart + units);
  const lines = report.rawLines ?? report.lines;
  return (count === lines.length ? lines : lines.slice(0, count)).join('\n');
}

const CALL_TRACE = /^(?:Call Trace:|Call trace:|Backtrace:|stack backtrace:)/;
/** `at: [<ffffffff8123>] func+0x17/0x20` or `at: func+0x17/0x20`: where lockdep saw a lock taken. */
const LOCK_AT = /\bat: (?:\[<[0-9a-f]+>\]\s+)?([A-Za-z_$][\w.$]*)\+0x/;
/** Lines that start another task's or CPU's stack within one report. */
const STACK_START = /^(?:Call Trace:|Call trace:|Backtrace:|NMI backtrace for cpu|Sending NMI|task:\S+\s+state:|rcu: rcu_\w+ kthread|\S+ kthread starved)/;
/** The sched_show_task line of older kernels: `syz-executor0   R  running task    21280  7720   5511 0x00000000`. */
const TASK_LINE = /\s[RSDTI]\s+(?:running task\s+|[0-9a-f]{16}\s+)?\d+\s+\d+\s+\d+\s+0x[0-9a-f]+$/;
const HEX_END = /0x[0-9a-f]{8}$/;
/** sched_show_task's line of newer kernels: `task:syz-executor    state:R  running task …`. */
const TASK_LINE_START = /^task:\S+\s+state:/;
/** Lines that start one CPU's own stack (rather than a task's). */
const CPU_STACK_START = /^(?:NMI backtrace for cpu|CPU: \d+ (?:UID: \d+ )?PID: )/;

function startsStack(message: string): boolean {
  return allowIndent(STACK_START).test(message) || (HEX_END.test(message) && TASK_LINE.test(message));
}
/** Frames a stall is named after wherever they are on the stuck stack (a CPU waiting for others to answer). */
const STALL_NAMES: readonly { pattern: RegExp; name: string }[] = [{ pattern: /^smp_call_function\w*$/, name: 'smp_call_function' }];

const stallNames = new Map<string, string | null>();
function stallNameOf(fn: string): string | null {
  let name = stallNames.get(fn);
  if (name === undefined) {
    if (stallNames.size >= 50_000) stallNames.clear();
    name = STALL_NAMES.find((s) => s.pattern.test(fn))?.name ?? null;
    stallNames.set(fn, name);
  }
  return name;
}

function usable(fn: string, stack: StackRule): boolean {
  return !isSkippedFrame(fn) && !(stack.skip?.test(fn) ?? false);
}

/** A report's frames, each read when first asked for: most reports name their culprit in their first few lines. */
class ReportFrames {
  private readonly parsed: (Frame | null | undefined)[];

  constructor(private readonly messages: ReportMessages) {
    this.parsed = new Array<Frame | null | undefined>(messages.length);
  }

  /** The frame on line `i`, or null when the line is none. */
  at(i: number): Frame | null {
    let frame = this.parsed[i];
    if (frame === undefined) this.parsed[i] = frame = parseFrame(this.messages.at(i), i);
    return frame;
  }

  /** Whether a line from `from` on is a frame of a call trace or the faulting instruction (not a return register). */
  hasTraceOrPc(from: number): boolean {
    for (let i = from; i < this.messages.length; i++) if ((this.at(i)?.kind ?? 'lr') !== 'lr') return true;
    return false;
  }
}

/** The guilty function of a report, or null when its stack cannot be read. */
export function findGuiltyFrame(report: CollectedReport, stack: StackRule): string | null {
  const { messages, headerIndex } = report;
  const frames = new ReportFrames(messages);
  let sectionStart = headerIndex + 1;
  let sectionEnd = messages.length;
  // Without a section of its own, a report's trace starts at its `Call Trace:`: frames printed before it
  // (`Preemption disabled at:`, lockdep's `state was registered at:`) belong to other stacks.
  const after = stack.after ?? (report.callTrace > headerIndex ? CALL_TRACE : undefined);
  if (after) {
    const at = after === CALL_TRACE ? report.callTrace : indexOf(messages, after, headerIndex + 1, messages.length);
    sectionStart = at === -1 ? messages.length : at + 1;
    if (stack.until && at !== -1) {
      const until = indexOf(messages, stack.until, sectionStart, messages.length);
      if (until !== -1) sectionEnd = until;
    }
  }
  const trust = stack.foreign ? markTrust(messages, headerIndex + 1, stack.foreign) : null;
  for (const source of stack.from) {
    if (source === 'header') {
      const fn = report.named.fn ?? report.named.fn2 ?? report.named.fn3;
      if (fn && (!stack.needsTrace || frames.hasTraceOrPc(headerIndex + 1))) {
        const name = normalizeFunction(fn);
        if (usable(name, stack)) return name;
      }
    } else if (source === 'at') {
      // The lock being taken, else the lock already held (a trylock or a lock helper names nothing).
      for (let i = headerIndex; i < messages.length; i++) {
        const at = LOCK_AT.exec(messages.at(i));
        if (!at) continue;
        const name = normalizeFunction(at[1]!);
        if (usable(name, stack)) return name;
      }
    } else if (source === 'pc') {
      for (let i = headerIndex + 1; i < messages.length; i++) {
        const frame = frames.at(i);
        if (frame?.kind !== 'pc' || trust?.[i] === 'foreign') continue;
        if (usable(frame.fn, stack)) return frame.fn;
        break;
      }
    } else if (stack.pick === 'entry') {
      const found = pickEntryFrame(messages, headerIndex, sectionStart, sectionEnd, frames, stack, trust);
      if (found) return found;
    } else {
      if (stack.names) {
        for (let i = sectionStart; i < sectionEnd; i++) {
          for (let frame = frames.at(i); frame; frame = frame.caller ?? null) {
            if (frame.kind !== 'trace' || !frame.reliable) continue;
            const named = stack.names.find((n) => n.pattern.test(frame!.fn));
            if (named) return named.name;
          }
        }
      }
      for (let i = sectionStart; i < sectionEnd; i++) {
        for (let frame = frames.at(i); frame; frame = frame.caller ?? null) {
          if (frame.kind !== 'trace' || !frame.reliable) continue;
          // Fault injection's own dump (`FAULT_INJECTION: forcing a failure.`) printed into the report: the
          // stack is not this report's.
          if (isFaultInjectionFrame(frame.fn)) return null;
          if (usable(frame.fn, stack)) return frame.fn;
        }
      }
    }
  }
  return null;
}

function indexOf(messages: ReportMessages, pattern: RegExp, from: number, to: number): number {
  const tolerant = allowIndent(pattern);
  for (let i = from; i < to; i++) if (tolerant.test(messages.at(i))) return i;
  return -1;
}

/**
 * For stalls and lockups: split the report into the stacks it prints (one per CPU or task) and name the first
 * stack that gives a function: walking from the innermost frame outwards, the function closest to the first
 * dispatcher (STALL_ANCHOR_FRAMES) that has one between it and the previous dispatcher; without a dispatcher,
 * the first function that is not skipped.
 */
function pickEntryFrame(
  messages: ReportMessages,
  headerIndex: number,
  from: number,
  to: number,
  frames: ReportFrames,
  stack: StackRule,
  trust: readonly Trust[] | null,
): string | null {
  let current: Frame[] = [];
  let needsInterrupt = false;
  // The work function a kworker's stack runs (`Workqueue: events fn`): its dispatcher when the trace is cut short.
  let work: string | null = null;
  for (let i = headerIndex + 1; i < from && work === null; i++) work = workFunctionOf(messages.at(i));
  // Stacks are judged as soon as they end: a long report is read only as far as its first telling stack.
  for (let i = from; i <= to; i++) {
    const frame = i < to ? frames.at(i) : null;
    // A stack's pc line comes before its `Call Trace:`, so only frames of a trace end it.
    const boundary = i === to || (frame === null && current.length > 0 && startsStack(messages.at(i)) && current.some((f) => f.kind === 'trace'));
    if (boundary) {
      const own = !stack.foreign || !(needsInterrupt || current.some((f) => stack.foreign!.selfDump.test(f.fn))) || current.some((f) => INTERRUPT_FRAME.test(f.fn));
      const found = own ? judgeStallStack(current, stack, work) : null;
      if (found) return found;
      current = [];
      needsInterrupt = false;
      work = null;
    }
    if (frame === null && i < to) {
      const named = workFunctionOf(messages.at(i));
      if (named !== null) work = named;
    }
    const trusted = trust?.[i] ?? 'own';
    if (trusted === 'foreign') continue;
    if (trusted === 'task') needsInterrupt = true;
    for (let f = frame; f; f = f.caller ?? null) if (f.reliable && f.kind !== 'lr') current.push(f);
  }
  return null;
}

/** Frames of an interrupt: a CPU caught by one shows the code it interrupted below them. */
const INTERRUPT_FRAME = /interrupt|_irq_handler|^el1h?_64_irq|^gic_handle_irq|^sysvec_|^irq_exit/;

/**
 * Whose stack a report line is part of (StackRule.foreign): the report's own; `task`, a task sched_show_task
 * printed, which counts only if an interrupt caught it running (it is then the stalled CPU's); `foreign`, never.
 */
type Trust = 'own' | 'task' | 'foreign';

function markTrust(messages: ReportMessages, from: number, foreign: NonNullable<StackRule['foreign']>): Trust[] {
  const marks = new Array<Trust>(messages.length).fill('own');
  // `until-cpu`: a dump of a task other than a CPU's (the starved kthread) runs until a CPU's stack starts;
  // `one-stack`: the stack of the CPU where the kthread last ran runs until the stack after it starts.
  let part: 'until-cpu' | 'one-stack' | null = null;
  let partFrames = false;
  let task = false;
  let ownTask = false;
  for (let i = from; i < messages.length; i++) {
    const text = messages.at(i).trimStart();
    if (foreign.from.test(text)) {
      part = foreign.oneStack.test(text) ? 'one-stack' : 'until-cpu';
      partFrames = false;
      ownTask = false;
    } else if (foreign.ownTask.test(text)) {
      ownTask = true;
      part = null;
    } else if (TASK_LINE_START.test(text) || (HEX_END.test(text) && TASK_LINE.test(text))) {
      task = !(i > from && foreign.ownTask.test(messages.at(i - 1).trimStart()));
      if (part === 'one-stack' && partFrames) part = null;
    } else if (CPU_STACK_START.test(text)) {
      task = false;
      ownTask = false;
      if (part === 'until-cpu' || (part === 'one-stack' && partFrames)) part = null;
    } else if (part === 'one-stack' && !partFrames && parseFrame(text, i)?.kind === 'trace') {
      partFrames = true;
    }
    marks[i] = ownTask ? 'own' : part ? 'foreign' : task ? 'task' : 'own';
  }
  return marks;
}

const WORKQUEUE_LINE = /^\s*Workqueue: \S+ ([A-Za-z_$][\w.$]*)/;

function workFunctionOf(message: string): string | null {
  if (!message.includes('Workqueue: ')) return null;
  const m = WORKQUEUE_LINE.exec(message);
  return m ? normalizeFunction(m[1]!) : null;
}

/**
 * What one stack of a stall names: see pickEntryFrame. A stack that reaches no dispatcher (cut short) of a kworker
 * names the work function its `Workqueue:` line shows (`work`).
 */
function judgeStallStack(candidates: readonly Frame[], stack: StackRule, work: string | null): string | null {
  for (const f of candidates) {
    const name = stallNameOf(f.fn);
    if (name) return name;
  }
  let closest: string | null = null;
  const faultAnchors = !candidates.some((f) => isStallAnchorFrame(f.fn));
  const isAnchor = (fn: string): boolean => isStallAnchorFrame(fn) || (faultAnchors && isStallFaultAnchorFrame(fn));
  for (const f of candidates) {
    if (isAnchor(f.fn)) {
      if (closest) return closest;
      // A dispatcher with nothing above it may be what the next one called (`kvm_vm_compat_ioctl`).
      if (usable(f.fn, stack)) closest = f.fn;
    } else if (usable(f.fn, stack)) {
      closest = f.fn;
    }
  }
  if (work !== null && candidates.length > 0 && usable(work, stack)) return work;
  return candidates.find((f) => usable(f.fn, stack) && !isAnchor(f.fn))?.fn ?? null;
}
