// Splits the run's host × suite pairs across CI jobs, deterministically: `--shard i/n`.

import { GauntletError } from '../model/index.js';

export interface Shard {
  index: number;
  total: number;
}

/** Parses `i/n` with 1 ≤ i ≤ n. */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : NaN;
  const total = match ? Number(match[2]) : NaN;
  if (!match || total < 1 || index < 1 || index > total) {
    throw new GauntletError('USAGE', `--shard: expected i/n with 1 ≤ i ≤ n (for example 2/4), got ${JSON.stringify(text)}`);
  }
  return { index, total };
}

/**
 * The pairs this shard runs. Pairs are ordered by host name then suite name, and dealt round-robin, so every
 * pair lands in exactly one shard, shards differ in size by at most one, and the split does not depend on the
 * order hosts or suites were given in.
 */
export function selectShard<H extends { name: string }, S extends { name: string }>(
  hosts: H[],
  suites: S[],
  shard: Shard | null,
): Array<{ host: H; suites: S[] }> {
  const pairs = hosts.flatMap((host, h) => suites.map((suite, s) => ({ host, suite, key: `${h}:${s}` })));
  pairs.sort((a, b) => compare(a.host.name, b.host.name) || compare(a.suite.name, b.suite.name));
  const chosen = new Set((shard ? pairs.filter((_, i) => i % shard.total === shard.index - 1) : pairs).map((pair) => pair.key));
  // Back in the given order: hosts as in the inventory, suites as requested.
  return hosts
    .map((host, h) => ({ host, suites: suites.filter((_, s) => chosen.has(`${h}:${s}`)) }))
    .filter((entry) => entry.suites.length > 0);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
