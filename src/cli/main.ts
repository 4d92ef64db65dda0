#!/usr/bin/env node
// The `gauntlet` command: parses arguments, dispatches to a command, and sets the exit code.

import { Command, CommanderError } from 'commander';
import { registerClassifyCommand } from './commands/classify.js';
import { registerCleanCommand } from './commands/clean.js';
import { registerFactsCommand } from './commands/facts.js';
import { registerLabCommand } from './commands/lab.js';
import { registerMergeCommand } from './commands/merge.js';
import { registerQualifyCommand } from './commands/qualify.js';
import { registerRankCommand } from './commands/rank.js';
import { registerReportCommand } from './commands/report.js';
import { registerReproCommand } from './commands/repro.js';
import { registerRunCommand } from './commands/run.js';
import { registerSoakCommand } from './commands/soak.js';
import { registerSuitesCommand } from './commands/suites.js';
import { EXIT, reportError } from './errors.js';
import { readGauntletVersion } from '../facts/index.js';

export function buildProgram(version: string): Command {
  const program = new Command('gauntlet')
    .description('Host conformance and chaos tests for container hosts: stack facts, stress suites, kernel fault detection, JUnit reports.')
    .version(version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeErr: (text) => process.stderr.write(text),
      outputError: (text, write) => write(text.replace(/^error: /, 'gauntlet: ')),
    });
  program.enablePositionalOptions();
  registerRunCommand(program);
  registerSoakCommand(program);
  registerFactsCommand(program);
  registerReportCommand(program);
  registerReproCommand(program);
  registerMergeCommand(program);
  registerClassifyCommand(program);
  registerSuitesCommand(program);
  registerCleanCommand(program);
  registerLabCommand(program);
  registerRankCommand(program);
  registerQualifyCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const program = buildProgram(await readGauntletVersion());
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; every parse error is bad input.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    return reportError(err);
  }
}

/**
 * A reader that goes away (`gauntlet classify --json … | head`) is no failure of the command: what it would still
 * have read is dropped, and the command finishes its work (a run still cleans its hosts up) and exits as it would.
 */
function dropOutputOnceClosed(stream: NodeJS.WriteStream): void {
  stream.on('error', () => undefined);
}

dropOutputOnceClosed(process.stdout);
dropOutputOnceClosed(process.stderr);
const exitCode = await main(process.argv.slice(2));
process.exitCode = exitCode;
