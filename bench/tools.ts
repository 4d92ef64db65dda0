// Measuring with public tools (hyperfine, /usr/bin/time -v), describing the machine, and Markdown helpers.

import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa, type Options as ExecaOptions } from 'execa';
import { BenchError } from './benchmark.js';

export const TIME_BIN = '/usr/bin/time';

/** A command to measure: a display name and its argv (run without a shell). */
export interface BenchCommand {
  name: string;
  argv: string[];
}

/** One command's hyperfine statistics, in seconds. */
export interface HyperfineStats {
  name: string;
  command: string;
  mean: number;
  stddev: number;
  median: number;
  min: number;
  max: number;
  /** CPU time of the command and its waited-for children, mean per run. */
  user: number;
  system: number;
  times: number[];
}

/** What `/usr/bin/time -v` reported for one run (it counts the command and every child it waited for). */
export interface TimeUsage {
  wallS: number;
  userS: number;
  systemS: number;
  cpuPercent: number;
  /** The largest single process's peak RSS among the command and its waited-for children. */
  maxRssKb: number;
  voluntaryCtxSwitches: number;
  involuntaryCtxSwitches: number;
}

export interface TimedRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  usage: TimeUsage;
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  signal: AbortSignal;
}

/** Quote one word for POSIX sh (and for hyperfine's shell-words splitting). */
export function quoteWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function formatArgv(argv: string[]): string {
  return argv.map(quoteWord).join(' ');
}

/** Run argv once under `/usr/bin/time -v` (its report goes to a file, so the command's stderr stays clean). */
export async function runUnderTime(argv: string[], reportFile: string, opts: RunOptions): Promise<TimedRun> {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('runUnderTime: empty argv');
  const result = await runInOwnGroup(TIME_BIN, ['-v', '-o', reportFile, file, ...args], opts, false, formatArgv(argv));
  const report = await readFile(reportFile, 'utf8').catch(() => '');
  if (report === '') {
    throw new BenchError('TOOL_FAILED', `${TIME_BIN} -v wrote no report for ${formatArgv(argv)}: ${result.stderr.trim() || result.shortMessage || ''}`);
  }
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr, usage: parseTimeReport(report) };
}

/** How long a process group gets between SIGTERM and SIGKILL once the run is aborted. */
const KILL_GRACE_MS = 5000;

/**
 * Run a tool in a process group of its own and wait for it. On abort the whole group is ended (SIGTERM, then
 * SIGKILL): the group id is our child's PID, so this reaches exactly the tool and the commands it started,
 * not just the tool while its orphaned command keeps our pipes, and the lab, busy.
 */
async function runInOwnGroup(
  file: string,
  args: string[],
  opts: RunOptions,
  /** Send the tool's output to our stderr (for progress) instead of capturing it. */
  toStderr: boolean,
  what: string,
): Promise<{ exitCode?: number; signal?: string; stdout: string; stderr: string; shortMessage?: string }> {
  if (opts.signal.aborted) throw new BenchError('ABORTED', `interrupted before running ${what}`);
  const options: ExecaOptions = {
    env: opts.env,
    cwd: opts.cwd,
    reject: false,
    detached: true,
    stdin: 'ignore',
    ...(toStderr ? { stdout: 2, stderr: 2 } : { stdout: 'pipe', stderr: 'pipe' }),
    maxBuffer: 256 * 1024 * 1024,
  };
  const child = execa(file, args, options);
  const pgid = child.pid;
  let killTimer: NodeJS.Timeout | undefined;
  const signalGroup = (sig: NodeJS.Signals): void => {
    if (pgid === undefined) return;
    try {
      process.kill(-pgid, sig);
    } catch {
      // The group is already gone.
    }
  };
  const onAbort = (): void => {
    signalGroup('SIGTERM');
    killTimer = setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS);
  };
  opts.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await child;
    const failed = result as { code?: string; failed?: boolean; shortMessage?: string };
    if (failed.failed && failed.code === 'ENOENT') throw new BenchError('TOOL_MISSING', `cannot run ${what}: ${file} is not installed`);
    if (opts.signal.aborted) throw new BenchError('ABORTED', `interrupted while running ${what}`);
    return {
      exitCode: result.exitCode,
      signal: result.signal,
      stdout: typeof result.stdout === 'string' ? result.stdout : '',
      stderr: typeof result.stderr === 'string' ? result.stderr : '',
      shortMessage: failed.shortMessage,
    };
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
    clearTimeout(killTimer);
  }
}

/** Parse GNU time's `-v` report. */
export function parseTimeReport(text: string): TimeUsage {
  const field = (label: string): string => {
    const line = text.split('\n').find((l) => l.trim().startsWith(`${label}`));
    const value = line?.slice(line.lastIndexOf(': ') + 2).trim();
    if (value === undefined) throw new BenchError('TOOL_FAILED', `${TIME_BIN} -v report has no "${label}" line:\n${text}`);
    return value;
  };
  return {
    wallS: parseClock(field('Elapsed (wall clock) time')),
    userS: Number(field('User time (seconds)')),
    systemS: Number(field('System time (seconds)')),
    cpuPercent: Number(field('Percent of CPU this job got').replace('%', '')),
    maxRssKb: Number(field('Maximum resident set size (kbytes)')),
    voluntaryCtxSwitches: Number(field('Voluntary context switches')),
    involuntaryCtxSwitches: Number(field('Involuntary context switches')),
  };
}

/** `h:mm:ss` or `m:ss.ss` → seconds. */
function parseClock(clock: string): number {
  return clock.split(':').reduce((total, part) => total * 60 + Number(part), 0);
}

export interface HyperfineOptions extends RunOptions {
  runs: number;
  warmup: number;
  exportJson: string;
}

/**
 * Run hyperfine once over all commands (so they are measured side by side, in order), without an intermediate
 * shell (`-N`). Its progress goes to our stderr; a command exiting non-zero fails the whole measurement.
 */
export async function runHyperfine(commands: BenchCommand[], opts: HyperfineOptions): Promise<HyperfineStats[]> {
  const args = ['-N', '--style', 'basic', '--warmup', String(opts.warmup), '--runs', String(opts.runs), '--export-json', opts.exportJson];
  for (const c of commands) args.push('-n', c.name, formatArgv(c.argv));
  const result = await runInOwnGroup('hyperfine', args, opts, true, 'hyperfine');
  if (result.exitCode !== 0) {
    throw new BenchError('TOOL_FAILED', `hyperfine exited ${String(result.exitCode ?? result.signal)} (a measured command failed? see its output above)`);
  }
  const exported = JSON.parse(await readFile(opts.exportJson, 'utf8')) as { results: Array<Record<string, unknown>> };
  return commands.map((c, i) => {
    const r = exported.results[i];
    if (!r || r.command !== c.name) throw new BenchError('TOOL_FAILED', `hyperfine's export has no result for ${c.name}`);
    return {
      name: c.name,
      command: formatArgv(c.argv),
      mean: r.mean as number,
      stddev: (r.stddev as number | null) ?? 0,
      median: r.median as number,
      min: r.min as number,
      max: r.max as number,
      user: r.user as number,
      system: r.system as number,
      times: r.times as number[],
    };
  });
}

/** The first line a tool prints for `args` (stdout, else stderr); `(not found)` when it cannot run. */
export async function readToolVersion(file: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await execa(file, args, { reject: false, stdin: 'ignore', timeout: 30_000 });
    return (stdout.trim() || stderr.trim()).split('\n')[0]?.trim() || '(no output)';
  } catch {
    return '(not found)';
  }
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memTotalGiB: number;
  kernel: string;
  os: string;
  node: string;
  tools: Record<string, string>;
  gauntlet: { version: string; commit: string };
}

/** The machine a benchmark ran on and the versions of every tool it measured. */
export async function describeMachine(repoRoot: string): Promise<MachineInfo> {
  const [osRelease, ansible, hyperfine, pssh, openssh, python, ssh2Version, manifest, commit, dirty] = await Promise.all([
    readFile('/etc/os-release', 'utf8').catch(() => ''),
    readToolVersion('ansible', ['--version']),
    readToolVersion('hyperfine', ['--version']),
    readToolVersion('parallel-ssh', ['--version']),
    readToolVersion('ssh', ['-V']),
    readToolVersion('python3', ['--version']),
    readFile(path.join(repoRoot, 'node_modules/ssh2/package.json'), 'utf8').then((t) => (JSON.parse(t) as { version: string }).version, () => '?'),
    readFile(path.join(repoRoot, 'package.json'), 'utf8').then((t) => JSON.parse(t) as { version: string }),
    execa('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, reject: false }).then((r) => r.stdout.trim() || '?'),
    execa('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot, reject: false }).then((r) => r.stdout.trim() !== ''),
  ]);
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? '?',
    memTotalGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    os: /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? os.type(),
    node: process.version,
    tools: {
      ansible,
      hyperfine,
      'parallel-ssh': pssh,
      openssh,
      python3: python,
      ssh2: `ssh2 ${ssh2Version}`,
    },
    gauntlet: { version: manifest.version, commit: dirty ? `${commit} (+ uncommitted changes)` : commit },
  };
}

export function renderMachineTable(m: MachineInfo): string {
  return renderTable(
    ['', ''],
    [
      ['nproc', String(m.nproc)],
      ['CPU', m.cpuModel],
      ['memory', `${m.memTotalGiB} GiB`],
      ['kernel', m.kernel],
      ['OS', m.os],
      ['node', m.node],
      ...Object.entries(m.tools).map(([tool, version]) => [tool, version]),
      ['gauntlet', `${m.gauntlet.version}, commit ${m.gauntlet.commit}`],
    ],
  );
}

/** A GitHub Markdown table; cells have `|` escaped. */
export function renderTable(head: string[], rows: string[][], align: Array<'l' | 'r'> = []): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const rule = head.map((_, i) => (align[i] === 'r' ? '---:' : '---'));
  return [head, rule, ...rows].map((r, i) => `| ${(i === 1 ? r : r.map(cell)).join(' | ')} |`).join('\n');
}

export function formatSeconds(s: number): string {
  return `${s.toFixed(3)} s`;
}

export function formatMiB(kb: number): string {
  return `${(kb / 1024).toFixed(1)} MiB`;
}
