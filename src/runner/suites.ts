// Finds the suite files a run names (`--suite NAME|PATH`, `--suites-dir DIR`) and fingerprints their content.

import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GauntletError, type SuiteRef } from '../model/index.js';

/** Suite files are mocha specs in TypeScript or JavaScript (`name.spec.ts`, `name.js`, …). */
const SUITE_FILE = /\.(ts|mts|js|mjs)$/;
const EXTENSIONS = ['.spec', '.test', ''].flatMap((kind) => ['.ts', '.mts', '.js', '.mjs'].map((language) => `${kind}${language}`));

/** The `suites/` folder shipped with gauntlet, next to package.json (whether running from src/ or dist/src/). */
export function findShippedSuitesDir(): string {
  const here = fileURLToPath(import.meta.url);
  const hops = here.includes('/dist/src/') ? '../../..' : '../..';
  return resolve(dirname(here), hops, 'suites');
}

/** `storage-churn.spec.ts` → `storage-churn`. */
export function suiteNameOf(path: string): string {
  const file = basename(path);
  const ext = EXTENSIONS.find((candidate) => file.endsWith(candidate));
  return ext ? file.slice(0, -ext.length) : file;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

/** Every suite file directly in a folder, sorted by name. */
export async function listSuiteFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile() && SUITE_FILE.test(entry.name) && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(dir, entry.name))
    .sort();
}

/** A suite file as a run records it: its name, path and the sha256 of its content. */
export async function fingerprint(path: string): Promise<SuiteRef> {
  const bytes = await readFile(path);
  return { name: suiteNameOf(path), path, digest: createHash('sha256').update(bytes).digest('hex') };
}

/**
 * Resolves `--suite` values (names in the suites folder, files, or folders; comma-separated and repeatable).
 * With none, every suite in the suites folder. Throws USAGE naming what was not found and what exists.
 */
export async function resolveSuites(requested: string[], suitesDir: string): Promise<SuiteRef[]> {
  const available = await listSuiteFiles(suitesDir);
  const terms = requested.flatMap((value) => value.split(',')).map((term) => term.trim()).filter(Boolean);
  const paths: string[] = [];
  const problems: string[] = [];
  if (terms.length === 0) paths.push(...available);
  for (const term of terms) {
    const asPath = resolve(term);
    if (await isFile(asPath)) {
      paths.push(asPath);
    } else if (await isDirectory(asPath)) {
      const inside = await listSuiteFiles(asPath);
      if (inside.length === 0) problems.push(`--suite ${term}: expected a folder with suite files, got a folder with none`);
      paths.push(...inside);
    } else {
      const named = available.find((path) => suiteNameOf(path) === term);
      if (named) paths.push(named);
      else {
        const names = available.map(suiteNameOf);
        problems.push(`--suite ${term}: expected a suite name in ${suitesDir} (${names.join(', ') || 'none there'}) or a file or folder, got neither`);
      }
    }
  }
  if (problems.length > 0) throw new GauntletError('USAGE', `${problems.length === 1 ? problems[0] : 'suites not found'}`, { details: problems.length === 1 ? [] : problems });
  if (paths.length === 0) throw new GauntletError('USAGE', `no suites to run: ${suitesDir} has no suite files`);

  const unique = [...new Set(paths)];
  const refs = await Promise.all(unique.map(fingerprint));
  const byName = new Map<string, string>();
  for (const ref of refs) {
    const other = byName.get(ref.name);
    if (other) throw new GauntletError('USAGE', `two suites are both named ${ref.name}: ${other} and ${ref.path}; rename one`);
    byName.set(ref.name, ref.path);
  }
  return refs;
}

/**
 * Why a suite file failed to load, as its author would want to read it. Mocha tries `require()` first and, for a
 * TypeScript file, reports that attempt's error when `import()` fails too; but a suite in an ES module package
 * only loads through `import()`, so the require error is noise (`(0, import_suite.meta) is not a function`). An
 * ES module that failed keeps its error: importing it again gives the real one.
 */
export async function explainLoadError(path: string, mochaError: unknown): Promise<string> {
  const real = await import(pathToFileURL(path).href).then(
    () => null,
    (err: unknown) => err,
  );
  const chosen = real ?? mochaError;
  const message = chosen instanceof Error ? chosen.message : String(chosen);
  return message.split('\n').find((line) => line.trim() !== '')?.trim() ?? message.trim();
}
