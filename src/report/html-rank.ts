// `gauntlet rank --format html`: the ranking as one self-contained page: table, interval-bar chart, signatures, run links.

import type { Interval, RankedStack, Ranking, StackTier } from '../model/index.js';
import { COLOURS, html, raw, renderPage, type SafeHtml } from './html-page.js';
import { describeCriteria, describeSignature, formatInterval, formatNumber, formatPercent } from './rank-output.js';

/** Where the page links to, worked out by the caller (which knows where the page and the reports are). */
export interface RankPageLinks {
  /** Each run's page (its report.html, else its JUnit file), by run id, as a URL relative to the page. */
  runs?: Readonly<Record<string, string>>;
  /** The runs behind each stack, by the stack's `group`. */
  stackRuns?: Readonly<Record<string, readonly string[]>>;
  /** When the page was made (ISO 8601), shown in its header. */
  generatedAt?: string;
}

const CHART = {
  width: 980,
  labelWidth: 330,
  fatal: { left: 350, right: 700 },
  pass: { left: 740, right: 950 },
  top: 40,
  rowHeight: 26,
  bottom: 34,
  barHeight: 10,
} as const;

const CSS = `
.chart .bar { fill-opacity: 0.35; stroke-width: 1.5; }
.chart .whisker { stroke-width: 2; }
.chart .point { stroke: #fff; stroke-width: 1; }
.chart .row-label { dominant-baseline: middle; }
.chart .panel-title { font-weight: 600; }
.signature .title { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
section.stack { margin-bottom: 16px; }
table.ranking td.reason { min-width: 240px; }
table.ranking td.group code { word-break: break-all; }
`;

/** The ranking as a page. Every text from the reports (groups, titles, run ids) is escaped. */
export function renderRankingHtml(ranking: Ranking, links: RankPageLinks = {}): string {
  const body = html`<header>
<h1>Stack ranking</h1>
<p class="meta">${ranking.stacks.length} stack${ranking.stacks.length === 1 ? '' : 's'}${links.generatedAt ? ` · made ${links.generatedAt}` : ''} · ${describeCriteria(ranking)}</p>
</header>
<h2>Ranking</h2>
${renderTable(ranking.stacks)}
<h2>Fatal-event rate and pass rate, 95% intervals</h2>
${renderChart(ranking.stacks)}
<h2>Stacks</h2>
${ranking.stacks.length === 0 ? html`<p class="empty">No stack to show.</p>` : ranking.stacks.map((stack) => renderStack(stack, links))}
`;
  return renderPage({ title: 'gauntlet: stack ranking', css: CSS, body });
}

function renderTable(stacks: readonly RankedStack[]): SafeHtml {
  const head = ['#', 'Tier', 'Stack', 'Runs', 'Hosts', 'Tests', 'Test-h', 'Fatal', 'Fatal / 100 test-h [95%]', 'Pass [95%]', 'Why'];
  const rows =
    stacks.length === 0
      ? html`<tr><td class="empty" colspan="${head.length}">No stack carries gauntlet.stack.* properties.</td></tr>`
      : stacks.map(
          (stack) => html`<tr class="stack-row" data-rank="${stack.rank}" data-tier="${stack.tier}" data-group="${stack.group}">
<td class="num">${stack.rank}</td><td>${renderTier(stack.tier)}</td><td class="group"><a href="#stack-${stack.rank}"><code>${stack.group}</code></a></td>
<td class="num">${stack.runs}</td><td class="num">${stack.hosts}</td><td class="num">${stack.tests}</td><td class="num">${formatNumber(stack.exposureHours)}</td>
<td class="num">${stack.fatalEvents}</td><td class="num">${stack.fatalRate === null ? '–' : `${formatNumber(stack.fatalRate)} ${formatInterval(stack.fatalRateInterval, formatNumber)}`}</td>
<td class="num">${stack.passRate === null ? '–' : `${formatPercent(stack.passRate)} ${formatInterval(stack.passRateInterval, formatPercent)}`}</td>
<td class="reason">${stack.reason}</td></tr>`,
        );
  return html`<table class="ranking"><thead><tr>${head.map((cell) => html`<th>${cell}</th>`)}</tr></thead><tbody>
${rows}
</tbody></table>`;
}

function renderTier(tier: StackTier): SafeHtml {
  return html`<span class="badge tier tier-${tier}">${tier}</span>`;
}

/**
 * One row per stack, in rank order: on the left its fatal events per 100 test-hours (a bar from the interval's low
 * to its high, a dot at the estimate), on the right its pass rate the same way, coloured by tier. An unbounded
 * interval (no exposure) runs to the panel's edge and ends in an arrow.
 */
function renderChart(stacks: readonly RankedStack[]): SafeHtml {
  if (stacks.length === 0) return html`<p class="empty">No stack to chart.</p>`;
  const height = CHART.top + stacks.length * CHART.rowHeight + CHART.bottom;
  const fatalMax = chooseAxisMax(stacks.flatMap((stack) => [stack.fatalRateInterval.high ?? 0, stack.fatalRate ?? 0, stack.fatalRateInterval.low]));
  const fatalScale = (value: number): number => CHART.fatal.left + (Math.min(value, fatalMax) / fatalMax) * (CHART.fatal.right - CHART.fatal.left);
  const passScale = (value: number): number => CHART.pass.left + Math.min(Math.max(value, 0), 1) * (CHART.pass.right - CHART.pass.left);
  const axisY = CHART.top + stacks.length * CHART.rowHeight;
  const fatalTicks = [0, 0.25, 0.5, 0.75, 1].map((share) => share * fatalMax);
  const passTicks = [0, 0.25, 0.5, 0.75, 1];

  const grid = [
    ...fatalTicks.map((tick) => renderTick(fatalScale(tick), axisY, formatNumber(tick))),
    ...passTicks.map((tick) => renderTick(passScale(tick), axisY, formatPercent(tick))),
  ];
  const rows = stacks.map((stack, index) => {
    const y = CHART.top + index * CHART.rowHeight + CHART.rowHeight / 2;
    const colour = COLOURS[stack.tier];
    const label = `${stack.rank}. ${stack.group}`;
    return html`<g class="stack-bars" data-rank="${stack.rank}" data-group="${stack.group}" data-tier="${stack.tier}">
<text class="row-label" x="4" y="${round(y)}"><title>${label}</title>${shorten(label, 52)}</text>
${renderInterval('fatal', stack, stack.fatalRate, stack.fatalRateInterval, fatalScale, CHART.fatal.right, y, colour, `${stack.group}: ${stack.fatalRate === null ? 'no exposure' : `${formatNumber(stack.fatalRate)} fatal events per 100 test-hours`}, 95% ${formatInterval(stack.fatalRateInterval, formatNumber)}`)}
${renderInterval('pass', stack, stack.passRate, stack.passRateInterval, passScale, CHART.pass.right, y, colour, `${stack.group}: ${stack.passRate === null ? 'no test judged' : `pass rate ${formatPercent(stack.passRate)}`}, 95% ${formatInterval(stack.passRateInterval, formatPercent)}`)}
</g>`;
  });
  return html`<svg class="chart" role="img" aria-label="fatal-event rate and pass rate per stack, with 95% intervals" width="${CHART.width}" height="${height}" viewBox="0 0 ${CHART.width} ${height}">
<text class="panel-title" x="${CHART.fatal.left}" y="16">Fatal events per 100 test-hours</text>
<text class="panel-title" x="${CHART.pass.left}" y="16">Pass rate</text>
${grid}
<line class="axis" x1="${CHART.fatal.left}" x2="${CHART.fatal.right}" y1="${axisY}" y2="${axisY}"/>
<line class="axis" x1="${CHART.pass.left}" x2="${CHART.pass.right}" y1="${axisY}" y2="${axisY}"/>
${rows}
</svg>`;
}

function renderTick(x: number, axisY: number, label: string): SafeHtml {
  return html`<line class="grid" x1="${round(x)}" x2="${round(x)}" y1="${CHART.top - 6}" y2="${axisY}"/><text class="tick" x="${round(x)}" y="${axisY + 14}" text-anchor="middle">${label}</text>`;
}

function renderInterval(
  kind: 'fatal' | 'pass',
  stack: RankedStack,
  estimate: number | null,
  interval: Interval,
  scale: (value: number) => number,
  edge: number,
  y: number,
  colour: string,
  tooltip: string,
): SafeHtml {
  const x1 = scale(interval.low);
  const x2 = interval.high === null ? edge : scale(interval.high);
  const width = Math.max(x2 - x1, 2);
  const top = y - CHART.barHeight / 2;
  const arrow =
    interval.high === null ? html`<path class="unbounded" d="M${round(edge)} ${round(y)} l-7 -5 v10 z" fill="${colour}"/>` : null;
  return html`<g class="interval ${kind}" data-rank="${stack.rank}" data-low="${interval.low}" data-high="${interval.high === null ? 'unbounded' : interval.high}" data-estimate="${estimate === null ? 'none' : estimate}">
<title>${tooltip}</title>
<rect class="bar" x="${round(x1)}" y="${round(top)}" width="${round(width)}" height="${CHART.barHeight}" fill="${colour}" stroke="${colour}"/>
<line class="whisker" x1="${round(x1)}" x2="${round(x1 + width)}" y1="${round(y)}" y2="${round(y)}" stroke="${colour}"/>
${arrow}${estimate === null ? null : html`<circle class="point" cx="${round(scale(estimate))}" cy="${round(y)}" r="4" fill="${colour}"/>`}
</g>`;
}

function renderStack(stack: RankedStack, links: RankPageLinks): SafeHtml {
  const runs = links.stackRuns && Object.hasOwn(links.stackRuns, stack.group) ? (links.stackRuns[stack.group] ?? []) : [];
  const fields = Object.entries(stack.fields).filter(([field]) => field !== 'key' || Object.keys(stack.fields).length > 1);
  const types = Object.entries(stack.byType).sort(([a], [b]) => a.localeCompare(b));
  const degraded = Object.entries(stack.degraded).sort(([a], [b]) => a.localeCompare(b));
  return html`<section class="stack" id="stack-${stack.rank}" data-group="${stack.group}">
<h3>${stack.rank}. <code>${stack.group}</code> ${renderTier(stack.tier)}</h3>
<p class="reason">${stack.reason}</p>
${fields.length > 0 ? html`<p class="fields">${fields.map(([field, value], index) => html`${index > 0 ? ' · ' : ''}${field}: <code>${value ?? ''}</code>`)}</p>` : null}
${types.length > 0 ? html`<p>Failures and errors by type: ${types.map(([type, count]) => `${type} ×${count}`).join(', ')}</p>` : null}
${degraded.length > 0 ? html`<p>Degraded kernel events: ${degraded.map(([type, count]) => `${type} ×${count}`).join(', ')}</p>` : null}
${
  stack.signatures.length > 0
    ? html`<h4>Crash signatures</h4>
<ul class="signatures">${stack.signatures.map(
        (signature) => html`<li class="signature" data-class="${signature.class}" data-count="${signature.count}" title="${describeSignature(signature)}">
<strong>${signature.class}</strong> ×${signature.count} in ${signature.runs.length} run${signature.runs.length === 1 ? '' : 's'}: <span class="title">${signature.title}</span>
<ul>${signature.occurrences.map((occurrence) => html`<li class="occurrence">${renderRunLink(occurrence.run, links)} · ${occurrence.suite} · test “${occurrence.test}”</li>`)}</ul>
</li>`,
      )}</ul>`
    : null
}
<h4>Run reports</h4>
${runs.length > 0 ? html`<ul class="run-reports">${runs.map((run) => html`<li>${renderRunLink(run, links)}</li>`)}</ul>` : html`<p class="empty">No run report to link.</p>`}
</section>`;
}

function renderRunLink(run: string, links: RankPageLinks): SafeHtml {
  // Own properties only: a run id such as `constructor` must not find Object's.
  const href = links.runs && Object.hasOwn(links.runs, run) ? links.runs[run] : undefined;
  return href === undefined ? html`<code>${run}</code>` : html`<a class="run-link" href="${href}" data-run="${run}"><code>${run}</code></a>`;
}

/** A round axis end at or above the largest value: 1, 2 or 5 times a power of ten. */
export function chooseAxisMax(values: readonly number[]): number {
  const largest = Math.max(0, ...values.filter((value) => Number.isFinite(value)));
  if (largest <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(largest));
  const step = [1, 2, 2.5, 5, 10].find((factor) => factor * power >= largest) ?? 10;
  return step * power;
}

/** Long groups are cut for the chart's label column; the whole group is in the label's tooltip. */
function shorten(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
