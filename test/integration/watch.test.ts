// Host watches against real sshd hosts in network namespaces: kernel log, consoles, heartbeat, loss and return.
//
// The namespaces share this machine's kernel, so the kernel log read through a host is the real one: markers are
// written to /dev/kmsg and must come back as console-style lines, while markers from before start() must not.

import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { appendFile, mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import type { ConsoleSpec, HostSpec } from '../../src/model/index.js';
import { SshTransport } from '../../src/transport/index.js';
import { buildNetconsoleRemoveScript, buildNetconsoleSetupScript, createHostWatch, KERNEL_LOG_SCRIPT } from '../../src/watch/index.js';
import type { HeartbeatReport, HostWatch, HostWatchOptions, WatchNote, WatchText } from '../../src/watch/index.js';
import { createNetnsLab, type NetnsLab, specForNetnsHost } from '../helpers/netns-hosts.js';

/** How long a test waits for something that should happen; reaching it fails the test, it asserts no speed. */
const WAIT_MS = 30_000;

/** Everything a watch delivered, with a way to wait for what a test expects. */
class Recorder {
  readonly texts: WatchText[] = [];
  readonly beats: HeartbeatReport[] = [];
  readonly notes: WatchNote[] = [];

  get callbacks(): Pick<HostWatchOptions, 'onText' | 'onHeartbeat' | 'onNote'> {
    return {
      onText: (text) => this.texts.push(text),
      onHeartbeat: (report) => this.beats.push(report),
      onNote: (note) => this.notes.push(note),
    };
  }

  /** All text of one source (and via, when given), joined. */
  textOf(source: WatchText['source'], via?: string): string {
    return this.texts
      .filter((t) => t.source === source && (via === undefined || t.via === via))
      .map((t) => t.text)
      .join('');
  }

  async waitFor<T>(what: string, probe: () => T | undefined | false): Promise<T> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const found = probe();
      if (found !== undefined && found !== false) return found;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; beats ${JSON.stringify(this.beats)}; notes ${JSON.stringify(this.notes)}`);
      }
      await sleep(50);
    }
  }

  waitForText(source: WatchText['source'], pattern: RegExp, via?: string): Promise<string> {
    return this.waitFor(`${source} text matching ${pattern}`, () => pattern.exec(this.textOf(source, via))?.[0]);
  }

  waitForBeat(state: HeartbeatReport['state'], after = 0): Promise<HeartbeatReport> {
    return this.waitFor(`a '${state}' heartbeat`, () => this.beats.slice(after).find((b) => b.state === state));
  }

  waitForNote(pattern: RegExp): Promise<WatchNote> {
    return this.waitFor(`a note matching ${pattern}`, () => this.notes.find((n) => pattern.test(n.message)));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Writes one line to the kernel log (the kernel is shared with every lab host). */
async function writeKernelMarker(text: string): Promise<void> {
  await writeFile('/dev/kmsg', `${text}\n`);
}

/** `[  123.456789] text` as a whole line. */
function kernelLine(text: string): RegExp {
  return new RegExp(`^\\[\\s*\\d+\\.\\d{6}\\] ${text}\\n`, 'm');
}

/** PIDs whose network namespace is `ns`. */
async function listNamespacePids(ns: string): Promise<number[]> {
  const target = `net:[${(await stat(join('/run/netns', ns))).ino}]`;
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if ((await readlink(`/proc/${entry}/ns/net`)) === target) pids.push(Number(entry));
    } catch {
      // Exited meanwhile.
    }
  }
  return pids;
}

/** A UDP port nothing listens on right now. */
async function findFreeUdpPort(address: string): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe('host watch (real sshd in network namespaces)', function () {
  this.timeout(120_000);
  let lab: NetnsLab;
  let scratch: string;
  let hostBootId: string;
  const watches: HostWatch[] = [];
  const transports: SshTransport[] = [];

  function specFor(index: number, overrides: Partial<HostSpec> = {}): HostSpec {
    return specForNetnsHost(lab, index, { heartbeatIntervalS: 0.5, heartbeatTimeoutS: 3, ...overrides });
  }

  async function connectTo(spec: HostSpec): Promise<SshTransport> {
    const transport = new SshTransport(spec);
    transports.push(transport);
    await transport.connect();
    return transport;
  }

  function watchHost(spec: HostSpec, recorder: Recorder, options: Partial<HostWatchOptions> = {}): HostWatch {
    const watch = createHostWatch({ host: spec, connect: () => connectTo(spec), ...recorder.callbacks, ...options });
    watches.push(watch);
    return watch;
  }

  before(async () => {
    lab = await createNetnsLab({ prefix: 'gt-wa', count: 3, subnet: 70 });
    scratch = await mkdtemp(join(tmpdir(), 'gauntlet-watch-'));
    hostBootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  });

  afterEach(async () => {
    await Promise.all(watches.splice(0).map((watch) => watch.stop()));
    await Promise.all(transports.splice(0).map((transport) => transport.close()));
  });

  after(async () => {
    await lab?.teardown();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  describe('kernel log', () => {
    it('delivers new kernel messages as console lines, never the ones from before start', async () => {
      const id = randomUUID();
      await writeKernelMarker(`gauntlet-watch-before-${id}`);
      const recorder = new Recorder();
      const watch = watchHost(specFor(0), recorder);
      await watch.start();

      // Written on the host, over a connection of its own, with a tab the kernel escapes in /dev/kmsg.
      const other = await connectTo(specFor(0));
      const wrote = await other.run(`printf 'gauntlet-watch-after-${id}\\ttabbed\\n' > /dev/kmsg`);
      expect(wrote.exitCode).to.equal(0);

      await recorder.waitForText('kmsg', kernelLine(`gauntlet-watch-after-${id}\ttabbed`));
      const kmsg = recorder.texts.filter((t) => t.source === 'kmsg');
      expect(kmsg.map((t) => t.via)).to.satisfy((vias: string[]) => vias.every((via) => via === '/dev/kmsg'));
      for (const text of kmsg) expect(text.text).to.match(/^(\[\s*\d+\.\d{6}\] [^\n]*\n)+$/);
      // Records arrive in order, so the earlier marker would have come first.
      expect(recorder.textOf('kmsg')).not.to.include(`gauntlet-watch-before-${id}`);
      expect(recorder.notes.filter((n) => n.level === 'warn')).to.deep.equal([]);
    });

    it('restarts a kernel log reader that ended, without repeating or losing messages', async () => {
      const id = randomUUID();
      const recorder = new Recorder();
      const watch = watchHost(specFor(2), recorder);
      await watch.start();
      await writeKernelMarker(`gauntlet-watch-first-${id}`);
      await recorder.waitForText('kmsg', kernelLine(`gauntlet-watch-first-${id}`));

      // The reader on the host is a process of our own lab's namespace: end it as a wrapped buffer would.
      const readers: number[] = [];
      for (const pid of await listNamespacePids(lab.hosts[2]!.ns)) {
        const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
        if (argv[0] === 'cat' && argv[1] === '/dev/kmsg') readers.push(pid);
      }
      expect(readers).to.have.length(1);
      process.kill(readers[0]!, 'SIGKILL');
      await recorder.waitForNote(/kernel log stream \(\/dev\/kmsg\) ended: killed by SIGKILL; restarting/);
      await writeKernelMarker(`gauntlet-watch-second-${id}`);
      await recorder.waitForText('kmsg', kernelLine(`gauntlet-watch-second-${id}`));
      expect(recorder.textOf('kmsg').split(`gauntlet-watch-first-${id}`)).to.have.length(2);
    });

    it('reports ok heartbeats with the host\'s boot id', async () => {
      const recorder = new Recorder();
      const watch = watchHost(specFor(0), recorder);
      await watch.start();
      const ok = await recorder.waitForBeat('ok');
      expect(ok.bootId).to.equal(hostBootId);
      expect(ok.latencyMs).to.be.a('number');
      expect(watch.bootId).to.equal(hostBootId);
    });

    it('falls back through journalctl and dmesg, and says why none works for a user without access', async function () {
      if ((await readFile('/proc/sys/kernel/dmesg_restrict', 'utf8')).trim() !== '1') this.skip();
      const result = await execa('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '/bin/sh', '-c', KERNEL_LOG_SCRIPT], { reject: false, timeout: 20_000 });
      const lines = result.stdout.split('\n');
      expect(lines[0]).to.match(/^@gauntlet-kmsg-skip \/dev\/kmsg: Operation not permitted$/);
      expect(lines.slice(1, -1).join('\n')).to.match(/^@gauntlet-kmsg-skip journalctl: .+\n@gauntlet-kmsg-skip dmesg: .+$/);
      expect(lines.at(-1)).to.equal('@gauntlet-kmsg-none');
    });
  });

  describe('consoles', () => {
    it('follows a console file from its end through appends, truncation and replacement', async () => {
      const file = join(scratch, 'serial.log');
      await writeFile(file, 'old boot output\n');
      const recorder = new Recorder();
      const via = `file:${file}`;
      await watchHost(specFor(1, { console: { kind: 'file', path: file } }), recorder).start();

      await appendFile(file, 'appended one\n');
      await recorder.waitForText('console', /appended one\n/, via);
      await truncate(file, 0);
      await recorder.waitForNote(/was truncated/);
      await appendFile(file, 'after truncation\n');
      await recorder.waitForText('console', /after truncation\n/, via);

      const replacement = join(scratch, 'serial.log.new');
      await writeFile(replacement, 'replacement file\n');
      await rename(replacement, file);
      await recorder.waitForText('console', /replacement file\n/, via);
      expect(recorder.textOf('console', via)).to.equal('appended one\nafter truncation\nreplacement file\n');
      expect(recorder.textOf('console')).not.to.include('old boot output');
    });

    it('reads a console file that appears after start from its beginning', async () => {
      const file = join(scratch, 'later.log');
      const recorder = new Recorder();
      await watchHost(specFor(1, { console: { kind: 'file', path: file } }), recorder).start();
      await recorder.waitForNote(/does not exist yet/);
      await writeFile(file, 'first line of a new file\n');
      await recorder.waitForText('console', /first line of a new file\n/, `file:${file}`);
    });

    it('notes a console file it cannot read, and carries on', async () => {
      const recorder = new Recorder();
      const watch = watchHost(specFor(1, { console: { kind: 'file', path: scratch } }), recorder);
      await watch.start();
      const note = await recorder.waitForNote(/cannot be read/);
      expect(note).to.include({ level: 'warn', message: `console file ${scratch} cannot be read: it is not a regular file but a directory (read a device with a command: console)` });
      await recorder.waitForBeat('ok');
      // Said once, not at every poll.
      await sleep(1000);
      expect(recorder.notes.filter((n) => /cannot be read/.test(n.message))).to.have.length(1);
    });

    it('listens for netconsole datagrams, from the runner and from a host', async () => {
      const port = await findFreeUdpPort(lab.bridgeAddress);
      const spec = specFor(1, { console: { kind: 'netconsole', port, bind: lab.bridgeAddress } });
      const recorder = new Recorder();
      await watchHost(spec, recorder).start();

      const sender = createSocket('udp4');
      await new Promise<void>((resolve, reject) => sender.send('[  12.000001] from the runner\n', port, lab.bridgeAddress, (err) => (err ? reject(err) : resolve())));
      sender.close();
      await recorder.waitForText('console', /from the runner\n/, `netconsole:${port}`);

      const host = await connectTo(specFor(1));
      const sent = await host.run(`bash -c 'printf "%s\\n" "[  12.000002] from the host" > /dev/udp/${lab.bridgeAddress}/${port}'`);
      expect(sent.exitCode).to.equal(0);
      await recorder.waitForText('console', /from the host\n/, `netconsole:${port}`);

      // A second listener on the same port is a warning, not a failure.
      const second = new Recorder();
      await watchHost(specFor(2, { console: { kind: 'netconsole', port, bind: lab.bridgeAddress } }), second).start();
      expect((await second.waitForNote(/cannot bind/)).level).to.equal('warn');
    });

    it('runs a console command, delivers its output, and ends it on stop', async () => {
      const seconds = `30.${process.pid}`;
      const recorder = new Recorder();
      const watch = watchHost(specFor(1, { console: { kind: 'command', command: `printf 'a\\nb\\n'; sleep ${seconds}` } }), recorder);
      await watch.start();
      await recorder.waitForText('console', /^a\nb\n$/, 'command');
      const running = await execa('pgrep', ['-f', `^sleep ${seconds}$`], { reject: false });
      expect(running.stdout.trim()).not.to.equal('');
      await watch.stop();
      await watch.stop();
      const left = await execa('pgrep', ['-f', `^sleep ${seconds}$`], { reject: false });
      expect(left.stdout.trim()).to.equal('');
    });

    it('restarts a console command that exits', async () => {
      const recorder = new Recorder();
      await watchHost(specFor(1, { console: { kind: 'command', command: 'echo console-run' } }), recorder).start();
      await recorder.waitForNote(/console command exited with status 0; restarting it/);
      await recorder.waitForText('console', /(console-run\n){2}/, 'command');
    });

    it('reads a QEMU console socket and reconnects when QEMU restarts', async () => {
      const path = join(scratch, 'qemu-serial.sock');
      const clients: Socket[] = [];
      const serve = async (): Promise<Server> => {
        const server = createServer((client) => {
          clients.push(client);
          client.on('error', () => undefined);
        });
        await new Promise<void>((resolve) => server.listen(path, resolve));
        return server;
      };
      let server = await serve();
      const recorder = new Recorder();
      await watchHost(specFor(1, { console: { kind: 'qemu', path } }), recorder).start();
      await recorder.waitFor('the watch to connect', () => clients.length === 1);
      clients[0]!.write('first qemu boot\n');
      await recorder.waitForText('console', /first qemu boot\n/, `qemu:${path}`);

      // QEMU exits and starts again on the same path.
      clients[0]!.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(path, { force: true });
      server = await serve();
      await recorder.waitFor('the watch to connect again', () => clients.length === 2);
      clients[1]!.write('second qemu boot\n');
      await recorder.waitForText('console', /second qemu boot\n/, `qemu:${path}`);
      clients[1]!.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('follows a QEMU console that is a file', async () => {
      const path = join(scratch, 'qemu-serial.log');
      await writeFile(path, 'earlier run\n');
      const recorder = new Recorder();
      await watchHost(specFor(1, { console: { kind: 'qemu', path } }), recorder).start();
      await appendFile(path, 'this run\n');
      await recorder.waitForText('console', /this run\n/, `qemu:${path}`);
      expect(recorder.textOf('console')).to.equal('this run\n');
    });
  });

  describe('netconsole configuration script', () => {
    it('points a target at the runner with the device, addresses and next-hop MAC the host sees', async () => {
      const parent = join(scratch, 'netconsole');
      await mkdir(parent, { recursive: true });
      const dir = join(parent, 'gauntlet-test');
      const host = await connectTo(specFor(1));
      const result = await host.run(buildNetconsoleSetupScript({ dir, port: 6666 }));
      expect(result.stderr).to.equal('');
      expect(result.exitCode).to.equal(0);
      const [link] = JSON.parse((await execa('ip', ['-j', 'link', 'show', 'gt-wa-br'])).stdout) as Array<{ address: string }>;
      const read = async (name: string): Promise<string> => (await readFile(join(dir, name), 'utf8')).trim();
      expect({
        dev_name: await read('dev_name'),
        local_ip: await read('local_ip'),
        remote_ip: await read('remote_ip'),
        remote_port: await read('remote_port'),
        remote_mac: await read('remote_mac'),
        enabled: await read('enabled'),
      }).to.deep.equal({
        dev_name: 'eth0',
        local_ip: lab.hosts[1]!.address,
        remote_ip: lab.bridgeAddress,
        remote_port: '6666',
        remote_mac: link!.address,
        enabled: '1',
      });
      expect(result.stdout).to.equal(`@gauntlet-netconsole eth0 ${lab.hosts[1]!.address} ${lab.bridgeAddress} ${link!.address}\n`);

      const removeMissing = await host.run(buildNetconsoleRemoveScript(join(parent, 'gauntlet-absent')));
      expect(removeMissing.exitCode).to.equal(0);
    });

    it('fails with the reason, and leaves nothing behind, when the runner is unreachable from the host', async () => {
      const parent = join(scratch, 'netconsole-unreachable');
      await mkdir(parent, { recursive: true });
      const host = await connectTo(specFor(1));
      const result = await host.run(buildNetconsoleSetupScript({ dir: join(parent, 'gauntlet-x'), port: 6666, remoteIp: '192.0.2.77' }));
      expect(result.exitCode).to.equal(1);
      expect(result.stderr).to.match(/^ip route get 192\.0\.2\.77: .*unreachable/im);
      expect(await readdir(parent)).to.deep.equal([]);
    });
  });

  describe('liveness', () => {
    it('reports stalled while the watch connection\'s sshd is stopped, and ok once it runs again', async () => {
      // Long keepalives, so the stopped server is stalled rather than lost.
      const spec = specFor(2, { keepaliveIntervalS: 120, heartbeatIntervalS: 0.3, heartbeatTimeoutS: 1 });
      const recorder = new Recorder();
      const watch = watchHost(spec, recorder);
      await watch.start();
      await recorder.waitForBeat('ok');
      // The watch is the only connection to h2: every process in its namespace but the listener serves it.
      const sessions = (await listNamespacePids(lab.hosts[2]!.ns)).filter((pid) => pid !== lab.hosts[2]!.pid);
      expect(sessions).to.not.deep.equal([]);
      const signalled = recorder.beats.length;
      for (const pid of sessions) process.kill(pid, 'SIGSTOP');
      try {
        const stalled = await recorder.waitForBeat('stalled', signalled);
        expect(stalled.error).to.match(/no answer to the heartbeat within 1\.0 s/);
      } finally {
        for (const pid of sessions) process.kill(pid, 'SIGCONT');
      }
      const resumed = recorder.beats.length;
      const ok = await recorder.waitForBeat('ok', resumed);
      expect(ok.bootId).to.equal(hostBootId);
      expect(recorder.beats.slice(signalled).map((b) => b.state)).to.not.include('lost');
    });

    it('reports lost when sshd dies, waits for it, and resumes the kernel log on the same boot', async () => {
      const id = randomUUID();
      const recorder = new Recorder();
      const watch = watchHost(specFor(2), recorder);
      await watch.start();
      await recorder.waitForBeat('ok');

      await lab.stopSshd('h2');
      try {
        const lost = await recorder.waitForBeat('lost');
        expect(lost.error).to.be.a('string').and.not.equal('');
        expect(lost.bootId).to.equal(hostBootId);
        expect(await watch.waitUntilBack(1000)).to.equal(false);
        expect((await recorder.waitForNote(/not back within 1\.0 s; last attempt: .*refused/)).level).to.equal('info');
        // Said by the kernel while the watch could not listen.
        await writeKernelMarker(`gauntlet-watch-outage-${id}`);
      } finally {
        await lab.startSshd('h2');
      }
      expect(await watch.waitUntilBack(30_000)).to.equal(true);
      const back = await recorder.waitForBeat('back');
      expect(back).to.include({ bootId: hostBootId, rebooted: false });
      expect(watch.bootId).to.equal(hostBootId);
      await recorder.waitForText('kmsg', kernelLine(`gauntlet-watch-outage-${id}`));

      await writeKernelMarker(`gauntlet-watch-after-back-${id}`);
      await recorder.waitForText('kmsg', kernelLine(`gauntlet-watch-after-back-${id}`));
    });

    it('answers waitUntilBack true, without reconnecting, for a host that never went away', async () => {
      const recorder = new Recorder();
      const watch = watchHost(specFor(0), recorder);
      await watch.start();
      expect(await watch.waitUntilBack(10_000)).to.equal(true);
      expect(recorder.beats.map((b) => b.state)).to.not.include.members(['lost', 'back']);
    });

    it('rejects start when the watch connection cannot be opened', async () => {
      const recorder = new Recorder();
      const spec = specFor(0, { address: lab.deadAddress, id: `ssh://root@${lab.deadAddress}:22`, connectTimeoutS: 1 });
      const watch = watchHost(spec, recorder);
      const err = await watch.start().then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(err?.code).to.equal('HOST_UNREACHABLE');
      await watch.stop();
      expect(recorder.beats).to.deep.equal([]);
    });

    it('stops everything: no more callbacks, the UDP port is free again', async () => {
      const port = await findFreeUdpPort('127.0.0.1');
      const console: ConsoleSpec = { kind: 'netconsole', port, bind: '127.0.0.1' };
      const recorder = new Recorder();
      const watch = watchHost(specFor(0, { console }), recorder);
      await watch.start();
      await watch.stop();
      const counts = [recorder.texts.length, recorder.beats.length, recorder.notes.length];
      await writeKernelMarker(`gauntlet-watch-after-stop-${randomUUID()}`);
      const again = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        again.once('error', reject);
        again.bind(port, '127.0.0.1', () => resolve());
      });
      again.close();
      await sleep(1500);
      expect([recorder.texts.length, recorder.beats.length, recorder.notes.length]).to.deep.equal(counts);
    });
  });
});
