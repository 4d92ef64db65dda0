// Shared parts of gauntlet's HTML pages: an escaping template tag, the self-contained page shell, and relative links.

import { relative } from 'node:path';
import { escape } from 'html-escaper';

/** Markup that is already safe to insert: made only by `html`, `raw` or `renderPage`. */
export class SafeHtml {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

/** What may be interpolated into `html`: text (escaped), numbers, safe markup, lists of those, or nothing. */
export type HtmlValue = string | number | SafeHtml | null | undefined | false | readonly HtmlValue[];

/**
 * A template tag that escapes every interpolated value (`&<>'"`), unless it is SafeHtml. Kernel titles, test names
 * and host names come from the hosts under test, so nothing reaches a page without passing through here.
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += renderValue(value) + (strings[index + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** Markup written by gauntlet itself (CSS, fixed SVG), inserted as it is. Never pass text from a host here. */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** Escapes text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return escape(text);
}

function renderValue(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(renderValue).join('');
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  return escapeHtml(value as string);
}

/** Colours shared by both pages: tiers of a ranking and outcomes of tests. */
export const COLOURS = {
  proven: '#1a7f37',
  unproven: '#9a6700',
  crashed: '#cf222e',
  passed: '#2da44e',
  failed: '#d1242f',
  error: '#8250df',
  skipped: '#8c959f',
  axis: '#57606a',
  grid: '#d0d7de',
} as const;

const BASE_CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1f2328; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid ${COLOURS.grid}; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; word-break: break-all; }
.meta { color: ${COLOURS.axis}; margin: 0 0 12px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid ${COLOURS.grid}; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, pre { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
pre { background: #f6f8fa; border: 1px solid ${COLOURS.grid}; padding: 8px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; max-height: 480px; }
.badge { display: inline-block; padding: 0 6px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; }
.tier-proven { background: ${COLOURS.proven}; } .tier-unproven { background: ${COLOURS.unproven}; } .tier-crashed { background: ${COLOURS.crashed}; }
.outcome-passed { background: ${COLOURS.passed}; } .outcome-failed { background: ${COLOURS.failed}; }
.outcome-error { background: ${COLOURS.error}; } .outcome-skipped { background: ${COLOURS.skipped}; }
svg { display: block; max-width: 100%; height: auto; font: 11px system-ui, sans-serif; }
svg text { fill: #1f2328; }
svg .axis { stroke: ${COLOURS.axis}; } svg .grid { stroke: ${COLOURS.grid}; }
.empty { color: ${COLOURS.axis}; font-style: italic; }
ul { padding-left: 20px; }
`;

/**
 * A whole page, self-contained: inline CSS, no script, and a Content-Security-Policy that lets it load nothing at
 * all (no fonts, images, styles or scripts from anywhere), so it opens from disk with no network.
 */
export function renderPage(page: { title: string; css?: string; body: SafeHtml }): string {
  return `${html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="gauntlet">
<title>${page.title}</title>
<style>${raw(BASE_CSS + (page.css ?? ''))}</style>
</head>
<body>
${page.body}
</body>
</html>`.value}\n`;
}

/**
 * A relative link from a page to a file, both given as absolute paths, as a URL path: `../run-1/report.html`.
 * Each segment is percent-encoded, so names with `#`, `?`, `%` or spaces still resolve from disk.
 */
export function linkBetween(fromDir: string, toFile: string): string {
  const path = relative(fromDir, toFile).split(/[\\/]/).map(encodeURIComponent).join('/');
  return path === '' ? '.' : path;
}
