// `gauntlet repro` through the built CLI on the runner itself (a local host): a failure that recurs, one that does
// not, the bundle's redaction of an inventory key and token, and every kind of bad input (exit 2, no stack trace).

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { extract } from 'tar';
import { readFileTree } from '../helpers/file-tree.js';
import { runCli, type CliResult } from '../helpers/cli.js';

/** A user's suite outside suites/ (plain JavaScript, globals): one test passes, one always fails, one fails once. */
const SUITE = `// A suite for gauntlet repro's tests.
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
describe('flip', () => {
  before(async () => {
    await host.run('true # the before hook');
  });
  it('passes', async () => {
    await host.run('echo fine');
  });
  it('fails', async () => {
    await host.run('sleep 0.2');
    // What a careless suite might do: put a credential and a key on a command line.
    await host.run('echo ' + host.vars.api_token + ' >/dev/null');
    await host.run("printf '%s' '" + readFileSync(params.keyFile, 'utf8') + "' >/dev/null");
    throw new Error('planned failure ' + Math.round(Math.random() * 1000) + ' of seed ' + seed);
  });
  it('fails once', async () => {
    if (existsSync(params.marker)) return;
    writeFileSync(params.marker, 'x');
    throw new Error('first time only');
  });
});
`;

/** Made for this test; not a key anything accepts. */
const FAKE_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBnYXVudGxldC1yZXByby10ZXN0LWtleS1ub3QtcmVhbC0wMDAwMDAwAAAA
-----END OPENSSH PRIVATE KEY-----
`;
const TOKEN = 'tok-repro-4f3e2d1c0b';

function expectBadInput(result: CliResult, message: RegExp): void {
  expect(result.exitCode, `${result.stdout}\n${result.stderr}`).to.equal(2);
  expect(result.stderr).to.match(message);
  expect(result.stderr).to.not.match(/\n\s+at |internal error/);
}

describe('gauntlet repro (CLI, the local host)', function () {
  this.timeout(180_000);
  let dir: string;
  let inventory: string;
  let suite: string;
  let runDir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-cli-repro-'));
    inventory = join(dir, 'hosts.yaml');
    suite = join(dir, 'flip.spec.js');
    const keyFile = join(dir, 'id_test');
    await writeFile(keyFile, FAKE_KEY, { mode: 0o600 });
    await writeFile(inventory, `all:\n  hosts:\n    here: {ansible_connection: local, api_token: ${TOKEN}, ansible_ssh_private_key_file: ${keyFile}}\n`);
    await writeFile(suite, SUITE);
    const out = join(dir, 'reports');
    const run = await runCli(['run', '-i', inventory, '--suite', suite, '-p', `keyFile=${keyFile}`, '-p', `marker=${join(dir, 'marker')}`, '--seed', '7', '--out', out]);
    expect(run.stdout, run.stderr).to.match(/1 passed · 2 failed/);
    runDir = join(out, (await readdir(out))[0]!);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reproduces a failure on every attempt and bundles it without the key or the token', async () => {
    const out = join(dir, 'repro-fails');
    const result = await runCli(['repro', runDir, '--test', 'flip > flip > fails', '--attempts', '2', '-o', out]);
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).to.equal(0);
    expect(result.stdout).to.match(/^attempt 1\/2: reproduced/m).and.match(/^attempt 2\/2: reproduced/m);
    expect(result.stdout).to.match(/^reproduced 2\/2: ASSERTION: planned failure NUM of seed NUM$/m);

    // Two normal run folders that ran the one test (and its suite's before hook), and the bundle.
    const entries = (await readdir(out)).sort();
    expect(entries.filter((name) => name.endsWith('.tar.gz'))).to.deep.equal(['repro-planned-failure-num-of-seed-num.tar.gz']);
    const runs = entries.filter((name) => !name.endsWith('.tar.gz'));
    expect(runs).to.have.length(2);
    for (const name of runs) {
      const journal = (await readFile(join(out, name, 'journal.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(journal.find((event) => event.type === 'suite-plan')?.tests, name).to.deep.equal(['flip > fails']);
      expect(journal.find((event) => event.type === 'run-start')).to.include({ seed: 7 }).and.have.deep.property('only', { suite: 'flip', title: 'flip > fails' });
      const report = await runCli(['report', join(out, name)]);
      expect(report.exitCode, report.stderr).to.equal(1);
    }

    const unpacked = join(dir, 'unpacked');
    await mkdir(unpacked);
    await extract({ file: join(out, 'repro-planned-failure-num-of-seed-num.tar.gz'), cwd: unpacked });
    const top = join(unpacked, 'repro-planned-failure-num-of-seed-num');
    const transcript = await readFile(join(top, 'transcript', 'attempt-1.txt'), 'utf8');
    expect(transcript).to.match(/^ +-\d+\.\d{3} +\d+\.\d{3} {2}exit 0 {5}\$ true # the before hook {4}\["before all" hook for "fails"\]$/m);
    expect(transcript).to.match(/^ +\+\d+\.\d{3} +0\.[2-9]\d\d {2}exit 0 {5}\$ sleep 0\.2$/m);
    expect(transcript).to.include('echo [inventory variable api_token removed by gauntlet] >/dev/null');
    expect(transcript).to.include("printf '%s' '[private key removed by gauntlet]");
    expect(await readFile(join(top, 'README.md'), 'utf8')).to.include('Reproduced **2/2** times');
    expect(await readFile(join(top, 'suite', 'flip.spec.js'), 'utf8')).to.equal(SUITE);
    expect(await readFile(join(top, 'REDACTIONS.txt'), 'utf8')).to.include('private key').and.not.include(TOKEN);
    const all = await readFileTree(top);
    expect(all.size).to.be.greaterThan(10);
    expect([...all.keys()].some((path) => path.endsWith('hosts.yaml')), 'no inventory in the bundle').to.equal(false);
    for (const [path, text] of all) {
      expect(text, path).to.not.include('PRIVATE KEY');
      expect(text, path).to.not.include(TOKEN);
      for (const line of FAKE_KEY.split('\n').filter((row) => row.length >= 16 && !row.startsWith('-----'))) expect(text.includes(line), `${path} holds a line of the key`).to.equal(false);
    }

    // The unpacked bundle is itself a folder repro reads: with the inventory given, it finds the suite file inside.
    const again = await runCli(['repro', top, '--test', 'flip > fails', '-i', inventory, '--attempts', '1', '-o', join(dir, 'repro-again')]);
    expect(again.exitCode, `${again.stdout}\n${again.stderr}`).to.equal(0);
    expect(again.stdout).to.match(/^reproduced 1\/1: ASSERTION/m);
  });

  it('exits 1 when the failure does not recur, and still writes the bundle with 0/N', async () => {
    const out = join(dir, 'repro-once');
    const result = await runCli(['repro', runDir, '--test', 'flip > fails once', '--attempts', '2', '-o', out]);
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).to.equal(1);
    expect(result.stdout).to.match(/^reproduced 0\/2: ASSERTION: first time only$/m);
    expect((await readdir(out)).filter((name) => name.endsWith('.tar.gz'))).to.deep.equal(['repro-first-time-only.tar.gz']);
  });

  describe('bad input: exit 2, one clear line, no output files', () => {
    const cases: Array<[string, () => string[], RegExp]> = [
      ['a run folder that does not exist', () => ['repro', join(dir, 'nope'), '--test', 'flip > fails'], /nope: expected a run directory .*, got ENOENT/],
      ['a folder without a journal', () => ['repro', dir, '--test', 'flip > fails'], /no journal\.jsonl \(is this a gauntlet run directory\?\)/],
      ['no --test', () => ['repro', runDir], /--test "<suite> > <test>" is required/],
      ['a test the run does not have', () => ['repro', runDir, '--test', 'flip > reboots'], /--test "flip > reboots": expected a test of run \S+ in .* \("flip > passes", "flip > fails", "flip > fails once"\), got none of that name/],
      ['a test that passed', () => ['repro', runDir, '--test', 'flip > passes'], /"flip > passes" did not fail in run \S+ \(here: passed\): nothing to reproduce/],
      ['--attempts 0', () => ['repro', runDir, '--test', 'flip > fails', '--attempts', '0'], /--attempts: expected a whole number ≥ 1, got "0"/],
      ['a host the inventory does not have', () => ['repro', runDir, '--test', 'flip > fails', '--host', 'db9'], /--host db9: expected a host of .*hosts\.yaml \(here\), got none of that name/],
    ];
    for (const [what, args, message] of cases) {
      it(what, async () => {
        const out = join(dir, 'bad-out');
        expectBadInput(await runCli([...args(), '-o', out]), message);
        expect(existsSync(out), 'no output folder').to.equal(false);
      });
    }

    it('no host with the recorded stack', async () => {
      const other = join(dir, 'other.hosts.yaml');
      await writeFile(other, 'all:\n  hosts:\n    gone: {ansible_host: 127.0.0.1, ansible_port: 1, gauntlet_connect_timeout: 2}\n');
      const out = join(dir, 'bad-out');
      const result = await runCli(['repro', runDir, '--test', 'flip > fails', '-i', other, '-o', out]);
      expectBadInput(result, /no host of .*other\.hosts\.yaml has the recorded stack \S+\n {2}gone: unreachable: /);
      expect(existsSync(out)).to.equal(false);
    });

    it('a suite file changed since the run, naming both digests', async () => {
      await writeFile(suite, `${SUITE}// changed\n`);
      const out = join(dir, 'bad-out');
      const result = await runCli(['repro', runDir, '--test', 'flip > fails', '-o', out]);
      expectBadInput(result, /suite flip: the run recorded sha256 [0-9a-f]{64}, but \S+flip\.spec\.js has sha256 [0-9a-f]{64}: the suite changed since the run/);
      expect(existsSync(out)).to.equal(false);
    });
  });
});
