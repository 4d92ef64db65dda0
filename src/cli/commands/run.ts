// `gauntlet run`: suites on every selected host at once, with a journal, JUnit and a summary.

import { randomInt } from 'node:crypto';
import type { Command } from 'commander';
import { GauntletError, type SuiteRef } from '../../model/index.js';
import { EXIT } from '../errors.js';
import { addInventoryOptions, type InventoryOptions } from '../options.js';

/** The options `gauntlet run` and `gauntlet soak` share: which suites, how, on which hosts, and where the reports go. */
export interface SuiteRunOptions extends InventoryOptions {
  suite: string[];
  suitesDir?: string;
  param: string[];
  workers?: string;
  retries: string;
  bail?: boolean;
  timeout?: string;
  suiteTimeout?: string;
  out: string;
  watch: boolean;
  recoverTimeout: string;
}

interface RunOptions extends SuiteRunOptions {
  seed?: string;
  shard?: string;
  verbose?: boolean;
  continueAfterCrash?: boolean;
}

/** The most hosts worked on at once unless --workers says otherwise. */
const DEFAULT_MAX_WORKERS = 64;

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Adds the options `gauntlet run` and `gauntlet soak` share (see SuiteRunOptions). */
export function addSuiteRunOptions(command: Command): Command {
  command
    .option('-s, --suite <name|path>', 'suite name from the suites folder, a file or a folder (repeatable, comma-separated); default: every suite', collect, [])
    .option('--suites-dir <dir>', 'folder that suite names are looked up in (default: the shipped suites/)')
    .option('-p, --param <key=value>', 'parameter for the suites (repeatable); values are JSON when they parse as JSON', collect, [])
    .option('-w, --workers <n>', `hosts worked on at once (default: all selected, up to ${DEFAULT_MAX_WORKERS})`)
    .option('--retries <n>', 'retry a failing test up to n times; one that then passes is reported flaky', '0')
    .option('--bail', 'stop a host\'s remaining tests after its first failure')
    .option('--timeout <seconds>', 'per-test timeout, overriding the suites\' own')
    .option('--suite-timeout <seconds>', 'stop a suite still running after this long; its unfinished tests are errors')
    .option('-o, --out <dir>', 'parent folder of the report folder', 'reports')
    .option('--no-watch', "do not watch the hosts' kernel logs, consoles and heartbeats (kernel faults then go unseen)")
    .option('--recover-timeout <seconds>', 'how long to wait for a lost host to come back before its remaining tests are errors', '300');
  addInventoryOptions(command);
  return command;
}

/** What the shared options resolve to, checked before any host is reached (bad input is a USAGE error). */
export async function resolveSuiteRun(options: SuiteRunOptions, defaultScale: string) {
  const [{ loadInventory, selectHosts }, { findShippedSuitesDir, resolveSuites }] = await Promise.all([import('../../inventory/index.js'), import('../../runner/index.js')]);
  const inventory = await loadInventory(options.inventory);
  const hosts = selectHosts(inventory, options.limit);
  const suites = await resolveSuites(options.suite, options.suitesDir ?? findShippedSuitesDir());
  const params = parseParams(options.param);
  if (options.suite.length === 0 && params.scale === undefined) params.scale = defaultScale;
  const workers = options.workers === undefined ? Math.min(hosts.length, DEFAULT_MAX_WORKERS) : parseCount('--workers', options.workers, 1);
  await checkSuiteParams(suites, params);
  return {
    inventory,
    hosts,
    limit: options.limit ?? null,
    suites,
    params,
    workers,
    retries: parseCount('--retries', options.retries, 0),
    bail: Boolean(options.bail),
    timeoutMs: options.timeout === undefined ? null : parseSeconds('--timeout', options.timeout),
    suiteTimeoutMs: options.suiteTimeout === undefined ? null : parseSeconds('--suite-timeout', options.suiteTimeout),
    acceptNewHostKeys: Boolean(options.acceptNewHostKeys),
    watch: options.watch,
    recoverTimeoutMs: parseSeconds('--recover-timeout', options.recoverTimeout),
  };
}

export function registerRunCommand(program: Command): void {
  const command = addSuiteRunOptions(
    program
      .command('run')
      .description('Run suites on every selected host at once and write reports/<run-id>/ (journal.jsonl, junit.xml).')
      .option('--seed <n>', 'seed for the suites\' random choices (default: random; always recorded)')
      .option('--shard <i/n>', 'run only shard i of n of the host × suite pairs (for parallel CI jobs)')
      .option('-v, --verbose', 'print every test start, not just outcomes')
      .option('--continue-after-crash', "after a host crashed and came back (gauntlet_power_cycle, or by itself), run its remaining tests; without it they are errors with the crash as cause"),
  );
  command.addHelpText(
    'after',
    [
      '',
      'With no --suite, every shipped suite runs, and scale defaults to quick (pass --param scale=full for a qualification run).',
      'Suites marked destructive run only on hosts with gauntlet_disposable: true; elsewhere they are reported as skipped with the reason.',
      '',
      'Exit codes: 0 everything passed, 1 a test failed or errored or a host was unreachable, 2 bad input, 130/143 interrupted.',
    ].join('\n'),
  );
  command.action(async (options: RunOptions) => {
    // Loaded here, not at start-up: `gauntlet --help` and other commands need none of it.
    const [{ createTerminalReporter }, { parseShard, Run }] = await Promise.all([import('../../report/index.js'), import('../../runner/index.js')]);
    const resolved = await resolveSuiteRun(options, 'quick');
    const live = Boolean(process.stdout.isTTY) && !process.env.CI;
    const run = new Run({
      ...resolved,
      seed: options.seed === undefined ? randomInt(0, 2 ** 31) : parseCount('--seed', options.seed, 0),
      shard: options.shard ? parseShard(options.shard) : null,
      outDir: options.out,
      argv: process.argv.slice(2),
      reporters: [createTerminalReporter({ stream: process.stdout, live, verbose: Boolean(options.verbose) })],
      continueAfterCrash: Boolean(options.continueAfterCrash),
    });

    let interrupting = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (interrupting) process.exit(signal === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM);
      interrupting = true;
      // The live view reports the interruption itself; a line on stderr would tear its frame.
      if (!live) process.stderr.write(`gauntlet: ${signal}: stopping; unfinished tests are reported as INTERRUPTED (again to quit at once)\n`);
      void run.interrupt(signal).then(() => process.exit(signal === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const result = await run.execute();
    process.exitCode = result.exitCode;
  });
}

/** `key=value` pairs; values that parse as JSON are JSON (`3`, `true`, `[1,2]`), the rest strings. */
export function parseParams(pairs: string[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq) : '';
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) {
      throw new GauntletError('USAGE', `--param: expected key=value with a key of letters, digits, _ . -, got ${JSON.stringify(pair)}`);
    }
    const text = pair.slice(eq + 1);
    try {
      params[key] = JSON.parse(text);
    } catch {
      params[key] = text;
    }
  }
  return params;
}

export function parseCount(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new GauntletError('USAGE', `${flag}: expected a whole number ≥ ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}

export function parseSeconds(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new GauntletError('USAGE', `${flag}: expected a number of seconds > 0, got ${JSON.stringify(text)}`);
  return Math.round(value * 1000);
}

/**
 * Loads the suites with the run's parameters before any host is reached: a suite that refuses a value when it
 * loads (`--param scale=huge`) is bad input, exit 2, not a suite error on every host. A parameter that no suite
 * documents is only warned about: a suite may read parameters it does not list.
 */
async function checkSuiteParams(suites: SuiteRef[], params: Record<string, unknown>): Promise<void> {
  const { describeSuites } = await import('../../runner/suite-catalog.js');
  const described = await describeSuites(suites, params);
  const refused = described.filter((suite) => suite.loadError?.startsWith('--param ')).map((suite) => `${suite.name}: ${suite.loadError}`);
  if (refused.length > 0) throw new GauntletError('USAGE', refused.length === 1 ? refused[0]! : `${refused.length} suites refuse their parameters`, { details: refused.length === 1 ? [] : refused });
  const documented = new Set(described.flatMap((suite) => Object.keys(suite.meta.params ?? {})));
  const unknown = Object.keys(params).filter((name) => !documented.has(name) && described.every((suite) => !suite.loadError));
  for (const name of unknown) {
    process.stderr.write(`gauntlet: warning: --param ${name}: no selected suite documents it (gauntlet suites lists their parameters)\n`);
  }
}
