// `gauntlet facts` as a user runs it: the built CLI as a child process against real netns sshd hosts and dockerd.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { createNetnsLab, type NetnsLab } from '../helpers/netns-hosts.js';
import { runCli } from '../helpers/cli.js';

const exec = promisify(execFile);

interface FactsEntry {
  host: string;
  id: string;
  reachable: boolean;
  error: string | null;
  stackKey: string | null;
  facts: { kernel: { release: string }; engine: { name: string; version: string; endpoint: string } | null; bootId: string } | null;
}

describe('gauntlet facts (CLI, real hosts)', function () {
  this.timeout(180_000);
  let lab: NetnsLab;
  let dir: string;
  let inventory: string;

  before(async () => {
    lab = await createNetnsLab({ prefix: 'gt-cf', count: 3, subnet: 22 });
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-cli-facts-'));
    inventory = join(dir, 'hosts.yaml');
    await lab.writeInventory(inventory, {
      extraHosts: `dead: {ansible_host: ${lab.deadAddress}, gauntlet_connect_timeout: 3}\nlocalhost: {ansible_connection: local}\n`,
    });
  });

  after(async () => {
    await lab?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('describes three live hosts, the runner and a dead address, and exits 1', async () => {
    const { stdout: dockerVersion } = await exec('docker', ['version', '--format', '{{.Server.Version}}']);
    const result = await runCli(['facts', '--json', '-i', inventory]);
    expect(result.exitCode, result.stderr).to.equal(1);
    const entries = JSON.parse(result.stdout) as FactsEntry[];
    expect(entries.map((entry) => entry.host)).to.deep.equal(['h0', 'h1', 'h2', 'dead', 'localhost']);

    for (const entry of entries.filter((e) => e.host !== 'dead')) {
      expect(entry.reachable, entry.host).to.equal(true);
      expect(entry.error, entry.host).to.equal(null);
      expect(entry.facts!.kernel.release).to.equal(release());
      expect(entry.facts!.engine?.name).to.equal('docker');
      expect(entry.facts!.engine?.version).to.equal(dockerVersion.trim());
      expect(entry.stackKey).to.match(new RegExp(`^debian-12/${release().replace(/\./g, '\\.')}/docker-`));
    }
    const h1 = entries[1]!;
    expect(h1.id).to.equal(`ssh://root@${lab.hosts[1]!.address}:22`);
    expect(h1.facts!.engine!.endpoint).to.equal(`unix:///var/run/docker.sock via ${h1.id}`);
    expect(entries[4]!.id).to.equal('local://localhost');
    expect(entries[4]!.facts!.bootId).to.equal((await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim());

    const dead = entries[3]!;
    expect(dead).to.include({ reachable: false, stackKey: null, facts: null });
    expect(dead.error).to.match(/^connect (ETIMEDOUT \(connection timed out\)|EHOSTUNREACH \(no route to host\)) after \d/);
  });

  it('prints a table naming each host and the unreachable one\'s cause', async () => {
    const result = await runCli(['facts', '-i', inventory, '--limit', 'h0,dead']);
    expect(result.exitCode).to.equal(1);
    const lines = result.stdout.split('\n');
    expect(lines[0]).to.match(/^\s*HOST\s+ID\s+KERNEL\s+ENGINE\s+STACK KEY \/ ERROR/);
    expect(lines.find((line) => line.trim().startsWith('h0'))).to.include(`ssh://root@${lab.hosts[0]!.address}:22`);
    expect(lines.find((line) => line.trim().startsWith('dead'))).to.match(/unreachable: connect E\w+ \(/);
    expect(result.stdout).to.include('1/2 hosts answered');
  });

  it('exits 0 when every selected host answers', async () => {
    const result = await runCli(['facts', '-i', inventory, '--limit', 'h*,!h2']);
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stdout).to.include('2/2 hosts answered');
  });

  it('refuses a host missing from known_hosts unless --accept-new-host-keys is given', async () => {
    const knownHosts = join(dir, 'empty_known_hosts');
    await writeFile(knownHosts, '');
    const strict = join(dir, 'strict.yaml');
    await lab.writeInventory(strict, { knownHosts });
    const refused = await runCli(['facts', '--json', '-i', strict, '--limit', 'h0']);
    expect(refused.exitCode).to.equal(1);
    const [entry] = JSON.parse(refused.stdout) as FactsEntry[];
    expect(entry!.reachable).to.equal(false);
    expect(entry!.error).to.include(`host key for ${lab.hosts[0]!.address} is not in ${knownHosts}`);

    const accepted = await runCli(['facts', '--json', '-i', strict, '--limit', 'h0', '--accept-new-host-keys']);
    expect(accepted.exitCode, accepted.stderr).to.equal(0);
    expect(await readFile(knownHosts, 'utf8')).to.include(lab.hosts[0]!.hostKeyPublic);
    const remembered = await runCli(['facts', '--json', '-i', strict, '--limit', 'h0']);
    expect(remembered.exitCode).to.equal(0);
  });

  it('answers a bad port with the file, line and field, exit 2, and no stack trace', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'all:\n  hosts:\n    db2:\n      ansible_host: 10.213.22.99\n      ansible_port: "22a"\n');
    const result = await runCli(['facts', '-i', bad]);
    expect(result.exitCode).to.equal(2);
    expect(result.stdout).to.equal('');
    expect(result.stderr).to.include(`${bad}:5:21 all.hosts.db2.ansible_port: expected an integer 1-65535, got "22a"`);
    expect(result.stderr).to.not.match(/\n\s+at /);
  });

  it('answers unknown options and a limit that matches nothing with exit 2', async () => {
    const option = await runCli(['facts', '--frobnicate']);
    expect(option.exitCode).to.equal(2);
    expect(option.stderr).to.include("unknown option '--frobnicate'");
    const limit = await runCli(['facts', '-i', inventory, '--limit', 'nosuchhost']);
    expect(limit.exitCode).to.equal(2);
    expect(limit.stderr).to.include('nosuchhost');
    expect(limit.stderr).to.not.match(/\n\s+at /);
  });
});
