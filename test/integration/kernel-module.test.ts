// buildSoftLockupModule for real: Debian's header packages from the apt archive, unpacked and built with this
// runner's make and gcc for the newest 6.1 and the newest 6.12 kernels, then served from the cache.
//
// Both build on a Debian 12 runner: 6.1's headers were built with gcc-12, and so were those of the 6.12 backport
// for bookworm (CONFIG_CC_VERSION_TEXT "x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0"); 6.12 also
// runs pahole on every module for BTF (its linux-kbuild package depends on pahole, which bookworm ships).
// Runner packages: make, gcc-12, pahole, kmod (modinfo), and an apt index that is up to date.

import { mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { buildSoftLockupModule, softLockupModulePath } from '../../src/lab/kernel-module.js';
import { GauntletError } from '../../src/model/index.js';

/** The newest release among `apt-cache search` names matching `pattern` (group 1: the release), by number. */
function newestRelease(names: string[], pattern: RegExp): string | undefined {
  const releases = names.map((name) => pattern.exec(name)?.[1]).filter((release): release is string => release !== undefined);
  const key = (release: string): number[] => release.split(/\D+/).filter(Boolean).map(Number);
  return releases.sort((a, b) => {
    const [ka, kb] = [key(a), key(b)];
    for (let i = 0; i < Math.max(ka.length, kb.length); i++) if ((ka[i] ?? 0) !== (kb[i] ?? 0)) return (ka[i] ?? 0) - (kb[i] ?? 0);
    return 0;
  }).at(-1);
}

async function modinfoVermagic(ko: string): Promise<string> {
  return (await execa('modinfo', ['-F', 'vermagic', ko])).stdout.trim();
}

async function mtimeOf(path: string): Promise<number> {
  return (await stat(path)).mtimeMs;
}

describe('soft-lockup module: built against Debian header packages on the runner', function () {
  this.timeout(10 * 60_000);

  let cacheDir: string;
  const releases: { '6.1'?: string; '6.12'?: string } = {};

  before(async () => {
    for (const tool of ['apt-get', 'apt-cache', 'dpkg-deb', 'make', 'modinfo']) {
      const found = await execa('sh', ['-c', `command -v ${tool}`], { reject: false });
      expect(found.exitCode, `${tool} on the runner (scripts/provision.sh installs what these tests need)`).to.equal(0);
    }
    const search = await execa('apt-cache', ['search', '--names-only', '^linux-headers-6\\.(1|12)\\..*-amd64$']);
    const names = search.stdout.split('\n').map((line) => line.split(' - ')[0]!.trim());
    // Only the plain amd64 flavour: the -cloud-amd64 and -rt-amd64 headers match the search too.
    releases['6.1'] = newestRelease(names, /^linux-headers-(6\.1\.0-\d+-amd64)$/);
    releases['6.12'] = newestRelease(names, /^linux-headers-(6\.12\.\d+\+deb\d+-amd64)$/);
    expect(releases['6.1'], `a 6.1.0-*-amd64 headers package in apt (found: ${names.join(', ') || 'none; run apt-get update'})`).to.be.a('string');
    expect(releases['6.12'], `a 6.12.*-amd64 headers package in apt (found: ${names.join(', ') || 'none; run apt-get update'})`).to.be.a('string');
    cacheDir = await mkdtemp(join(tmpdir(), 'gauntlet-kmod-'));
  });

  after(async () => {
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  for (const series of ['6.1', '6.12'] as const) {
    it(`builds for the newest ${series} kernel, then serves it from the cache`, async () => {
      const release = releases[series]!;
      const started = performance.now();
      const ko = await buildSoftLockupModule(release, cacheDir);
      const coldMs = Math.round(performance.now() - started);
      console.log(`      ${release}: cold build (download, unpack, make) ${(coldMs / 1000).toFixed(1)} s`);

      expect(ko).to.equal(softLockupModulePath(release, cacheDir));
      expect(ko).to.equal(join(cacheDir, 'modules', release, 'gauntlet_softlockup.ko'));
      expect((await stat(ko)).size, 'size of the .ko').to.be.greaterThan(0);
      expect(await modinfoVermagic(ko), 'modinfo -F vermagic').to.match(new RegExp(`^${release.replace(/[.+]/g, '\\$&')} `));
      expect((await execa('modinfo', ['-F', 'license', ko])).stdout.trim()).to.equal('GPL');
      expect((await execa('modinfo', ['-F', 'parm', ko])).stdout).to.match(/^seconds:/);

      const built = await mtimeOf(ko);
      const warmStarted = performance.now();
      expect(await buildSoftLockupModule(release, cacheDir)).to.equal(ko);
      expect(await mtimeOf(ko), 'mtime after the second call (from the cache, not rebuilt)').to.equal(built);
      expect(performance.now() - warmStarted, 'time of the cached call, in ms').to.be.below(1000);
    });
  }

  it('rebuilds when the recorded source digest differs, from the headers it already unpacked', async () => {
    const release = releases['6.1']!;
    const ko = await buildSoftLockupModule(release, cacheDir);
    const headersStamp = join(cacheDir, 'headers', release, '.gauntlet-headers.json');
    const headersUnpacked = await mtimeOf(headersStamp);
    const stampPath = join(cacheDir, 'modules', release, 'gauntlet_softlockup.json');
    const stamp = JSON.parse(await readFile(stampPath, 'utf8')) as { sourceDigest: string };
    await writeFile(stampPath, JSON.stringify({ ...stamp, sourceDigest: 'an older source' }));
    const before = await mtimeOf(ko);
    await new Promise((done) => setTimeout(done, 20));

    expect(await buildSoftLockupModule(release, cacheDir)).to.equal(ko);
    expect(await mtimeOf(ko), 'mtime after a rebuild').to.be.greaterThan(before);
    expect(await mtimeOf(headersStamp), 'the unpacked headers (not unpacked again)').to.equal(headersUnpacked);
    expect((JSON.parse(await readFile(stampPath, 'utf8')) as { sourceDigest: string }).sourceDigest).to.equal(stamp.sourceDigest);
  });

  it('names the missing package for a kernel release apt does not know', async () => {
    const err = await buildSoftLockupModule('6.1.0-999-amd64', cacheDir).then(
      () => null,
      (error: unknown) => error,
    );
    expect(err).to.be.instanceOf(GauntletError);
    expect((err as GauntletError).message).to.match(/^looking up Debian package linux-headers-6\.1\.0-999-amd64 \(apt-cache show\): exited 100: E: No packages found/);
  });

  it('names the tools the runner lacks, with the packages that provide them', async () => {
    // A PATH with everything the build needs except pahole, which 6.12's headers want for module BTF.
    const release = releases['6.12']!;
    const bin = await mkdtemp(join(tmpdir(), 'gauntlet-kmod-path-'));
    const savedPath = process.env.PATH;
    try {
      for (const tool of ['apt-cache', 'apt-get', 'dpkg-deb', 'make', 'gcc-12', 'x86_64-linux-gnu-gcc-12']) {
        const found = (await execa('sh', ['-c', `command -v ${tool}`])).stdout.trim();
        await symlink(found, join(bin, tool));
      }
      await writeFile(join(cacheDir, 'modules', release, 'gauntlet_softlockup.json'), '{}'); // force a rebuild
      process.env.PATH = bin;
      const err = await buildSoftLockupModule(release, cacheDir).then(
        () => null,
        (error: unknown) => error,
      );
      expect(err).to.be.instanceOf(GauntletError);
      expect((err as GauntletError).message).to.equal(`building gauntlet_softlockup for ${release}: the runner lacks pahole; apt-get install pahole`);
    } finally {
      process.env.PATH = savedPath;
      await rm(bin, { recursive: true, force: true });
    }
  });
});
