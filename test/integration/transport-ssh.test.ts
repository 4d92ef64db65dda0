// The SSH transport against real sshd hosts in network namespaces: commands, timeouts, host keys, loss, jump, docker.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { HostSpec } from '../../src/model/index.js';
import { CommandLostError, SshTransport } from '../../src/transport/index.js';
import { createNetnsLab, type NetnsLab, specForNetnsHost } from '../helpers/netns-hosts.js';

const run = promisify(execFile);

describe('SSH transport (real sshd in network namespaces)', function () {
  this.timeout(120_000);
  let lab: NetnsLab;
  let scratch: string;
  const open: SshTransport[] = [];

  function specFor(index: number, overrides: Partial<HostSpec> = {}): HostSpec {
    return specForNetnsHost(lab, index, overrides);
  }

  async function connected(spec: HostSpec, options = {}): Promise<SshTransport> {
    const transport = new SshTransport(spec, options);
    open.push(transport);
    await transport.connect();
    return transport;
  }

  async function connectError(spec: HostSpec, options = {}): Promise<Error & { code?: string }> {
    const transport = new SshTransport(spec, options);
    open.push(transport);
    try {
      await transport.connect();
    } catch (err) {
      expect(transport.state).to.equal('failed');
      return err as Error & { code?: string };
    }
    throw new Error(`expected connecting to ${spec.id} to fail`);
  }

  before(async () => {
    lab = await createNetnsLab({ prefix: 'gt-tr', count: 3, subnet: 21 });
    scratch = await mkdtemp(join(tmpdir(), 'gauntlet-transport-'));
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((transport) => transport.close()));
  });

  after(async () => {
    await lab?.teardown();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('runs commands in the host\'s own namespace with exit codes, stderr, stdin and env', async () => {
    const transport = await connected(specFor(1));
    expect(transport.state).to.equal('ready');
    const where = await transport.run('ip -4 -o addr show eth0');
    expect(where.exitCode).to.equal(0);
    expect(where.stdout).to.include(`${lab.hosts[1]!.address}/24`);

    const failing = await transport.run('echo out; echo err >&2; exit 7');
    expect(failing).to.include({ stdout: 'out\n', stderr: 'err\n', exitCode: 7, signal: null, timedOut: false });

    const piped = await transport.run('tr a-z A-Z', { stdin: 'shout' });
    expect(piped.stdout).to.equal('SHOUT');

    const env = await transport.run('printf %s "$GREETING"', { env: { GREETING: "it's a test" } });
    expect(env.stdout).to.equal("it's a test");
  });

  it('streams output as it arrives and keeps many channels on one connection', async () => {
    const transport = await connected(specFor(0));
    const chunks: string[] = [];
    const streamed = await transport.run('for i in 1 2 3; do echo line$i; sleep 0.2; done', {
      onStdout: (chunk) => chunks.push(chunk.toString()),
    });
    expect(chunks.join('')).to.equal('line1\nline2\nline3\n');
    expect(chunks.length).to.be.greaterThan(1);
    expect(streamed.stdout).to.equal('line1\nline2\nline3\n');

    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => transport.run(`echo ${i}`)));
    expect(results.map((result) => result.stdout.trim())).to.deep.equal(Array.from({ length: 30 }, (_, i) => String(i)));
  });

  it('ends a timed-out command\'s whole process group on the host', async () => {
    const transport = await connected(specFor(0));
    const seconds = 300 + (process.pid % 500);
    const result = await transport.run(`sh -c 'sleep ${seconds}; echo done' & sleep ${seconds}`, { timeoutMs: 500 });
    expect(result.timedOut).to.equal(true);
    expect(result.isTerminated).to.equal(true);
    expect(result.exitCode).to.equal(null);
    // Every process of that command is gone. The bracket keeps pgrep from matching this probe's own command line.
    const survivors = await transport.run(`for i in 1 2 3 4 5; do pgrep -f 'slee[p] ${seconds}' || break; sleep 0.5; done`);
    expect(survivors.stdout.trim()).to.equal('');
    const after = await transport.run('echo still-usable');
    expect(after.stdout).to.equal('still-usable\n');
  });

  it('uploads files and buffers', async () => {
    const transport = await connected(specFor(2));
    const local = join(scratch, 'payload.bin');
    await writeFile(local, Buffer.from([0, 1, 2, 255]));
    await transport.upload(local, join(scratch, 'uploaded.bin'));
    await transport.upload(Buffer.from('from a buffer'), join(scratch, 'uploaded.txt'));
    expect([...(await readFile(join(scratch, 'uploaded.bin')))]).to.deep.equal([0, 1, 2, 255]);
    expect(await readFile(join(scratch, 'uploaded.txt'), 'utf8')).to.equal('from a buffer');
    let refused: Error | undefined;
    try {
      await transport.upload(Buffer.from('x'), '/nonexistent-dir/file');
    } catch (err) {
      refused = err as Error;
    }
    expect(refused?.message).to.match(/upload to .*nonexistent-dir\/file failed/);
  });

  it('talks to the host\'s docker engine over the same SSH connection', async () => {
    const transport = await connected(specFor(1));
    const { stdout } = await run('docker', ['version', '--format', '{{.Server.Version}}']);
    const version = await transport.docker().version();
    expect(version.Version).to.equal(stdout.trim());
    expect(transport.dockerEndpoint()).to.equal(`unix:///var/run/docker.sock via ssh://root@${lab.hosts[1]!.address}:22`);
  });

  it('reports nothing at the address with the errno in words and the time spent', async () => {
    const err = await connectError(specFor(0, { address: lab.deadAddress, connectTimeoutS: 2 }));
    expect(err.code).to.equal('HOST_UNREACHABLE');
    expect(err.message).to.match(/^connect (ETIMEDOUT \(connection timed out\)|EHOSTUNREACH \(no route to host\)) after \d+(\.\d)? s$/);
  });

  it('reports a port that accepts TCP but never speaks SSH', async () => {
    const silent = await lab.silentHost();
    const err = await connectError(specFor(0, { address: silent.address, connectTimeoutS: 2 }));
    expect(err.code).to.equal('HOST_UNREACHABLE');
    expect(err.message).to.match(/^no SSH banner after \d\.\d s: the port accepts TCP but nothing speaks SSH there$/);
  });

  it('refuses a host missing from known_hosts unless told to accept new keys, then remembers it', async () => {
    const knownHosts = join(scratch, 'known_hosts_new');
    await rm(knownHosts, { force: true });
    const spec = specFor(2, { knownHostsFile: knownHosts });
    const refused = await connectError(spec);
    expect(refused.code).to.equal('HOST_KEY_UNKNOWN');
    expect(refused.message).to.include(`host key for ${lab.hosts[2]!.address} is not in ${knownHosts}`);
    expect(refused.message).to.include('--accept-new-host-keys');

    await connected(spec, { acceptNewHostKeys: true });
    const recorded = await readFile(knownHosts, 'utf8');
    expect(recorded.trim()).to.equal(`${lab.hosts[2]!.address} ${lab.hosts[2]!.hostKeyPublic}`);

    const again = await connected(spec);
    expect(again.state).to.equal('ready');
  });

  it('refuses a changed host key even when accepting new ones', async () => {
    await lab.rotateHostKey('h2');
    try {
      for (const options of [{}, { acceptNewHostKeys: true }]) {
        const err = await connectError(specFor(2), options);
        expect(err.code).to.equal('HOST_KEY_CHANGED');
        expect(err.message).to.match(/host key for \S+ has CHANGED: the host presents ssh-ed25519 key SHA256:\S+ but .*known_hosts:\d+ has SHA256:/);
      }
    } finally {
      // Other tests use h2 with the original known_hosts: put its first key back.
      await lab.teardown();
      lab = await createNetnsLab({ prefix: 'gt-tr', count: 3, subnet: 21 });
    }
  });

  it('fails authentication with a clear message when the key is not authorised', async () => {
    const otherKey = join(scratch, 'other_key');
    await rm(otherKey, { force: true });
    await run('ssh-keygen', ['-t', 'ed25519', '-N', '', '-q', '-f', otherKey]);
    const err = await connectError(specFor(0, { keyFile: otherKey }), { agentSocket: '' });
    expect(err.code).to.equal('AUTH_FAILED');
    expect(err.message).to.equal('authentication failed for user root (every key and the agent were refused)');
  });

  it('rejects a running command with LOST_CONNECTION when the host dies, keeping its partial output', async () => {
    const transport = await connected(specFor(0));
    const lostEvents: Error[] = [];
    transport.onLost((err) => lostEvents.push(err));
    // Settled into a value at once: the rejection arrives while the test is still stopping the host.
    const outcome = transport.run('echo started; sleep 120').then(
      () => null,
      (err: unknown) => err,
    );
    await new Promise((resolve) => setTimeout(resolve, 700));
    let lost: unknown;
    try {
      await lab.stopSshd('h0');
      lost = await outcome;
    } finally {
      await lab.startSshd('h0');
    }
    expect(lost).to.be.instanceOf(CommandLostError);
    expect((lost as CommandLostError).code).to.equal('LOST_CONNECTION');
    expect((lost as CommandLostError).result.stdout).to.equal('started\n');
    expect(transport.state).to.equal('lost');
    expect(lostEvents).to.have.length(1);
    let notConnected: { code?: string } | undefined;
    try {
      await transport.run('true');
    } catch (err) {
      notConnected = err as { code?: string };
    }
    expect(notConnected?.code).to.equal('LOST_CONNECTION');
  });

  it('reaches a host through a jump host', async () => {
    const spec = specFor(2, {
      jump: { address: lab.hosts[0]!.address, port: 22, user: 'root', keyFile: lab.clientKeyPath },
    });
    const transport = await connected(spec);
    const where = await transport.run('ip -4 -o addr show eth0');
    expect(where.stdout).to.include(`${lab.hosts[2]!.address}/24`);
    // The TCP connection to h2 comes from h0, not from the runner's bridge address.
    const peer = await transport.run('echo "$SSH_CONNECTION"');
    expect(peer.stdout.split(' ')[0]).to.equal(lab.hosts[0]!.address);
  });
});
