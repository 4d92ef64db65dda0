// Prints a ranking of stacks: a terminal table, markdown for a pull request or wiki, or JSON.

import Table from 'cli-table3';
import type { CrashSignature, Interval, RankedStack, Ranking } from '../model/index.js';

const PLAIN_TABLE = {
  style: { head: [], border: [], compact: true },
  chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' },
};

const HEAD = ['#', 'TIER', 'STACK', 'RUNS', 'HOSTS', 'TESTS', 'TEST-H', 'FATAL', 'FATAL/100 TEST-H [95%]', 'PASS [95%]'];

/** The ranking as a table, then each stack's reason and crash signatures, then the criteria. */
export function formatRankingTable(ranking: Ranking): string {
  const table = new Table({ head: HEAD, ...PLAIN_TABLE });
  for (const stack of ranking.stacks) table.push(rowOf(stack));
  const lines = [table.toString(), ''];
  for (const stack of ranking.stacks) {
    lines.push(`${stack.rank}. ${stack.group}`, `   ${stack.reason}`);
    for (const signature of stack.signatures) lines.push(`   ${describeSignature(signature)}`);
  }
  lines.push('', describeCriteria(ranking));
  return `${lines.join('\n')}\n`;
}

/** The ranking as a markdown table with the reasons and signatures below it. */
export function formatRankingMarkdown(ranking: Ranking): string {
  const escape = (text: string): string => text.replace(/\|/g, '\\|');
  const lines = [`| ${HEAD.join(' | ')} |`, `|${HEAD.map(() => ' --- ').join('|')}|`];
  for (const stack of ranking.stacks) lines.push(`| ${rowOf(stack).map((cell, index) => (index === 2 ? `\`${escape(cell)}\`` : escape(cell))).join(' | ')} |`);
  lines.push('');
  for (const stack of ranking.stacks) {
    lines.push(`${stack.rank}. \`${stack.group}\`: ${escape(stack.reason)}`);
    for (const signature of stack.signatures) lines.push(`   - ${escape(describeSignature(signature))}`);
  }
  lines.push('', `_${describeCriteria(ranking)}_`);
  return `${lines.join('\n')}\n`;
}

/** The ranking as JSON: the criteria, and per stack its tier, reason, rates with intervals, exposure and signatures. */
export function formatRankingJson(ranking: Ranking): string {
  return `${JSON.stringify(ranking, null, 2)}\n`;
}

function rowOf(stack: RankedStack): string[] {
  const rate = stack.fatalRate === null ? '-' : `${formatNumber(stack.fatalRate)} ${formatInterval(stack.fatalRateInterval)}`;
  const pass = stack.passRate === null ? '-' : `${formatPercent(stack.passRate)} ${formatInterval(stack.passRateInterval, formatPercent)}`;
  return [String(stack.rank), stack.tier, stack.group, String(stack.runs), String(stack.hosts), String(stack.tests), formatNumber(stack.exposureHours), String(stack.fatalEvents), rate, pass];
}

/** `PANIC ×3 in 2 runs: Kernel panic - not syncing: Fatal exception`. */
export function describeSignature(signature: CrashSignature): string {
  const runs = signature.runs.length;
  return `${signature.class} ×${signature.count} in ${runs} run${runs === 1 ? '' : 's'}: ${signature.title}`;
}

/** `grouped by key; proven = no fatal event, ≥ 1 test-hours over ≥ 3 runs; intervals are 95% …`. */
export function describeCriteria(ranking: Ranking): string {
  const by = ranking.by.join(',');
  const since = ranking.since ? `, runs since ${ranking.since}` : '';
  const ignored = ranking.ignoredSuites > 0 ? `; ${ranking.ignoredSuites} testsuite(s) left out (no gauntlet.stack.* properties${ranking.since ? ', or before --since' : ''})` : '';
  return `grouped by ${by}${since}; proven = no fatal event, ≥ ${formatNumber(ranking.minHours)} test-hours over ≥ ${ranking.minRuns} runs; intervals are 95% (exact Poisson for rates, Wilson for pass rates)${ignored}`;
}

/** `[low–high]`, `∞` for an unbounded high end. */
export function formatInterval(interval: Interval, format: (value: number) => string = formatNumber): string {
  return `[${format(interval.low)}–${interval.high === null ? '∞' : format(interval.high)}]`;
}

/** `97.3%`: three significant digits. */
export function formatPercent(value: number): string {
  return `${Number((value * 100).toPrecision(3))}%`;
}

/** Three significant digits (no exponent): 0.00312, 3.69, 30.7, 1230. */
export function formatNumber(value: number): string {
  if (value === 0 || !Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 1000 ? String(Math.round(value)) : String(Number(value.toPrecision(3)));
}
