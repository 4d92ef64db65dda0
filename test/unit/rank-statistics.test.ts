// The intervals and the rate test behind ranking, checked against published values.

import { expect } from 'chai';
import { compareRates, estimateRate, poissonInterval, wilsonInterval } from '../../src/rank/index.js';

describe('rank statistics', () => {
  describe('poissonInterval (exact, Garwood, two-sided 95%)', () => {
    // Published exact limits (e.g. Ulm 1990, Table of exact Poisson confidence limits; NIST/SEMATECH):
    // 0 → [0, 3.689], 1 → [0.0253, 5.572], 10 → [4.795, 18.390].
    for (const [count, low, high] of [
      [0, 0, 3.6889],
      [1, 0.0253, 5.5716],
      [10, 4.7954, 18.3904],
    ] as const) {
      it(`gives [${low}, ${high}] for ${count} events`, () => {
        const interval = poissonInterval(count);
        expect(interval.low).to.be.closeTo(low, 1e-4);
        expect(interval.high).to.be.closeTo(high, 1e-4);
      });
    }
  });

  describe('estimateRate', () => {
    it('scales the count and its interval to events per 100 test-hours', () => {
      const { rate, interval } = estimateRate(10, 50);
      expect(rate).to.equal(20);
      expect(interval.low).to.be.closeTo(9.5908, 1e-3);
      expect(interval.high).to.be.closeTo(36.7808, 1e-3);
    });

    it('has no rate and an unbounded interval without exposure', () => {
      expect(estimateRate(0, 0)).to.deep.equal({ rate: null, interval: { low: 0, high: null } });
    });
  });

  describe('wilsonInterval (95%)', () => {
    // Newcombe (1998), Statistics in Medicine 17:857, Table I: 81/263 → 0.2553–0.3662; 15/148 → 0.0624–0.1605; 0/20 → 0–0.1611.
    for (const [successes, trials, low, high] of [
      [81, 263, 0.2553, 0.3662],
      [15, 148, 0.0624, 0.1605],
      [0, 20, 0, 0.1611],
    ] as const) {
      it(`gives [${low}, ${high}] for ${successes}/${trials}`, () => {
        const interval = wilsonInterval(successes, trials);
        expect(interval.low).to.be.closeTo(low, 1e-4);
        expect(interval.high).to.be.closeTo(high, 1e-4);
      });
    }

    it('says only [0, 1] without trials', () => {
      expect(wilsonInterval(0, 0)).to.deep.equal({ low: 0, high: 1 });
    });
  });

  describe('compareRates (one-sided conditional binomial test)', () => {
    it('gives P(X ≥ kc) for X ~ Binomial(kb + kc, Tc / (Tb + Tc))', () => {
      // Equal exposure: p = 1/2; 0 baseline and 5 candidate events: P(X ≥ 5) = 1/32.
      expect(compareRates({ count: 0, exposure: 10 }, { count: 5, exposure: 10 })).to.be.closeTo(1 / 32, 1e-12);
      // 2 vs 2 events on equal exposure: P(X ≥ 2 | n = 4, p = 1/2) = 11/16.
      expect(compareRates({ count: 2, exposure: 10 }, { count: 2, exposure: 10 })).to.be.closeTo(11 / 16, 1e-12);
    });

    it('is 1 when the candidate had no event or there is no exposure to compare', () => {
      expect(compareRates({ count: 4, exposure: 10 }, { count: 0, exposure: 10 })).to.equal(1);
      expect(compareRates({ count: 0, exposure: 0 }, { count: 3, exposure: 10 })).to.equal(1);
    });
  });
});
