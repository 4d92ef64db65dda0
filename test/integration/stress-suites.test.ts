// The five stress suites against a real sshd host in a network namespace and the machine's real dockerd: they
// pass at quick scale, record their measurements, and leave the host exactly as they found it, also when the
// runner is killed in the middle and `gauntlet clean` removes what it left.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CLI_PATH, runCli } from '../helpers/cli.js';
import { validateJunit } from '../helpers/junit.js';
import { createNetnsLab, specForNetnsHost, type NetnsLab } from '../helpers/netns-hosts.js';
import { SshTransport } from '../../src/transport/index.js';
import { compareInventories, takeInventory, type HostInventory, type KitHost } from '../../src/runner/kit/index.js';

const STRESS_SUITES = ['storage-churn', 'layers', 'ns-cgroup', 'zombies', 'disk-fill'];

async function onlyRunDir(out: string): Promise<string> {
  const entries = await readdir(out);
  expect(entries, `run folders in ${out}`).to.have.length(1);
  return join(out, entries[0]!);
}

/** `<testcase>` elements with their suite (from the class name `suite @ host`) and name. */
function testcases(xml: string): { suite: string; name: string; body: string }[] {
  return [...xml.matchAll(/<testcase\b[^>]*?(?:\/>|>[\s\S]*?<\/testcase>)/g)].map(([element]) => ({
    suite: /classname="([^"@]*?) @/.exec(element)?.[1] ?? '',
    name: /\bname="([^"]*)"/.exec(element)?.[1] ?? '',
    body: element,
  }));
}

describe('stress suites on a netns sshd host with the real dockerd', function () {
  this.timeout(900_000);
  let lab: NetnsLab;
  let dir: string;
  let inventory: string;
  let transport: SshTransport;
  let host: KitHost;

  before(async () => {
    lab = await createNetnsLab({ prefix: 'gt-st', count: 1, subnet: 65 });
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-stress-'));
    inventory = join(dir, 'hosts.yaml');
    await lab.writeInventory(inventory);
    transport = new SshTransport(specForNetnsHost(lab, 0));
    await transport.connect();
    host = {
      run: (command, options) => transport.run(command, { timeoutMs: options?.timeout ?? 60_000 }),
      get docker() {
        return transport.docker();
      },
    };
  });

  after(async () => {
    await transport?.close().catch(() => undefined);
    await lab?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists every stress suite with its parameters and defaults', async () => {
    const result = await runCli(['suites', '--json']);
    expect(result.exitCode, result.stderr).to.equal(0);
    const suites = JSON.parse(result.stdout) as { name: string; params: Record<string, { default: unknown; description: string }>; destructive: boolean; tests: string[] }[];
    for (const name of STRESS_SUITES) {
      const suite = suites.find((s) => s.name === name);
      expect(suite, `${name} in gauntlet suites`).to.not.equal(undefined);
      expect(suite!.params.scale, `${name}: scale parameter`).to.include({ default: 'full' });
      expect(suite!.tests.at(-1), `${name}: last test`).to.match(/leaves the host as it found it/);
      // Every parameter a suite reads is documented.
      const source = await readFile(join('suites', `${name}.spec.ts`), 'utf8');
      for (const [, param] of source.matchAll(/\bparams\.(\w+)/g)) expect(suite!.params, `${name} reads params.${param}`).to.have.property(param!);
      for (const [param, doc] of Object.entries(suite!.params)) expect(doc.description, `${name}: ${param}`).to.be.a('string').and.not.equal('');
    }
  });

  it('runs all five at quick scale, records measurements, and exits 0', async () => {
    const initial: HostInventory = await takeInventory(host);
    const out = join(dir, 'out-quick');
    const result = await runCli(['run', '-i', inventory, '--suite', STRESS_SUITES.join(','), '--param', 'scale=quick', '--seed', '7', '--out', out], { timeoutMs: 840_000 });
    expect(result.exitCode, result.stdout + result.stderr).to.equal(0);
    const runDir = await onlyRunDir(out);
    await validateJunit(join(runDir, 'junit.xml'));
    const xml = await readFile(join(runDir, 'junit.xml'), 'utf8');
    const cases = testcases(xml);
    for (const suite of STRESS_SUITES) {
      const own = cases.filter((c) => c.suite === suite);
      expect(own.length, `${suite} test cases`).to.be.at.least(2);
      for (const c of own) expect(c.body, `${suite} > ${c.name}`).to.not.match(/<(failure|error|skipped)\b/);
      // Measurements are properties of the suite's <testsuite>, before its test cases.
      const suiteElement = new RegExp(`<testsuite name="${suite} @ ${lab.hosts[0]!.name}"[\\s\\S]*?(?=<testcase)`).exec(xml)?.[0] ?? '';
      const metrics = [...suiteElement.matchAll(/<property name="gauntlet\.metric\.([^"]+)" value="([^"]*)"/g)];
      expect(metrics.length, `${suite} metrics in the JUnit properties`).to.be.at.least(5);
      expect(metrics.some(([, name]) => /_p99_ms$/.test(name!)), `${suite} records p99 latencies`).to.equal(true);
    }
    const after = await takeInventory(host);
    expect(compareInventories(initial, after), 'the host after the five suites').to.deep.equal([]);
  });

  it('leaves nothing behind when the runner is killed mid-suite and gauntlet clean runs', async () => {
    const start = await takeInventory(host);
    const out = join(dir, 'out-killed');
    const child = spawn(process.execPath, [CLI_PATH, 'run', '-i', inventory, '--suite', 'storage-churn,disk-fill', '--param', 'scale=quick', '--out', out], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Killed once disk-fill's second test has started: its engine, loop filesystem and fill files are in place.
    let runId = '';
    for (let waited = 0; waited < 600_000; waited += 250) {
      const [entry] = await readdir(out).catch(() => []);
      if (entry) {
        runId = entry;
        const journal = await readFile(join(out, entry, 'journal.jsonl'), 'utf8').catch(() => '');
        const started = journal.split('\n').filter((line) => line.includes('"type":"test-start"') && line.includes('"suite":"disk-fill"'));
        if (started.length >= 2) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(runId, 'the run started').to.match(/^\d{8}-\d{6}-[0-9a-f]{4}$/);
    child.kill('SIGKILL');
    await exited;
    const mid = await takeInventory(host);
    expect(compareInventories(start, mid), 'what the killed run left').to.not.deep.equal([]);
    const cleaned = await runCli(['clean', '-i', inventory, '--run', runId]);
    expect(cleaned.exitCode, cleaned.stdout + cleaned.stderr).to.equal(0);
    expect(cleaned.stdout).to.match(/1\/1 hosts clean/);
    const end = await takeInventory(host);
    expect(compareInventories(start, end), 'the host after gauntlet clean').to.deep.equal([]);
  });
});
