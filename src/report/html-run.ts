// `gauntlet report DIR --html`: one run as a self-contained page: hosts, a per-host timeline, and every failure with its evidence.

import { stripVTControlCharacters } from 'node:util';
import type { HostLivenessEvent, HostRecord, JournalEvent, KernelEventRecord, OutcomeKind, RunRecord, TestRecord } from '../model/index.js';
import { COLOURS, html, renderPage, type SafeHtml } from './html-page.js';
import { buildRunRecord, summarizeRun } from './run-record.js';
import { formatDuration, formatSummary } from './terminal-text.js';

export interface RunPageOptions {
  /** The run's JUnit file, as a URL relative to the page. */
  junitHref?: string;
}

/** Lines of a test's output shown under a failure that has no kernel evidence (the whole output is in the JUnit file). */
const OUTPUT_TAIL_LINES = 80;

const TIMELINE = {
  width: 1000,
  labelWidth: 170,
  right: 985,
  top: 30,
  laneHeight: 40,
  barHeight: 16,
  bottom: 30,
} as const;

const CSS = `
.timeline .lane-label { dominant-baseline: middle; font-weight: 600; }
.timeline .lane-bg { fill: #f6f8fa; }
.timeline .test-bar { stroke: #fff; stroke-width: 0.5; }
.timeline .marker text { font-size: 10px; }
.legend span { margin-right: 12px; white-space: nowrap; }
.legend i { display: inline-block; width: 12px; height: 12px; vertical-align: -2px; margin-right: 4px; }
article.failure { border-left: 4px solid ${COLOURS.failed}; padding: 2px 12px; margin: 12px 0; }
article.failure[data-outcome="error"] { border-left-color: ${COLOURS.error}; }
article.failure h3 { margin-top: 6px; }
.kernel-event h4 { margin: 8px 0 2px; font-size: 13px; }
`;

/** One bar of the timeline: one attempt of one test on one host. */
interface TestBar {
  host: string;
  suite: string;
  title: string;
  attempt: number;
  startMs: number;
  durationMs: number;
  outcome: OutcomeKind;
  /** The attempt never reported its end (the host was lost or the runner stopped). */
  unfinished: boolean;
}

/** A point on a host's lane: a kernel event, a change in whether the host answers, or the host's work ending early. */
interface Marker {
  host: string;
  atMs: number;
  kind: 'kernel-event' | 'liveness' | 'host-unreachable' | 'host-end';
  label: string;
  tooltip: string;
  fatal: boolean;
  kernelClass?: string;
  state?: string;
}

/** The run of `events` (a journal, run-start first) as a page. Every text from the hosts and suites is escaped. */
export function renderRunHtml(events: readonly JournalEvent[], options: RunPageOptions = {}): string {
  const record = buildRunRecord([...events]);
  const { start, end } = record;
  const status = end?.interrupted
    ? `interrupted by ${end.interrupted}`
    : end
      ? `finished ${end.ts}, exit code ${end.exitCode}`
      : 'did not finish: the journal has no run-end (was the runner killed?)';
  const body = html`<header>
<h1>Run <code>${start.runId}</code></h1>
<p class="meta">started ${start.ts} · ${status} · gauntlet ${start.gauntletVersion} · seed ${start.seed}${start.shard ? ` · shard ${start.shard.index}/${start.shard.total}` : ''}</p>
<p class="summary"><strong>${formatSummary(summarizeRun(record))}</strong>${options.junitHref ? html` · <a class="junit-link" href="${options.junitHref}">junit.xml</a>` : null}</p>
<p class="meta">suites: ${start.suites.map((suite) => suite.name).join(', ') || 'none'} · <code>gauntlet ${start.argv.join(' ')}</code></p>
</header>
<h2>Hosts</h2>
${renderHosts(record)}
<h2>Timeline</h2>
${renderTimeline(events, record)}
<h2>Failures and errors</h2>
${renderFailures(record)}
${renderHostKernelEvents(record.hosts)}`;
  return renderPage({ title: `gauntlet run ${start.runId}`, css: CSS, body });
}

function renderHosts(record: RunRecord): SafeHtml {
  if (record.hosts.length === 0) return html`<p class="empty">The run had no hosts.</p>`;
  return html`<table class="hosts"><thead><tr><th>Host</th><th>Id</th><th>Stack</th><th>Tests</th><th>Status</th></tr></thead><tbody>
${record.hosts.map((host) => {
  const tests = record.suites.filter((suite) => suite.host === host.name).flatMap((suite) => suite.tests);
  const bad = tests.filter((test) => test.outcome === 'failed' || test.outcome === 'error').length;
  const state = host.unreachable !== null ? `unreachable: ${host.unreachable}` : host.cause ? `${host.cause.type}: ${host.cause.message}` : 'ran';
  return html`<tr class="host-row" data-host="${host.name}"><td>${host.name}</td><td><code>${host.id}</code></td><td><code>${host.stackKey ?? '–'}</code></td><td class="num">${tests.length} (${bad} failed or errors)</td><td>${state}</td></tr>`;
})}
</tbody></table>`;
}

/**
 * One lane per host, time running right from the run's start: a bar per test attempt (start time and duration,
 * coloured by outcome), markers above the bars for kernel events (red when fatal), for changes in whether the host
 * answered, and for its work ending early. Each bar and marker has a tooltip (`<title>`) with the details.
 */
function renderTimeline(events: readonly JournalEvent[], record: RunRecord): SafeHtml {
  const hosts = record.hosts.map((host) => host.name);
  const bars = collectBars(events, record);
  const markers = collectMarkers(events);
  const startMs = Date.parse(record.start.ts);
  const endMs = maxOf([
    startMs + 1000,
    ...events.map((event) => Date.parse(event.ts)),
    ...bars.map((bar) => bar.startMs + bar.durationMs),
    ...markers.map((marker) => marker.atMs),
  ]);
  if (hosts.length === 0) return html`<p class="empty">No host to draw.</p>`;
  const plotLeft = TIMELINE.labelWidth;
  const scale = (ms: number): number => plotLeft + ((ms - startMs) / (endMs - startMs)) * (TIMELINE.right - plotLeft);
  const height = TIMELINE.top + hosts.length * TIMELINE.laneHeight + TIMELINE.bottom;
  const axisY = TIMELINE.top + hosts.length * TIMELINE.laneHeight;
  const ticks = chooseTimeTicks(endMs - startMs).map((offset) => {
    const x = round(scale(startMs + offset));
    return html`<line class="grid" x1="${x}" x2="${x}" y1="${TIMELINE.top}" y2="${axisY}"/><text class="tick" x="${x}" y="${axisY + 14}" text-anchor="middle">${formatOffset(offset)}</text>`;
  });
  const lanes = hosts.map((host, index) => {
    const top = TIMELINE.top + index * TIMELINE.laneHeight;
    const barY = top + TIMELINE.laneHeight - TIMELINE.barHeight - 4;
    const laneBars = bars.filter((bar) => bar.host === host);
    const laneMarkers = markers.filter((marker) => marker.host === host);
    return html`<g class="lane" data-host="${host}">
<rect class="lane-bg" x="${plotLeft}" y="${top + 2}" width="${TIMELINE.right - plotLeft}" height="${TIMELINE.laneHeight - 4}"/>
<text class="lane-label" x="4" y="${top + TIMELINE.laneHeight / 2}"><title>${host}</title>${shorten(host, 24)}</text>
${laneBars.map((bar) => {
  const x = scale(bar.startMs);
  const width = Math.max(scale(bar.startMs + bar.durationMs) - x, 1.5);
  const tooltip = `${bar.suite} > ${bar.title}${bar.attempt > 1 ? ` (attempt ${bar.attempt})` : ''}: ${bar.unfinished ? 'never finished' : bar.outcome}, ${formatDuration(bar.durationMs)}, started ${new Date(bar.startMs).toISOString()}`;
  return html`<rect class="test-bar outcome-${bar.outcome}${bar.unfinished ? ' unfinished' : ''}" data-suite="${bar.suite}" data-title="${bar.title}" data-attempt="${bar.attempt}" data-outcome="${bar.outcome}" x="${round(x)}" y="${barY}" width="${round(width)}" height="${TIMELINE.barHeight}" fill="${COLOURS[bar.outcome]}"><title>${tooltip}</title></rect>`;
})}
${laneMarkers.map((marker) => renderMarker(marker, scale(marker.atMs), top + 9))}
</g>`;
  });
  return html`<p class="legend">${(['passed', 'failed', 'error', 'skipped'] as const).map((outcome) => html`<span><i style="background:${COLOURS[outcome]}"></i>${outcome}</span>`)}<span>◆ kernel event (red: fatal)</span><span>● host liveness</span><span>▼ host unreachable or work ended early</span></p>
<svg class="timeline" role="img" aria-label="per-host timeline of tests and kernel events" width="${TIMELINE.width}" height="${height}" viewBox="0 0 ${TIMELINE.width} ${height}">
<text x="${plotLeft}" y="14">time since the run started (${record.start.ts})</text>
${ticks}
<line class="axis" x1="${plotLeft}" x2="${TIMELINE.right}" y1="${axisY}" y2="${axisY}"/>
${lanes}
</svg>`;
}

function renderMarker(marker: Marker, x: number, y: number): SafeHtml {
  const cx = round(x);
  const colour = marker.fatal ? COLOURS.crashed : marker.kind === 'kernel-event' ? COLOURS.unproven : COLOURS.axis;
  const shape =
    marker.kind === 'kernel-event'
      ? html`<path d="M${cx} ${y - 6} l6 6 l-6 6 l-6 -6 z" fill="${colour}"/>`
      : marker.kind === 'liveness'
        ? html`<circle cx="${cx}" cy="${y}" r="5" fill="${colour}"/>`
        : html`<path d="M${cx - 6} ${y - 6} h12 l-6 11 z" fill="${colour}"/>`;
  return html`<g class="marker ${marker.kind}${marker.fatal ? ' fatal' : ''}" data-class="${marker.kernelClass}" data-state="${marker.state}" data-label="${marker.label}"><title>${marker.tooltip}</title>${shape}</g>`;
}

/** Each test attempt: its test-start paired with its test-end; an attempt with no end runs until its host stopped. */
function collectBars(events: readonly JournalEvent[], record: RunRecord): TestBar[] {
  const bars: TestBar[] = [];
  const open = new Map<string, TestBar>();
  const fatalAttempts = new Set<string>();
  const keyOf = (host: string, suite: string, title: string, attempt: number): string => JSON.stringify([host, suite, title, attempt]);
  for (const event of events) {
    if (event.type === 'kernel-event' && event.fatal && event.test) fatalAttempts.add(keyOf(event.host, event.test.suite, event.test.title, event.test.attempt));
  }
  const stopMs = new Map<string, number>();
  const lastMs = maxOf(events.map((event) => Date.parse(event.ts)));
  for (const event of events) {
    if (event.type === 'host-end') stopMs.set(event.host, Date.parse(event.ts));
    if (event.type === 'test-start') {
      const bar: TestBar = { host: event.host, suite: event.suite, title: event.title, attempt: event.attempt, startMs: Date.parse(event.ts), durationMs: 0, outcome: 'error', unfinished: true };
      open.set(keyOf(event.host, event.suite, event.title, event.attempt), bar);
      bars.push(bar);
    } else if (event.type === 'test-end') {
      const key = keyOf(event.host, event.suite, event.title, event.attempt);
      const bar = open.get(key);
      open.delete(key);
      const outcome = fatalAttempts.has(key) ? 'error' : event.outcome;
      if (bar) Object.assign(bar, { durationMs: event.durationMs, outcome, unfinished: false });
      else bars.push({ host: event.host, suite: event.suite, title: event.title, attempt: event.attempt, startMs: Date.parse(event.ts) - event.durationMs, durationMs: event.durationMs, outcome, unfinished: false });
    }
  }
  const runEndMs = record.end ? Date.parse(record.end.ts) : lastMs;
  for (const bar of open.values()) bar.durationMs = Math.max(0, (stopMs.get(bar.host) ?? runEndMs) - bar.startMs);
  return bars.filter((bar) => Number.isFinite(bar.startMs));
}

function collectMarkers(events: readonly JournalEvent[]): Marker[] {
  const markers: Marker[] = [];
  for (const event of events) {
    if (event.type === 'kernel-event') {
      const detected = Date.parse(event.detectedAt);
      markers.push({
        host: event.host,
        atMs: Number.isFinite(detected) ? detected : Date.parse(event.ts),
        kind: 'kernel-event',
        label: event.class,
        tooltip: `${event.fatal ? 'fatal ' : ''}${event.class}: ${event.title} (${event.source} ${event.via}, ${event.detectedAt})${event.test ? ` during ${event.test.suite} > ${event.test.title}` : ''}`,
        fatal: event.fatal,
        kernelClass: event.class,
      });
    } else if (event.type === 'host-liveness') {
      markers.push({ host: event.host, atMs: Date.parse(event.ts), kind: 'liveness', label: event.state, tooltip: describeLiveness(event), fatal: event.state === 'lost' || event.state === 'down', state: event.state });
    } else if (event.type === 'host-unreachable') {
      markers.push({ host: event.host, atMs: Date.parse(event.ts), kind: 'host-unreachable', label: 'unreachable', tooltip: `unreachable: ${event.error}`, fatal: true });
    } else if (event.type === 'host-end' && event.error) {
      markers.push({ host: event.host, atMs: Date.parse(event.ts), kind: 'host-end', label: event.error.type, tooltip: `work ended early: ${event.error.type}: ${event.error.message}`, fatal: true });
    }
  }
  return markers.filter((marker) => Number.isFinite(marker.atMs));
}

function describeLiveness(event: HostLivenessEvent): string {
  const parts = [`host ${event.state} at ${event.ts}`];
  if (event.message) parts.push(event.message);
  if (event.rebooted) parts.push('rebooted (new boot id)');
  if (event.bootId) parts.push(`boot ${event.bootId}`);
  return parts.join(': ');
}

/**
 * Every failed or errored test, by host and suite, with its type, message and evidence: the excerpts of the kernel
 * events attributed to it, else the detail and the end of its output. Tests that never started and share one cause
 * (a host that could not be reached) are listed once.
 */
function renderFailures(record: RunRecord): SafeHtml {
  const articles: SafeHtml[] = [];
  for (const suite of record.suites) {
    const bad = suite.tests.filter((test) => test.outcome === 'failed' || test.outcome === 'error');
    const notRun = new Map<string, TestRecord[]>();
    for (const test of bad) {
      if (test.attempts === 0 && test.output === '' && (test.kernelEvents ?? []).length === 0 && test.detail === undefined) {
        const key = JSON.stringify([test.errorType, test.message]);
        notRun.set(key, [...(notRun.get(key) ?? []), test]);
        continue;
      }
      articles.push(renderFailure(suite.host, suite.suite, test));
    }
    for (const tests of notRun.values()) articles.push(renderNotRun(suite.host, suite.suite, tests));
  }
  if (articles.length === 0) return html`<p class="empty">No test failed or errored.</p>`;
  return html`${articles}`;
}

function renderFailure(host: string, suite: string, test: TestRecord): SafeHtml {
  const kernelEvents = test.kernelEvents ?? [];
  const evidence =
    kernelEvents.length > 0
      ? kernelEvents.map(renderKernelEvent)
      : test.output.trim() !== ''
        ? html`<h4>Output (last ${OUTPUT_TAIL_LINES} lines)</h4><pre class="output">${tailLines(cleanBlock(test.output), OUTPUT_TAIL_LINES)}</pre>`
        : null;
  return html`<article class="failure" data-host="${host}" data-suite="${suite}" data-title="${test.title}" data-outcome="${test.outcome}" data-type="${test.errorType}">
<h3>${host} · ${suite} › ${test.title} <span class="badge outcome-${test.outcome}">${test.outcome}</span></h3>
<p><strong class="type">${test.errorType ?? test.outcome}</strong>${test.message ? html`: <span class="message">${test.message}</span>` : null}</p>
<p class="meta">${test.startedAt ? `started ${test.startedAt} · ` : ''}${formatDuration(test.durationMs)} · ${test.attempts} attempt${test.attempts === 1 ? '' : 's'}</p>
${test.detail ? html`<pre class="detail">${cleanBlock(test.detail)}</pre>` : null}
${evidence}
</article>`;
}

function renderNotRun(host: string, suite: string, tests: readonly TestRecord[]): SafeHtml {
  const [first] = tests;
  return html`<article class="failure not-run" data-host="${host}" data-suite="${suite}" data-outcome="${first?.outcome}" data-type="${first?.errorType}">
<h3>${host} · ${suite} › ${tests.length} test${tests.length === 1 ? '' : 's'} <span class="badge outcome-${first?.outcome ?? 'error'}">${first?.outcome ?? 'error'}</span></h3>
<p><strong class="type">${first?.errorType ?? 'error'}</strong>${first?.message ? html`: <span class="message">${first.message}</span>` : null}</p>
<ul>${tests.map((test) => html`<li>${test.title}</li>`)}</ul>
</article>`;
}

function renderKernelEvent(event: KernelEventRecord): SafeHtml {
  return html`<div class="kernel-event" data-class="${event.class}">
<h4>Kernel ${event.fatal ? 'fault' : 'event'} ${event.class}: ${event.title}</h4>
<p class="meta">${event.source} ${event.via} · detected ${event.detectedAt}${event.corrupted ? ' · report corrupted' : ''}${event.bootId ? ` · boot ${event.bootId}` : ''}</p>
<pre class="excerpt">${cleanBlock(event.excerpt)}</pre>
</div>`;
}

function renderHostKernelEvents(hosts: readonly HostRecord[]): SafeHtml | null {
  const withEvents = hosts.filter((host) => (host.kernelEvents ?? []).length > 0);
  if (withEvents.length === 0) return null;
  return html`<h2>Kernel events outside tests</h2>
${withEvents.map((host) => html`<section class="host-events" data-host="${host.name}"><h3>${host.name}</h3>${(host.kernelEvents ?? []).map(renderKernelEvent)}</section>`)}`;
}

/** Text from a host for a `<pre>`: terminal escape sequences and control characters (but tabs and newlines) removed. */
function cleanBlock(text: string): string {
  return stripVTControlCharacters(text)
    .replace(/\r\n?/g, '\n')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
}

function tailLines(text: string, count: number): string {
  const lines = text.replace(/\n$/, '').split('\n');
  return lines.length <= count ? lines.join('\n') : `… ${lines.length - count} earlier lines in the JUnit report\n${lines.slice(-count).join('\n')}`;
}

/** Tick offsets (ms) at a round step that gives at most about 8 ticks over `spanMs`. */
function chooseTimeTicks(spanMs: number): number[] {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((s) => s * 1000);
  const step = steps.find((candidate) => spanMs / candidate <= 8) ?? Math.ceil(spanMs / 8 / 86_400_000) * 86_400_000;
  const ticks: number[] = [];
  for (let offset = 0; offset <= spanMs; offset += step) ticks.push(offset);
  return ticks;
}

/** `+0:45`, `+12:05`, `+1:02:03`. */
function formatOffset(ms: number): string {
  const total = Math.round(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `+${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `+${minutes}:${seconds}`;
}

function shorten(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

/** The largest finite value (a loop, not `Math.max(...)`: a long run's journal holds more events than a call takes arguments). */
function maxOf(values: readonly number[]): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) if (Number.isFinite(value) && value > max) max = value;
  return max;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
