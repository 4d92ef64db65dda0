// What each suite is, without running it: loads suite files with a host that cannot be used, and collects their
// metadata (description, parameters with defaults, requirements, destructive) and test titles, for `gauntlet suites`.

import Mocha from 'mocha';
import type { SuiteMeta, SuiteRef } from '../model/index.js';
import { installSuiteContext, type Host } from './suite-api.js';
import { explainLoadError } from './suites.js';

export interface SuiteDescription {
  name: string;
  path: string;
  digest: string;
  meta: SuiteMeta;
  tests: string[];
  /** The file could not be loaded: why. */
  loadError?: string;
}

/** Any use of the host while suites are only being listed is a mistake in the suite: say so. */
function listingHost(): Host {
  return new Proxy({} as Host, {
    get(_target, property) {
      if (property === 'name') return '(listing)';
      if (property === 'facts') return null;
      if (property === 'vars') return {};
      if (property === 'then') return undefined;
      throw new Error(`the suite uses host.${String(property)} while it is loaded; use it inside hooks and tests only`);
    },
  });
}

function collectTests(suite: Mocha.Suite, into: string[] = []): string[] {
  for (const test of suite.tests) into.push(test.titlePath().join(' > '));
  for (const child of suite.suites) collectTests(child, into);
  return into;
}

/**
 * Loads each suite (in this process) with `params` and describes it; a suite that does not load is described by
 * its error (a suite that checks its parameters when it loads says which `--param` is wrong).
 */
export async function describeSuites(refs: readonly SuiteRef[], params: Record<string, unknown> = {}): Promise<SuiteDescription[]> {
  if (refs.some((ref) => /\.m?ts$/.test(ref.path))) {
    const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
    esm.register();
    cjs.register();
  }
  let declared: SuiteMeta = {};
  installSuiteContext({
    host: listingHost(),
    params,
    seed: 0,
    runId: '00000000-000000-0000',
    meta: (meta) => {
      declared = { ...declared, ...meta };
    },
  });
  const described: SuiteDescription[] = [];
  for (const ref of refs) {
    declared = {};
    const mocha = new Mocha({ reporter: class Silent extends Mocha.reporters.Base {} });
    mocha.addFile(ref.path);
    try {
      await mocha.loadFilesAsync();
      described.push({ name: ref.name, path: ref.path, digest: ref.digest, meta: declared, tests: collectTests(mocha.suite) });
    } catch (err) {
      described.push({ name: ref.name, path: ref.path, digest: ref.digest, meta: {}, tests: [], loadError: await explainLoadError(ref.path, err) });
    }
  }
  return described;
}
