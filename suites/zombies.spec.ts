// Zombie floods: orphans pile up as zombies under a PID 1 that does not reap, the engine's init reaps them,
// the pids limit contains a flood larger than itself, and removing the container reaps everything.
//
// A zombie is made by `( :& )` in busybox sh: the subshell forks a child and exits at once, so the child (dead
// or alive) is reparented to the container's PID 1. Under a plain `sleep` as PID 1 nobody ever waits for it.
// Single orphans come from `docker exec … sh -c ':& exit 0'`: the exec'd shell exits without waiting for its child.
// Zombies are counted from the host (processes in state Z whose parent is the container's PID 1, /proc/*/stat),
// which still works when the container is at its pids limit and cannot fork a counting process, and from inside
// the container (/proc/*/stat) where it can.
//
// Parameters (scale=quick | full (default) | soak, each size settable alone):
//   zombies      orphans made by one flood exec              quick 300, full 3000, soak 8000
//   orphanExecs  `docker exec` calls that each leave one orphan  quick 20, full 200, soak 1000
//   pidsLimit    pids limit of the containment test's container   quick 100, full 1000, soak 2000 (its flood tries twice that)
//   rounds       floods into the init container, and create-flood-remove cycles   quick 1, full 3, soak 200
//   minFreePids  (default 2048) the host's free PIDs (pid_max minus its tasks) must stay at least this
//   reapTimeoutMs (default 10000) how long the engine's init may take to reap a flood
//   opTimeoutMs  (default 60000) deadline of each engine operation

import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import {
  Latencies,
  buildBaseImage,
  describeSizes,
  engineCli,
  execInContainer,
  guardHost,
  host,
  meta,
  numberParam,
  ownedName,
  ownerOf,
  params,
  runId,
  seededRandom,
  seed,
  sizesFor,
  withDeadline,
  type SizeTable,
} from 'gauntlet/suite';
import type Docker from 'dockerode';

const SIZES: SizeTable<{ zombies: number; orphanExecs: number; pidsLimit: number; rounds: number }> = {
  quick: { zombies: 300, orphanExecs: 20, pidsLimit: 100, rounds: 1 },
  full: { zombies: 3000, orphanExecs: 200, pidsLimit: 1000, rounds: 3 },
  soak: { zombies: 8000, orphanExecs: 1000, pidsLimit: 2000, rounds: 200 },
};

meta({
  description: 'Floods containers with orphans: zombies pile up under a PID 1 that does not reap, the engine\'s init reaps them, the pids limit contains the flood and the host keeps free PIDs, and removal reaps them all.',
  requires: { engine: 'docker' },
  timeoutMs: 120_000,
  params: {
    ...describeSizes(SIZES, {
      zombies: 'orphans one flood exec makes (each becomes a zombie under a PID 1 that does not reap)',
      orphanExecs: '`docker exec` calls that each background a child and exit',
      pidsLimit: 'pids limit of the containment test\'s container, whose flood tries to make twice as many',
      rounds: 'floods into the init container, and create-flood-remove cycles',
    }),
    minFreePids: { default: 2048, description: 'the host\'s free PIDs (pid_max minus its tasks) must stay at least this during every flood' },
    reapTimeoutMs: { default: 10_000, description: 'how long the engine\'s init may take to reap every zombie of a flood, in ms' },
    opTimeoutMs: { default: 60_000, description: 'deadline of each engine operation, in ms' },
  },
});

const SUITE = 'zombies';
const owner = ownerOf(runId, SUITE);
const guard = guardHost(host, owner);
const sizes = sizesFor(params, SIZES);
const minFreePids = numberParam(params, 'minFreePids', 2048);
const reapTimeoutMs = numberParam(params, 'reapTimeoutMs', 10_000);
const opTimeoutMs = numberParam(params, 'opTimeoutMs', 60_000);

/** Margin of PIDs over a flood for the container's own processes (PID 1, the exec'd shell, counting commands). */
const PID_MARGIN = 64;

const latencies = {
  create: new Latencies('container_create'),
  start: new Latencies('container_start'),
  orphanExec: new Latencies('orphan_exec'),
  flood: new Latencies('flood_exec'),
  remove: new Latencies('container_remove_with_zombies'),
};
/** Every engine operation's percentiles so far (a later report of a name replaces the earlier one). */
const reportLatencies = (): void => Object.values(latencies).forEach((l) => l.report(host));
let baseImage = '';
let containerCount = 0;
let minFreeSeen = Number.POSITIVE_INFINITY;

/** A shell loop that makes `count` orphans with `( :& )`; a fork the pids limit refuses makes the shell say "can't fork". */
function floodScript(count: number): string {
  return `i=0; while [ $i -lt ${count} ]; do ( :& ); i=$((i+1)); done`;
}

interface Flooded {
  container: Docker.Container;
  name: string;
  /** The container's PID 1 as the host sees it. */
  hostPid: number;
}

/** Creates and starts a container whose PID 1 is `sleep` (under the engine's init when `init`). */
async function startSleeper(kind: string, pidsLimit: number, init: boolean): Promise<Flooded> {
  const name = ownedName(owner, kind, containerCount++);
  const container = await latencies.create.time(() =>
    withDeadline(`create of ${name}`, opTimeoutMs, () =>
      host.docker.createContainer({
        name,
        Image: baseImage,
        Cmd: ['sleep', '86400'],
        Labels: owner.labels,
        HostConfig: { PidsLimit: pidsLimit, Init: init, NetworkMode: 'none' },
      }),
    ),
  );
  await latencies.start.time(() => withDeadline(`start of ${name}`, opTimeoutMs, () => container.start()));
  const inspected = await container.inspect();
  expect(inspected.HostConfig.PidsLimit, `pids limit the engine applied to ${name} (a kernel without the pids controller drops it)`).to.equal(pidsLimit);
  expect(inspected.State.Pid, `host PID of ${name}'s PID 1`).to.be.above(0);
  return { container, name, hostPid: inspected.State.Pid };
}

/** Processes of the host by state whose parent is `parentPid` (from /proc/*\/stat; comm may hold spaces). */
async function childrenByState(parentPid: number): Promise<Record<string, number>> {
  const out = await host.checkOutput(
    `cat /proc/[0-9]*/stat 2>/dev/null | awk -v p=${parentPid} '{ sub(/^.*\\) /, ""); if ($2 == p) n[$1]++ } END { for (s in n) print s, n[s] }'`,
    { timeout: 60_000 },
  );
  const counts: Record<string, number> = {};
  for (const line of out.trim().split('\n').filter(Boolean)) {
    const [state, n] = line.split(' ');
    counts[state!] = Number(n);
  }
  return counts;
}

const zombiesOf = async (parentPid: number): Promise<number> => (await childrenByState(parentPid)).Z ?? 0;

/** Zombies counted from inside the container, as its own /proc shows them. */
async function zombiesInside(flooded: Flooded): Promise<number> {
  const result = await execInContainer(flooded.container, ['sh', '-c', `cat /proc/[0-9]*/stat 2>/dev/null | sed -n 's/^.*) \\(.\\) .*/\\1/p' | grep -c Z`], {
    timeoutMs: opTimeoutMs,
  });
  expect(result.exitCode, `counting zombies inside ${flooded.name} (exit 1 is grep finding none): ${result.stderr.trim()}`).to.be.oneOf([0, 1]);
  return Number(result.stdout.trim());
}

interface PidHeadroom {
  pidMax: number;
  tasks: number;
  free: number;
}

/** The host's free PIDs: pid_max minus every task it has (threads and zombies take PIDs too: /proc/loadavg). */
async function hostPidHeadroom(): Promise<PidHeadroom> {
  const [pidMax, loadavg] = (await host.checkOutput('cat /proc/sys/kernel/pid_max /proc/loadavg')).trim().split('\n');
  const tasks = Number(/ \d+\/(\d+) /.exec(loadavg ?? '')?.[1]);
  const free = Number(pidMax) - tasks;
  expect(Number.isFinite(free), `pid_max ${pidMax} and tasks from /proc/loadavg "${loadavg}"`).to.equal(true);
  minFreeSeen = Math.min(minFreeSeen, free);
  return { pidMax: Number(pidMax), tasks, free };
}

/** Runs the flood in the container and resolves with how many forks failed (the shell says "can't fork"). */
async function flood(flooded: Flooded, count: number): Promise<{ failedForks: number; ms: number }> {
  const started = performance.now();
  const result = await latencies.flood.time(() => execInContainer(flooded.container, ['sh', '-c', floodScript(count)], { timeoutMs: opTimeoutMs }));
  const ms = performance.now() - started;
  const failedForks = result.stderr.split('\n').filter((line) => /can't fork|Resource temporarily unavailable/.test(line)).length;
  const unexplained = result.stderr.split('\n').filter((line) => line.trim() !== '' && !/can't fork|Resource temporarily unavailable/.test(line));
  expect(unexplained, `stderr of the flood in ${flooded.name} other than failed forks`).to.deep.equal([]);
  return { failedForks, ms };
}

/** Makes `count` single orphans, one `docker exec` each, a few at a time. */
async function orphanExecs(flooded: Flooded, count: number): Promise<void> {
  const random = seededRandom(seed, `orphan execs ${flooded.name}`);
  const concurrency = 4;
  let next = 0;
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        // `:` or `sleep 0`: an orphan that is a builtin's fork or a program of its own.
        const child = random.chance(0.5) ? ':' : 'sleep 0';
        const result = await latencies.orphanExec.time(() => execInContainer(flooded.container, ['sh', '-c', `${child} & exit 0`], { timeoutMs: opTimeoutMs }));
        if (result.exitCode !== 0) failures.push(`exit ${result.exitCode}: ${result.stderr.trim()}`);
      }
    }),
  );
  expect(failures, `orphan execs in ${flooded.name} that failed`).to.deep.equal([]);
}

/** Children of `parentPid` by state once none is still running (the last orphans may be a `sleep 0` yet), or after 10 s. */
async function settledChildren(parentPid: number): Promise<Record<string, number>> {
  const started = performance.now();
  for (;;) {
    const states = await childrenByState(parentPid);
    if (Object.entries(states).every(([state, n]) => state === 'Z' || n === 0) || performance.now() - started > 10_000) return states;
    await sleep(50);
  }
}

/** Polls until `parentPid` has at most `target` zombie children; resolves with the last count and the time it took. */
async function waitForZombies(parentPid: number, target: number, withinMs: number): Promise<{ zombies: number; ms: number }> {
  const started = performance.now();
  for (;;) {
    const zombies = await zombiesOf(parentPid);
    const ms = performance.now() - started;
    if (zombies <= target || ms >= withinMs) return { zombies, ms };
    await sleep(20);
  }
}

/** Removes the container and checks from the host that no zombie of it is left; resolves with the removal time. */
async function removeAndExpectReaped(flooded: Flooded): Promise<number> {
  const before = await childrenByState(flooded.hostPid);
  const zombiePids = (
    await host.checkOutput(`cat /proc/[0-9]*/stat 2>/dev/null | awk -v p=${flooded.hostPid} '{ pid = $1; sub(/^.*\\) /, ""); if ($2 == p && $1 == "Z") print pid }'`)
  )
    .trim()
    .split('\n')
    .filter(Boolean);
  host.log(`${flooded.name}: removing with ${before.Z ?? 0} zombies (children of host PID ${flooded.hostPid}: ${JSON.stringify(before)})`);
  const started = performance.now();
  await latencies.remove.time(() => withDeadline(`removal of ${flooded.name}`, opTimeoutMs, () => flooded.container.remove({ force: true, v: true })));
  const ms = performance.now() - started;
  // Gone at once or soon: the kernel reaps a PID namespace's processes when its init dies.
  const { zombies } = await waitForZombies(flooded.hostPid, 0, 10_000);
  expect(zombies, `zombies on the host whose parent was ${flooded.name}'s PID 1 (${flooded.hostPid}), after its removal`).to.equal(0);
  const stillZombies = zombiePids.length === 0 ? '' : await host.checkOutput(`for p in ${zombiePids.join(' ')}; do [ -r /proc/$p/stat ] && awk '{ sub(/^.*\\) /, ""); if ($1 == "Z") print FILENAME }' /proc/$p/stat 2>/dev/null; done; true`);
  expect(stillZombies.trim().split('\n').filter(Boolean), `PIDs that were ${flooded.name}'s zombies and still are zombies after its removal`).to.deep.equal([]);
  const gone = await host.run(`test -e /proc/${flooded.hostPid}`);
  expect(gone.exitCode, `host PID ${flooded.hostPid} (${flooded.name}'s PID 1) after removal`).to.not.equal(0);
  return ms;
}

/** The first test's container, once it holds its whole flood: the removal test removes it. */
let fullOfZombies: Flooded | null = null;

describe('zombies', function () {
  // Hooks do not get meta.timeoutMs: the build and the cleanup get their own.
  this.timeout(300_000);

  before(async () => {
    await guard.remember();
    baseImage = (await buildBaseImage(host, owner, { cli: engineCli(host.facts) })).ref;
    const headroom = await hostPidHeadroom();
    host.log(`host PIDs: pid_max ${headroom.pidMax}, ${headroom.tasks} tasks, ${headroom.free} free`);
  });

  after(async () => {
    await guard.cleanUp();
  });

  it('keeps every orphan as a zombie under a PID 1 that does not reap', async function () {
    this.timeout(opTimeoutMs * 4 + sizes.orphanExecs * 2_000 + sizes.zombies * 20);
    const expected = sizes.orphanExecs + sizes.zombies;
    const noInit = await startSleeper('sleep', expected + PID_MARGIN, false);
    const pid1 = (await execInContainer(noInit.container, ['cat', '/proc/1/comm'], { timeoutMs: opTimeoutMs })).stdout.trim();
    expect(pid1, `PID 1 of ${noInit.name}`).to.equal('sleep');

    const execsStarted = performance.now();
    await orphanExecs(noInit, sizes.orphanExecs);
    const execsMs = performance.now() - execsStarted;
    const afterExecs = (await settledChildren(noInit.hostPid)).Z ?? 0;
    host.log(`${sizes.orphanExecs} orphan execs in ${Math.round(execsMs)} ms left ${afterExecs} zombies`);
    const { failedForks, ms } = await flood(noInit, sizes.zombies);
    expect(failedForks, 'forks that failed in a flood that fits the pids limit').to.equal(0);
    const byState = await settledChildren(noInit.hostPid);
    const onHost = byState.Z ?? 0;
    const inside = await zombiesInside(noInit);
    const headroom = await hostPidHeadroom();
    host.log(`flood of ${sizes.zombies} in ${Math.round(ms)} ms; children of PID 1 by state: ${JSON.stringify(byState)}; zombies inside: ${inside}; host free PIDs ${headroom.free}`);
    host.metric('zombies_accumulated', onHost);
    host.metric('zombies_per_s', Math.round((sizes.zombies / ms) * 1000), '/s');
    host.metric('orphan_execs_per_s', Math.round((sizes.orphanExecs / execsMs) * 10_000) / 10, '/s');
    reportLatencies();
    expect(afterExecs, `zombies after ${sizes.orphanExecs} execs that each backgrounded a child and exited`).to.equal(sizes.orphanExecs);
    expect(onHost, `zombies under ${noInit.name}'s PID 1 seen from the host (${sizes.orphanExecs} execs + a flood of ${sizes.zombies})`).to.equal(expected);
    expect(inside, `zombies in ${noInit.name}'s own /proc`).to.equal(onHost);
    expect(headroom.free, `free PIDs on the host with ${onHost} zombies (pid_max ${headroom.pidMax}, ${headroom.tasks} tasks)`).to.be.at.least(minFreePids);
    fullOfZombies = noInit;
  });

  it('reaps every zombie when the container is removed', async function () {
    this.timeout(opTimeoutMs * 4 + sizes.rounds * (opTimeoutMs * 3 + sizes.zombies * 20));
    let reaped = 0;
    // The previous test's container first (full of zombies); then create-flood-remove cycles.
    for (let round = 0; round < sizes.rounds; round++) {
      let flooded = round === 0 ? fullOfZombies : null;
      fullOfZombies = null;
      if (!flooded) {
        flooded = await startSleeper('cycle', sizes.zombies + PID_MARGIN, false);
        await flood(flooded, sizes.zombies);
      }
      reaped += await zombiesOf(flooded.hostPid);
      await removeAndExpectReaped(flooded);
    }
    host.metric('zombies_reaped_by_removal', reaped);
    reportLatencies();
    expect(reaped, `zombies the removed containers held`).to.be.at.least(sizes.zombies);
  });

  it("reaps every orphan under the engine's init", async function () {
    this.timeout(opTimeoutMs * 4 + sizes.rounds * (reapTimeoutMs + sizes.zombies * 20 + opTimeoutMs));
    const flooded = await startSleeper('init', sizes.zombies + PID_MARGIN, true);
    const pid1 = (await execInContainer(flooded.container, ['cat', '/proc/1/comm'], { timeoutMs: opTimeoutMs })).stdout.trim();
    host.log(`PID 1 of ${flooded.name}: ${pid1}`);
    expect(pid1, `PID 1 of ${flooded.name} with HostConfig.Init: the engine's init, not the command`).to.not.equal('sleep');
    const reaps = new Latencies('init_reap');
    let worst = 0;
    for (let round = 0; round < sizes.rounds; round++) {
      await orphanExecs(flooded, Math.min(sizes.orphanExecs, 20));
      const { failedForks } = await flood(flooded, sizes.zombies);
      expect(failedForks, `forks that failed in round ${round + 1}: the init reaps, so the flood never nears the pids limit`).to.equal(0);
      const { zombies, ms } = await reaps.time(() => waitForZombies(flooded.hostPid, 0, reapTimeoutMs));
      worst = Math.max(worst, zombies);
      expect(zombies, `zombies left under ${flooded.name}'s init ${Math.round(ms)} ms after a flood of ${sizes.zombies} (round ${round + 1})`).to.equal(0);
      const inside = await zombiesInside(flooded);
      expect(inside, `zombies in ${flooded.name}'s own /proc after the init reaped`).to.equal(0);
    }
    reaps.report(host);
    host.metric('init_zombies_left', worst);
    reportLatencies();
    await removeAndExpectReaped(flooded);
  });

  it('contains a flood larger than the pids limit and keeps the host\'s PIDs free', async function () {
    this.timeout(opTimeoutMs * 4 + sizes.pidsLimit * 40);
    const limit = sizes.pidsLimit;
    const flooded = await startSleeper('limited', limit, false);
    const cgroup = await host.checkOutput(
      // cgroup v1: the pids hierarchy's line; v2: the unified one.
      `awk -F: '$2 == "pids" { print "/sys/fs/cgroup/pids" $3; exit } $1 == "0" && $2 == "" { v2 = "/sys/fs/cgroup" $3 } END { if (v2 != "") print v2 }' /proc/${flooded.hostPid}/cgroup | head -n 1`,
    );
    const cgroupDir = cgroup.trim();
    const readPids = async () => {
      const out = await host.run(`cat ${cgroupDir}/pids.current ${cgroupDir}/pids.max 2>/dev/null; grep -h '^max ' ${cgroupDir}/pids.events 2>/dev/null`);
      const [current, max, events] = out.stdout.trim().split('\n');
      return { current: Number(current), max: max?.trim(), hits: Number(events?.split(' ')[1] ?? NaN) };
    };
    const before = await readPids();
    host.log(`${flooded.name}: cgroup ${cgroupDir}, pids.current ${before.current}, pids.max ${before.max}`);
    expect(before.max, `pids.max of ${flooded.name}'s cgroup`).to.equal(String(limit));

    const attempts = limit * 2;
    const { failedForks, ms } = await flood(flooded, attempts);
    const zombies = (await settledChildren(flooded.hostPid)).Z ?? 0;
    const after = await readPids();
    const headroom = await hostPidHeadroom();
    host.log(
      `flood of ${attempts} in ${Math.round(ms)} ms: ${failedForks} failed forks, ${zombies} zombies, pids.current ${after.current}/${limit}, limit hits ${after.hits}; host free PIDs ${headroom.free}`,
    );
    host.metric('pids_limit', limit);
    host.metric('pids_limit_zombies', zombies);
    host.metric('pids_limit_failed_forks', failedForks);
    if (Number.isFinite(after.hits)) host.metric('pids_limit_hits', after.hits);
    host.metric('host_free_pids_min', minFreeSeen);
    host.metric('host_pid_headroom_pct', Math.round((1000 * minFreeSeen) / headroom.pidMax) / 10, '%');
    reportLatencies();

    expect(after.current, `pids.current of ${flooded.name}'s cgroup after a flood of ${attempts}`).to.be.at.most(limit);
    expect(zombies, `zombies under ${flooded.name}'s PID 1 with pids limit ${limit}`).to.be.below(limit);
    expect(zombies, `zombies under ${flooded.name}'s PID 1: the flood filled the limit up`).to.be.at.least(limit - PID_MARGIN);
    expect(failedForks, `forks the shell reported failing when ${attempts} were tried against a limit of ${limit}`).to.be.above(0);
    if (Number.isFinite(after.hits)) expect(after.hits, 'times the cgroup refused a fork (pids.events max)').to.be.above(0);
    expect(headroom.free, `free PIDs on the host during the flood (pid_max ${headroom.pidMax}, ${headroom.tasks} tasks)`).to.be.at.least(minFreePids);
    expect(minFreeSeen, 'fewest free PIDs on the host seen in any flood').to.be.at.least(minFreePids);
    await removeAndExpectReaped(flooded);
  });

  it('leaves the host as it found it', () => guard.expectLeftAsFound());
});
