// Seeded randomness for suites: the same seed and stream name give the same sequence of operations.

import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { createHash } from 'node:crypto';

export interface SeededRandom {
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** `count` random bytes. */
  bytes(count: number): Buffer;
}

/**
 * A random stream for `seed` and `stream` (for example the test's name): streams of the same seed are
 * independent of each other, so adding a test does not change the operations of another.
 */
export function seededRandom(seed: number, stream = ''): SeededRandom {
  const mixed = createHash('sha256').update(`${seed}\0${stream}`).digest().readInt32LE(0);
  const rng = xoroshiro128plus(mixed);
  const int = (min: number, max: number): number => uniformInt(rng, min, max);
  return {
    int,
    chance: (p) => int(0, 999_999) < p * 1_000_000,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick() needs at least one item');
      return items[int(0, items.length - 1)]!;
    },
    bytes: (count) => {
      const out = Buffer.alloc(count);
      for (let i = 0; i < count; i += 4) {
        const value = int(0, 0xffffffff) >>> 0;
        for (let j = 0; j < 4 && i + j < count; j++) out[i + j] = (value >>> (8 * j)) & 0xff;
      }
      return out;
    },
  };
}
