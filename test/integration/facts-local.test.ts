// Tests gatherFacts and the probes on this machine through the real LocalTransport and the real local dockerd.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { expect } from 'chai';
import {
  backingFsProbe,
  dockerSocketProbe,
  gatherFacts,
  parseDockerInfo,
  parseOsRelease,
  parseRuntimeVersion,
  probeDockerEngine,
  runProbe,
  runtimeVersionProbe,
  stackKeyOf,
} from '../../src/facts/index.js';
import { GauntletError, type HostSpec } from '../../src/model/index.js';
import { LocalTransport } from '../../src/transport/local.js';

const DOCKER_SOCKET = '/var/run/docker.sock';

function buildLocalHost(dockerSocket = DOCKER_SOCKET): HostSpec {
  return {
    name: 'localhost',
    id: 'local://localhost',
    connection: 'local',
    address: 'localhost',
    port: 0,
    user: os.userInfo().username,
    groups: ['all'],
    labels: {},
    disposable: false,
    connectTimeoutS: 10,
    keepaliveIntervalS: 0,
    keepaliveCountMax: 3,
    heartbeatIntervalS: 2,
    heartbeatTimeoutS: 5,
    dockerSocket,
    vars: {},
  };
}

async function connectLocal(dockerSocket = DOCKER_SOCKET): Promise<LocalTransport> {
  const transport = new LocalTransport(buildLocalHost(dockerSocket));
  await transport.connect();
  return transport;
}

/** Runs the real docker CLI against the same daemon, as an independent witness. */
function askDockerCli(format: string): string {
  return execFileSync('docker', ['--host', `unix://${DOCKER_SOCKET}`, 'version', '--format', format], { encoding: 'utf8' }).trim();
}

function isOnPath(command: string): boolean {
  return execFileSync('/bin/sh', ['-c', `command -v ${command} || true`], { encoding: 'utf8' }).trim() !== '';
}

describe('facts on the local host (LocalTransport + real dockerd)', () => {
  let transport: LocalTransport;

  before(async () => {
    if (!existsSync(DOCKER_SOCKET)) {
      throw new Error(`dockerd is not running: ${DOCKER_SOCKET} is missing. Start it (e.g. \`dockerd >/tmp/dockerd.log 2>&1 &\`) before the integration tests.`);
    }
    transport = await connectLocal();
  });

  after(async () => {
    await transport?.close();
  });

  it('gathers facts that match what this machine says of itself', async () => {
    const facts = await gatherFacts(transport);

    expect(facts.probeErrors).to.deep.equal({});
    expect(facts.distro).to.deep.equal(parseOsRelease(readFileSync('/etc/os-release', 'utf8')));
    expect(facts.kernel.release).to.equal(os.release());
    expect(facts.kernel.cmdline).to.equal(readFileSync('/proc/cmdline', 'utf8').trim());
    expect(facts.bootId).to.equal(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(facts.hardware.arch).to.equal(execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim());
    expect(facts.hardware.cpus).to.equal(os.availableParallelism());
    expect(facts.hardware.memTotalBytes).to.equal(os.totalmem());
    expect(facts.init.pid1).to.equal(readFileSync('/proc/1/comm', 'utf8').trim());

    const cgroupFsType = execFileSync('stat', ['-f', '-c', '%T', '/sys/fs/cgroup'], { encoding: 'utf8' }).trim();
    expect(facts.cgroup.version).to.equal(cgroupFsType === 'cgroup2fs' ? 2 : 1);

    expect(facts.engine).to.not.equal(null);
    expect(facts.engine?.name).to.equal('docker');
    expect(facts.engine?.version).to.equal(askDockerCli('{{.Server.Version}}'));
    expect(facts.engine?.apiVersion).to.equal(askDockerCli('{{.Server.APIVersion}}'));
    expect(facts.engine?.endpoint).to.equal(`unix://${DOCKER_SOCKET}`);
    expect(facts.engine?.daemonId).to.equal(
      execFileSync('docker', ['--host', `unix://${DOCKER_SOCKET}`, 'info', '--format', '{{.ID}}'], { encoding: 'utf8' }).trim(),
    );
    expect(facts.engine?.kernelVersion).to.equal(os.release());
    expect(facts.storage?.dataRoot).to.equal(
      execFileSync('docker', ['--host', `unix://${DOCKER_SOCKET}`, 'info', '--format', '{{.DockerRootDir}}'], { encoding: 'utf8' }).trim(),
    );
    expect(facts.runtime?.name).to.be.a('string').and.not.equal('');
    expect(facts.runtime?.version).to.be.a('string').and.not.equal('');

    expect(facts.runner).to.not.equal(undefined);
    expect(facts.runner?.hostname).to.equal(os.hostname());
    expect(facts.runner?.node).to.equal(process.version);
    expect(facts.runner?.gauntlet).to.match(/^\d+\.\d+\.\d+/);
    expect(facts.runner?.cpus).to.equal(os.cpus().length);

    expect(Date.parse(facts.gatheredAt)).to.be.closeTo(Date.now(), 60_000);
    expect(facts.durationMs).to.be.within(0, 60_000);

    const key = stackKeyOf(facts);
    expect(key.startsWith(`debian-12/${os.release()}/`), key).to.equal(true);
    expect(key).to.equal(
      `debian-12/${os.release()}/docker-${askDockerCli('{{.Server.Version}}')}/${facts.storage?.driver}/${facts.storage?.backingFs}/cgroup${facts.cgroup.version}`,
    );
  });

  it('reads the engine through transport.docker() as the docker CLI reports it', async () => {
    const report = await probeDockerEngine(transport);
    const infoJson = execFileSync('docker', ['--host', `unix://${DOCKER_SOCKET}`, 'system', 'info', '--format', '{{json .}}'], { encoding: 'utf8' });
    const info = JSON.parse(infoJson) as Record<string, unknown>;
    expect(report?.storage.driver).to.equal(info.Driver);
    expect(report?.engine.daemonName).to.equal(info.Name);
    expect(report?.engine.version).to.equal(info.ServerVersion);
    // The CLI's JSON keeps the API's field names, so the parser reads it too.
    expect(parseDockerInfo(info, { Version: info.ServerVersion }).storage).to.deep.equal(report?.storage);
  });

  it('probes the runtime version from the binary as `--version` prints it', async () => {
    const version = await runProbe(transport, runtimeVersionProbe({ name: 'runc' }));
    const printed = execFileSync('/bin/sh', ['-c', 'PATH="$PATH:/usr/sbin:/sbin" runc --version'], { encoding: 'utf8' });
    expect(version).to.equal(parseRuntimeVersion(printed).version);
  });

  it("names the data root's filesystem as docker names it", async () => {
    const facts = await gatherFacts(transport);
    const statName = await runProbe(transport, backingFsProbe(facts.storage?.dataRoot ?? '/'));
    expect(statName).to.equal(facts.storage?.backingFs);
  });

  it('tells whether the engine socket exists, whatever the transport', async () => {
    expect(await runProbe(transport, dockerSocketProbe(DOCKER_SOCKET))).to.equal(true);
    expect(await runProbe(transport, dockerSocketProbe("/nonexistent/it's here/docker.sock"))).to.equal(false);
    // A regular file is not a socket.
    expect(await runProbe(transport, dockerSocketProbe('/etc/os-release'))).to.equal(false);
  });

  it('records a missing engine socket as a fact, not an error (podman answers when it is installed)', async () => {
    const noDocker = await connectLocal('/nonexistent/gauntlet-test/docker.sock');
    try {
      expect(await probeDockerEngine(noDocker)).to.equal(null);
      const facts = await gatherFacts(noDocker);
      expect(facts.probeErrors).to.not.have.property('engine');
      if (isOnPath('podman')) {
        expect(facts.engine?.name).to.equal('podman');
        expect(facts.engine?.endpoint).to.equal('podman info via local://localhost');
        expect(stackKeyOf(facts)).to.match(/\/podman-[^/]+\/overlay\/[^/]+\/cgroup[12]$/);
      } else {
        expect(facts.engine).to.equal(null);
        expect(facts.storage).to.equal(null);
        expect(facts.runtime).to.equal(null);
        expect(stackKeyOf(facts)).to.match(/\/none\/none\/none\/cgroup[12]$/);
      }
    } finally {
      await noDocker.close();
    }
  });

  it('keeps partial facts with reasons when probes time out', async () => {
    const facts = await gatherFacts(transport, { probeTimeoutMs: 1, concurrency: 2 });
    const reasons = Object.entries(facts.probeErrors);
    expect(reasons.length).to.be.greaterThan(0);
    for (const [fact, reason] of reasons) {
      expect(reason, fact).to.match(/timed out after 0\.0 s|did not answer within 0\.0 s/);
    }
    // The runner description does not depend on the host's probes.
    expect(facts.runner?.node).to.equal(process.version);
  });

  it('rejects with NOT_CONNECTED on a transport that was never connected', async () => {
    const idle = new LocalTransport(buildLocalHost());
    let caught: unknown;
    try {
      await gatherFacts(idle);
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(GauntletError);
    expect((caught as GauntletError).code).to.equal('NOT_CONNECTED');
  });
});
