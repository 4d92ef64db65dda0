// Benchmarks run-10 and run-50: `gauntlet run` of a one-test suite (`true` on every host) against ansible -m raw,
// parallel-ssh and a bare ssh2 floor on 10 and 50 netns sshd hosts, and where the run's time goes (its journal).

import { readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createNetnsLab, type NetnsLab } from '../test/helpers/netns-hosts.js';
import { BenchError, type BenchContext, type BenchReport, type Benchmark } from './benchmark.js';
import {
  ansibleControlDir,
  ansibleEnv,
  checkExit,
  checkFanOut,
  checkGauntletFacts,
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
import { checkJunit, median, medianProfile, MILESTONES, PHASES, profileRun, TAIL_PHASES, type Phase, type RunProfile } from './run-profile.js';
import {
  formatMiB,
  formatSeconds,
  renderMachineTable,
  renderTable,
  runHyperfine,
  runUnderTime,
  TIME_BIN,
  type BenchCommand,
  type HyperfineStats,
  type MachineInfo,
  type TimeUsage,
} from './tools.js';

/** Both sizes share one lab prefix and subnet: they run one after the other, each tearing its lab down. */
const LAB = { prefix: 'gt-benchr', subnet: 51 } as const;
/** The suite: one test, one command. Plain JavaScript, so no TypeScript loader is involved. */
const SUITE_NAME = 'one';
const SUITE_SOURCE = "describe('one', () => { it('runs true', async () => { await host.checkOutput('true'); }); });\n";
/** The issue's aims, stated for this many hosts: faster than ansible -m raw and parallel-ssh, within this factor of the floor. */
const AIM_HOSTS = 50;
const AIM_FLOOR_FACTOR = 1.5;

/** Keys of the measured commands, in the order hyperfine runs them. */
type CommandKey = 'run' | 'facts' | FanOutKey;

interface CheckOutcome {
  key: CommandKey;
  usage: TimeUsage;
  /** One line saying what was verified. */
  verified: string;
}

/** The check run of `gauntlet run`, timed from outside by the bench's clock around `/usr/bin/time`. */
interface CheckedRun {
  runDir: string;
  profile: RunProfile;
  /** Epoch ms just before `/usr/bin/time` was started and just after it exited. */
  launchedMs: number;
  exitedMs: number;
}

export const runSuite10Benchmark = createRunSuiteBenchmark(10);
export const runSuite50Benchmark = createRunSuiteBenchmark(50);

function createRunSuiteBenchmark(hostCount: number): Benchmark {
  return {
    name: `run-${hostCount}`,
    description: `gauntlet run of a one-test suite (true) vs ansible -m raw, parallel-ssh and a bare ssh2 floor on ${hostCount} netns sshd hosts`,
    run: (ctx) => runSuiteBenchmark(ctx, hostCount),
  };
}

async function runSuiteBenchmark(ctx: BenchContext, hostCount: number): Promise<BenchReport> {
  const name = `run-${hostCount}`;
  const { cli, staleBuild, machine } = await preflight(name, ctx);

  const loadBefore = os.loadavg();
  ctx.log(`${name}: creating ${hostCount} sshd hosts in network namespaces (10.213.${LAB.subnet}.0/24)`);
  const labStarted = performance.now();
  const lab = await createNetnsLab({ ...LAB, count: hostCount });
  try {
    ctx.log(`${name}: lab up in ${formatSeconds((performance.now() - labStarted) / 1000)} (${lab.dir})`);
    const files = await writeLabFiles(lab, ctx.workDir);
    const suiteFile = path.join(ctx.workDir, `${SUITE_NAME}.js`);
    await writeFile(suiteFile, SUITE_SOURCE);
    const reportsDir = path.join(ctx.workDir, 'reports');
    const commands = buildCommands({ node: process.execPath, cli, files, repoRoot: ctx.repoRoot, hostCount, suiteFile, reportsDir });
    // CI=true: gauntlet run prints plain lines, no live view (hyperfine gives every command the same environment).
    const env = { ...ansibleEnv(ctx.workDir), CI: 'true' };
    const runOpts = { env, cwd: ctx.workDir, signal: ctx.signal };

    // Each command once, under /usr/bin/time -v: proves it works on every host before timing it.
    const hostNames = lab.hosts.map((h) => h.name);
    const checks = new Map<CommandKey, CheckOutcome>();
    let factsSummary: GauntletFactsSummary | undefined;
    let checked: CheckedRun | undefined;
    for (const key of Object.keys(commands) as CommandKey[]) {
      const command = commands[key];
      ctx.log(`${name}: checking ${command.name}`);
      const launchedMs = Date.now();
      const run = await runUnderTime(command.argv, path.join(ctx.workDir, `${key}.time`), runOpts);
      const exitedMs = Date.now();
      let verified: string;
      switch (key) {
        case 'run': {
          checkExit(command, run);
          const runDirs = await listRunDirs(reportsDir);
          const runDir = runDirs[0];
          if (runDirs.length !== 1 || runDir === undefined) throw new BenchError('CHECK_FAILED', `expected one run folder in ${reportsDir}, found ${runDirs.length}`);
          const junit = await checkJunit(runDir, SUITE_NAME, hostNames);
          checked = { runDir, profile: await profileRun(runDir), launchedMs, exitedMs };
          verified = `exit 0; junit.xml has ${junit}; journal.jsonl has host-facts, suite-plan, a passed test-end and host-end for every host`;
          break;
        }
        case 'facts':
          factsSummary = checkGauntletFacts(run, hostNames);
          verified = `exit 0; JSON has ${hostCount} entries, every host reachable with no error, ${factsSummary.probeErrors} probe errors`;
          break;
        default:
          verified = checkFanOut(key, command, run, lab);
      }
      checks.set(key, { key, usage: run.usage, verified });
    }
    if (!checked || !factsSummary) throw new BenchError('CHECK_FAILED', 'gauntlet run or gauntlet facts was not checked');

    ctx.log(`${name}: measuring with hyperfine (--warmup ${ctx.warmup} --runs ${ctx.runs})`);
    const keys = Object.keys(commands) as CommandKey[];
    const stats = await runHyperfine(
      keys.map((k) => commands[k]),
      { ...runOpts, runs: ctx.runs, warmup: ctx.warmup, exportJson: path.join(ctx.workDir, 'hyperfine.json') },
    );
    const byKey = new Map(keys.map((k, i) => [k, stats[i] as HyperfineStats]));

    // Every run hyperfine made left its own folder: profile (and so check) each, pairing the timed ones with their times.
    const measuredDirs = (await listRunDirs(reportsDir)).filter((d) => d !== checked.runDir);
    const profiles = (await Promise.all(measuredDirs.map((d) => profileRun(d)))).sort((a, b) => a.runStartEpochMs - b.runStartEpochMs);
    if (profiles.length !== ctx.warmup + ctx.runs) {
      throw new BenchError('CHECK_FAILED', `hyperfine ran gauntlet run ${ctx.warmup + ctx.runs} times but ${profiles.length} run folders were written`);
    }
    const runTimes = byKey.get('run')?.times ?? [];
    const timed = profiles.slice(ctx.warmup).map((profile, i) => ({ profile, wallMs: (runTimes[i] ?? Number.NaN) * 1000 }));

    const load = { before: loadBefore, after: os.loadavg() };
    return buildReport({ ctx, name, hostCount, machine, staleBuild, load, lab, files, commands, env, checks, stats: byKey, factsSummary, checked, timed });
  } finally {
    ctx.log(`${name}: tearing the lab down`);
    await closeAnsibleMasters(ansibleControlDir(ctx.workDir));
    await lab.teardown();
  }
}

/** The run folders gauntlet wrote under `reportsDir` (each holds journal.jsonl and junit.xml). */
async function listRunDirs(reportsDir: string): Promise<string[]> {
  const entries = await readdir(reportsDir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => path.join(reportsDir, e.name));
}

interface CommandInput {
  node: string;
  cli: string;
  files: LabFiles;
  repoRoot: string;
  hostCount: number;
  suiteFile: string;
  reportsDir: string;
}

/** gauntlet run and gauntlet facts, then the fan-out yardsticks every lab benchmark shares. */
function buildCommands(c: CommandInput): Record<CommandKey, BenchCommand> {
  return {
    run: {
      name: 'gauntlet run (one-test suite)',
      argv: [c.node, c.cli, 'run', '-i', c.files.inventory, '--suite', c.suiteFile, '--out', c.reportsDir],
    },
    facts: gauntletFactsCommand(c.node, c.cli, c.files),
    ...fanOutCommands(c.node, c.cli, c.files, c.repoRoot, c.hostCount),
  };
}

interface ReportInput {
  ctx: BenchContext;
  name: string;
  hostCount: number;
  machine: MachineInfo;
  staleBuild: string | null;
  /** 1, 5 and 15 minute load averages before the lab was built and after measuring. */
  load: { before: number[]; after: number[] };
  lab: NetnsLab;
  files: LabFiles;
  commands: Record<CommandKey, BenchCommand>;
  env: Record<string, string>;
  checks: Map<CommandKey, CheckOutcome>;
  stats: Map<CommandKey, HyperfineStats>;
  factsSummary: GauntletFactsSummary;
  checked: CheckedRun;
  /** hyperfine's timed runs of gauntlet run, in order: each one's journal profile and its hyperfine wall time. */
  timed: Array<{ profile: RunProfile; wallMs: number }>;
}

interface Ratio {
  description: string;
  /** By means, and in the worst case for gauntlet (its slowest run against the other's fastest). */
  ratio: number;
  worstCaseRatio: number;
  met: boolean;
}

function buildReport(input: ReportInput): BenchReport {
  const { ctx, name, hostCount, machine, staleBuild, load, lab, files, commands, env, checks, stats, factsSummary, checked, timed } = input;
  const date = new Date().toISOString();
  const get = <T>(map: Map<CommandKey, T>, key: CommandKey): T => {
    const value = map.get(key);
    if (value === undefined) throw new Error(`no result for ${key}`);
    return value;
  };
  const run = get(stats, 'run');
  const raw = get(stats, 'raw');
  const pssh = get(stats, 'pssh');
  const floor = get(stats, 'floor');
  const facts = get(stats, 'facts');
  const startup = get(stats, 'startup');
  const peakRssKb = get(checks, 'run').usage.maxRssKb;

  // "Faster than X": X / gauntlet > 1. "Within 1.5× of the floor": gauntlet / floor ≤ 1.5.
  const aims: Record<'raw' | 'pssh' | 'floor', Ratio> = {
    raw: { description: 'faster than ansible -m raw -a true', ratio: raw.mean / run.mean, worstCaseRatio: raw.min / run.max, met: run.mean < raw.mean },
    pssh: { description: 'faster than parallel-ssh', ratio: pssh.mean / run.mean, worstCaseRatio: pssh.min / run.max, met: run.mean < pssh.mean },
    floor: {
      description: `within ${AIM_FLOOR_FACTOR}× of the bare ssh2 connect-exec-close loop`,
      ratio: run.mean / floor.mean,
      worstCaseRatio: run.max / floor.min,
      met: run.mean / floor.mean <= AIM_FLOOR_FACTOR,
    },
  };
  const allMet = aims.raw.met && aims.pssh.met && aims.floor.met;
  const verdict = (met: boolean): string => (met ? 'met' : 'NOT met');
  const aimsApply = hostCount === AIM_HOSTS;

  const display = pathDisplay(lab.dir, ctx.workDir, ctx.repoRoot);
  const keys = Object.keys(commands) as CommandKey[];
  const measured = keys.map((k) => {
    const s = get(stats, k);
    return { key: k, ...s, command: displayArgv(commands[k].argv, display), relativeToRun: s.mean / run.mean };
  });
  const resultTable = renderTable(
    ['command', 'mean ± stddev', 'min', 'max', 'relative to gauntlet run'],
    measured.map((m) => [
      m.name,
      `${formatSeconds(m.mean)} ± ${formatSeconds(m.stddev)}`,
      formatSeconds(m.min),
      formatSeconds(m.max),
      `${m.relativeToRun.toFixed(2)}×`,
    ]),
    ['l', 'r', 'r', 'r', 'r'],
  );
  const aimTable = renderTable(
    ['aim', 'ratio (means)', 'worst case', 'verdict'],
    [
      [`gauntlet run ${aims.raw.description}`, `ansible raw / gauntlet = ${aims.raw.ratio.toFixed(2)}×`, `${aims.raw.worstCaseRatio.toFixed(2)}×`, verdict(aims.raw.met)],
      [`gauntlet run ${aims.pssh.description}`, `parallel-ssh / gauntlet = ${aims.pssh.ratio.toFixed(2)}×`, `${aims.pssh.worstCaseRatio.toFixed(2)}×`, verdict(aims.pssh.met)],
      [`gauntlet run ${aims.floor.description}`, `gauntlet / floor = ${aims.floor.ratio.toFixed(2)}×`, `${aims.floor.worstCaseRatio.toFixed(2)}×`, verdict(aims.floor.met)],
    ],
    ['l', 'r', 'r', 'l'],
  );
  const usageTable = renderUsageTable(keys.map((k) => ({ name: commands[k].name, usage: get(checks, k).usage })));
  const shownEnv = displayEnv(env, ctx.workDir);
  const envLine = Object.entries(shownEnv)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

  // Where the time goes.
  const profile = buildProfileSection({ checked, timed, hostCount, usage: get(checks, 'run').usage, nproc: machine.nproc, factsMeanS: facts.mean });
  const factsShare = facts.mean / run.mean;
  const g = factsSummary;

  const headline = aimsApply
    ? `The issue's aims at ${AIM_HOSTS} hosts: **${allMet ? 'all met' : 'not all met'}**.`
    : `The issue states its aims for ${AIM_HOSTS} hosts (see \`run-${AIM_HOSTS}.md\`); at ${hostCount} hosts, for reference only:`;

  const markdown = `# ${name}: a one-test suite with gauntlet run vs ansible -m raw, parallel-ssh and bare ssh2 on ${hostCount} sshd hosts

${date} · gauntlet ${machine.gauntlet.version} (commit ${machine.gauntlet.commit}) · \`npm run bench -- ${name}\`
${staleBuild ? `\n> Warning: ${staleBuild}.\n` : ''}
**\`gauntlet run\` of a one-test suite (\`true\` on each host): ${formatSeconds(run.mean)}** mean; ansible -m raw / gauntlet run = ${aims.raw.ratio.toFixed(2)}×,
parallel-ssh / gauntlet run = ${aims.pssh.ratio.toFixed(2)}×, gauntlet run / bare ssh2 floor = ${aims.floor.ratio.toFixed(2)}×.
Peak RSS of the runner: **${formatMiB(peakRssKb)}** (Maximum resident set size, \`${TIME_BIN} -v\`, one run; gauntlet run uses one
worker thread per host, ${hostCount} here, and threads share the process, so this covers the runner and all its workers).

${headline}

${aimTable}

Worst case: gauntlet's slowest run against the other command's fastest (for the floor: gauntlet's slowest against the floor's fastest).

**This is not only the one test.** Before the suites run, \`gauntlet run\` gathers stack facts on every host (≈12 small probes
and the docker engine's /info and /version), starts a worker thread per host that loads mocha and the suite, and writes a
journal (\`journal.jsonl\`) and a JUnit report (\`junit.xml\`); the others just run \`true\`. \`gauntlet facts --json\` on the same
hosts, measured in the same hyperfine invocation, takes ${formatSeconds(facts.mean)}, ${(factsShare * 100).toFixed(0)}% of \`gauntlet run\`'s mean;
\`gauntlet --version\` (node start-up and gauntlet's module loading alone) takes ${formatSeconds(startup.mean)}.

## Wall time (hyperfine \`-N --warmup ${ctx.warmup} --runs ${ctx.runs}\`)

${resultTable}

Commands, in the order measured (\`$LAB\` is the lab's temp dir, \`$WORK\` the benchmark's; environment for all: \`${envLine}\`):

${measured.map((m, i) => `${i + 1}. ${m.name}: \`${m.command}\``).join('\n')}

The suite, \`$WORK/${SUITE_NAME}.js\`: \`${SUITE_SOURCE.trim()}\`

## CPU and memory (one run each under \`${TIME_BIN} -v\`, the correctness check)

${usageTable}

CPU and max RSS cover the command and the children it waited for, not ansible's detached ControlPersist masters
or the sshd side. \`gauntlet run\`'s ${hostCount} worker threads live in its one process: its max RSS is the whole runner.
\`gauntlet facts\`'s own per-host gathering time (\`facts.durationMs\`, connect-ready to all probes done): min ${g.durationMs.min} ms,
median ${g.durationMs.median} ms, max ${g.durationMs.max} ms. Stack key seen: \`${g.stackKeys.join('`, `')}\`.

${profile.markdown}

## Correctness (checked before timing; the benchmark fails otherwise)

${keys.map((k) => `- ${commands[k].name}: ${get(checks, k).verified}.`).join('\n')}
- Every one of hyperfine's ${ctx.warmup + ctx.runs} runs of gauntlet run left a journal that was checked the same way (all ${hostCount} tests passed).

## Method and caveats

- The ${hostCount} hosts are real OpenSSH sshd processes, one per Linux network namespace, on 10.213.${LAB.subnet}.0/24 behind a
  bridge (fixture \`test/helpers/netns-hosts.ts\`, prefix \`${LAB.prefix}\`). They run on this same machine: they share its
  ${machine.nproc} CPUs with the tool being measured (server-side key exchange and session start-up compete with the client),
  its kernel, its filesystem and its one dockerd, which every host's facts gathering asks for /info and /version.
- root's login shell start-up files (\`~/.bashrc\`, \`~/.profile\`, …) are hidden from the lab's sshd (the fixture bind-mounts an
  empty file over each inside sshd's own mount namespace), so this machine's shell set-up does not distort the numbers.
- Every tool checks host keys against the lab's known_hosts (\`StrictHostKeyChecking=yes\` for OpenSSH, \`hostVerifier\` for ssh2)
  and logs in as root with the lab's ed25519 key. One connection per host, all ${hostCount} at once (\`-f ${hostCount}\`, \`-p ${hostCount}\`;
  gauntlet run's default \`--workers\` is every host, up to 64).
- ansible runs with its default \`ControlPersist=60s\`: after the check run and the warm-up its runs reuse open master connections and
  skip the SSH handshake, which gauntlet, parallel-ssh and the ssh2 floor pay on every run. Its check run, which had to open
  those connections first, took ${formatSeconds(get(checks, 'raw').usage.wallS)} (${(get(checks, 'raw').usage.wallS / run.mean).toFixed(2)}× gauntlet run's mean).
- The bare ssh2 floor (\`bench/ssh2-floor.mjs\`) is node start-up plus ${hostCount} handshakes and one exec each, nothing else.
- \`gauntlet run\` writes a new run folder under \`$WORK/reports\` on every run (journal + JUnit); the phase breakdown reads them back.
- Load average (1, 5, 15 min) before the lab was built: ${formatLoad(load.before)}; after measuring: ${formatLoad(load.after)}.
  Anything else running on the machine meanwhile competes for the same ${machine.nproc} CPUs; rerun when it is idle.

## Machine

${renderMachineTable(machine)}
`;

  const data = {
    benchmark: name,
    date,
    lab: { hosts: hostCount, subnet: `10.213.${LAB.subnet}.0/24`, prefix: LAB.prefix, rootRcFilesHidden: true },
    hyperfine: { runs: ctx.runs, warmup: ctx.warmup, shell: 'none' },
    env: shownEnv,
    suite: { file: `$WORK/${SUITE_NAME}.js`, source: SUITE_SOURCE },
    commands: measured.map((m) => ({ ...m, usage: get(checks, m.key).usage, verified: get(checks, m.key).verified })),
    gauntletRun: {
      meanS: run.mean,
      peakRssKb,
      workerThreads: hostCount,
      alsoDoes: 'gathers stack facts on every host (about 12 probes + docker /info, /version), one worker thread per host, writes journal.jsonl and junit.xml',
      factsMeanS: facts.mean,
      factsShareOfRun: factsShare,
      startupMeanS: startup.mean,
    },
    facts: { perHostDurationMs: g.durationMs, stackKeys: g.stackKeys, probeErrors: g.probeErrors },
    aims: {
      statedForHosts: AIM_HOSTS,
      appliesHere: aimsApply,
      allMet,
      fasterThanAnsibleRaw: aims.raw,
      fasterThanParallelSsh: aims.pssh,
      withinFloorFactor: { ...aims.floor, factor: AIM_FLOOR_FACTOR },
    },
    profile: profile.data,
    machine,
    loadAverage: load,
    staleBuild,
    inventory: path.basename(files.inventory),
  };

  const summary = [
    ...measured.map((m) => `${m.name.padEnd(36)} ${formatSeconds(m.mean).padStart(9)} ± ${formatSeconds(m.stddev)}  (${m.relativeToRun.toFixed(2)}×)`),
    `gauntlet run peak RSS ${formatMiB(peakRssKb)}; raw/run ${aims.raw.ratio.toFixed(2)}× (${verdict(aims.raw.met)}), pssh/run ${aims.pssh.ratio.toFixed(2)}× (${verdict(aims.pssh.met)}), run/floor ${aims.floor.ratio.toFixed(2)}× (≤ ${AIM_FLOOR_FACTOR}×: ${verdict(aims.floor.met)})${aimsApply ? '' : ` [aims are for ${AIM_HOSTS} hosts]`}`,
    `critical path (median of ${timed.length} runs): ${profile.topLine}`,
  ];
  return { markdown, data, summary };
}

/** The "where the time goes" section: the critical path, per-host phase spreads and the timeline, from the journals. */
interface ProfileInput {
  checked: CheckedRun;
  timed: Array<{ profile: RunProfile; wallMs: number }>;
  hostCount: number;
  /** The check run's `/usr/bin/time -v` report, for how busy the CPUs were. */
  usage: TimeUsage;
  nproc: number;
  factsMeanS: number;
}

function buildProfileSection({ checked, timed, hostCount, usage, nproc, factsMeanS }: ProfileInput): { markdown: string; data: Record<string, unknown>; topLine: string } {
  const med = medianProfile(timed.map((t) => t.profile));
  const c = checked.profile;
  const startupMs = c.runStartEpochMs - checked.launchedMs;
  const afterJunitMs = checked.exitedMs - (c.runStartEpochMs + c.junitMs);
  const checkTotalMs = checked.exitedMs - checked.launchedMs;
  // For hyperfine's runs only the sum outside the journal is known: its wall time minus run-start → junit.xml.
  const outsideMs = median(timed.map((t) => t.wallMs - t.profile.junitMs));
  const wallMs = median(timed.map((t) => t.wallMs));
  const ms = (v: number): string => `${Math.round(v)} ms`;
  const pct = (v: number, total: number): string => `${((v / total) * 100).toFixed(0)}%`;

  const critical: Array<{ label: string; timedMs: number | null; checkMs: number }> = [
    { label: 'process start → `run-start`: node start-up, module load, inventory, suite resolution, runner facts', timedMs: null, checkMs: startupMs },
    ...(Object.keys(PHASES) as Phase[]).map((p) => ({ label: `${PHASES[p]}`, timedMs: med.criticalPath[p], checkMs: c.criticalPath[p] })),
    { label: TAIL_PHASES.finish, timedMs: med.criticalPath.finish, checkMs: c.criticalPath.finish },
    { label: TAIL_PHASES.report, timedMs: med.criticalPath.report, checkMs: c.criticalPath.report },
    { label: 'junit.xml written → process exit: summary printed, handles closed', timedMs: null, checkMs: afterJunitMs },
  ];
  const criticalTable = renderTable(
    ['phase (on the host that finished last)', `median of ${timed.length} timed runs`, 'share', 'check run'],
    [
      ...critical.map((r) => [r.label, r.timedMs === null ? '(in the row below)' : ms(r.timedMs), r.timedMs === null ? '' : pct(r.timedMs, wallMs), ms(r.checkMs)]),
      ['outside the journal (first + last row): hyperfine wall time − (run-start → junit.xml)', ms(outsideMs), pct(outsideMs, wallMs), ms(startupMs + afterJunitMs)],
      ['**total** (hyperfine wall time; check run: the bench\'s clock around `/usr/bin/time`)', `**${ms(wallMs)}**`, '100%', ms(checkTotalMs)],
    ],
    ['l', 'r', 'r', 'r'],
  );
  const perHostTable = renderTable(
    ['phase, per host', 'min', 'median', 'max'],
    (Object.keys(PHASES) as Phase[]).map((p) => [PHASES[p], ms(med.perHost[p].min), ms(med.perHost[p].median), ms(med.perHost[p].max)]),
    ['l', 'r', 'r', 'r'],
  );
  const timelineTable = renderTable(
    ['milestone (ms after `run-start`)', 'first host', 'median host', 'last host'],
    [
      ...(Object.keys(MILESTONES) as Array<keyof typeof MILESTONES>).map((m) => [MILESTONES[m], ms(med.milestones[m].min), ms(med.milestones[m].median), ms(med.milestones[m].max)]),
      ['`run-end`', '', '', ms(med.runEndMs)],
      ['junit.xml written', '', '', ms(med.junitMs)],
    ],
    ['l', 'r', 'r', 'r'],
  );

  // The biggest items on the critical path, with the outside-the-journal time standing in for start-up + exit.
  const ranked = [
    { label: 'outside the journal (start-up, exit)', value: outsideMs },
    ...(Object.keys(PHASES) as Phase[]).map((p) => ({ label: p, value: med.criticalPath[p] })),
    { label: 'finish', value: med.criticalPath.finish },
    { label: 'report', value: med.criticalPath.report },
  ].sort((a, b) => b.value - a.value);
  const topLine = ranked.slice(0, 3).map((r) => `${r.label} ${ms(r.value)} (${pct(r.value, wallMs)})`).join(', ');
  const factsDoneMs = med.milestones.facts.max;
  const cpuS = usage.userS + usage.systemS;

  const markdown = `## Where the time goes (from the runs' own journal.jsonl)

Every event in a run's \`journal.jsonl\` carries an ISO timestamp (ms), and \`host-facts\` carries when gathering began
(\`facts.gatheredAt\`); junit.xml's mtime marks the end of report writing. Per host the phases below follow one another, so on the
host that finished last they add up, with the runner's own start and finish, to the whole run. Hosts overlap: the timeline shows
when the first, median and last of the ${hostCount} hosts reached each point. "Median of ${timed.length} timed runs" is the median over hyperfine's timed
runs of each number; "check run" is the single run under \`${TIME_BIN} -v\`, whose launch and exit the bench also stamped, so only
it splits the time outside the journal into start-up and exit. The journal has no event for a worker thread's start or for the
end of its suite loading: worker start-up shows only as the wait between \`host-facts\` and \`suite-plan\`, and as CPU taken from
whatever overlaps it.

Biggest items on the critical path (median): ${topLine}. All ${hostCount} hosts have their facts ${ms(factsDoneMs)} after \`run-start\`
(median run); \`gauntlet facts --json\` alone, start-up included, takes ${ms(factsMeanS * 1000)}. The check run used
${formatSeconds(cpuS)} of CPU (user + system, runner and all its threads) in ${formatSeconds(usage.wallS)} of wall time, ${usage.cpuPercent}% of one CPU,
on a machine with ${nproc} CPUs that the ${hostCount} sshd hosts share.

The critical-path rows are medians taken one by one, so they need not add up exactly to the median total.

${criticalTable}

${perHostTable}

${timelineTable}`;

  const data = {
    method: 'phases from each run\'s journal.jsonl timestamps and facts.gatheredAt, junit.xml mtime; check run also stamped around /usr/bin/time',
    criticalPathTop: ranked.slice(0, 3),
    timedRuns: { count: timed.length, medianWallMs: wallMs, medianOutsideJournalMs: outsideMs, median: med, perRun: timed },
    checkRun: { startupMs, afterJunitMs, totalMs: checkTotalMs, profile: c },
  };
  return { markdown, data, topLine };
}
