// The line engine shared by classifyLog and the stream classifier: finds report headers, collects each report's
// lines until it ends, and turns finished reports into events. Feeding the same lines gives the same events,
// however the text was cut into chunks.

import type { DetectedKernelEvent, FaultClass } from '../model/fault.js';
import { messageStarts, splitConsoleLine, type ConsoleLine } from './console-prefix.js';
import { isTraceFrame } from './frames.js';
import { literalAlternation } from './literal-search.js';
import { stickyAt } from './line-match.js';
import { buildEvent, ReportMessages, type CollectedReport } from './report.js';
import { KERNEL_LOG_RULES, type KernelLogRule } from './rules.js';

/** A report runs at most this many lines. */
export const MAX_REPORT_LINES = 300;
/** Lines that end any report (kept in it): `---[ end trace …`, `---[ end Kernel panic …`, `Kernel Offset: …`, `Rebooting in N seconds`. */
function isEndMarker(line: string, at: number, lead: number): boolean {
  if (lead === 45 /* - */) return line.startsWith('---[ end trace', at) || line.startsWith('---[ end Kernel panic', at);
  if (lead === 75 /* K */) return line.startsWith('Kernel Offset: ', at);
  return lead === 82 /* R */ && line.startsWith('Rebooting in ', at);
}
/** After its end marker a report still takes these lines, then ends at the first other line. */
const TAIL = /^(?:Kernel panic - not syncing|Kernel Offset: |Rebooting in |---\[ end|CPU features: |Memory Limit: |Dumping ftrace buffer|\(ftrace buffer empty\)|Shutting down cpus with NMI|\s*$)/;
const MAX_TAIL_LINES = 8;
const PANIC = /^Kernel panic - not syncing/;
/** Where a report's own call trace starts. */
const CALL_TRACE = /^(?:Call Trace:|Call trace:|Backtrace:|stack backtrace:)/;
// The sticky forms tried at a message's offset in its line (see line-match.ts), kept to spare a lookup per line.
const TAIL_AT = stickyAt(TAIL);
const PANIC_AT = stickyAt(PANIC);
const CALL_TRACE_AT = stickyAt(CALL_TRACE);

/** Whether the sticky `re` (from stickyAt) matches the message that starts at `offset` of `line`. */
function matchesAt(re: RegExp, line: string, offset: number): boolean {
  re.lastIndex = offset;
  return re.test(line);
}
/** A line printed just before a report's header that belongs to it. */
const PREAMBLE = /^(?:-+\[ cut here \]-+|8<-+ cut here -+|={20,}|-{20,})\s*$/;
/**
 * Lines every report has that are never a header (register dumps `RSP: 0018:ffff8801…`, `CPU: 0 PID: …`, the
 * module list, `Call Trace:`, stack markers): they skip the header search.
 */
const REPORT_BODY = /(?:[A-Z][A-Z0-9]{1,3}: +[0-9a-f]{4}|CPU: \d+ (?:UID: \d+ )?PID: |Hardware name: |Call [Tt]race:|Modules linked in:|Workqueue: |RIP: [0-9a-f]{4}:|Code: |<\/?(?:TASK|IRQ|NMI|EOI)>|Memory state around|The buggy address|Allocated by task|Freed by task|(?:page|raw|flags|head|memcg): )/y;
/** Lines longer than this are cut before matching (a binary blob on a console must not stall the search). */
const MAX_LINE_CHARS = 4096;
const cutLine = (line: string): string => (line.length > MAX_LINE_CHARS ? line.slice(0, MAX_LINE_CHARS) : line);

/** A console line without the blanks and carriage return after its last character (serial consoles pad lines). */
function trimLineEnd(line: string): string {
  let end = line.length;
  for (let c = line.charCodeAt(end - 1); c === 32 || c === 13 || c === 9; c = line.charCodeAt(--end - 1));
  return end === line.length ? line : line.slice(0, end);
}

const RULES_BY_NAME = new Map(KERNEL_LOG_RULES.map((rule) => [rule.name, rule]));

/** A rule's line checks in their sticky forms, made once per rule rather than looked up for every line. */
interface RuleChecks {
  end: RegExp | null;
  continues: RegExp | null;
  refine: readonly { when: RegExp; rule: KernelLogRule | null }[];
}
const RULE_CHECKS = new Map<KernelLogRule, RuleChecks>();
function checksOf(rule: KernelLogRule): RuleChecks {
  let checks = RULE_CHECKS.get(rule);
  if (!checks) {
    checks = {
      end: rule.end === undefined ? null : stickyAt(rule.end),
      continues: rule.continues ? stickyAt(rule.continues) : null,
      refine: (rule.refine ?? []).map((r) => ({ when: stickyAt(r.when), rule: RULES_BY_NAME.get(r.rule) ?? null })),
    };
    RULE_CHECKS.set(rule, checks);
  }
  return checks;
}

/** The first refinement of `checks` whose line this is: its index, or -1. */
function refinementAt(checks: RuleChecks, line: string, first: number): number {
  const { refine } = checks;
  for (let r = 0; r < refine.length; r++) if (matchesAt(refine[r]!.when, line, first)) return r;
  return -1;
}
const HEADER_WORDS = [...new Set(KERNEL_LOG_RULES.flatMap((rule) => (typeof rule.header === 'string' ? [rule.header] : rule.header)))];
/** One search for every rule's header text: lines without any are never matched against the rules. */
const PREFILTER_SOURCE = literalAlternation(HEADER_WORDS);
const HEADER_WORDS_IN_LINE = new RegExp(PREFILTER_SOURCE, 'g');
/**
 * Where the search finds a word, longer words may start too (it stops at the shortest: `BUG:` before `BUG: KASAN`):
 * for each word, the indexes of the words it begins (itself included).
 */
const WORDS_FROM = new Map(HEADER_WORDS.map((word) => [word, HEADER_WORDS.flatMap((other, i) => (other.startsWith(word) ? [i] : []))]));
/** Each rule with the indexes of its header words: a rule is tried only on a line that holds one of them. */
const RULES_WITH_WORDS = KERNEL_LOG_RULES.map((rule) => ({
  rule,
  words: (typeof rule.header === 'string' ? [rule.header] : rule.header).map((word) => HEADER_WORDS.indexOf(word)),
}));
/** The header words of the line being matched: `wordSeen[i] === wordGeneration` when word i is on it. */
const wordSeen = new Uint32Array(HEADER_WORDS.length);
let wordGeneration = 0;

interface HeaderMatch {
  rule: KernelLogRule;
  groups: (string | undefined)[];
  named: Record<string, string | undefined>;
  message: string;
}

/** The first rule whose pattern matches `candidate`, among those whose header words the line holds (`generation`). */
function tryRules(candidate: string, runTogether: boolean, generation: number): HeaderMatch | null {
  for (const { rule, words } of RULES_WITH_WORDS) {
    if (runTogether && rule.anchored) continue;
    let onLine = false;
    for (let w = 0; w < words.length && !onLine; w++) onLine = wordSeen[words[w]!] === generation;
    if (!onLine) continue;
    const m = rule.pattern.exec(candidate);
    if (m) return { rule, groups: [...m], named: { ...m.groups }, message: candidate };
  }
  return null;
}

/** Matches a line against the table; null when no rule's header is on it. `offset`: where its message starts. */
function matchHeader(line: string, offset: number): HeaderMatch | null {
  const message = cutLine(line).slice(offset);
  // One pass over the message finds its header words, and where a message run together with another may start.
  const search = HEADER_WORDS_IN_LINE;
  search.lastIndex = 0;
  let hit = search.exec(message);
  if (!hit) return null;
  if (++wordGeneration === 0xffffffff) {
    wordSeen.fill(0);
    wordGeneration = 1;
  }
  const generation = wordGeneration;
  let runTogether: number[] | null = null;
  for (; hit; hit = search.exec(message)) {
    const at = hit.index;
    for (const i of WORDS_FROM.get(hit[0])!) if (message.startsWith(HEADER_WORDS[i]!, at)) wordSeen[i] = generation;
    if (at > 0) (runTogether ??= []).push(at);
    search.lastIndex = at + 1;
  }
  for (const candidate of messageStarts(message)) {
    const found = tryRules(candidate, false, generation);
    if (found) return found;
  }
  // Two messages run together without a newline (`…user memory accessgeneral protection fault: 0000 [#1]`): the
  // second starts where a header word does.
  for (const at of runTogether ?? []) {
    const found = tryRules(message.slice(at), true, generation);
    if (found) return found;
  }
  return null;
}

interface OpenReport extends CollectedReport {
  /** The rule's line checks (checksOf). */
  checks: RuleChecks;
  lines: string[];
  /** Where each line's message starts. */
  offsets: number[];
  /** The task (printk caller `T123`) of the header line when the console shows one, else -1: lines of other tasks are not this report's. */
  caller: number;
  /** Lines taken after the end marker; -1 while the report has not reached it. */
  tail: number;
  /** The report has printed a call trace (a follow-up header then starts a new report). */
  sawTrace: boolean;
  /** The rule a line of the report turned it into (`refine`), or null. */
  refinedTo: KernelLogRule | null;
  /** Where the next line must start in `sourceText` for the report's lines to stay one piece of it. */
  sourceNext: number;
  rawLines: string[] | null;
  detectedAtMs: number;
  lastAtMs: number;
  lastLineNo: number;
}

export interface PendingReport {
  class: FaultClass;
  title: string;
  startedAtMs: number;
}

/**
 * A line as the text fed has it: `raw` is the line without the carriage returns at its end; `text` and `start` say
 * where it is, `text` null when carriage returns were dropped (the line is then not one piece of the text).
 */
interface LineSource {
  text: string | null;
  start: number;
  raw: string;
}

/** The line being taken: where it is, and its console prefix taken apart (of the line cut by cutLine). */
interface CurrentLine extends LineSource, ConsoleLine {}

/** What a log showed since its machine last started (see KernelLogRule.boot). */
interface BootState {
  /** Any line of the running system. */
  output: boolean;
  /** A line the kernel printed with its timestamp. */
  kernel: boolean;
  /** A firmware banner came: until the kernel starts, lines are the machine starting. */
  firmware: boolean;
  /** A fatal report, an orderly restart or a restart the caller announced came since. */
  restartExplained: boolean;
}

/** `[  12.345678]`, optionally after the printk level: a kernel line as consoles and dmesg show it. */
const KERNEL_LINE_AT = /(?:<\d{1,3}>)?\[ *\d+\.\d+\]/y;

/** Notes in `boot` whether the lines of text[from, to) show a running system (stops looking once it knows). */
function notePriorOutput(boot: BootState, text: string, from: number, to: number): void {
  if (boot.firmware || (boot.output && boot.kernel)) return;
  for (let start = from; start < to; ) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 || newline > to ? to : newline;
    const lead = text.charCodeAt(start);
    if (!boot.output && /\S/.test(text.slice(start, Math.min(end, start + MAX_LINE_CHARS)))) boot.output = true;
    if (!boot.kernel && (lead === 91 /* [ */ || lead === 60) /* < */) {
      KERNEL_LINE_AT.lastIndex = start;
      if (KERNEL_LINE_AT.test(text)) boot.kernel = true;
    }
    if (boot.output && boot.kernel) return;
    start = end + 1;
  }
}

/** Reports open at once (one per task printing a report at the same time). */
const MAX_OPEN_REPORTS = 4;

export interface LogEngineOptions {
  /**
   * Join each excerpt from its lines instead of cutting it out of the text fed (see CollectedReport.sourceText):
   * an excerpt cut out shares memory with that text and keeps all of it alive, which a caller that keeps events
   * for long while feeding chunk after chunk does not want. Default false.
   */
  copyExcerpts?: boolean;
}

export class LogEngine {
  /** Open reports, oldest first. */
  private readonly open: OpenReport[] = [];
  /** Lines consumed so far. */
  private lineCount = 0;
  private previousLine = '';
  /** Where the line being taken, and the one before it, are in the text fed: see CollectedReport.sourceText. */
  private readonly current: CurrentLine = { text: null, start: 0, raw: '', offset: 0, caller: -1 };
  private readonly previous: LineSource = { text: null, start: 0, raw: '' };
  private readonly done: DetectedKernelEvent[] = [];
  private readonly prefilter = new RegExp(PREFILTER_SOURCE, 'g');
  /** What the log showed since the machine last started, for a new start's verdict (KernelLogRule.boot). */
  private readonly boot: BootState = { output: false, kernel: false, firmware: false, restartExplained: false };
  /** The line being taken started a machine: it is not output of the system that ran before. */
  private bootLine = false;
  private readonly copyExcerpts: boolean;

  constructor(options: LogEngineOptions = {}) {
    this.copyExcerpts = options.copyExcerpts ?? false;
  }

  /** A restart is coming that is not a fault (the runner power-cycles the machine): the next boot is no event. */
  expectRestart(): void {
    this.boot.restartExplained = true;
  }

  /**
   * Feeds text made of whole lines (the last one may lack its newline only when nothing follows it). `atMs` is
   * when the text arrived.
   */
  feed(text: string, atMs: number): void {
    const end = text.length;
    let pos = 0;
    while (pos < end) {
      if (this.open.length === 0) {
        // Nothing open: jump to the next line that has a header word, counting the lines skipped.
        this.prefilter.lastIndex = pos;
        const hit = this.prefilter.exec(text);
        const lineStart = hit ? text.lastIndexOf('\n', hit.index - 1) + 1 : end;
        if (lineStart > pos) this.skipLines(text, pos, lineStart);
        if (!hit) return;
        pos = Math.max(pos, lineStart);
      }
      const newline = text.indexOf('\n', pos);
      const lineEnd = newline === -1 ? end : newline;
      this.takeLine(this.readLine(this.current, text, pos, lineEnd), atMs);
      pos = newline === -1 ? end : newline + 1;
    }
  }

  /** Ends every open report (the log ended). */
  finish(): void {
    while (this.open.length > 0) this.close(this.open[0]!);
  }

  /** Ends the open reports that got no line since `quietMs` before `atMs`. */
  expire(atMs: number, quietMs: number): void {
    for (const report of [...this.open]) if (atMs - report.lastAtMs >= quietMs) this.close(report);
  }

  /** Events finished since the last call, in the order they finished. */
  takeEvents(): DetectedKernelEvent[] {
    return this.done.splice(0, this.done.length);
  }

  /** The oldest open report. */
  pending(): PendingReport | null {
    const oldest = this.open[0];
    if (!oldest) return null;
    const event = buildEvent(this.refined(oldest));
    return { class: event.class, title: event.title, startedAtMs: oldest.detectedAtMs };
  }

  private skipLines(text: string, from: number, to: number): void {
    notePriorOutput(this.boot, text, from, to);
    let count = 0;
    for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) count++;
    if (to === text.length && text.charCodeAt(to - 1) !== 10) count++;
    this.lineCount += count;
    const lastEnd = text.charCodeAt(to - 1) === 10 ? to - 1 : to;
    const lastStart = text.lastIndexOf('\n', lastEnd - 1) + 1;
    this.previousLine = this.readLine(this.previous, text, Math.max(lastStart, from), lastEnd);
  }

  /** Reads the line text[start, end) into `into` (see LineSource) and returns it as it is matched (trimLineEnd). */
  private readLine(into: LineSource, text: string, start: number, end: number): string {
    let rawEnd = end;
    while (rawEnd > start && text.charCodeAt(rawEnd - 1) === 13 /* \r */) rawEnd--;
    into.raw = text.slice(start, rawEnd);
    into.text = rawEnd === end && !this.copyExcerpts ? text : null;
    into.start = start;
    return trimLineEnd(into.raw);
  }

  private takeLine(line: string, atMs: number): void {
    this.lineCount++;
    const lineNo = this.lineCount;
    // A report whose task has printed nothing for a whole report's length is over.
    for (let i = this.open.length - 1; i >= 0; i--) {
      const report = this.open[i]!;
      if (lineNo - report.lastLineNo > (report.rule.maxLines ?? MAX_REPORT_LINES)) this.close(report);
    }
    const { current } = this;
    splitConsoleLine(cutLine(line), current);
    const target = this.open.length === 0 ? null : this.routeLine(current.caller);
    if (target) this.continueReport(target, line, current.offset, lineNo, atMs);
    else this.startReport(line, lineNo, atMs);
    if (this.bootLine) this.bootLine = false;
    else notePriorOutput(this.boot, line, 0, line.length);
    this.previousLine = line;
    this.previous.text = this.current.text;
    this.previous.start = this.current.start;
    this.previous.raw = this.current.raw;
  }

  /**
   * The open report a line belongs to: the one of the task that printed it, else (no task shown, CPU context)
   * the newest; null for a line of a task that has no report open.
   */
  private routeLine(caller: number): OpenReport | null {
    const { open } = this;
    if (caller !== -1) {
      let anyWithout = false;
      for (let i = 0; i < open.length; i++) {
        const report = open[i]!;
        if (report.caller === caller) return report;
        if (report.caller === -1) anyWithout = true;
      }
      if (!anyWithout) return null;
    }
    return open[open.length - 1]!;
  }

  /** A line that belongs to no open report (the line being taken): a header starts a report (or is an event by itself). */
  private startReport(line: string, lineNo: number, atMs: number): void {
    const { current } = this;
    const header = matchHeader(line, current.offset);
    if (!header) return;
    const { rule } = header;
    if (rule.boot !== undefined && !this.machineStarts(rule.boot)) return;
    const previous = this.previousLine;
    const previousOffset = lineNo > 1 ? splitConsoleLine(previous).offset : 0;
    const preamble = lineNo > 1 && PREAMBLE.test((previousOffset === 0 ? previous : previous.slice(previousOffset)).trim());
    const lines = preamble ? [previous, line] : [line];
    const offsets = preamble ? [previousOffset, current.offset] : [current.offset];
    const caller = current.caller;
    // With its preamble, the report is one piece of the text only when the preamble is the line just before.
    const before = this.previous;
    const source = !preamble ? current : before.text === current.text && before.start + before.raw.length + 1 === current.start ? before : null;
    const rawLines = preamble ? [before.raw, current.raw] : [current.raw];
    const report: OpenReport = {
      rule,
      checks: checksOf(rule),
      groups: header.groups,
      named: header.named,
      lines,
      offsets,
      messages: new ReportMessages(lines, offsets),
      headerIndex: lines.length - 1,
      startLine: lineNo - lines.length + 1,
      panicked: rule.name === 'kernel-panic',
      caller,
      tail: -1,
      sawTrace: false,
      refinedTo: null,
      callTrace: -1,
      sourceText: source?.text ?? null,
      sourceStart: source?.start ?? 0,
      sourceNext: current.start + current.raw.length + 1,
      rawLines: rawLines.some((raw, i) => raw.length !== lines[i]!.length) ? rawLines : null,
      detectedAtMs: atMs,
      lastAtMs: atMs,
      lastLineNo: lineNo,
    };
    if (report.messages.at(report.headerIndex).trimStart() !== header.message) report.messages.set(report.headerIndex, header.message);
    if ((rule.shape ?? 'report') === 'line') {
      this.emit(report);
      return;
    }
    this.open.push(report);
    if (this.open.length > MAX_OPEN_REPORTS) this.close(this.open[0]!);
  }

  private continueReport(open: OpenReport, line: string, offset: number, lineNo: number, atMs: number): void {
    const { rule, checks } = open;
    // The first character the message shows past its indentation decides which checks can apply at all; the
    // message itself is never cut from the line for them.
    let first = offset;
    while (line.charCodeAt(first) === 32 || line.charCodeAt(first) === 9) first++;
    const lead = line.charCodeAt(first);
    if (open.tail >= 0) {
      if (matchesAt(TAIL_AT, line, first) && open.tail < MAX_TAIL_LINES) {
        this.append(open, line, offset, lineNo, atMs);
        open.tail++;
        if (matchesAt(PANIC_AT, line, first)) open.panicked = true;
        return;
      }
      this.close(open);
      this.startReport(line, lineNo, atMs);
      return;
    }
    if (rule.shape === 'block') {
      if (checks.continues && matchesAt(checks.continues, line, first)) {
        this.append(open, line, offset, lineNo, atMs);
        const refinement = refinementAt(checks, line, first);
        if (refinement !== -1 && !open.refinedTo) open.refinedTo = checks.refine[refinement]!.rule;
        return;
      }
      this.close(open);
      this.startReport(line, lineNo, atMs);
      return;
    }
    const ends = (checks.end !== null && matchesAt(checks.end, line, first)) || isEndMarker(line, first, lead);
    const refinement = checks.refine.length === 0 ? -1 : refinementAt(checks, line, first);
    if (ends || refinement !== -1) {
      this.append(open, line, offset, lineNo, atMs);
      if (ends) open.tail = 0;
      if (refinement !== -1 && !open.refinedTo) open.refinedTo = checks.refine[refinement]!.rule;
      return;
    }
    // Indented lines of a report (frames, hex dumps) are never a header, unless a capital letter starts them
    // (` BUG: KCSAN: …` after a `[    C4]` caller), nor are blank ones: most of a report skips the header search.
    const indentedLower = first > offset && !((lead >= 65 && lead <= 90) || lead === 91);
    REPORT_BODY.lastIndex = offset;
    const header = indentedLower || first === line.length || REPORT_BODY.test(line) ? null : matchHeader(line, offset);
    if (header) {
      if (header.rule.boot !== undefined) {
        this.startReport(line, lineNo, atMs);
        return;
      }
      const shape = header.rule.shape ?? 'report';
      const followUp = header.rule.followUp;
      if (shape === 'line') {
        // An event of its own printed into the middle of this report: both stand.
        this.append(open, line, offset, lineNo, atMs);
        this.startReport(line, lineNo, atMs);
        return;
      }
      const sameReport = header.rule === rule && !open.sawTrace;
      const causedByOpen = followUp === 'before-stack' && (!open.sawTrace || (header.rule.followUpWhen?.test(header.message) ?? false));
      if (followUp === 'always' || sameReport || causedByOpen) {
        this.append(open, line, offset, lineNo, atMs);
        if (PANIC.test(header.message)) open.panicked = true;
        return;
      }
      this.close(open);
      this.startReport(line, lineNo, atMs);
      return;
    }
    this.append(open, line, offset, lineNo, atMs);
    if (!open.sawTrace && isTraceFrame(line.slice(offset))) open.sawTrace = true;
    if (open.callTrace === -1 && first === offset && (lead === 67 || lead === 66 || lead === 115) && matchesAt(CALL_TRACE_AT, line, first)) {
      open.callTrace = open.lines.length - 1;
    }
    if (open.lines.length >= (rule.maxLines ?? MAX_REPORT_LINES)) this.close(open);
  }

  private append(open: OpenReport, line: string, offset: number, lineNo: number, atMs: number): void {
    // Lines between (another task's) are not the report's: its excerpt is then joined from its own lines rather
    // than cut from the text in one piece.
    open.lines.push(line);
    open.offsets.push(offset);
    const { current } = this;
    if (open.rawLines !== null) open.rawLines.push(current.raw);
    else if (current.raw.length !== line.length) open.rawLines = [...open.lines.slice(0, -1), current.raw];
    if (open.sourceText !== null && (current.text !== open.sourceText || current.start !== open.sourceNext)) open.sourceText = null;
    open.sourceNext = current.start + current.raw.length + 1;
    open.lastAtMs = atMs;
    open.lastLineNo = lineNo;
  }

  private refined(report: OpenReport): CollectedReport {
    return report.refinedTo ? { ...report, rule: report.refinedTo } : report;
  }

  private close(report: OpenReport): void {
    const index = this.open.indexOf(report);
    if (index !== -1) this.open.splice(index, 1);
    this.emit(this.refined(report) as OpenReport);
  }

  private emit(report: CollectedReport & { detectedAtMs: number }): void {
    // buildEvent's object is new: adding the time to it spares copying it (the keys keep the same order).
    const event = buildEvent(report) as DetectedKernelEvent;
    event.detectedAtMs = report.detectedAtMs;
    if (event.fatal || event.class === 'REBOOT') this.boot.restartExplained = true;
    this.done.push(event);
  }

  /**
   * A line where a machine starts (KernelLogRule.boot): ends every open report (the kernel that printed them is
   * gone) and says whether the line is an event, an unexpected restart.
   */
  private machineStarts(kind: NonNullable<KernelLogRule['boot']>): boolean {
    while (this.open.length > 0) this.close(this.open[0]!);
    this.bootLine = true;
    const boot = this.boot;
    if (kind === 'firmware') {
      boot.firmware = true;
      return false;
    }
    const unexpected = kind !== 'journal' && !boot.restartExplained && (kind.after === 'output' ? boot.output : boot.kernel);
    boot.output = boot.kernel = boot.firmware = boot.restartExplained = false;
    return unexpected;
  }
}
