// `gauntlet rank --format html` and `gauntlet report DIR --html` opened from disk in a real headless Chromium (Debian's), with every non-file request blocked.

import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { JournalEvent } from '../../src/model/index.js';
import { runCli } from '../helpers/cli.js';
import { factsOnStack, PANICKY, STABLE, THIN } from '../helpers/rank-results.js';

/** Debian's chromium package (`apt-get install chromium`); playwright-core drives it, it downloads no browser. */
const CHROMIUM = '/usr/bin/chromium';
const EXAMPLE_RUN = fileURLToPath(new URL('../../reports/examples/20261122-125945-4dbb', import.meta.url));
/** Screenshots of the pages, for a person to look at after the run. */
const SCREENSHOTS = fileURLToPath(new URL('../../test-output/html/', import.meta.url));
const PANIC = 'Kernel panic - not syncing: Fatal exception in interrupt';
/** A test title that would run a script, load an image and retitle the page if any page failed to escape it. */
const HOSTILE_TITLE = `b <script>document.title="pwned"</script><img src="http://192.0.2.1/x.png">`;

interface PlannedTest {
  title: string;
  minutes: number;
  panic?: boolean;
}

/**
 * The journal of one run of the `stress` suite on node1, tests back to back. A panicking test is seen on the console
 * while it runs (mocha still says it passed: the kernel event makes it an error), then the host is lost and comes back.
 */
function journalOf(runId: string, day: number, key: string, tests: PlannedTest[]): JournalEvent[] {
  const t0 = Date.parse(`2026-03-${String(day).padStart(2, '0')}T10:00:00.000Z`);
  const at = (ms: number): string => new Date(t0 + ms).toISOString();
  const host = { name: 'node1', id: 'ssh://ops@10.0.4.11:22' };
  const events: JournalEvent[] = [
    {
      type: 'run-start', ts: at(0), runId, gauntletVersion: '0.1.0', argv: ['run', '--suite', 'stress'], inventory: { file: 'hosts.yaml', digest: '00' }, limit: null,
      hosts: [host], suites: [{ name: 'stress', path: '/suites/stress.spec.ts', digest: '11' }], params: {}, seed: 1, shard: null, pairs: { node1: ['stress'] }, retries: 0, runner: null,
    },
    { type: 'host-facts', ts: at(500), host: host.name, id: host.id, stackKey: key, facts: factsOnStack(key) },
    { type: 'suite-plan', ts: at(900), host: 'node1', suite: 'stress', tests: tests.map((test) => test.title), meta: {} },
    { type: 'suite-start', ts: at(1000), host: 'node1', suite: 'stress' },
  ];
  let clock = 1000;
  for (const test of tests) {
    const durationMs = test.minutes * 60_000;
    events.push({ type: 'test-start', ts: at(clock), host: 'node1', suite: 'stress', title: test.title, attempt: 1 });
    if (test.panic) {
      events.push({
        type: 'kernel-event', ts: at(clock + durationMs - 1000), host: 'node1', source: 'console', via: 'file:/var/log/console.log', class: 'PANIC', title: PANIC, alt: [], fatal: true, corrupted: false,
        excerpt: `[  812.118] general protection fault: 0000 [#1] PREEMPT SMP NOPTI\n[  812.121] ${PANIC}\n[  812.122] Kernel Offset: disabled\n`,
        detectedAt: at(clock + durationMs - 2000), latencyMs: 1000, test: { suite: 'stress', title: test.title, attempt: 1 },
      });
      events.push({ type: 'host-liveness', ts: at(clock + durationMs - 500), host: 'node1', state: 'lost', message: 'keepalives unanswered' });
    }
    clock += durationMs;
    events.push({ type: 'test-end', ts: at(clock), host: 'node1', suite: 'stress', title: test.title, outcome: 'passed', output: `ran ${test.title}\n`, durationMs, attempt: 1, flaky: false });
    if (test.panic) events.push({ type: 'host-liveness', ts: at(clock + 200), host: 'node1', state: 'back', rebooted: true, bootId: 'b00t-2' });
    clock += 1000;
  }
  events.push({ type: 'suite-end', ts: at(clock), host: 'node1', suite: 'stress', durationMs: clock - 1000 });
  events.push({ type: 'host-end', ts: at(clock + 10), host: 'node1' });
  events.push({ type: 'run-end', ts: at(clock + 20), exitCode: tests.some((test) => test.panic) ? 1 : 0 });
  return events;
}

interface JsonStack {
  rank: number;
  group: string;
  tier: string;
  fatalRate: number | null;
  fatalRateInterval: { low: number; high: number | null };
  passRate: number | null;
  passRateInterval: { low: number; high: number | null };
  signatures: { class: string; title: string; count: number; runs: string[] }[];
}

/** A bar's box on screen, with the interval it stands for. */
interface DrawnInterval {
  rank: number;
  left: number;
  right: number;
  top: number;
  fill: string;
}

describe('HTML pages in a headless Chromium', function () {
  this.timeout(180_000);
  let dir: string;
  let browser: Browser;
  let context: BrowserContext;
  /** Every request for something not on disk: the pages must make none. */
  const attempted: string[] = [];
  /** Console errors, such as a Content-Security-Policy violation. */
  const consoleErrors: string[] = [];
  let stacks: JsonStack[];

  async function openPage(path: string): Promise<Page> {
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${path}: ${message.text()}`);
    });
    await page.goto(pathToFileURL(path).href);
    return page;
  }

  before(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`).to.equal(true);
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-html-'));
    await mkdir(SCREENSHOTS, { recursive: true });
    const runs: [string, number, string, PlannedTest[]][] = [
      ...[1, 2, 3, 4].map((n): [string, number, string, PlannedTest[]] => [`run-stable-${n}`, n, STABLE, [{ title: 'a', minutes: 60 }, { title: 'c', minutes: 60 }]]),
      ...[1, 2, 3].map((n): [string, number, string, PlannedTest[]] => [`run-panic-${n}`, n, PANICKY, [{ title: 'a', minutes: 30 }, { title: HOSTILE_TITLE, minutes: 2, panic: true }]]),
      ...[1, 2].map((n): [string, number, string, PlannedTest[]] => [`run-thin-${n}`, n, THIN, [{ title: 'a', minutes: 5 }]]),
    ];
    for (const [runId, day, key, tests] of runs) {
      const runDir = join(dir, 'reports', runId);
      await mkdir(runDir, { recursive: true });
      await writeFile(join(runDir, 'journal.jsonl'), journalOf(runId, day, key, tests).map((event) => `${JSON.stringify(event)}\n`).join(''));
      // run-thin-2 gets no page, so the ranking must link its junit.xml instead.
      const result = await runCli(['report', runDir, ...(runId === 'run-thin-2' ? [] : ['--html'])]);
      expect(result.exitCode, result.stderr).to.equal(runId.startsWith('run-panic') ? 1 : 0);
      expect(result.stderr).to.equal('');
    }
    const json = await runCli(['rank', '--format', 'json', 'reports'], { cwd: dir });
    expect(json.exitCode, json.stderr).to.equal(0);
    stacks = (JSON.parse(json.stdout) as { stacks: JsonStack[] }).stacks;
    const page = await runCli(['rank', '--format', 'html', '--out', 'out/rank.html', 'reports'], { cwd: dir });
    expect(page.exitCode, page.stderr).to.equal(0);
    expect(page.stdout).to.equal('html: out/rank.html');

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      attempted.push(url);
      return route.abort();
    });
    context.on('request', (request) => {
      if (!request.url().startsWith('file:')) attempted.push(request.url());
    });
  });

  after(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(attempted, 'requests for anything but local files').to.deep.equal([]);
    expect(consoleErrors, 'console errors (a CSP violation?)').to.deep.equal([]);
  });

  it('the JSON ranking behind the page has the three tiers', () => {
    expect(stacks.map((stack) => [stack.rank, stack.group, stack.tier])).to.deep.equal([
      [1, STABLE, 'proven'],
      [2, THIN, 'unproven'],
      [3, PANICKY, 'crashed'],
    ]);
  });

  it('rank page: table rows in rank order with tiers, signatures, and links that resolve to files', async () => {
    const page = await openPage(join(dir, 'out', 'rank.html'));
    expect(await page.title()).to.equal('gauntlet: stack ranking');
    const rows = await page.$$eval('table.ranking tr.stack-row', (trs) =>
      trs.map((tr) => [Number(tr.querySelector('td')?.textContent), tr.querySelector('.tier')?.textContent, tr.querySelector('td.group')?.textContent]),
    );
    expect(rows).to.deep.equal(stacks.map((stack) => [stack.rank, stack.tier, stack.group]));

    const signatures = await page.$$eval('li.signature', (items) => items.map((item) => ({ class: item.getAttribute('data-class'), count: Number(item.getAttribute('data-count')), title: item.querySelector('.title')?.textContent })));
    expect(signatures).to.deep.equal([{ class: 'PANIC', count: 3, title: stacks[2]!.signatures[0]!.title }]);
    const occurrences = await page.$$eval('li.occurrence', (items) => items.map((item) => item.textContent));
    expect(occurrences).to.have.length(3);
    // The hostile test title is shown as text; nothing of it became markup.
    for (const text of occurrences) expect(text).to.include(HOSTILE_TITLE);
    expect(await page.$$eval('script, img', (elements) => elements.length)).to.equal(0);

    const links = (await page.$$eval('a.run-link', (anchors) => anchors.map((anchor) => ({ run: anchor.getAttribute('data-run'), href: anchor.getAttribute('href') ?? '' })))).map((link) => ({
      ...link,
      href: new URL(link.href, page.url()).href,
    }));
    const runs = [...new Set(links.map((link) => link.run))].sort();
    expect(runs).to.deep.equal(['run-panic-1', 'run-panic-2', 'run-panic-3', 'run-stable-1', 'run-stable-2', 'run-stable-3', 'run-stable-4', 'run-thin-1', 'run-thin-2']);
    for (const link of links) {
      expect(link.href).to.match(/^file:\/\//);
      const target = fileURLToPath(link.href);
      expect(existsSync(target), `${link.run} → ${target}`).to.equal(true);
      expect(target).to.equal(join(dir, 'reports', link.run!, link.run === 'run-thin-2' ? 'junit.xml' : 'report.html'));
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'rank.png'), fullPage: true });

    // Following a link from disk opens that run's page.
    await page.click('li.occurrence a.run-link[data-run="run-panic-1"]');
    await page.waitForURL(/run-panic-1\/report\.html$/);
    expect(await page.textContent('h1')).to.equal('Run run-panic-1');
    await page.close();
  });

  it('rank page: one fatal-rate bar and one pass-rate bar per stack, placed as the JSON intervals say', async () => {
    const page = await openPage(join(dir, 'out', 'rank.html'));
    const read = (kind: string): Promise<DrawnInterval[]> =>
      page.$$eval(`svg.chart g.interval.${kind}`, (groups) =>
        groups.map((group) => {
          const box = group.querySelector('rect.bar')!.getBoundingClientRect();
          return { rank: Number(group.getAttribute('data-rank')), left: box.left, right: box.right, top: box.top, fill: group.querySelector('rect.bar')!.getAttribute('fill')! };
        }),
      );
    const axes = await page.$$eval('svg.chart line.axis', (lines) => lines.map((line) => line.getBoundingClientRect()).map((box) => ({ left: box.left, right: box.right })));
    expect(axes).to.have.length(2);
    const [fatalAxis, passAxis] = axes as [{ left: number; right: number }, { left: number; right: number }];
    const fatal = await read('fatal');
    const pass = await read('pass');
    expect(fatal.map((bar) => bar.rank)).to.deep.equal(stacks.map((stack) => stack.rank));
    expect(pass.map((bar) => bar.rank)).to.deep.equal(stacks.map((stack) => stack.rank));
    // Rows top to bottom in rank order; each tier its own colour.
    for (let index = 1; index < fatal.length; index += 1) expect(fatal[index]!.top).to.be.greaterThan(fatal[index - 1]!.top);
    expect(new Set(fatal.map((bar) => bar.fill)).size).to.equal(3);

    // Fatal rate: every interval here has a finite high and starts at 0 or above; distance from the axis's 0 is
    // proportional to the value, whatever the axis's end, so the ratios between stacks must match the JSON's.
    const highs = stacks.map((stack) => stack.fatalRateInterval.high!);
    expect(highs.every((high) => typeof high === 'number' && high > 0)).to.equal(true);
    const widest = highs.indexOf(Math.max(...highs));
    const perUnit = (fatal[widest]!.right - fatalAxis.left) / highs[widest]!;
    stacks.forEach((stack, index) => {
      const bar = fatal[index]!;
      expect(bar.right - fatalAxis.left, `fatal high of ${stack.group}`).to.be.closeTo(stack.fatalRateInterval.high! * perUnit, 1.5);
      expect(bar.left - fatalAxis.left, `fatal low of ${stack.group}`).to.be.closeTo(stack.fatalRateInterval.low * perUnit, 1.5);
      expect(bar.right).to.be.at.most(fatalAxis.right + 0.5);
    });
    // No fatal event: the interval starts at 0. Three panics: it starts well right of 0. Least exposure: widest.
    expect(fatal[0]!.left).to.be.closeTo(fatalAxis.left, 0.5);
    expect(fatal[1]!.left).to.be.closeTo(fatalAxis.left, 0.5);
    expect(fatal[2]!.left).to.be.greaterThan(fatalAxis.left + 5);
    expect(fatal[1]!.right).to.be.greaterThan(Math.max(fatal[0]!.right, fatal[2]!.right));

    // Pass rate: a 0–100% axis.
    const width = passAxis.right - passAxis.left;
    stacks.forEach((stack, index) => {
      const bar = pass[index]!;
      expect(bar.left - passAxis.left, `pass low of ${stack.group}`).to.be.closeTo(stack.passRateInterval.low * width, 1.5);
      expect(bar.right - passAxis.left, `pass high of ${stack.group}`).to.be.closeTo(Math.max(stack.passRateInterval.high!, stack.passRateInterval.low + 2 / width) * width, 1.5);
    });
    await page.close();
  });

  it('run page: a lane per host, a bar per test, the panic and liveness markers, and the failure with its console excerpt', async () => {
    const page = await openPage(join(dir, 'reports', 'run-panic-1', 'report.html'));
    expect(await page.title()).to.equal('gauntlet run run-panic-1');
    expect(await page.$$eval('svg.timeline g.lane', (lanes) => lanes.map((lane) => lane.getAttribute('data-host')))).to.deep.equal(['node1']);
    const bars = await page.$$eval('svg.timeline rect.test-bar', (rects) =>
      rects.map((rect) => ({ title: rect.getAttribute('data-title'), outcome: rect.getAttribute('data-outcome'), left: rect.getBoundingClientRect().left, width: rect.getBoundingClientRect().width })),
    );
    expect(bars.map((bar) => [bar.title, bar.outcome])).to.deep.equal([
      ['a', 'passed'],
      [HOSTILE_TITLE, 'error'],
    ]);
    // 30 minutes, then 2: in order, and widths in proportion.
    expect(bars[1]!.left).to.be.greaterThan(bars[0]!.left + bars[0]!.width - 1);
    expect(bars[0]!.width / bars[1]!.width).to.be.closeTo(15, 1);

    const markers = await page.$$eval('svg.timeline g.marker', (groups) =>
      groups.map((group) => ({ kind: group.getAttribute('class'), kernelClass: group.getAttribute('data-class'), state: group.getAttribute('data-state'), tooltip: group.querySelector('title')?.textContent ?? '' })),
    );
    expect(markers.map((marker) => [marker.kind, marker.kernelClass, marker.state])).to.deep.equal([
      ['marker kernel-event fatal', 'PANIC', ''],
      ['marker liveness fatal', '', 'lost'],
      ['marker liveness', '', 'back'],
    ]);
    expect(markers[0]!.tooltip).to.include(`fatal PANIC: ${PANIC}`);

    const failures = await page.$$eval('article.failure', (articles) =>
      articles.map((article) => ({ title: article.getAttribute('data-title'), type: article.querySelector('.type')?.textContent, excerpt: article.querySelector('pre.excerpt')?.textContent })),
    );
    expect(failures).to.have.length(1);
    expect(failures[0]!.title).to.equal(HOSTILE_TITLE);
    expect(failures[0]!.type).to.equal('PANIC');
    expect(failures[0]!.excerpt).to.include(`[  812.121] ${PANIC}`);
    expect(await page.$$eval('script, img', (elements) => elements.length)).to.equal(0);
    expect(await page.isVisible('pre.excerpt')).to.equal(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'run-panic.png'), fullPage: true });
    await page.close();
  });

  it('run page of the example lab run: two hosts, 60 tests, two OOM kills, the one failure with its output', async () => {
    const runDir = join(dir, 'example', '20261122-125945-4dbb');
    await cp(join(EXAMPLE_RUN, 'journal.jsonl'), join(runDir, 'journal.jsonl'));
    const result = await runCli(['report', runDir, '--html']);
    expect(result.exitCode, result.stderr).to.equal(1);
    expect(result.stdout).to.include(`html: ${join(runDir, 'report.html')}`);
    expect(result.stdout).to.include('59 passed · 1 failed');

    const page = await openPage(join(runDir, 'report.html'));
    expect(await page.$$eval('svg.timeline g.lane', (lanes) => lanes.map((lane) => lane.getAttribute('data-host')))).to.deep.equal(['ex-btrfs', 'ex-overlay2']);
    const perLane = await page.$$eval('svg.timeline g.lane', (lanes) =>
      lanes.map((lane) => [...lane.querySelectorAll('rect.test-bar')].map((rect) => ({ outcome: rect.getAttribute('data-outcome'), left: rect.getBoundingClientRect().left }))),
    );
    expect(perLane.map((bars) => bars.length)).to.deep.equal([30, 30]);
    // Each host ran its tests one after another, so bars go left to right in journal order.
    for (const bars of perLane) for (let index = 1; index < bars.length; index += 1) expect(bars[index]!.left).to.be.at.least(bars[index - 1]!.left);
    expect(perLane.flat().filter((bar) => bar.outcome === 'failed')).to.have.length(1);
    const markers = await page.$$eval('svg.timeline g.marker.kernel-event', (groups) => groups.map((group) => [group.closest('g.lane')?.getAttribute('data-host'), group.getAttribute('data-class'), group.classList.contains('fatal')]));
    expect(markers.sort()).to.deep.equal([
      ['ex-btrfs', 'OOM', false],
      ['ex-overlay2', 'OOM', false],
    ]);
    const failure = await page.$eval('article.failure', (article) => ({
      host: article.getAttribute('data-host'),
      title: article.getAttribute('data-title'),
      type: article.querySelector('.type')?.textContent,
      output: article.querySelector('pre.output')?.textContent ?? '',
    }));
    expect(failure).to.include({ host: 'ex-overlay2', title: 'disk fill > exhausts the inodes: operations fail with ENOSPC, never hang', type: 'ASSERTION' });
    expect(failure.output).to.include('round 1: filled in');
    expect(await page.getAttribute('a.junit-link', 'href')).to.equal('junit.xml');
    expect(await readFile(join(runDir, 'junit.xml'), 'utf8')).to.include('<testsuites');
    await page.screenshot({ path: join(SCREENSHOTS, 'run-example.png'), fullPage: true });
    await page.close();
  });
});

describe('rank --format html and report --html on bad input', function () {
  this.timeout(120_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gauntlet-html-input-'));
    const runDir = join(dir, 'reports', 'run-thin-1');
    await mkdir(runDir, { recursive: true });
    await writeFile(join(runDir, 'journal.jsonl'), journalOf('run-thin-1', 1, THIN, [{ title: 'a', minutes: 5 }]).map((event) => `${JSON.stringify(event)}\n`).join(''));
    await writeFile(join(dir, 'plain-file'), 'not a folder\n');
    await mkdir(join(dir, 'empty-run'));
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const [args, message] of [
    [['rank', '--format', 'html', '--out', 'plain-file/rank.html', 'reports'], 'gauntlet: --out plain-file/rank.html: DIR/plain-file is not a directory'],
    [['rank', '--format', 'html', '--out', 'reports', 'reports'], 'gauntlet: --out reports: is a directory (expected a file to write)'],
    [['rank', '--format', 'svg', 'reports'], 'gauntlet: --format: expected one of table, md, json, html, got "svg"'],
    [['report', 'no-such-run', '--html'], 'gauntlet: no-such-run: no such directory'],
    [['report', 'empty-run', '--html'], 'gauntlet: empty-run: no journal.jsonl (is this a gauntlet run directory?)'],
  ] as const) {
    it(`answers \`gauntlet ${args.join(' ')}\` with exit 2, one line, and no file`, async () => {
      const result = await runCli([...args], { cwd: dir });
      expect(result.exitCode, result.stdout + result.stderr).to.equal(2);
      expect(result.stderr).to.equal(message.replace('DIR', dir));
      expect(result.stdout).to.equal('');
      expect(existsSync(join(dir, 'empty-run', 'report.html'))).to.equal(false);
      expect(existsSync(join(dir, 'reports', 'rank.html'))).to.equal(false);
    });
  }

  it('writes any format to --out, the same text it prints without it', async () => {
    const printed = await runCli(['rank', '--format', 'json', 'reports'], { cwd: dir });
    const written = await runCli(['rank', '--format', 'json', '--out', 'out/rank.json', 'reports'], { cwd: dir });
    expect(written.exitCode, written.stderr).to.equal(0);
    expect(written.stdout).to.equal('json: out/rank.json');
    expect(JSON.parse(await readFile(join(dir, 'out', 'rank.json'), 'utf8'))).to.deep.equal(JSON.parse(printed.stdout));
  });
});
