// Measures the classifier on syzkaller's corpus of real console logs with their expected titles: crash detection,
// class and exact-title accuracy, on the logs the rules were developed on, on held-out logs, and on all of them.

import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { classifyLog } from '../../src/classify/index.js';
import { readConsoleFixtures, type ConsoleFixture } from '../helpers/console-corpus.js';
import { expectedClasses } from '../helpers/syzkaller-types.js';

const CORPUS = fileURLToPath(new URL('../../../shared/corpus/syzkaller-linux/', import.meta.url));

/**
 * The hold-out set: logs the rules were never developed against, so the targets are checked on logs "not seen".
 * Numeric names divisible by 5 are held out; this copy of the corpus has none of those (its names skip the
 * endings 0, 1, 5 and 6), so names ending in 7 are held out too, a deterministic 17% of it chosen before any
 * rule was written.
 */
const isHeldOut = (name: string): boolean => Number(name) % 5 === 0 || Number(name) % 10 === 7;

const TARGETS = { detection: 0.98, class: 0.95, title: 0.8 };

interface Rates {
  files: number;
  crashes: number;
  detection: number;
  class: number;
  title: number;
}

function measure(fixtures: readonly ConsoleFixture[]): Rates {
  let detected = 0;
  let classed = 0;
  let titled = 0;
  let crashes = 0;
  for (const fixture of fixtures) {
    const result = classifyLog(fixture.log);
    const expectCrash = fixture.title !== undefined;
    if (result.crashed === expectCrash) detected++;
    if (!expectCrash) continue;
    crashes++;
    const primary = result.primary;
    if (primary && expectedClasses(fixture.type, fixture.title!).includes(primary.class)) classed++;
    if (primary && [fixture.title!, ...fixture.alt].includes(primary.title)) titled++;
  }
  return { files: fixtures.length, crashes, detection: detected / fixtures.length, class: classed / crashes, title: titled / crashes };
}

const percent = (rate: number): string => `${(rate * 100).toFixed(1)}%`.padStart(7);

describe('classify: the syzkaller corpus', function () {
  this.timeout(120_000);
  const all = readConsoleFixtures(CORPUS, (name) => /^\d+$/.test(name));
  const heldOut = all.filter((fixture) => isHeldOut(fixture.name));
  const dev = all.filter((fixture) => !isHeldOut(fixture.name));
  let rates: Record<'dev' | 'hold-out' | 'all', Rates>;

  before(() => {
    rates = { dev: measure(dev), 'hold-out': measure(heldOut), all: measure(all) };
    const rows = Object.entries(rates).map(
      ([set, r]) => `  ${set.padEnd(9)} ${String(r.files).padStart(5)} ${String(r.crashes).padStart(7)} ${percent(r.detection)} ${percent(r.class)} ${percent(r.title)}`,
    );
    console.log(['  set       files crashes  detect   class   title', ...rows].join('\n'));
  });

  it('has the whole corpus, split into development and hold-out logs', () => {
    expect(all.length).to.be.at.least(445);
    expect(heldOut.length).to.be.greaterThan(50);
    expect(dev.length + heldOut.length).to.equal(all.length);
  });

  for (const set of ['hold-out', 'all'] as const) {
    it(`detects crashes (and their absence) in at least ${TARGETS.detection * 100}% of the ${set} logs`, () => {
      expect(rates[set].detection).to.be.at.least(TARGETS.detection);
    });

    it(`gives at least ${TARGETS.class * 100}% of the ${set} crashes their class`, () => {
      expect(rates[set].class).to.be.at.least(TARGETS.class);
    });

    it(`gives at least ${TARGETS.title * 100}% of the ${set} crashes syzbot's exact title (or an alternative)`, () => {
      expect(rates[set].title).to.be.at.least(TARGETS.title);
    });
  }
});
