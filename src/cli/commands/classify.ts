// `gauntlet classify [--json] FILE… | -`: finds kernel crash reports in console logs and says what each log shows.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { GauntletError, type KernelEvent, type LogClassification } from '../../model/index.js';
import { EXIT } from '../errors.js';

interface ClassifyOptions {
  json?: boolean;
}

const STDIN = '-';
const EXPECTED = 'expected a console log file, or - for standard input';

export function registerClassifyCommand(program: Command): void {
  program
    .command('classify')
    .description('Find kernel crash reports (panics, oopses, sanitizer reports, lockups, hung tasks, warnings, filesystem errors, …) in console logs.')
    .argument('<files...>', 'console logs (serial console, dmesg, journalctl, syslog); - reads standard input')
    .option('--json', 'print one JSON object per file, one per line: {file, crashed, primary, events}')
    .addHelpText(
      'after',
      '\nExit codes: 0 no log shows a crash, 1 a log does, 2 bad input (no such file, unreadable, unknown option).\n' +
        'OOM kills are reported but are not crashes (the kernel coped); inside a memory cgroup they are only information.',
    )
    .action(async (files: string[], options: ClassifyOptions) => {
      await assertReadable(files);
      // Loaded here, not at start-up: other commands need none of it.
      const { createStreamClassifier, summarizeEvents } = await import('../../classify/index.js');
      let crashed = false;
      for (const file of files) {
        const classifier = createStreamClassifier({ quietMs: Number.POSITIVE_INFINITY });
        const events: KernelEvent[] = [];
        await readText(file, (text) => events.push(...classifier.push(text, 0)));
        events.push(...classifier.flush(0));
        const result = summarizeEvents(events);
        crashed ||= result.crashed;
        process.stdout.write(options.json ? `${JSON.stringify(toJson(file, result))}\n` : renderText(file, result));
      }
      process.exitCode = crashed ? EXIT.FAILED : EXIT.OK;
    });
}

/** Every input is checked before any is read: one line per problem, then exit 2. */
async function assertReadable(files: string[]): Promise<void> {
  const problems: string[] = [];
  if (files.filter((file) => file === STDIN).length > 1) problems.push(`${STDIN}: standard input given more than once (${EXPECTED})`);
  for (const file of new Set(files)) {
    if (file === STDIN) continue;
    try {
      const info = await stat(file);
      if (info.isDirectory()) problems.push(`${file}: is a directory (${EXPECTED})`);
    } catch (err) {
      problems.push(`${file}: ${describeFsError(err)} (${EXPECTED})`);
    }
  }
  if (problems.length === 1) throw new GauntletError('USAGE', problems[0]!);
  if (problems.length > 1) throw new GauntletError('USAGE', `${problems.length} inputs cannot be read`, { details: problems });
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return (err as Error).message;
}

/** Streams a file (or standard input) as text; invalid UTF-8 becomes U+FFFD instead of failing. */
async function readText(file: string, onText: (text: string) => void): Promise<void> {
  const stream: Readable = file === STDIN ? process.stdin : createReadStream(file);
  const decoder = new StringDecoder('utf8');
  try {
    for await (const chunk of stream) onText(decoder.write(chunk as Buffer));
    onText(decoder.end());
  } catch (err) {
    throw new GauntletError('USAGE', `${file}: ${describeFsError(err)} (${EXPECTED})`, { cause: err });
  }
}

function toJson(file: string, result: LogClassification): unknown {
  const { primary } = result;
  return {
    file,
    crashed: result.crashed,
    primary: primary
      ? { class: primary.class, title: primary.title, alt: primary.alt, fatal: primary.fatal, corrupted: primary.corrupted, excerpt: primary.excerpt }
      : null,
    events: result.events,
  };
}

/** `file: CLASS title`, then the report's lines indented; or `file: no crash`. */
function renderText(file: string, result: LogClassification): string {
  const { primary, events } = result;
  const others = events.filter((event) => event !== primary);
  const plural = others.length === 1 ? '' : 's';
  if (!primary) return `${file}: no crash${others.length === 0 ? '' : ` (${others.length} other event${plural}: ${summarizeTitles(others)})`}\n`;
  const more = others.length === 0 ? '' : ` (+${others.length} more event${plural}: ${summarizeTitles(others)})`;
  const flags = [primary.fatal ? 'fatal' : 'not fatal', ...(primary.corrupted ? ['report truncated'] : [])].join(', ');
  const excerpt = primary.excerpt
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
  return `${file}: ${primary.class} ${primary.title} [${flags}; lines ${primary.startLine}-${primary.endLine}]${more}\n${excerpt}\n`;
}

/** Distinct titles with their counts, the first few. */
function summarizeTitles(events: KernelEvent[]): string {
  const counts = new Map<string, number>();
  for (const event of events) counts.set(event.title, (counts.get(event.title) ?? 0) + 1);
  const shown = [...counts].slice(0, 3).map(([title, count]) => (count > 1 ? `${title} ×${count}` : title));
  return counts.size > 3 ? `${shown.join('; ')}; …` : shown.join('; ');
}
