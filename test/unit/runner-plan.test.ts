// Pure pieces of planning a run: sharding, --param parsing, suite requirements, suite names.

import { expect } from 'chai';
import { parseParams } from '../../src/cli/commands/run.js';
import type { Facts, HostSpec } from '../../src/model/index.js';
import { brokenRequirement, unmetRequirement } from '../../src/runner/requirements.js';
import { parseShard, selectShard, suiteNameOf } from '../../src/runner/index.js';

const hosts = ['web2', 'web1', 'db1', 'db2', 'cache'].map((name) => ({ name }));
const suites = ['zombies', 'layers', 'disk-fill'].map((name) => ({ name }));
const pairsOf = (plan: Array<{ host: { name: string }; suites: Array<{ name: string }> }>): string[] =>
  plan.flatMap(({ host, suites: chosen }) => chosen.map((suite) => `${host.name}/${suite.name}`));

describe('sharding', () => {
  it('deals every host × suite pair to exactly one shard, in sizes that differ by at most one', () => {
    const whole = pairsOf(selectShard(hosts, suites, null));
    expect(whole).to.have.length(15);
    for (const total of [1, 2, 4, 7, 15, 20]) {
      const shards = Array.from({ length: total }, (_, i) => pairsOf(selectShard(hosts, suites, { index: i + 1, total })));
      const union = shards.flat();
      expect(new Set(union).size, `${total} shards`).to.equal(union.length);
      expect([...union].sort()).to.deep.equal([...whole].sort());
      const sizes = shards.map((shard) => shard.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).to.be.at.most(1);
    }
  });

  it('does not depend on the order hosts and suites were given in', () => {
    const a = pairsOf(selectShard(hosts, suites, { index: 2, total: 3 })).sort();
    const b = pairsOf(selectShard([...hosts].reverse(), [...suites].reverse(), { index: 2, total: 3 })).sort();
    expect(a).to.deep.equal(b);
  });

  it('keeps inventory order of hosts and requested order of suites within a shard', () => {
    const plan = selectShard(hosts, suites, null);
    expect(plan.map((entry) => entry.host.name)).to.deep.equal(['web2', 'web1', 'db1', 'db2', 'cache']);
    expect(plan[0]!.suites.map((suite) => suite.name)).to.deep.equal(['zombies', 'layers', 'disk-fill']);
  });

  it('parses i/n and refuses anything else', () => {
    expect(parseShard('2/4')).to.deep.equal({ index: 2, total: 4 });
    for (const bad of ['0/4', '5/4', '2', '2/0', 'a/b', '-1/3', '1/2/3']) {
      expect(() => parseShard(bad), bad).to.throw(/--shard: expected i\/n/);
    }
  });
});

describe('--param', () => {
  it('reads JSON values when they parse and strings otherwise', () => {
    expect(parseParams(['scale=quick', 'rounds=3', 'deep=true', 'list=[1,2]', 'text="quoted"', 'empty=', 'url=a=b'])).to.deep.equal({
      scale: 'quick',
      rounds: 3,
      deep: true,
      list: [1, 2],
      text: 'quoted',
      empty: '',
      url: 'a=b',
    });
  });

  it('refuses a pair without a key', () => {
    for (const bad of ['novalue', '=3', '1x=2', 'a b=1']) expect(() => parseParams([bad]), bad).to.throw(/--param: expected key=value/);
  });
});

describe('suite requirements', () => {
  const host = { name: 'h', connection: 'ssh', disposable: false } as HostSpec;
  const facts = {
    engine: { name: 'docker', version: '20.10.24', endpoint: 'x' },
    storage: { driver: 'overlay2', backingFs: 'extfs', dataRoot: '/var/lib/docker' },
    cgroup: { version: 2 },
    probeErrors: {},
  } as unknown as Facts;

  it('lets a suite run when the host meets everything it asks for', () => {
    expect(unmetRequirement({ requires: { engine: 'docker', storageDriver: ['overlay2'], backingFs: ['extfs'], cgroup: 2 } }, host, facts)).to.equal(null);
  });

  it('names the first unmet requirement', () => {
    expect(unmetRequirement({ destructive: true }, host, facts)).to.equal('destructive suite: runs only on hosts with gauntlet_disposable: true');
    expect(unmetRequirement({ destructive: true }, { ...host, disposable: true }, facts)).to.equal(null);
    expect(unmetRequirement({ requires: { engine: 'podman' } }, host, facts)).to.equal('requires podman; host runs docker');
    expect(unmetRequirement({ requires: { engine: 'any' } }, host, { ...facts, engine: null })).to.equal('requires a container engine; host has no engine');
    expect(unmetRequirement({ requires: { storageDriver: ['btrfs', 'vfs'] } }, host, facts)).to.equal('requires storage driver btrfs or vfs; host has overlay2');
    expect(unmetRequirement({ requires: { backingFs: ['xfs'] } }, host, facts)).to.equal('requires backing filesystem xfs; host has extfs');
    expect(unmetRequirement({ requires: { cgroup: 1 } }, host, facts)).to.equal('requires cgroup v1; host has v2');
    expect(unmetRequirement({ requires: { connection: 'local' } }, host, facts)).to.equal('requires the local connection; host uses ssh');
  });
});

describe('broken requirements', () => {
  it('makes an engine that is installed but does not answer an error, never a skip', () => {
    const down = { engine: null, probeErrors: { engine: 'docker /info did not answer within 10 s' } } as unknown as Facts;
    expect(brokenRequirement({ requires: { engine: 'docker' } }, down)).to.deep.equal({
      type: 'ENGINE_UNAVAILABLE',
      message: 'the suite needs the container engine, which did not answer: docker /info did not answer within 10 s',
    });
    expect(brokenRequirement({}, down), 'a suite that needs no engine').to.equal(null);
    const absent = { engine: null, probeErrors: {} } as unknown as Facts;
    expect(brokenRequirement({ requires: { engine: 'docker' } }, absent), 'no engine at all is a skip').to.equal(null);
  });
});

describe('suite names', () => {
  it('drops spec and language suffixes', () => {
    expect(['storage-churn.spec.ts', 'a/b/layers.spec.js', 'x.test.mjs', 'plain.js', 'typed.mts'].map(suiteNameOf)).to.deep.equal(['storage-churn', 'layers', 'x', 'plain', 'typed']);
  });
});
