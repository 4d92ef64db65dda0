// `gauntlet qualify`: does a candidate stack hold up against a baseline? Writes a JUnit verdict and a markdown summary.

import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { GauntletError, STACK_FIELDS } from '../../model/index.js';
import { EXIT } from '../errors.js';
import { addEvidenceOptions, DEFAULT_REPORTS, loadSuites, parseCriteria, parseSince } from './rank.js';

interface QualifyOptions {
  baseline?: string;
  candidate?: string;
  out?: string;
  since?: string;
  minHours: string;
  minRuns: string;
}

export function registerQualifyCommand(program: Command): void {
  const command = program
    .command('qualify')
    .description('Qualify a candidate stack against a baseline: no new crash signature, no significantly worse fatal-event rate, enough exposure.')
    .argument('[paths...]', `JUnit files, run directories or globs (default ${DEFAULT_REPORTS})`)
    .option('--baseline <selector>', `the stacks to compare against: FIELD=VALUE[,FIELD=VALUE…], FIELD one of ${STACK_FIELDS.join(', ')}`)
    .option('--candidate <selector>', 'the stacks to qualify, in the same form')
    .option('--out <dir>', 'where to write junit.xml and summary.md (default reports/qualification-<YYYYMMDD-HHMMSS>/)');
  addEvidenceOptions(command);
  command.addHelpText(
    'after',
    '\nExit codes: 0 pass, 1 fail (a crash signature the baseline lacks, or a fatal-event rate worse at one-sided p < 0.05),\n' +
      '3 insufficient evidence (the candidate has less than --min-hours test-hours or --min-runs runs), 2 bad input.',
  );
  command.action(async (paths: string[], options: QualifyOptions) => {
    const startedAt = new Date();
    const [{ parseSelector, qualifyCandidate }, { writeQualification }] = await Promise.all([import('../../rank/index.js'), import('../../report/index.js')]);
    for (const name of ['baseline', 'candidate'] as const) {
      if (options[name] === undefined) throw new GauntletError('USAGE', `--${name}: expected a selector such as kernel=6.1.0-56-amd64 or key=<stack key>, got nothing`);
    }
    const baseline = parseSelector('--baseline', options.baseline!);
    const candidate = parseSelector('--candidate', options.candidate!);
    const criteria = parseCriteria(options);
    const since = parseSince(options.since);
    const suites = await loadSuites(paths);
    const qualification = qualifyCandidate(suites, baseline, candidate, { ...criteria, since });
    const out = options.out ?? join('reports', `qualification-${formatStamp(startedAt)}`);
    const written = await writeQualification(qualification, out, { startedAt, hostname: hostname() || 'localhost', durationMs: Date.now() - startedAt.getTime() });
    const lines = [`qualification: ${qualification.verdict}`, ...qualification.reasons.map((reason) => `  ${reason}`)];
    for (const signature of qualification.newSignatures) {
      for (const occurrence of signature.occurrences) lines.push(`    ${signature.class} in run ${occurrence.run}, ${occurrence.suite}, test "${occurrence.test}" (${occurrence.source})`);
    }
    lines.push(`junit: ${written.junit}`, `summary: ${written.summary}`);
    process.stdout.write(`${lines.join('\n')}\n`);
    process.exitCode = { pass: EXIT.OK, fail: EXIT.FAILED, insufficient: EXIT.INSUFFICIENT }[qualification.verdict];
  });
}

/** `20261122-080305`, in UTC, as run ids begin. */
function formatStamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
}
