// The suite kit's image archives: tars that GNU tar reads as written and that read back the same, layers and
// their diff and chain IDs, and `docker save`-format archives with their manifest, configs and shared layers.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { chainIds, imageConfig, makeLayer, readTar, sha256Digest, writeSaveArchive, writeTar } from '../../src/runner/kit/index.js';

const hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** GNU tar's verbose listing of an archive, one member a line. */
function gnuList(archive: Buffer): string[] {
  return execFileSync('tar', ['-tvf', '-', '--numeric-owner'], { input: archive, encoding: 'utf8' }).trim().split('\n');
}

describe('suite kit: tar archives', () => {
  it('writes ustar members that GNU tar lists with their types, modes, owners and sizes', () => {
    const archive = writeTar([
      { name: 'gauntlet', type: 'directory' },
      { name: 'gauntlet/top', data: 'l00001\n' },
      { name: 'bin/busybox', data: Buffer.alloc(1000, 1), mode: 0o755 },
      { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
    ]);
    expect(archive.length % 512, 'archive length in 512-byte blocks').to.equal(0);
    const listing = gnuList(archive).map((line) => line.replace(/\s+\d{4}-\d\d-\d\d \d\d:\d\d/, '').replace(/\s+/g, ' '));
    expect(listing).to.deep.equal([
      'drwxr-xr-x 0/0 0 gauntlet/',
      '-rw-r--r-- 0/0 7 gauntlet/top',
      '-rwxr-xr-x 0/0 1000 bin/busybox',
      'lrwxrwxrwx 0/0 0 bin/sh -> busybox',
    ]);
  });

  it('reads back what it wrote, paths longer than 100 bytes included', () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
    const entries = readTar(
      writeTar([
        { name: 'a', type: 'directory' },
        { name: 'a/file', data: 'content', mode: 0o600 },
        { name: long, data: Buffer.from([0, 1, 2]) },
        { name: 'a/link', type: 'symlink', linkname: 'file' },
      ]),
    );
    expect(entries.map(({ name, type, mode, linkname, data }) => ({ name, type, mode, linkname, data: data.toString('hex') }))).to.deep.equal([
      { name: 'a/', type: 'directory', mode: 0o755, linkname: '', data: '' },
      { name: 'a/file', type: 'file', mode: 0o600, linkname: '', data: Buffer.from('content').toString('hex') },
      { name: long, type: 'file', mode: 0o644, linkname: '', data: '000102' },
      { name: 'a/link', type: 'symlink', mode: 0o777, linkname: 'file', data: '' },
    ]);
  });

  it('reads the long names GNU tar writes in its gnu and pax formats', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gauntlet-tar-'));
    try {
      const name = `${'n'.repeat(150)}.txt`;
      writeFileSync(join(dir, name), 'long\n');
      for (const format of ['gnu', 'pax']) {
        const archive = execFileSync('tar', ['-C', dir, `--format=${format}`, '-cf', '-', name]);
        const [entry] = readTar(archive);
        expect(entry?.name, `member name in a ${format} archive`).to.equal(name);
        expect(entry?.data.toString('utf8'), `member data in a ${format} archive`).to.equal('long\n');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a header whose checksum is wrong, and a member cut short', () => {
    const archive = writeTar([{ name: 'f', data: 'x'.repeat(600) }]);
    const corrupt = Buffer.from(archive);
    corrupt[0] = 'g'.charCodeAt(0);
    expect(() => readTar(corrupt)).to.throw(/bad header checksum at byte 0/);
    expect(() => readTar(archive.subarray(0, 1024))).to.throw(/needs 600 bytes/);
  });

  it('refuses a symlink without a target and a path too long for ustar', () => {
    expect(() => writeTar([{ name: 'l', type: 'symlink' }])).to.throw(/needs a linkname/);
    expect(() => writeTar([{ name: 'x'.repeat(101) }])).to.throw(/too long/);
  });
});

describe('suite kit: layers and chain IDs', () => {
  it('makes a layer of its files with their parent folders first, named by the digest of its tar', () => {
    const layer = makeLayer([
      { path: '/gauntlet/layers/l00007', data: 'l00007 run 0a0b\n' },
      { path: '/gauntlet/top', data: 'l00007\n' },
    ]);
    expect(layer.diffId).to.equal(`sha256:${hex(layer.tar)}`);
    expect(readTar(layer.tar).map((entry) => entry.name)).to.deep.equal(['gauntlet/', 'gauntlet/layers/', 'gauntlet/layers/l00007', 'gauntlet/top']);
  });

  it('gives the same layer for the same files and another for other content', () => {
    const files = [{ path: 'gauntlet/top', data: 'a\n' }];
    expect(makeLayer(files).diffId).to.equal(makeLayer(files).diffId);
    expect(makeLayer([{ path: 'gauntlet/top', data: 'b\n' }]).diffId).to.not.equal(makeLayer(files).diffId);
    expect(() => makeLayer([{ path: '/', data: '' }])).to.throw(/names no file/);
  });

  it('chains layer IDs as the OCI image spec says: the first is its diff ID, each next sha256 of "<below> <diff ID>"', () => {
    const diffIds = ['a', 'b', 'c'].map((data) => sha256Digest(data));
    const second = `sha256:${hex(`${diffIds[0]} ${diffIds[1]}`)}`;
    const third = `sha256:${hex(`${second} ${diffIds[2]}`)}`;
    expect(chainIds(diffIds)).to.deep.equal([diffIds[0], second, third]);
    expect(chainIds([])).to.deep.equal([]);
  });
});

describe('suite kit: save archives', () => {
  const base = makeLayer([{ path: 'gauntlet/top', data: 'base\n' }]);
  const left = makeLayer([{ path: 'gauntlet/top', data: 'left\n' }]);
  const right = makeLayer([{ path: 'gauntlet/top', data: 'right\n' }]);
  const labels = { 'gauntlet.run': '20261122-103000-ab12', 'gauntlet.suite': 'layers' };

  it('writes each image\'s config with its labels and diff IDs, named by its digest', () => {
    const { json, id } = imageConfig({ tags: ['x:1'], layers: [base, left], labels, cmd: ['/bin/busybox', 'true'], env: ['PATH=/bin'], architecture: 'arm64' });
    expect(id).to.equal(`sha256:${hex(json)}`);
    expect(JSON.parse(json.toString('utf8'))).to.deep.include({
      architecture: 'arm64',
      os: 'linux',
      config: { Env: ['PATH=/bin'], Cmd: ['/bin/busybox', 'true'], Labels: labels },
      rootfs: { type: 'layers', diff_ids: [base.diffId, left.diffId] },
    });
  });

  it('writes manifest.json, configs and layers, a shared layer once, and the same bytes for the same images', () => {
    const images = [
      { tags: ['gauntlet-20261122-103000-ab12-layers:left'], layers: [base, left], labels },
      { tags: ['gauntlet-20261122-103000-ab12-layers:right'], layers: [base, right], labels },
    ];
    const archive = writeSaveArchive(images);
    expect(hex(writeSaveArchive(images)), 'the same images written twice').to.equal(hex(archive));
    const entries = new Map(readTar(archive).map((entry) => [entry.name, entry.data]));
    const manifest = JSON.parse(entries.get('manifest.json')!.toString('utf8')) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
    expect(manifest.map((m) => m.RepoTags)).to.deep.equal([[images[0]!.tags[0]], [images[1]!.tags[0]]]);
    // Layers are folders named by their chain ID, so the shared base is one folder and each top another.
    const [leftChain, rightChain] = [chainIds([base.diffId, left.diffId]), chainIds([base.diffId, right.diffId])];
    expect(manifest[0]!.Layers).to.deep.equal(leftChain.map((id) => `${id.slice(7)}/layer.tar`));
    expect(manifest[1]!.Layers).to.deep.equal(rightChain.map((id) => `${id.slice(7)}/layer.tar`));
    expect([...entries.keys()].filter((name) => name.endsWith('/layer.tar'))).to.have.length(3);
    for (const [i, m] of manifest.entries()) {
      const config = entries.get(m.Config)!;
      expect(m.Config, 'config file name').to.equal(`${hex(config)}.json`);
      const parsed = JSON.parse(config.toString('utf8')) as { rootfs: { diff_ids: string[] }; config: { Labels: Record<string, string> } };
      expect(parsed.rootfs.diff_ids).to.deep.equal(images[i]!.layers.map((layer) => layer.diffId));
      expect(parsed.config.Labels).to.deep.equal(labels);
      for (const [j, path] of m.Layers.entries()) expect(sha256Digest(entries.get(path)!), `${path} holds layer ${j} of image ${i}`).to.equal(images[i]!.layers[j]!.diffId);
    }
    expect(JSON.parse(entries.get('repositories')!.toString('utf8'))).to.deep.equal({
      'gauntlet-20261122-103000-ab12-layers': { left: leftChain[1]!.slice(7), right: rightChain[1]!.slice(7) },
    });
  });

  it('refuses a reference without a tag', () => {
    expect(() => writeSaveArchive([{ tags: ['registry:5000/name'], layers: [base] }])).to.throw(/needs a :tag/);
    expect(() => writeSaveArchive([{ tags: ['name'], layers: [base] }])).to.throw(/needs a :tag/);
  });
});
