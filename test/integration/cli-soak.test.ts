// `gauntlet soak` as a user runs it, on two real sshd hosts in network namespaces: one host goes down and comes back,
// the runner is SIGKILLed half-way and the soak resumed; it ends at its deadline with every iteration in its JUnit once.

import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { readJunitText, readSoakJournal } from '../../src/report/index.js';
import type { IterationEndEvent, IterationStartEvent, SoakEndEvent, SoakEvent, SoakHostBackEvent, SoakHostDownEvent, SoakStartEvent } from '../../src/model/index.js';
import { CLI_PATH, runCli } from '../helpers/cli.js';
import { parseConsoleFixture } from '../helpers/console-corpus.js';
import { validateJunit } from '../helpers/junit.js';
import { createNetnsLab, type NetnsLab } from '../helpers/netns-hosts.js';

const TICKS = fileURLToPath(new URL('../fixtures/suites/soak-ticks.spec.ts', import.meta.url));
const HOLDS_OBJECTS = fileURLToPath(new URL('../fixtures/suites/holds-objects.spec.ts', import.meta.url));
const TESTS_PER_ITERATION = 3;
const DEADLINE_SKIP = /^not run: the soak's deadline passed/;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Where systemd-pstore keeps what a crashed kernel left. The netns hosts share this machine's files, so a host that
 * "comes back" offers whatever is here: the test puts a real pstore capture from a lab VM's panic (the kernel's
 * ramoops record) in a folder of its own, as systemd-pstore would after a crash, and takes it away again.
 */
const PSTORE_DIR = '/var/lib/systemd/pstore/gauntlet-soak-test';
const PSTORE_CAPTURE = fileURLToPath(new URL('../fixtures/console/lab-6.1.0-56-pstore.txt', import.meta.url));
const PSTORE_PANIC = 'kernel panic: sysrq triggered crash';

async function readSoak(dir: string): Promise<SoakEvent[]> {
  return (await readSoakJournal(dir)).events;
}

describe('gauntlet soak (netns sshd hosts, SIGKILL and --resume)', function () {
  this.timeout(600_000);
  let lab: NetnsLab;
  let dir: string;
  let inventory: string;
  let out: string;

  before(async () => {
    await rm(PSTORE_DIR, { recursive: true, force: true });
    lab = await createNetnsLab({ prefix: 'gt-sk', count: 2, subnet: 72 });
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-soak-'));
    inventory = join(dir, 'hosts.yaml');
    out = join(dir, 'reports');
    await lab.writeInventory(inventory);
  });

  after(async () => {
    await rm(PSTORE_DIR, { recursive: true, force: true });
    await lab?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const [args, message] of [
    [['soak'], 'gauntlet: --duration: expected how long the soak runs (8h, 90m, 1h30m), got nothing'],
    [['soak', '--duration', '90'], 'gauntlet: --duration: expected a duration with a unit, like 8h, 90m, 1h30m or 45s, got "90"'],
    [['soak', '--duration', 'soon'], 'gauntlet: --duration: expected a duration with a unit, like 8h, 90m, 1h30m or 45s, got "soon"'],
    [['soak', '--duration', '1h', '--progress', '0s'], 'gauntlet: --progress: expected a duration with a unit'],
    [['soak', '--resume', '/nonexistent/soak'], 'gauntlet: /nonexistent/soak: no soak.jsonl'],
    [['soak', '--resume', '/tmp', '--duration', '1h'], "gauntlet: --resume: the soak goes on with the options it started with; got also --duration"],
  ] as const) {
    it(`answers \`gauntlet ${args.join(' ')}\` with exit 2 and what was expected`, async () => {
      const result = await runCli([...args], { cwd: dir });
      expect(result.exitCode, result.stderr).to.equal(2);
      expect(result.stderr).to.include(message);
      expect(result.stderr).to.not.match(/\n\s+at /);
      expect(await readdir(out).catch(() => [])).to.deep.equal([]);
    });
  }

  it('stops at a signal, reports the cut tests as INTERRUPTED and removes what they left on the host', async () => {
    const local = join(dir, 'local.yaml');
    await writeFile(local, 'all:\n  hosts:\n    here: {ansible_connection: local}\n');
    const signalled = join(dir, 'signalled');
    const child = spawn(process.execPath, [CLI_PATH, 'soak', '-i', local, '--suite', HOLDS_OBJECTS, '--param', 'holdSeconds=60', '--duration', '5m', '-o', signalled], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Wait until the suite holds its volume, workspace and process, then stop the soak.
    let workspace = '';
    for (let waited = 0; waited < 120_000 && !workspace; waited += 500) {
      await sleep(500);
      const [soakId] = await readdir(signalled).catch(() => []);
      const [runId] = soakId ? await readdir(join(signalled, soakId, 'iterations')).catch(() => []) : [];
      const candidate = runId ? `/var/tmp/gauntlet-${runId}-holds-objects` : '';
      if (candidate && (await readFile(join(candidate, 'started'), 'utf8').catch(() => null)) !== null) workspace = candidate;
    }
    expect(workspace, output).to.not.equal('');
    child.kill('SIGTERM');
    expect(await exited, output).to.equal(143);
    expect(output).to.include('1 iteration was stopped by a signal (2 tests INTERRUPTED, not counted against the hosts)');
    expect(await readdir(workspace).catch(() => null), `${workspace} removed`).to.equal(null);
    const runId = workspace.slice('/var/tmp/gauntlet-'.length, -'-holds-objects'.length);
    const volumes = await runCli(['clean', '-i', local, '--run', runId, '--json'], { cwd: dir });
    expect((JSON.parse(volumes.stdout) as { removed: string[] }[])[0]!.removed, 'nothing left for clean to remove').to.deep.equal([]);
    const [soakId] = await readdir(signalled);
    const end = (await readSoak(join(signalled, soakId!))).at(-1) as SoakEndEvent;
    expect([end.type, end.reason, end.interrupted]).to.deep.equal(['soak-end', 'interrupted', 'SIGTERM']);
  });

  it('soaks for 2 minutes through a host going down and a killed runner, and holds every iteration exactly once', async () => {
    const args = ['soak', '-i', inventory, '--suite', TICKS, '--duration', '2m', '--recover-timeout', '5', '--progress', '20s', '-o', out];
    const child = spawn(process.execPath, [CLI_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } });
    let firstOutput = '';
    child.stdout.on('data', (chunk: Buffer) => (firstOutput += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (firstOutput += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));

    // h1 dies a third of a minute in: the soak must record it and go on without it.
    const startedAt = performance.now();
    await sleep(20_000);
    await lab.stopSshd('h1');
    // `gauntlet clean` leaves the soak's running iteration alone: it is a run in progress on this machine.
    const clean = await runCli(['clean', '-i', inventory, '--out', out], { cwd: dir });
    const [soakId] = await readdir(out);
    const iterationRuns = (await readSoak(join(out, soakId!))).filter((event): event is IterationStartEvent => event.type === 'iteration-start').map((event) => event.runId);
    const leftAlone = /runs in progress on this machine, left alone: (.*)/.exec(clean.stdout)?.[1]?.split(', ') ?? [];
    expect(leftAlone, clean.stdout).to.have.length(1);
    expect(iterationRuns, clean.stdout).to.include(leftAlone[0]);
    await sleep(60_000 - (performance.now() - startedAt));
    child.kill('SIGKILL');
    expect(await exited, firstOutput).to.equal('SIGKILL');
    const soakDir = join(out, soakId!);
    const beforeKill = await readSoak(soakDir);
    expect(beforeKill.some((event) => event.type === 'host-down' && event.host === 'h1'), firstOutput).to.equal(true);
    expect(beforeKill.some((event) => event.type === 'soak-end')).to.equal(false);
    // Nothing is lost even without a resume: `gauntlet report` rebuilds the soak's JUnit from its journals.
    const rebuilt = await runCli(['report', soakDir], { cwd: dir });
    expect(rebuilt.stdout, rebuilt.stderr).to.include(`did not finish: its journal has no soak-end (resume it with gauntlet soak --resume ${soakDir})`);
    const startedBeforeKill = beforeKill.filter((event): event is IterationStartEvent => event.type === 'iteration-start');
    const rebuiltSuites = readJunitText(await readFile(join(soakDir, 'junit.xml'), 'utf8'), 'junit.xml');
    expect([...new Set(rebuiltSuites.map((suite) => suite.run))]).to.deep.equal(startedBeforeKill.map((iteration) => iteration.runId));

    // The soak resumes with h1 still down, and h1 comes back while it runs.
    const resumed = runCli(['soak', '--resume', soakDir], { cwd: dir, timeoutMs: 300_000 });
    await sleep(15_000);
    // While it was down, "its kernel" left a panic in pstore: once h1 answers, the soak must find it and blame it.
    await mkdir(PSTORE_DIR, { recursive: true });
    await writeFile(join(PSTORE_DIR, 'dmesg-ramoops-0'), parseConsoleFixture('lab-6.1.0-56-pstore.txt', await readFile(PSTORE_CAPTURE, 'utf8')).log);
    await lab.startSshd('h1');
    const result = await resumed;
    const output = `${firstOutput}\n--- resumed ---\n${result.stdout}\n${result.stderr}`;

    const events = await readSoak(soakDir);
    const start = events[0] as SoakStartEvent;
    const deadline = Date.parse(start.deadline);
    const starts = events.filter((event): event is IterationStartEvent => event.type === 'iteration-start');
    const ends = events.filter((event): event is IterationEndEvent => event.type === 'iteration-end');
    const end = events.at(-1) as SoakEndEvent;

    // It ends at its deadline: no iteration starts after it, and only the last iteration has tests the deadline stopped.
    expect(end.type, output).to.equal('soak-end');
    expect(end.reason, output).to.equal('deadline');
    expect(Date.parse(end.ts)).to.be.at.least(deadline);
    for (const iteration of starts) expect(Date.parse(iteration.ts), `iteration ${iteration.iteration} starts before the deadline`).to.be.below(deadline);
    expect(starts.map((iteration) => iteration.iteration)).to.deep.equal(starts.map((_, index) => index + 1));
    expect(ends.map((iteration) => iteration.iteration).sort((a, b) => a - b)).to.deep.equal(starts.map((iteration) => iteration.iteration));
    const killed = ends.filter((iteration) => iteration.killed);
    expect(killed, 'one iteration cut short by the SIGKILL').to.have.length(1);

    // h1 was down from before the kill until after the resume, then took part again.
    const resumeAt = events.findIndex((event) => event.type === 'soak-resume');
    const back = events.findIndex((event) => event.type === 'host-back' && event.host === 'h1');
    const down = events.find((event): event is SoakHostDownEvent => event.type === 'host-down' && event.host === 'h1');
    expect(down?.lost?.test, 'the test h1 was lost in').to.not.equal(null);
    expect((events[back] as SoakHostBackEvent).postMortem, output).to.deep.equal([`PANIC: ${PSTORE_PANIC}`]);
    expect(resumeAt, output).to.be.above(0);
    expect(back, output).to.be.above(resumeAt);
    const rejoined = starts.filter((iteration) => events.indexOf(iteration) > back);
    expect(rejoined.length, output).to.be.above(0);
    expect(rejoined[0]!.hosts).to.deep.equal(['h0', 'h1']);
    const downIterations = starts.filter((iteration) => iteration.hosts.length === 1);
    expect(downIterations.length, 'iterations that ran without h1').to.be.above(0);
    for (const iteration of downIterations) expect(iteration.hosts).to.deep.equal(['h0']);

    // The soak's JUnit: valid, and each iteration's testsuites exactly once, as its own run folder has them.
    const junitPath = join(soakDir, 'junit.xml');
    await validateJunit(junitPath);
    const suites = readJunitText(await readFile(junitPath, 'utf8'), junitPath);
    expect(suites.map((suite) => suite.name).sort()).to.deep.equal(starts.flatMap((iteration) => iteration.hosts.map((host) => `soak-ticks @ ${host} #${iteration.iteration}`)).sort());
    for (const iteration of starts) {
      const own = readJunitText(await readFile(join(soakDir, 'iterations', iteration.runId, 'junit.xml'), 'utf8'), iteration.runId);
      const combined = suites.filter((suite) => suite.name.endsWith(` #${iteration.iteration}`));
      expect(combined.map((suite) => suite.run)).to.deep.equal(own.map(() => iteration.runId));
      // The same testsuites in the same order as the iteration's own report, test for test.
      expect(combined.map((suite) => suite.name.replace(/ #\d+$/, ''))).to.deep.equal(own.map((suite) => suite.name));
      expect(combined.map((suite) => suite.tests), `iteration ${iteration.iteration}`).to.deep.equal(own.map((suite) => suite.tests));
      for (const suite of combined) expect(suite.tests).to.have.length(TESTS_PER_ITERATION);
    }

    // Every test passed, but for h1's lost connection, the SIGKILL's cut, and the deadline's skips in the last iteration.
    const last = starts.at(-1)!.iteration;
    for (const suite of suites) {
      const iteration = Number(/#(\d+)$/.exec(suite.name)![1]);
      for (const test of suite.tests) {
        const where = `${suite.name} > ${test.name}: ${test.outcome} ${test.type ?? ''} ${test.message ?? ''}`;
        if (test.outcome === 'passed') continue;
        if (test.outcome === 'skipped') {
          expect(iteration, where).to.equal(last);
          continue;
        }
        const killedHere = killed[0]!.iteration === iteration;
        if (test.type === 'INTERRUPTED') expect(killedHere, where).to.equal(true);
        else expect([suite.name.includes('@ h1 '), test.type], where).to.be.deep.oneOf([
          [true, 'LOST_CONNECTION'],
          [true, 'PANIC'],
        ]);
      }
    }
    // The test h1 was lost in carries the panic its kernel left (tests of that iteration it never ran: the lost connection).
    const h1Tests = suites.filter((suite) => suite.name.includes('@ h1 ')).flatMap((suite) => suite.tests.map((test) => ({ suite, test })));
    const panicked = h1Tests.filter(({ test }) => test.type === 'PANIC');
    expect(panicked.map(({ suite, test }) => `${suite.name} > ${test.name}: ${test.message}`), output).to.deep.equal([`soak-ticks @ h1 #${down!.iteration} > ${down!.lost!.test!.title}: ${PSTORE_PANIC}`]);
    // A host lost on the way is a failed soak; the runner's own death is not counted against the hosts.
    expect(result.exitCode, output).to.equal(1);
    expect(result.stdout).to.match(/1 iteration was cut short by a killed runner and resumed/);
    expect(result.stdout).to.include(`junit: ${junitPath}`);

    // The soak's report, rebuilt from the journals alone, is the one the soak wrote; each iteration gets its page.
    const written = await readFile(junitPath, 'utf8');
    const report = await runCli(['report', soakDir, '--html'], { cwd: dir });
    expect(report.exitCode, report.stderr).to.equal(result.exitCode);
    expect(await readFile(junitPath, 'utf8')).to.equal(written);
    for (const iteration of starts) expect(await readFile(join(soakDir, 'iterations', iteration.runId, 'report.html'), 'utf8')).to.include('<svg');
  });
});
