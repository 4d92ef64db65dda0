// `gauntlet soak`: the suites again and again with fresh seeds until a deadline, resumable after the runner was killed.

import type { Command } from 'commander';
import { GauntletError } from '../../model/index.js';
import { EXIT } from '../errors.js';
import { addSuiteRunOptions, resolveSuiteRun, type SuiteRunOptions } from './run.js';

interface SoakOptions extends SuiteRunOptions {
  duration?: string;
  resume?: string;
  progress: string;
  continueAfterCrash: boolean;
}

/** A duration needs a unit: `8h`, `90m`, `1h30m`, `45s`. */
const DURATION = /^\s*(\d+(\.\d+)?\s*(ms|s|sec|m|min|h|hr|d)\s*)+$/i;

/** Milliseconds of a duration flag; bad input names the flag, what is expected and what was given. */
async function parseDurationFlag(flag: string, text: string): Promise<number> {
  const { default: parseDuration } = await import('parse-duration');
  const ms = DURATION.test(text) ? parseDuration(text) : null;
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms <= 0) {
    throw new GauntletError('USAGE', `${flag}: expected a duration with a unit, like 8h, 90m, 1h30m or 45s, got ${JSON.stringify(text)}`);
  }
  return Math.round(ms);
}

export function registerSoakCommand(program: Command): void {
  const command = addSuiteRunOptions(
    program
      .command('soak')
      .description('Run the suites again and again with fresh seeds until the duration ends; every iteration is a run of its own, and the soak is resumable.')
      .option('-d, --duration <time>', 'how long the soak runs: 8h, 90m, 1h30m (no new iteration starts after it; the running test finishes)')
      .option('--resume <dir>', "continue the soak in reports/<soak-id> whose runner was killed, to its original deadline (takes no other option)")
      .option('--progress <time>', 'how often a progress line is printed', '5m')
      .option('--no-continue-after-crash', "after a host crashed and came back, end the iteration's remaining tests on it as errors instead of running them"),
  );
  command.addHelpText(
    'after',
    [
      '',
      'Writes reports/<soak-id>/: soak.jsonl (the soak journal), iterations/<run-id>/ (each iteration a run folder with',
      'journal.jsonl and junit.xml, its seed recorded) and junit.xml (every iteration once: testsuites `SUITE @ HOST #N`',
      'with the properties gauntlet.soak and gauntlet.iteration), rewritten after every iteration.',
      'With no --suite, every shipped suite runs at --param scale=full (--param scale=soak makes each iteration itself long).',
      'Hosts that go down are left out until they answer. A signal stops the running tests and removes what they left.',
      '',
      'Exit codes: 0 every test passed, 1 a test failed or errored or a host was down at the end, 2 bad input,',
      '130/143 interrupted (resume with --resume).',
    ].join('\n'),
  );
  command.action(async (options: SoakOptions, cmd: Command) => {
    const [{ loadInventory, selectHosts }, { Soak }] = await Promise.all([import('../../inventory/index.js'), import('../../runner/soak.js')]);
    const log = (line: string): void => {
      process.stdout.write(`${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')} ${line}\n`);
    };
    const argv = process.argv.slice(2);
    let soak;
    if (options.resume !== undefined) {
      const given = Object.entries(cmd.opts()).filter(([name]) => name !== 'resume' && cmd.getOptionValueSource(name) === 'cli');
      if (given.length > 0) {
        throw new GauntletError('USAGE', `--resume: the soak goes on with the options it started with; got also --${given.map(([name]) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).join(', --')}`);
      }
      soak = await Soak.resume(options.resume, { argv, log }, { loadInventory, selectHosts });
    } else {
      if (options.duration === undefined) throw new GauntletError('USAGE', '--duration: expected how long the soak runs (8h, 90m, 1h30m), got nothing (or --resume reports/<soak-id>)');
      const durationMs = await parseDurationFlag('--duration', options.duration);
      const progressMs = await parseDurationFlag('--progress', options.progress);
      // Each iteration at qualification size: the soak's length comes from repeating it with fresh seeds.
      const resolved = await resolveSuiteRun(options, 'full');
      soak = await Soak.start({
        inventory: resolved.inventory,
        hosts: resolved.hosts,
        settings: {
          inventoryFile: resolved.inventory.file,
          limit: resolved.limit,
          suites: resolved.suites,
          params: resolved.params,
          retries: resolved.retries,
          bail: resolved.bail,
          timeoutMs: resolved.timeoutMs,
          suiteTimeoutMs: resolved.suiteTimeoutMs,
          workers: resolved.workers,
          watch: resolved.watch,
          continueAfterCrash: options.continueAfterCrash,
          recoverTimeoutMs: resolved.recoverTimeoutMs,
          acceptNewHostKeys: resolved.acceptNewHostKeys,
          progressMs,
        },
        durationMs,
        outDir: options.out,
        argv,
        log,
      });
      log(`soak ${soak.soakId}: ${resolved.suites.map((suite) => suite.name).join(', ')} on ${resolved.hosts.length} ${resolved.hosts.length === 1 ? 'host' : 'hosts'} for ${options.duration}; reports in ${soak.dir}`);
    }
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) process.exit(signal === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM);
      stopping = true;
      process.stderr.write(`gauntlet: ${signal}: stopping the soak; unfinished tests are reported as INTERRUPTED (again to quit at once; resume with --resume)\n`);
      soak.interrupt(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const result = await soak.execute();
    process.stdout.write(`${[...result.summary, `junit: ${result.junitPath}`].join('\n')}\n`);
    process.exitCode = result.exitCode;
  });
}
