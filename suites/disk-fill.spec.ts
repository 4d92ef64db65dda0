// Near-full disks: fills the filesystem under an engine's data root to 95, 99 and 100 percent (fallocate, then dd
// until ENOSPC) and then exhausts its inodes (many small files), and at each level drives the engine: run a
// container, write in one, commit it, "pull" (docker load of an archive saved before the fill), print many log lines
// through the json-file log driver, and remove. Every operation must succeed or fail cleanly with an ENOSPC-class
// error, within a timeout; the kernel must not panic; the images that were there before must come out intact (image
// ID, RootFS layer digests, the digests of the layers the engine saves, a file's checksum); and once the fill is gone
// the engine must work again without a restart (same dockerd PID).
//
// Where: the engine's real data root is filled only on hosts with `gauntlet_disposable: true`. Everywhere else the
// suite makes a loop-mounted filesystem (params.fs) in its workspace and starts a second dockerd on it
// (--data-root, --exec-root, --pidfile and its socket in the workspace; no bridge, no iptables; its own containerd,
// or the system containerd in a namespace of its own when one runs), driven with `docker -H unix://…`. All fill
// files are named `<data root>/gauntlet-<run id>-disk-fill-fill…`, and the second engine's command line names the
// workspace, so `gauntlet clean` removes all of it after an interrupted run.
//
// The engine is driven with its CLI, not the API: the second engine has no API client in the suite, and one code
// path serves both places. The host needs root, util-linux (losetup, mount, fallocate), coreutils (timeout),
// mkfs for params.fs, and docker with its CLI.
//
// Parameters (see SIZES and meta.params below): scale, loopSizeMiB, writeMiB, payloadMiB, logLines, rounds,
// opTimeoutS, fillTimeoutS, fs (ext4 | xfs | btrfs, default ext4), target (auto | loop, default auto).

import { createCipheriv, createHash } from 'node:crypto';
import { expect } from 'chai';
import {
  Latencies,
  buildBaseImage,
  describeSizes,
  engineCli,
  guardHost,
  host,
  labelChanges,
  labelOptions,
  meta,
  ownedName,
  ownerOf,
  params,
  quoteShell,
  runId,
  seed,
  seededRandom,
  sizesFor,
  type SizeTable,
} from 'gauntlet/suite';

const SIZES: SizeTable<{
  loopSizeMiB: number;
  writeMiB: number;
  payloadMiB: number;
  logLines: number;
  rounds: number;
  opTimeoutS: number;
  fillTimeoutS: number;
}> = {
  quick: { loopSizeMiB: 512, writeMiB: 8, payloadMiB: 4, logLines: 20_000, rounds: 1, opTimeoutS: 30, fillTimeoutS: 30 },
  full: { loopSizeMiB: 2048, writeMiB: 64, payloadMiB: 32, logLines: 200_000, rounds: 3, opTimeoutS: 120, fillTimeoutS: 300 },
  soak: { loopSizeMiB: 8192, writeMiB: 256, payloadMiB: 128, logLines: 2_000_000, rounds: 100, opTimeoutS: 300, fillTimeoutS: 1800 },
};

const FILESYSTEMS = ['ext4', 'xfs', 'btrfs'] as const;
type Filesystem = (typeof FILESYSTEMS)[number];

meta({
  description:
    'Fills the filesystem under a data root to 95, 99, 100 % and out of inodes; engine operations succeed or fail with ENOSPC, never hang, images stay intact, and the engine recovers without a restart. The real data root only on gauntlet_disposable hosts; elsewhere a second dockerd on a loop filesystem in the workspace.',
  requires: { engine: 'docker' },
  timeoutMs: 300_000,
  params: {
    ...describeSizes(SIZES, {
      loopSizeMiB: 'size of the loop filesystem made for the second engine on hosts that are not disposable, in MiB',
      writeMiB: 'MiB a container writes at each fill level',
      payloadMiB: 'MiB of the payload layer in the image that is loaded ("pulled") from an archive at each level',
      logLines: 'lines a container prints through the json-file log driver at each level',
      rounds: 'times each fill level is repeated',
      opTimeoutS: 'seconds an engine operation may take before it counts as hung',
      fillTimeoutS: 'seconds a fill may take (inode exhaustion of a large filesystem stops there)',
    }),
    fs: { default: 'ext4', description: `filesystem of the loop data root: ${FILESYSTEMS.join(', ')}` },
    target: {
      default: 'auto',
      description: 'auto: the engine\'s real data root on gauntlet_disposable hosts, a second engine on a loop filesystem elsewhere; loop: always the loop filesystem',
    },
  },
});

const SUITE = 'disk-fill';
const owner = ownerOf(runId, SUITE);
const sizes = sizesFor(params, SIZES);
const guard = guardHost(host, owner);

const fsParam = params.fs ?? 'ext4';
if (typeof fsParam !== 'string' || !(FILESYSTEMS as readonly string[]).includes(fsParam)) {
  throw new Error(`--param fs: expected one of ${FILESYSTEMS.join(', ')}, got ${JSON.stringify(fsParam)}`);
}
const targetParam = params.target ?? 'auto';
if (targetParam !== 'auto' && targetParam !== 'loop') throw new Error(`--param target: expected auto or loop, got ${JSON.stringify(targetParam)}`);

/** What an ENOSPC-class failure says: out of space or inodes, over a quota, or a file past its limit. */
const ENOSPC_TEXT = /no space left on device|ENOSPC|disk quota exceeded|EDQUOT|not enough (free )?space|file too large|EFBIG/i;

const OUTCOMES = ['ok', 'enospc', 'other', 'timeout'] as const;
type Outcome = (typeof OUTCOMES)[number];
const OP_KINDS = ['run', 'write', 'commit', 'load', 'logs', 'remove'] as const;
type OpKind = (typeof OP_KINDS)[number];

interface OpResult {
  kind: OpKind;
  outcome: Outcome;
  ms: number;
  /** What the operation said: its line about the lack of space, else its last lines (or what its check found). */
  said: string;
}

const lastLines = (text: string, n = 2): string => text.trim().split('\n').filter(Boolean).slice(-n).join(' | ');

/** The engine under test: the host's own (real data root) or a second one on a loop filesystem. */
interface Engine {
  where: 'data-root' | 'loop';
  /** The CLI with the options that reach this engine. */
  cli: string;
  dataRoot: string;
  /** Fill files are this path plus a suffix: `<data root>/gauntlet-<run id>-disk-fill-fill…`. */
  fillBase: string;
  /** Loop only. */
  loop?: { image: string; mount: string; execRoot: string; pidfile: string; socket: string; log: string; containerd: string };
}

let engine: Engine | null = null;
/** dockerd's PID and start time (clock ticks since boot), from before the first fill. */
let daemonBefore: string | null = null;

/** What must be unchanged after the fills. */
interface ImageRecord {
  ref: string;
  id: string;
  layers: string[];
  /** sha256 of each layer tar in a `docker save` of the image, in order: the layers' content as stored. */
  savedLayers: string[];
  /** `sha256sum` of a file inside, from a container. */
  fileSum: string;
}
let baseRecord: ImageRecord | null = null;
/** The image loaded at each level: saved with the base image before the fill, then removed. */
let pull: { ref: string; id: string; layers: string[]; payloadSha: string } | null = null;
const archive = `${owner.workspace}/archive.tar`;

const latencies = new Map<OpKind, Latencies>(OP_KINDS.map((kind) => [kind, new Latencies(`op_${kind}`)]));
const counts = new Map<string, number>();
let opsDone = 0;
let opsMs = 0;
let slowestFailureMs = 0;

function countOutcome(kind: OpKind, outcome: Outcome): void {
  const key = `op_${kind}_${outcome}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function reportOutcomes(): void {
  for (const kind of OP_KINDS) {
    for (const outcome of OUTCOMES) host.metric(`op_${kind}_${outcome}`, counts.get(`op_${kind}_${outcome}`) ?? 0);
    latencies.get(kind)!.report(host);
  }
  host.metric('op_failure_max_ms', Math.round(slowestFailureMs), 'ms');
  if (opsMs > 0) host.metric('ops_per_s', Math.round((opsDone / (opsMs / 1000)) * 100) / 100, 'ops/s');
}

function requireEngine(): Engine {
  if (!engine) throw new Error('the engine under test was not set up (see the before hook)');
  return engine;
}

/** The engine command on the host, for the host's own engine. */
function realCli(): string {
  const socket = host.vars.gauntlet_docker_socket;
  return typeof socket === 'string' ? `${engineCli(host.facts)} -H ${quoteShell(`unix://${socket}`)}` : engineCli(host.facts);
}

/** Runs a setup or check command on the engine that must succeed; the error names what failed. */
async function engineOutput(what: string, command: string, timeoutS = sizes.opTimeoutS): Promise<string> {
  const result = await host.run(`timeout -k 5 ${timeoutS} sh -c ${quoteShell(command)}`, { timeout: (timeoutS + 15) * 1000 });
  if (result.exitCode !== 0) throw new Error(`${what} failed (exit ${result.exitCode ?? result.signal}${result.timedOut ? ', timed out' : ''}): ${lastLines(result.stderr || result.stdout, 3)}`);
  return result.stdout;
}

/**
 * Runs one engine operation under a timeout and classifies it: `ok` (exit 0 and `check` agrees), `enospc` (it
 * failed and said so), `timeout` (it hung), `other` (it failed another way, or succeeded with a wrong result).
 */
async function runOp(kind: OpKind, command: string, check?: (stdout: string) => Promise<string | null> | string | null): Promise<OpResult> {
  let outcome = 'other' as Outcome;
  let said = '';
  const started = performance.now();
  // Latencies keeps the durations of successful operations as samples and counts the rest as failures.
  await latencies
    .get(kind)!
    .time(async () => {
      const result = await host.run(`timeout -k 5 ${sizes.opTimeoutS} sh -c ${quoteShell(command)}`, { timeout: (sizes.opTimeoutS + 20) * 1000 });
      const text = `${result.stdout}\n${result.stderr}`;
      // What it said: the line naming the lack of space when there is one, else its last lines.
      said = text.split('\n').find((line) => ENOSPC_TEXT.test(line))?.trim() ?? lastLines(result.stderr || result.stdout);
      if (result.timedOut || result.exitCode === 124 || result.exitCode === 137 || result.exitCode === null) outcome = 'timeout';
      else if (result.exitCode !== 0) outcome = ENOSPC_TEXT.test(text) ? 'enospc' : 'other';
      else {
        const problem = (await check?.(result.stdout)) ?? null;
        outcome = problem === null ? 'ok' : ENOSPC_TEXT.test(problem) ? 'enospc' : 'other';
        if (problem !== null) said = problem;
      }
      if (outcome !== 'ok') throw new Error(outcome);
    })
    .catch(() => undefined);
  const ms = performance.now() - started;
  countOutcome(kind, outcome);
  opsDone++;
  opsMs += ms;
  if (outcome !== 'ok') slowestFailureMs = Math.max(slowestFailureMs, ms);
  return { kind, outcome, ms, said };
}

/** Filesystem numbers of the data root: block size, blocks, free blocks, blocks available, inodes, free inodes. */
interface FsStats {
  bs: number;
  blocks: number;
  free: number;
  avail: number;
  inodes: number;
  freeInodes: number;
}

const STAT_FS = (dir: string): string => `stat -f -c '%S %b %f %a %c %d' ${quoteShell(dir)}`;

function parseStats(line: string): FsStats {
  const [bs, blocks, free, avail, inodes, freeInodes] = line.trim().split(/\s+/).map(Number);
  if ([bs, blocks, free, avail, inodes, freeInodes].some((n) => n === undefined || !Number.isFinite(n))) throw new Error(`cannot read filesystem numbers from ${JSON.stringify(line)}`);
  return { bs: bs!, blocks: blocks!, free: free!, avail: avail!, inodes: inodes!, freeInodes: freeInodes! };
}

/** Used space as df shows it (used / (used + available)), and used inodes, in percent; inodes null where unlimited. */
function usage(stats: FsStats): { spacePct: number; inodesPct: number | null } {
  const used = stats.blocks - stats.free;
  const spacePct = used + stats.avail > 0 ? (100 * used) / (used + stats.avail) : 100;
  const inodesPct = stats.inodes > 0 ? (100 * (stats.inodes - stats.freeInodes)) / stats.inodes : null;
  return { spacePct: Math.round(spacePct * 100) / 100, inodesPct: inodesPct === null ? null : Math.round(inodesPct * 100) / 100 };
}

type Level = 95 | 99 | 100 | 'inodes';

/**
 * Fills the data root's filesystem: to `level` percent of space as df counts it (fallocate; at 100, dd until
 * ENOSPC after it, which also takes root's reserve), or, for `inodes`, with empty files until no inode (or no
 * space for one) is left. Bounded by fillTimeoutS. Resolves to what was reached.
 */
async function fill(level: Level, tag: string): Promise<{ stats: FsStats; ms: number; files: number }> {
  const { dataRoot, fillBase } = requireEngine();
  const base = `${fillBase}-${tag}`;
  const script =
    level === 'inodes'
      ? String.raw`
dir=${quoteShell(`${base}-inodes`)}
mkdir -p "$dir" || exit 0
i=0
while :; do
  set -- $(${STAT_FS(dataRoot)})
  [ "$5" -gt 0 ] && [ "$6" -le 0 ] && break
  mkdir "$dir/$i" 2>/dev/null || break
  (cd "$dir/$i" && seq 1 4000 | xargs touch) 2>/dev/null || break
  i=$((i + 1))
done`
      : String.raw`
set -- $(${STAT_FS(dataRoot)})
bs=$1 used=$(($2 - $3)) avail=$4
target=${level}
if [ "$target" -ge 100 ]; then
  fallocate -l $((avail * bs)) ${quoteShell(`${base}-1`)} 2>/dev/null || fallocate -l $(((avail - avail / 50) * bs)) ${quoteShell(`${base}-1`)} 2>/dev/null
  n=2
  for size in 1M 64k 4k 1k; do dd if=/dev/zero of=${quoteShell(`${base}-`)}$n bs=$size 2>/dev/null; n=$((n + 1)); done
else
  need=$((((used + avail) * target + 99) / 100 - used))
  if [ "$need" -gt 0 ]; then
    fallocate -l $((need * bs)) ${quoteShell(`${base}-1`)} 2>/dev/null || dd if=/dev/zero of=${quoteShell(`${base}-1`)} bs=1M count=$((need * bs / 1048576)) 2>/dev/null
  fi
fi`;
  const started = performance.now();
  const ran = await host.run(`timeout -k 5 ${sizes.fillTimeoutS} sh -c ${quoteShell(`${script}\nsync`)}; ${STAT_FS(dataRoot)}; find ${quoteShell(dataRoot)} -maxdepth 3 -path ${quoteShell(`${base}*`)} 2>/dev/null | wc -l`, {
    timeout: (sizes.fillTimeoutS + 30) * 1000,
  });
  const ms = performance.now() - started;
  const [statsLine, files] = ran.stdout.trim().split('\n').slice(-2);
  return { stats: parseStats(statsLine ?? ''), ms, files: Number(files) };
}

/** Removes every fill file of the run's suite from the data root. */
async function releaseFill(): Promise<void> {
  if (!engine) return;
  await host.runExpect(`rm -rf ${quoteShell(engine.fillBase)}-*; sync`, [0], { timeout: 300_000 });
}

/** dockerd's `PID start-time` for the engine under test. */
async function daemonIdentity(): Promise<string> {
  const e = requireEngine();
  const socket = e.loop?.socket ?? (typeof host.vars.gauntlet_docker_socket === 'string' ? host.vars.gauntlet_docker_socket : '/var/run/docker.sock');
  const pidSource = e.loop
    ? `cat ${quoteShell(e.loop.pidfile)}`
    : // The listening socket's owner; ss sees only this network namespace's sockets, so the pidfile is the fallback.
      `p=$(ss -xlpn 2>/dev/null | grep -F ${quoteShell(` ${socket} `)} | grep -o 'dockerd",pid=[0-9]*' | head -n 1 | cut -d= -f2); [ -n "$p" ] && echo "$p" || cat /var/run/docker.pid`;
  const out = await host.checkOutput(`pid=$(${pidSource}); [ -n "$pid" ] && echo "$pid $(awk '{print $22}' /proc/$pid/stat) $(cat /proc/$pid/comm)"`);
  const [pid, start, comm] = out.trim().split(/\s+/);
  expect(comm, `the engine's process (pid ${pid})`).to.equal('dockerd');
  return `${pid} ${start}`;
}

/** Starts a second dockerd whose data root is a loop filesystem in the workspace. */
async function startLoopEngine(fs: Filesystem): Promise<Engine> {
  const ws = owner.workspace;
  const loop = {
    image: `${ws}/disk.img`,
    mount: `${ws}/data-root`,
    execRoot: `${ws}/exec`,
    pidfile: `${ws}/exec/dockerd.pid`,
    socket: `${ws}/exec/docker.sock`,
    log: `${ws}/dockerd.log`,
    containerd: '',
  };
  const mkfs = { ext4: 'mkfs.ext4 -q -F -m 0 -E lazy_itable_init=0,lazy_journal_init=0', xfs: 'mkfs.xfs -q -f', btrfs: 'mkfs.btrfs -q -f' }[fs];
  // With a system containerd, dockerd would use it in the host engine's namespace (moby): give it namespaces of its
  // own. Without one, dockerd starts its own containerd, whose state and config live in the exec root.
  const prefix = owner.prefix;
  const script = String.raw`
set -e
mkdir -p ${quoteShell(loop.mount)} ${quoteShell(loop.execRoot)}
truncate -s ${sizes.loopSizeMiB}M ${quoteShell(loop.image)}
${mkfs} ${quoteShell(loop.image)} >/dev/null
dev=$(losetup -f --show ${quoteShell(loop.image)})
mount "$dev" ${quoteShell(loop.mount)}
echo '{}' > ${quoteShell(`${ws}/daemon.json`)}
if [ -S /run/containerd/containerd.sock ]; then
  containerd="--containerd /run/containerd/containerd.sock --containerd-namespace ${prefix} --containerd-plugins-namespace ${prefix}-plugins"
  echo "containerd: system (/run/containerd/containerd.sock, namespace ${prefix})"
else
  containerd=""
  echo "containerd: dockerd's own (${loop.execRoot}/containerd)"
fi
# Its own network namespace: a dockerd started with --bridge=none deletes the docker0 bridge of the namespace
# it starts in, which would break the host's own engine.
setsid -f unshare --net dockerd --config-file ${quoteShell(`${ws}/daemon.json`)} --data-root ${quoteShell(loop.mount)} --exec-root ${quoteShell(loop.execRoot)} \
  --pidfile ${quoteShell(loop.pidfile)} -H ${quoteShell(`unix://${loop.socket}`)} --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
  --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent /${prefix} --shutdown-timeout 2 $containerd \
  >${quoteShell(loop.log)} 2>&1 </dev/null
for i in $(seq 1 300); do
  docker -H ${quoteShell(`unix://${loop.socket}`)} version >/dev/null 2>&1 && exit 0
  sleep 0.1
done
echo "dockerd did not answer on ${loop.socket} within 30 s; its log ends: $(tail -n 5 ${quoteShell(loop.log)} | tr '\n' ' ')" >&2
exit 1`;
  const started = performance.now();
  const result = await host.run(script, { timeout: 120_000 });
  if (result.exitCode !== 0) throw new Error(`cannot start a second engine on a ${fs} loop filesystem: ${lastLines(result.stderr || result.stdout, 3)}`);
  host.metric('engine_start_ms', Math.round(performance.now() - started), 'ms');
  loop.containerd = result.stdout.trim().split('\n').find((line) => line.startsWith('containerd:')) ?? '';
  host.log(`second engine: dockerd on ${loop.socket}, data root ${loop.mount} (${fs}, ${sizes.loopSizeMiB} MiB loop), ${loop.containerd}`);
  return { where: 'loop', cli: `docker -H ${quoteShell(`unix://${loop.socket}`)}`, dataRoot: loop.mount, fillBase: `${loop.mount}/${owner.prefix}-fill`, loop };
}

/**
 * Stops the second engine: TERM to dockerd, then to whatever else still runs from the workspace (its containerd, shims),
 * KILL after 20 s; unmounts everything under the workspace, detaches the loop device, and removes the engine's cgroups.
 * Prints `problem: …` lines for what it could not undo.
 */
async function stopLoopEngine(e: Engine): Promise<void> {
  const loop = e.loop!;
  const ws = owner.workspace;
  const script = String.raw`
# The engine's processes name the workspace; this script (and its subshells) does too, but is a shell.
pids() { for f in /proc/[0-9]*/cmdline; do p=${'${f#/proc/}'}; p=${'${p%/cmdline}'}; case "$(cat /proc/$p/comm 2>/dev/null)" in sh|dash|bash|'') continue ;; esac; tr '\0' ' ' < "$f" 2>/dev/null | grep -qF ${quoteShell(`${ws}/`)} && echo "$p"; done; }
pid=$(cat ${quoteShell(loop.pidfile)} 2>/dev/null)
[ -n "$pid" ] && [ -d /proc/$pid ] && kill -TERM "$pid"
for i in $(seq 1 100); do left=$(pids); [ -z "$left" ] && break; [ "$i" = 25 ] && kill -TERM $left 2>/dev/null; sleep 0.2; done
left=$(pids); [ -n "$left" ] && { echo "problem: killed what still ran from the workspace: $left"; kill -KILL $left; sleep 0.5; }
for m in $(awk '{print $5}' /proc/self/mountinfo | grep -F ${quoteShell(`${ws}/`)} | sort -r); do umount "$m" 2>/dev/null || { echo "problem: $m busy, unmounted lazily"; umount -l "$m"; }; done
attached() { losetup -n -O NAME,BACK-FILE | awk -v f=${quoteShell(loop.image)} '$2 == f {print $1}'; }
for dev in $(attached); do losetup -d "$dev" || echo "problem: cannot detach $dev"; done
# A busy device is only marked to detach when released: a mount namespace made while it was mounted may hold it.
for i in $(seq 1 25); do [ -z "$(attached)" ] && break; sleep 0.2; done
for dev in $(attached); do echo "problem: $dev still attached; mount namespaces holding ${loop.mount}: $(grep -lF ${quoteShell(` ${loop.mount} `)} /proc/[0-9]*/mountinfo 2>/dev/null | cut -d/ -f3 | tr '\n' ' ')"; done
for c in /sys/fs/cgroup/${owner.prefix} /sys/fs/cgroup/*/${owner.prefix}; do [ -d "$c" ] && { find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || echo "problem: cgroup $c still busy"; }; done
exit 0`;
  const result = await host.run(script, { timeout: 60_000 });
  for (const line of result.stdout.split('\n').filter((l) => l.startsWith('problem: '))) host.log(`stopping the second engine: ${line.slice('problem: '.length)}`);
  engine = null;
}

/** Records what must not change: image ID, RootFS layers, the saved layers' digests, a file's checksum. */
async function recordImage(ref: string, file: string): Promise<ImageRecord> {
  const { cli } = requireEngine();
  const inspect = JSON.parse(await engineOutput(`inspecting ${ref}`, `${cli} image inspect ${quoteShell(ref)}`)) as Array<{ Id: string; RootFS: { Layers: string[] } }>;
  const saved = `${owner.workspace}/verify.tar`;
  const manifest = JSON.parse(await engineOutput(`saving ${ref}`, `${cli} save -o ${quoteShell(saved)} ${quoteShell(ref)} && tar -xOf ${quoteShell(saved)} manifest.json`)) as Array<{ Layers: string[] }>;
  const savedLayers: string[] = [];
  for (const layer of manifest[0]?.Layers ?? []) {
    savedLayers.push(`sha256:${(await host.checkOutput(`tar -xOf ${quoteShell(saved)} ${quoteShell(layer)} | sha256sum`)).trim().split(/\s+/)[0]}`);
  }
  await host.run(`rm -f ${quoteShell(saved)}`);
  const fileSum = (await engineOutput(`checksumming ${file} in ${ref}`, `${cli} run --rm --network none ${labelOptions(owner)} ${quoteShell(ref)} sha256sum ${quoteShell(file)}`)).trim().split(/\s+/)[0]!;
  return { ref, id: inspect[0]!.Id, layers: inspect[0]!.RootFS.Layers, savedLayers, fileSum };
}

/** The payload of the loaded image: deterministic from the seed (AES-CTR over zeros with a seeded key). */
function makePayload(): Buffer {
  const random = seededRandom(seed, 'payload');
  const cipher = createCipheriv('aes-256-ctr', random.bytes(32), random.bytes(16));
  return Buffer.concat([cipher.update(Buffer.alloc(sizes.payloadMiB * 1024 * 1024)), cipher.final()]);
}

interface LevelObjects {
  work: string;
  logger: string;
  runner: string;
  commit: string;
}

/** Names of one level's objects. */
function levelObjects(tag: string): LevelObjects {
  return { work: ownedName(owner, 'work', tag), logger: ownedName(owner, 'log', tag), runner: ownedName(owner, 'run', tag), commit: `${owner.prefix}:commit-${tag}` };
}

/** Before the fill: a running container to write in and commit, and a created one that will print log lines. */
async function prepareLevel(objects: LevelObjects): Promise<void> {
  const { cli } = requireEngine();
  const base = baseRecord!.ref;
  await engineOutput(
    'preparing the level\'s containers',
    [
      `${cli} run -d --name ${objects.work} --network none ${labelOptions(owner)} ${quoteShell(base)} sleep 3600 >/dev/null`,
      `${cli} create --name ${objects.logger} --network none --log-driver json-file ${labelOptions(owner)} ${quoteShell(base)} sh -c ${quoteShell(`seq 1 ${sizes.logLines} | sed 's/^/gauntlet disk-fill log line /'`)} >/dev/null`,
    ].join(' && '),
  );
}

/** The operations of one level, in the order given; `remove` is always last. */
function levelOps(objects: LevelObjects, order: OpKind[], levelName: string): Array<() => Promise<OpResult>> {
  const { cli } = requireEngine();
  const base = baseRecord!.ref;
  const writeCount = sizes.writeMiB * 16;
  const ops: Record<OpKind, () => Promise<OpResult>> = {
    run: () =>
      runOp('run', `${cli} run --name ${objects.runner} --network none ${labelOptions(owner)} ${quoteShell(base)} sh -c 'echo gauntlet > /tmp/probe && cat /tmp/probe'`, (out) =>
        out.trim() === 'gauntlet' ? null : `the container printed ${JSON.stringify(out.trim().slice(0, 80))}, not "gauntlet"`,
      ),
    write: () =>
      runOp(
        'write',
        `${cli} exec ${objects.work} sh -c ${quoteShell(`dd if=/dev/zero of=/data/blob bs=64k count=${writeCount} 2>&1 && sync && echo "size $(wc -c < /data/blob)"`)}`,
        (out) => (out.includes(`size ${writeCount * 65536}`) ? null : `the write reported success but left ${lastLines(out, 1)}`),
      ),
    commit: () => runOp('commit', `${cli} commit ${labelChanges(owner)} ${objects.work} ${quoteShell(objects.commit)}`),
    load: () =>
      runOp('load', `${cli} load -i ${quoteShell(archive)} && ${cli} image inspect -f '{{.Id}} {{json .RootFS.Layers}}' ${quoteShell(pull!.ref)}`, (out) => {
        const expected = `${pull!.id} ${JSON.stringify(pull!.layers)}`;
        return out.trim().split('\n').pop() === expected ? null : `the loaded image is not the one saved: ${lastLines(out, 1)} instead of ${expected}`;
      }),
    logs: () =>
      runOp('logs', `${daemonLogMark()}; ${cli} start ${objects.logger} >/dev/null && echo "exit $(${cli} wait ${objects.logger})" && echo "lines $(${cli} logs ${objects.logger} 2>/dev/null | wc -l)"`, async (out) => {
        const exit = /exit (\d+)/.exec(out)?.[1];
        const lines = Number(/lines (\d+)/.exec(out)?.[1]);
        const mark = /mark (\S+)/.exec(out)?.[1] ?? '';
        host.metric(`log_lines_stored_${levelName}`, lines);
        if (exit !== '0') return `the logging container exited ${exit}`;
        if (lines >= sizes.logLines) return null;
        // Lines the log driver could not store on a full disk are an ENOSPC-class loss, when the daemon says so.
        const why = (await daemonLogSaysNoSpace(mark)) ? ': no space left on device, says the daemon\'s log' : '';
        return `only ${lines} of ${sizes.logLines} log lines were stored${why}`;
      }),
    remove: () =>
      runOp(
        'remove',
        [
          'set -e',
          ...[objects.runner, objects.work, objects.logger].map((name) => `if ${cli} container inspect ${name} >/dev/null 2>&1; then ${cli} rm -f ${name} >/dev/null; fi`),
          ...[objects.commit, pull!.ref].map((ref) => `if ${cli} image inspect ${quoteShell(ref)} >/dev/null 2>&1; then ${cli} rmi ${quoteShell(ref)} >/dev/null; fi`),
          `left=$(${cli} ps -aq --filter name=${owner.prefix}-); [ -z "$left" ] || { echo "containers left: $left"; exit 1; }`,
        ].join('\n'),
      ),
  };
  return [...order.filter((kind) => kind !== 'remove').map((kind) => ops[kind]), ops.remove];
}

/** A shell command printing `mark X`: where the daemon's log stands now (its size, or the time for the journal). */
function daemonLogMark(): string {
  const e = requireEngine();
  return e.loop ? `echo "mark $(stat -c %s ${quoteShell(e.loop.log)})"` : 'echo "mark $(date +%s)"';
}

/** Whether the daemon's log, after `mark`, says it ran out of space (the second engine's log file, else its journal). */
async function daemonLogSaysNoSpace(mark: string): Promise<boolean> {
  const e = requireEngine();
  if (!/^\d+$/.test(mark)) return false;
  const read = e.loop ? `tail -c +${Number(mark) + 1} ${quoteShell(e.loop.log)}` : `journalctl -q -u docker --since @${mark} 2>/dev/null`;
  return (await host.run(`${read} | grep -qi 'no space left on device'`)).exitCode === 0;
}

/** Force-removes what a level left (not an operation under test: the fill is gone by then). */
async function clearLevel(objects: LevelObjects): Promise<void> {
  const { cli } = requireEngine();
  await host.run(
    `${cli} rm -f ${objects.runner} ${objects.work} ${objects.logger} >/dev/null 2>&1; ${cli} rmi ${quoteShell(objects.commit)} ${quoteShell(pull!.ref)} >/dev/null 2>&1; exit 0`,
    { timeout: (sizes.opTimeoutS + 15) * 1000 },
  );
}

/** Fatal kernel events since `since`, as lines. */
function fatalEventsSince(since: Date): string[] {
  return host.events({ fatal: true, since }).map((event) => `${event.class}: ${event.title} (${event.source})`);
}

/** One fill level: fill, drive every operation, check the outcomes, release the fill. Repeated `rounds` times. */
async function exerciseLevel(level: Level): Promise<void> {
  const since = new Date();
  const name = level === 'inodes' ? 'inodes' : String(level);
  const random = seededRandom(seed, `level ${name}`);
  const problems: string[] = [];
  for (let round = 1; round <= sizes.rounds; round++) {
    const tag = `${name}-r${round}`;
    const objects = levelObjects(tag);
    await prepareLevel(objects);
    const order = [...OP_KINDS.filter((kind) => kind !== 'remove')];
    for (let i = order.length - 1; i > 0; i--) {
      const j = random.int(0, i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const results: OpResult[] = [];
    try {
      const reached = await fill(level, tag);
      const { spacePct, inodesPct } = usage(reached.stats);
      host.metric(`fill_${name}_space_pct`, spacePct, '%');
      if (inodesPct !== null) host.metric(`fill_${name}_inodes_pct`, inodesPct, '%');
      host.metric(`fill_${name}_ms`, Math.round(reached.ms), 'ms');
      host.metric(`fill_${name}_paths`, reached.files);
      host.log(`round ${round}: filled in ${Math.round(reached.ms)} ms: space ${spacePct} %, inodes ${inodesPct === null ? 'unlimited' : `${inodesPct} %`}, ${reached.stats.avail * reached.stats.bs} bytes and ${reached.stats.freeInodes} inodes left; op order ${order.join(', ')}, remove`);
      if (level !== 'inodes') expect(spacePct, `space used under ${requireEngine().dataRoot} after filling to ${level} %`).to.be.at.least(level - 0.5);
      for (const op of levelOps(objects, order, name)) {
        const result = await op();
        results.push(result);
        host.log(`  ${result.kind}: ${result.outcome} in ${Math.round(result.ms)} ms${result.outcome === 'ok' ? '' : `: ${result.said}`}`);
      }
    } finally {
      await releaseFill();
      await clearLevel(objects);
    }
    for (const outcome of OUTCOMES) host.metric(`level_${name}_${outcome}`, results.filter((r) => r.outcome === outcome).length);
    for (const r of results) if (r.outcome === 'other' || r.outcome === 'timeout') problems.push(`round ${round} ${r.kind}: ${r.outcome === 'timeout' ? `hung (no answer within ${sizes.opTimeoutS} s)` : r.said}`);
    // The fill must have bitten: a full disk (or one without inodes) cannot take the container's write. btrfs is
    // the exception: with its data full it can still place a write in space its allocator held back (a finding
    // recorded as a metric, not a failure: the write succeeded cleanly).
    const write = results.find((r) => r.kind === 'write');
    const onBtrfs = (engine?.where === 'loop' ? fsParam : host.facts?.storage?.backingFs) === 'btrfs';
    if (level === 100 && onBtrfs) {
      host.metric('btrfs_full_write_accepted', write?.outcome === 'ok' ? 1 : 0);
      expect(write?.outcome, `the ${sizes.writeMiB} MiB write in a container at fill level ${name} (it said: ${write?.said})`).to.be.oneOf(['enospc', 'ok']);
    } else if (level === 100 || (level === 'inodes' && fsParam === 'ext4' && engine?.where === 'loop')) {
      expect(write?.outcome, `the ${sizes.writeMiB} MiB write in a container at fill level ${name} (it said: ${write?.said})`).to.equal('enospc');
    }
  }
  reportOutcomes();
  expect(problems, `operations at fill level ${name} that neither succeeded nor failed with ENOSPC`).to.deep.equal([]);
  expect(fatalEventsSince(since), 'fatal kernel events during the fill').to.deep.equal([]);
}

/** What one level test may take: every round's fill and operations, each up to its own timeout. */
const levelTimeoutMs = (): number => sizes.rounds * (sizes.fillTimeoutS + 8 * (sizes.opTimeoutS + 25) + 60) * 1000;

describe('disk fill', function () {
  this.timeout(Math.max(300_000, (sizes.opTimeoutS * 10 + 120) * 1000));

  before(async () => {
    await guard.remember();
    const disposable = host.vars.gauntlet_disposable === true;
    if (disposable && targetParam === 'auto') {
      const dataRoot = (await engineOutput('asking the engine for its data root', `${realCli()} info -f '{{.DockerRootDir}}'`)).trim();
      engine = { where: 'data-root', cli: realCli(), dataRoot, fillBase: `${dataRoot}/${owner.prefix}-fill` };
      host.log(`the host is disposable: filling the engine's real data root ${dataRoot}`);
    } else {
      host.log(`${disposable ? 'target=loop' : 'the host is not disposable (gauntlet_disposable is not true)'}: a second engine on a ${fsParam} loop filesystem`);
      engine = await startLoopEngine(fsParam as Filesystem);
    }
    daemonBefore = await daemonIdentity();
    const { cli } = engine;
    const base = await buildBaseImage(host, owner, { cli });
    baseRecord = await recordImage(base.ref, '/bin/busybox');
    host.log(`base image ${base.ref} (${base.source}): ${baseRecord.id}, layers ${baseRecord.layers.join(', ')}`);
    expect(baseRecord.savedLayers, 'digests of the base image\'s layers as saved, before any fill (must equal its RootFS layers)').to.deep.equal(baseRecord.layers);

    // The image to "pull": the base plus a seeded payload layer, saved with the base image into an archive, then removed.
    const payload = makePayload();
    const ref = `${owner.prefix}:pull`;
    const holder = ownedName(owner, 'pull', 0);
    await host.upload(payload, `${owner.workspace}/payload.bin`);
    await engineOutput(
      'making the image to load',
      [
        `${cli} create --name ${holder} --network none ${labelOptions(owner)} ${quoteShell(base.ref)} true >/dev/null`,
        `${cli} cp ${quoteShell(`${owner.workspace}/payload.bin`)} ${holder}:/data/payload`,
        `${cli} commit ${labelChanges(owner)} ${holder} ${quoteShell(ref)} >/dev/null`,
        `${cli} rm ${holder} >/dev/null`,
        `rm -f ${quoteShell(`${owner.workspace}/payload.bin`)}`,
      ].join(' && '),
    );
    const [id, layers] = (await engineOutput('inspecting the image to load', `${cli} image inspect -f '{{.Id}} {{json .RootFS.Layers}}' ${quoteShell(ref)}`)).trim().split(' ');
    pull = { ref, id: id!, layers: JSON.parse(layers!) as string[], payloadSha: createHash('sha256').update(payload).digest('hex') };
    await engineOutput('saving the archive to load', `${cli} save -o ${quoteShell(archive)} ${quoteShell(base.ref)} ${quoteShell(ref)} && ${cli} rmi ${quoteShell(ref)} >/dev/null`);
  });

  afterEach(async () => {
    await releaseFill().catch(() => undefined);
  });

  after(async () => {
    await releaseFill().catch(() => undefined);
    if (engine?.loop) await stopLoopEngine(engine);
    await guard.cleanUp();
  });

  it('fills the data root to 95 %: operations succeed or fail with ENOSPC', async function () {
    this.timeout(levelTimeoutMs());
    await exerciseLevel(95);
  });

  it('fills the data root to 99 %: operations succeed or fail with ENOSPC', async function () {
    this.timeout(levelTimeoutMs());
    await exerciseLevel(99);
  });

  it('fills the data root to 100 %: operations fail with ENOSPC, never hang', async function () {
    this.timeout(levelTimeoutMs());
    await exerciseLevel(100);
  });

  it('exhausts the inodes: operations fail with ENOSPC, never hang', async function () {
    this.timeout(levelTimeoutMs());
    await exerciseLevel('inodes');
  });

  it('recovers without a restart once the fill is gone', async function () {
    this.timeout((sizes.fillTimeoutS + 20 * (sizes.opTimeoutS + 25) + 60) * 1000);
    const since = new Date();
    const { cli } = requireEngine();
    const reached = await fill(100, 'recovery');
    host.log(`filled to ${usage(reached.stats).spacePct} % before the release`);
    await releaseFill();
    const released = performance.now();
    const deadline = released + sizes.opTimeoutS * 1000;
    let attempts = 0;
    let failed: OpResult[] = [];
    for (;;) {
      attempts++;
      const objects = levelObjects(`recovery-${attempts}`);
      await prepareLevel(objects).catch(() => undefined);
      const results: OpResult[] = [];
      for (const op of levelOps(objects, ['run', 'write', 'commit', 'load', 'logs'], 'recovery')) results.push(await op());
      failed = results.filter((r) => r.outcome !== 'ok');
      if (failed.length === 0 || performance.now() > deadline) break;
      await clearLevel(objects);
    }
    host.metric('recovery_ms', Math.round(performance.now() - released), 'ms');
    host.metric('recovery_attempts', attempts);
    reportOutcomes();
    expect(
      failed.map((r) => `${r.kind}: ${r.outcome}: ${r.said}`),
      `operations after the fill was removed (${attempts} attempts within ${sizes.opTimeoutS} s)`,
    ).to.deep.equal([]);
    // The loaded image's payload reads back as it was saved.
    await engineOutput('loading the archive again', `${cli} load -i ${quoteShell(archive)} >/dev/null`);
    const sum = (await engineOutput('checksumming the loaded payload', `${cli} run --rm --network none ${labelOptions(owner)} ${quoteShell(pull!.ref)} sha256sum /data/payload`)).trim().split(/\s+/)[0];
    expect(sum, 'sha256 of the payload in the image loaded from the archive').to.equal(pull!.payloadSha);
    await engineOutput('removing the loaded image', `${cli} rmi ${quoteShell(pull!.ref)} >/dev/null`);
    const daemonAfter = await daemonIdentity();
    host.metric('engine_restarted', daemonAfter === daemonBefore ? 0 : 1);
    expect(daemonAfter, 'dockerd\'s PID and start time (the engine must not have restarted)').to.equal(daemonBefore);
    expect(fatalEventsSince(since), 'fatal kernel events').to.deep.equal([]);
  });

  it('kept the images it had before the fills intact', async () => {
    const before = baseRecord!;
    const after = await recordImage(before.ref, '/bin/busybox');
    expect(after.id, `image ID of ${before.ref}`).to.equal(before.id);
    expect(after.layers, `RootFS layers of ${before.ref}`).to.deep.equal(before.layers);
    expect(after.savedLayers, `digests of the layers of ${before.ref} as the engine saves them now`).to.deep.equal(before.layers);
    expect(after.fileSum, `sha256 of /bin/busybox in a container of ${before.ref}`).to.equal(before.fileSum);
  });

  it('leaves the host as it found it', async () => {
    await releaseFill();
    if (engine?.loop) await stopLoopEngine(engine);
    await guard.expectLeftAsFound();
  });
});
