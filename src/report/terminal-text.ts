// Text pieces shared by the terminal reporter's plain lines, live view and end-of-run summary: durations, times, counts, safe one-line text.

import { stripVTControlCharacters } from 'node:util';
import type { RunSummary } from '../model/index.js';

/** Outcome totals for a host or a run. `passed` includes the flaky tests (they passed in the end). */
export interface OutcomeCounts {
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  flaky: number;
}

/** `0.3 s`, `59.9 s`, `2m 05s`, `1h 02m`: tenths while they matter, then whole units. */
export function formatDuration(ms: number): string {
  const safe = Number.isFinite(ms) && ms > 0 ? ms : 0;
  if (safe < 60_000) return `${(safe / 1000).toFixed(1)} s`;
  const totalS = Math.floor(safe / 1000);
  if (totalS < 3600) return `${Math.floor(totalS / 60)}m ${String(totalS % 60).padStart(2, '0')}s`;
  const totalM = Math.floor(totalS / 60);
  return `${Math.floor(totalM / 60)}h ${String(totalM % 60).padStart(2, '0')}m`;
}

/** `2026-11-22T07:55:01Z` (UTC, whole seconds) for an event's ISO time; `fallback` when the event's time does not parse. */
export function formatTimestamp(iso: string | undefined, fallback: Date): string {
  const parsed = iso === undefined ? Number.NaN : Date.parse(iso);
  const date = Number.isNaN(parsed) ? fallback : new Date(parsed);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Makes text that came from a host or a suite safe for one terminal line: escape sequences and control characters
 * removed (a hostile or broken message must not move the cursor or recolour the screen), only the first non-empty
 * line kept, with ` …` when more followed. The full text is in the journal and the JUnit report.
 */
export function cleanText(text: string): string {
  const lines = stripVTControlCharacters(text)
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim())
    .filter((line) => line.length > 0);
  if (lines.length === 0) return '';
  return lines.length > 1 ? `${lines[0]} …` : (lines[0] ?? '');
}

/** Cuts a line to `width` characters (code points), ending in `…` when cut. Terminal-wide glyphs count as one. */
export function truncateLine(line: string, width: number): string {
  const chars = Array.from(line);
  if (chars.length <= width) return line;
  if (width <= 1) return chars.slice(0, Math.max(0, width)).join('');
  return `${chars.slice(0, width - 1).join('')}…`;
}

/** `[h1 ssh://root@10.213.1.11:22]`: how every line names a host (its inventory name and URL id, never more). */
export function formatHostLabel(name: string, id: string | undefined): string {
  return id === undefined || id === '' ? `[${cleanText(name)}]` : `[${cleanText(name)} ${cleanText(id)}]`;
}

/** `storage-churn > data survives rename`. */
export function formatTestName(suite: string, title: string): string {
  return `${cleanText(suite)} > ${cleanText(title)}`;
}

/**
 * `412 passed · 3 failed · 2 errors · 4 skipped · 1 flaky`. Passed, failed, errors and flaky always appear; skipped
 * only when there are some, and then before flaky: the four outcomes first, then flaky, which counts tests already
 * counted as passed.
 */
export function formatCounts(counts: OutcomeCounts): string {
  const parts = [`${counts.passed} passed`, `${counts.failed} failed`, `${counts.errors} ${counts.errors === 1 ? 'error' : 'errors'}`];
  if (counts.skipped > 0) parts.push(`${counts.skipped} skipped`);
  parts.push(`${counts.flaky} flaky`);
  return parts.join(' · ');
}

/** The run's one-line verdict: `37/40 hosts ran · 412 passed · 3 failed · 2 errors · 1 flaky` (see formatCounts for skipped). */
export function formatSummary(summary: RunSummary): string {
  return `${summary.hostsRan}/${summary.hostsTotal} hosts ran · ${formatCounts(summary)}`;
}

/** `1 test`, `14 tests`. */
export function formatTestCount(count: number): string {
  return `${count} ${count === 1 ? 'test' : 'tests'}`;
}
