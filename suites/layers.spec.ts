// Thousands of image layers: images whose layer chains reach the engine's depth limit, one past it, and many
// images sharing a base until the host holds the target number of layers; containers on the deepest ones; image
// listings and disk-use reports while the layers exist; and the release of every layer when the images go.
//
// No registry and no build: the suite writes `docker save`-format archives on the runner (the kit's
// writeSaveArchive: manifest.json, a config per image with rootfs.diff_ids and the owner's labels, one tiny tar
// per layer) and streams each to the engine's load API. Every layer adds two small files, `/gauntlet/layers/<name>`
// (its name, the run id and seeded bytes, so no other run shares its layers) and `/gauntlet/top` (its name, so the
// top one wins); the deep images' top layer also brings a static busybox taken from the kit's base image, so a
// container can run on them at all only when their deepest layer is visible.
//
// The layers form a tree drawn from the seed: a shared base of `baseLayers` layers; `deepImages` chains grown from
// it to `depthLimit` layers; then images of 1..`maxBranch` new layers each, every one grown from the base's top or
// from a layer of an image already made, until the images hold `layers` distinct layers in all. One more image is
// one layer deeper than the limit, and shares all but its last `overLimitFresh` layers with the first deep chain.
//
// The depth limit: docker (moby `layer/layer_store.go`, maxLayerDepth) registers at most 125 layers in one chain,
// whatever the storage driver, and refuses the 126th with "max depth exceeded". On docker 20.10.24 with overlay2
// (this project's development machine) a 125-layer image loads and runs, a 126-layer one is refused with exactly
// that message after the engine registered its first 125 layers, and those are released again.
//
// The host needs root (the suite reads the engine's layer store under its data root to find orphaned layers) and a
// docker engine; it needs no network for its containers (they run with network mode none).
//
// Parameters (see meta.params): scale=quick|full|soak, and each size alone.

import { Readable } from 'node:stream';
import { expect } from 'chai';
import {
  Latencies,
  buildBaseImage,
  chainIds,
  describeSizes,
  engineCli,
  guardHost,
  host,
  makeLayer,
  meta,
  ownedName,
  ownerOf,
  params,
  quoteShell,
  readTar,
  runId,
  seed,
  seededRandom,
  sizesFor,
  writeSaveArchive,
  type ArchiveImage,
  type ArchiveLayer,
  type LayerFile,
} from 'gauntlet/suite';

const SIZES = {
  quick: { layers: 200, deepImages: 1, depthLimit: 125, baseLayers: 3, maxBranch: 4, overLimitFresh: 10, listRounds: 10, dfRounds: 3, listLimitMs: 10_000, diskSlackMiB: 16, loadTimeoutMs: 50_000 },
  full: { layers: 2_000, deepImages: 4, depthLimit: 125, baseLayers: 5, maxBranch: 6, overLimitFresh: 126, listRounds: 50, dfRounds: 10, listLimitMs: 10_000, diskSlackMiB: 32, loadTimeoutMs: 120_000 },
  soak: { layers: 20_000, deepImages: 32, depthLimit: 125, baseLayers: 5, maxBranch: 8, overLimitFresh: 126, listRounds: 200, dfRounds: 20, listLimitMs: 30_000, diskSlackMiB: 128, loadTimeoutMs: 300_000 },
};

const sizes = sizesFor(params, SIZES);

/** How long one load may take before it counts as hung (raise it for slow hosts, such as emulated VMs). */
const LOAD_TIMEOUT_MS = sizes.loadTimeoutMs;
/** Each test's timeout: loading goes at 10 to 20 layers a second on a small host, so ten times what the layers need, and room for two loads that hang. */
const TEST_TIMEOUT_MS = Math.max(60_000, sizes.layers * 500, LOAD_TIMEOUT_MS * 2);

meta({
  description: `Loads images up to the engine's layer depth limit, one past it (refused), and ${sizes.layers} layers of images sharing a base; runs containers on the deepest, lists images and disk use, and checks every layer is released on removal.`,
  requires: { engine: 'docker' },
  timeoutMs: TEST_TIMEOUT_MS,
  params: describeSizes(SIZES, {
    layers: 'distinct layers the suite\'s images hold in all (the deep chains count)',
    deepImages: 'images whose chain reaches the depth limit (containers run on each)',
    depthLimit: 'the deepest chain the engine must load (docker: 125, maxLayerDepth); one more must be refused',
    baseLayers: 'layers of the base every image shares',
    maxBranch: 'most layers an image adds to the one it grows from',
    overLimitFresh: 'layers of the over-limit image that no other image has (it shares the rest with the first deep chain); depthLimit+1 or more: all of them',
    listRounds: 'image listings timed while the layers exist',
    dfRounds: 'disk-use reports (docker system df) timed while the layers exist; each one sizes every image',
    listLimitMs: 'longest an image listing or disk-use report may take',
    diskSlackMiB: 'how much more the storage driver\'s folder may hold after the removal than before the suite',
    loadTimeoutMs: 'longest one image load may take before it counts as hung (raise it on slow hosts such as emulated VMs)',
  }),
});

const owner = ownerOf(runId, 'layers');
const guard = guardHost(host, owner);

/** One layer of the plan: the one below it (null at the bottom) and its depth (1 at the bottom). */
interface PlannedLayer {
  name: string;
  parent: number | null;
  depth: number;
}

interface PlannedImage {
  tag: string;
  kind: 'deep' | 'shared' | 'over-limit';
  /** Indexes into the plan's layers, bottom first. */
  layers: number[];
}

interface LayerPlan {
  layers: PlannedLayer[];
  deep: PlannedImage[];
  shared: PlannedImage[];
  overLimit: PlannedImage;
}

/** The layer tree and its images, drawn from the seed (see the header). */
function planLayers(): LayerPlan {
  const random = seededRandom(seed, 'plan layers');
  const { layers: target, deepImages, depthLimit, baseLayers, maxBranch, overLimitFresh } = sizes;
  if (depthLimit < 2 || baseLayers < 1 || baseLayers >= depthLimit || deepImages < 1 || maxBranch < 1 || overLimitFresh < 1) {
    throw new Error(`sizes out of range: need depthLimit >= 2, 1 <= baseLayers < depthLimit, deepImages >= 1, maxBranch >= 1, overLimitFresh >= 1 (got ${JSON.stringify(sizes)})`);
  }
  const deepLayers = baseLayers + deepImages * (depthLimit - baseLayers);
  if (target < deepLayers) throw new Error(`--param layers=${target} is fewer than the ${deepLayers} layers the base and ${deepImages} chain(s) of ${depthLimit} need`);
  const layers: PlannedLayer[] = [];
  const add = (parent: number | null, prefix: string): number => {
    layers.push({ name: `${prefix}${String(layers.length).padStart(5, '0')}`, parent, depth: parent === null ? 1 : layers[parent]!.depth + 1 });
    return layers.length - 1;
  };
  const pathTo = (top: number): number[] => {
    const path: number[] = [];
    for (let at: number | null = top; at !== null; at = layers[at]!.parent) path.unshift(at);
    return path;
  };
  let baseTop: number | null = null;
  for (let i = 0; i < baseLayers; i++) baseTop = add(baseTop, 'b');
  const deep: PlannedImage[] = [];
  for (let d = 0; d < deepImages; d++) {
    let top = baseTop!;
    while (layers[top]!.depth < depthLimit) top = add(top, 'd');
    deep.push({ tag: `${owner.prefix}:deep-${d}`, kind: 'deep', layers: pathTo(top) });
  }
  const shared: PlannedImage[] = [];
  while (layers.length < target) {
    // Half grow from the base's top, half from any layer already made that has room above it.
    let parent = baseTop!;
    if (random.chance(0.5)) {
      const candidate = random.int(0, layers.length - 1);
      if (layers[candidate]!.depth < depthLimit) parent = candidate;
    }
    const count = Math.min(random.int(1, maxBranch), depthLimit - layers[parent]!.depth, target - layers.length);
    let top = parent;
    for (let i = 0; i < count; i++) top = add(top, 's');
    shared.push({ tag: `${owner.prefix}:shared-${shared.length}`, kind: 'shared', layers: pathTo(top) });
  }
  // The over-limit image: the first deep chain up to where its fresh layers start, then fresh layers to depthLimit + 1.
  const fresh = Math.min(overLimitFresh, depthLimit + 1);
  const chain = deep[0]!.layers.slice(0, depthLimit + 1 - fresh);
  let top: number | null = chain.length > 0 ? chain[chain.length - 1]! : null;
  const overLayers = [...chain];
  for (let i = 0; i < fresh; i++) overLayers.push((top = add(top, 'x')));
  return { layers, deep, shared, overLimit: { tag: `${owner.prefix}:over-limit`, kind: 'over-limit', layers: overLayers } };
}

const plan = planLayers();

/** Built on first use: each layer's tar (the deep tops with busybox), by plan index. */
const built = new Map<number, ArchiveLayer>();
let busybox: Buffer | null = null;
let imageArch = { architecture: 'amd64', os: 'linux' };

function layerOf(index: number, isDeepTop: boolean): ArchiveLayer {
  const cached = built.get(index);
  if (cached) return cached;
  const layer = plan.layers[index]!;
  const noise = seededRandom(seed, `layer ${layer.name}`).bytes(8).toString('hex');
  const files: LayerFile[] = [
    { path: `/gauntlet/layers/${layer.name}`, data: `${layer.name} ${runId} ${noise}\n` },
    { path: '/gauntlet/top', data: `${layer.name}\n` },
  ];
  if (isDeepTop) {
    if (!busybox) throw new Error('no busybox taken from the base image yet');
    files.unshift({ path: '/bin/busybox', data: busybox, mode: 0o755 });
  }
  const made = makeLayer(files);
  built.set(index, made);
  return made;
}

function archiveImage(image: PlannedImage): ArchiveImage {
  const deepTops = new Set(plan.deep.map((deep) => deep.layers[deep.layers.length - 1]!));
  return {
    tags: [image.tag],
    layers: image.layers.map((index) => layerOf(index, deepTops.has(index))),
    labels: { ...owner.labels, 'gauntlet.layers.kind': image.kind },
    cmd: ['/bin/busybox', 'cat', '/gauntlet/top'],
    env: ['PATH=/bin'],
    ...imageArch,
  };
}

const chainOf = (image: PlannedImage): string[] => chainIds(archiveImage(image).layers.map((layer) => layer.diffId));

const describeError = (err: unknown): string => ((err as Error)?.message ?? String(err)).trim();

/**
 * Streams one save archive to the engine's load API and resolves when the engine has finished with it; rejects
 * with the engine's own message when it refuses the archive, and after LOAD_TIMEOUT_MS when it does not answer
 * (the engine may still finish that load later: `tag` is then remembered for the after hook to wait for).
 */
async function loadArchive(archive: Buffer, tag: string): Promise<void> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      unfinished.add(tag);
      reject(new Error(`the engine did not finish loading a ${Math.round(archive.length / 1024)} KiB archive within ${LOAD_TIMEOUT_MS / 1000} s`));
    }, LOAD_TIMEOUT_MS);
  });
  const load = (async () => {
    // The API takes the archive as the request body; dockerode's typings want a stream for it.
    const stream = await host.docker.loadImage(Readable.from(archive), { quiet: true, abortSignal: abort.signal });
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(chunk));
    // The engine answers 200 and then reports a refusal inside its JSON stream.
    for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      let message: { error?: string; errorDetail?: { message?: string } };
      try {
        message = JSON.parse(line) as typeof message;
      } catch {
        continue;
      }
      if (message.error || message.errorDetail) throw new Error(message.errorDetail?.message ?? message.error);
    }
  })();
  try {
    await Promise.race([load, timedOut]);
  } finally {
    clearTimeout(timer);
    load.catch(() => undefined);
  }
}

/** Images whose load timed out here: the engine goes on with a load whose archive it has received. */
const unfinished = new Set<string>();

/** Gives each load that timed out up to LOAD_TIMEOUT_MS more to land, so that the cleanup after it finds its image. */
async function waitForUnfinishedLoads(): Promise<void> {
  const deadline = Date.now() + LOAD_TIMEOUT_MS;
  for (const tag of unfinished) {
    while (Date.now() < deadline) {
      const found = await host.docker.listImages({ filters: { reference: [tag] } }).catch(() => []);
      if (found.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    host.log(`${tag}: its load had timed out; ${Date.now() < deadline ? 'the engine finished it later' : `the engine had not finished it ${LOAD_TIMEOUT_MS / 1000} s on`}`);
  }
  unfinished.clear();
}

/** The engine's data root, storage driver and where its layer store keeps one folder per layer. */
interface LayerStore {
  root: string;
  driver: string;
  layerdb: string;
  driverDir: string;
}
let store: LayerStore | null = null;


/** For each chain ID, the storage driver's folder name of that layer (`cache-id`), or null when the engine has no such layer. */
async function readCacheIds(chain: readonly string[]): Promise<Map<string, string | null>> {
  const script = `cd ${quoteShell(store!.layerdb)} && while read -r id; do if [ -f "$id/cache-id" ]; then printf '%s %s\\n' "$id" "$(cat "$id/cache-id")"; else printf '%s -\\n' "$id"; fi; done`;
  const ids = chain.map((id) => id.replace(/^sha256:/, ''));
  const result = await host.run(script, { stdin: `${ids.join('\n')}\n`, timeout: 300_000 });
  if (result.exitCode !== 0) throw new Error(`cannot read the layer store ${store!.layerdb}: ${result.stderr.trim()}`);
  const found = new Map<string, string | null>();
  for (const line of result.stdout.split('\n')) {
    const [id, cacheId] = line.trim().split(' ');
    if (id && cacheId) found.set(`sha256:${id}`, cacheId === '-' ? null : cacheId);
  }
  return found;
}

/** Kilobytes under the storage driver's folder. */
async function driverDirKb(): Promise<number> {
  const out = await host.checkOutput(`du -sk ${quoteShell(store!.driverDir)} | cut -f1`, { timeout: 300_000 });
  return Number(out.trim());
}

/** Every entry name under the storage driver's folder (two levels: overlay2/<id>, vfs/dir/<id>, btrfs/subvolumes/<id>). */
async function driverEntries(): Promise<Set<string>> {
  // The engine may remove a folder while find walks it (a removal finishing): that is not an error of the listing.
  const out = await host.checkOutput(`find ${quoteShell(store!.driverDir)} -mindepth 1 -maxdepth 2 -printf '%f\\n' 2>/dev/null; true`, { timeout: 300_000 });
  return new Set(out.split('\n').filter(Boolean));
}

/** overlay2 keeps a short symlink per layer in `l/`: those whose layer folder is gone. */
async function danglingLinks(): Promise<string[]> {
  const out = await host.checkOutput(`[ -d ${quoteShell(`${store!.driverDir}/l`)} ] && find ${quoteShell(`${store!.driverDir}/l`)} -mindepth 1 -maxdepth 1 -xtype l -printf '%f\\n' || true`);
  return out.split('\n').filter(Boolean).sort();
}

/** Process ids of dockerd on the host (none where it runs out of sight, in another PID namespace). */
async function enginePids(): Promise<string[]> {
  const out = await host.checkOutput(`for p in /proc/[0-9]*; do [ "$(cat "$p/comm" 2>/dev/null)" = dockerd ] && echo "\${p#/proc/}"; done; true`);
  return out.split('\n').filter(Boolean).sort();
}

/** Rejects when `operation` takes longer than `limitMs`. */
async function within<T>(limitMs: number, what: string, operation: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      operation(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${limitMs} ms`)), limitMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const loads = new Latencies('image_load');
const listsWhileLoading = new Latencies('image_list_loading');
/** Images loaded, in order; chain IDs of every layer the loaded images hold; cache IDs seen for them. */
const loaded: PlannedImage[] = [];
const heldChains = new Set<string>();
const cacheIds = new Map<string, string>();
const containerIds: string[] = [];
let baseRef: string | null = null;
let baseline: { driverKb: number; dangling: string[] } | null = null;
let newLayersLoaded = 0;
let loadSeconds = 0;

/** Loads one planned image, timed; counts the layers it added. */
async function loadPlanned(image: PlannedImage): Promise<void> {
  const chain = chainOf(image);
  const fresh = chain.filter((id) => !heldChains.has(id)).length;
  const archive = writeSaveArchive([archiveImage(image)]);
  const started = performance.now();
  await loads.time(() => loadArchive(archive, image.tag));
  loadSeconds += (performance.now() - started) / 1000;
  newLayersLoaded += fresh;
  for (const id of chain) heldChains.add(id);
  loaded.push(image);
}

describe('layers', () => {
  before(async () => {
    await guard.remember();
    const info = (await host.docker.info()) as { DockerRootDir?: string; Driver?: string };
    expect(info.DockerRootDir, 'the engine\'s data root (docker info DockerRootDir)').to.be.a('string').and.not.equal('');
    expect(info.Driver, 'the engine\'s storage driver (docker info Driver)').to.be.a('string').and.not.equal('');
    const root = info.DockerRootDir!;
    const driver = info.Driver!;
    store = { root, driver, layerdb: `${root}/image/${driver}/layerdb/sha256`, driverDir: `${root}/${driver}` };
    const readable = await host.run(`test -r ${quoteShell(store.layerdb)} && test -x ${quoteShell(store.layerdb)} && test -r ${quoteShell(store.driverDir)}`);
    expect(readable.exitCode, `the suite reads the engine's layer store (${store.layerdb}, ${store.driverDir}); it needs root on the host`).to.equal(0);
    baseline = { driverKb: await driverDirKb(), dangling: await danglingLinks() };
    host.metric('driver_dir_kb_before', baseline.driverKb, 'KiB');
    host.log(`plan: ${plan.layers.length} layers (${plan.deep.length} deep images of ${sizes.depthLimit}, ${plan.shared.length} images sharing a base, 1 over the limit with ${Math.min(sizes.overLimitFresh, sizes.depthLimit + 1)} fresh layers); driver ${driver} under ${root}`);
  });

  after(async () => {
    await waitForUnfinishedLoads();
    await guard.cleanUp();
  });

  it(`loads images whose layer chains reach the depth limit (${sizes.depthLimit} layers)`, async () => {
    // The deep images' top layer brings the base image's static busybox, so that a container can run on them.
    const base = await buildBaseImage(host, owner, { cli: engineCli(host.facts) });
    baseRef = base.ref;
    const inspected = (await host.docker.getImage(base.ref).inspect()) as { Architecture?: string; Os?: string };
    imageArch = { architecture: inspected.Architecture ?? 'amd64', os: inspected.Os ?? 'linux' };
    const saved = readTar(Buffer.concat(await streamChunks(await host.docker.getImage(base.ref).get())));
    const manifest = JSON.parse(saved.find((entry) => entry.name === 'manifest.json')?.data.toString('utf8') ?? '[]') as Array<{ Layers?: string[] }>;
    const layerPath = manifest[0]?.Layers?.[0];
    const layerTar = saved.find((entry) => entry.name === layerPath)?.data;
    expect(layerTar, `the base image's saved archive holds its layer (${layerPath ?? 'none named in manifest.json'})`).to.not.equal(undefined);
    busybox = readTar(layerTar!).find((entry) => entry.name.replace(/^\.?\//, '') === 'bin/busybox' && entry.type === 'file')?.data ?? null;
    expect(busybox, `bin/busybox in the base image ${base.ref} (from ${base.source})`).to.not.equal(null);

    for (const image of plan.deep) {
      await loadPlanned(image).catch((err: unknown) => {
        throw new Error(`loading ${image.tag} (${image.layers.length} layers) failed: ${describeError(err)}`);
      });
      const inspect = await host.docker.getImage(image.tag).inspect();
      expect(inspect.RootFS?.Layers ?? [], `layers of ${image.tag} as the engine reports them`).to.deep.equal(archiveImage(image).layers.map((layer) => layer.diffId));
      expect(inspect.Config?.Labels ?? {}, `labels of ${image.tag}`).to.include(owner.labels);
    }
    const present = await readCacheIds([...heldChains]);
    const missing = [...heldChains].filter((id) => !present.get(id));
    expect(missing, 'layers of the deep images missing from the engine\'s layer store').to.deep.equal([]);
    host.metric('depth_limit', sizes.depthLimit, 'layers');
    host.log(`loaded ${plan.deep.length} image(s) of ${sizes.depthLimit} layers (${newLayersLoaded} layers) in ${loadSeconds.toFixed(1)} s`);
  });

  it('refuses an image one layer past the depth limit with a clear error, and keeps none of its layers', async () => {
    const image = plan.overLimit;
    const chain = chainOf(image);
    const fresh = chain.filter((id) => !heldChains.has(id));
    const archive = writeSaveArchive([archiveImage(image)]);
    const pidsBefore = await enginePids();
    const started = performance.now();
    const outcome = await loadArchive(archive, image.tag).then(
      () => null,
      (err: unknown) => describeError(err),
    );
    const elapsedMs = Math.round(performance.now() - started);
    host.metric('over_limit_refusal_ms', elapsedMs, 'ms');
    host.log(`loading ${image.tag} (${chain.length} layers, ${fresh.length} new) ended after ${elapsedMs} ms: ${outcome === null ? 'loaded' : `refused: ${outcome}`}`);
    expect(outcome, `loading an image of ${chain.length} layers (limit ${sizes.depthLimit}) must be refused, it loaded`).to.not.equal(null);
    expect(outcome, 'the refusal is not our own load timeout but the engine\'s answer').to.not.match(/did not finish loading/);
    expect(outcome, 'the engine\'s refusal names the depth').to.match(/depth/i);
    // The engine answers afterwards, has no such image, and released the layers it registered before refusing.
    await within(10_000, 'the engine\'s ping after the refusal', () => host.docker.ping());
    const pidsAfter = await enginePids();
    if (pidsBefore.length > 0) expect(pidsAfter, 'dockerd\'s process ids after the refusal (a different one: the engine crashed and restarted)').to.deep.equal(pidsBefore);
    const images = await host.docker.listImages({ filters: { reference: [image.tag] } });
    expect(images.map((i) => i.RepoTags), `images tagged ${image.tag} after the refusal`).to.deep.equal([]);
    const kept = [...(await readCacheIds(fresh)).entries()].filter(([, cacheId]) => cacheId !== null).map(([id]) => id);
    expect(kept, `layers of the refused image left in the engine's layer store (of ${fresh.length} new)`).to.deep.equal([]);
  });

  it('runs a container on each deepest image and sees every layer\'s files', async () => {
    const runs = new Latencies('container_run');
    for (const [i, image] of plan.deep.entries()) {
      const names = image.layers.map((index) => plan.layers[index]!.name);
      const output = await runs.time(async () => {
        const container = await host.docker.createContainer({
          name: ownedName(owner, 'c', i),
          Image: image.tag,
          Cmd: ['/bin/busybox', 'sh', '-c', 'cat /gauntlet/top; ls /gauntlet/layers | wc -l; cat /gauntlet/layers/' + names[0]],
          Labels: owner.labels,
          Tty: true,
          HostConfig: { NetworkMode: 'none' },
        });
        containerIds.push(container.id);
        await container.start();
        const status = (await container.wait()) as { StatusCode: number };
        const logs = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
        await container.remove({ force: true });
        expect(status.StatusCode, `exit status of the container on ${image.tag}; output: ${logs.trim()}`).to.equal(0);
        return logs;
      });
      const lines = output.replace(/\r/g, '').trim().split('\n').map((line) => line.trim());
      expect(lines[0], `/gauntlet/top in a container on ${image.tag} comes from its deepest layer`).to.equal(names[names.length - 1]);
      expect(Number(lines[1]), `files under /gauntlet/layers in a container on ${image.tag}: one per layer`).to.equal(names.length);
      expect(lines[2], `the bottom layer's file in a container on ${image.tag}`).to.match(new RegExp(`^${names[0]} ${runId} `));
    }
    runs.report(host);
  });

  it(`loads images sharing a base until the host holds ${sizes.layers} layers of the suite`, async () => {
    const started = performance.now();
    for (const [i, image] of plan.shared.entries()) {
      await loadPlanned(image).catch((err: unknown) => {
        throw new Error(`loading ${image.tag} (${image.layers.length} layers) after ${loaded.length} images and ${heldChains.size} layers failed: ${describeError(err)}`);
      });
      // Listings while the layers pile up: every tenth image.
      if (i % 10 === 9) await listsWhileLoading.time(() => within(sizes.listLimitMs, 'an image listing while loading', () => host.docker.listImages()));
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const present = await readCacheIds([...heldChains]);
    const missing = [...heldChains].filter((id) => !present.get(id));
    for (const [id, cacheId] of present) if (cacheId) cacheIds.set(id, cacheId);
    loads.report(host);
    listsWhileLoading.report(host);
    host.metric('images_loaded', loaded.length);
    // How much the images share: layers they reference in all, against the distinct layers the engine keeps.
    host.metric('image_layer_refs', loaded.reduce((sum, image) => sum + image.layers.length, 0));
    host.metric('layers_loaded', heldChains.size - missing.length, 'layers');
    host.metric('load_layers_per_s', Math.round((newLayersLoaded / Math.max(loadSeconds, 0.001)) * 10) / 10, 'layers/s');
    const peakKb = await driverDirKb();
    host.metric('driver_dir_kb_peak', peakKb, 'KiB');
    host.log(`loaded ${plan.shared.length} images sharing a base in ${wallSeconds.toFixed(1)} s; ${heldChains.size} layers in all, driver folder ${peakKb} KiB`);
    expect(missing, 'layers of the loaded images missing from the engine\'s layer store').to.deep.equal([]);
    expect(heldChains.size - missing.length, 'layers of the suite in the engine\'s layer store').to.equal(sizes.layers);
  });

  it('lists images and reports disk use quickly while the layers exist', async () => {
    const lists = new Latencies('image_list');
    const dfs = new Latencies('system_df');
    const errors: string[] = [];
    let listed: Awaited<ReturnType<typeof host.docker.listImages>> = [];
    let df: { LayersSize?: number; Images?: Array<{ RepoTags?: string[] }> } = {};
    for (let round = 0; round < Math.max(sizes.listRounds, sizes.dfRounds); round++) {
      if (round < sizes.listRounds) {
        await lists
          .time(() => within(sizes.listLimitMs, 'an image listing', () => host.docker.listImages({ all: true })))
          .then((list) => (listed = list), (err: unknown) => errors.push(`list: ${describeError(err)}`));
      }
      if (round < sizes.dfRounds) {
        await dfs
          .time(() => within(sizes.listLimitMs, 'a disk-use report', () => host.docker.df() as Promise<typeof df>))
          .then((report) => (df = report), (err: unknown) => errors.push(`df: ${describeError(err)}`));
      }
    }
    lists.report(host);
    dfs.report(host);
    expect(errors, `image listings and disk-use reports that failed or took longer than ${sizes.listLimitMs} ms`).to.deep.equal([]);
    const tags = new Set(listed.flatMap((image) => image.RepoTags ?? []));
    const absent = loaded.map((image) => image.tag).filter((tag) => !tags.has(tag));
    expect(absent, `loaded images missing from the image listing (${listed.length} images listed)`).to.deep.equal([]);
    const dfTags = new Set((df.Images ?? []).flatMap((image) => image.RepoTags ?? []));
    expect(loaded.map((image) => image.tag).filter((tag) => !dfTags.has(tag)), 'loaded images missing from the disk-use report').to.deep.equal([]);
    host.metric('df_layers_size_kb', Math.round((df.LayersSize ?? 0) / 1024), 'KiB');
  });

  it('removes every image and releases every layer', async () => {
    const removals = new Latencies('image_remove');
    const started = performance.now();
    const failures: string[] = [];
    for (const image of [...loaded].reverse()) {
      await removals.time(() => host.docker.getImage(image.tag).remove()).catch((err: unknown) => failures.push(`${image.tag}: ${describeError(err)}`));
    }
    if (baseRef) await host.docker.getImage(baseRef).remove().catch((err: unknown) => failures.push(`${baseRef}: ${describeError(err)}`));
    const removeSeconds = (performance.now() - started) / 1000;
    removals.report(host);
    host.metric('remove_ms', Math.round(removeSeconds * 1000), 'ms');
    host.metric('remove_layers_per_s', Math.round((heldChains.size / Math.max(removeSeconds, 0.001)) * 10) / 10, 'layers/s');
    expect(failures, 'image removals the engine refused').to.deep.equal([]);

    const left = await host.docker.listImages({ all: true, filters: { label: [`gauntlet.run=${runId}`] } });
    expect(left.map((image) => image.RepoTags ?? image.Id), 'images of the suite still listed after removal').to.deep.equal([]);
    const stillRegistered = [...(await readCacheIds([...heldChains])).entries()].filter(([, cacheId]) => cacheId !== null).map(([id]) => id);
    const entries = await driverEntries();
    const orphanedDirs = [...cacheIds.values()].filter((cacheId) => entries.has(cacheId) || entries.has(`${cacheId}-init`));
    const mounts = await host.checkOutput(`ls ${quoteShell(`${store!.root}/image/${store!.driver}/layerdb/mounts`)} 2>/dev/null || true`);
    const orphanedMounts = containerIds.filter((id) => mounts.split('\n').includes(id));
    const dangling = (await danglingLinks()).filter((link) => !baseline!.dangling.includes(link));
    host.metric('orphaned_layers', stillRegistered.length + orphanedDirs.length + orphanedMounts.length);
    const afterKb = await driverDirKb();
    host.metric('driver_dir_kb_after', afterKb, 'KiB');
    expect(stillRegistered, `layers still in ${store!.layerdb} after every image was removed (of ${heldChains.size})`).to.deep.equal([]);
    expect(orphanedDirs, `layer folders still under ${store!.driverDir} after every image was removed (of ${cacheIds.size})`).to.deep.equal([]);
    expect(orphanedMounts, 'container layers still in the layer store\'s mounts').to.deep.equal([]);
    expect(dangling, `new dangling short links under ${store!.driverDir}/l`).to.deep.equal([]);
    expect(afterKb - baseline!.driverKb, `growth of ${store!.driverDir} after removal in KiB (before ${baseline!.driverKb}, after ${afterKb}, slack ${sizes.diskSlackMiB} MiB)`).to.be.at.most(sizes.diskSlackMiB * 1024);
  });

  it('leaves the host as it found it', async () => {
    await waitForUnfinishedLoads();
    await guard.expectLeftAsFound();
  });
});

/** Every chunk of a stream. */
async function streamChunks(stream: NodeJS.ReadableStream): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(chunk));
  return chunks;
}
