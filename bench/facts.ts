// Benchmark facts-50: `gauntlet facts` against ansible, parallel-ssh and a bare ssh2 floor on 50 netns sshd hosts.

import os from 'node:os';
import path from 'node:path';
import { createNetnsLab, type NetnsLab } from '../test/helpers/netns-hosts.js';
import { BenchError, type BenchContext, type BenchReport, type Benchmark } from './benchmark.js';
import {
  ansibleArgv,
  ansibleControlDir,
  ansibleEnv,
  checkFanOut,
  checkGauntletFacts,
  checkLines,
  closeAnsibleMasters,
  displayArgv,
  displayEnv,
  fanOutCommands,
  formatLoad,
  gauntletFactsCommand,
  pathDisplay,
  preflight,
  renderUsageTable,
  writeLabFiles,
  type FanOutKey,
  type GauntletFactsSummary,
  type LabFiles,
} from './lab-commands.js';
import {
  describeMachine,
  formatMiB,
  formatSeconds,
  renderMachineTable,
  renderTable,
  runHyperfine,
  runUnderTime,
  TIME_BIN,
  type BenchCommand,
  type HyperfineStats,
  type TimeUsage,
} from './tools.js';

const NAME = 'facts-50';
const HOST_COUNT = 50;
const LAB = { prefix: 'gt-bench', count: HOST_COUNT, subnet: 50 } as const;
/** The issue's aim: `gauntlet facts` at least this many times faster than `ansible -m setup`. */
const AIM_FACTOR = 3;

/** Keys of the measured commands, in the order hyperfine runs them. */
type CommandKey = 'gauntlet' | 'setup' | FanOutKey;

interface CheckOutcome {
  key: CommandKey;
  usage: TimeUsage;
  /** One line saying what was verified. */
  verified: string;
}

export const factsBenchmark: Benchmark = {
  name: NAME,
  description: `gauntlet facts vs ansible -m setup / -m raw, parallel-ssh and a bare ssh2 floor on ${HOST_COUNT} netns sshd hosts`,
  run: runFactsBenchmark,
};

async function runFactsBenchmark(ctx: BenchContext): Promise<BenchReport> {
  const { cli, staleBuild, machine } = await preflight(NAME, ctx);

  const loadBefore = os.loadavg();
  ctx.log(`${NAME}: creating ${HOST_COUNT} sshd hosts in network namespaces (10.213.${LAB.subnet}.0/24)`);
  const labStarted = performance.now();
  const lab = await createNetnsLab({ ...LAB });
  try {
    ctx.log(`${NAME}: lab up in ${formatSeconds((performance.now() - labStarted) / 1000)} (${lab.dir})`);
    const files = await writeLabFiles(lab, ctx.workDir);
    const commands = buildCommands(process.execPath, cli, files, ctx.repoRoot);
    const env = ansibleEnv(ctx.workDir);
    const runOpts = { env, cwd: ctx.workDir, signal: ctx.signal };

    // Each command once, under /usr/bin/time -v: proves it works on every host before timing it.
    const hostNames = lab.hosts.map((h) => h.name);
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
        default:
          verified = checkFanOut(key, command, run, lab);
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
    await closeAnsibleMasters(ansibleControlDir(ctx.workDir));
    await lab.teardown();
  }
}

/** gauntlet facts, ansible -m setup, then the fan-out yardsticks every lab benchmark shares. */
function buildCommands(node: string, cli: string, f: LabFiles, repoRoot: string): Record<CommandKey, BenchCommand> {
  return {
    gauntlet: gauntletFactsCommand(node, cli, f),
    setup: { name: 'ansible -m setup', argv: ansibleArgv(f, HOST_COUNT, ['-m', 'setup']) },
    ...fanOutCommands(node, cli, f, repoRoot, HOST_COUNT),
  };
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

  const display = pathDisplay(lab.dir, ctx.workDir, ctx.repoRoot);
  const keys = Object.keys(commands) as CommandKey[];
  const measured = keys.map((k) => {
    const s = get(stats, k);
    return { key: k, ...s, command: displayArgv(commands[k].argv, display), relativeToGauntlet: s.mean / gauntlet.mean };
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
  const usageTable = renderUsageTable(keys.map((k) => ({ name: commands[k].name, usage: get(checks, k).usage })));
  const shownEnv = displayEnv(env, ctx.workDir);
  const envLine = Object.entries(shownEnv)
    .map(([k, v]) => `${k}=${v}`)
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
    env: shownEnv,
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
