// `gauntlet rank [PATHS…]`: ranks stacks by the evidence in JUnit reports and run directories: proven, unproven, crashed.

import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { GauntletError, STACK_FIELDS, type ResultSuite, type StackField } from '../../model/index.js';

/** Where reports are read from when no path is given. */
export const DEFAULT_REPORTS = 'reports/';
const FORMATS = ['table', 'md', 'json', 'html'] as const;

interface RankOptions {
  by?: string;
  format: string;
  since?: string;
  minHours: string;
  minRuns: string;
  out?: string;
}

/** Options that rank and qualify share. */
export function addEvidenceOptions(command: Command): Command {
  return command
    .option('--since <date>', 'only runs that started at or after DATE (ISO 8601 date or time; UTC unless a zone is given)')
    .option('--min-hours <h>', 'test-hours a stack needs to be proven', '1')
    .option('--min-runs <n>', 'runs a stack needs to be proven', '3');
}

export function registerRankCommand(program: Command): void {
  const command = program
    .command('rank')
    .description('Rank stacks by how stable they proved in JUnit reports: proven, then unproven (too little exposure), then crashed.')
    .argument('[paths...]', `JUnit files, run directories or globs (default ${DEFAULT_REPORTS})`)
    .option('--by <fields>', `group by these stack fields, comma-separated (${STACK_FIELDS.join(', ')}); default key`)
    .option('--format <format>', `output: ${FORMATS.join(', ')} (html: one self-contained page with a chart and links to each run's report)`, 'table')
    .option('--out <file>', 'write the output to FILE instead of standard output (html links are made relative to it)');
  addEvidenceOptions(command);
  command.addHelpText(
    'after',
    '\nTiers: proven (no fatal kernel event, at least --min-hours test-hours over --min-runs runs), sorted by the upper bound\n' +
      'of the fatal-event rate; unproven (no fatal event, too little exposure), sorted by exposure; crashed (a fatal event:\n' +
      'PANIC, OOPS, lockups, RCU stalls, hung tasks, lost connections, …), sorted by the upper bound of its rate.\n' +
      'Exit codes: 0 ranked, 2 bad input (no reports, an unknown field, a bad date or number, an --out that cannot be written).',
  );
  command.action(async (paths: string[], options: RankOptions) => {
    const by = parseFields(options.by);
    const format = parseChoice('--format', options.format, FORMATS);
    const criteria = parseCriteria(options);
    const since = parseSince(options.since);
    if (options.out !== undefined) await assertWritable(options.out);
    const suites = await loadSuites(paths);
    const [{ rankStacks }, report] = await Promise.all([import('../../rank/index.js'), import('../../report/index.js')]);
    const ranking = rankStacks(suites, { by, since, ...criteria });
    if (ranking.stacks.length === 0) {
      throw new GauntletError('USAGE', `${describePaths(paths)}: no testsuite carries gauntlet.stack.* properties${since ? ` in runs since ${since.toISOString()}` : ''} (expected gauntlet's JUnit reports or others with gauntlet.stack.key)`);
    }
    let text: string;
    if (format === 'html') {
      // Links must work when the page is opened from disk: relative to where the page is written.
      const pageDir = options.out === undefined ? process.cwd() : dirname(resolve(options.out));
      const links = await collectRunLinks(suites, ranking.by, since, pageDir, report.linkBetween);
      text = report.renderRankingHtml(ranking, { ...links, generatedAt: new Date().toISOString() });
    } else {
      text = { table: report.formatRankingTable, md: report.formatRankingMarkdown, json: report.formatRankingJson }[format](ranking);
    }
    if (options.out === undefined) {
      process.stdout.write(text);
      return;
    }
    try {
      await report.writeFileAtomically(options.out, text);
    } catch (err) {
      throw new GauntletError('USAGE', `--out ${options.out}: cannot write the file: ${(err as Error).message}`, { cause: err });
    }
    process.stdout.write(`${format}: ${options.out}\n`);
  });
}

/**
 * For the html page: each run's page as a link from `pageDir` (report.html beside the run's junit.xml or journal,
 * else the JUnit file itself), and the runs behind each stack, grouped as rankStacks groups them.
 */
async function collectRunLinks(
  suites: readonly ResultSuite[],
  by: readonly StackField[],
  since: Date | null,
  pageDir: string,
  linkBetween: (fromDir: string, toFile: string) => string,
): Promise<{ runs: Record<string, string>; stackRuns: Record<string, string[]> }> {
  const { describeGroup, filterSince, hasStack } = await import('../../rank/index.js');
  const runs = new Map<string, string>();
  const stackRuns = new Map<string, Set<string>>();
  for (const suite of filterSince(suites.filter(hasStack), since)) {
    const fields = Object.fromEntries(by.map((field) => [field, suite.stack[field] ?? 'unknown'])) as Partial<Record<StackField, string>>;
    const group = describeGroup(by, fields);
    stackRuns.set(group, (stackRuns.get(group) ?? new Set()).add(suite.run));
    if (!runs.has(suite.run)) runs.set(suite.run, linkBetween(pageDir, await findRunPage(suite.source)));
  }
  return { runs: Object.fromEntries(runs), stackRuns: Object.fromEntries([...stackRuns].map(([group, ids]) => [group, [...ids].sort()])) };
}

/** A run directory's report.html when `gauntlet report DIR --html` wrote one, else the report file itself. */
async function findRunPage(source: string): Promise<string> {
  const page = join(dirname(resolve(source)), 'report.html');
  if (['junit.xml', 'journal.jsonl'].includes(basename(source))) {
    try {
      if ((await stat(page)).isFile()) return page;
    } catch {
      // no page: link the report
    }
  }
  return resolve(source);
}

/** Answers a --out that cannot be written before reading any report: a directory, or a folder that is not one or is read-only. */
async function assertWritable(out: string): Promise<void> {
  const target = await stat(out).catch(() => null);
  if (target?.isDirectory()) throw new GauntletError('USAGE', `--out ${out}: is a directory (expected a file to write)`);
  let folder = dirname(resolve(out));
  for (;;) {
    const found = await stat(folder).catch(() => null);
    if (found) {
      if (!found.isDirectory()) throw new GauntletError('USAGE', `--out ${out}: ${folder} is not a directory`);
      break;
    }
    folder = dirname(folder);
  }
  try {
    await access(folder, constants.W_OK);
  } catch (err) {
    throw new GauntletError('USAGE', `--out ${out}: cannot write in ${folder} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}

/** Reads the testsuites of every report the paths name (default reports/); warns about XML files that are not JUnit. */
export async function loadSuites(paths: readonly string[]): Promise<ResultSuite[]> {
  const { findJunitSources, readJunitSources } = await import('../../report/index.js');
  const sources = await findJunitSources(paths.length > 0 ? paths : [DEFAULT_REPORTS]);
  const { suites, skipped } = await readJunitSources(sources);
  for (const line of skipped) process.stderr.write(`gauntlet: warning: skipped ${line}\n`);
  return suites;
}

function describePaths(paths: readonly string[]): string {
  return paths.length > 0 ? paths.join(' ') : DEFAULT_REPORTS;
}

export function parseFields(text: string | undefined): StackField[] | undefined {
  if (text === undefined) return undefined;
  const fields = text.split(',').map((field) => field.trim());
  for (const field of fields) {
    if (!(STACK_FIELDS as readonly string[]).includes(field)) {
      throw new GauntletError('USAGE', `--by: expected stack fields among ${STACK_FIELDS.join(', ')}, comma-separated, got ${JSON.stringify(field)}`);
    }
  }
  return [...new Set(fields)] as StackField[];
}

export function parseCriteria(options: { minHours: string; minRuns: string }): { minHours: number; minRuns: number } {
  const minHours = Number(options.minHours);
  if (options.minHours.trim() === '' || !Number.isFinite(minHours) || minHours < 0) {
    throw new GauntletError('USAGE', `--min-hours: expected a non-negative number of test-hours, got ${JSON.stringify(options.minHours)}`);
  }
  const minRuns = Number(options.minRuns);
  if (!/^\d+$/.test(options.minRuns.trim()) || minRuns < 1) {
    throw new GauntletError('USAGE', `--min-runs: expected a whole number of runs, 1 or more, got ${JSON.stringify(options.minRuns)}`);
  }
  return { minHours, minRuns };
}

/** An ISO date (`2026-03-01`, UTC midnight) or date and time; anything else is bad input. */
export function parseSince(text: string | undefined): Date | null {
  if (text === undefined) return null;
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text.trim());
  const withZone = iso ? (iso[1] && !iso[4] ? `${text.trim()}Z` : text.trim()) : '';
  const time = iso ? Date.parse(withZone) : Number.NaN;
  if (Number.isNaN(time)) throw new GauntletError('USAGE', `--since: expected an ISO 8601 date such as 2026-03-01 or 2026-03-01T08:00Z, got ${JSON.stringify(text)}`);
  return new Date(time);
}

function parseChoice<T extends string>(option: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) throw new GauntletError('USAGE', `${option}: expected one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}
