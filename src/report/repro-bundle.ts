// The files of a reproduction bundle for a vendor (README, facts, occurrences, transcripts), and the redaction every file passes.

import type { CommandRecord, Facts, JournalEvent, KernelEventRecord, RunStartEvent, TestSelector } from '../model/index.js';
import type { ReproSignature } from './repro-signature.js';

/** One attempt at the test, as the bundle tells it. */
export interface ReproAttemptReport {
  /** 1-based. */
  number: number;
  runId: string;
  host: string;
  reproduced: boolean;
  /** The test's outcome in that run; `missing` when the run ended without one (the host was never reached). */
  outcome: string;
  errorType?: string;
  message?: string;
  /** Stack, diff or command output behind the message. */
  detail?: string;
  startedAt?: string;
  durationMs: number;
  kernelEvents: KernelEventRecord[];
  commands: CommandRecord[];
  commandsDropped: number;
  /** Lines of the host's console around the occurrence, when the console is a file the runner can read. */
  console?: { via: string; text: string };
}

/** How a test ended, for an occurrence: its error type, message and detail. */
export interface TestError {
  type?: string;
  message?: string;
  detail?: string;
}

/** What the host said about itself, read on its own connection before the attempts. */
export interface ReproHostInfo {
  kernelConfig: { source: string; text: string } | { error: string };
  cmdline: string | null;
  engine: { command: string; text: string } | null;
}

export interface ReproBundleInput {
  gauntletVersion: string;
  signature: ReproSignature;
  test: TestSelector;
  original: {
    runId: string;
    host: string;
    stackKey: string | null;
    facts: Facts | null;
    /** The test's error in that run. */
    error: TestError;
    kernelEvents: KernelEventRecord[];
    commands: CommandRecord[];
    commandsDropped: number;
    startedAt?: string;
  };
  suite: { name: string; fileName: string; digest: string; text: string };
  params: Record<string, unknown>;
  seed: number;
  /** The host the attempts ran on. */
  host: { name: string; stackKey: string; facts: Facts | null };
  hostInfo: ReproHostInfo;
  attempts: ReproAttemptReport[];
  /** The attempts asked for (`--attempts`), and whether they stopped at the first recurrence. */
  attemptsAsked: number;
  untilFirst: boolean;
  /** Why the attempts stopped before the number asked for, if they did. */
  stoppedEarly?: string;
  /** The command line that ran this reproduction, and the one a vendor runs from the unpacked bundle. */
  commandLine: string;
  vendorCommandLine: string;
  /** The journal lines of the original run that `gauntlet repro` needs, already cut to the test (see selectBundleJournal). */
  journal: JournalEvent[];
}

/** The bundle's files: path inside the bundle's folder → text. */
export type BundleFiles = Map<string, string>;

/** Renders every file of the bundle, before redaction. */
export function renderBundleFiles(input: ReproBundleInput): BundleFiles {
  const files: BundleFiles = new Map();
  const reproduced = input.attempts.filter((attempt) => attempt.reproduced).length;
  files.set('README.md', renderVendorReadme(input));
  files.set('signature.json', json({ ...input.signature, reproduced, attempts: input.attempts.length, test: input.test, originalRun: input.original.runId }));
  files.set(
    'attempts.json',
    json(
      input.attempts.map((attempt) => ({
        number: attempt.number,
        runId: attempt.runId,
        host: attempt.host,
        reproduced: attempt.reproduced,
        outcome: attempt.outcome,
        errorType: attempt.errorType,
        message: attempt.message,
        startedAt: attempt.startedAt,
        durationMs: attempt.durationMs,
      })),
    ),
  );
  files.set('journal.jsonl', input.journal.map((event) => `${JSON.stringify(event)}\n`).join(''));
  files.set(`facts/${input.original.host}.json`, json({ host: input.original.host, stackKey: input.original.stackKey, facts: input.original.facts }));
  if (input.host.name !== input.original.host) files.set(`facts/${input.host.name}.json`, json({ host: input.host.name, stackKey: input.host.stackKey, facts: input.host.facts }));
  const config = input.hostInfo.kernelConfig;
  files.set('kernel/config', 'text' in config ? config.text : `# no kernel config could be read: ${config.error}\n`);
  files.set('kernel/cmdline', `${input.hostInfo.cmdline ?? input.host.facts?.kernel.cmdline ?? '(unknown)'}\n`);
  files.set('engine/info.txt', renderEngineInfo(input));
  files.set(`suite/${input.suite.fileName}`, input.suite.text);
  files.set('suite/params.json', json({ suite: input.suite.name, digest: input.suite.digest, params: input.params, seed: input.seed }));
  files.set('occurrences/original.txt', renderOccurrence(`original run ${input.original.runId}`, input.original.error, input.original.kernelEvents, undefined));
  files.set('transcript/original.txt', renderTranscript(`${describeTest(input.test)}: original run ${input.original.runId} on ${input.original.host}`, input.original.commands, input.original.commandsDropped, input.original.startedAt));
  for (const attempt of input.attempts) {
    const label = `attempt ${attempt.number} (run ${attempt.runId} on ${attempt.host})`;
    const error = { type: attempt.errorType, message: attempt.message, detail: attempt.detail };
    if (attempt.reproduced) files.set(`occurrences/attempt-${attempt.number}.txt`, renderOccurrence(label, error, attempt.kernelEvents, attempt.console));
    files.set(`transcript/attempt-${attempt.number}.txt`, renderTranscript(`${describeTest(input.test)}: ${label}`, attempt.commands, attempt.commandsDropped, attempt.startedAt));
  }
  return files;
}

/** `faults > panic` for a test whose title already starts with its suite's name, else `suite > title`. */
export function describeTest(test: TestSelector): string {
  return test.title === test.suite || test.title.startsWith(`${test.suite} > `) ? test.title : `${test.suite} > ${test.title}`;
}

/** The README a vendor reads first: what ran, where, how often it came back, and how to run it again. */
export function renderVendorReadme(input: ReproBundleInput): string {
  const reproduced = input.attempts.filter((attempt) => attempt.reproduced).length;
  const facts = input.host.facts ?? input.original.facts;
  const first = input.attempts.find((attempt) => attempt.reproduced);
  const lines = [
    `# ${input.signature.class}: ${input.signature.title}`,
    '',
    `Reproduced **${reproduced}/${input.attempts.length}** time${input.attempts.length === 1 ? '' : 's'} by re-running one test, \`${describeTest(input.test)}\`, with the same suite file, parameters and seed as the run that first saw it (${input.original.runId}).`,
    ...(input.stoppedEarly ? ['', `The attempts stopped early: ${input.stoppedEarly}.`] : input.untilFirst && reproduced > 0 && input.attempts.length < input.attemptsAsked ? ['', `Up to ${input.attemptsAsked} attempts were allowed; they stopped at the first recurrence.`] : []),
    '',
    '## The system',
    '',
    `- Stack: \`${input.host.stackKey}\` (distro / kernel / engine / storage driver / backing filesystem / cgroup)`,
    ...(facts
      ? [
          `- Distribution: ${facts.distro.prettyName}`,
          `- Kernel: ${facts.kernel.release} (${facts.kernel.version}), ${facts.hardware.arch}, ${facts.hardware.cpus} CPU${facts.hardware.cpus === 1 ? '' : 's'}, ${Math.round(facts.hardware.memTotalBytes / 2 ** 20)} MiB`,
          `- Kernel command line: \`${facts.kernel.cmdline}\``,
          `- Engine: ${facts.engine ? `${facts.engine.name} ${facts.engine.version}` : 'none'}${facts.storage ? `, storage driver ${facts.storage.driver} on ${facts.storage.backingFs}` : ''}${facts.runtime ? `, runtime ${facts.runtime.name}${facts.runtime.version ? ` ${facts.runtime.version}` : ''}` : ''}`,
          `- cgroup v${facts.cgroup.version ?? '?'}, AppArmor ${facts.security.apparmor}, SELinux ${facts.security.selinux}`,
        ]
      : []),
    `- Kernel config: ${'text' in input.hostInfo.kernelConfig ? `\`kernel/config\`, read from ${input.hostInfo.kernelConfig.source}` : `not available (${input.hostInfo.kernelConfig.error})`}`,
    `- The original run was on host ${input.original.host}; the attempts ran on ${input.host.name}${input.host.name === input.original.host ? ' (the same host)' : ' (another host with the same stack)'}.`,
    '',
    '## What was run',
    '',
    `- Suite \`${input.suite.name}\`, file \`suite/${input.suite.fileName}\` (sha256 ${input.suite.digest})`,
    `- Test \`${describeTest(input.test)}\`; the suite's hooks ran with it, its other tests did not`,
    `- Parameters ${JSON.stringify(input.params)}, seed ${input.seed} (\`suite/params.json\`)`,
    `- Every command the test ran on the host, with its start (seconds from the test's start), duration and exit status: \`transcript/\``,
    '',
    '## How often it reproduced',
    '',
    '| attempt | run | outcome | reproduced |',
    '|---|---|---|---|',
    ...input.attempts.map((attempt) => `| ${attempt.number} | ${attempt.runId} | ${escapeCell(attempt.errorType ? `${attempt.errorType}: ${attempt.message ?? ''}` : attempt.outcome)} | ${attempt.reproduced ? 'yes' : 'no'} |`),
    '',
    `The signature looked for: class \`${input.signature.class}\`, title \`${input.signature.title}\`${input.signature.alt.length > 0 ? ` (or ${input.signature.alt.map((title) => `\`${title}\``).join(', ')})` : ''}.`,
    ...(first ? ['', `The first recurrence (the test's error, kernel reports, console lines) is in \`occurrences/attempt-${first.number}.txt\`; the original run's in \`occurrences/original.txt\`.`] : []),
    '',
    '## Files',
    '',
    '- `facts/`: the stack facts of the host(s), as gauntlet gathered them',
    '- `kernel/config`, `kernel/cmdline`: the running kernel\'s configuration and command line',
    '- `engine/info.txt`: the container engine\'s own description of itself',
    '- `occurrences/`: each occurrence\'s kernel reports (console, kernel log, or what the kernel left in pstore) and the console lines around it',
    '- `transcript/`: the commands of the original run and of each attempt',
    '- `suite/`: the suite file and its parameters',
    '- `signature.json`, `attempts.json`, `journal.jsonl`: the same, for tools (the journal holds just what `gauntlet repro` needs)',
    '',
    'Secrets, private keys and the inventory (host addresses, credentials) are not included.',
    '',
    '## Reproduce it with gauntlet',
    '',
    'On a host with the same stack, listed in your own Ansible-format inventory, from the unpacked bundle\'s folder:',
    '',
    '```sh',
    input.vendorCommandLine,
    '```',
    '',
    'It re-runs the test until the signature recurs or the attempts run out, then writes a bundle like this one. It refuses a host whose stack differs. Exit status 0: reproduced at least once; 1: not reproduced; 2: bad input.',
    '',
    'This bundle was made with:',
    '',
    '```sh',
    input.commandLine,
    '```',
    '',
    `gauntlet ${input.gauntletVersion}`,
    '',
  ];
  return lines.join('\n');
}

/** How the test ended, each kernel event of the occurrence with its excerpt, then the console lines around it. */
export function renderOccurrence(label: string, error: TestError, events: readonly KernelEventRecord[], console: { via: string; text: string } | undefined): string {
  const parts = [`# ${label}: ${events.length} kernel event${events.length === 1 ? '' : 's'}\n`];
  if (error.type || error.message) parts.push(`\n--- the test's outcome: ${[error.type, error.message].filter(Boolean).join(': ')}\n${error.detail ? error.detail.replace(/\n?$/, '\n') : ''}`);
  for (const event of events) {
    parts.push(`\n--- ${event.fatal ? 'fatal ' : ''}${event.class}: ${event.title}\n    seen on the ${event.source} (${event.via}) at ${event.detectedAt}${event.bootId ? `, boot ${event.bootId}` : ''}\n${event.excerpt.replace(/\n?$/, '\n')}`);
  }
  if (console) parts.push(`\n--- console (${console.via}) around the occurrence\n${console.text.replace(/\n?$/, '\n')}`);
  return parts.join('');
}

/** The kernel's first console line of a boot. */
const BOOT_BANNER = /\bLinux version \d/;
/** The printk time at the start of a console line: `[   34.069212]`, maybe after a `<4>` level. */
const PRINTK_TIME = /^\s*(?:<\d+>)?\[\s*(\d+\.\d+)\]/;

/**
 * The console lines around the last place the excerpt's first line appears in `text` (the occurrence just seen):
 * up to `before` lines before it, but none of an earlier boot, and `after` lines from it. Null when it is not there.
 */
export function cutConsoleWindow(text: string, excerpt: string, before: number, after: number): string | null {
  const anchor = excerpt.split('\n').map((line) => line.trim()).find((line) => line !== '');
  if (!anchor) return null;
  // Serial consoles end lines with \r\n; the bundle's text files end them with \n.
  const lines = text.split('\n').map((line) => line.replace(/\r+$/, ''));
  let at = -1;
  for (let i = lines.length - 1; i >= 0 && at === -1; i--) if (lines[i]!.includes(anchor)) at = i;
  if (at === -1) return null;
  return lines.slice(findBootStart(lines, at, Math.max(0, at - before)), at + after).join('\n');
}

/**
 * The first line, no earlier than `earliest`, of the boot line `at` belongs to: a console file may hold earlier
 * boots. A boot starts at the kernel's banner, or where the printk time goes backwards.
 */
function findBootStart(lines: readonly string[], at: number, earliest: number): number {
  let later = Number.POSITIVE_INFINITY;
  for (let i = at; i >= earliest; i--) {
    if (BOOT_BANNER.test(lines[i]!)) return i;
    const time = PRINTK_TIME.exec(lines[i]!);
    if (!time) continue;
    const seconds = Number(time[1]);
    if (seconds > later) return i + 1;
    later = seconds;
  }
  return earliest;
}

/** One line per command: start (s from the test's start), duration, exit status, the command; its hook, when in one. */
export function renderTranscript(label: string, commands: readonly CommandRecord[], dropped: number, startedAt: string | undefined): string {
  const lines = [`# ${label}`, `# test started ${startedAt ?? '(unknown)'}; times in seconds from the test's start`, '#    start  duration  status     command'];
  for (const command of commands) {
    const status = command.error ? 'not run' : command.timedOut ? 'timed out' : command.signal ? `SIG${command.signal}` : `exit ${command.exitCode}`;
    const start = `${command.startMs < 0 ? '-' : '+'}${(Math.abs(command.startMs) / 1000).toFixed(3)}`;
    const [head = '', ...rest] = command.command.split('\n');
    lines.push(`${start.padStart(10)} ${(command.durationMs / 1000).toFixed(3).padStart(9)}  ${status.padEnd(9)}  $ ${head}${command.hook ? `    [${command.hook}]` : ''}`);
    for (const line of rest) lines.push(`${' '.repeat(34)}${line}`);
    if (command.error) lines.push(`${' '.repeat(34)}(${command.error})`);
  }
  if (commands.length === 0) lines.push('(no commands were recorded for this test)');
  if (dropped > 0) lines.push(`(${dropped} more commands were run but not kept)`);
  return `${lines.join('\n')}\n`;
}

function renderEngineInfo(input: ReproBundleInput): string {
  const engine = input.hostInfo.engine;
  const fromFacts = input.host.facts?.engine ?? null;
  const head = `# engine facts\n${JSON.stringify(fromFacts, null, 2)}\n`;
  return engine ? `${head}\n# ${engine.command}\n${engine.text.replace(/\n?$/, '\n')}` : `${head}\n# the engine could not be asked for more\n`;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/**
 * The events of a run journal that a bundle keeps, so that the unpacked bundle is itself a folder `gauntlet repro`
 * reads: run-start without the inventory's path, the runner's description or its argv; the host's facts; the test's
 * plan, start, end and kernel events; the host's end and the run's end. Host ids (addresses) become the host's name.
 */
/** The seed `suite` ran with on `host`: the run's, or in a merged run the seed of the shard that ran the pair. */
export function findTestSeed(start: RunStartEvent, host: string, suite: string): number {
  const shard = start.mergedFrom?.find((entry) => entry.pairs[host]?.includes(suite));
  return shard ? shard.seed : start.seed;
}

export function selectBundleJournal(events: readonly JournalEvent[], host: string, test: TestSelector): JournalEvent[] {
  const kept: JournalEvent[] = [];
  const isTest = (suite: string, title: string) => suite === test.suite && title === test.title;
  for (const event of events) {
    switch (event.type) {
      case 'run-start': {
        // The shards of a merged run are not in the bundle: the test's own seed stands in the run's place.
        const { mergedFrom: _mergedFrom, ...start } = event;
        kept.push({
          ...start,
          seed: findTestSeed(event, host, test.suite),
          argv: [],
          inventory: { file: '(not included)', digest: event.inventory.digest },
          hosts: event.hosts.filter((ref) => ref.name === host).map((ref) => ({ name: ref.name, id: ref.name })),
          suites: event.suites.filter((suite) => suite.name === test.suite),
          pairs: { [host]: [test.suite] },
          runner: null,
          limit: null,
          ...(event.process ? { process: { pid: 0, hostname: '(not included)' } } : {}),
        });
        break;
      }
      case 'host-facts':
        if (event.host === host) kept.push({ ...event, id: event.host });
        break;
      case 'suite-plan':
        if (event.host === host && event.suite === test.suite) kept.push({ ...event, tests: event.tests.filter((title) => title === test.title) });
        break;
      case 'test-start':
      case 'test-end':
        if (event.host === host && isTest(event.suite, event.title)) kept.push(event);
        break;
      case 'kernel-event':
        if (event.host === host && event.test && isTest(event.test.suite, event.test.title)) kept.push(event);
        break;
      case 'host-end':
        if (event.host === host) kept.push(event);
        break;
      case 'run-end':
        kept.push(event);
        break;
      default:
        break;
    }
  }
  return kept;
}

/** A secret to keep out of the bundle, and what to call it in the redaction notes (never the value itself). */
export interface BundleSecret {
  value: string;
  what: string;
}

/** Secret values shorter than this are not searched for: they would match ordinary text. */
export const MIN_SECRET_LENGTH = 4;
/** A whole PEM private key; then the start of one whose end is missing (its base64 lines follow); then any line still naming one. */
const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g;
const PEM_PRIVATE_KEY_START = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[^\n]*(?:\r?\n[A-Za-z0-9+/=]{16,}[^\S\n]*)*/g;
const PRIVATE_KEY_LINE = /^.*PRIVATE KEY.*$/gm;

/**
 * Removes from every file: private keys (PEM blocks, and any line still naming a PRIVATE KEY), and every secret's
 * value. JSON files (`.json`, `.jsonl`) are cleaned string by string, so they stay valid JSON. Returns the cleaned
 * files and one note per file and kind of removal (`kernel/config: 1 private key`), never quoting what was removed.
 */
export function redactBundle(files: BundleFiles, secrets: readonly BundleSecret[]): { files: BundleFiles; notes: string[] } {
  const cleaned: BundleFiles = new Map();
  const notes: string[] = [];
  const usable = [...secrets].filter((secret) => secret.value.length >= MIN_SECRET_LENGTH).sort((a, b) => b.value.length - a.value.length);
  for (const [path, text] of files) {
    const counts = new Map<string, number>();
    const clean = (value: string): string => redactText(value, usable, (what) => counts.set(what, (counts.get(what) ?? 0) + 1));
    let result: string;
    if (path.endsWith('.jsonl')) result = text.split('\n').map((line) => (line.trim() === '' ? line : redactJson(line, clean, false))).join('\n');
    else if (path.endsWith('.json')) result = redactJson(text, clean, true);
    else result = clean(text);
    for (const [what, n] of counts) notes.push(`${path}: ${n} ${what}${n === 1 ? '' : 's'}`);
    cleaned.set(path, result);
  }
  return { files: cleaned, notes };
}

function redactText(text: string, secrets: readonly BundleSecret[], count: (what: string) => void): string {
  const removed = (what: string, replacement: string) => () => {
    count(what);
    return replacement;
  };
  let result = text.replace(PEM_PRIVATE_KEY, removed('private key', '[private key removed by gauntlet]'));
  result = result.replace(PEM_PRIVATE_KEY_START, removed('private key', '[private key removed by gauntlet]'));
  result = result.replace(PRIVATE_KEY_LINE, removed('line naming a private key', '[line naming a private key removed by gauntlet]'));
  for (const secret of secrets) {
    if (!result.includes(secret.value)) continue;
    result = result.split(secret.value).join(`[${secret.what} removed by gauntlet]`);
    count(secret.what);
  }
  return result;
}

/** Cleans every string (keys included) of a JSON text; a text that is not JSON is cleaned as text. */
function redactJson(text: string, clean: (value: string) => string, pretty: boolean): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return clean(text);
  }
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return clean(node);
    if (Array.isArray(node)) return node.map(walk);
    if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([key, inner]) => [clean(key), walk(inner)]));
    return node;
  };
  const redacted = JSON.stringify(walk(value), null, pretty ? 2 : undefined);
  return pretty ? `${redacted}\n` : redacted;
}

/** Files that still hold a private key or a secret: must be none before a bundle is written. */
export function findLeaks(files: BundleFiles, secrets: readonly BundleSecret[]): string[] {
  const leaks: string[] = [];
  for (const [path, text] of files) {
    if (text.includes('PRIVATE KEY')) leaks.push(`${path}: names a PRIVATE KEY`);
    for (const secret of secrets) if (secret.value.length >= MIN_SECRET_LENGTH && text.includes(secret.value)) leaks.push(`${path}: holds the ${secret.what}`);
  }
  return leaks;
}
