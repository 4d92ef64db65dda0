// `gauntlet suites`: every suite with what it proves, its parameters and defaults, requirements, and whether it
// is destructive.

import type { Command } from 'commander';
import type { SuiteDescription } from '../../runner/suite-catalog.js';
import { EXIT } from '../errors.js';

interface SuitesOptions {
  suite: string[];
  suitesDir?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerSuitesCommand(program: Command): void {
  program
    .command('suites')
    .description('List the suites: what each proves, its parameters with defaults, its requirements, and whether it is destructive.')
    .option('-s, --suite <name|path>', 'only these suites (names, files or folders; repeatable, comma-separated)', collect, [])
    .option('--suites-dir <dir>', 'folder that suite names are looked up in (default: the shipped suites/)')
    .option('--json', 'print a JSON array, one object per suite')
    .addHelpText('after', '\nExit codes: 0 every suite loaded, 1 a suite file could not be loaded, 2 bad input.')
    .action(async (options: SuitesOptions) => {
      const [{ findShippedSuitesDir, resolveSuites }, { describeSuites }] = await Promise.all([import('../../runner/index.js'), import('../../runner/suite-catalog.js')]);
      const refs = await resolveSuites(options.suite, options.suitesDir ?? findShippedSuitesDir());
      const described = await describeSuites(refs);
      process.stdout.write(options.json ? `${JSON.stringify(described.map(toJson), null, 2)}\n` : renderSuites(described));
      process.exitCode = described.some((suite) => suite.loadError) ? EXIT.FAILED : EXIT.OK;
    });
}

function toJson(suite: SuiteDescription): Record<string, unknown> {
  const { meta } = suite;
  return {
    name: suite.name,
    path: suite.path,
    digest: suite.digest,
    description: meta.description ?? null,
    destructive: meta.destructive === true,
    requires: meta.requires ?? {},
    timeoutMs: meta.timeoutMs ?? null,
    params: meta.params ?? {},
    tests: suite.tests,
    ...(suite.loadError ? { loadError: suite.loadError } : {}),
  };
}

function describeRequirements(suite: SuiteDescription): string {
  const requires = suite.meta.requires ?? {};
  const parts = [
    requires.engine && `engine ${requires.engine}`,
    requires.storageDriver && `storage driver ${requires.storageDriver.join('|')}`,
    requires.backingFs && `backing fs ${requires.backingFs.join('|')}`,
    requires.cgroup && `cgroup v${requires.cgroup}`,
    requires.connection && `${requires.connection} connection`,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

export function renderSuites(suites: readonly SuiteDescription[]): string {
  const out: string[] = [];
  for (const suite of suites) {
    const { meta } = suite;
    out.push(`${suite.name}${meta.destructive ? '  [destructive: only on hosts with gauntlet_disposable: true]' : ''}`);
    if (suite.loadError) {
      out.push(`  cannot be loaded: ${suite.loadError}`, `  file: ${suite.path}`, '');
      continue;
    }
    if (meta.description) out.push(`  ${meta.description}`);
    out.push(`  requires: ${describeRequirements(suite)}`);
    if (meta.timeoutMs !== undefined) out.push(`  test timeout: ${meta.timeoutMs / 1000} s`);
    out.push(`  tests: ${suite.tests.length}`);
    const params = Object.entries(meta.params ?? {});
    if (params.length > 0) {
      out.push('  parameters (--param NAME=VALUE):');
      const width = Math.max(...params.map(([name, p]) => `${name}=${JSON.stringify(p.default)}`.length));
      for (const [name, p] of params) out.push(`    ${`${name}=${JSON.stringify(p.default)}`.padEnd(width)}  ${p.description}`);
    } else {
      out.push('  parameters: none');
    }
    out.push(`  file: ${suite.path}`, '');
  }
  return `${out.join('\n')}`;
}
