// Namespace and cgroup load: network namespaces with veth pairs made and torn down by the thousand, processes in
// fresh mount, PID, UTS and IPC namespaces, containers in network namespaces of their own, deep and wide cgroup
// trees with processes moved through them, memory-limited containers driven into the OOM killer, and a fork loop
// held at a container's pids limit. Each test asserts that what it made is gone when it ends (namespaces, veths,
// cgroups, mounts); the last test compares the whole host with what it was before the suite.
//
// Load is batched: one shell script per round (written to the suite's workspace, so every process it starts has
// the workspace in its command line and cleanup can find it), running `ip -batch` files and a few parallel
// workers, never one SSH command per namespace. Every choice (which namespaces are paired, the deletion order, the
// cgroup tree's shape, the sequence of process moves, how a container allocates memory) comes from the seed.
//
// Names: network namespaces and cgroups are `gauntlet-<run id>-ns-cgroup…` (cgroups at the top of the v2 tree, or
// at the top of the v1 `pids` and `memory` hierarchies), veths are ownedLinkName(…), addresses are in 10.213.0.0/16
// and only ever inside namespaces this suite made (the veth ends left in the host's namespace have none).
// Containers run with NetworkMode `none`: each still gets a network namespace of its own (with only `lo`), and the
// suite then plugs a veth into it, without needing the engine's default bridge or touching its firewall rules.
//
// Teardown latency of a namespace is the time from its `ip netns del` until the kernel has dismantled it, seen as
// its veth peer in the host's namespace disappearing (a background poller lists the links every ~10 ms). A teardown
// that hangs (`unregister_netdevice: waiting for … to become free`) fails the test with the NETDEV_LEAK event's
// title that gauntlet's kernel watch reported, or with the kernel log's line when the watch did not see it.
//
// The host needs root, iproute2 (ip with -batch and netns), util-linux (unshare, nsenter, dmesg, mount), coreutils
// (date +%N, stat, sleep) and a container engine; ping comes from the host, else from the static busybox the base
// image was made from.
//
// Parameters (scale=quick | full (default) | soak, each size settable alone):
//   namespaces            network namespaces made and torn down            quick 400, full 5000, soak 1000000
//   namespacesPerRound    namespaces per batch (one script)                quick 200, full 500, soak 2000
//   workers               parallel shell workers of a batch                quick 2, full 4, soak 8
//   pingChecks            veth pairs pinged per batch                      quick 4, full 16, soak 32
//   unshares              processes in fresh mount/PID/UTS/IPC namespaces  quick 120, full 2000, soak 200000
//   containers            containers in network namespaces of their own   quick 4, full 40, soak 1000
//   containerConcurrency  engine operations in flight                      quick 4, full 8, soak 16
//   cgroupDepth, cgroupWidth  shape of each cgroup tree                    quick 32×300, full 200×3000, soak 400×5000
//   cgroupProcesses, cgroupMoves  processes moved, moves per tree          quick 6/600, full 32/20000, soak 64/200000
//   cgroupRounds          trees built, used and removed                    quick 1, full 3, soak 100
//   oomContainers, oomMemoryMiB  containers driven into OOM, their limit   quick 1×16, full 3×32, soak 40×32
//   pidsLimit             pids limit of the fork-loop container            quick 24, full 64, soak 256
//   teardownLimitMs (30000), oomEventWaitMs (10000), opTimeoutMs (60000)

import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import {
  Latencies,
  buildBaseImage,
  describeSizes,
  engineCli,
  guardHost,
  host,
  meta,
  numberParam,
  ownedLinkName,
  ownedName,
  ownerOf,
  params,
  quoteShell,
  runId,
  seed,
  seededRandom,
  sizesFor,
  withDeadline,
  type SeededRandom,
  type SizeTable,
} from 'gauntlet/suite';
import type Docker from 'dockerode';

type Sizes = {
  namespaces: number;
  namespacesPerRound: number;
  workers: number;
  pingChecks: number;
  unshares: number;
  containers: number;
  containerConcurrency: number;
  cgroupDepth: number;
  cgroupWidth: number;
  cgroupProcesses: number;
  cgroupMoves: number;
  cgroupRounds: number;
  oomContainers: number;
  oomMemoryMiB: number;
  pidsLimit: number;
};

const SIZES: SizeTable<Sizes> = {
  quick: {
    namespaces: 400, namespacesPerRound: 200, workers: 2, pingChecks: 4, unshares: 120, containers: 4, containerConcurrency: 4,
    cgroupDepth: 32, cgroupWidth: 300, cgroupProcesses: 6, cgroupMoves: 600, cgroupRounds: 1, oomContainers: 1, oomMemoryMiB: 16, pidsLimit: 24,
  },
  full: {
    namespaces: 5000, namespacesPerRound: 500, workers: 4, pingChecks: 16, unshares: 2000, containers: 40, containerConcurrency: 8,
    cgroupDepth: 200, cgroupWidth: 3000, cgroupProcesses: 32, cgroupMoves: 20_000, cgroupRounds: 3, oomContainers: 3, oomMemoryMiB: 32, pidsLimit: 64,
  },
  soak: {
    namespaces: 1_000_000, namespacesPerRound: 2000, workers: 8, pingChecks: 32, unshares: 200_000, containers: 1000, containerConcurrency: 16,
    cgroupDepth: 400, cgroupWidth: 5000, cgroupProcesses: 64, cgroupMoves: 200_000, cgroupRounds: 100, oomContainers: 40, oomMemoryMiB: 32, pidsLimit: 256,
  },
};

meta({
  description:
    'Makes and tears down network namespaces with veth pairs, unshared mount/PID/UTS/IPC namespaces and containers in their own network namespaces; builds deep and wide cgroup trees and moves processes through them; drives memory-limited containers into the OOM killer and a fork loop into a pids limit; nothing leaks and no teardown hangs.',
  requires: { engine: 'any' },
  timeoutMs: 120_000,
  params: {
    ...describeSizes(SIZES, {
      namespaces: 'network namespaces made and torn down in all (each with a veth to the host\'s namespace; most also paired with another by a veth)',
      namespacesPerRound: 'network namespaces made in one batch (one shell script) before the batch is torn down',
      workers: 'parallel shell workers of each batch',
      pingChecks: 'veth pairs per batch checked with a ping across them',
      unshares: 'processes started in fresh mount, PID, UTS and IPC namespaces (about half also in a fresh network namespace)',
      containers: 'containers started, each in a network namespace of its own with a veth plugged into it',
      containerConcurrency: 'engine operations (create, start, remove) in flight at once',
      cgroupDepth: 'depth of the deep branch of each cgroup tree',
      cgroupWidth: 'children of the wide branch of each cgroup tree (some with children of their own)',
      cgroupProcesses: 'processes moved between the cgroups of a tree',
      cgroupMoves: 'process moves per tree',
      cgroupRounds: 'times a tree is built, used and removed',
      oomContainers: 'memory-limited containers driven into the OOM killer at once (next to a container and a process that must survive)',
      oomMemoryMiB: 'memory (and memory+swap) limit of each OOM container, in MiB',
      pidsLimit: 'pids limit of the fork-loop container (the loop tries four times as many)',
    }),
    teardownLimitMs: { default: 30_000, description: 'how long a batch\'s namespaces may take to be dismantled by the kernel after their deletion, in ms' },
    oomEventWaitMs: { default: 10_000, description: 'how long to wait for the kernel watch to report the OOM kills, in ms (the kernel log and the engine are evidence too)' },
    opTimeoutMs: { default: 60_000, description: 'deadline of each engine operation, in ms' },
  },
});

const SUITE = 'ns-cgroup';
const owner = ownerOf(runId, SUITE);
const guard = guardHost(host, owner);
const sizes = sizesFor(params, SIZES);
const teardownLimitMs = numberParam(params, 'teardownLimitMs', 30_000);
const oomEventWaitMs = numberParam(params, 'oomEventWaitMs', 10_000);
const opTimeoutMs = numberParam(params, 'opTimeoutMs', 60_000);

const WS = owner.workspace;
/** Where `ip netns` keeps its namespaces (iproute2's NETNS_RUN_DIR). */
const NETNS_DIR = '/var/run/netns';
/** The veth names of this run: ownedLinkName's fixed part. */
const LINK_PREFIX = ownedLinkName(owner, 0).slice(0, -1);
/** Veth index ranges, so that the tests' names never collide: namespaces use 3 per namespace from 0. */
const CONTAINER_LINK_BASE = 36 ** 5;
const NETDEV_HANG = 'unregister_netdevice: waiting for';

const round1 = (value: number): number => Math.round(value * 10) / 10;
const perSecond = (count: number, ms: number): number => (ms > 0 ? round1((count * 1000) / ms) : 0);

/** The lines of a script's output that start with `tag `, split into words. */
function tagged(stdout: string, tag: string): string[][] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith(`${tag} `))
    .map((line) => line.slice(tag.length + 1).split(' '));
}

/** The value of the one `tag name value` line, as a number. */
function taggedNumber(stdout: string, tag: string, name: string): number {
  const line = tagged(stdout, tag).find(([key]) => key === name);
  if (!line) throw new Error(`the host script printed no "${tag} ${name}" line; its output ended: ${stdout.trim().split('\n').slice(-3).join(' | ')}`);
  return Number(line[1]);
}

/** Fisher-Yates with the test's seeded stream. */
function shuffled<T>(items: readonly T[], rng: SeededRandom): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Runs `work` on every item with at most `limit` at once; every item is tried, and the first failure is rethrown. */
async function inPool<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index).catch((err: unknown) => errors.push(err));
    }
  });
  await Promise.all(lanes);
  if (errors.length > 0) throw errors[0];
}

/** An IPv4 address in 10.213.0.0/16 from a host number 0..65535. */
function labAddress(n: number): string {
  if (n < 0 || n > 0xffff) throw new Error(`address ${n} is outside 10.213.0.0/16`);
  return `10.213.${n >> 8}.${n & 0xff}`;
}

/** Writes `script` to the workspace and runs it with sh, so every process it starts names the workspace. */
let scriptCount = 0;
async function runScript(name: string, script: string, timeout: number): Promise<{ stdout: string; stderr: string; exitCode: number | null; durationMs: number }> {
  const path = `${WS}/${name}-${scriptCount++}.sh`;
  await host.upload(Buffer.from(script), path);
  const result = await host.run(`sh ${quoteShell(path)}; status=$?; rm -f ${quoteShell(path)}; exit $status`, { timeout });
  if (result.timedOut) throw new Error(`the host script ${name} timed out after ${timeout} ms; its output ended: ${result.stdout.trim().split('\n').slice(-3).join(' | ')}`);
  return result;
}

/** Shell prelude: microsecond clock, the ping to use, the workspace. */
const PRELUDE = String.raw`
set -u
ws=${quoteShell(WS)}
now() { date +%s%6N; }
if command -v ping >/dev/null 2>&1; then PING=ping
elif command -v busybox >/dev/null 2>&1; then PING="busybox ping"
elif [ -x "$ws/base/busybox" ]; then PING="$ws/base/busybox ping"
else PING=""; fi
`;

/** Lines of the kernel log that report a network device that cannot be unregistered. */
async function countNetdevHangs(): Promise<{ count: number; lines: string[] }> {
  const out = await host.run(`dmesg 2>/dev/null | grep -F ${quoteShell(NETDEV_HANG)} || true`);
  const lines = out.stdout.split('\n').filter(Boolean);
  return { count: lines.length, lines };
}

/**
 * Fails the test when a namespace teardown hung: the kernel watch's NETDEV_LEAK event of this test (with its
 * title), else a new `unregister_netdevice: waiting for …` line in the kernel log (the watch may be off or may not
 * read the kernel log of a local host).
 */
async function expectNoNetdevHang(since: Date, before: { count: number }, waitMs: number): Promise<void> {
  const event = waitMs > 0 ? await host.waitForEvent({ class: 'NETDEV_LEAK', since }, waitMs).catch(() => null) : host.events({ class: 'NETDEV_LEAK', since })[0] ?? null;
  const leaks = host.events({ class: 'NETDEV_LEAK', since });
  host.metric('netdev_leak_events', leaks.length);
  if (event) {
    throw new Error(`namespace teardown hung: ${event.title} (kernel ${event.source} ${event.via}; ${leaks.length} such event(s) in this test): ${event.excerpt.split('\n')[0]}`);
  }
  const after = await countNetdevHangs();
  const fresh = after.lines.slice(before.count);
  expect(fresh, `kernel log lines "${NETDEV_HANG} … to become free" since the test started (a namespace teardown hung)`).to.deep.equal([]);
}

/** What the suite's own objects look like now: namespaces, veths in the session's namespace, cgroups, mounts. */
async function ownLeftovers(): Promise<string[]> {
  const out = await host.run(
    [
      `ip netns list 2>/dev/null | awk '{print "netns " $1}' | grep -F ${quoteShell(`netns ${owner.prefix}`)}`,
      `ip -o link show 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print "link " $2}' | grep -F ${quoteShell(`link ${LINK_PREFIX}`)}`,
      `find /sys/fs/cgroup -maxdepth 2 -mindepth 1 -type d -name ${quoteShell(owner.prefix)} 2>/dev/null | sed 's/^/cgroup /'`,
      `awk '{print "mount " $5}' /proc/self/mountinfo | grep -F -e ${quoteShell(`${NETNS_DIR}/${owner.prefix}`)} -e ${quoteShell(`/run/netns/${owner.prefix}`)} -e ${quoteShell(`${WS}/`)}`,
      'true',
    ].join('; '),
  );
  return out.stdout.split('\n').filter(Boolean);
}

/**
 * The first `ip netns add` on a host bind-mounts /run/netns on itself (to make it a shared mount) and leaves it
 * so. When it was no mount point before the suite and holds no namespace now, that mount is the suite's own doing
 * and is undone, so the host's mounts are as they were.
 */
const NETNS_DIR_MOUNTS = `awk '$5 == "/run/netns" || $5 == "/var/run/netns"' /proc/self/mountinfo | grep -c .`;
let netnsDirWasMounted = true;
async function restoreNetnsDir(): Promise<void> {
  if (netnsDirWasMounted) return;
  await host.run(`for i in 1 2 3; do [ "$(${NETNS_DIR_MOUNTS})" -gt 0 ] && [ -z "$(ls -A ${NETNS_DIR} 2>/dev/null)" ] && umount ${NETNS_DIR} || break; done; true`);
}

async function expectNothingLeft(what: string): Promise<void> {
  await restoreNetnsDir();
  expect(await ownLeftovers(), `the suite's namespaces, veths, cgroups and mounts left after ${what}`).to.deep.equal([]);
}

// ---- Network namespaces ------------------------------------------------------------------------------------------

interface NetnsRound {
  script: string;
  count: number;
  /** Namespace-pairs pinged: `from to address`. */
  pings: number;
}

/**
 * The script of one batch: namespaces `first`..`first+count-1`, each with a veth whose peer stays in the host's
 * namespace (no address), and consecutive ones of a seeded shuffle paired by a veth with a /31 on each end. Made
 * with `ip -batch` (namespaces, then links by `workers` in parallel, then addresses by `workers` in parallel),
 * pinged across some pairs, then deleted in a seeded order while a poller watches the host-side peers vanish.
 */
function netnsRoundScript(first: number, count: number, rng: SeededRandom): NetnsRound {
  const workers = Math.max(1, sizes.workers);
  const names = Array.from({ length: count }, (_, i) => ownedName(owner, 'ns', first + i));
  const hostEnd = (g: number) => ownedLinkName(owner, 3 * g);
  const nsEnd = (g: number) => ownedLinkName(owner, 3 * g + 1);
  const pairEnd = (g: number) => ownedLinkName(owner, 3 * g + 2);
  const order = shuffled(Array.from({ length: count }, (_, i) => first + i), rng);
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i + 1 < order.length; i += 2) pairs.push([order[i]!, order[i + 1]!]);
  const partner = new Map<number, { peer: number; address: string }>();
  pairs.forEach(([a, b], k) => {
    partner.set(a, { peer: b, address: labAddress(2 * k) });
    partner.set(b, { peer: a, address: labAddress(2 * k + 1) });
  });

  const linkFiles: string[][] = Array.from({ length: workers }, () => []);
  for (let i = 0; i < count; i++) {
    const g = first + i;
    linkFiles[i % workers]!.push(`link add ${hostEnd(g)} type veth peer name ${nsEnd(g)} netns ${names[i]}`);
  }
  pairs.forEach(([a, b], k) => linkFiles[k % workers]!.push(`link add ${pairEnd(a)} netns ${ownedName(owner, 'ns', a)} type veth peer name ${pairEnd(b)} netns ${ownedName(owner, 'ns', b)}`));
  const addrFiles: string[][] = Array.from({ length: workers }, () => []);
  for (let i = 0; i < count; i++) {
    const g = first + i;
    const pair = partner.get(g);
    const lines = ['link set lo up', `link set ${nsEnd(g)} up`, ...(pair ? [`addr add ${pair.address}/31 dev ${pairEnd(g)}`, `link set ${pairEnd(g)} up`] : [])];
    addrFiles[i % workers]!.push(`ip -n ${names[i]} -batch - <<'GTNC_IP' || echo "failed ${names[i]}" >&2\n${lines.join('\n')}\nGTNC_IP`);
  }
  const pingPairs = shuffled(pairs, rng).slice(0, Math.min(sizes.pingChecks, pairs.length));
  const deletion = shuffled(names, rng);
  const nsPattern = `${owner.prefix}-ns-`;
  const heredoc = (file: string, lines: string[], tag = 'GTNC_EOF') => `cat > ${file} <<'${tag}'\n${lines.join('\n')}\n${tag}`;

  const script = String.raw`${PRELUDE}
dir="$ws/netns-${first}"
mkdir -p "$dir" && cd "$dir" || exit 90
${heredoc('ns.batch', names.map((n) => `netns add ${n}`))}
${linkFiles.map((lines, k) => heredoc(`link.${k}`, lines)).join('\n')}
${addrFiles.map((lines, k) => heredoc(`addr.${k}.sh`, lines, 'GTNC_SH')).join('\n')}
${heredoc('del.batch', deletion.map((n) => `netns del ${n}`))}
${heredoc('stubs.list', names.map((_, i) => hostEnd(first + i)))}
mem() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }
echo "MEM before $(mem)"
listns() { ip netns list 2>/dev/null | awk '{print $1}' | grep -c -F ${quoteShell(nsPattern)}; }
liststubs() { ip -o link show 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | grep -F -x -f stubs.list; }
t0=$(now)
ip -force -batch "$dir/ns.batch" 2>err.ns
t1=$(now)
${linkFiles.map((_, k) => `ip -force -batch "$dir/link.${k}" 2>err.link.${k} &`).join('\n')}
wait
t2=$(now)
${addrFiles.map((_, k) => `sh "$dir/addr.${k}.sh" 2>err.addr.${k} >/dev/null &`).join('\n')}
wait
t3=$(now)
echo "T ns $((t1 - t0))"
echo "T links $((t2 - t1))"
echo "T addr $((t3 - t2))"
echo "MEM made $(mem)"
echo "COUNT ns $(listns)"
echo "COUNT stubs $(liststubs | grep -c .)"
echo "ERRS ns $(grep -c . err.ns)"
echo "ERRS links $(cat err.link.* | grep -c .)"
echo "ERRS addr $(cat err.addr.* | grep -c .)"
for f in err.ns err.link.* err.addr.*; do head -n 2 "$f" | sed "s/^/ERRTEXT $f: /"; done
${pingPairs
  .map(([a, b]) => `if [ -z "$PING" ]; then echo "PING none"; elif nsenter --net=${NETNS_DIR}/${ownedName(owner, 'ns', a)} $PING -c 1 -W 2 ${partner.get(b)!.address} >/dev/null 2>&1; then echo "PING ok ${a}"; else echo "PING fail ${a}->${b} ${partner.get(b)!.address}"; fi`)
  .join('\n')}
limit=$(( $(now) + ${Math.round(teardownLimitMs * 1000)} ))
tdel=$(now)
( while :; do
    t=$(now); echo "P $t"; left=$(liststubs); [ -n "$left" ] && echo "$left"
    [ -z "$left" ] && break; [ "$t" -gt "$limit" ] && break
    sleep 0.01
  done ) > poll.log &
ip -force -batch "$dir/del.batch" 2>err.del
tcmd=$(now)
wait
echo "T delete_cmd $((tcmd - tdel))"
echo "ERRS delete $(grep -c . err.del)"
head -n 2 err.del | sed 's/^/ERRTEXT err.del: /'
awk -v tdel="$tdel" 'FNR == NR { want[$1] = 1; next }
  $1 == "P" { np++; pt[np] = $2; next }
  { last[$1] = np }
  END {
    for (n in want) {
      i = (n in last) ? last[n] + 1 : 1
      while (i <= np && pt[i] < tdel) i++
      if (i > np) print "LEFT " n; else printf "LAT %d\n", pt[i] - tdel
    }
  }' stubs.list poll.log
echo "COUNT ns_after $(listns)"
echo "COUNT stubs_after $(liststubs | grep -c .)"
cd / && rm -rf "$dir"
`;
  return { script, count, pings: pingPairs.length };
}

// ---- Cgroups -----------------------------------------------------------------------------------------------------

interface CgroupPlan {
  dirs: string[];
  moves: Array<[process: number, dir: string]>;
  /** Where each process must be in the end (relative to the tree's top; `.` is the top). */
  finalDir: string[];
}

/** A deep branch, a wide branch whose children have 0-2 children of their own, and a seeded walk of moves. */
function planCgroupTree(rng: SeededRandom): CgroupPlan {
  const dirs: string[] = ['deep', 'wide'];
  let path = 'deep';
  for (let d = 1; d < sizes.cgroupDepth; d++) dirs.push((path = `${path}/d`));
  for (let w = 0; w < sizes.cgroupWidth; w++) {
    dirs.push(`wide/w${w}`);
    const children = rng.int(0, 2);
    for (let c = 0; c < children; c++) dirs.push(`wide/w${w}/c${c}`);
  }
  const targets = ['.', ...dirs];
  const finalDir = Array.from({ length: sizes.cgroupProcesses }, () => '.');
  const moves: Array<[number, string]> = [];
  for (let m = 0; m < sizes.cgroupMoves && sizes.cgroupProcesses > 0; m++) {
    const mover = rng.int(0, sizes.cgroupProcesses - 1);
    // A tenth of the moves go to the deepest cgroup, the rest anywhere in the tree (the top included).
    const dir = rng.chance(0.1) ? path : rng.pick(targets);
    moves.push([mover, dir]);
    finalDir[mover] = dir;
  }
  return { dirs, moves, finalDir };
}

function cgroupRoundScript(plan: CgroupPlan, top: string): string {
  const heredoc = (file: string, lines: string[]) => `cat > ${file} <<'GTNC_EOF'\n${lines.join('\n')}\nGTNC_EOF`;
  return String.raw`${PRELUDE}
TOP=${quoteShell(top)}
dir="$ws/cgroup-work"
mkdir -p "$dir" && cd "$dir" || exit 90
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
  roots=/sys/fs/cgroup; mine='^0::'; echo "VERSION 2"
else
  roots=""
  for c in pids memory; do [ -f "/sys/fs/cgroup/$c/cgroup.procs" ] && roots="$roots /sys/fs/cgroup/$c"; done
  mine='^[0-9]+:([a-z_]+,)*(pids|memory)(,[a-z_]+)*:'; echo "VERSION 1"
fi
[ -n "$roots" ] || { echo "NOROOTS"; exit 91; }
echo "ROOTS $roots"
${heredoc('dirs.list', plan.dirs)}
${heredoc('moves.list', plan.moves.map(([p, d]) => `${p} ${d}`))}
pids=""
k=0
while [ $k -lt ${plan.finalDir.length} ]; do
  "$ws/sleep" 600 &
  eval "P$k=$!"; pids="$pids $!"
  k=$((k + 1))
done
for root in $roots; do
  t=$(now)
  mkdir "$root/$TOP" && (cd "$root/$TOP" && xargs mkdir < "$dir/dirs.list")
  d=$(( $(now) - t ))
  echo "MKDIR $root $(find "$root/$TOP" -type d | wc -l) $d"
done
for root in $roots; do
  t=$(now); errs=0; n=0
  while read -r k rel; do
    eval "p=\$P$k"
    if ! echo "$p" 2>/dev/null > "$root/$TOP/$rel/cgroup.procs"; then errs=$((errs + 1)); fi
    n=$((n + 1))
  done < "$dir/moves.list"
  echo "MOVE $root $n $(( $(now) - t )) $errs"
done
k=0
for p in $pids; do
  echo "CG $k $(grep -E "$mine" /proc/$p/cgroup | tr '\n' ' ')"
  k=$((k + 1))
done
kill $pids 2>/dev/null
wait
for root in $roots; do
  t=$(now)
  n=$(find "$root/$TOP" -type d | wc -l)
  for attempt in 1 2 3 4 5; do
    find "$root/$TOP" -depth -type d 2>/dev/null | xargs rmdir 2>/dev/null
    [ -d "$root/$TOP" ] || break
    sleep 0.2
  done
  d=$(( $(now) - t ))
  echo "RMDIR $root $n $d"
  [ -d "$root/$TOP" ] && echo "LEFT $root/$TOP ($(find "$root/$TOP" -type d | wc -l) cgroups)"
done
cd / && rm -rf "$dir"
`;
}

// ---- Containers --------------------------------------------------------------------------------------------------

let baseImage = '';

async function createContainer(name: string, cmd: string[], hostConfig: Docker.HostConfig = {}): Promise<Docker.Container> {
  return withDeadline(`create ${name}`, opTimeoutMs, () =>
    host.docker.createContainer({
      name,
      Image: baseImage,
      Cmd: cmd,
      Labels: owner.labels,
      HostConfig: { NetworkMode: 'none', ...hostConfig },
    }),
  );
}

const removeQuietly = (container: Docker.Container): Promise<unknown> => container.remove({ force: true }).catch(() => undefined);

describe('namespaces and cgroups', function () {
  // Hooks get this timeout (the runner's meta.timeoutMs reaches tests only): the base image, and the cleanup of
  // whatever a failed test left, which can be thousands of namespaces.
  this.timeout(600_000);

  before(async () => {
    const uid = (await host.checkOutput('id -u')).trim();
    expect(uid, 'the ns-cgroup suite needs root on the host (user id)').to.equal('0');
    const missing = (await host.checkOutput('for c in ip unshare nsenter dmesg mount date stat awk xargs find sleep; do command -v $c >/dev/null || echo $c; done'))
      .split('\n')
      .filter(Boolean);
    expect(missing, `commands the suite needs on ${host.name}`).to.deep.equal([]);
    const clock = (await host.checkOutput('date +%s%6N')).trim();
    expect(clock, 'date +%s%6N prints microseconds since the epoch (coreutils date)').to.match(/^\d{16}$/);
    await guard.remember();
    netnsDirWasMounted = Number((await host.run(NETNS_DIR_MOUNTS)).stdout.trim()) > 0;
    baseImage = (await buildBaseImage(host, owner, { cli: engineCli(host.facts) })).ref;
    // A sleep whose command line names the workspace: cleanup can find it if the suite is killed.
    await host.checkOutput(`mkdir -p ${quoteShell(WS)} && ln -sf "$(command -v sleep)" ${quoteShell(`${WS}/sleep`)}`);
  });

  after(async () => {
    await guard.cleanUp();
    await restoreNetnsDir();
  });

  it('creates and tears down network namespaces with veth pairs', async function () {
    this.timeout(120_000 + sizes.namespaces * 40);
    const rng = seededRandom(seed, 'netns');
    const since = new Date();
    const hangsBefore = await countNetdevHangs();
    const teardown = new Latencies('netns_teardown');
    let created = 0;
    let createUs = 0;
    let destroyUs = 0;
    let pinged = 0;
    let memoryKb = 0;
    const errors = { ns: 0, links: 0, addr: 0, delete: 0, ping: 0 };
    for (let first = 0; first < sizes.namespaces; first += sizes.namespacesPerRound) {
      const count = Math.min(sizes.namespacesPerRound, sizes.namespaces - first);
      const round = netnsRoundScript(first, count, rng);
      const result = await runScript(`netns-${first}`, round.script, 120_000 + count * 100 + teardownLimitMs);
      const out = result.stdout;
      for (const line of tagged(out, 'ERRTEXT')) host.log(`round ${first}: ${line.join(' ')}`);
      const roundCreateUs = taggedNumber(out, 'T', 'ns') + taggedNumber(out, 'T', 'links') + taggedNumber(out, 'T', 'addr');
      createUs += roundCreateUs;
      for (const kind of Object.keys(errors) as Array<keyof typeof errors>) if (kind !== 'ping') errors[kind] += taggedNumber(out, 'ERRS', kind);
      const pings = tagged(out, 'PING');
      const failedPings = pings.filter(([status]) => status !== 'ok').map((words) => words.join(' '));
      errors.ping += failedPings.length;
      pinged += pings.length - failedPings.length;
      memoryKb = Math.max(memoryKb, taggedNumber(out, 'MEM', 'before') - taggedNumber(out, 'MEM', 'made'));
      const latencies = tagged(out, 'LAT').map(([us]) => Number(us) / 1000);
      for (const ms of latencies) teardown.add(ms);
      const left = tagged(out, 'LEFT').map(([name]) => name!);
      for (let i = 0; i < left.length; i++) teardown.addFailure();
      destroyUs += Math.max(taggedNumber(out, 'T', 'delete_cmd'), ...latencies.map((ms) => ms * 1000));
      host.log(`round ${first}: ${count} namespaces made in ${Math.round(roundCreateUs / 1000)} ms, torn down (p50 ${round1(teardown.quantile(0.5) ?? 0)} ms so far), ${pings.length} pings`);

      expect(taggedNumber(out, 'COUNT', 'ns'), `network namespaces present after making ${count} (round from ${first})`).to.equal(count);
      expect(taggedNumber(out, 'COUNT', 'stubs'), `host-side veth peers present after making ${count} namespaces (round from ${first})`).to.equal(count);
      created += count;
      // A hang reported while the batches go on fails the test now, not after hours of soak.
      if (host.events({ class: 'NETDEV_LEAK', since }).length > 0) await expectNoNetdevHang(since, hangsBefore, 0);
      if (left.length > 0) {
        // A teardown still going after the limit: give the kernel's 10-second `unregister_netdevice` report time to come.
        await expectNoNetdevHang(since, hangsBefore, 15_000);
      }
      expect(left, `host-side veth peers still there ${teardownLimitMs} ms after their namespaces were deleted (round from ${first})`).to.deep.equal([]);
      expect(taggedNumber(out, 'COUNT', 'ns_after'), `network namespaces of round ${first} left after deleting them`).to.equal(0);
      expect(taggedNumber(out, 'COUNT', 'stubs_after'), `veths of round ${first} left after deleting their namespaces`).to.equal(0);
      expect(failedPings, `pings across veth pairs (round from ${first})`).to.deep.equal([]);
      expect(result.exitCode, `exit status of the round's script (stderr: ${result.stderr.trim().slice(-300)})`).to.equal(0);
    }
    host.metric('netns_created', created);
    host.metric('netns_created_per_s', perSecond(created, createUs / 1000), '1/s');
    host.metric('netns_destroyed_per_s', perSecond(created, destroyUs / 1000), '1/s');
    host.metric('netns_pings_ok', pinged);
    host.metric('netns_batch_memory_kb', memoryKb, 'KiB');
    for (const [kind, n] of Object.entries(errors)) host.metric(`netns_errors_${kind}`, n);
    teardown.report(host);
    await expectNoNetdevHang(since, hangsBefore, 0);
    expect(errors, 'errors of ip while making and deleting namespaces, veths and addresses, by kind').to.deep.equal({ ns: 0, links: 0, addr: 0, delete: 0, ping: 0 });
    expect(teardown.count, 'namespaces whose teardown was timed').to.equal(created);
    await expectNothingLeft('the namespace rounds');
  });

  it('runs processes in fresh mount, PID, UTS and IPC namespaces', async function () {
    this.timeout(120_000 + sizes.unshares * 40);
    const rng = seededRandom(seed, 'unshare');
    const workers = Math.max(1, sizes.workers);
    // Each line: index, hostname, extra unshare flags.
    const plan = Array.from({ length: sizes.unshares }, (_, i) => ({ i, name: `gtnc-${i}-${rng.int(0, 0xffff).toString(16)}`, net: rng.chance(0.5) }));
    const lists: string[][] = Array.from({ length: workers }, () => []);
    plan.forEach((p, k) => lists[k % workers]!.push(`${p.i} ${p.name} ${p.net ? '--net' : ''}`.trim()));
    const inside = String.raw`set -u
i=$1; name=$2; ws=$3
echo "$name" > /proc/sys/kernel/hostname || exit 11
mount -t tmpfs -o size=1m gauntlet "$ws/unshare-mnt" || exit 12
echo "$i" > "$ws/unshare-mnt/id"
read -r id < "$ws/unshare-mnt/id"
read -r hn < /proc/sys/kernel/hostname
set -- $(readlink /proc/self/ns/mnt /proc/self/ns/pid /proc/self/ns/uts /proc/self/ns/ipc /proc/self/ns/net)
echo "OK $i $$ $hn $id $1 $2 $3 $4 $5"
`;
    const script = String.raw`${PRELUDE}
dir="$ws/unshare-work"
mkdir -p "$dir" "$ws/unshare-mnt" && cd "$dir" || exit 90
cat > inside.sh <<'GTNC_EOF'
${inside}GTNC_EOF
${lists.map((lines, k) => `cat > list.${k} <<'GTNC_EOF'\n${lines.join('\n')}\nGTNC_EOF`).join('\n')}
read -r hostname_before < /proc/sys/kernel/hostname
echo "HOST $(readlink /proc/self/ns/mnt /proc/self/ns/pid /proc/self/ns/uts /proc/self/ns/ipc /proc/self/ns/net | tr '\n' ' ')"
t0=$(now)
${lists
  .map((_, k) => `( while read -r i name net; do unshare --mount --pid --uts --ipc $net --fork --mount-proc --propagation private sh "$dir/inside.sh" "$i" "$name" "$ws" || echo "FAIL $i exit $?"; done < list.${k} ) > out.${k} 2>err.${k} &`)
  .join('\n')}
wait
t1=$(now)
cat out.*
for f in err.*; do head -n 3 "$f" | sed "s/^/ERRTEXT $f: /"; done
echo "T unshare $((t1 - t0))"
read -r hostname_after < /proc/sys/kernel/hostname
[ "$hostname_before" = "$hostname_after" ] && echo "HOSTNAME same" || echo "HOSTNAME changed $hostname_before $hostname_after"
echo "MOUNTS $(awk '{print $5}' /proc/self/mountinfo | grep -c -F "$ws/unshare-mnt")"
[ -e "$ws/unshare-mnt/id" ] && echo "FILE leaked" || echo "FILE none"
rmdir "$ws/unshare-mnt"
cd / && rm -rf "$dir"
`;
    const result = await runScript('unshare', script, 120_000 + sizes.unshares * 40);
    const out = result.stdout;
    for (const line of tagged(out, 'ERRTEXT').slice(0, 10)) host.log(line.join(' '));
    const [hostMnt, hostPid, hostUts, hostIpc, hostNet] = tagged(out, 'HOST')[0] ?? [];
    expect(hostMnt, 'the session\'s own namespaces (readlink /proc/self/ns/*)').to.match(/^mnt:\[\d+\]$/);
    const ok = new Map(tagged(out, 'OK').map((words) => [Number(words[0]), words]));
    const failed = tagged(out, 'FAIL').map((words) => words.join(' '));
    const wrong: string[] = [];
    for (const p of plan) {
      const words = ok.get(p.i);
      if (!words) continue;
      const [, pid, hostname, id, mnt, pidNs, uts, ipc, net] = words;
      const problems = [
        pid !== '1' && `pid ${pid} (expected 1)`,
        hostname !== p.name && `hostname ${hostname} (expected ${p.name})`,
        id !== String(p.i) && `tmpfs file held ${id}`,
        mnt === hostMnt && 'same mount namespace as the host',
        pidNs === hostPid && 'same PID namespace as the host',
        uts === hostUts && 'same UTS namespace as the host',
        ipc === hostIpc && 'same IPC namespace as the host',
        p.net ? net === hostNet && 'same network namespace as the host despite --net' : net !== hostNet && 'a network namespace of its own without --net',
      ].filter(Boolean);
      if (problems.length > 0) wrong.push(`#${p.i}: ${problems.join(', ')}`);
    }
    const t = taggedNumber(out, 'T', 'unshare');
    host.metric('unshare_started', ok.size);
    host.metric('unshare_per_s', perSecond(ok.size, t / 1000), '1/s');
    host.metric('unshare_failures', sizes.unshares - ok.size);
    expect(failed, 'unshared processes that failed (exit status)').to.deep.equal([]);
    expect(ok.size, 'unshared processes that reported their namespaces').to.equal(sizes.unshares);
    expect(wrong, 'unshared processes whose namespaces were not their own').to.deep.equal([]);
    expect(tagged(out, 'HOSTNAME')[0]?.join(' '), 'the host\'s hostname after the UTS namespaces').to.equal('same');
    expect(Number(tagged(out, 'MOUNTS')[0]?.[0]), 'tmpfs mounts of the unshared processes visible in the host\'s mount namespace').to.equal(0);
    expect(tagged(out, 'FILE')[0]?.join(' '), 'files the unshared processes wrote on their private tmpfs, seen from the host').to.equal('none');
    expect(result.exitCode, 'exit status of the unshare script').to.equal(0);
    await expectNothingLeft('the unshared processes');
  });

  it('starts containers in network namespaces of their own, with a veth plugged into each', async function () {
    this.timeout(120_000 + (sizes.containers * 3000) / Math.max(1, sizes.containerConcurrency));
    const rng = seededRandom(seed, 'containers');
    const since = new Date();
    const hangsBefore = await countNetdevHangs();
    const create = new Latencies('container_create');
    const start = new Latencies('container_start');
    const remove = new Latencies('container_remove');
    const containers: Array<{ index: number; container: Docker.Container; pid: number }> = [];
    const hub = ownedName(owner, 'hub', 0);
    const started = performance.now();
    try {
      await inPool(
        Array.from({ length: sizes.containers }, (_, i) => i),
        sizes.containerConcurrency,
        async (index) => {
          const container = await create.time(() => createContainer(ownedName(owner, 'c', index), ['sleep', '600']));
          containers.push({ index, container, pid: 0 });
          await start.time(() => withDeadline(`start ${ownedName(owner, 'c', index)}`, opTimeoutMs, () => container.start()));
        },
      );
      const startedMs = performance.now() - started;
      host.metric('containers_started_per_s', perSecond(containers.length, startedMs), '1/s');
      for (const entry of containers) {
        const info = await withDeadline('inspect', opTimeoutMs, () => entry.container.inspect());
        entry.pid = info.State.Pid;
        expect(info.State.Running, `container ${info.Name} is running`).to.equal(true);
      }
      containers.sort((a, b) => a.index - b.index);

      // A hub namespace of ours, with one veth per container: one end in the hub, the other in the container's
      // namespace, a /31 on each (10.213.128.0/17).
      const hubEnd = (i: number) => ownedLinkName(owner, CONTAINER_LINK_BASE + 2 * i);
      const cEnd = (i: number) => ownedLinkName(owner, CONTAINER_LINK_BASE + 2 * i + 1);
      const hubAddress = (i: number) => labAddress(0x8000 + 2 * i);
      const cAddress = (i: number) => labAddress(0x8000 + 2 * i + 1);
      const pingIndexes = shuffled(containers.map((c) => c.index), rng).slice(0, Math.min(sizes.pingChecks, containers.length));
      const plug = String.raw`${PRELUDE}
cd "$ws" || exit 90
HUB=${quoteShell(hub)}
echo "HOSTNET $(readlink /proc/1/ns/net) $(readlink /proc/self/ns/net)"
${containers.map((c) => `echo "CNET ${c.index} $(readlink /proc/${c.pid}/ns/net)"`).join('\n')}
ip netns add "$HUB" && ip -n "$HUB" link set lo up || exit 92
t0=$(now)
ip -force -batch - 2>err.plug <<'GTNC_EOF'
${containers.map((c) => `link add ${hubEnd(c.index)} netns ${hub} type veth peer name ${cEnd(c.index)} netns ${c.pid}`).join('\n')}
GTNC_EOF
ip -n "$HUB" -force -batch - 2>>err.plug <<'GTNC_EOF'
${containers.map((c) => `addr add ${hubAddress(c.index)}/31 dev ${hubEnd(c.index)}\nlink set ${hubEnd(c.index)} up`).join('\n')}
GTNC_EOF
${containers.map((c) => `nsenter -t ${c.pid} -n ip -force -batch - 2>>err.plug <<'GTNC_EOF'\naddr add ${cAddress(c.index)}/31 dev ${cEnd(c.index)}\nlink set ${cEnd(c.index)} up\nGTNC_EOF`).join('\n')}
t1=$(now)
echo "T plug $((t1 - t0))"
echo "ERRS plug $(grep -c . err.plug)"
head -n 3 err.plug | sed 's/^/ERRTEXT /'; rm -f err.plug
echo "COUNT hub $(ip -n "$HUB" -o link show type veth | grep -c .)"
${pingIndexes.map((i) => `if [ -z "$PING" ]; then echo "PING none"; elif nsenter --net=${NETNS_DIR}/${hub} $PING -c 1 -W 2 ${cAddress(i)} >/dev/null 2>&1; then echo "PING ok ${i}"; else echo "PING fail ${i} ${cAddress(i)}"; fi`).join('\n')}
`;
      const plugged = await runScript('plug', plug, 120_000 + sizes.containers * 100);
      const out = plugged.stdout;
      for (const line of tagged(out, 'ERRTEXT')) host.log(`plug: ${line.join(' ')}`);
      const [initNet, sessionNet] = tagged(out, 'HOSTNET')[0] ?? [];
      const netOf = new Map(tagged(out, 'CNET').map(([i, ns]) => [Number(i), ns!]));
      const namespaces = [...netOf.values()];
      expect(namespaces.length, 'containers whose network namespace was read').to.equal(containers.length);
      expect(new Set(namespaces).size, `distinct network namespaces of ${containers.length} containers`).to.equal(containers.length);
      expect(namespaces.filter((ns) => ns === initNet || ns === sessionNet), 'containers sharing the host\'s network namespace').to.deep.equal([]);
      expect(taggedNumber(out, 'ERRS', 'plug'), 'errors of ip while plugging veths into the containers').to.equal(0);
      expect(taggedNumber(out, 'COUNT', 'hub'), 'veth ends in the hub namespace, one per container').to.equal(containers.length);
      const failedPings = tagged(out, 'PING').filter(([status]) => status !== 'ok').map((words) => words.join(' '));
      expect(failedPings, 'pings from the hub into containers').to.deep.equal([]);
      host.metric('container_plug_ms', round1(taggedNumber(out, 'T', 'plug') / 1000), 'ms');

      // Removal in a seeded order, some stopped first: each container's namespace, and the veth in it, goes.
      const removing = performance.now();
      // Decided before the pool runs, so the choices do not depend on which removal finishes first.
      const removals = shuffled(containers, rng).map(({ container }) => ({ container, stopFirst: rng.chance(0.3) }));
      await inPool(removals, sizes.containerConcurrency, async ({ container, stopFirst }) => {
        await remove.time(() =>
          withDeadline(`remove ${container.id.slice(0, 12)}`, opTimeoutMs, async () => {
            if (stopFirst) await container.stop({ t: 1 });
            await container.remove({ force: true });
          }),
        );
      });
      const removedMs = performance.now() - removing;
      host.metric('containers_removed_per_s', perSecond(containers.length, removedMs), '1/s');
      // The hub's ends vanish when the kernel has dismantled the containers' namespaces.
      const gone = await host.run(
        `t0=$(date +%s%6N); limit=$((t0 + ${teardownLimitMs * 1000})); while n=$(ip -n ${quoteShell(hub)} -o link show type veth | grep -c .); [ "$n" -gt 0 ] && [ $(date +%s%6N) -lt $limit ]; do sleep 0.01; done; echo "LEFT $n"; echo "T $(( $(date +%s%6N) - t0 ))"; ` +
          `for p in ${containers.map((c) => c.pid).join(' ')}; do [ -d /proc/$p ] && echo "ALIVE $p"; done; ip netns del ${quoteShell(hub)}; true`,
        { timeout: teardownLimitMs + 60_000 },
      );
      const hubLeft = Number(tagged(gone.stdout, 'LEFT')[0]?.[0]);
      host.metric('container_netns_teardown_ms', round1(Number(tagged(gone.stdout, 'T')[0]?.[0]) / 1000), 'ms');
      if (hubLeft !== 0) await expectNoNetdevHang(since, hangsBefore, 15_000);
      expect(hubLeft, `veths left in the hub ${teardownLimitMs} ms after their containers were removed`).to.equal(0);
      expect(tagged(gone.stdout, 'ALIVE').map(([pid]) => pid), 'container processes alive after removal').to.deep.equal([]);
      const listed = await host.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`gauntlet.run=${runId}`, `gauntlet.suite=${SUITE}`] }) });
      expect(listed.map((c) => c.Names[0]), 'this suite\'s containers the engine still lists after removal').to.deep.equal([]);
    } finally {
      create.report(host);
      start.report(host);
      remove.report(host);
      await Promise.all(containers.map(({ container }) => removeQuietly(container)));
      await host.run(`ip netns del ${quoteShell(hub)} 2>/dev/null; true`);
    }
    await expectNoNetdevHang(since, hangsBefore, 0);
    await expectNothingLeft('the containers');
  });

  it('builds deep and wide cgroup trees and moves processes through them', async function () {
    const rng = seededRandom(seed, 'cgroups');
    const nodes = sizes.cgroupDepth + sizes.cgroupWidth * 2;
    this.timeout(120_000 + sizes.cgroupRounds * (nodes * 4 + sizes.cgroupMoves * 2));
    const totals = { mkdir: 0, mkdirUs: 0, move: 0, moveUs: 0, moveErrors: 0, rmdir: 0, rmdirUs: 0 };
    let version = '';
    for (let round = 0; round < sizes.cgroupRounds; round++) {
      const plan = planCgroupTree(rng);
      const result = await runScript(`cgroup-${round}`, cgroupRoundScript(plan, owner.prefix), 120_000 + nodes * 4 + sizes.cgroupMoves * 2);
      const out = result.stdout;
      version = tagged(out, 'VERSION')[0]?.[0] ?? '';
      expect(out, 'the host has a cgroup v2 tree or v1 pids/memory hierarchies').to.not.include('NOROOTS');
      const roots = (tagged(out, 'ROOTS')[0] ?? []).filter(Boolean);
      for (const [, n, us] of tagged(out, 'MKDIR')) {
        totals.mkdir += Number(n);
        totals.mkdirUs += Number(us);
      }
      for (const [, n, us, errs] of tagged(out, 'MOVE')) {
        totals.move += Number(n);
        totals.moveUs += Number(us);
        totals.moveErrors += Number(errs);
      }
      for (const [, n, us] of tagged(out, 'RMDIR')) {
        totals.rmdir += Number(n);
        totals.rmdirUs += Number(us);
      }
      const made = tagged(out, 'MKDIR').map(([root, n]) => `${root} ${n}`);
      expect(made, `cgroups made under each hierarchy (round ${round})`).to.deep.equal(roots.map((root) => `${root} ${plan.dirs.length + 1}`));
      // Where each process ended up, per hierarchy: `0::/path` (v2) or `N:pids:/path`, `N:memory:/path` (v1).
      const misplaced: string[] = [];
      for (const [k, ...lines] of tagged(out, 'CG')) {
        const rel = plan.finalDir[Number(k)]!;
        const expected = `/${owner.prefix}${rel === '.' ? '' : `/${rel}`}`;
        const paths = lines.filter(Boolean).map((line) => line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1));
        if (paths.length !== roots.length || paths.some((path) => path !== expected)) misplaced.push(`process ${k}: ${lines.join(' ')} (expected ${expected})`);
      }
      expect(tagged(out, 'CG').length, 'processes whose cgroups were read').to.equal(sizes.cgroupProcesses);
      expect(misplaced, `processes not in the cgroup their last move put them in (round ${round})`).to.deep.equal([]);
      expect(totals.moveErrors, 'process moves the kernel refused').to.equal(0);
      expect(tagged(out, 'LEFT').map((words) => words.join(' ')), `cgroup trees left after removing them (round ${round})`).to.deep.equal([]);
      expect(result.exitCode, `exit status of the cgroup script (stderr: ${result.stderr.trim().slice(-300)})`).to.equal(0);
    }
    host.log(`cgroup v${version}: ${totals.mkdir} made, ${totals.move} moves, ${totals.rmdir} removed`);
    host.metric('cgroup_version', Number(version));
    host.metric('cgroup_mkdir_per_s', perSecond(totals.mkdir, totals.mkdirUs / 1000), '1/s');
    host.metric('cgroup_moves_per_s', perSecond(totals.move, totals.moveUs / 1000), '1/s');
    host.metric('cgroup_rmdir_per_s', perSecond(totals.rmdir, totals.rmdirUs / 1000), '1/s');
    host.metric('cgroup_ops_per_s', perSecond(totals.mkdir + totals.move + totals.rmdir, (totals.mkdirUs + totals.moveUs + totals.rmdirUs) / 1000), '1/s');
    host.metric('cgroup_move_errors', totals.moveErrors);
    await expectNothingLeft('the cgroup trees');
  });

  it('confines OOM kills to the memory-limited containers', async function () {
    this.timeout(120_000 + oomEventWaitMs + sizes.oomContainers * 5000);
    const rng = seededRandom(seed, 'oom');
    const since = new Date();
    const limitBytes = sizes.oomMemoryMiB * 1024 * 1024;
    const kill = new Latencies('oom_kill');
    const bystanderProcess = Number((await host.checkOutput(`nohup ${quoteShell(`${WS}/sleep`)} 600 </dev/null >/dev/null 2>&1 & echo $!`)).trim());
    const containers: Docker.Container[] = [];
    try {
      const bystander = await createContainer(ownedName(owner, 'oom-bystander', 0), ['sleep', '600']);
      containers.push(bystander);
      await withDeadline('start bystander', opTimeoutMs, () => bystander.start());
      // Each limited container allocates more than its limit, one way or another: `tail` buffering an endless line,
      // or `dd` with one block of twice the limit.
      const limited = await Promise.all(
        Array.from({ length: sizes.oomContainers }, async (_, i) => {
          const cmd = rng.chance(0.5) ? ['sh', '-c', 'tail /dev/zero'] : ['dd', 'if=/dev/zero', 'of=/dev/null', `bs=${sizes.oomMemoryMiB * 2}M`, 'count=8'];
          const container = await createContainer(ownedName(owner, 'oom', i), cmd, { Memory: limitBytes, MemorySwap: limitBytes });
          containers.push(container);
          return { container, cmd };
        }),
      );
      const exits = await Promise.all(
        limited.map(({ container }) =>
          kill.time(async () => {
            await withDeadline('start an OOM container', opTimeoutMs, () => container.start());
            return (await withDeadline('wait for an OOM container', opTimeoutMs, () => container.wait())) as { StatusCode: number };
          }),
        ),
      );
      const states = await Promise.all(limited.map(({ container }) => container.inspect()));
      const ids = states.map((s) => s.Id);

      // Evidence, per container: the kernel watch's OOM event, the kernel log, the engine's flag.
      const kernelLog = (await host.run(`dmesg 2>/dev/null | grep -E 'oom-kill:|Memory cgroup out of memory|Task in /' || true`)).stdout;
      // Kernel log lines are matched by container id, which no other run shares.
      // The watch reports each kill a moment after the kernel logged it: wait until it has reported every
      // container's, or until oomEventWaitMs (all of it when the watch is off or cannot read the kernel log).
      const waitUntil = Date.now() + oomEventWaitMs;
      const seenByWatch = () => ids.every((id) => host.events({ class: 'OOM', since }).some((event) => event.excerpt.includes(id)));
      await host.waitForEvent({ class: 'OOM', since }, oomEventWaitMs).catch(() => null);
      while (!seenByWatch() && Date.now() < waitUntil) await sleep(250);
      const events = host.events({ class: 'OOM', since });
      const evidence = limited.map((_, i) => {
        const id = ids[i]!;
        return {
          exit: exits[i]!.StatusCode,
          engine: states[i]!.State.OOMKilled === true,
          event: events.some((event) => event.excerpt.includes(id)),
          kernelLog: kernelLog.split('\n').some((line) => line.includes(id)),
        };
      });
      host.log(`OOM evidence: ${evidence.map((e, i) => `${ownedName(owner, 'oom', i)} (${limited[i]!.cmd[0]}): exit ${e.exit}, engine ${e.engine}, watch ${e.event}, kernel log ${e.kernelLog}`).join('; ')}`);
      host.log(`kernel OOM events: ${events.map((event) => `${event.title} (${event.source})`).join('; ') || 'none'}`);
      kill.report(host);
      host.metric('oom_killed_reported_by_engine', evidence.filter((e) => e.engine).length);
      host.metric('oom_kills_seen_by_watch', evidence.filter((e) => e.event).length);
      host.metric('oom_kills_in_kernel_log', evidence.filter((e) => e.kernelLog).length);
      host.metric('oom_events', events.length);

      expect(evidence.map((e) => e.exit), 'exit codes of the memory-limited containers (137: SIGKILL)').to.deep.equal(evidence.map(() => 137));
      const unexplained = evidence.map((e, i) => (!e.engine && !e.event && !e.kernelLog ? ownedName(owner, 'oom', i) : null)).filter(Boolean);
      expect(unexplained, 'killed containers with no OOM evidence (kernel watch event, kernel log line or the engine\'s OOMKilled)').to.deep.equal([]);
      // Confined: the kernel killed in memory cgroups only, and only in ours; the bystanders live on.
      const global = events.filter((event) => !/memory cgroup/i.test(event.title));
      expect(global.map((event) => event.title), 'OOM events that were not confined to a memory cgroup (a host-wide OOM)').to.deep.equal([]);
      const elsewhere = events.filter((event) => /oom_memcg=|Task in \//.test(event.excerpt) && !ids.some((id) => event.excerpt.includes(id)));
      expect(elsewhere.map((event) => event.excerpt.split('\n').find((line) => /oom_memcg=|Task in \//.test(line))), 'OOM kills in cgroups other than the limited containers\'').to.deep.equal([]);
      const bystanderState = await bystander.inspect();
      expect(bystanderState.State.Running, 'the unlimited bystander container is still running').to.equal(true);
      expect(bystanderState.State.OOMKilled, 'the bystander container was not OOM-killed').to.equal(false);
      const alive = await host.run(`kill -0 ${bystanderProcess}`);
      expect(alive.exitCode, `the bystander process ${bystanderProcess} on the host is still alive`).to.equal(0);
    } finally {
      await host.run(`kill ${bystanderProcess} 2>/dev/null; true`);
      await Promise.all(containers.map(removeQuietly));
    }
  });

  it('stops a fork loop at the container\'s pids limit', async function () {
    this.timeout(60_000 + 2 * opTimeoutMs);
    const limit = Math.max(4, sizes.pidsLimit);
    const container = await createContainer(ownedName(owner, 'pids', 0), ['sleep', '600'], { PidsLimit: limit });
    try {
      await withDeadline('start the pids container', opTimeoutMs, () => container.start());
      const info = await container.inspect();
      expect(info.HostConfig.PidsLimit, 'the pids limit the engine applied').to.equal(limit);
      // The loop tries four times the limit, then becomes one more sleep itself: at the limit the count is exact.
      const loop = `i=0; while [ $i -lt ${4 * limit} ]; do sleep 600 </dev/null >/dev/null 2>&1 & i=$((i+1)); done; exec sleep 600`;
      const exec = await container.exec({ Cmd: ['sh', '-c', loop], AttachStdout: false, AttachStderr: false });
      const started = performance.now();
      await withDeadline('start the fork loop', opTimeoutMs, () => exec.start({ Detach: true }));
      let count = 0;
      let previous = -1;
      let stableSince = performance.now();
      // Counted from the engine (`top`), which looks from the host: the container itself cannot fork at its limit.
      // busybox sh gives up at its first failed fork, so the count ends at the limit or one below it.
      while (performance.now() - started < 30_000) {
        const top = await withDeadline('top', opTimeoutMs, () => container.top());
        count = top.Processes?.length ?? 0;
        if (count !== previous) {
          previous = count;
          stableSince = performance.now();
        } else if (count >= limit - 1 && performance.now() - stableSince > 1000) break;
        await sleep(250);
      }
      host.metric('pids_limit', limit);
      host.metric('pids_reached', count);
      host.metric('pids_limit_held', count <= limit ? 1 : 0);
      host.log(`pids limit ${limit}: ${count} processes after the fork loop tried ${4 * limit}`);
      expect(count, `processes in the container with pids limit ${limit} after a loop forked ${4 * limit}`).to.be.at.most(limit);
      expect(count, `processes in the container: the loop should have reached the limit ${limit}`).to.be.at.least(limit - 1);
      const after = await host.run('sh -c "echo forked"');
      expect(after.stdout.trim(), 'the host itself can still fork').to.equal('forked');
    } finally {
      await removeQuietly(container);
    }
  });

  it('leaves the host as it found it', async function () {
    this.timeout(600_000);
    await restoreNetnsDir();
    await guard.expectLeftAsFound();
  });
});
