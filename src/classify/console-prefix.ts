// Removes what consoles, dmesg, journalctl and syslog put in front of a kernel message, leaving the message itself.

/**
 * Prefixes, tried in this order at the start of a line, each at most once:
 * - `<4>`: the printk level as /dev/kmsg and some consoles show it;
 * - `kern  :warn  : `: `dmesg -x` facility and level (`10.5.0.2: kern:  alert: ` from `talosctl dmesg`);
 * - `Nov 22 08:00:00 host kernel: ` or `2026-11-22T08:00:00+0000 host kernel: `: syslog and journalctl's short
 *   and short-iso output;
 * - any other syslog-style `… host kernel: ` (SONiC's `2025 Jun 18 07:12:32.614 host CRIT kernel: `), and a bare `kernel: `;
 * - `2018/01/09 14:28:48 `: a fuzzer's or runner's own timestamp on lines it copied;
 * - `[Thu Dec  7 00:05:15 2017] ` (`dmesg -T`) or `[2024-04-16T18:19:30.856Z]: `;
 * - `[   12.345678]`: the kernel's timestamp, optionally followed by the caller id `[  T123]` or `[    C1]`
 *   (CONFIG_PRINTK_CALLER), or the caller id alone;
 * - `host kernel: ` right after a timestamp: journalctl's short-monotonic output;
 * - Android vendor kernels' caller after the timestamp (VENDOR_CALLER).
 */
const LEVEL = /<\d{1,3}>/y;
const DMESG_FACILITY = /(?:[\w.:-]+: )?(?:kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local[0-7]) *: *(?:emerg|alert|crit|err|warn|warning|notice|info|debug) *: /y;
/** `dmesg -T` (`[Thu Dec  7 00:05:15 2017] `, in any language) and ISO times in brackets (`[2024-04-16T18:19:30.856Z]: `). */
const BRACKET_DATE = /\[(?:[^\]\d]{2,4} [^\]\d]{3,5} [ \d]\d \d\d:\d\d:\d\d \d{4}|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)\]:? ?/y;
const SYSLOG_DATE = /(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?) [\w.-]+ kernel: /y;
const RUNNER_DATE = /\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /y;
/** Any other syslog-style line: a date, a host, maybe a level, then `kernel: `. */
const SYSLOG_OTHER = /[\w.:/ -]{6,80}? kernel: /y;
const KERNEL_TAG = /kernel: /y;
/** The kernel's timestamp and the optional caller, the task (`T123`) in group 1. */
const TIMESTAMP = /\[ *\d+\.\d+\](?:\[ *(?:T(\d+)|C\d+)\])? ?/y;
const CALLER = /\[ *(?:T(\d+)|C\d+)\] ?/y;
const JOURNAL_HOST = /[\w.-]+ kernel: /y;
/**
 * Android vendor kernels' own caller prefix after the timestamp: `[4:  system_server: 3344] ` (cpu, comm, pid),
 * `(1)[123:swapper/1]` (cpu, pid, comm), `c7    604 ` (cpu, pid).
 */
const VENDOR_CALLER = / *(?:\[\d+: *[^\]:]*: *\d+\] |\(\d+\)\[\d+:[^\]]*\] ?|c\d+ +\d+ )/y;

/** A kernel timestamp anywhere in a line: where an interleaved message starts. */
const INNER_TIMESTAMP = /\[ *\d+\.\d{3,}\](?:\[ *[TC]\d+\])? ?/g;

/** A console line taken apart. */
export interface ConsoleLine {
  /** Where the kernel message starts: the line without its prefixes (leading blanks of the message kept). */
  offset: number;
  /** The task that printed it (123 for `[ T123]`) when the console shows printk callers, else -1. */
  caller: number;
}

/** Length of `re`'s match at `at`, or 0. */
function skip(re: RegExp, line: string, at: number): number {
  re.lastIndex = at;
  const m = re.exec(line);
  return m ? m[0].length : 0;
}

/** `[  12.345678]`: blanks, then at least two digits and dots (a dot among them), then `]`. */
const KERNEL_STAMP = /\[ *(?=[\d.]*\.)[\d.]{2,}\]/y;

/**
 * The common case without a regular expression per part: `[  12.345678] ` or `[  12.345678][ T123] ` and the message.
 * Returns false when the line is not in that form.
 */
function splitKernelStamp(line: string, out: ConsoleLine): boolean {
  if (line.charCodeAt(0) !== 91 /* [ */) return false;
  // One sticky test reads the stamp faster than a loop over its characters.
  KERNEL_STAMP.lastIndex = 0;
  if (!KERNEL_STAMP.test(line)) return false;
  let i = KERNEL_STAMP.lastIndex;
  let caller = -1;
  if (line.charCodeAt(i) === 91) {
    let j = i + 1;
    while (line.charCodeAt(j) === 32) j++;
    const kind = line.charCodeAt(j);
    if (kind !== 84 /* T */ && kind !== 67 /* C */) return false;
    const number = j + 1;
    let k = number;
    let id = 0;
    for (let c = line.charCodeAt(k); c >= 48 && c <= 57; c = line.charCodeAt(++k)) id = id * 10 + (c - 48);
    if (k === number || line.charCodeAt(k) !== 93) return false;
    if (kind === 84) caller = id;
    i = k + 1;
  }
  if (line.charCodeAt(i) === 32) i++;
  // journalctl -o short-monotonic adds `host kernel: ` after the timestamp: leave that to the general path.
  const space = line.indexOf(' ', i);
  if (space !== -1 && line.startsWith(' kernel: ', space)) return false;
  if (mayHaveVendorCaller(line, line.charCodeAt(i) === 32 ? i + 1 : i)) i += skip(VENDOR_CALLER, line, i);
  out.offset = i;
  out.caller = caller;
  return true;
}

const isDigit = (code: number): boolean => code >= 48 && code <= 57;

/** `[4:`, `(1)[` or `c7 `: what VENDOR_CALLER starts with, checked without a regular expression. */
function mayHaveVendorCaller(line: string, at: number): boolean {
  const first = line.charCodeAt(at);
  if (!isDigit(line.charCodeAt(at + 1))) return false;
  const after = isDigit(line.charCodeAt(at + 2)) ? at + 3 : at + 2;
  if (first === 91 /* [ */) return line.charCodeAt(after) === 58; /* : */
  if (first === 40 /* ( */) return line.charCodeAt(after) === 41; /* ) */
  return first === 99 /* c */ && line.charCodeAt(after) === 32;
}

/** Takes a console line apart into its message and the task that printed it (into `out`, to spare an allocation). */
export function splitConsoleLine(line: string, out: ConsoleLine = { offset: 0, caller: -1 }): ConsoleLine {
  if (splitKernelStamp(line, out)) return out;
  let at = 0;
  if (line.charCodeAt(0) === 60 /* < */) at += skip(LEVEL, line, at);
  if (line.charCodeAt(at) !== 91 /* [ */) at += skip(DMESG_FACILITY, line, at);
  const lead = line.charCodeAt(at);
  if ((lead >= 48 && lead <= 57) || (lead >= 65 && lead <= 90)) {
    // Both syslog forms end in ` kernel: `, a runner's date has a slash after the year: most lines need neither.
    const tag = line.indexOf(' kernel: ', at);
    if (tag !== -1 && tag - at <= 100) at += skip(SYSLOG_DATE, line, at) || skip(SYSLOG_OTHER, line, at);
    else if (line.charCodeAt(at + 4) === 47 /* / */) at += skip(RUNNER_DATE, line, at);
  } else if (lead === 107 /* k */) {
    at += skip(KERNEL_TAG, line, at);
  }
  let caller = -1;
  if (line.charCodeAt(at) === 91 /* [ */) {
    TIMESTAMP.lastIndex = at;
    let stamp = TIMESTAMP.exec(line);
    if (!stamp) {
      at += skip(BRACKET_DATE, line, at);
      TIMESTAMP.lastIndex = at;
      stamp = line.charCodeAt(at) === 91 ? TIMESTAMP.exec(line) : null;
    }
    if (stamp) {
      at += stamp[0].length;
      caller = stamp[1] === undefined ? -1 : Number(stamp[1]);
      // journalctl -o short-monotonic: `[  12.345678] host kernel: `.
      const space = line.indexOf(' ', at);
      if (space !== -1 && line.startsWith(' kernel: ', space)) at += skip(JOURNAL_HOST, line, at);
      at += skip(VENDOR_CALLER, line, at);
    } else if (line.charCodeAt(at) === 91) {
      CALLER.lastIndex = at;
      const own = CALLER.exec(line);
      if (own) {
        at += own[0].length;
        caller = own[1] === undefined ? -1 : Number(own[1]);
      }
    }
  }
  out.offset = at;
  out.caller = caller;
  return out;
}

/** The kernel message of a console line: the line without its prefixes (leading blanks of the message kept). */
export function stripConsolePrefix(line: string): string {
  const { offset } = splitConsoleLine(line);
  return offset === 0 ? line : line.slice(offset);
}

/**
 * Where messages start in one message (console prefixes already removed): the message itself, then, for a line
 * where another message was printed into the middle of it (`syzkaller login: [  417.72][ C1] rcu: INFO: …`),
 * whatever follows each inner kernel timestamp. Leading blanks are trimmed.
 */
export function messageStarts(message: string): string[] {
  const starts = [message.trimStart()];
  INNER_TIMESTAMP.lastIndex = 0;
  for (let m = INNER_TIMESTAMP.exec(message); m; m = INNER_TIMESTAMP.exec(message)) {
    starts.push(message.slice(m.index + m[0].length).trimStart());
  }
  return starts;
}
