// Tests the stack key: its format on facts built from real samples, sanitisation, missing engine, round trip.

import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import {
  formatStackKey,
  parseDockerInfo,
  parseHardwareProbe,
  parseKernelProbe,
  parseOsRelease,
  parsePodmanInfo,
  parseStackKey,
  sanitiseSegment,
  STACK_KEY_FIELDS,
  stackKeyOf,
  type EngineReport,
} from '../../src/facts/index.js';
import { GauntletError, type Facts } from '../../src/model/index.js';

function readFixture(name: string): string {
  return readFileSync(new URL(`../fixtures/facts/${name}`, import.meta.url), 'utf8');
}

/** Facts as gatherFacts would assemble them from the captured samples of this Debian 12 host. */
function buildFacts(osRelease: string, report: EngineReport | null): Facts {
  return {
    distro: parseOsRelease(readFixture(osRelease)),
    kernel: parseKernelProbe(readFixture('probe-kernel-debian12.txt')),
    hardware: parseHardwareProbe(readFixture('probe-hardware-debian12.txt')),
    bootId: '3f1c0f7e-2b7a-4d5e-9a43-0c2f3b0e6d11',
    engine: report ? { ...report.engine, endpoint: 'unix:///var/run/docker.sock' } : null,
    storage: report ? report.storage : null,
    cgroup: { version: report?.cgroup.version ?? 2 },
    runtime: report?.runtime ? { name: report.runtime.name } : null,
    init: { pid1: 'systemd' },
    security: { apparmor: 'enabled', selinux: 'absent' },
    systemdVersion: '252',
    probeErrors: {},
    gatheredAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1,
  };
}

const dockerReport = parseDockerInfo(
  readFixture('docker-info-debian12-20.10.24.json'),
  readFixture('docker-version-debian12-20.10.24.json'),
);

describe('stack key', () => {
  it('exports the six field names in key order', () => {
    expect(STACK_KEY_FIELDS).to.deep.equal(['distro', 'kernel', 'engine', 'storage_driver', 'backing_fs', 'cgroup']);
  });

  it('formats the captured debian 12 + docker 20.10.24 host', () => {
    expect(stackKeyOf(buildFacts('os-release-debian-12', dockerReport))).to.equal(
      'debian-12/6.18.44-fc-v769/docker-20.10.24+dfsg1/overlay2/extfs/cgroup1',
    );
  });

  it('formats podman, with its own driver name', () => {
    const podman = parsePodmanInfo(readFixture('podman-info-debian12-4.3.1.json'));
    expect(stackKeyOf(buildFacts('os-release-debian-12', podman))).to.equal('debian-12/6.18.44-fc-v769/podman-4.3.1/overlay/extfs/cgroup1');
  });

  it('writes none/none/none for a host without an engine', () => {
    const facts = buildFacts('os-release-ubuntu-24.04', null);
    expect(stackKeyOf(facts)).to.equal('ubuntu-24.04/6.18.44-fc-v769/none/none/none/cgroup2');
  });

  it('uses the bare ID for a rolling distro without VERSION_ID', () => {
    expect(stackKeyOf(buildFacts('os-release-arch', null))).to.match(/^arch\/6\.18\.44-fc-v769\//);
  });

  it('lower-cases, replaces / and whitespace with _, and writes unknown for empty values', () => {
    const facts = buildFacts('os-release-rhel-9', dockerReport);
    facts.distro = { ...facts.distro, id: 'RHEL', versionId: '9.4 beta' };
    facts.kernel = { ...facts.kernel, release: '' };
    facts.engine = { ...facts.engine!, version: 'Nightly/2026 01' };
    facts.storage = { driver: 'overlay2', backingFs: 'ext2/ext3', dataRoot: '/var/lib/docker' };
    expect(stackKeyOf(facts)).to.equal('rhel-9.4_beta/unknown/docker-nightly_2026_01/overlay2/ext2_ext3/cgroup1');
    expect(sanitiseSegment(' \t')).to.equal('unknown');
    expect(sanitiseSegment('A\tB\nC')).to.equal('a_b_c');
  });

  it('writes unknown for storage fields an engine did not give, and for a cgroup nobody could tell', () => {
    const facts = buildFacts('os-release-debian-12', dockerReport);
    facts.storage = { driver: 'btrfs', backingFs: '', dataRoot: '/var/lib/docker' };
    facts.cgroup = { version: null };
    facts.probeErrors = { cgroup: 'stat: cannot read file system information', backingFs: 'stat failed' };
    expect(stackKeyOf(facts)).to.equal('debian-12/6.18.44-fc-v769/docker-20.10.24+dfsg1/btrfs/unknown/unknown');
  });

  it('writes unknown for every distro part when the os-release probe failed', () => {
    const facts = buildFacts('os-release-debian-12', null);
    facts.distro = { id: '', versionId: '', prettyName: '', idLike: [] };
    expect(parseStackKey(stackKeyOf(facts)).distro).to.equal('unknown');
  });

  it('round-trips through parseStackKey and formatStackKey for every os-release sample', () => {
    for (const file of ['os-release-debian-12', 'os-release-ubuntu-22.04', 'os-release-alpine-3.19', 'os-release-amzn-2023', 'os-release-arch']) {
      for (const report of [dockerReport, null]) {
        const key = stackKeyOf(buildFacts(file, report));
        const parts = parseStackKey(key);
        expect(Object.keys(parts)).to.deep.equal([...STACK_KEY_FIELDS]);
        expect(formatStackKey(parts)).to.equal(key);
      }
    }
    expect(parseStackKey('debian-12/6.1.0-56-amd64/docker-20.10.24/overlay2/extfs/cgroup2')).to.deep.equal({
      distro: 'debian-12',
      kernel: '6.1.0-56-amd64',
      engine: 'docker-20.10.24',
      storage_driver: 'overlay2',
      backing_fs: 'extfs',
      cgroup: 'cgroup2',
    });
  });

  it('rejects strings that are not six non-empty segments', () => {
    expect(() => parseStackKey('debian-12/6.1.0/docker-1/overlay2/extfs')).to.throw(GauntletError, /not a stack key/);
    expect(() => parseStackKey('debian-12//docker-1/overlay2/extfs/cgroup2')).to.throw(GauntletError, /6 non-empty segments/);
    expect(() => parseStackKey('a/b/c/d/e/f/g')).to.throw(GauntletError);
  });
});
