// Measures the classifier on syzkaller's corpus of real console logs with their expected titles: crash detection,
// class and exact-title accuracy, on the logs the rules were developed on, on held-out logs, and on all of them:
// the aims are asserted on each.

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
const isHeldOut = (name: string): boolean => (Number(name) % 5 === 0 || Number(name) % 10 === 7) && !OPENED.has(name);

/**
 * Held-out logs that were opened during development, and so are no longer unseen: they count with the development
 * logs. 127 and 317 (syzkaller's REBOOT type, `unexpected kernel reboot`) were opened while listing which logs
 * carry that type, after the rule for a boot under a running system was taken from the kernel's boot banners.
 */
const OPENED = new Set(['127', '317']);

type Metric = 'detection' | 'class' | 'title';

/** The aims, on every set: logs never seen must meet them too. */
const TARGETS: Record<Metric, number> = { detection: 0.98, class: 0.95, title: 0.8 };

const METRICS: readonly Metric[] = ['detection', 'class', 'title'];

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
const versusAim = (rate: number, aim: number): string => `${percent(rate)} ${rate >= aim ? '✓' : '✗'}`;

describe('classify: the syzkaller corpus', function () {
  this.timeout(120_000);
  const all = readConsoleFixtures(CORPUS, (name) => /^\d+$/.test(name));
  const heldOut = all.filter((fixture) => isHeldOut(fixture.name));
  const dev = all.filter((fixture) => !isHeldOut(fixture.name));
  let rates: Record<'dev' | 'hold-out' | 'all', Rates>;

  before(() => {
    rates = { dev: measure(dev), 'hold-out': measure(heldOut), all: measure(all) };
    const aims = METRICS.map((metric) => `${(TARGETS[metric] * 100).toFixed(0)}%`.padStart(9)).join('');
    const rows = Object.entries(rates).map(
      ([set, r]) =>
        `  ${set.padEnd(9)} ${String(r.files).padStart(5)} ${String(r.crashes).padStart(7)} ${METRICS.map((metric) => versusAim(r[metric], TARGETS[metric])).join('')}`,
    );
    console.log(['  set       files crashes   detect    class    title', `  aim                    ${aims}`, ...rows].join('\n'));
  });

  it('has the whole corpus, split into development and hold-out logs', () => {
    expect(all.length).to.be.at.least(445);
    expect(heldOut.length).to.be.greaterThan(50);
    expect(dev.length + heldOut.length).to.equal(all.length);
  });

  const share = (rate: number): string => `${Number((rate * 100).toFixed(1))}%`;
  const WORDS: Record<Metric, (set: string, rate: number) => string> = {
    detection: (set, rate) => `detects crashes (and their absence) in at least ${share(rate)} of the ${set} logs`,
    class: (set, rate) => `gives at least ${share(rate)} of the ${set} crashes their class`,
    title: (set, rate) => `gives at least ${share(rate)} of the ${set} crashes syzbot's exact title (or an alternative)`,
  };

  for (const set of ['dev', 'hold-out', 'all'] as const) {
    for (const metric of METRICS) {
      it(WORDS[metric](set, TARGETS[metric]), () => {
        expect(rates[set][metric]).to.be.at.least(TARGETS[metric]);
      });
    }
  }
});
