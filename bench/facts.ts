// Benchmark facts-50: `gauntlet facts` against ansible, parallel-ssh and a bare ssh2 floor on 50 netns sshd hosts.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { createNetnsLab, type NetnsLab } from '../test/helpers/netns-hosts.js';
import { BenchError, type BenchContext, type BenchReport, type Benchmark } from './benchmark.js';
import {
  describeMachine,
  formatArgv,
  formatMiB,
  formatSeconds,
  renderMachineTable,
  renderTable,
  runHyperfine,
  runUnderTime,
  TIME_BIN,
  type BenchCommand,
  type HyperfineStats,
  type TimedRun,
  type TimeUsage,
} from './tools.js';

const NAME = 'facts-50';
const HOST_COUNT = 50;
const LAB = { prefix: 'gt-bench', count: HOST_COUNT, subnet: 50 } as const;
/** The issue's aim: `gauntlet facts` at least this many times faster than `ansible -m setup`. */
const AIM_FACTOR = 3;

/** Keys of the measured commands, in the order hyperfine runs them. */
type CommandKey = 'gauntlet' | 'setup' | 'raw' | 'pssh' | 'floor' | 'startup';

interface LabFiles {
  inventory: string;
  hostFile: string;
  key: string;
  knownHosts: string;
}

interface CheckOutcome {
  key: CommandKey;
  usage: TimeUsage;
  /** One line saying what was verified. */
  verified: string;
}

interface GauntletFactsSummary {
  stackKeys: string[];
  durationMs: { min: number; median: number; max: number };
  probeErrors: number;
}

export const factsBenchmark: Benchmark = {
  name: NAME,
  description: `gauntlet facts vs ansible -m setup / -m raw, parallel-ssh and a bare ssh2 floor on ${HOST_COUNT} netns sshd hosts`,
  run: runFactsBenchmark,
};

async function runFactsBenchmark(ctx: BenchContext): Promise<BenchReport> {
  if (process.getuid?.() !== 0) throw new BenchError('NOT_ROOT', `${NAME} must run as root: it creates network namespaces`);
  const cli = path.join(ctx.repoRoot, 'dist/src/cli/main.js');
  const staleBuild = checkBuild(ctx.repoRoot, cli);
  if (staleBuild) ctx.log(`${NAME}: warning: ${staleBuild}`);
  const machine = await describeMachine(ctx.repoRoot);
  for (const [tool, version] of Object.entries(machine.tools)) {
    if (version === '(not found)') throw new BenchError('TOOL_MISSING', `${tool} is not installed (apt-get install -y hyperfine ansible pssh time)`);
  }
  if (!existsSync(TIME_BIN)) throw new BenchError('TOOL_MISSING', `${TIME_BIN} is missing (apt-get install -y time)`);

  const loadBefore = os.loadavg();
  ctx.log(`${NAME}: creating ${HOST_COUNT} sshd hosts in network namespaces (10.213.${LAB.subnet}.0/24)`);
  const labStarted = performance.now();
  const lab = await createNetnsLab({ ...LAB });
  const ansibleControlDir = path.join(ctx.workDir, 'ansible-cp');
  try {
    ctx.log(`${NAME}: lab up in ${formatSeconds((performance.now() - labStarted) / 1000)} (${lab.dir})`);
    const files = await writeLabFiles(lab, ctx.workDir);
    const commands = buildCommands(process.execPath, cli, files, ctx.repoRoot);
    const env = {
      ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
      ANSIBLE_SSH_CONTROL_PATH_DIR: ansibleControlDir,
      ANSIBLE_LOCAL_TEMP: path.join(ctx.workDir, 'ansible-tmp'),
      ANSIBLE_NOCOLOR: '1',
    };
    const runOpts = { env, cwd: ctx.workDir, signal: ctx.signal };

    // Each command once, under /usr/bin/time -v: proves it works on every host before timing it.
    const hostNames = lab.hosts.map((h) => h.name);
    const addresses = lab.hosts.map((h) => h.address);
    const checks = new Map<CommandKey, CheckOutcome>();
    let gauntletSummary: GauntletFactsSummary | undefined;
    for (const key of Object.keys(commands) as CommandKey[]) {
      const command = commands[key];
      ctx.log(`${NAME}: checking ${command.name}`);
      const run = await runUnderTime(command.argv, path.join(ctx.workDir, `${key}.time`), runOpts);
      let verified: string;
      switch (key) {
        case 'gauntlet':
          gauntletSummary = checkGauntletFacts(run, hostNames);
          verified = `exit 0; JSON has ${HOST_COUNT} entries, every host reachable with no error, ${gauntletSummary.probeErrors} probe errors`;
          break;
        case 'setup':
          checkLines(command, run, /^(\S+) \| SUCCESS => \{"ansible_facts"/gm, hostNames);
          verified = `exit 0; ${HOST_COUNT} distinct \`<host> | SUCCESS => {"ansible_facts"…\` lines`;
          break;
        case 'raw':
          checkLines(command, run, /^(\S+) \| CHANGED \| rc=0 \|/gm, hostNames);
          verified = `exit 0; ${HOST_COUNT} distinct \`<host> | CHANGED | rc=0\` lines`;
          break;
        case 'pssh':
          checkLines(command, run, /^\[\d+\] \S+ \[SUCCESS\] (\S+)$/gm, addresses);
          verified = `exit 0; ${HOST_COUNT} distinct \`[SUCCESS] <address>\` lines`;
          break;
        case 'floor':
          checkExit(command, run);
          verified = `exit 0 (it exits 1 unless \`true\` exited 0 on every host with a verified host key)`;
          break;
        case 'startup':
          checkExit(command, run);
          verified = 'exit 0';
          break;
      }
      checks.set(key, { key, usage: run.usage, verified });
    }
    if (!gauntletSummary) throw new BenchError('CHECK_FAILED', 'gauntlet facts was not checked');

    ctx.log(`${NAME}: measuring with hyperfine (--warmup ${ctx.warmup} --runs ${ctx.runs}); ansible -m setup takes a while`);
    const keys = Object.keys(commands) as CommandKey[];
    const stats = await runHyperfine(
      keys.map((k) => commands[k]),
      { ...runOpts, runs: ctx.runs, warmup: ctx.warmup, exportJson: path.join(ctx.workDir, 'hyperfine.json') },
    );
    const byKey = new Map(keys.map((k, i) => [k, stats[i] as HyperfineStats]));

    const load = { before: loadBefore, after: os.loadavg() };
    return buildReport({ ctx, machine, staleBuild, load, lab, files, commands, env, checks, stats: byKey, gauntletSummary });
  } finally {
    ctx.log(`${NAME}: tearing the lab down`);
    await closeAnsibleMasters(ansibleControlDir);
    await lab.teardown();
  }
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

async function writeLabFiles(lab: NetnsLab, workDir: string): Promise<LabFiles> {
  const inventory = path.join(workDir, 'inventory.yaml');
  const hostFile = path.join(workDir, 'hosts.txt');
  await lab.writeInventory(inventory);
  await writeFile(hostFile, `${lab.hosts.map((h) => h.address).join('\n')}\n`);
  await mkdir(path.join(workDir, 'ansible-tmp'), { recursive: true });
  return { inventory, hostFile, key: lab.clientKeyPath, knownHosts: lab.knownHostsPath };
}

/** Every tool checks host keys against the lab's known_hosts and logs in as root with the lab's key. */
function buildCommands(node: string, cli: string, f: LabFiles, repoRoot: string): Record<CommandKey, BenchCommand> {
  const sshCheck = `-o UserKnownHostsFile=${f.knownHosts} -o StrictHostKeyChecking=yes`;
  const ansible = (module: string[]): string[] => [
    'ansible', 'all', '-i', f.inventory, ...module, '-f', String(HOST_COUNT), '-o', `--ssh-common-args=${sshCheck}`,
  ];
  return {
    gauntlet: { name: 'gauntlet facts --json', argv: [node, cli, 'facts', '--json', '-i', f.inventory] },
    setup: { name: 'ansible -m setup', argv: ansible(['-m', 'setup']) },
    raw: { name: 'ansible -m raw -a true', argv: ansible(['-m', 'raw', '-a', 'true']) },
    pssh: {
      name: 'parallel-ssh true',
      argv: ['parallel-ssh', '-p', String(HOST_COUNT), '-h', f.hostFile, '-l', 'root', '-x', `-i ${f.key} ${sshCheck}`, 'true'],
    },
    floor: { name: 'bare ssh2 exec true (floor)', argv: [node, path.join(repoRoot, 'bench/ssh2-floor.mjs'), f.hostFile, f.key, f.knownHosts] },
    startup: { name: 'gauntlet --version (start-up only)', argv: [node, cli, '--version'] },
  };
}

function checkExit(command: BenchCommand, run: TimedRun): void {
  if (run.exitCode !== 0) {
    throw new BenchError('CHECK_FAILED', `${command.name} exited ${run.exitCode}: ${tail(run.stderr || run.stdout)}`);
  }
}

/** The command must exit 0 and `pattern`'s first group must name exactly the expected hosts. */
function checkLines(command: BenchCommand, run: TimedRun, pattern: RegExp, expected: string[]): void {
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

/** gauntlet's JSON must hold one reachable, error-free entry per lab host. */
function checkGauntletFacts(run: TimedRun, hostNames: string[]): GauntletFactsSummary {
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

function formatLoad(load: number[]): string {
  return load.map((l) => l.toFixed(2)).join(', ');
}

function tail(text: string): string {
  const lines = text.trim().split('\n');
  return lines.slice(-5).join(' / ').slice(0, 600) || '(no output)';
}

/**
 * Ask each ssh ControlPersist master ansible left in our control dir to exit (`ssh -O exit`), addressing it
 * by its socket; tearing the lab down would end them too, as their sshd goes away.
 */
async function closeAnsibleMasters(controlDir: string): Promise<void> {
  const sockets = await readdir(controlDir).catch(() => [] as string[]);
  await Promise.all(
    sockets.map((s) =>
      execa('ssh', ['-o', `ControlPath=${path.join(controlDir, s)}`, '-O', 'exit', 'ansible-master'], { reject: false, stdin: 'ignore', timeout: 5000 }),
    ),
  );
}

interface ReportInput {
  ctx: BenchContext;
  machine: Awaited<ReturnType<typeof describeMachine>>;
  staleBuild: string | null;
  /** 1, 5 and 15 minute load averages before the lab was built and after measuring. */
  load: { before: number[]; after: number[] };
  lab: NetnsLab;
  files: LabFiles;
  commands: Record<CommandKey, BenchCommand>;
  env: Record<string, string>;
  checks: Map<CommandKey, CheckOutcome>;
  stats: Map<CommandKey, HyperfineStats>;
  gauntletSummary: GauntletFactsSummary;
}

function buildReport(input: ReportInput): BenchReport {
  const { ctx, machine, staleBuild, load, lab, files, commands, env, checks, stats, gauntletSummary } = input;
  const date = new Date().toISOString();
  const get = <T>(map: Map<CommandKey, T>, key: CommandKey): T => {
    const value = map.get(key);
    if (value === undefined) throw new Error(`no result for ${key}`);
    return value;
  };
  const gauntlet = get(stats, 'gauntlet');
  const setup = get(stats, 'setup');
  const ratio = setup.mean / gauntlet.mean;
  const worstRatio = setup.min / gauntlet.max;
  const aimMet = ratio >= AIM_FACTOR;
  const peakRssKb = get(checks, 'gauntlet').usage.maxRssKb;

  // Paths in the commands are the lab's temp files; show them as variables so the table reads.
  const display = (argv: string[]): string =>
    formatArgv(argv)
      .split(lab.dir).join('$LAB')
      .split(ctx.workDir).join('$WORK')
      .split(`${ctx.repoRoot}/`).join('')
      .split(process.execPath).join('node');
  const keys = Object.keys(commands) as CommandKey[];
  const measured = keys.map((k) => {
    const s = get(stats, k);
    return { key: k, ...s, command: display(commands[k].argv), relativeToGauntlet: s.mean / gauntlet.mean };
  });

  const verdict = aimMet ? 'met' : 'NOT met';
  const resultTable = renderTable(
    ['command', 'mean ± stddev', 'min', 'max', 'relative to gauntlet'],
    measured.map((m) => [
      m.name,
      `${formatSeconds(m.mean)} ± ${formatSeconds(m.stddev)}`,
      formatSeconds(m.min),
      formatSeconds(m.max),
      `${m.relativeToGauntlet.toFixed(2)}×`,
    ]),
    ['l', 'r', 'r', 'r', 'r'],
  );
  const usageTable = renderTable(
    ['command', 'wall', 'user CPU', 'system CPU', 'CPU', 'max RSS (largest process)'],
    keys.map((k) => {
      const u = get(checks, k).usage;
      return [commands[k].name, formatSeconds(u.wallS), formatSeconds(u.userS), formatSeconds(u.systemS), `${u.cpuPercent}%`, formatMiB(u.maxRssKb)];
    }),
    ['l', 'r', 'r', 'r', 'r', 'r'],
  );
  const envLine = Object.entries(env)
    .map(([k, v]) => `${k}=${v.split(ctx.workDir).join('$WORK')}`)
    .join(' ');
  const g = gauntletSummary;

  const markdown = `# ${NAME}: gauntlet facts vs ansible on ${HOST_COUNT} sshd hosts

${date} · gauntlet ${machine.gauntlet.version} (commit ${machine.gauntlet.commit}) · \`npm run bench -- ${NAME}\`
${staleBuild ? `\n> Warning: ${staleBuild}.\n` : ''}
**\`ansible -m setup\` / \`gauntlet facts\` = ${ratio.toFixed(2)}×** (worst case, slowest gauntlet run against fastest ansible run: ${worstRatio.toFixed(2)}×).
The issue's aim, *at least ${AIM_FACTOR}× faster than \`ansible -m setup\`*, is **${verdict}**.

gauntlet's peak RSS: **${formatMiB(peakRssKb)}** (Maximum resident set size, \`${TIME_BIN} -v\`, one run of \`gauntlet facts --json\` on ${HOST_COUNT} hosts).

## Wall time (hyperfine \`-N --warmup ${ctx.warmup} --runs ${ctx.runs}\`)

${resultTable}

Commands, in the order measured (\`$LAB\` is the lab's temp dir, \`$WORK\` the benchmark's; environment for all: \`${envLine}\`):

${measured.map((m, i) => `${i + 1}. ${m.name}: \`${m.command}\``).join('\n')}

## CPU and memory (one run each under \`${TIME_BIN} -v\`, the correctness check)

${usageTable}

CPU and max RSS cover the command and the children it waited for, not ansible's detached ControlPersist masters
or the sshd side. gauntlet's own per-host gathering time (\`facts.durationMs\`, from connect-ready to all probes done):
min ${g.durationMs.min} ms, median ${g.durationMs.median} ms, max ${g.durationMs.max} ms. Stack key seen: \`${g.stackKeys.join('`, `')}\`.

## Correctness (checked before timing; the benchmark fails otherwise)

${keys.map((k) => `- ${commands[k].name}: ${get(checks, k).verified}.`).join('\n')}

## Method and caveats

- The ${HOST_COUNT} hosts are real OpenSSH sshd processes, one per Linux network namespace, on 10.213.${LAB.subnet}.0/24 behind a
  bridge (fixture \`test/helpers/netns-hosts.ts\`, prefix \`${LAB.prefix}\`). They run on this same machine: they share its
  ${machine.nproc} CPUs with the tool being measured (server-side key exchange and session start-up compete with the client),
  its kernel, its filesystem and its one dockerd, so gauntlet's ${HOST_COUNT * 2} docker API calls (/info, /version) all reach the same daemon.
- root's login shell start-up files (\`~/.bashrc\`, \`~/.profile\`, …) are hidden from the lab's sshd (the fixture bind-mounts an
  empty file over each inside sshd's own mount namespace), so this machine's shell set-up does not distort the numbers.
- Every tool checks host keys against the lab's known_hosts (\`StrictHostKeyChecking=yes\` for OpenSSH, \`hostVerifier\` for ssh2)
  and logs in as root with the lab's ed25519 key. One connection per host, all ${HOST_COUNT} at once (\`-f ${HOST_COUNT}\`, \`-p ${HOST_COUNT}\`).
- ansible runs with its default \`ControlPersist=60s\`: after the check run and the warm-up its runs reuse open master connections and
  skip the SSH handshake, which gauntlet, parallel-ssh and the ssh2 floor pay on every run.
- \`ansible -m setup\` gathers far more than gauntlet's ~12 probes (every fact subset, network interfaces, mounts, …); the comparison
  is the issue's yardstick, not like for like. \`ansible -m raw\` and \`parallel-ssh\` show the cost of ansible's and OpenSSH's
  connection fan-out alone; the bare ssh2 floor (\`bench/ssh2-floor.mjs\`) is node start-up plus ${HOST_COUNT} handshakes and one exec each.
- \`gauntlet --version\` is node start-up plus loading gauntlet's modules, a part of every \`gauntlet facts\` run.
- Load average (1, 5, 15 min) before the lab was built: ${formatLoad(load.before)}; after measuring: ${formatLoad(load.after)}.
  Anything else running on the machine meanwhile competes for the same ${machine.nproc} CPUs; rerun when it is idle.

## Machine

${renderMachineTable(machine)}
`;

  const data = {
    benchmark: NAME,
    date,
    lab: { hosts: HOST_COUNT, subnet: `10.213.${LAB.subnet}.0/24`, prefix: LAB.prefix, rootRcFilesHidden: true },
    hyperfine: { runs: ctx.runs, warmup: ctx.warmup, shell: 'none' },
    env: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.split(ctx.workDir).join('$WORK')])),
    commands: measured.map((m) => ({ ...m, usage: get(checks, m.key).usage, verified: get(checks, m.key).verified })),
    gauntlet: {
      peakRssKb,
      meanS: gauntlet.mean,
      perHostDurationMs: g.durationMs,
      stackKeys: g.stackKeys,
      probeErrors: g.probeErrors,
    },
    aim: { description: `gauntlet facts at least ${AIM_FACTOR}x faster than ansible -m setup`, factor: AIM_FACTOR, ratio, worstCaseRatio: worstRatio, met: aimMet },
    machine,
    loadAverage: load,
    staleBuild,
    inventory: path.basename(files.inventory),
  };

  const summary = [
    ...measured.map((m) => `${m.name.padEnd(36)} ${formatSeconds(m.mean).padStart(9)} ± ${formatSeconds(m.stddev)}  (${m.relativeToGauntlet.toFixed(2)}×)`),
    `gauntlet peak RSS ${formatMiB(peakRssKb)}; ansible -m setup / gauntlet facts = ${ratio.toFixed(2)}× (aim ≥ ${AIM_FACTOR}×: ${verdict})`,
  ];
  return { markdown, data, summary };
}
