// The suite kit's pure parts: ownership marks, seeded randomness, sizes, latency percentiles, inventory comparison.

import { expect } from 'chai';
import {
  Latencies,
  compareInventories,
  describeSizes,
  isRunId,
  ownedLinkName,
  ownedName,
  ownerOf,
  seededRandom,
  sizesFor,
  type HostInventory,
} from '../../src/runner/kit/index.js';
import { createRunId } from '../../src/runner/index.js';

const RUN = '20261122-103000-ab12';

describe('suite kit: ownership marks', () => {
  it('marks engine objects with the run and suite, and names host objects with both', () => {
    const owner = ownerOf(RUN, 'storage-churn');
    expect(owner.labels).to.deep.equal({ 'gauntlet.run': RUN, 'gauntlet.suite': 'storage-churn' });
    expect(owner.prefix).to.equal('gauntlet-20261122-103000-ab12-storage-churn');
    expect(owner.workspace).to.equal('/var/tmp/gauntlet-20261122-103000-ab12-storage-churn');
    expect(ownedName(owner, 'ns', 7)).to.equal('gauntlet-20261122-103000-ab12-storage-churn-ns-7');
  });

  it('names veths within the kernel\'s 15 characters, and refuses an index that does not fit', () => {
    const owner = ownerOf(RUN, 'ns-cgroup');
    expect(ownedLinkName(owner, 0)).to.equal('gtlab120');
    expect(ownedLinkName(owner, 36 ** 8 - 1)).to.have.length(15);
    expect(() => ownedLinkName(owner, 36 ** 8)).to.throw(/15-character/);
  });

  it('accepts the run ids a run creates and refuses anything else', () => {
    expect(isRunId(createRunId())).to.equal(true);
    for (const bad of ['', 'latest', '20261122-103000', '20261122-103000-AB12', '../20261122-103000-ab12']) expect(isRunId(bad), bad).to.equal(false);
    expect(() => ownerOf('x', 'zombies')).to.throw(/run id/);
    expect(() => ownerOf(RUN, 'Bad Name')).to.throw(/suite name/);
  });
});

describe('suite kit: seeded randomness', () => {
  const draw = (seed: number, stream: string) => {
    const random = seededRandom(seed, stream);
    return [random.int(0, 1_000_000), random.int(0, 1_000_000), random.pick(['a', 'b', 'c', 'd']), random.bytes(9).toString('hex')];
  };

  it('gives the same sequence for the same seed and stream', () => {
    expect(draw(42, 'churn')).to.deep.equal(draw(42, 'churn'));
  });

  it('gives other sequences for another seed or another stream', () => {
    expect(draw(42, 'churn')).to.not.deep.equal(draw(43, 'churn'));
    expect(draw(42, 'churn')).to.not.deep.equal(draw(42, 'layers'));
  });

  it('stays within its bounds and hits both ends', () => {
    const random = seededRandom(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(random.int(3, 6));
    expect([...seen].sort()).to.deep.equal([3, 4, 5, 6]);
    expect(() => random.pick([])).to.throw(/at least one/);
  });
});

describe('suite kit: sizes', () => {
  const TABLE = { quick: { containers: 4, waves: 2 }, full: { containers: 40, waves: 10 }, soak: { containers: 400, waves: 1000 } };

  it('takes the full row by default, the named row otherwise, and a size set alone over the row', () => {
    expect(sizesFor({}, TABLE)).to.deep.equal({ containers: 40, waves: 10, scale: 'full' });
    expect(sizesFor({ scale: 'quick' }, TABLE)).to.deep.equal({ containers: 4, waves: 2, scale: 'quick' });
    expect(sizesFor({ scale: 'soak', waves: 3 }, TABLE)).to.deep.equal({ containers: 400, waves: 3, scale: 'soak' });
  });

  it('refuses an unknown scale and a size that is not a non-negative number, naming the parameter', () => {
    expect(() => sizesFor({ scale: 'huge' }, TABLE)).to.throw('--param scale: expected one of quick, full, soak, got "huge"');
    expect(() => sizesFor({ containers: 'many' }, TABLE)).to.throw('--param containers: expected a non-negative number, got "many"');
    expect(() => sizesFor({ waves: -1 }, TABLE)).to.throw('--param waves');
  });

  it('documents every size with its default and the quick and soak values', () => {
    const described = describeSizes(TABLE, { containers: 'containers per wave', waves: 'waves' });
    expect(Object.keys(described)).to.deep.equal(['scale', 'containers', 'waves']);
    expect(described.containers).to.deep.equal({ default: 40, description: 'containers per wave (quick 4, soak 400)' });
    expect(described.scale!.default).to.equal('full');
  });
});

describe('suite kit: latencies', () => {
  it('reports percentiles, count and failures of the timed operations', async () => {
    const latencies = new Latencies('create');
    for (let i = 0; i < 5; i++) await latencies.time(async () => i);
    await latencies.time(async () => Promise.reject(new Error('no space left on device'))).catch(() => undefined);
    const metrics = new Map<string, number>();
    latencies.report({ metric: (name, value) => metrics.set(name, value) });
    expect(metrics.get('create_count')).to.equal(5);
    expect(metrics.get('create_failures')).to.equal(1);
    expect(metrics.has('create_p50_ms') && metrics.has('create_p99_ms') && metrics.has('create_max_ms')).to.equal(true);
    expect(metrics.get('create_p50_ms')!).to.be.at.most(metrics.get('create_p99_ms')!);
  });

  it('reports no percentiles without samples', () => {
    const metrics = new Map<string, number>();
    new Latencies('remove').report({ metric: (name, value) => metrics.set(name, value) });
    expect([...metrics.keys()]).to.deep.equal(['remove_count', 'remove_failures']);
  });
});

describe('suite kit: comparing what a host holds', () => {
  const base: HostInventory = {
    containers: ['aaa web running'],
    images: ['111 busybox:latest'],
    volumes: [],
    networks: ['bridge', 'host', 'none'],
    netns: ['gt-run-h0'],
    links: ['lo', 'eth0'],
    cgroups: ['/sys/fs/cgroup/pids/docker'],
    mounts: ['self /', 'self /proc'],
    loops: [],
    workspaces: [],
    dataRoot: '/var/lib/docker',
    freeKb: 10_000_000,
    freeInodes: 1_000_000,
  };

  it('finds no difference between equal inventories, nor within the disk tolerance', () => {
    expect(compareInventories(base, { ...base, freeKb: base.freeKb! - 1000, freeInodes: base.freeInodes! - 10 })).to.deep.equal([]);
  });

  it('lists what was left behind and what disappeared, kind by kind', () => {
    const after = { ...base, netns: ['gt-run-h0', 'gauntlet-x-ns-1'], images: [], mounts: ['self /', 'self /proc', 'self /proc#2'] };
    expect(compareInventories(base, after)).to.deep.equal([
      'images: 1 that were there before are gone: 111 busybox:latest',
      'netns: 1 left behind: gauntlet-x-ns-1',
      'mounts: 1 left behind: self /proc#2',
    ]);
  });

  it('reports disk space and inodes not given back', () => {
    const problems = compareInventories(base, { ...base, freeKb: base.freeKb! - 600 * 1024, freeInodes: base.freeInodes! - 5000 });
    expect(problems).to.deep.equal([
      'free disk under /var/lib/docker: 600 MiB less than before (tolerance 256 MiB)',
      'free inodes under /var/lib/docker: 5000 fewer than before (tolerance 2000)',
    ]);
  });
});
