// What the netns-lab benchmarks share: checks before measuring, the lab's files, the comparison commands (ansible,
// parallel-ssh, the bare ssh2 floor, gauntlet's start-up and `gauntlet facts`), checking each once before timing
// it, closing ansible's master connections afterwards, and bits of the report.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { NetnsLab } from '../test/helpers/netns-hosts.js';
import { BenchError, type BenchContext } from './benchmark.js';
import {
  describeMachine,
  formatArgv,
  formatMiB,
  formatSeconds,
  renderTable,
  TIME_BIN,
  type BenchCommand,
  type MachineInfo,
  type TimedRun,
  type TimeUsage,
} from './tools.js';

/** The lab's files every tool reads: an ansible inventory (gauntlet reads it too) and parallel-ssh's host list. */
export interface LabFiles {
  inventory: string;
  hostFile: string;
  key: string;
  knownHosts: string;
}

export interface Preflight {
  /** `dist/src/cli/main.js`, absolute. */
  cli: string;
  /** Set when a source file is newer than the build (kept in the results as a warning). */
  staleBuild: string | null;
  machine: MachineInfo;
}

/** Root, a build, and every measuring and compared tool installed; else a BenchError before the lab is built. */
export async function preflight(name: string, ctx: BenchContext): Promise<Preflight> {
  if (process.getuid?.() !== 0) throw new BenchError('NOT_ROOT', `${name} must run as root: it creates network namespaces`);
  const cli = path.join(ctx.repoRoot, 'dist/src/cli/main.js');
  const staleBuild = checkBuild(ctx.repoRoot, cli);
  if (staleBuild) ctx.log(`${name}: warning: ${staleBuild}`);
  const machine = await describeMachine(ctx.repoRoot);
  for (const [tool, version] of Object.entries(machine.tools)) {
    if (version === '(not found)') throw new BenchError('TOOL_MISSING', `${tool} is not installed (apt-get install -y hyperfine ansible pssh time)`);
  }
  if (!existsSync(TIME_BIN)) throw new BenchError('TOOL_MISSING', `${TIME_BIN} is missing (apt-get install -y time)`);
  return { cli, staleBuild, machine };
}

/**
 * The build must exist. A source file newer than it is only a warning, kept in the results: src/ may be changing
 * under other work while the build being timed is still the one of interest.
 */
function checkBuild(repoRoot: string, cli: string): string | null {
  if (!existsSync(cli)) throw new BenchError('CHECK_FAILED', `${path.relative(repoRoot, cli)} is missing: run npm run build first`);
  const built = statSync(cli).mtimeMs;
  const stale = listFiles(path.join(repoRoot, 'src')).find((f) => f.endsWith('.ts') && statSync(f).mtimeMs > built);
  return stale ? `${path.relative(repoRoot, stale)} is newer than dist/ (run npm run build to time the current source)` : null;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

export async function writeLabFiles(lab: NetnsLab, workDir: string): Promise<LabFiles> {
  const inventory = path.join(workDir, 'inventory.yaml');
  const hostFile = path.join(workDir, 'hosts.txt');
  await lab.writeInventory(inventory);
  await writeFile(hostFile, `${lab.hosts.map((h) => h.address).join('\n')}\n`);
  await mkdir(path.join(workDir, 'ansible-tmp'), { recursive: true });
  return { inventory, hostFile, key: lab.clientKeyPath, knownHosts: lab.knownHostsPath };
}

/** Where ansible's ControlPersist sockets go (inside the benchmark's work dir, so nothing outside is touched). */
export function ansibleControlDir(workDir: string): string {
  return path.join(workDir, 'ansible-cp');
}

/** The environment every measured command gets: ansible kept inside the work dir, no colour. */
export function ansibleEnv(workDir: string): Record<string, string> {
  return {
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    ANSIBLE_SSH_CONTROL_PATH_DIR: ansibleControlDir(workDir),
    ANSIBLE_LOCAL_TEMP: path.join(workDir, 'ansible-tmp'),
    ANSIBLE_NOCOLOR: '1',
  };
}

/** The connection fan-out yardsticks, in the order they are measured. */
export type FanOutKey = 'raw' | 'pssh' | 'floor' | 'startup';

/** Every tool checks host keys against the lab's known_hosts and logs in as root with the lab's key. */
function sshCheckArgs(f: LabFiles): string {
  return `-o UserKnownHostsFile=${f.knownHosts} -o StrictHostKeyChecking=yes`;
}

/** `ansible all` on every lab host at once (`-f hostCount`), one line per host (`-o`). */
export function ansibleArgv(f: LabFiles, hostCount: number, module: string[]): string[] {
  return ['ansible', 'all', '-i', f.inventory, ...module, '-f', String(hostCount), '-o', `--ssh-common-args=${sshCheckArgs(f)}`];
}

export function gauntletFactsCommand(node: string, cli: string, f: LabFiles): BenchCommand {
  return { name: 'gauntlet facts --json', argv: [node, cli, 'facts', '--json', '-i', f.inventory] };
}

/** `true` on every host at once with ansible -m raw, parallel-ssh and bare ssh2; and gauntlet's start-up alone. */
export function fanOutCommands(node: string, cli: string, f: LabFiles, repoRoot: string, hostCount: number): Record<FanOutKey, BenchCommand> {
  return {
    raw: { name: 'ansible -m raw -a true', argv: ansibleArgv(f, hostCount, ['-m', 'raw', '-a', 'true']) },
    pssh: {
      name: 'parallel-ssh true',
      argv: ['parallel-ssh', '-p', String(hostCount), '-h', f.hostFile, '-l', 'root', '-x', `-i ${f.key} ${sshCheckArgs(f)}`, 'true'],
    },
    floor: { name: 'bare ssh2 exec true (floor)', argv: [node, path.join(repoRoot, 'bench/ssh2-floor.mjs'), f.hostFile, f.key, f.knownHosts] },
    startup: { name: 'gauntlet --version (start-up only)', argv: [node, cli, '--version'] },
  };
}

/** Check one fan-out command's run on every lab host; returns one line saying what was verified. */
export function checkFanOut(key: FanOutKey, command: BenchCommand, run: TimedRun, lab: NetnsLab): string {
  const count = lab.hosts.length;
  switch (key) {
    case 'raw':
      checkLines(command, run, /^(\S+) \| CHANGED \| rc=0 \|/gm, lab.hosts.map((h) => h.name));
      return `exit 0; ${count} distinct \`<host> | CHANGED | rc=0\` lines`;
    case 'pssh':
      checkLines(command, run, /^\[\d+\] \S+ \[SUCCESS\] (\S+)$/gm, lab.hosts.map((h) => h.address));
      return `exit 0; ${count} distinct \`[SUCCESS] <address>\` lines`;
    case 'floor':
      checkExit(command, run);
      return 'exit 0 (it exits 1 unless `true` exited 0 on every host with a verified host key)';
    case 'startup':
      checkExit(command, run);
      return 'exit 0';
  }
}

export function checkExit(command: BenchCommand, run: TimedRun): void {
  if (run.exitCode !== 0) {
    throw new BenchError('CHECK_FAILED', `${command.name} exited ${run.exitCode}: ${tail(run.stderr || run.stdout)}`);
  }
}

/** The command must exit 0 and `pattern`'s first group must name exactly the expected hosts. */
export function checkLines(command: BenchCommand, run: TimedRun, pattern: RegExp, expected: string[]): void {
  checkExit(command, run);
  const seen = new Set([...run.stdout.matchAll(pattern)].map((m) => m[1] ?? ''));
  const missing = expected.filter((h) => !seen.has(h));
  if (missing.length > 0 || seen.size !== expected.length) {
    throw new BenchError(
      'CHECK_FAILED',
      `${command.name} succeeded on ${seen.size}/${expected.length} hosts (missing: ${missing.slice(0, 5).join(', ') || 'none'}): ${tail(run.stdout + run.stderr)}`,
    );
  }
}

export interface GauntletFactsSummary {
  stackKeys: string[];
  durationMs: { min: number; median: number; max: number };
  probeErrors: number;
}

/** gauntlet's JSON must hold one reachable, error-free entry per lab host. */
export function checkGauntletFacts(run: TimedRun, hostNames: string[]): GauntletFactsSummary {
  if (run.exitCode !== 0) throw new BenchError('CHECK_FAILED', `gauntlet facts exited ${run.exitCode}: ${tail(run.stderr)}`);
  let records: Array<{ host?: string; reachable?: boolean; error?: string | null; stackKey?: string | null; facts?: { durationMs?: number; probeErrors?: Record<string, string> } | null }>;
  try {
    records = JSON.parse(run.stdout) as typeof records;
  } catch (err) {
    throw new BenchError('CHECK_FAILED', `gauntlet facts --json printed no JSON: ${(err as Error).message}`, { cause: err });
  }
  const good = records.filter((r) => r.reachable === true && r.error === null && r.facts);
  const names = new Set(good.map((r) => r.host));
  const missing = hostNames.filter((h) => !names.has(h));
  if (records.length !== hostNames.length || good.length !== hostNames.length || missing.length > 0) {
    const bad = records.filter((r) => !good.includes(r)).slice(0, 3).map((r) => `${r.host}: ${r.error}`);
    throw new BenchError(
      'CHECK_FAILED',
      `gauntlet facts: ${good.length}/${hostNames.length} hosts reachable without error (${records.length} entries)${bad.length ? `; ${bad.join('; ')}` : ''}`,
    );
  }
  const durations = good.map((r) => r.facts?.durationMs ?? 0).sort((a, b) => a - b);
  return {
    stackKeys: [...new Set(good.map((r) => r.stackKey ?? '?'))],
    durationMs: { min: durations[0] ?? 0, median: durations[Math.floor(durations.length / 2)] ?? 0, max: durations.at(-1) ?? 0 },
    probeErrors: good.reduce((n, r) => n + Object.keys(r.facts?.probeErrors ?? {}).length, 0),
  };
}

/** The last few lines of a tool's output, on one line, for an error message. */
export function tail(text: string): string {
  const lines = text.trim().split('\n');
  return lines.slice(-5).join(' / ').slice(0, 600) || '(no output)';
}

/**
 * Ask each ssh ControlPersist master ansible left in our control dir to exit (`ssh -O exit`), addressing it
 * by its socket; tearing the lab down would end them too, as their sshd goes away.
 */
export async function closeAnsibleMasters(controlDir: string): Promise<void> {
  const sockets = await readdir(controlDir).catch(() => [] as string[]);
  await Promise.all(
    sockets.map((s) =>
      execa('ssh', ['-o', `ControlPath=${path.join(controlDir, s)}`, '-O', 'exit', 'ansible-master'], { reject: false, stdin: 'ignore', timeout: 5000 }),
    ),
  );
}

export function formatLoad(load: number[]): string {
  return load.map((l) => l.toFixed(2)).join(', ');
}

/** Paths in the commands are the lab's and the benchmark's temp files; shown as `$LAB` and `$WORK` so the table reads. */
export function pathDisplay(labDir: string, workDir: string, repoRoot: string): (text: string) => string {
  return (text) =>
    text
      .split(labDir).join('$LAB')
      .split(workDir).join('$WORK')
      .split(`${repoRoot}/`).join('')
      .split(process.execPath).join('node');
}

export function displayArgv(argv: string[], display: (text: string) => string): string {
  return display(formatArgv(argv));
}

/** The environment as `K=V …`, with the work dir shown as `$WORK`. */
export function displayEnv(env: Record<string, string>, workDir: string): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.split(workDir).join('$WORK')]));
}

/** One row per command of what `/usr/bin/time -v` reported for its check run. */
export function renderUsageTable(rows: Array<{ name: string; usage: TimeUsage }>): string {
  return renderTable(
    ['command', 'wall', 'user CPU', 'system CPU', 'CPU', 'max RSS (largest process)'],
    rows.map(({ name, usage: u }) => [name, formatSeconds(u.wallS), formatSeconds(u.userS), formatSeconds(u.systemS), `${u.cpuPercent}%`, formatMiB(u.maxRssKb)]),
    ['l', 'r', 'r', 'r', 'r', 'r'],
  );
}
