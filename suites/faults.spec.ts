// Destructive, lab only: each test causes one real kernel fault on the host and declares the class that fault
// detection must attribute to it: an OOM kill in a memory-limited container (OOM), a hung task (HUNG_TASK), a
// soft lockup (SOFT_LOCKUP) and, last because the host does not answer after it, a kernel panic (PANIC); then, when
// the run goes on after a crash, a check that the host came back with the panic kept in pstore.
//
// Each test writes a marker line into the host's kernel log before it causes its fault
// (`gauntlet-fault: begin class=OOM id=… test="…"`), reads the log only after that marker, and never clears the
// log: the markers let fault detection tie each kernel event to the test that caused it. Kernel settings a test
// changes (sysctls) are put back afterwards, and an after-each hook undoes what a failed test left behind
// (a frozen filesystem first of all).
//
// The host needs root, util-linux (dmesg, fsfreeze, mount, losetup), e2fsprogs (mkfs.ext4), kmod (insmod, rmmod),
// procps (sysctl), libc-bin (ldd), tar, and docker with its CLI. No image is pulled: the OOM test imports the
// host's own dd and the libraries it links as a one-layer image.
//
// Parameters: see meta.params below.

import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { host, meta, numberParam, params, quoteShell } from 'gauntlet/suite';

meta({
  description: 'Causes an OOM kill, a hung task, a soft lockup and a panic on the host, each with its expected kernel fault class.',
  destructive: true,
  requires: { engine: 'docker' },
  timeoutMs: 120_000,
  params: {
    oomMemoryMiB: { default: 32, description: 'memory (and memory+swap) limit of the OOM test\'s container, in MiB; dd then asks for twice that' },
    hungTaskTimeoutS: { default: 5, description: 'kernel.hung_task_timeout_secs while the hung-task test runs' },
    softlockupModule: {
      default: '~/.cache/gauntlet/lab/modules',
      description: 'folder on the runner with <kernel release>/gauntlet_softlockup.ko (what buildSoftLockupModule in src/lab/kernel-module.ts writes)',
    },
    softlockupSeconds: { default: 12, description: 'how long the module spins with preemption off' },
    watchdogThreshS: { default: 3, description: 'kernel.watchdog_thresh while the soft-lockup test runs (a lockup is reported after twice this)' },
  },
});

/** The fault classes fault detection attributes kernel events to. */
const FAULT_CLASS = { OOM: 'OOM', HUNG_TASK: 'HUNG_TASK', SOFT_LOCKUP: 'SOFT_LOCKUP', PANIC: 'PANIC' } as const;
type FaultClass = (typeof FAULT_CLASS)[keyof typeof FAULT_CLASS];

/** What each fault leaves in the kernel log. */
const KERNEL_TEXT = {
  oomKill: /Memory cgroup out of memory: Killed process \d+ \((\S+)\)/,
  hungTask: (timeoutS: number): RegExp => new RegExp(`INFO: task (\\S+):(\\d+) blocked for more than ${timeoutS} seconds`),
  softLockup: /BUG: soft lockup - CPU#(\d+) stuck for (\d+)s!/,
  spinOver: /gauntlet_softlockup: spin over/,
};

const MODULE_NAME = 'gauntlet_softlockup';
const OOM_IMAGE = 'gauntlet-faults-dd:latest';

// The connection defaults of gauntlet's inventory (README, "gauntlet's own variables"), for hosts that set none.
const DEFAULT_KEEPALIVE_INTERVAL_S = 5;
const DEFAULT_KEEPALIVE_COUNT_MAX = 3;

const stringParam = (name: string, fallback: string): string => (typeof params[name] === 'string' ? (params[name] as string) : fallback);

/** Undo steps the current test registered, run by the after-each hook (last registered first). */
let cleanups: Array<{ what: string; undo: () => Promise<unknown> }> = [];
const onCleanup = (what: string, undo: () => Promise<unknown>): void => {
  cleanups.unshift({ what, undo });
};

/** Writes the marker that starts this test's part of the kernel log, and says which class of fault it expects. */
async function beginFault(expected: FaultClass, title: string): Promise<string> {
  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  host.log(`expected class: ${expected}`);
  // <5> is KERN_NOTICE: a user's line, kept apart from the kernel's own warnings and errors.
  const marker = `<5>gauntlet-fault: begin class=${expected} id=${id} test="${title.replaceAll('"', "'")}"`;
  await host.checkOutput(`printf '%s\\n' ${quoteShell(marker)} > /dev/kmsg`);
  return id;
}

/** The kernel log from this test's marker on. */
async function readKernelLogSince(id: string): Promise<string> {
  const log = await host.checkOutput('dmesg', { timeout: 30_000 });
  const at = log.lastIndexOf(`id=${id}`);
  if (at < 0) throw new Error(`the kernel log no longer holds this test's marker (id=${id}): the ring buffer wrapped, or something cleared it`);
  return log.slice(log.lastIndexOf('\n', at) + 1);
}

/**
 * Polls the kernel log after this test's marker until `pattern` shows up, and resolves to the match; fails the
 * test, quoting the log's last lines, when it has not shown up within `withinMs`.
 */
async function expectKernelText(id: string, pattern: RegExp, withinMs: number, what: string): Promise<RegExpExecArray> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const log = await readKernelLogSince(id);
    const match = pattern.exec(log);
    if (match) return match;
    if (Date.now() >= deadline) {
      const tail = log.trimEnd().split('\n').slice(-5).join(' | ');
      throw new Error(`no ${what} in the kernel log within ${Math.round(withinMs / 1000)} s of this test's marker (expected ${pattern}); its last lines: ${tail}`);
    }
    await sleep(1000);
  }
}

/** Fails the test, naming every missing command, unless the host has them all. */
async function requireCommands(commands: string[]): Promise<void> {
  const script = commands.map((command) => `command -v ${command} >/dev/null || echo ${command}`).join('; ');
  const missing = (await host.checkOutput(script)).split('\n').filter(Boolean);
  expect(missing, `commands this test needs on ${host.name}`).to.deep.equal([]);
}

/** Sets sysctls for the rest of the test and registers putting back what they were. */
async function setSysctls(values: Record<string, string | number>): Promise<void> {
  for (const [name, value] of Object.entries(values)) {
    const previous = (await host.checkOutput(`sysctl -n ${name}`)).trim();
    onCleanup(`sysctl ${name}=${previous}`, () => host.runExpect(`sysctl -q -w ${name}=${quoteShell(previous)}`));
    await host.checkOutput(`sysctl -q -w ${name}=${quoteShell(String(value))}`);
  }
}

/** The docker CLI on the host, talking to the socket the suite's engine client uses. */
function dockerCli(args: string): string {
  const socket = typeof host.vars.gauntlet_docker_socket === 'string' ? host.vars.gauntlet_docker_socket : '/var/run/docker.sock';
  return `DOCKER_HOST=${quoteShell(`unix://${socket}`)} docker ${args}`;
}

/** How long the runner can go without an answer before it declares the host lost (0: it never does). */
function keepaliveWindowS(): number {
  const interval = typeof host.vars.gauntlet_keepalive_interval === 'number' ? host.vars.gauntlet_keepalive_interval : DEFAULT_KEEPALIVE_INTERVAL_S;
  const countMax = typeof host.vars.gauntlet_keepalive_count_max === 'number' ? host.vars.gauntlet_keepalive_count_max : DEFAULT_KEEPALIVE_COUNT_MAX;
  return interval * countMax;
}

const isLostConnection = (err: unknown): boolean => ['LOST_CONNECTION', 'NOT_CONNECTED'].includes(String((err as { code?: unknown } | null)?.code));

describe('faults', function () {
  // The hooks' own timeout: the runner's default from meta.timeoutMs reaches the tests but not hooks made in here.
  this.timeout(120_000);

  before(async () => {
    const uid = (await host.checkOutput('id -u')).trim();
    expect(uid, 'the faults suite needs root on the host (user id)').to.equal('0');
  });

  afterEach(async () => {
    const failures: string[] = [];
    for (const { what, undo } of cleanups) {
      await undo().catch((err: unknown) => failures.push(`${what}: ${(err as Error).message}`));
    }
    cleanups = [];
    if (failures.length > 0) throw new Error(`cleanup failed: ${failures.join('; ')}`);
  });

  it('oom kill in a memory-limited container', async function () {
    const id = await beginFault(FAULT_CLASS.OOM, this.test!.titlePath().join(' > '));
    await requireCommands(['docker', 'ldd', 'tar', 'dd']);
    const limitMiB = numberParam(params, 'oomMemoryMiB', 32);

    // No registry: the host's dd plus the libraries it links (none when static) become a one-layer image.
    const ddPath = (
      await host.checkOutput(
        [
          'set -e',
          'dd=$(command -v dd)',
          'dir=$(mktemp -d)',
          'trap \'rm -rf "$dir"\' EXIT',
          'for file in "$dd" $( (ldd "$dd" 2>/dev/null || true) | grep -o "/[^ ]*"); do mkdir -p "$dir$(dirname "$file")"; cp -L "$file" "$dir$file"; done',
          `tar -C "$dir" -c . | ${dockerCli(`import - ${OOM_IMAGE}`)} >/dev/null`,
          'echo "$dd"',
        ].join('\n'),
        { timeout: 60_000 },
      )
    ).trim();
    onCleanup(`removing image ${OOM_IMAGE}`, () => host.run(dockerCli(`rmi ${OOM_IMAGE}`)));

    const limitBytes = limitMiB * 1024 * 1024;
    const container = await host.docker.createContainer({
      name: `gauntlet-oom-${id}`,
      Image: OOM_IMAGE,
      // dd allocates one buffer of `bs` bytes and fills it: twice the limit cannot fit.
      Cmd: [ddPath, 'if=/dev/zero', 'of=/dev/null', `bs=${limitMiB * 2}M`, 'count=4'],
      Labels: { 'gauntlet.fault': id },
      HostConfig: { Memory: limitBytes, MemorySwap: limitBytes },
    });
    onCleanup(`removing container gauntlet-oom-${id}`, () => container.remove({ force: true }));
    const started = performance.now();
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    host.metric('oom_container_ms', Math.round(performance.now() - started), 'ms');
    const { State } = await container.inspect();
    host.log(`container exited ${StatusCode}, OOMKilled ${State.OOMKilled}`);

    expect(StatusCode, 'exit code of the container (137: SIGKILL)').to.equal(137);
    // The kernel's word is the evidence. The engine's OOMKilled flag is recorded, not asserted: docker 20.10 on
    // cgroup v2 sometimes misses the OOM event of a container that exits at once, and reports false.
    host.metric('oom_killed_reported_by_engine', State.OOMKilled ? 1 : 0);
    const kill = await expectKernelText(id, KERNEL_TEXT.oomKill, 10_000, 'memory cgroup OOM kill');
    host.log(`kernel: ${kill[0]}`);
    expect(kill[1], 'the process the kernel killed').to.equal('dd');
    // Fault detection saw it too, as an event that does not fail the test: the container had a limit.
    const event = await host.waitForEvent({ class: FAULT_CLASS.OOM, since: new Date(Date.now() - 120_000) }, 20_000);
    host.log(`fault detection: ${event.class} ${event.title} (${event.source} ${event.via}, fatal: ${event.fatal})`);
    expect(event.fatal, 'an OOM kill inside a memory-limited container is not fatal').to.equal(false);
  });

  it('hung task', async function () {
    const timeoutS = numberParam(params, 'hungTaskTimeoutS', 5);
    this.timeout((4 * timeoutS + 60) * 1000);
    const id = await beginFault(FAULT_CLASS.HUNG_TASK, this.test!.titlePath().join(' > '));
    await requireCommands(['fsfreeze', 'mkfs.ext4', 'mount', 'umount', 'sysctl', 'nohup']);
    const hasDetector = (await host.run('test -e /proc/sys/kernel/hung_task_timeout_secs')).exitCode === 0;
    expect(hasDetector, 'the kernel has a hung-task detector (/proc/sys/kernel/hung_task_timeout_secs, CONFIG_DETECT_HUNG_TASK)').to.equal(true);

    // fsfreeze needs a filesystem that supports freezing (tmpfs does not): a small ext4 image on a loop device.
    const dir = (await host.checkOutput('mktemp -d /tmp/gauntlet-hung-task.XXXXXX')).trim();
    const image = `${dir}/fs.img`;
    const mnt = `${dir}/mnt`;
    onCleanup(`removing ${dir}`, () => host.runExpect(`rm -rf ${quoteShell(dir)}`));
    await host.checkOutput(
      `(modprobe loop || true) 2>/dev/null; truncate -s 64M ${quoteShell(image)} && mkfs.ext4 -q -F ${quoteShell(image)} && mkdir ${quoteShell(mnt)} && mount -o loop ${quoteShell(image)} ${quoteShell(mnt)}`,
      { timeout: 60_000 },
    );
    onCleanup(`unmounting ${mnt}`, () => host.runExpect(`umount ${quoteShell(mnt)}`, [0], { timeout: 30_000 }));
    await setSysctls({ 'kernel.hung_task_timeout_secs': timeoutS, 'kernel.hung_task_panic': 0, 'kernel.hung_task_warnings': -1 });

    // Registered last, so it runs first: nothing else can be undone while the filesystem is frozen.
    let writerPid = '';
    onCleanup(`thawing ${mnt}`, async () => {
      await host.run(`fsfreeze -u ${quoteShell(mnt)}`, { timeout: 30_000 });
      if (writerPid) await host.run(`for i in $(seq 1 40); do kill -0 ${writerPid} 2>/dev/null || exit 0; sleep 0.5; done; exit 1`, { timeout: 30_000 });
    });
    await host.checkOutput(`fsfreeze -f ${quoteShell(mnt)}`);

    // A write to a frozen filesystem sleeps uninterruptibly until the thaw: the hung-task detector reports it.
    writerPid = (await host.checkOutput(`nohup sh -c ${quoteShell(`echo gauntlet > ${mnt}/blocked`)} </dev/null >/dev/null 2>&1 & echo $!`)).trim();
    host.log(`writer: pid ${writerPid}`);
    const blocked = await expectKernelText(id, KERNEL_TEXT.hungTask(timeoutS), (2 * timeoutS + 10) * 1000, 'hung-task report');
    host.log(`kernel: ${blocked[0]}`);
    expect(blocked[2], 'the blocked task is the writer').to.equal(writerPid);

    // Thawing lets the writer finish: the host recovers from this fault.
    await host.checkOutput(`fsfreeze -u ${quoteShell(mnt)}`);
    const written = await host.run(`for i in $(seq 1 40); do kill -0 ${writerPid} 2>/dev/null || break; sleep 0.5; done; cat ${quoteShell(`${mnt}/blocked`)}`, { timeout: 30_000 });
    expect(written.stdout.trim(), 'what the blocked writer wrote once the filesystem was thawed').to.equal('gauntlet');
  });

  it('soft lockup', async function () {
    const seconds = numberParam(params, 'softlockupSeconds', 12);
    const threshS = numberParam(params, 'watchdogThreshS', 3);
    this.timeout((seconds + 120) * 1000);
    this.retries(0);
    const id = await beginFault(FAULT_CLASS.SOFT_LOCKUP, this.test!.titlePath().join(' > '));
    await requireCommands(['insmod', 'rmmod', 'lsmod', 'sysctl', 'nohup']);

    const release = host.facts?.kernel.release;
    expect(release, 'the host\'s kernel release (facts)').to.be.a('string');
    const folder = stringParam('softlockupModule', '~/.cache/gauntlet/lab/modules').replace(/^~(?=$|\/)/, homedir());
    const ko = join(folder, release!, `${MODULE_NAME}.ko`);
    if (!existsSync(ko)) {
      throw new Error(`no soft-lockup module for ${release} at ${ko}: build it on the runner with buildSoftLockupModule('${release}', CACHE) from src/lab/kernel-module.ts (gauntlet lab does), or set --param softlockupModule=DIR`);
    }
    // On one CPU nothing else runs during the spin, sshd included: a spin longer than the keepalive window would
    // make the runner declare the host lost, ending this suite on it (the runner does not reconnect).
    const window = keepaliveWindowS();
    if (host.facts?.hardware.cpus === 1 && window > 0 && seconds + 2 >= window) {
      throw new Error(
        `a ${seconds} s spin on this 1-CPU host outlasts the SSH keepalive window (${window} s = gauntlet_keepalive_interval × gauntlet_keepalive_count_max): lower softlockupSeconds (a lockup is reported after about ${2 * threshS + 2} s) or raise the keepalives`,
      );
    }
    const soft = (await host.run('cat /proc/sys/kernel/soft_watchdog')).stdout.trim();
    expect(soft, 'the soft-lockup watchdog is on (kernel.soft_watchdog)').to.equal('1');

    if ((await host.run(`lsmod | grep -q '^${MODULE_NAME} '`)).exitCode === 0) await host.runExpect(`rmmod ${MODULE_NAME}`, [0], { timeout: (seconds + 30) * 1000 });
    const remoteKo = `/tmp/${MODULE_NAME}-${id}.ko`;
    const insmodLog = `/tmp/${MODULE_NAME}-${id}.log`;
    await host.upload(ko, remoteKo);
    onCleanup(`removing ${remoteKo}`, () => host.runExpect(`rm -f ${remoteKo} ${insmodLog}`));
    await setSysctls({ 'kernel.watchdog_thresh': threshS, 'kernel.softlockup_panic': 0 });
    onCleanup(`unloading ${MODULE_NAME}`, () => host.run(`lsmod | grep -q '^${MODULE_NAME} ' && rmmod ${MODULE_NAME}`, { timeout: (seconds + 30) * 1000 }));

    // Detached, so this command returns before the spin starts: the CPU may not serve this session for a while.
    await host.checkOutput(`nohup sh -c ${quoteShell(`sleep 1; insmod ${remoteKo} seconds=${seconds}; echo "insmod exit $?"`)} </dev/null >${insmodLog} 2>&1 &`);
    await host.run(`sleep ${seconds + 2}`, { timeout: (seconds + 60) * 1000 });
    await expectKernelText(id, KERNEL_TEXT.spinOver, 60_000, 'end of the module\'s spin').catch(async (err: Error) => {
      const printed = (await host.run(`cat ${insmodLog}`)).stdout.trim();
      throw new Error(`${err.message}; insmod printed: ${printed || 'nothing'}`);
    });
    // On one CPU insmod itself waited for the spin; give it a moment to print its exit status.
    const insmod = (await host.run(`for i in $(seq 1 20); do grep -q 'insmod exit' ${insmodLog} && break; sleep 0.5; done; cat ${insmodLog}`, { timeout: 30_000 })).stdout.trim();
    host.log(`insmod: ${insmod}`);

    const lockup = await expectKernelText(id, KERNEL_TEXT.softLockup, 0, 'soft lockup report');
    host.log(`kernel: ${lockup[0]}`);
    host.metric('soft_lockup_stuck_s', Number(lockup[2]), 's');
    expect(insmod, 'what insmod printed').to.equal('insmod exit 0');
    await host.runExpect(`rmmod ${MODULE_NAME}`, [0], { timeout: 30_000 });
  });

  // Recovery is not this suite's job: bringing the host back (the lab's power control, `gauntlet_power_cycle`) and
  // reading what the panic left (the console log, pstore after the restart) belong to the lab and to fault
  // detection. This test only proves the panic happened as far as the runner can tell: the host stops answering.
  it('panic', async function () {
    const window = keepaliveWindowS();
    this.timeout((window + 90) * 1000);
    this.retries(0);
    if (window === 0) throw new Error('keepalives are off (gauntlet_keepalive_interval: 0): the runner could not notice the host stop answering');
    await beginFault(FAULT_CLASS.PANIC, this.test!.titlePath().join(' > '));

    // In the background with a delay, so this command returns before the kernel dies.
    await host.checkOutput(`nohup sh -c 'sleep 1; echo c > /proc/sysrq-trigger' </dev/null >/dev/null 2>&1 &`);
    const triggered = performance.now();
    const deadline = Date.now() + (window + 30) * 1000;
    let lost: unknown = null;
    while (!lost && Date.now() < deadline) {
      try {
        await host.run('true', { timeout: 5000 });
        await sleep(1000);
      } catch (err) {
        if (!isLostConnection(err)) throw err;
        lost = err;
      }
    }
    expect(lost, `the host still answered ${window + 30} s after sysrq c`).to.not.equal(null);
    host.metric('panic_lost_connection_ms', Math.round(performance.now() - triggered), 'ms');
    host.log(`host stopped answering: ${(lost as Error).message}`);
  });

  // Runs only when the run goes on after a crash (`gauntlet run --continue-after-crash` and a host that came back,
  // through gauntlet_power_cycle or by itself); otherwise it is reported as not run because of the panic.
  it('after the panic: the host is back and kept the panic', async function () {
    const panics = host.events({ class: FAULT_CLASS.PANIC });
    host.log(panics.map((event) => `fault detection: ${event.class} ${event.title} (${event.source} ${event.via}) in ${event.test}`).join('\n'));
    expect(panics, 'fault detection recorded the panic').to.not.be.empty;
    expect(panics.some((event) => event.test?.endsWith(`${this.test!.parent!.title} > panic`)), 'the panic was attributed to the panic test').to.equal(true);
    const pstore = await host.run('cat /sys/fs/pstore/dmesg-* 2>/dev/null');
    expect(pstore.stdout, 'the panic survived the restart in pstore').to.include('sysrq triggered crash');
  });
});
