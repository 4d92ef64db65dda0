// Quick, read-only checks of the container engine: it answers, agrees with the recorded stack, and has room.
//
// Parameters:
//   diskHeadroomPct (default 10)  at least this share of the data root's filesystem (space and inodes) must be free

import { expect } from 'chai';
import { host, meta, params } from 'gauntlet/suite';

meta({
  description: 'The engine answers, reports the stack the facts recorded, and its data root has space and inodes to spare.',
  requires: { engine: 'docker' },
  timeoutMs: 30_000,
  params: {
    diskHeadroomPct: { default: 10, description: 'share of space and inodes under the data root that must be free, in percent' },
  },
});

/** The kernel filesystem each storage driver needs. */
const DRIVER_FILESYSTEM: Record<string, string> = { overlay2: 'overlay', overlay: 'overlay', btrfs: 'btrfs', zfs: 'zfs', aufs: 'aufs' };

describe('engine health', () => {
  it('answers and reports the stack the facts recorded', async () => {
    const started = performance.now();
    const info = await host.docker.info();
    host.metric('engine_info_ms', Math.round(performance.now() - started), 'ms');
    expect(info.ServerVersion).to.equal(host.facts?.engine?.version);
    expect(info.Driver).to.equal(host.facts?.storage?.driver);
    expect(info.DockerRootDir).to.equal(host.facts?.storage?.dataRoot);
  });

  it('has space and inodes to spare under its data root', async () => {
    const dataRoot = host.facts?.storage?.dataRoot ?? '/var/lib/docker';
    const [space, inodes] = (await host.checkOutput(`df --output=pcent,ipcent '${dataRoot}' | tail -n 1`)).trim().split(/\s+/).map((pct) => Number(pct.replace('%', '')));
    host.metric('data_root_used_pct', space!, '%');
    host.metric('data_root_inodes_used_pct', inodes!, '%');
    const headroom = typeof params.diskHeadroomPct === 'number' ? params.diskHeadroomPct : 10;
    expect(100 - space!, `space used under ${dataRoot}`).to.be.at.least(headroom);
    expect(100 - (Number.isNaN(inodes) ? 0 : inodes!), `inodes used under ${dataRoot}`).to.be.at.least(headroom);
  });

  it('runs a kernel that supports its storage driver', async function () {
    const driver = host.facts?.storage?.driver ?? '';
    const filesystem = DRIVER_FILESYSTEM[driver];
    host.log(`storage driver ${driver} needs kernel filesystem ${filesystem ?? '(none: no kernel filesystem needed)'}`);
    if (!filesystem) this.skip();
    const filesystems = await host.checkOutput('cat /proc/filesystems');
    expect(filesystems.split('\n').map((line) => line.trim().split(/\s+/).pop())).to.include(filesystem);
  });
});
