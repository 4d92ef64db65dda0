// `gauntlet report DIR [--html]`: rebuilds a run's junit.xml (and report.html) from its journal alone, prints the summary, exits as the run did.

import { join } from 'node:path';
import type { Command } from 'commander';
import { GauntletError } from '../../model/index.js';
import { assertDirectory } from '../run-dirs.js';

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('Rebuild <dir>/junit.xml from <dir>/journal.jsonl (also after a killed run) and print the run\'s summary.')
    .argument('<dir>', 'a run directory, reports/<run-id>')
    .option('--html', 'also write <dir>/report.html: a self-contained page with a per-host timeline and each failure\'s evidence')
    .addHelpText(
      'after',
      '\nExit codes: 0 everything passed, 1 a test failed or errored (an unreachable host\'s tests are errors),\n' +
        '130/143 the run was interrupted by SIGINT/SIGTERM, 2 bad input (no such directory, no or corrupt journal).',
    )
    .action(async (dir: string, options: { html?: boolean }) => {
      // Loaded here, not at start-up: other commands need none of it.
      const { buildRunRecord, exitCodeOf, formatSummary, readJournal, renderRunHtml, summarizeRun, writeFileAtomically, writeJunit } = await import('../../report/index.js');
      await assertDirectory(dir, 'a run directory, reports/<run-id>');
      const { events, warnings } = await readJournal(join(dir, 'journal.jsonl'));
      for (const warning of warnings) process.stderr.write(`gauntlet: warning: ${warning}\n`);
      const record = buildRunRecord(events);
      const junitPath = join(dir, 'junit.xml');
      await writeJunit(record, junitPath);
      const lines = [formatSummary(summarizeRun(record)), `junit: ${junitPath}`];
      if (options.html) {
        const htmlPath = join(dir, 'report.html');
        await writeFileAtomically(htmlPath, renderRunHtml(events, { junitHref: 'junit.xml' }));
        lines.push(`html: ${htmlPath}`);
      }
      if (record.end?.interrupted) lines.unshift(`run ${record.start.runId} was interrupted by ${record.end.interrupted}`);
      else if (!record.end) lines.unshift(`run ${record.start.runId} did not finish: its journal has no run-end (was the runner killed?)`);
      process.stdout.write(`${lines.join('\n')}\n`);
      process.exitCode = exitCodeOf(record);
    });
}
