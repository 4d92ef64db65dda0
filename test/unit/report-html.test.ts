// Tests the HTML renderers without a browser: escaping of hostile text from hosts, empty inputs, self-containment, links.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { JournalEvent, KernelEventRecord, Ranking, RunStartEvent } from '../../src/model/index.js';
import { rankStacks } from '../../src/rank/index.js';
import { chooseAxisMax, html, linkBetween, raw, renderRankingHtml, renderRunHtml } from '../../src/report/index.js';
import { crashed, passing, PANICKY, STABLE, suiteOf, THIN } from '../helpers/rank-results.js';

const MIXED = fileURLToPath(new URL('../fixtures/journals/mixed.jsonl', import.meta.url));
const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)> " onmouseover="alert(2)' &amp;`;

/** The page must load nothing and run nothing: no script element, no URL to fetch, and a CSP that forbids both. */
function expectSelfContained(page: string): void {
  expect(page).to.match(/^<!DOCTYPE html>\n/);
  expect(page).to.include(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`);
  expect(page).to.not.match(/<script/i);
  expect(page).to.not.match(/<img/i);
  expect(page).to.not.match(/https?:\/\//);
  expect(page).to.not.match(/<link\b/i);
  expect(page).to.not.match(/@import|url\(/i);
  // Escaped text has no `<` and no `"`, so these are the page's own tags and attribute names (values blanked): none
  // may load anything or carry an event handler.
  const tags = (page.match(/<[a-zA-Z][^>]*>/g) ?? []).map((tag) => tag.replace(/="[^"]*"/g, '=""'));
  expect(tags.length).to.be.greaterThan(10);
  for (const tag of tags) {
    expect(tag, 'every attribute value is quoted').to.not.match(/=(?!"")/);
    expect(tag).to.not.match(/\s(src|srcset|on[a-z]+)=/i);
  }
}

function rankingOf(): Ranking {
  const suites = [
    ...[1, 2, 3, 4].map((n) => suiteOf(`run-stable-${n}`, STABLE, [passing('a', 60)])),
    ...[1, 2].map((n) => suiteOf(`run-panic-${n}`, PANICKY, [passing('a', 20), crashed('b', 2, 'PANIC', 'Kernel panic - not syncing: Fatal exception')])),
    suiteOf('run-thin-1', THIN, [passing('a', 5)]),
  ];
  return rankStacks(suites);
}

function runStart(overrides: Partial<RunStartEvent> = {}): RunStartEvent {
  return {
    type: 'run-start',
    ts: '2026-03-01T10:00:00.000Z',
    runId: 'run-1',
    gauntletVersion: '0.1.0',
    argv: ['run'],
    inventory: { file: 'hosts.yaml', digest: '00' },
    limit: null,
    hosts: [],
    suites: [],
    params: {},
    seed: 1,
    shard: null,
    retries: 0,
    runner: null,
    ...overrides,
  };
}

describe('html pages', () => {
  describe('the html template tag', () => {
    it('escapes every interpolated string, in text and in attributes, and keeps SafeHtml and numbers as they are', () => {
      const out = html`<p title="${HOSTILE}">${HOSTILE} ${raw('<b>ok</b>')} ${3} ${[HOSTILE, html`<i>x</i>`]}${null}${undefined}${false}</p>`.value;
      expect(out).to.not.include('<script>');
      expect(out).to.not.include('<img');
      expect(out).to.not.include('" onmouseover="');
      expect(out).to.include('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
      expect(out).to.include('&#39; &amp;amp;');
      expect(out).to.include('<b>ok</b> 3 ');
      expect(out).to.include('<i>x</i>');
      expect(out).to.match(/<\/p>$/);
    });

    it('links between folders with each path segment percent-encoded', () => {
      expect(linkBetween('/r/out', '/r/reports/run #1?/report.html')).to.equal('../reports/run%20%231%3F/report.html');
      expect(linkBetween('/r', '/r/a/junit.xml')).to.equal('a/junit.xml');
    });

    it('rounds chart axes up to 1, 2, 2.5 or 5 times a power of ten', () => {
      expect(chooseAxisMax([])).to.equal(1);
      expect(chooseAxisMax([0, 0])).to.equal(1);
      expect(chooseAxisMax([38.8, 3])).to.equal(50);
      expect(chooseAxisMax([1077])).to.equal(2000);
      expect(chooseAxisMax([0.031])).to.be.closeTo(0.05, 1e-12);
      expect(chooseAxisMax([250])).to.equal(250);
    });
  });

  describe('renderRankingHtml', () => {
    it('lists stacks in rank order with tiers, one chart row and two interval bars per stack, signatures and run links', () => {
      const ranking = rankingOf();
      const page = renderRankingHtml(ranking, {
        runs: { 'run-panic-1': '../reports/run-panic-1/report.html', 'run-stable-1': 'reports/run-stable-1/junit.xml' },
        stackRuns: { [PANICKY]: ['run-panic-1', 'run-panic-2'], [STABLE]: ['run-stable-1'] },
      });
      expectSelfContained(page);
      const rows = [...page.matchAll(/<tr class="stack-row" data-rank="(\d+)" data-tier="(\w+)" data-group="([^"]+)">/g)].map((match) => [Number(match[1]), match[2], match[3]]);
      expect(rows).to.deep.equal(ranking.stacks.map((stack) => [stack.rank, stack.tier, stack.group]));
      expect(rows.map((row) => row[1])).to.deep.equal(['proven', 'unproven', 'crashed']);
      expect(page.match(/<g class="interval fatal"/g)).to.have.length(3);
      expect(page.match(/<g class="interval pass"/g)).to.have.length(3);
      expect(page).to.include('<strong>PANIC</strong> ×2 in 2 runs: <span class="title">Kernel panic - not syncing: Fatal exception</span>');
      expect(page).to.include('<a class="run-link" href="../reports/run-panic-1/report.html" data-run="run-panic-1"><code>run-panic-1</code></a>');
      // A run without a known page is named, not linked.
      expect(page).to.include('<li class="occurrence"><code>run-panic-2</code>');
      expect(page).to.include('No run report to link.');
    });

    it('escapes hostile groups, titles and run ids, and ignores run ids that name Object properties', () => {
      const ranking = rankingOf();
      const hostile: Ranking = {
        ...ranking,
        stacks: ranking.stacks.map((stack) => ({
          ...stack,
          group: `${stack.group}${HOSTILE}`,
          reason: HOSTILE,
          signatures: stack.signatures.map((signature) => ({ ...signature, title: HOSTILE, runs: ['constructor'], occurrences: [{ run: 'constructor', suite: HOSTILE, test: HOSTILE, source: 'x' }] })),
        })),
      };
      const page = renderRankingHtml(hostile, { runs: {}, stackRuns: {} });
      expectSelfContained(page);
      expect(page).to.include('<span class="title">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &quot; onmouseover=&quot;alert(2)&#39; &amp;amp;</span>');
      expect(page).to.include('<code>constructor</code>');
      expect(page).to.not.include('function Object');
    });

    it('renders an empty ranking as a page that says so', () => {
      const page = renderRankingHtml({ by: ['key'], since: null, minHours: 1, minRuns: 3, stacks: [], ignoredSuites: 0 });
      expectSelfContained(page);
      expect(page).to.include('0 stacks');
      expect(page).to.include('No stack carries gauntlet.stack.* properties.');
      expect(page).to.include('No stack to chart.');
      expect(page).to.not.include('<svg');
    });
  });

  describe('renderRunHtml', () => {
    it('draws one lane per host of a real-shaped journal and lists every failure once (unreached hosts grouped)', () => {
      const events = readFileSync(MIXED, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as JournalEvent);
      const page = renderRunHtml(events, { junitHref: 'junit.xml' });
      expectSelfContained(page);
      expect([...page.matchAll(/<g class="lane" data-host="([^"]+)">/g)].map((match) => match[1])).to.deep.equal(['node1', 'node2', 'db1']);
      const starts = events.filter((event) => event.type === 'test-start').length;
      expect(page.match(/<rect class="test-bar /g)).to.have.length(starts);
      expect(page).to.include('<g class="marker host-unreachable fatal"');
      expect(page).to.include('<g class="marker host-end fatal"');
      // db1 never ran: one entry per suite for its unreached tests, not one per test.
      expect(page.match(/<article class="failure not-run" data-host="db1"/g)).to.have.length(2);
      expect(page).to.include('<a class="junit-link" href="junit.xml">junit.xml</a>');
    });

    it('escapes hostile kernel titles, excerpts and test titles, and strips terminal escapes from excerpts', () => {
      const start = runStart({ hosts: [{ name: 'h1', id: 'ssh://ops@10.0.0.1:22' }], suites: [{ name: 's', path: '/s.spec.ts', digest: '00' }] });
      const kernel: KernelEventRecord = {
        type: 'kernel-event',
        ts: '2026-03-01T10:00:02.000Z',
        host: 'h1',
        source: 'console',
        via: 'file:/var/log/console.log',
        class: 'PANIC',
        title: `Kernel panic - not syncing: ${HOSTILE}`,
        alt: [],
        fatal: true,
        corrupted: false,
        excerpt: `\u001b[31m[   12.3] Kernel panic - not syncing: </pre>${HOSTILE}\u001b[0m\n[   12.4] CPU: 0 PID: 1\n`,
        detectedAt: '2026-03-01T10:00:01.500Z',
        test: { suite: 's', title: HOSTILE, attempt: 1 },
      };
      const events: JournalEvent[] = [
        start,
        { type: 'suite-plan', ts: '2026-03-01T10:00:00.100Z', host: 'h1', suite: 's', tests: [HOSTILE], meta: {} },
        { type: 'test-start', ts: '2026-03-01T10:00:01.000Z', host: 'h1', suite: 's', title: HOSTILE, attempt: 1 },
        kernel,
        { type: 'host-liveness', ts: '2026-03-01T10:00:03.000Z', host: 'h1', state: 'lost', message: HOSTILE },
        { type: 'run-end', ts: '2026-03-01T10:00:04.000Z', exitCode: 1 },
      ];
      const page = renderRunHtml(events);
      expectSelfContained(page);
      expect(page).to.not.include('\u001b');
      expect(page).to.include('<pre class="excerpt">[   12.3] Kernel panic - not syncing: &lt;/pre&gt;&lt;script&gt;');
      expect(page).to.include('<g class="marker kernel-event fatal" data-class="PANIC"');
      expect(page).to.include('<g class="marker liveness fatal" data-class="" data-state="lost"');
      // The test never reported its end: its bar runs to the end of the run, as an unfinished error.
      expect(page).to.match(/<rect class="test-bar outcome-error unfinished" data-suite="s" data-title="&lt;script&gt;[^"]*" data-attempt="1" data-outcome="error"/);
      expect(page).to.include('<strong class="type">PANIC</strong>');
    });

    it('renders a journal with nothing but its run-start', () => {
      const page = renderRunHtml([runStart()]);
      expectSelfContained(page);
      expect(page).to.include('The run had no hosts.');
      expect(page).to.include('No host to draw.');
      expect(page).to.include('No test failed or errored.');
      expect(page).to.include('did not finish: the journal has no run-end');
    });
  });
});
