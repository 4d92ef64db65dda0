// Storage-driver I/O churn: containers created, started, written to, stopped, committed and removed in parallel
// waves; files written, overwritten, renamed, hard-linked and deleted in their copy-on-write layers (many small
// files, some large ones, whiteouts of files and a directory of the image's lower layer); volumes created, written,
// mounted read-only and removed. Every file's checksum is checked inside the container (busybox sha256sum) against
// what the runner computed from the same seeded plan, again in a container of each committed image, and in every
// volume; in the end the storage driver's directory must hold no layer, container or volume that nothing refers to.
//
// The lower image (`<prefix>:lower`) is the base image plus a committed layer of small files, a directory and
// large files, so that deleting, overwriting or renaming those files in a container makes whiteouts and copy-ups.
// File contents are a token line repeated up to a size (`yes TOKEN | head -c SIZE`), so the runner knows each
// file's sha256 without moving the data.
//
// Parameters (scale=quick | full (default) | soak, each size settable alone):
//   containers    containers churned                            quick 8, full 120, soak 5000
//   parallel      containers (and volumes) worked on at once     quick 4, full 8, soak 16
//   smallFiles    small files each container writes             quick 100, full 1000, soak 2000
//   largeFiles    large files each container writes             quick 1, full 2, soak 3
//   largeFileMiB  size limit of a large file, in MiB            quick 4, full 64, soak 128
//   ops           random operations per container (overwrite, rename, hard link, delete, create)  quick 40, full 300, soak 1000
//   lowerFiles    small files in the lower image's layer          quick 50, full 500, soak 1000
//   commits       containers committed to images, checked and removed  quick 2, full 12, soak 500
//   volumes       volumes churned                                quick 4, full 40, soak 2000
//   opTimeoutMs   (default 120000) deadline of each engine operation, in ms

import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import {
  DeadlineError,
  Latencies,
  RUN_LABEL,
  SUITE_LABEL,
  buildBaseImage,
  describeSizes,
  engineCli,
  execInContainer,
  guardHost,
  host,
  meta,
  ownedName,
  ownerOf,
  params,
  readContainerOutput,
  runId,
  seed,
  seededRandom,
  sizesFor,
  withDeadline,
  type SeededRandom,
  type SizeTable,
} from 'gauntlet/suite';
import type Docker from 'dockerode';

const SIZES: SizeTable<{
  containers: number;
  parallel: number;
  smallFiles: number;
  largeFiles: number;
  largeFileMiB: number;
  ops: number;
  lowerFiles: number;
  commits: number;
  volumes: number;
}> = {
  quick: { containers: 8, parallel: 4, smallFiles: 100, largeFiles: 1, largeFileMiB: 4, ops: 40, lowerFiles: 50, commits: 2, volumes: 4 },
  full: { containers: 120, parallel: 8, smallFiles: 1000, largeFiles: 2, largeFileMiB: 64, ops: 300, lowerFiles: 500, commits: 12, volumes: 40 },
  soak: { containers: 5000, parallel: 16, smallFiles: 2000, largeFiles: 3, largeFileMiB: 128, ops: 1000, lowerFiles: 1000, commits: 500, volumes: 2000 },
};

meta({
  description:
    'Churns the storage driver: parallel waves of containers write, overwrite, rename, hard-link and delete files (whiteouts of the lower layer included), some are committed to images; volumes are written and read back; checksums must match and no layer may be orphaned.',
  requires: { engine: 'docker' },
  timeoutMs: 300_000,
  params: {
    ...describeSizes(SIZES, {
      containers: 'containers churned (create, start, write, stop, remove)',
      parallel: 'containers, and volumes, worked on at once (one wave)',
      smallFiles: 'small files each container writes in its copy-on-write layer',
      largeFiles: 'large files each container writes',
      largeFileMiB: 'size limit of a large file, in MiB (each is between half and all of it)',
      ops: 'random operations per container on its and the lower layer\'s files: overwrite, rename, hard link, delete, create',
      lowerFiles: 'small files in the lower image\'s layer, for whiteouts and copy-ups',
      commits: 'containers committed to images (with the run\'s labels), checked in a new container and removed',
      volumes: 'volumes created, written, read back read-only and removed',
    }),
    opTimeoutMs: { default: 120_000, description: 'deadline of each engine operation, in ms' },
  },
});

const SUITE = 'storage-churn';
const owner = ownerOf(runId, SUITE);
const guard = guardHost(host, owner);
const sizes = sizesFor(params, SIZES);
const opTimeoutMs = ((): number => {
  const value = params.opTimeoutMs ?? 120_000;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new Error(`--param opTimeoutMs: expected a positive number, got ${JSON.stringify(value)}`);
  return value;
})();
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------------------------
// File plans: what a script does to a tree of files, and what the tree then holds, file by file.

/** A file's bytes: `token\n` repeated, cut at `size` bytes. Tokens and paths are `[a-z0-9/_-]` only: no quoting. */
interface Content {
  token: string;
  size: number;
}

/** Files that are hard links of each other share one inode object. */
interface Inode {
  content: Content;
}

const digests = new Map<string, string>();

/** sha256 of a content, computed on the runner as busybox computes it in the container. */
function digestOf(content: Content): string {
  const key = `${content.token}:${content.size}`;
  const known = digests.get(key);
  if (known) return known;
  const unit = Buffer.from(`${content.token}\n`);
  const block = Buffer.alloc(Math.max(unit.length, Math.floor(MiB / unit.length) * unit.length));
  for (let at = 0; at < block.length; at += unit.length) unit.copy(block, at);
  const hash = createHash('sha256');
  let left = content.size;
  while (left > 0) {
    const take = Math.min(left, block.length);
    hash.update(block.subarray(0, take));
    left -= take;
  }
  const digest = hash.digest('hex');
  digests.set(key, digest);
  return digest;
}

/** The shell that writes `content` to `path` (a new file, or through an existing inode, hard links included). */
function writeCommand(path: string, content: Content): string {
  return content.size === content.token.length + 1 ? `printf '%s\\n' ${content.token} > ${path}` : `yes ${content.token} | head -c ${content.size} > ${path}`;
}

const small = (token: string): Content => ({ token, size: token.length + 1 });

/** A script and the tree of files it leaves. */
class FilePlan {
  readonly files = new Map<string, Inode>();
  readonly lines: string[] = ['set -e'];
  bytesWritten = 0;
  filesWritten = 0;
  /** Operations by kind, `-lower` for those on a file of the lower layer (copy-ups and whiteouts). */
  readonly counts = new Map<string, number>();
  private serial = 0;

  constructor(initial: Map<string, Content> = new Map()) {
    for (const [path, content] of initial) this.files.set(path, { content });
  }

  /** `count` small files `dir/0..count-1` with tokens `prefix-s<i>`, in one shell loop. */
  smallFiles(dir: string, prefix: string, count: number): void {
    if (count === 0) return;
    this.lines.push(`mkdir -p ${dir}`, `i=0; while [ $i -lt ${count} ]; do printf '%s\\n' ${prefix}-s$i > ${dir}/$i; i=$((i+1)); done`);
    for (let i = 0; i < count; i++) this.record(`${dir}/${i}`, small(`${prefix}-s${i}`), { content: small(`${prefix}-s${i}`) });
  }

  private count(kind: string, path: string): void {
    const key = path.startsWith('/data/lower/') ? `${kind}-lower` : kind;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  write(path: string, content: Content): void {
    this.count(this.files.has(path) ? 'overwrite' : 'create', path);
    this.lines.push(writeCommand(path, content));
    this.record(path, content, this.files.get(path) ?? { content });
  }

  private record(path: string, content: Content, inode: Inode): void {
    inode.content = content;
    this.files.set(path, inode);
    this.bytesWritten += content.size;
    this.filesWritten++;
  }

  /** A fresh name in `dir`. */
  newPath(dir: string, kind: string): string {
    return `${dir}/${kind}${this.serial++}`;
  }

  pick(random: SeededRandom): string | null {
    if (this.files.size === 0) return null;
    const paths = [...this.files.keys()];
    return paths[random.int(0, paths.length - 1)]!;
  }

  rename(from: string, to: string): void {
    this.count('rename', from);
    this.lines.push(`mv ${from} ${to}`);
    this.files.set(to, this.files.get(from)!);
    this.files.delete(from);
  }

  remove(path: string): void {
    this.count('delete', path);
    this.lines.push(`rm ${path}`);
    this.files.delete(path);
  }

  link(existing: string, to: string): void {
    this.count('link', existing);
    this.lines.push(`ln ${existing} ${to}`);
    this.files.set(to, this.files.get(existing)!);
  }

  /** Moves (`mv`) or deletes (`rm -rf`) a whole directory. */
  moveDir(from: string, to: string | null): void {
    this.count(to ? 'dir-rename' : 'dir-delete', from);
    this.lines.push(to ? `mv ${from} ${to}` : `rm -rf ${from}`);
    for (const [path, inode] of [...this.files]) {
      if (!path.startsWith(`${from}/`)) continue;
      this.files.delete(path);
      if (to) this.files.set(`${to}${path.slice(from.length)}`, inode);
    }
  }

  /** Each file's expected `sha256 links`. */
  expected(): Map<string, string> {
    const links = new Map<Inode, number>();
    for (const inode of this.files.values()) links.set(inode, (links.get(inode) ?? 0) + 1);
    return new Map([...this.files].map(([path, inode]) => [path, `${digestOf(inode.content)} ${links.get(inode)}`]));
  }
}

/** Prints every regular file under `root` with its sha256 and link count, in two sections. */
const manifestScript = (root: string): string =>
  `echo '## sums'; find ${root} -type f -exec sha256sum {} +; echo '## links'; find ${root} -type f -exec stat -c '%h %n' {} +; echo '## end'`;

/** Parses what manifestScript printed into `path → sha256 links`. */
function parseManifest(output: string): Map<string, string> | null {
  if (!output.includes('## end')) return null;
  const sums = new Map<string, string>();
  const links = new Map<string, string>();
  let section = '';
  for (const line of output.split('\n')) {
    if (line.startsWith('## ')) section = line.slice(3).trim();
    else if (section === 'sums' && line.trim()) {
      const [hash, path] = line.split(/\s+/, 2);
      sums.set(path!, hash!);
    } else if (section === 'links' && line.trim()) {
      const [count, path] = line.split(' ', 2);
      links.set(path!, count!);
    }
  }
  return new Map([...sums].map(([path, hash]) => [path, `${hash} ${links.get(path) ?? '?'}`]));
}

/** Every difference between the expected and the found tree, one line each; empty when alike. */
function compareTrees(expected: Map<string, string>, found: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const [path, want] of expected) {
    const got = found.get(path);
    if (got === undefined) problems.push(`${path}: missing (expected ${want})`);
    else if (got !== want) problems.push(`${path}: found ${got}, expected ${want}`);
  }
  for (const [path, got] of found) if (!expected.has(path)) problems.push(`${path}: unexpected (${got}), should not exist`);
  return problems;
}

/** The lower layer: small files, a directory of a few more, and large files. */
function planLowerLayer(): { plan: FilePlan; initial: Map<string, Content> } {
  const random = seededRandom(seed, 'lower layer');
  const tag = random.int(0, 0xffffff).toString(16);
  const plan = new FilePlan();
  plan.smallFiles('/data/lower/s', `lo${tag}`, sizes.lowerFiles);
  plan.smallFiles('/data/lower/dir', `lo${tag}-dir`, 5);
  for (let i = 0; i < Math.max(1, sizes.largeFiles); i++) {
    plan.write(`/data/lower/big-${i}`, { token: `lo${tag}-big${i}`, size: random.int(Math.floor((sizes.largeFileMiB * MiB) / 2), sizes.largeFileMiB * MiB) + random.int(1, 4095) });
  }
  return { plan, initial: new Map([...plan.files].map(([path, inode]) => [path, inode.content])) };
}

/**
 * What one container does: a whole lower directory moved or deleted first (so later hard links stay whole), then
 * its own small and large files, then random overwrites, renames, hard links, deletes and creations over its own
 * files and the lower layer's.
 */
function planContainer(index: number, lower: Map<string, Content>, random: SeededRandom): FilePlan {
  const key = `c${index}-${random.int(0, 0xffff).toString(16)}`;
  const plan = new FilePlan(lower);
  const dirOp = random.int(0, 2);
  if (dirOp === 1) plan.moveDir('/data/lower/dir', '/data/work-dir-moved');
  else if (dirOp === 2) plan.moveDir('/data/lower/dir', null);
  plan.lines.push('mkdir -p /data/work');
  plan.smallFiles('/data/work/s', key, sizes.smallFiles);
  for (let i = 0; i < sizes.largeFiles; i++) {
    plan.write(`/data/work/big-${i}`, { token: `${key}-big${i}`, size: random.int(Math.floor((sizes.largeFileMiB * MiB) / 2), sizes.largeFileMiB * MiB) + random.int(1, 4095) });
  }
  planRandomOps(plan, random, key, '/data/work', sizes.ops);
  return plan;
}

function planRandomOps(plan: FilePlan, random: SeededRandom, key: string, dir: string, count: number): void {
  for (let n = 0; n < count; n++) {
    const kind = random.int(0, 99);
    const target = plan.pick(random);
    if (target === null || kind < 15) {
      plan.write(plan.newPath(dir, 'n'), small(`${key}-n${n}`));
    } else if (kind < 40) {
      // Overwrite in place (copy-up for a lower file); now and then with a larger content.
      plan.write(target, random.chance(0.1) ? { token: `${key}-o${n}`, size: random.int(4096, 256 * 1024) } : small(`${key}-o${n}`));
    } else if (kind < 60) {
      plan.rename(target, plan.newPath(random.chance(0.5) ? dir : target.slice(0, target.lastIndexOf('/')), 'r'));
    } else if (kind < 75) {
      plan.link(target, plan.newPath(dir, 'h'));
    } else {
      plan.remove(target);
    }
  }
}

/** What a volume's writer does: its own small and large files and random operations over them. */
function planVolume(index: number, random: SeededRandom): FilePlan {
  const key = `v${index}-${random.int(0, 0xffff).toString(16)}`;
  const plan = new FilePlan();
  plan.smallFiles('/vol/s', key, Math.max(1, Math.ceil(sizes.smallFiles / 4)));
  plan.write('/vol/big-0', { token: `${key}-big0`, size: random.int(1, Math.max(1, Math.floor((sizes.largeFileMiB * MiB) / 2))) });
  planRandomOps(plan, random, key, '/vol', Math.ceil(sizes.ops / 2));
  return plan;
}

// ---------------------------------------------------------------------------------------------------------------
// Engine operations with deadlines, latencies and errors by kind.

const latencies = {
  create: new Latencies('container_create'),
  start: new Latencies('container_start'),
  write: new Latencies('container_write'),
  stop: new Latencies('container_stop'),
  remove: new Latencies('container_remove'),
  commit: new Latencies('container_commit'),
  imageRemove: new Latencies('image_remove'),
  wait: new Latencies('container_wait'),
  volumeCreate: new Latencies('volume_create'),
  volumeRemove: new Latencies('volume_remove'),
};
const reportLatencies = (): void => Object.values(latencies).forEach((l) => l.report(host));

const ERROR_KINDS = ['timeout', 'engine', 'exit', 'checksum', 'labels', 'dead', 'other'] as const;
type ErrorKind = (typeof ERROR_KINDS)[number];
const errors: Array<{ kind: ErrorKind; message: string }> = [];
let engineOps = 0;

/** A failure already classified (the command's exit, a checksum, …). */
class ChurnError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
  }
}

function classify(err: unknown): ErrorKind {
  if (err instanceof ChurnError) return err.kind;
  if (err instanceof DeadlineError) return 'timeout';
  if (typeof (err as { statusCode?: unknown })?.statusCode === 'number') return 'engine';
  return 'other';
}

const firstLine = (err: unknown): string => ((err as Error)?.message ?? String(err)).split('\n')[0]!;

/** Runs one engine operation under its deadline, timing it. */
async function op<T>(latency: Latencies, what: string, operation: () => Promise<T>): Promise<T> {
  const result = await latency.time(() => withDeadline(what, opTimeoutMs, operation));
  engineOps++;
  return result;
}

function reportErrors(): void {
  for (const kind of ERROR_KINDS) host.metric(`errors_${kind}`, errors.filter((e) => e.kind === kind).length);
}

/** The owner's labels as `changes` of a commit (a committed image also inherits the container's labels). */
const commitLabelChanges = (): string[] => Object.entries(owner.labels).map(([key, value]) => `LABEL ${key}=${value}`);

let baseImage = '';
let lowerImage = '';
let lowerFiles = new Map<string, Content>();

/** Containers of this suite the engine holds in a state it should never keep them in. */
async function deadOrRemoving(): Promise<string[]> {
  const list = await host.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${RUN_LABEL}=${runId}`, `${SUITE_LABEL}=${SUITE}`], status: ['dead', 'removing'] }) });
  return list.map((c) => `${c.Names?.[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12)} (${c.State}: ${c.Status})`);
}

/** Creates a container that exits 0 at SIGTERM at once (a shell as PID 1 ignores it otherwise). */
function createIdle(name: string, image: string): Promise<Docker.Container> {
  return op(latencies.create, `create of ${name}`, () =>
    host.docker.createContainer({
      name,
      Image: image,
      Cmd: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'],
      Labels: owner.labels,
      HostConfig: { NetworkMode: 'none' },
    }),
  );
}

/**
 * Runs `script` in a new container of `image` to its end and resolves with its output; `afterExit` gets the stopped
 * container (to commit it); then the container is removed.
 */
async function runToEnd(name: string, image: string, script: string, binds: string[] = [], afterExit?: (container: Docker.Container) => Promise<void>): Promise<string> {
  const container = await op(latencies.create, `create of ${name}`, () =>
    host.docker.createContainer({ name, Image: image, Cmd: ['sh', '-c', script], Labels: owner.labels, HostConfig: { NetworkMode: 'none', Binds: binds } }),
  );
  try {
    await op(latencies.start, `start of ${name}`, () => container.start());
    const { StatusCode } = (await op(latencies.wait, `wait for ${name}`, () => container.wait())) as { StatusCode: number };
    const { stdout, stderr } = await readContainerOutput(container);
    if (StatusCode !== 0) throw new ChurnError('exit', `${name} exited ${StatusCode}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    await afterExit?.(container);
    return stdout;
  } finally {
    await op(latencies.remove, `removal of ${name}`, () => container.remove({ force: true, v: true }));
  }
}

/** Files whose content survived a commit but whose hard links did not (drivers that diff by file, like btrfs and vfs). */
let hardLinksSplitByCommit = 0;

/**
 * Compares a manifest with the plan's tree; throws a checksum error listing the first differences. For an image
 * made by commit, `linksMayBeSplit`: a driver that computes the layer by comparing files (btrfs, vfs) stores a
 * new hard link to an unchanged file as a copy, so only content must match; split links are counted and logged.
 */
function expectTree(where: string, output: string, expected: Map<string, string>, linksMayBeSplit = false): void {
  const found = parseManifest(output);
  if (!found) throw new ChurnError('exit', `${where}: the listing of its files did not finish: ${output.slice(-200)}`);
  if (linksMayBeSplit) {
    const split = [...expected].filter(([path, want]) => {
      const got = found.get(path);
      return got !== undefined && got !== want && got.split(' ')[0] === want.split(' ')[0];
    });
    for (const [path, want] of split) found.set(path, want);
    if (split.length > 0) host.log(`${where}: ${split.length} hard links became separate files in the commit (content intact): ${split.slice(0, 5).map(([path]) => path).join(', ')}`);
    hardLinksSplitByCommit += split.length;
  }
  const problems = compareTrees(expected, found);
  if (problems.length > 0) throw new ChurnError('checksum', `${where}: ${problems.length} files differ from the plan: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ' …' : ''}`);
}

/** File operations done and checked, by kind, over all containers. */
const opCounts = new Map<string, number>();
let bytesWritten = 0;
let imagesChecked = 0;
let containersChurned = 0;
let filesWritten = 0;

/** One container's life: create, start, write, check, stop, maybe commit and check the image, remove. */
async function churnContainer(index: number, commit: boolean): Promise<void> {
  const random = seededRandom(seed, `container ${index}`);
  const plan = planContainer(index, lowerFiles, random);
  const expected = plan.expected();
  const name = ownedName(owner, 'c', index);
  const container = await createIdle(name, lowerImage);
  try {
    await op(latencies.start, `start of ${name}`, () => container.start());
    const result = await op(latencies.write, `writes in ${name}`, () => execInContainer(container, ['sh', '-c', `${plan.lines.join('\n')}\n${manifestScript('/data')}`], { timeoutMs: opTimeoutMs }));
    if (result.exitCode !== 0) throw new ChurnError('exit', `writes in ${name} exited ${result.exitCode}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    expectTree(name, result.stdout, expected);
    bytesWritten += plan.bytesWritten;
    filesWritten += plan.filesWritten;
    for (const [kind, n] of plan.counts) opCounts.set(kind, (opCounts.get(kind) ?? 0) + n);
    await op(latencies.stop, `stop of ${name}`, () => container.stop({ t: 10 }));
    if (commit) {
      const tag = `commit-${index}`;
      await op(latencies.commit, `commit of ${name}`, () => container.commit({ repo: owner.prefix, tag, changes: commitLabelChanges() }));
      const ref = `${owner.prefix}:${tag}`;
      try {
        const image = await host.docker.getImage(ref).inspect();
        const missing = Object.entries(owner.labels).filter(([k, v]) => image.Config?.Labels?.[k] !== v);
        if (missing.length > 0) throw new ChurnError('labels', `image ${ref} lacks the labels ${missing.map(([k, v]) => `${k}=${v}`).join(', ')}`);
        // The committed layer holds the writes and the whiteouts: a new container sees the same tree.
        const output = await runToEnd(ownedName(owner, 'check', index), ref, manifestScript('/data'));
        expectTree(`a container of ${ref}`, output, expected, true);
        imagesChecked++;
      } finally {
        await op(latencies.imageRemove, `removal of ${ref}`, () => host.docker.getImage(ref).remove());
      }
    }
  } finally {
    await op(latencies.remove, `removal of ${name}`, () => container.remove({ force: true, v: true }));
  }
  containersChurned++;
}

/** Runs `work` on items 0..count-1 in waves of `parallel`, recording every failure by kind and every container left dead. */
async function inWaves(count: number, work: (index: number) => Promise<void>): Promise<void> {
  for (let first = 0; first < count; first += sizes.parallel) {
    const indices = Array.from({ length: Math.min(sizes.parallel, count - first) }, (_, i) => first + i);
    const settled = await Promise.allSettled(indices.map((i) => work(i)));
    settled.forEach((outcome, i) => {
      if (outcome.status === 'rejected') errors.push({ kind: classify(outcome.reason), message: `#${indices[i]}: ${firstLine(outcome.reason)}` });
    });
    const stuck = await deadOrRemoving();
    for (const line of stuck) errors.push({ kind: 'dead', message: `after the wave from #${first}: ${line}` });
    if (errors.length > 20) {
      host.log(`stopping after the wave from #${first}: ${errors.length} failures so far`);
      break;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The storage driver's directory: what the data root holds, and what of it nothing refers to.

/** Where each graph driver keeps its layers, under the data root. */
const DRIVER_DIRS: Record<string, string> = {
  overlay2: 'overlay2',
  overlay: 'overlay',
  'fuse-overlayfs': 'fuse-overlayfs',
  btrfs: 'btrfs/subvolumes',
  zfs: 'zfs/graph',
  vfs: 'vfs/dir',
  aufs: 'aufs/diff',
};

interface StorageListing {
  layers: string[];
  /** overlay2's short names: `name target`. */
  links: string[];
  referenced: Set<string>;
  mounts: string[];
  containers: string[];
  volumes: string[];
}

interface StorageLayout {
  root: string;
  driver: string;
  layerDir: string;
}

/** The layout of the engine's storage when it is docker's and readable here, else why not. */
async function storageLayout(): Promise<StorageLayout | string> {
  if (host.facts?.engine?.name === 'podman') return 'podman keeps layers in containers/storage (its own layout), not inspected';
  const info = (await host.docker.info()) as { DockerRootDir?: string; Driver?: string };
  const root = info.DockerRootDir;
  const driver = info.Driver ?? '';
  if (!root) return 'the engine reports no DockerRootDir';
  const layerDir = DRIVER_DIRS[driver];
  if (!layerDir) return `storage driver ${driver} keeps its layers in a layout this suite does not know`;
  // The layer database appears with the first image: on a freshly started engine it may not exist yet.
  const readable = await host.run(`test -r '${root}/${layerDir}' && test -x '${root}/${layerDir}' && { [ ! -e '${root}/image/${driver}/layerdb' ] || test -r '${root}/image/${driver}/layerdb'; }`);
  if (readable.exitCode !== 0) return `${root}/${layerDir} or ${root}/image/${driver}/layerdb cannot be read by the suite's user on the host`;
  return { root, driver, layerDir };
}

async function listStorage(layout: StorageLayout): Promise<StorageListing> {
  const { root, driver, layerDir } = layout;
  const db = `${root}/image/${driver}/layerdb`;
  const out = await host.checkOutput(
    [
      `echo '## layers'; ls -1 '${root}/${layerDir}'`,
      `echo '## links'; if [ -d '${root}/${layerDir}/l' ]; then for l in '${root}/${layerDir}/l'/*; do [ -L "$l" ] && printf '%s %s\\n' "\${l##*/}" "$(readlink "$l")"; done; fi`,
      // cache-id, mount-id and init-id hold the driver's names of image layers, containers' layers and their init layers.
      `echo '## referenced'; for f in '${db}'/sha256/*/cache-id '${db}'/mounts/*/mount-id '${db}'/mounts/*/init-id; do [ -f "$f" ] && { cat "$f"; echo; }; done`,
      `echo '## mounts'; ls -1 '${db}/mounts' 2>/dev/null`,
      `echo '## containers'; ls -1 '${root}/containers' 2>/dev/null`,
      `echo '## volumes'; ls -1 '${root}/volumes' 2>/dev/null`,
      'true',
    ].join('\n'),
    { timeout: 120_000 },
  );
  const parts = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of out.split('\n')) {
    const header = /^## (\w+)$/.exec(line);
    if (header) parts.set(header[1]!, (current = []));
    else if (line.trim()) current.push(line.trim());
  }
  const list = (name: string): string[] => parts.get(name) ?? [];
  return {
    layers: list('layers').filter((name) => name !== 'l'),
    links: list('links'),
    referenced: new Set(list('referenced')),
    mounts: list('mounts'),
    containers: list('containers'),
    volumes: list('volumes').filter((name) => !['metadata.db', 'backingFsBlockDev'].includes(name)),
  };
}

/** What appeared since `before` and nothing refers to now: layers, short links, container folders, volumes. */
async function orphansSince(before: StorageListing, layout: StorageLayout): Promise<string[]> {
  const now = await listStorage(layout);
  const [containers, volumes] = await Promise.all([host.docker.listContainers({ all: true }), host.docker.listVolumes()]);
  const containerIds = new Set(containers.map((c) => c.Id));
  const volumeNames = new Set((volumes.Volumes ?? []).map((v) => v.Name));
  const layers = new Set(now.layers);
  const appeared = (was: string[], is: string[]) => {
    const old = new Set(was);
    return is.filter((item) => !old.has(item));
  };
  const orphans: string[] = [];
  for (const layer of appeared(before.layers, now.layers)) if (!now.referenced.has(layer)) orphans.push(`layer ${layout.root}/${layout.layerDir}/${layer}`);
  for (const link of appeared(before.links, now.links)) {
    const target = /^\.\.\/([^/]+)\//.exec(link.split(' ')[1] ?? '')?.[1];
    if (!target || !layers.has(target) || !now.referenced.has(target)) orphans.push(`short link ${link}`);
  }
  for (const id of appeared(before.mounts, now.mounts)) if (!containerIds.has(id)) orphans.push(`layer store entry of container ${id.slice(0, 12)} (image/${layout.driver}/layerdb/mounts)`);
  for (const id of appeared(before.containers, now.containers)) if (!containerIds.has(id)) orphans.push(`container folder ${layout.root}/containers/${id.slice(0, 12)}…`);
  for (const name of appeared(before.volumes, now.volumes)) if (!volumeNames.has(name)) orphans.push(`volume folder ${layout.root}/volumes/${name}`);
  return orphans;
}

let storageBefore: StorageListing | null = null;
let layout: StorageLayout | string = '';

describe('storage churn', function () {
  // Hooks do not get meta.timeoutMs: building the images and cleaning up get their own.
  this.timeout(600_000);

  before(async () => {
    await guard.remember();
    layout = await storageLayout();
    if (typeof layout !== 'string') storageBefore = await listStorage(layout);
    baseImage = (await buildBaseImage(host, owner, { cli: engineCli(host.facts) })).ref;
    // The lower image: the base plus a committed layer of files for whiteouts and copy-ups.
    const { plan, initial } = planLowerLayer();
    lowerFiles = initial;
    const builder = ownedName(owner, 'lower', 0);
    const output = await runToEnd(builder, baseImage, `${plan.lines.join('\n')}\n${manifestScript('/data')}`, [], (container) =>
      op(latencies.commit, `commit of ${builder}`, () => container.commit({ repo: owner.prefix, tag: 'lower', changes: commitLabelChanges() })),
    );
    expectTree(`${builder}, the lower layer's writer`, output, plan.expected());
    lowerImage = `${owner.prefix}:lower`;
    host.log(`lower image ${lowerImage}: ${initial.size} files`);
  });

  after(async () => {
    await guard.cleanUp();
  });

  it('churns containers in parallel waves with intact files', async function () {
    const waves = Math.ceil(sizes.containers / Math.max(1, sizes.parallel));
    this.timeout(60_000 + waves * opTimeoutMs * 8);
    expect(sizes.parallel, 'parallel').to.be.above(0);
    const random = seededRandom(seed, 'which containers to commit');
    const commits = new Set<number>();
    while (commits.size < Math.min(sizes.commits, sizes.containers)) commits.add(random.int(0, sizes.containers - 1));
    const started = performance.now();
    const errorsBefore = errors.length;
    await inWaves(sizes.containers, async (index) => churnContainer(index, commits.has(index)));
    const seconds = (performance.now() - started) / 1000;
    host.log(`${containersChurned} containers in ${seconds.toFixed(1)} s; ${filesWritten} files (${Math.round(bytesWritten / MiB)} MiB) written and checked; file operations: ${[...opCounts].sort().map(([kind, n]) => `${kind} ${n}`).join(', ')}`);
    host.metric('commit_hardlinks_split', hardLinksSplitByCommit);
    host.metric('whiteouts', (opCounts.get('delete-lower') ?? 0) + (opCounts.get('rename-lower') ?? 0) + (opCounts.get('dir-delete-lower') ?? 0) + (opCounts.get('dir-rename-lower') ?? 0));
    host.metric('engine_ops_per_s', Math.round((engineOps / seconds) * 10) / 10, '/s');
    host.metric('containers_per_s', Math.round((containersChurned / seconds) * 100) / 100, '/s');
    host.metric('files_written', filesWritten);
    host.metric('written_mib', Math.round(bytesWritten / MiB));
    host.metric('write_mib_per_s', Math.round((bytesWritten / MiB / seconds) * 10) / 10, 'MiB/s');
    reportLatencies();
    reportErrors();
    const failures = errors.slice(errorsBefore);
    expect(failures.map((e) => `${e.kind}: ${e.message}`), `failures of ${sizes.containers} containers in waves of ${sizes.parallel}`).to.deep.equal([]);
    expect(imagesChecked, 'containers committed, and their images checked').to.equal(commits.size);
    expect(await deadOrRemoving(), 'containers left dead or in removal').to.deep.equal([]);
  });

  it('churns volumes: written, read back read-only, removed', async function () {
    const waves = Math.ceil(sizes.volumes / Math.max(1, sizes.parallel));
    this.timeout(60_000 + waves * opTimeoutMs * 8);
    const errorsBefore = errors.length;
    const started = performance.now();
    await inWaves(sizes.volumes, async (index) => {
      const plan = planVolume(index, seededRandom(seed, `volume ${index}`));
      const name = ownedName(owner, 'vol', index);
      await op(latencies.volumeCreate, `creation of volume ${name}`, () => host.docker.createVolume({ Name: name, Labels: owner.labels }));
      try {
        const written = await runToEnd(ownedName(owner, 'vol-writer', index), baseImage, `${plan.lines.join('\n')}\n${manifestScript('/vol')}`, [`${name}:/vol`]);
        expectTree(`volume ${name} as its writer saw it`, written, plan.expected());
        const read = await runToEnd(ownedName(owner, 'vol-reader', index), baseImage, `if touch /vol/probe 2>/dev/null; then echo 'WRITABLE'; fi; ${manifestScript('/vol')}`, [`${name}:/vol:ro`]);
        if (read.includes('WRITABLE')) throw new ChurnError('other', `volume ${name} mounted read-only took a write`);
        expectTree(`volume ${name} read back read-only`, read, plan.expected());
        bytesWritten += plan.bytesWritten;
        filesWritten += plan.filesWritten;
      } finally {
        await op(latencies.volumeRemove, `removal of volume ${name}`, () => host.docker.getVolume(name).remove());
      }
      const gone = await host.docker
        .getVolume(name)
        .inspect()
        .then(
          () => false,
          (err: { statusCode?: number }) => err.statusCode === 404,
        );
      if (!gone) throw new ChurnError('engine', `volume ${name} is still there after its removal`);
    });
    const seconds = (performance.now() - started) / 1000;
    host.metric('volumes_per_s', Math.round((latencies.volumeRemove.count / seconds) * 100) / 100, '/s');
    reportLatencies();
    reportErrors();
    const failures = errors.slice(errorsBefore);
    expect(failures.map((e) => `${e.kind}: ${e.message}`), `failures of ${sizes.volumes} volumes`).to.deep.equal([]);
    expect(latencies.volumeRemove.count, 'volumes removed').to.equal(sizes.volumes);
  });

  it('leaves no orphaned layer in the storage driver', async function () {
    this.timeout(300_000);
    if (typeof layout === 'string') {
      host.log(`not checked: ${layout}`);
      this.skip();
    }
    const storage = layout as StorageLayout;
    // Everything the suite made goes now (containers, images, volumes); then the driver's folder must settle.
    const removal = performance.now();
    const cleaned = await guard.cleanUp();
    host.metric('cleanup_removed_objects', cleaned.removed.length);
    expect(await deadOrRemoving(), 'containers left dead or in removal after cleanup').to.deep.equal([]);
    let orphans = await orphansSince(storageBefore!, storage);
    while (orphans.length > 0 && performance.now() - removal < 30_000) {
      await sleep(500);
      orphans = await orphansSince(storageBefore!, storage);
    }
    const settleMs = Math.round(performance.now() - removal);
    host.metric('deletion_settle_ms', settleMs, 'ms');
    host.metric('orphaned_layers', orphans.length);
    const now = await listStorage(storage);
    host.log(`${storage.root}/${storage.layerDir}: ${storageBefore!.layers.length} layers before, ${now.layers.length} after cleanup (settled in ${settleMs} ms)`);
    expect(orphans, `what appeared under ${storage.root} during the suite and nothing refers to after cleanup`).to.deep.equal([]);
  });

  it('leaves the host as it found it', () => guard.expectLeftAsFound());
});
