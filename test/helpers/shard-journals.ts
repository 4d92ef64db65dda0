// Shard journals made from an unsharded one, as `gauntlet run --shard i/n` jobs of the same plan would write them.

import type { JournalEvent, RunStartEvent } from '../../src/model/index.js';
import { selectShard } from '../../src/runner/shard.js';

/** Host-level events: every shard that runs a suite on the host gets them. */
const HOST_EVENTS = new Set(['host-facts', 'host-unreachable', 'host-end', 'host-liveness']);

/**
 * Splits an unsharded journal into the journals `--shard i/total` runs of the same plan would write: the pairs are
 * dealt by the runner's own selectShard, each shard has its own run id, seed and start time.
 */
export function splitIntoShards(events: JournalEvent[], total: number): JournalEvent[][] {
  const start = events[0] as RunStartEvent;
  return Array.from({ length: total }, (_, i) => {
    const jobs = selectShard(start.hosts, start.suites, { index: i + 1, total });
    const pairs = Object.fromEntries(jobs.map(({ host, suites }) => [host.name, suites.map((suite) => suite.name)]));
    const owns = (host: string, suite?: string): boolean => (suite === undefined ? host in pairs : (pairs[host] ?? []).includes(suite));
    const shardStart: RunStartEvent = {
      ...start,
      runId: `${start.runId}-s${i + 1}`,
      ts: new Date(Date.parse(start.ts) + i * 1000).toISOString(),
      argv: [...start.argv, '--shard', `${i + 1}/${total}`],
      hosts: jobs.map(({ host }) => host),
      seed: start.seed + i,
      shard: { index: i + 1, total },
      pairs,
    };
    const rest = events.slice(1).filter((event) => {
      if (event.type === 'run-end') return true;
      if (HOST_EVENTS.has(event.type)) return owns((event as { host: string }).host);
      if (event.type === 'kernel-event') return owns(event.host, event.test?.suite);
      return owns((event as { host: string }).host, (event as { suite: string }).suite);
    });
    return [shardStart, ...rest];
  });
}

