// `gauntlet merge DIR…`: merges the run directories of `--shard i/n` jobs into one run with one journal and one JUnit.

import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { GauntletError } from '../../model/index.js';
import { assertDirectory } from '../run-dirs.js';

interface MergeOptions {
  out: string;
}

export function registerMergeCommand(program: Command): void {
  program
    .command('merge')
    .description('Merge the run directories of `gauntlet run --shard i/n` jobs into one run: <out>/<new run id>/ with journal.jsonl and junit.xml.')
    .argument('<dirs...>', 'run directories of the shards, reports/<run-id>')
    .option('-o, --out <dir>', 'parent folder of the merged run\'s folder', 'reports')
    .addHelpText(
      'after',
      '\nThe shards must be of one plan (same suites and their digests, params, inventory digest, --limit, retries, shard\n' +
        'total). A missing or repeated shard is a warning; a host × suite found in two runs keeps the later run\'s results.\n' +
        'A shard whose runner was killed is merged as its journal says (its unfinished tests are INTERRUPTED).\n' +
        'Exit codes: the merged run\'s: 0 everything passed, 1 a test failed or errored, 130/143 a shard was interrupted by\n' +
        'SIGINT/SIGTERM; 2 bad input (not a run directory, not shards of one plan), and then nothing is written.',
    )
    .action(async (dirs: string[], options: MergeOptions) => {
      // Loaded here, not at start-up: other commands need none of it.
      const [report, { createRunId }] = await Promise.all([import('../../report/index.js'), import('../../runner/scheduler.js')]);
      for (const dir of dirs) await assertDirectory(dir, "a shard's run directory, reports/<run-id>");
      const inputs = [];
      for (const dir of dirs) {
        const { events, warnings } = await report.readJournal(join(dir, 'journal.jsonl'));
        for (const warning of warnings) process.stderr.write(`gauntlet: warning: ${warning}\n`);
        inputs.push({ dir, events });
      }
      const runId = createRunId();
      const merged = report.mergeRuns(inputs, { runId, argv: ['merge', ...dirs, '--out', options.out] });
      for (const warning of merged.warnings) process.stderr.write(`gauntlet: warning: ${warning}\n`);
      const record = report.buildRunRecord(merged.events);
      const runDir = join(options.out, runId);
      await writeRunDirectory(runDir, `${merged.events.map((event) => JSON.stringify(event)).join('\n')}\n`, report.renderJunit(record));
      const lines = [`merged ${inputs.length} run${inputs.length === 1 ? '' : 's'} (shards ${merged.shards.join(', ')}) into run ${runId}`];
      if (merged.duplicatesDropped > 0) {
        lines.push(`dropped ${merged.duplicatesDropped} duplicate test result${merged.duplicatesDropped === 1 ? '' : 's'} (a host × suite in more than one run: the later run's kept)`);
      }
      if (record.end?.interrupted) lines.push(`a shard was interrupted by ${record.end.interrupted}`);
      lines.push(report.formatSummary(report.summarizeRun(record)), `junit: ${join(runDir, 'junit.xml')}`);
      process.stdout.write(`${lines.join('\n')}\n`);
      process.exitCode = report.exitCodeOf(record);
    });
}

/**
 * Writes the merged run's folder whole or not at all: both files go into a hidden folder beside it, which is then
 * renamed into place (hidden folders are skipped by `gauntlet rank`).
 */
async function writeRunDirectory(runDir: string, journal: string, junit: string): Promise<void> {
  const parent = join(runDir, '..');
  try {
    await mkdir(parent, { recursive: true });
  } catch (err) {
    throw new GauntletError('USAGE', `--out ${parent}: cannot create the folder: ${(err as Error).message}`, { cause: err });
  }
  const temp = join(parent, `.merge-${process.pid}-${randomUUID().slice(0, 8)}.tmp`);
  try {
    await mkdir(temp);
    await writeFile(join(temp, 'journal.jsonl'), journal, { flag: 'wx' });
    await writeFile(join(temp, 'junit.xml'), junit, { flag: 'wx' });
    await rename(temp, runDir);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw new GauntletError('USAGE', `--out ${parent}: cannot write the merged run: ${(err as Error).message}`, { cause: err });
  }
}
