// Describes the runner's own machine (systeminformation) and the tool versions a run depends on.

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunnerFacts } from '../model/index.js';

/**
 * Describes the machine gauntlet runs on. systeminformation reads only the local machine, so this is
 * never a description of a remote host: remote facts come from probes over the transport.
 */
export async function describeRunner(): Promise<RunnerFacts> {
  // systeminformation is loaded only here: it describes the runner, which only a run or the local host needs.
  const { default: si } = await import('systeminformation');
  const [os, cpu, mem, gauntlet] = await Promise.all([si.osInfo(), si.cpu(), si.mem(), readGauntletVersion()]);
  return {
    hostname: os.hostname,
    platform: os.platform,
    distro: os.distro,
    release: os.release,
    kernel: os.kernel,
    arch: os.arch,
    cpuModel: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' '),
    cpus: cpu.cores,
    memTotalBytes: mem.total,
    node: process.version,
    gauntlet,
  };
}

/**
 * Reads gauntlet's version from its package.json, found by walking up from this file: that is
 * `../../package.json` from `src/facts/` (run through tsx) and `../../../package.json` from the
 * compiled `dist/src/facts/`.
 */
export async function readGauntletVersion(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = await readManifest(join(dir, 'package.json'));
    if (manifest?.name === 'gauntlet' && typeof manifest.version === 'string') return manifest.version;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json of gauntlet above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** The parsed manifest, or undefined when there is none at `path`; a broken one is an error worth seeing. */
async function readManifest(path: string): Promise<{ name?: unknown; version?: unknown } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as { name?: unknown; version?: unknown };
}
