// Reads console-log fixtures in syzkaller's report-test format: header lines (TITLE, ALT, TYPE, CORRUPTED, …,
// gauntlet's EVENT, `#` comments), a blank line, the raw log, and optionally a blank line, `REPORT:` and the
// expected report (not part of the log).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ConsoleFixture {
  /** File name (the corpus' numeric name). */
  name: string;
  /** Expected title of the first crash; absent when the log has no crash. */
  title?: string;
  alt: string[];
  /** syzkaller's crash type (HANG, WARNING, KASAN-READ, …) or gauntlet's class, when given. */
  type?: string;
  corrupted: boolean;
  /** gauntlet's fixtures only: titles of further events the log must give besides the primary, in log order (`EVENT:`). */
  events: string[];
  /**
   * gauntlet's fixtures only: every event the log must give, in log order, no more (`EXPECT: CLASS title`); empty
   * when the fixture does not list them.
   */
  expected: { class: string; title: string }[];
  /** Where the fixture came from (`# source: URL`, or words for a capture of our own). */
  source?: string;
  log: string;
}

export function parseConsoleFixture(name: string, text: string): ConsoleFixture {
  const blank = text.search(/^\r?$/m);
  const headerText = blank === -1 ? '' : text.slice(0, blank);
  let log = blank === -1 ? text : text.slice(text.indexOf('\n', blank) + 1);
  const report = log.search(/\n\r?\nREPORT:\r?\n/);
  if (report !== -1) log = log.slice(0, report + 1);
  const fixture: ConsoleFixture = { name, alt: [], corrupted: false, events: [], expected: [], log };
  for (const line of headerText.split('\n')) {
    const source = /^#\s*source:\s*(.*?)\s*$/.exec(line);
    if (source) fixture.source = source[1];
    if (line.startsWith('#')) continue;
    const m = /^([A-Z]+):\s?(.*?)\r?$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'TITLE') fixture.title = value;
    else if (key === 'ALT') fixture.alt.push(value);
    else if (key === 'TYPE') fixture.type = value;
    else if (key === 'CORRUPTED') fixture.corrupted = value === 'Y';
    else if (key === 'EVENT') fixture.events.push(value);
    else if (key === 'EXPECT') {
      const [cls = '', ...title] = value.split(' ');
      fixture.expected.push({ class: cls, title: title.join(' ') });
    }
  }
  return fixture;
}

/** Every fixture of a folder whose name passes `keep`, in name order (numeric names numerically). */
export function readConsoleFixtures(dir: string, keep: (name: string) => boolean = () => true): ConsoleFixture[] {
  return readdirSync(dir)
    .filter((name) => !/^(?:README\.md|LICENSE|AUTHORS)$/.test(name) && keep(name))
    .sort((a, b) => (Number(a) - Number(b)) || a.localeCompare(b))
    .map((name) => parseConsoleFixture(name, readFileSync(join(dir, name), 'utf8')));
}
