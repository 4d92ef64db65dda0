// `gauntlet clean` and `gauntlet suites` as a user runs them, and suites' parameters checked by `run`: bad input, a run in progress left alone, an
// interrupted run's leftovers removed.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import Docker from 'dockerode';
import { execa } from 'execa';
import { CLI_PATH, runCli } from '../helpers/cli.js';

const HOLDS_OBJECTS = fileURLToPath(new URL('../fixtures/suites/holds-objects.spec.ts', import.meta.url));
const LOCAL_INVENTORY = 'all:\n  hosts:\n    here: {ansible_connection: local}\n';

async function waitFor<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 120_000): Promise<T> {
  for (let waited = 0; waited < timeoutMs; waited += 200) {
    const value = await probe();
    if (value !== null) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('gauntlet clean and gauntlet suites', function () {
  this.timeout(300_000);
  let dir: string;
  let inventory: string;
  const docker = new Docker();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-clean-'));
    inventory = join(dir, 'hosts.yaml');
    await writeFile(inventory, LOCAL_INVENTORY);
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const [args, message] of [
    [['clean', '--run', 'latest'], 'gauntlet: --run: expected a run id like 20261122-103000-ab12 (a folder name under reports/), got "latest"'],
    [['suites', '--suite', 'no-such-suite'], 'gauntlet: --suite no-such-suite: expected a suite name in'],
    [['clean', '-i', '/nonexistent/hosts.yaml'], '/nonexistent/hosts.yaml: expected a readable inventory file, got ENOENT'],
    [['run', '--suite', 'zombies', '--param', 'scale=huge'], 'gauntlet: zombies: --param scale: expected one of quick, full, soak, got "huge"'],
    [['run', '--suite', 'zombies,ns-cgroup', '--param', 'minFreePids=lots'], 'gauntlet: zombies: --param minFreePids: expected a non-negative number, got "lots"'],
  ] as const) {
    it(`answers \`gauntlet ${args.join(' ')}\` with exit 2 and what was expected`, async () => {
      const result = await runCli([...args]);
      expect(result.exitCode).to.equal(2);
      expect(result.stderr).to.include(message);
      expect(result.stderr).to.not.match(/\n\s+at /);
      expect(result.stdout).to.equal('');
    });
  }

  it('describes a suite: description, parameters with defaults, requirements and tests', async () => {
    const text = await runCli(['suites', '--suite', HOLDS_OBJECTS]);
    expect(text.exitCode, text.stderr).to.equal(0);
    expect(text.stdout).to.include('holds-objects\n  Holds marked objects while a clean runs elsewhere.\n  requires: engine docker\n  test timeout: 120 s\n  tests: 2\n');
    expect(text.stdout).to.include('holdSeconds=8  how long the objects are held');
    const json = JSON.parse((await runCli(['suites', '--json', '--suite', HOLDS_OBJECTS])).stdout) as Record<string, unknown>[];
    expect(json[0]).to.deep.include({ name: 'holds-objects', destructive: false, requires: { engine: 'docker' }, timeoutMs: 120_000 });
    expect(json[0]!.tests).to.deep.equal(['holding objects > keeps its volume, workspace and process while it runs', 'holding objects > leaves the host as it found it']);
  });

  it('leaves a run in progress alone, then removes what the killed run left', async () => {
    const out = join(dir, 'reports');
    const child = spawn(process.execPath, [CLI_PATH, 'run', '-i', inventory, '--suite', HOLDS_OBJECTS, '--param', 'holdSeconds=10', '--out', out], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const runId = await waitFor('the run to start holding', async () => {
      const [entry] = await readdir(out).catch(() => []);
      if (!entry) return null;
      const started = await readFile(`/var/tmp/gauntlet-${entry}-holds-objects/started`, 'utf8').catch(() => null);
      return started === null ? null : entry;
    });

    // In progress on this machine: clean without --run leaves it, and the run passes.
    const polite = await runCli(['clean', '-i', inventory, '--out', out]);
    expect(polite.exitCode, polite.stdout + polite.stderr).to.equal(0);
    expect(polite.stdout).to.include(`runs in progress on this machine, left alone: ${runId}`);
    expect(polite.stdout).to.not.include(runId + '-holds-objects');
    expect(await exited, 'the run that was left alone').to.equal(0);

    // A second run killed while it holds its objects: they stay behind until clean removes them.
    const out2 = join(dir, 'reports-killed');
    const killed = spawn(process.execPath, [CLI_PATH, 'run', '-i', inventory, '--suite', HOLDS_OBJECTS, '--param', 'holdSeconds=60', '--out', out2], { stdio: 'ignore' });
    const killedExit = new Promise<void>((resolve) => killed.once('exit', () => resolve()));
    const killedId = await waitFor('the second run to start holding', async () => {
      const [entry] = await readdir(out2).catch(() => []);
      if (!entry) return null;
      return (await readFile(`/var/tmp/gauntlet-${entry}-holds-objects/started`, 'utf8').catch(() => null)) === null ? null : entry;
    });
    killed.kill('SIGKILL');
    await killedExit;
    const prefix = `gauntlet-${killedId}-holds-objects`;
    const volumes = async () => ((await docker.listVolumes()).Volumes ?? []).map((v) => v.Name).filter((name) => name.startsWith(prefix));
    expect(await volumes(), 'the killed run\'s volume').to.have.length(1);

    const cleaned = await runCli(['clean', '-i', inventory, '--run', killedId]);
    expect(cleaned.exitCode, cleaned.stdout + cleaned.stderr).to.equal(0);
    expect(cleaned.stdout).to.include(`removed volume ${prefix}-volume-1`);
    expect(cleaned.stdout).to.match(new RegExp(`removed process \\d+ \\(tail -f /var/tmp/${prefix}/marker`));
    expect(cleaned.stdout).to.include(`removed file /var/tmp/${prefix}`);
    expect(cleaned.stdout).to.include('1/1 hosts clean');
    expect(await volumes()).to.deep.equal([]);
    const left = await execa('sh', ['-c', `ls -d /var/tmp/${prefix} 2>/dev/null; ps -eo args | grep -F '/var/tmp/${prefix}' | grep -v grep`], { reject: false });
    expect(left.stdout.trim(), 'workspace or process left').to.equal('');
  });
});
