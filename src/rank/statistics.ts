// Interval estimates and the rate comparison behind ranking and qualification, on @stdlib's distributions.

import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import chisquareQuantile from '@stdlib/stats-base-dists-chisquare-quantile';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import type { Interval } from '../model/index.js';

/** Two-sided intervals are 95%; the qualification's one-sided test is at 5%. */
export const CONFIDENCE = 0.95;
export const ALPHA = 0.05;

/**
 * The exact (Garwood) two-sided interval of a Poisson mean given `count` events: from the chi-square quantiles,
 * `[χ²(α/2; 2k) / 2, χ²(1 − α/2; 2k + 2) / 2]`, the lower bound 0 when k = 0. For k = 0 it is [0, 3.689]; for
 * k = 10, [4.795, 18.390].
 */
export function poissonInterval(count: number, confidence = CONFIDENCE): Interval {
  const alpha = 1 - confidence;
  const low = count === 0 ? 0 : chisquareQuantile(alpha / 2, 2 * count) / 2;
  const high = chisquareQuantile(1 - alpha / 2, 2 * count + 2) / 2;
  return { low, high };
}

/**
 * The rate of `count` events over `exposure` (in units of `per`: events per 100 test-hours with exposure in hours
 * and per = 100), with its exact Poisson interval. Without exposure the rate is unknown: null, interval [0, ∞).
 */
export function estimateRate(count: number, exposure: number, per = 100): { rate: number | null; interval: Interval } {
  if (!(exposure > 0)) return { rate: null, interval: { low: 0, high: null } };
  const { low, high } = poissonInterval(count);
  return { rate: (count / exposure) * per, interval: { low: (low / exposure) * per, high: ((high ?? 0) / exposure) * per } };
}

/**
 * The Wilson score interval of a proportion (`successes` of `trials`), two-sided. Without trials the proportion is
 * unknown: [0, 1] is all that can be said (high = 1, not null, since a proportion is bounded).
 */
export function wilsonInterval(successes: number, trials: number, confidence = CONFIDENCE): Interval {
  if (trials <= 0) return { low: 0, high: 1 };
  const z = normalQuantile(1 - (1 - confidence) / 2, 0, 1);
  const p = successes / trials;
  const z2 = z * z;
  const centre = (p + z2 / (2 * trials)) / (1 + z2 / trials);
  const half = (z / (1 + z2 / trials)) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * One-sided test that a candidate's Poisson rate is higher than a baseline's (the conditional binomial test of
 * Przyborowski and Wilenski): given the n = kb + kc events of both, under equal rates the candidate's count is
 * Binomial(n, Tc / (Tb + Tc)); the p-value is P(X ≥ kc). With no events, or no exposure on either side, nothing
 * speaks for "worse": p = 1.
 */
export function compareRates(baseline: { count: number; exposure: number }, candidate: { count: number; exposure: number }): number {
  const n = baseline.count + candidate.count;
  if (candidate.count === 0 || n === 0) return 1;
  if (!(candidate.exposure > 0) || !(baseline.exposure > 0)) return 1;
  const p = candidate.exposure / (baseline.exposure + candidate.exposure);
  return Math.min(1, Math.max(0, 1 - binomialCdf(candidate.count - 1, n, p)));
}
