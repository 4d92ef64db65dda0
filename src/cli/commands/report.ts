// `gauntlet report DIR [--html]`: rebuilds a run's junit.xml (and report.html) from its journal alone, prints the summary, exits as the run did.
// A soak's folder gets its combined junit.xml rebuilt from the soak's and its iterations' journals.

import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { GauntletError } from '../../model/index.js';
import { assertDirectory } from '../run-dirs.js';

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('Rebuild <dir>/junit.xml from <dir>/journal.jsonl (also after a killed run) and print the run\'s summary; for a soak\'s folder, its combined junit.xml.')
    .argument('<dir>', 'a run directory, reports/<run-id>, or a soak\'s, reports/<soak-id>')
    .option('--html', 'also write <dir>/report.html: a self-contained page with a per-host timeline and each failure\'s evidence (a soak: one per iteration)')
    .addHelpText(
      'after',
      '\nExit codes: 0 everything passed, 1 a test failed or errored (an unreachable host\'s tests are errors),\n' +
        '130/143 the run was interrupted by SIGINT/SIGTERM, 2 bad input (no such directory, no or corrupt journal).',
    )
    .action(async (dir: string, options: { html?: boolean }) => {
      // Loaded here, not at start-up: other commands need none of it.
      const { buildRunRecord, exitCodeOf, formatSummary, readJournal, renderRunHtml, summarizeRun, writeFileAtomically, writeJunit } = await import('../../report/index.js');
      await assertDirectory(dir, 'a run directory, reports/<run-id>');
      if (await isSoakFolder(dir)) {
        await reportSoak(dir, Boolean(options.html));
        return;
      }
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

async function isSoakFolder(dir: string): Promise<boolean> {
  const { SOAK_JOURNAL } = await import('../../report/index.js');
  const found = async (name: string) =>
    access(join(dir, name)).then(
      () => true,
      () => false,
    );
  return !(await found('journal.jsonl')) && (await found(SOAK_JOURNAL));
}

/** A soak's folder: its junit.xml rebuilt from its journals (and, with --html, each iteration's page); its summary. */
async function reportSoak(dir: string, html: boolean): Promise<void> {
  const { exitCodeOfSoak, formatSoakSummary, ITERATIONS_DIR, readSoakReport, renderRunHtml, renderSoakJunit, writeFileAtomically } = await import('../../report/index.js');
  const report = await readSoakReport(dir);
  for (const warning of report.warnings) process.stderr.write(`gauntlet: warning: ${warning}\n`);
  const junitPath = join(dir, 'junit.xml');
  await writeFileAtomically(junitPath, renderSoakJunit(report.state, report.records));
  const lines = [...formatSoakSummary(report.state, report.totals), `junit: ${junitPath}`];
  if (html) {
    for (const [runId, events] of report.journals) {
      await writeFileAtomically(join(dir, ITERATIONS_DIR, runId, 'report.html'), renderRunHtml(events, { junitHref: 'junit.xml' }));
    }
    lines.push(`html: ${join(dir, ITERATIONS_DIR, '<run-id>', 'report.html')} (${report.records.size} iterations)`);
  }
  const { state } = report;
  if (!state.end) lines.unshift(`soak ${state.start.soakId} did not finish: its journal has no soak-end (resume it with gauntlet soak --resume ${dir})`);
  else if (state.end.interrupted) lines.unshift(`soak ${state.start.soakId} was interrupted by ${state.end.interrupted} (resume it with gauntlet soak --resume ${dir})`);
  process.stdout.write(`${lines.join('\n')}\n`);
  const signal = state.end?.interrupted === 'SIGINT' || state.end?.interrupted === 'SIGTERM' ? state.end.interrupted : null;
  process.exitCode = exitCodeOfSoak(state, report.totals, signal);
}
