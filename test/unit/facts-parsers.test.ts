// Tests the fact parsers on real captured samples from test/fixtures/facts/ (see its README.md), plus edge cases.

import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import {
  normaliseFsTypeName,
  parseApparmorState,
  parseCgroupFsType,
  parseDockerInfo,
  parseHardwareProbe,
  parseKernelProbe,
  parseMeminfo,
  parseOsRelease,
  parseOsReleaseFields,
  parsePodmanInfo,
  parseRuntimeVersion,
  parseSelinuxState,
  parseSystemdVersion,
} from '../../src/facts/index.js';
import { GauntletError } from '../../src/model/index.js';

function readFixture(name: string): string {
  return readFileSync(new URL(`../fixtures/facts/${name}`, import.meta.url), 'utf8');
}

function readJsonFixture(name: string): Record<string, unknown> {
  return JSON.parse(readFixture(name)) as Record<string, unknown>;
}

describe('facts parsers', () => {
  describe('parseOsRelease', () => {
    const cases: Array<{ file: string; id: string; versionId: string; prettyName: string; codename?: string; idLike: string[] }> = [
      { file: 'os-release-debian-12', id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)', codename: 'bookworm', idLike: [] },
      { file: 'os-release-ubuntu-22.04', id: 'ubuntu', versionId: '22.04', prettyName: 'Ubuntu 22.04.4 LTS', codename: 'jammy', idLike: ['debian'] },
      { file: 'os-release-ubuntu-24.04', id: 'ubuntu', versionId: '24.04', prettyName: 'Ubuntu 24.04.1 LTS', codename: 'noble', idLike: ['debian'] },
      { file: 'os-release-rhel-9', id: 'rhel', versionId: '9.4', prettyName: 'Red Hat Enterprise Linux 9.4 (Plow)', idLike: ['fedora'] },
      { file: 'os-release-alpine-3.19', id: 'alpine', versionId: '3.19.1', prettyName: 'Alpine Linux v3.19', idLike: [] },
      // Fedora ships VERSION_CODENAME="" — an empty codename is no codename.
      { file: 'os-release-fedora-40', id: 'fedora', versionId: '40', prettyName: 'Fedora Linux 40 (Server Edition)', idLike: [] },
      // Arch is rolling: no VERSION_ID at all.
      { file: 'os-release-arch', id: 'arch', versionId: '', prettyName: 'Arch Linux', idLike: [] },
      { file: 'os-release-amzn-2023', id: 'amzn', versionId: '2023', prettyName: 'Amazon Linux 2023.5.20240805', idLike: ['fedora'] },
    ];
    for (const c of cases) {
      it(`reads ${c.file}`, () => {
        const expected: Record<string, unknown> = { id: c.id, versionId: c.versionId, prettyName: c.prettyName, idLike: c.idLike };
        if (c.codename) expected.codename = c.codename;
        expect(parseOsRelease(readFixture(c.file))).to.deep.equal(expected);
      });
    }

    it('keeps every field of the captured debian 12 file, URLs included', () => {
      const fields = parseOsReleaseFields(readFixture('os-release-debian-12'));
      expect(fields).to.deep.equal({
        PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)',
        NAME: 'Debian GNU/Linux',
        VERSION_ID: '12',
        VERSION: '12 (bookworm)',
        VERSION_CODENAME: 'bookworm',
        ID: 'debian',
        HOME_URL: 'https://www.debian.org/',
        SUPPORT_URL: 'https://www.debian.org/support',
        BUG_REPORT_URL: 'https://bugs.debian.org/',
      });
    });

    it('skips comment and blank lines (the hand-written fixtures start with a comment)', () => {
      const fields = parseOsReleaseFields(readFixture('os-release-rhel-9'));
      expect(Object.keys(fields)).to.not.include('#');
      expect(fields.REDHAT_BUGZILLA_PRODUCT_VERSION).to.equal('9.4');
      expect(fields.CPE_NAME).to.equal('cpe:/o:redhat:enterprise_linux:9::baseos');
    });

    it('undoes shell quoting: escapes in double quotes, literal single quotes, joined pieces', () => {
      const fields = parseOsReleaseFields(
        [
          '  # indented comment',
          'A="say \\"hi\\" for \\$5 \\`x\\` \\\\ done"',
          "B='single \\n $kept'",
          'C="x"\'y\'z',
          'D=plain\\ escaped',
          'E=""',
          'F="unterminated value',
          'not an assignment',
          'G=first second',
          'H=a=b',
        ].join('\n'),
      );
      expect(fields).to.deep.equal({
        A: 'say "hi" for $5 `x` \\ done',
        B: 'single \\n $kept',
        C: 'xyz',
        D: 'plain escaped',
        E: '',
        F: 'unterminated value',
        G: 'first',
        H: 'a=b',
      });
    });

    it('keeps a backslash before other characters inside double quotes, as the shell does', () => {
      expect(parseOsReleaseFields('X="a\\nb"').X).to.equal('a\\nb');
    });

    it('handles CRLF line ends', () => {
      expect(parseOsRelease('ID=debian\r\nVERSION_ID="12"\r\n')).to.include({ id: 'debian', versionId: '12' });
    });

    it('applies the os-release(5) defaults when ID and PRETTY_NAME are missing, and lower-cases ID', () => {
      expect(parseOsRelease('')).to.deep.equal({ id: 'linux', versionId: '', prettyName: 'Linux', idLike: [] });
      expect(parseOsRelease('ID=Debian\nID_LIKE="rhel  centos fedora"').idLike).to.deep.equal(['rhel', 'centos', 'fedora']);
      expect(parseOsRelease('ID=Debian').id).to.equal('debian');
    });
  });

  describe('parseDockerInfo', () => {
    const info = readJsonFixture('docker-info-debian12-20.10.24.json');
    const version = readJsonFixture('docker-version-debian12-20.10.24.json');

    it('reads the captured docker 20.10.24 /info and /version', () => {
      expect(parseDockerInfo(info, version)).to.deep.equal({
        engine: {
          name: 'docker',
          version: '20.10.24+dfsg1',
          apiVersion: '1.41',
          daemonId: 'XQ7O:FTYO:2NQJ:WOYQ:U2EE:XP33:NTWV:DPLJ:LCFQ:HW6F:2KQE:H563',
          daemonName: 'vm',
          operatingSystem: 'Debian GNU/Linux 12 (bookworm)',
          kernelVersion: '6.18.44-fc-v769',
        },
        storage: { driver: 'overlay2', backingFs: 'extfs', dataRoot: '/var/lib/docker' },
        cgroup: { version: 1, driver: 'cgroupfs' },
        runtime: { name: 'runc', path: 'runc', version: '1.1.5+ds1' },
        engineInit: 'docker-init',
      });
    });

    it('accepts the JSON text as well as parsed objects', () => {
      const fromText = parseDockerInfo(readFixture('docker-info-debian12-20.10.24.json'), readFixture('docker-version-debian12-20.10.24.json'));
      expect(fromText).to.deep.equal(parseDockerInfo(info, version));
    });

    it('leaves out what an older daemon does not report (no CgroupVersion before 20.10, no InitBinary)', () => {
      const old = { ...info };
      delete old.CgroupVersion;
      delete old.InitBinary;
      delete old.Runtimes;
      const report = parseDockerInfo(old, { ...version, Components: undefined });
      expect(report.cgroup).to.deep.equal({ driver: 'cgroupfs' });
      expect(report).to.not.have.property('engineInit');
      expect(report.runtime).to.deep.equal({ name: 'runc' });
      expect(report.engine.version).to.equal('20.10.24+dfsg1');
    });

    it('leaves backingFs empty when DriverStatus does not name it (btrfs driver, containerd snapshotter)', () => {
      const report = parseDockerInfo({ ...info, Driver: 'btrfs', DriverStatus: [['Btrfs', '']] }, version);
      expect(report.storage).to.deep.equal({ driver: 'btrfs', backingFs: '', dataRoot: '/var/lib/docker' });
    });

    it('does not take the runc component version for another default runtime', () => {
      const report = parseDockerInfo({ ...info, DefaultRuntime: 'crun', Runtimes: { crun: { path: '/usr/bin/crun' } } }, version);
      expect(report.runtime).to.deep.equal({ name: 'crun', path: '/usr/bin/crun' });
    });

    it('falls back to /version for the server version when /info lacks it', () => {
      const partial = { ...info };
      delete partial.ServerVersion;
      expect(parseDockerInfo(partial, version).engine.version).to.equal('20.10.24+dfsg1');
    });

    it('recognises podman 4.3.1 answering the docker API (captured from `podman system service`)', () => {
      const report = parseDockerInfo(
        readJsonFixture('podman-compat-info-debian12-4.3.1.json'),
        readJsonFixture('podman-compat-version-debian12-4.3.1.json'),
      );
      expect(report).to.deep.equal({
        engine: {
          name: 'podman',
          version: '4.3.1',
          apiVersion: '1.41',
          daemonId: 'd1856c94-e794-4e76-9668-315d947f35fb',
          daemonName: 'vm',
          operatingSystem: 'debian',
          kernelVersion: '6.18.44-fc-v769',
        },
        storage: { driver: 'overlay', backingFs: 'extfs', dataRoot: '/var/lib/containers/storage' },
        cgroup: { version: 1, driver: 'cgroupfs' },
        runtime: { name: 'runc', path: '/usr/bin/runc', version: '1.1.5+ds1' },
      });
    });

    it('rejects something that is not a JSON object with PROBE_FAILED', () => {
      expect(() => parseDockerInfo('not json', version)).to.throw(GauntletError, /docker \/info is not valid JSON/);
      expect(() => parseDockerInfo([], version)).to.throw(GauntletError, /not a JSON object/);
    });
  });

  describe('parsePodmanInfo', () => {
    it('reads the captured `podman info --format json` of podman 4.3.1', () => {
      expect(parsePodmanInfo(readFixture('podman-info-debian12-4.3.1.json'))).to.deep.equal({
        engine: { name: 'podman', version: '4.3.1', apiVersion: '4.3.1', daemonName: 'vm', operatingSystem: 'debian 12', kernelVersion: '6.18.44-fc-v769' },
        storage: { driver: 'overlay', backingFs: 'extfs', dataRoot: '/var/lib/containers/storage' },
        cgroup: { version: 1, driver: 'cgroupfs' },
        runtime: { name: 'runc', path: '/usr/bin/runc', version: '1.1.5+ds1' },
      });
    });

    it('reads cgroup v2 and a crun runtime, and tolerates missing sections', () => {
      const info = readJsonFixture('podman-info-debian12-4.3.1.json');
      const host = info.host as Record<string, unknown>;
      const crunText = readFixture('crun-version-1.8.1.txt');
      const v2 = { ...info, host: { ...host, cgroupVersion: 'v2', cgroupManager: 'systemd', ociRuntime: { name: 'crun', path: '/usr/bin/crun', version: crunText } } };
      const report = parsePodmanInfo(v2);
      expect(report.cgroup).to.deep.equal({ version: 2, driver: 'systemd' });
      expect(report.runtime).to.deep.equal({ name: 'crun', path: '/usr/bin/crun', version: '1.8.1' });
      expect(parsePodmanInfo({ version: { Version: '4.3.1' } })).to.deep.equal({
        engine: { name: 'podman', version: '4.3.1' },
        storage: { driver: '', backingFs: '', dataRoot: '' },
        cgroup: {},
        runtime: null,
      });
    });
  });

  describe('parseMeminfo', () => {
    it('reads the captured /proc/meminfo, converting kB to bytes and keeping counts', () => {
      const mem = parseMeminfo(readFixture('meminfo-debian12.txt'));
      expect(mem.MemTotal).to.equal(24683656 * 1024);
      expect(mem['Active(anon)']).to.equal(1536 * 1024);
      expect(mem.HugePages_Total).to.equal(0);
      expect(mem.Hugepagesize).to.equal(2048 * 1024);
      // One field per line of the file: none skipped.
      expect(Object.keys(mem)).to.have.length(readFixture('meminfo-debian12.txt').trim().split('\n').length);
    });
  });

  describe('parseCgroupFsType', () => {
    it('reads tmpfs as cgroup v1 (captured on this hybrid host)', () => {
      expect(parseCgroupFsType(readFixture('stat-cgroup-tmpfs.txt'))).to.equal(1);
    });
    it('reads cgroup2fs as cgroup v2 (captured from /sys/fs/cgroup/unified)', () => {
      expect(parseCgroupFsType(readFixture('stat-cgroup-unified-cgroup2fs.txt'))).to.equal(2);
    });
    it('refuses to guess on anything else', () => {
      expect(() => parseCgroupFsType('sysfs\n')).to.throw(GauntletError, /unrecognised filesystem type on \/sys\/fs\/cgroup: "sysfs"/);
      expect(() => parseCgroupFsType('')).to.throw(GauntletError);
    });
  });

  describe('parseRuntimeVersion', () => {
    it('reads `runc --version` of Debian 12', () => {
      expect(parseRuntimeVersion(readFixture('runc-version-1.1.5.txt'))).to.deep.equal({ name: 'runc', version: '1.1.5+ds1' });
    });
    it('reads `crun --version` of Debian 12', () => {
      expect(parseRuntimeVersion(readFixture('crun-version-1.8.1.txt'))).to.deep.equal({ name: 'crun', version: '1.8.1' });
    });
    it('throws on output without a version line', () => {
      expect(() => parseRuntimeVersion('sh: 1: runc: not found\n')).to.throw(GauntletError, /no "NAME version X" line/);
    });
  });

  describe('parseSystemdVersion', () => {
    it('reads `systemctl --version` of Debian 12', () => {
      expect(parseSystemdVersion(readFixture('systemctl-version-252.txt'))).to.equal('252');
    });
    it('reads the older form without a package version in parentheses', () => {
      expect(parseSystemdVersion('systemd 219\n+PAM +AUDIT\n')).to.equal('219');
    });
    it('throws on anything else', () => {
      expect(() => parseSystemdVersion('System has not been booted with systemd')).to.throw(GauntletError);
    });
  });

  describe('kernel and hardware probes', () => {
    it('reads the captured kernel probe output', () => {
      const kernel = parseKernelProbe(readFixture('probe-kernel-debian12.txt'));
      expect(kernel.release).to.equal('6.18.44-fc-v769');
      expect(kernel.version).to.equal('#1 SMP PREEMPT_DYNAMIC @0');
      expect(kernel.cmdline).to.match(/^mitigations=auto,no_guest_host,no_guest_guest console=ttyS0 quiet /);
      expect(() => parseKernelProbe('')).to.throw(GauntletError, /uname -r printed nothing/);
    });
    it('reads the captured hardware probe output', () => {
      expect(parseHardwareProbe(readFixture('probe-hardware-debian12.txt'))).to.deep.equal({
        arch: 'x86_64',
        cpus: 2,
        memTotalBytes: 24683656 * 1024,
      });
      expect(() => parseHardwareProbe('x86_64\nnproc: not found\n')).to.throw(GauntletError, /unexpected hardware probe output/);
    });
  });

  describe('security states', () => {
    it('reads AppArmor', () => {
      expect(parseApparmorState('Y\n')).to.equal('enabled');
      expect(parseApparmorState('N\n')).to.equal('disabled');
      expect(parseApparmorState('absent\n')).to.equal('absent');
      expect(() => parseApparmorState('maybe')).to.throw(GauntletError);
    });
    it('reads SELinux', () => {
      expect(parseSelinuxState('1\n')).to.equal('enforcing');
      expect(parseSelinuxState('0\n')).to.equal('permissive');
      expect(parseSelinuxState('disabled\n')).to.equal('disabled');
      expect(parseSelinuxState('absent\n')).to.equal('absent');
      expect(() => parseSelinuxState('2')).to.throw(GauntletError);
    });
  });

  describe('normaliseFsTypeName', () => {
    it("names ext2/3/4 as docker does and passes others through", () => {
      expect(normaliseFsTypeName('ext2/ext3\n')).to.equal('extfs');
      expect(normaliseFsTypeName('xfs\n')).to.equal('xfs');
      expect(normaliseFsTypeName('btrfs')).to.equal('btrfs');
    });
  });
});
