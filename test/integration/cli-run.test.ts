// `gauntlet run` end to end: the built CLI against real netns sshd hosts and the real dockerd.

import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { CLI_PATH, runCli } from '../helpers/cli.js';
import { createNetnsLab, type NetnsLab } from '../helpers/netns-hosts.js';
import { validateJunit } from '../helpers/junit.js';

const exec = promisify(execFile);

interface JournalLine {
  type: string;
  host?: string;
  title?: string;
  ts: string;
  outcome?: string;
  errorType?: string;
}

async function readJournal(dir: string): Promise<JournalLine[]> {
  const text = await readFile(join(dir, 'journal.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as JournalLine);
}

async function onlyRunDir(out: string): Promise<string> {
  const entries = await readdir(out);
  expect(entries, `run folders in ${out}`).to.have.length(1);
  return join(out, entries[0]!);
}

/** Every `<testcase …>…</testcase>` (or self-closed) element, by name. */
function testcases(xml: string): Map<string, string> {
  const cases = new Map<string, string>();
  for (const match of xml.matchAll(/<testcase\b[^>]*\bname="([^"]*)"[^>]*?(?:\/>|>[\s\S]*?<\/testcase>)/g)) {
    const classname = /classname="([^"]*)"/.exec(match[0])?.[1] ?? '';
    cases.set(`${classname} :: ${match[1]}`, match[0]);
  }
  return cases;
}

/** The `<failure>` or `<error>` of a test case: its element name and attributes, whatever their order. */
function verdict(testcase: string | undefined): { kind: string; type?: string; message?: string } {
  // Attribute values may hold '>' (a test path in a message), so attributes are matched whole.
  const element = /<(failure|error|skipped)\b((?:\s+[\w:-]+="[^"]*")*)\s*\/?>/.exec(testcase ?? '');
  if (!element) return { kind: 'passed' };
  const attribute = (name: string): string | undefined => new RegExp(`\\b${name}="([^"]*)"`).exec(element[2]!)?.[1];
  return { kind: element[1]!, type: attribute('type'), message: attribute('message') };
}

const FLEET_SUITE = `// A user's suite, outside suites/: plain JavaScript, globals only, throwing on failure.
describe('fleet', () => {
  it('sleeps three seconds on the host', async () => {
    const result = await host.run('sleep 3; echo slept');
    if (result.stdout.trim() !== 'slept') throw new Error('sleep did not finish: ' + result.stderr);
  });
  it('fails where it is told to', async () => {
    host.log('fail=' + params.fail);
    if (host.name === params.fail) throw new Error('planned failure on ' + host.name);
  });
  it('reports the kernel it runs', async () => {
    const release = (await host.checkOutput('uname -r')).trim();
    if (release !== host.facts.kernel.release) throw new Error('kernel ' + release + ' is not ' + host.facts.kernel.release);
  });
});
`;

describe('gauntlet run (CLI, real hosts)', function () {
  this.timeout(240_000);
  let lab: NetnsLab;
  let dir: string;
  let inventory: string;

  before(async () => {
    lab = await createNetnsLab({ prefix: 'gt-run', count: 3, subnet: 23 });
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-cli-run-'));
    inventory = join(dir, 'hosts.yaml');
    const [a, b, c] = lab.hosts;
    await writeFile(
      inventory,
      [
        'all:',
        '  vars:',
        '    ansible_user: root',
        `    ansible_ssh_private_key_file: ${lab.clientKeyPath}`,
        `    gauntlet_known_hosts: ${lab.knownHostsPath}`,
        '    gauntlet_keepalive_interval: 1',
        '    gauntlet_keepalive_count_max: 2',
        '  hosts:',
        `    gh1: {ansible_host: ${a!.address}}`,
        `    gh2: {ansible_host: ${b!.address}}`,
        `    gh3: {ansible_host: ${c!.address}}`,
        `    dead: {ansible_host: ${lab.deadAddress}, gauntlet_connect_timeout: 3}`,
        '',
      ].join('\n'),
    );
    await writeFile(join(dir, 'fleet-check.js'), FLEET_SUITE);
  });

  after(async () => {
    await lab?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs a user suite on three hosts at once, fails the planned failure, reports the dead host, exits 1', async () => {
    const out = join(dir, 'out-main');
    const result = await runCli(['run', '-i', inventory, '--suite', join(dir, 'fleet-check.js'), '--param', 'fail=gh2', '--out', out]);
    expect(result.exitCode, result.stdout + result.stderr).to.equal(1);
    const runDir = await onlyRunDir(out);
    const xml = await readFile(join(runDir, 'junit.xml'), 'utf8');
    await validateJunit(join(runDir, 'junit.xml'));

    const cases = testcases(xml);
    expect(verdict(cases.get('fleet-check @ gh2 :: fleet > fails where it is told to'))).to.deep.equal({ kind: 'failure', type: 'ASSERTION', message: 'planned failure on gh2' });
    for (const name of ['gh1', 'gh3']) {
      expect(verdict(cases.get(`fleet-check @ ${name} :: fleet > fails where it is told to`)).kind).to.equal('passed');
      expect(verdict(cases.get(`fleet-check @ ${name} :: fleet > reports the kernel it runs`)).kind).to.equal('passed');
    }
    for (const title of ['sleeps three seconds on the host', 'fails where it is told to', 'reports the kernel it runs']) {
      expect(verdict(cases.get(`fleet-check @ dead :: fleet > ${title}`))).to.include({ kind: 'error', type: 'HOST_UNREACHABLE' });
    }

    // Each host's testsuite carries its stack.
    for (const name of ['gh1', 'gh2', 'gh3']) {
      const suite = new RegExp(`<testsuite [^>]*name="fleet-check @ ${name}"[\\s\\S]*?</testsuite>`).exec(xml)?.[0] ?? '';
      for (const property of ['gauntlet.host', 'gauntlet.host.id', 'gauntlet.run', 'gauntlet.seed', 'gauntlet.stack.key', 'gauntlet.stack.kernel', 'gauntlet.stack.distro', 'gauntlet.stack.engine', 'gauntlet.stack.storage_driver', 'gauntlet.stack.backing_fs', 'gauntlet.stack.cgroup']) {
        expect(suite, `${name} ${property}`).to.match(new RegExp(`<property name="${property.replace(/\./g, '\\.')}" value="[^"]+"`));
      }
      expect(suite).to.include('<property name="gauntlet.param.fail" value="gh2"');
    }

    // The three sleeps ran at the same time: every pair of intervals overlaps (evidence from the journal, not a stopwatch).
    const journal = await readJournal(runDir);
    const interval = (host: string): [number, number] => {
      const title = 'fleet > sleeps three seconds on the host';
      const start = journal.find((e) => e.type === 'test-start' && e.host === host && e.title === title)!;
      const end = journal.find((e) => e.type === 'test-end' && e.host === host && e.title === title)!;
      return [Date.parse(start.ts), Date.parse(end.ts)];
    };
    const intervals = ['gh1', 'gh2', 'gh3'].map(interval);
    for (const [s1, e1] of intervals) for (const [s2, e2] of intervals) expect(s1 < e2 && s2 < e1, 'sleep intervals overlap').to.equal(true);

    expect(result.stdout, result.stdout).to.match(/3\/4 hosts ran · 8 passed · 1 failed · 3 errors · 0 flaky/);
    expect(result.stdout).to.include(join(runDir, 'junit.xml'));
  });

  it('reports a timed-out test as a TIMEOUT error and goes on with the next test', async () => {
    const suite = join(dir, 'slow.js');
    await writeFile(suite, "describe('slow', () => {\n  it('takes too long', async () => { await host.run('sleep 30'); });\n  it('runs after it', async () => { await host.checkOutput('true'); });\n});\n");
    const out = join(dir, 'out-timeout');
    const result = await runCli(['run', '-i', inventory, '--limit', 'gh1', '--suite', suite, '--timeout', '1', '--out', out]);
    expect(result.exitCode).to.equal(1);
    const runDir = await onlyRunDir(out);
    await validateJunit(join(runDir, 'junit.xml'));
    const cases = testcases(await readFile(join(runDir, 'junit.xml'), 'utf8'));
    expect(verdict(cases.get('slow @ gh1 :: slow > takes too long'))).to.include({ kind: 'error', type: 'TIMEOUT' });
    expect(verdict(cases.get('slow @ gh1 :: slow > runs after it')).kind).to.equal('passed');
    // The timed-out command was killed on the host, not left running.
    const { stdout } = await exec('ip', ['netns', 'pids', lab.hosts[0]!.ns]);
    const commands = await Promise.all(stdout.split('\n').filter(Boolean).map((pid) => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')));
    expect(commands.filter((command) => command.startsWith('sleep\u000030'))).to.deep.equal([]);
  });

  it('fails only the running test of a host that dies mid-run, reports its remaining tests with the cause, and goes on elsewhere', async () => {
    const suite = join(dir, 'dies.js');
    await writeFile(
      suite,
      "describe('dies', () => {\n  it('is running when the host dies', async () => { await host.run('sleep 20'); });\n  it('comes after', async () => { await host.checkOutput('true'); });\n});\n",
    );
    const out = join(dir, 'out-dies');
    const child = spawn(process.execPath, [CLI_PATH, 'run', '-i', inventory, '--limit', 'gh1,gh3', '--suite', suite, '--out', out], { env: { ...process.env, CI: 'true' } });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Kill gh3's sshd (and its sessions) once its test is running.
    for (let i = 0; i < 200; i++) {
      const runDirs = await readdir(out).catch(() => []);
      if (runDirs[0]) {
        const journal = await readJournal(join(out, runDirs[0])).catch(() => []);
        if (journal.some((e) => e.type === 'test-start' && e.host === 'gh3')) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await lab.stopSshd('h2');
    try {
      expect(await exited, stdout).to.equal(1);
    } finally {
      await lab.startSshd('h2');
    }
    const runDir = await onlyRunDir(out);
    await validateJunit(join(runDir, 'junit.xml'));
    const cases = testcases(await readFile(join(runDir, 'junit.xml'), 'utf8'));
    expect(verdict(cases.get('dies @ gh3 :: dies > is running when the host dies'))).to.include({ kind: 'error', type: 'LOST_CONNECTION' });
    const after = verdict(cases.get('dies @ gh3 :: dies > comes after'));
    expect(after).to.include({ kind: 'error', type: 'LOST_CONNECTION' });
    expect(after.message).to.match(/^not run: /);
    expect(verdict(cases.get('dies @ gh1 :: dies > is running when the host dies')).kind).to.equal('passed');
    expect(verdict(cases.get('dies @ gh1 :: dies > comes after')).kind).to.equal('passed');
  });

  it('reports a crashed worker, a failed before hook and a suite that cannot load, dropping no test', async () => {
    const crash = join(dir, 'crash.js');
    await writeFile(crash, "describe('crash', () => {\n  it('exits the worker', () => { process.exit(3); });\n  it('never runs', () => {});\n});\n");
    const hook = join(dir, 'hook.js');
    await writeFile(hook, "describe('hook', () => {\n  before(async () => { await host.runExpect('exit 4'); });\n  it('needs the hook', () => {});\n  it('needs it too', () => {});\n});\n");
    const broken = join(dir, 'broken.js');
    await writeFile(broken, "describe('broken', () => {\n  it('has a syntax error', () => { if ( });\n});\n");
    const out = join(dir, 'out-crash');
    const result = await runCli(['run', '-i', inventory, '--limit', 'gh1', '--suite', `${hook},${broken},${crash}`, '--out', out]);
    expect(result.exitCode).to.equal(1);
    const runDir = await onlyRunDir(out);
    await validateJunit(join(runDir, 'junit.xml'));
    const cases = testcases(await readFile(join(runDir, 'junit.xml'), 'utf8'));
    const hooked = verdict(cases.get('hook @ gh1 :: hook > needs the hook'));
    expect(hooked).to.include({ kind: 'error', type: 'HOOK_FAILED' });
    expect(hooked.message).to.match(/^not run: &quot;before all&quot; hook .* failed: `exit 4` exited 4, expected exit 0$/);
    expect(verdict(cases.get('hook @ gh1 :: hook > needs it too'))).to.include({ kind: 'error', type: 'HOOK_FAILED' });
    expect(verdict(cases.get('broken @ gh1 :: (suite could not be loaded)'))).to.include({ kind: 'error', type: 'SUITE_LOAD_FAILED' });
    expect(verdict(cases.get('crash @ gh1 :: crash > exits the worker'))).to.include({ kind: 'error', type: 'WORKER_CRASHED' });
    const never = verdict(cases.get('crash @ gh1 :: crash > never runs'));
    expect(never).to.include({ kind: 'error', type: 'WORKER_CRASHED' });
    expect(never.message).to.match(/^not run: /);
  });

  it('rebuilds a valid JUnit from the journal after the runner is SIGKILLed mid-run', async () => {
    const suite = join(dir, 'long.js');
    await writeFile(suite, "describe('long', () => {\n  it('is quick', async () => { await host.checkOutput('true'); });\n  it('is slow', async () => { await host.run('sleep 60'); });\n});\n");
    const out = join(dir, 'out-kill');
    const child = spawn(process.execPath, [CLI_PATH, 'run', '-i', inventory, '--limit', 'gh1,gh2', '--suite', suite, '--out', out], { env: { ...process.env, CI: 'true' }, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    let runDir = '';
    for (let i = 0; i < 300; i++) {
      const runDirs = await readdir(out).catch(() => []);
      if (runDirs[0]) {
        runDir = join(out, runDirs[0]);
        const journal = await readJournal(runDir).catch(() => []);
        const slowStarted = journal.filter((e) => e.type === 'test-start' && e.title === 'long > is slow').length;
        if (slowStarted === 2) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGKILL');
    expect(await exited).to.equal('SIGKILL');
    const before = await readJournal(runDir);
    expect(before.some((e) => e.type === 'run-end')).to.equal(false);

    const rebuilt = await runCli(['report', runDir]);
    expect(rebuilt.exitCode, rebuilt.stderr).to.equal(1);
    await validateJunit(join(runDir, 'junit.xml'));
    const cases = testcases(await readFile(join(runDir, 'junit.xml'), 'utf8'));
    for (const host of ['gh1', 'gh2']) {
      expect(verdict(cases.get(`long @ ${host} :: long > is quick`)).kind, host).to.equal('passed');
      expect(verdict(cases.get(`long @ ${host} :: long > is slow`)), host).to.include({ kind: 'error', type: 'INTERRUPTED' });
    }
    // The runner's own remote commands die with their SSH sessions; nothing is left to clean up for this test.
  });

  it('splits host × suite pairs across shards whose union is the unsharded run', async () => {
    const suites = ['a', 'b', 'c'].map((name) => join(dir, `shard-${name}.js`));
    for (const path of suites) await writeFile(path, `describe('${path.slice(-10, -3)}', () => { it('passes', () => {}); it('passes again', () => {}); });\n`);
    const collect = async (extra: string[], out: string): Promise<string[]> => {
      const result = await runCli(['run', '-i', inventory, '--limit', 'gh*', '--suite', suites.join(','), '--out', out, ...extra]);
      expect(result.exitCode, result.stdout + result.stderr).to.equal(0);
      const runDir = await onlyRunDir(out);
      await validateJunit(join(runDir, 'junit.xml'));
      return [...testcases(await readFile(join(runDir, 'junit.xml'), 'utf8')).keys()];
    };
    const whole = await collect([], join(dir, 'out-whole'));
    expect(whole).to.have.length(3 * 3 * 2);
    const parts = await Promise.all([1, 2, 3, 4].map((i) => collect(['--shard', `${i}/4`], join(dir, `out-shard-${i}`))));
    const union = parts.flat();
    expect(new Set(union).size, 'no pair runs in two shards').to.equal(union.length);
    expect([...union].sort()).to.deep.equal([...whole].sort());
  });

  it('stops on SIGTERM: running tests become INTERRUPTED, their commands are killed on the host, reports are written, exit 143', async () => {
    const suite = join(dir, 'stoppable.js');
    const seconds = 400 + (process.pid % 100);
    await writeFile(suite, `describe('stoppable', () => {\n  it('is quick', async () => { await host.checkOutput('true'); });\n  it('runs long', async () => { await host.run('sleep ${seconds}'); });\n  it('never starts', () => {});\n});\n`);
    const out = join(dir, 'out-term');
    const child = spawn(process.execPath, [CLI_PATH, 'run', '-i', inventory, '--limit', 'gh1', '--suite', suite, '--out', out], { env: { ...process.env, CI: 'true' }, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    for (let i = 0; i < 300; i++) {
      const runDirs = await readdir(out).catch(() => []);
      const journal = runDirs[0] ? await readJournal(join(out, runDirs[0])).catch(() => []) : [];
      if (journal.some((e) => e.type === 'test-start' && e.title === 'stoppable > runs long')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill('SIGTERM');
    expect(await exited).to.equal(143);
    const runDir = await onlyRunDir(out);
    await validateJunit(join(runDir, 'junit.xml'));
    const cases = testcases(await readFile(join(runDir, 'junit.xml'), 'utf8'));
    expect(verdict(cases.get('stoppable @ gh1 :: stoppable > is quick')).kind).to.equal('passed');
    expect(verdict(cases.get('stoppable @ gh1 :: stoppable > runs long'))).to.include({ kind: 'error', type: 'INTERRUPTED' });
    expect(verdict(cases.get('stoppable @ gh1 :: stoppable > never starts'))).to.include({ kind: 'error', type: 'INTERRUPTED' });
    const journal = await readJournal(runDir);
    expect(journal.at(-1)).to.include({ type: 'run-end' });
    // Nothing of the run is left on the host.
    const { stdout } = await exec('ip', ['netns', 'pids', lab.hosts[0]!.ns]);
    const commands = await Promise.all(stdout.split('\n').filter(Boolean).map((pid) => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')));
    expect(commands.filter((command) => command.includes(`sleep\u0000${seconds}`))).to.deep.equal([]);
  });

  it('runs a TypeScript suite, enforces its requirements and destructiveness, retries flaky tests and bails', async () => {
    const typed = join(dir, 'typed.spec.ts');
    await writeFile(
      typed,
      [
        "declare const host: { name: string; run(cmd: string): Promise<{ exitCode: number | null }>; facts: { kernel: { release: string } } };",
        "declare const meta: (m: object) => void;",
        "meta({ requires: { engine: 'docker' } });",
        "const attempts: Record<string, number> = {};",
        "describe('typed', () => {",
        "  it('passes on the second attempt', async () => {",
        "    attempts[host.name] = (attempts[host.name] ?? 0) + 1;",
        "    if (attempts[host.name] === 1) throw new Error('first attempt fails');",
        "  });",
        "  it('knows its kernel', () => { const release: string = host.facts.kernel.release; if (!release) throw new Error('no kernel'); });",
        "});",
        '',
      ].join('\n'),
    );
    const btrfs = join(dir, 'btrfs-only.js');
    await writeFile(btrfs, "meta({ requires: { storageDriver: ['btrfs'] } });\ndescribe('btrfs', () => { it('needs btrfs', () => {}); });\n");
    const destructive = join(dir, 'wrecks.js');
    await writeFile(destructive, "meta({ destructive: true });\ndescribe('wrecks', () => { it('would wreck the host', () => {}); });\n");
    const out = join(dir, 'out-typed');
    const result = await runCli(['run', '-i', inventory, '--limit', 'gh1', '--suite', `${typed},${btrfs},${destructive}`, '--retries', '1', '--out', out]);
    expect(result.exitCode, result.stdout + result.stderr).to.equal(0);
    const runDir = await onlyRunDir(out);
    await validateJunit(join(runDir, 'junit.xml'));
    const xml = await readFile(join(runDir, 'junit.xml'), 'utf8');
    const cases = testcases(xml);
    const flaky = cases.get('typed @ gh1 :: typed > passes on the second attempt')!;
    expect(verdict(flaky).kind).to.equal('passed');
    expect(flaky).to.match(/<flakyFailure [^>]*message="attempt 1: first attempt fails"/);
    expect(verdict(cases.get('typed @ gh1 :: typed > knows its kernel')).kind).to.equal('passed');
    expect(verdict(cases.get('btrfs-only @ gh1 :: btrfs > needs btrfs'))).to.deep.equal({ kind: 'skipped', type: undefined, message: 'requires storage driver btrfs; host has overlay2' });
    expect(verdict(cases.get('wrecks @ gh1 :: wrecks > would wreck the host'))).to.deep.equal({ kind: 'skipped', type: undefined, message: 'destructive suite: runs only on hosts with gauntlet_disposable: true' });
    expect(result.stdout).to.match(/1\/1 hosts ran · 2 passed · 0 failed · 0 errors · 2 skipped · 1 flaky/);

    const bail = join(dir, 'bail.js');
    await writeFile(bail, "describe('bail', () => {\n  it('fails first', () => { throw new Error('first failure'); });\n  it('is not run', () => {});\n});\n");
    const bailOut = join(dir, 'out-bail');
    const bailed = await runCli(['run', '-i', inventory, '--limit', 'gh1', '--suite', `${bail},${btrfs}`, '--bail', '--out', bailOut]);
    expect(bailed.exitCode).to.equal(1);
    const bailCases = testcases(await readFile(join(await onlyRunDir(bailOut), 'junit.xml'), 'utf8'));
    expect(verdict(bailCases.get('bail @ gh1 :: bail > fails first')).kind).to.equal('failure');
    expect(verdict(bailCases.get('bail @ gh1 :: bail > is not run'))).to.deep.equal({ kind: 'skipped', type: undefined, message: 'not run: --bail after an earlier failure on this host' });
  });

  it('gives hooks the suite\'s declared timeout, not mocha\'s two seconds', async () => {
    const suite = join(dir, 'slow-hooks.js');
    await writeFile(suite, "meta({ timeoutMs: 6000 });\ndescribe('slow hooks', () => {\n  after(async () => { await host.run('sleep 3'); });\n  it('passes', () => {});\n});\n");
    const out = join(dir, 'out-hooks');
    const result = await runCli(['run', '-i', inventory, '--limit', 'gh1', '--suite', suite, '--out', out]);
    expect(result.exitCode, result.stdout).to.equal(0);
    const cases = testcases(await readFile(join(await onlyRunDir(out), 'junit.xml'), 'utf8'));
    expect([...cases.keys()]).to.deep.equal(['slow-hooks @ gh1 :: slow hooks > passes']);
  });

  it('answers bad run options with exit 2 and no stack trace', async () => {
    for (const args of [
      ['--suite', 'no-such-suite'],
      ['--param', 'novalue'],
      ['--shard', '5/4'],
      ['--retries', 'many'],
      ['--workers', '0'],
    ]) {
      const result = await runCli(['run', '-i', inventory, ...args, '--out', join(dir, 'out-bad')]);
      expect(result.exitCode, args.join(' ')).to.equal(2);
      expect(result.stderr, args.join(' ')).to.match(/^gauntlet: /);
      expect(result.stderr, args.join(' ')).to.not.match(/\n\s+at /);
    }
    expect(await readdir(join(dir, 'out-bad')).catch(() => [])).to.deep.equal([]);
  });
});
