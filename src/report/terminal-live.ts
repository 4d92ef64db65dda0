// The live view's frame: a header and one row per host, busiest first, cut to fit the terminal so it can be redrawn in place.

import { FINAL_PHASES, type HostPhase, type HostProgress, type RunProgress } from './terminal-progress.js';
import { cleanText, formatCounts, formatDuration, formatHostLabel, formatTestCount, truncateLine } from './terminal-text.js';

export interface FrameSize {
  columns: number;
  rows: number;
}

/** Display order: hosts with something happening first, finished hosts last; ties keep inventory order. */
const PHASE_ORDER: readonly HostPhase[] = ['running', 'ready', 'connecting', 'lost', 'stopped', 'aborted', 'unreachable', 'done'];

/** Wide enough for every phase name, so the columns after it line up. */
const PHASE_WIDTH = Math.max(...PHASE_ORDER.map((phase) => phase.length));

/** A longer host label is cut, so one odd name cannot push every row's counts off screen. */
const MAX_LABEL_WIDTH = 48;

/** `1 running, 120 done, 23 connecting`, in display order, zero counts left out. */
function describePhases(hosts: HostProgress[]): string {
  const counts = new Map<HostPhase, number>();
  for (const host of hosts) counts.set(host.phase, (counts.get(host.phase) ?? 0) + 1);
  return PHASE_ORDER.filter((phase) => counts.has(phase))
    .map((phase) => `${counts.get(phase)} ${phase}`)
    .join(', ');
}

/** Phases in which a host has not run tests (yet, or at all): their rows show no counts. */
const PHASES_WITHOUT_COUNTS: ReadonlySet<HostPhase> = new Set<HostPhase>(['connecting', 'ready', 'unreachable']);

/** `4 pass 1 fail 1 err 1 skip 1 flaky`, or nothing for a host that has not started or never could. */
function describeHostCounts(progress: RunProgress, host: HostProgress): string {
  if (PHASES_WITHOUT_COUNTS.has(host.phase)) return '';
  const counts = progress.countOutcomes(host);
  const text = `${counts.passed} pass ${counts.failed} fail ${counts.errors} err ${counts.skipped} skip`;
  return counts.flaky > 0 ? `${text} ${counts.flaky} flaky` : text;
}

/** What the host is doing now, or why it stopped. */
function describeActivity(progress: RunProgress, host: HostProgress, nowMs: number): string {
  switch (host.phase) {
    case 'running': {
      const test = host.test;
      if (test === null) return host.suite === null ? '' : cleanText(host.suite);
      const attempt = test.attempt > 1 ? `, attempt ${test.attempt}` : '';
      return `${cleanText(test.suite)} > ${cleanText(test.title)} (${formatDuration(nowMs - test.startedAtMs)}${attempt})`;
    }
    case 'ready':
      return host.stackKey === null ? '' : cleanText(host.stackKey);
    case 'unreachable': {
      const notRun = host.plans > 0 ? `; ${formatTestCount(progress.countUnfinished(host))} not run` : '';
      return `${cleanText(host.unreachable ?? host.cause?.message ?? '')}${notRun}`;
    }
    case 'lost':
    case 'stopped':
    case 'aborted':
      return host.cause === null ? '' : `${host.cause.type}: ${cleanText(host.cause.message)}`;
    case 'connecting':
    case 'done':
      return '';
  }
}

/** Hosts in display order. */
function sortHosts(hosts: Iterable<HostProgress>): HostProgress[] {
  const rank = (host: HostProgress): number => PHASE_ORDER.indexOf(host.phase);
  return [...hosts].sort((a, b) => rank(a) - rank(b) || a.order - b.order);
}

/**
 * Renders the frame. It never has more than `rows - 1` lines, because log-update can erase only lines still on
 * screen and a frame as tall as the terminal scrolls its first line away; nor a line longer than `columns - 1`,
 * so no row wraps into two. When the hosts do not fit, the busiest are shown and one line counts the rest by phase.
 */
export function renderFrame(progress: RunProgress, size: FrameSize, nowMs: number): string {
  const width = Math.max(20, size.columns - 1);
  const maxLines = Math.max(2, size.rows - 1);
  const hosts = sortHosts(progress.hosts.values());

  const finished = hosts.filter((host) => FINAL_PHASES.has(host.phase)).length;
  const header = `${finished}/${hosts.length} hosts finished (${describePhases(hosts) || 'none'}) · ${formatCounts(progress.countRunOutcomes())} · ${formatDuration(nowMs - progress.startedAtMs)}`;

  const hostSlots = maxLines - 1;
  const shown = hosts.length <= hostSlots ? hosts : hosts.slice(0, Math.max(0, hostSlots - 1));
  const hidden = hosts.slice(shown.length);

  const labels = shown.map((host) => truncateLine(formatHostLabel(host.name, host.id), MAX_LABEL_WIDTH));
  const counts = shown.map((host) => describeHostCounts(progress, host));
  const labelWidth = Math.max(0, ...labels.map((label) => label.length));
  const countsWidth = Math.max(0, ...counts.map((text) => text.length));

  const lines = [header];
  shown.forEach((host, index) => {
    const columns = [(labels[index] ?? '').padEnd(labelWidth), host.phase.padEnd(PHASE_WIDTH)];
    // A row without counts (not started, unreachable) gives their column to its activity, e.g. the connect error.
    if (counts[index]) columns.push((counts[index] ?? '').padEnd(countsWidth));
    columns.push(describeActivity(progress, host, nowMs));
    lines.push(columns.join('  ').trimEnd());
  });
  if (hidden.length > 0) lines.push(`… and ${hidden.length} more (${describePhases(hidden)})`);
  return lines.map((line) => truncateLine(line, width)).join('\n');
}
