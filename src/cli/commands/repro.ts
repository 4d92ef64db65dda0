// `gauntlet repro RUN-DIR --test "<suite> > <test>"`: re-runs one failed test until its failure recurs and writes a bundle for the vendor.

import type { Command } from 'commander';
import { GauntletError } from '../../model/index.js';
import { EXIT } from '../errors.js';
import { parseCount, parseSeconds } from './run.js';

interface ReproCommandOptions {
  test?: string;
  host?: string;
  attempts: string;
  untilFirst?: boolean;
  inventory?: string;
  out?: string;
  acceptNewHostKeys?: boolean;
  recoverTimeout: string;
}

const DEFAULT_ATTEMPTS = 10;

export function registerReproCommand(program: Command): void {
  program
    .command('repro')
    .description('Re-run one failed test of a run (same suite content, parameters and seed) on a host of the same stack until its failure recurs; write a bundle for the vendor.')
    .argument('<run-dir>', 'the run\'s folder (reports/<run-id>/), or an unpacked repro bundle')
    .option('-t, --test <name>', 'the test, as reports name it: "<suite> > <test>" (required)')
    .option('--host <name>', 'run on this inventory host; it must have the recorded stack (default: the original host, else any host with its stack)')
    .option('--attempts <n>', 'how many times to run the test at most', String(DEFAULT_ATTEMPTS))
    .option('--until-first', 'stop at the first recurrence')
    .option('-i, --inventory <file>', 'inventory to find the host in (default: the one the run recorded)')
    .option('-o, --out <dir>', 'folder for the attempts\' run folders and the bundle (default: reports/repro-<run-id>)')
    .option('--accept-new-host-keys', 'record unknown host keys in known_hosts on first use (a changed key is still refused)')
    .option('--recover-timeout <seconds>', 'how long to wait for a crashed host to come back between attempts', '300')
    .addHelpText(
      'after',
      [
        '',
        'Each attempt is a normal run of just that test (the suite\'s hooks run with it) in its own folder under --out, so',
        '`gauntlet report` and `gauntlet rank` read it. A crashed host is brought back by its gauntlet_power_cycle.',
        'The failure recurs when the attempt shows the recorded signature again: the same kernel fault class and title',
        '(or one of its alternative titles), or for a failure without a kernel fault the same error type and message.',
        'The bundle repro-<signature>.tar.gz (in --out) holds the facts, kernel config and command line, engine info,',
        'the kernel reports and console lines of each occurrence, the suite file and parameters, every command with its',
        'timings, and a README for the vendor. Secrets, private keys and the inventory never enter it.',
        '',
        'Exit codes: 0 reproduced at least once, 1 not reproduced, 2 bad input (no such run or test, the suite file changed,',
        'no host with the stack), 130/143 interrupted (no bundle).',
      ].join('\n'),
    )
    .action(async (runDir: string, options: ReproCommandOptions) => {
      if (options.test === undefined || options.test.trim() === '') throw new GauntletError('USAGE', 'repro: --test "<suite> > <test>" is required (the test to reproduce, as the run\'s report names it)');
      const attempts = parseCount('--attempts', options.attempts, 1);
      const recoverTimeoutMs = parseSeconds('--recover-timeout', options.recoverTimeout);
      const { Reproduction } = await import('../../runner/repro.js');
      const repro = new Reproduction({
        runDir,
        test: options.test,
        ...(options.host !== undefined ? { host: options.host } : {}),
        attempts,
        untilFirst: Boolean(options.untilFirst),
        ...(options.inventory !== undefined ? { inventory: options.inventory } : {}),
        ...(options.out !== undefined ? { outDir: options.out } : {}),
        acceptNewHostKeys: Boolean(options.acceptNewHostKeys),
        recoverTimeoutMs,
        argv: process.argv.slice(2),
        progress: (line) => process.stdout.write(`${line}\n`),
        warn: (line) => process.stderr.write(`gauntlet: warning: ${line}\n`),
      });
      let interrupting = false;
      const onSignal = (signal: NodeJS.Signals): void => {
        const code = signal === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM;
        if (interrupting) process.exit(code);
        interrupting = true;
        process.stderr.write(`gauntlet: ${signal}: stopping the attempt; no bundle is written (again to quit at once)\n`);
        void repro.interrupt(signal).then(() => process.exit(code));
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      // Once interrupted, the signal handler ends the process (130/143) when the attempt has stopped; nothing else is said.
      const result = await repro.execute().catch((err: unknown) => (interrupting ? new Promise<never>(() => undefined) : Promise.reject(err)));
      process.stdout.write(
        [
          `reproduced ${result.reproduced}/${result.attempts}: ${result.signature.class}: ${result.signature.title}`,
          `bundle: ${result.bundlePath}`,
          `attempts' runs: ${result.outDir}`,
          '',
        ].join('\n'),
      );
      process.exitCode = result.reproduced > 0 ? EXIT.OK : EXIT.FAILED;
    });
}
