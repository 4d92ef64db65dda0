// The host side of a reproduction: finding a host with the recorded stack, reading its kernel config and engine, its console around an occurrence, and the inventory's secrets.

import { open, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import pLimit from 'p-limit';
import { gatherFacts, stackKeyOf } from '../facts/index.js';
import { GauntletError, type Facts, type HostSpec, type Inventory, type KernelEventRecord } from '../model/index.js';
import { cutConsoleWindow, type BundleSecret, type ReproHostInfo } from '../report/index.js';
import { createTransport, type Transport } from '../transport/index.js';

/** Hosts whose facts are gathered at once while looking for the stack. */
const FACTS_CONCURRENCY = 8;
/** How long reading the kernel config or the engine may take. */
const HOST_INFO_TIMEOUT_MS = 60_000;
/** Console lines kept before and after an occurrence's first line, and the most of the console file read. */
const CONSOLE_LINES_BEFORE = 150;
const CONSOLE_LINES_AFTER = 80;
const CONSOLE_READ_BYTES = 16 * 2 ** 20;
/** Variables whose values are secrets whatever the inventory says (the inventory refuses passwords already). */
const SECRET_NAME = /pass|secret|token|credential|api_?key|private/i;

export interface ChosenHost {
  host: HostSpec;
  facts: Facts;
  stackKey: string;
  /** Open, for reading the host's kernel config and engine; the caller closes it. */
  transport: Transport;
}

/**
 * The host the attempts run on: `wanted` when given, else the original host when the inventory still has it, else
 * the first inventory host (in file order) whose live stack key is the recorded one. Facts are gathered live; a host
 * with another stack, or none that answers, is bad input naming what each candidate has.
 */
export async function chooseReproHost(inventory: Inventory, recordedStack: string, original: string, wanted: string | undefined, options: { acceptNewHostKeys: boolean }): Promise<ChosenHost> {
  const byName = (name: string) => inventory.hosts.find((host) => host.name === name);
  if (wanted !== undefined && !byName(wanted)) {
    throw new GauntletError('USAGE', `--host ${wanted}: expected a host of ${inventory.file} (${inventory.hosts.map((host) => host.name).join(', ') || 'it has none'}), got none of that name`);
  }
  const named = wanted ?? (byName(original) ? original : undefined);
  const candidates = named !== undefined ? [byName(named)!] : inventory.hosts;
  const limit = pLimit(FACTS_CONCURRENCY);
  const answers = await Promise.all(
    candidates.map((host) =>
      limit(async (): Promise<ChosenHost | string> => {
        const transport = createTransport(host, { acceptNewHostKeys: options.acceptNewHostKeys });
        try {
          await transport.connect();
          const facts = await gatherFacts(transport);
          const stackKey = stackKeyOf(facts);
          if (stackKey === recordedStack) return { host, facts, stackKey, transport };
          await transport.close().catch(() => undefined);
          return `${host.name}: ${stackKey}`;
        } catch (err) {
          await transport.close().catch(() => undefined);
          return `${host.name}: unreachable: ${(err as Error).message}`;
        }
      }),
    ),
  );
  // The first match in inventory order; the other matches' connections are not needed.
  const matches = answers.filter((answer): answer is ChosenHost => typeof answer !== 'string');
  await Promise.all(matches.slice(1).map((match) => match.transport.close().catch(() => undefined)));
  if (matches[0]) return matches[0];
  const seen = answers.filter((answer): answer is string => typeof answer === 'string');
  const which = named !== undefined ? `host ${named}` : `no host of ${inventory.file}`;
  throw new GauntletError('USAGE', `${which} ${named !== undefined ? 'does not have' : 'has'} the recorded stack ${recordedStack}`, { details: seen });
}

/**
 * What the bundle needs from the host itself: its kernel config (`/boot/config-$(uname -r)`, `/proc/config.gz`, or
 * `/lib/modules/$(uname -r)/config`; else the runner-side file `gauntlet_kernel_config` names, for hosts whose kernel
 * was booted from elsewhere), its kernel command line, and the engine's own description (version and info).
 */
export async function readHostInfo(transport: Transport, facts: Facts, inventoryFile: string): Promise<ReproHostInfo> {
  const config = await transport
    .run(
      [
        'r=$(uname -r)',
        'for f in "/boot/config-$r" "/lib/modules/$r/config" "/usr/lib/modules/$r/config"; do',
        '  if [ -r "$f" ]; then echo "# $f"; cat "$f"; exit 0; fi',
        'done',
        'if [ -r /proc/config.gz ]; then echo "# /proc/config.gz"; gzip -dc /proc/config.gz; exit $?; fi',
        'exit 3',
      ].join('\n'),
      { timeoutMs: HOST_INFO_TIMEOUT_MS },
    )
    .catch((err: Error) => ({ exitCode: null, stdout: '', stderr: err.message }));
  let kernelConfig: ReproHostInfo['kernelConfig'];
  if (config.exitCode === 0) {
    const [first = '', ...rest] = config.stdout.split('\n');
    kernelConfig = { source: first.replace(/^# /, ''), text: `${rest.join('\n')}` };
  } else {
    kernelConfig = await readRunnerKernelConfig(transport.host, facts, dirname(resolve(inventoryFile)), config.exitCode === 3 ? 'the host has no /boot/config-*, /proc/config.gz or /lib/modules/*/config' : `reading it failed: ${config.stderr.trim() || `exit ${config.exitCode}`}`);
  }
  const cmdline = await transport.run('cat /proc/cmdline', { timeoutMs: HOST_INFO_TIMEOUT_MS }).then(
    (result) => (result.exitCode === 0 ? result.stdout.trim() : null),
    () => null,
  );
  let engine: ReproHostInfo['engine'] = null;
  if (facts.engine) {
    try {
      const docker = transport.docker();
      const [version, info] = await Promise.all([docker.version(), docker.info()]);
      engine = { command: `${facts.engine.name} engine API: GET /version and GET /info on ${transport.dockerEndpoint()}`, text: JSON.stringify({ version, info }, null, 2) };
    } catch (err) {
      engine = { command: `${facts.engine.name} engine API`, text: `could not be asked: ${(err as Error).message}` };
    }
  }
  return { kernelConfig, cmdline, engine };
}

/** `gauntlet_kernel_config`: a file on the runner with the host kernel's config (the lab's VMs boot a kernel they do not hold). */
async function readRunnerKernelConfig(host: HostSpec, facts: Facts, baseDir: string, why: string): Promise<ReproHostInfo['kernelConfig']> {
  const named = host.vars.gauntlet_kernel_config;
  if (typeof named !== 'string' || named === '') return { error: `${why}, and the inventory names no gauntlet_kernel_config for ${host.name}` };
  const path = named.startsWith('~/') ? resolve(homedir(), named.slice(2)) : isAbsolute(named) ? named : resolve(baseDir, named);
  try {
    const text = await readFile(path, 'utf8');
    return { source: `${path} on the runner (gauntlet_kernel_config; the host runs ${facts.kernel.release})`, text };
  } catch (err) {
    return { error: `${why}, and gauntlet_kernel_config ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}

/**
 * The host's console lines around an occurrence, when its console is a file on the runner: the last place the
 * event's first line appears (the occurrence just seen), with lines before and after it. Null when the console is
 * not a file or the line is not in it.
 */
export async function readConsoleWindow(host: HostSpec, event: KernelEventRecord): Promise<{ via: string; text: string } | null> {
  if (host.console?.kind !== 'file') return null;
  const path = host.console.path;
  const text = await readTail(path, CONSOLE_READ_BYTES).catch(() => null);
  if (text === null) return null;
  const window = cutConsoleWindow(text, event.excerpt, CONSOLE_LINES_BEFORE, CONSOLE_LINES_AFTER);
  return window === null ? null : { via: `file:${path}, lines around the report`, text: window };
}

async function readTail(path: string, bytes: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Everything of the inventory that must not leave the runner: the values of variables named like secrets, and the
 * private key files the hosts (and their jump hosts) use, whole and line by line.
 */
export async function collectInventorySecrets(inventory: Inventory): Promise<BundleSecret[]> {
  const secrets: BundleSecret[] = [];
  const keyFiles = new Set<string>();
  for (const host of inventory.hosts) {
    for (const [name, value] of Object.entries(host.vars)) {
      if (SECRET_NAME.test(name) && (typeof value === 'string' || typeof value === 'number') && !name.endsWith('_file')) secrets.push({ value: String(value), what: `inventory variable ${name}` });
    }
    if (host.keyFile) keyFiles.add(host.keyFile);
    if (host.jump?.keyFile) keyFiles.add(host.jump.keyFile);
  }
  for (const file of keyFiles) {
    const text = await readFile(file, 'utf8').catch(() => null);
    if (text === null) continue;
    secrets.push({ value: text.trim(), what: 'private key' });
    for (const line of text.split('\n')) if (line.trim().length >= 16 && !line.includes('-----')) secrets.push({ value: line.trim(), what: 'private key' });
  }
  return secrets;
}
