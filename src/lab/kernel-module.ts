// Builds gauntlet's soft-lockup fault module (src/lab/modules/softlockup) for one Debian kernel release on the
// runner, against that kernel's header packages from the apt archive, and caches the .ko per release.
//
// Cache layout under `cacheDir` (the lab's cache, `~/.cache/gauntlet/lab` by default):
//   debs/                          the downloaded .deb files (linux-headers-*, linux-headers-*-common, linux-kbuild-*)
//   headers/<release>/             those packages unpacked with `dpkg-deb -x` (usr/src/…, usr/lib/linux-kbuild-…)
//   modules/<release>/gauntlet_softlockup.ko    the module, with gauntlet_softlockup.json saying what it was built from
//
// Nothing is installed on the runner and nothing is written under its /usr/src: the flavour Makefile's absolute
// `include /usr/src/linux-headers-<base>-common/Makefile` is re-pointed at the unpacked tree in our own copy.

import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GauntletError } from '../model/index.js';

/** The module's name: its .ko file is `<name>.ko`, and `rmmod <name>` unloads it. */
export const SOFTLOCKUP_MODULE = 'gauntlet_softlockup';

/** Bumped when the way the module is built changes, so cached builds from the old recipe are rebuilt. */
const BUILD_RECIPE = 1;
const STEP_TIMEOUT_MS = 10 * 60_000;

/** A Debian package pinned to one version. */
export interface DebianPackage {
  name: string;
  version: string;
}

/** One entry of a Depends field: its first alternative, with the version relation when there is one. */
export interface Dependency {
  name: string;
  relation?: string;
  version?: string;
}

/** What `modules/<release>/gauntlet_softlockup.json` records next to a built module. */
interface BuildStamp {
  release: string;
  sourceDigest: string;
  vermagic: string;
  compiler: string;
  packages: DebianPackage[];
  builtAt: string;
  buildMs: number;
}

const inFlight = new Map<string, Promise<string>>();

/**
 * Returns the path of `gauntlet_softlockup.ko` built for `kernelRelease` (`uname -r` of the guest, e.g.
 * `6.1.0-56-amd64` or `6.12.117+deb12-amd64`), building it first unless the cache holds one built from the same
 * source for the same release. Throws a GauntletError naming the package or step that failed.
 */
export function buildSoftLockupModule(kernelRelease: string, cacheDir: string, options: { sourceDir?: string } = {}): Promise<string> {
  const key = `${resolve(cacheDir)}\0${kernelRelease}`;
  let build = inFlight.get(key);
  if (!build) {
    // Two VMs with the same kernel share one build instead of racing on the same files.
    build = buildOrReuse(kernelRelease, resolve(cacheDir), options.sourceDir ?? findModuleSource()).finally(() => inFlight.delete(key));
    inFlight.set(key, build);
  }
  return build;
}

/** Where the module for a release lives in the cache (whether or not it has been built). */
export function softLockupModulePath(kernelRelease: string, cacheDir: string): string {
  return join(resolve(cacheDir), 'modules', kernelRelease, `${SOFTLOCKUP_MODULE}.ko`);
}

/** The module's C source and Kbuild file, next to this file in src/ (also when running from dist/src/). */
export function findModuleSource(): string {
  const here = fileURLToPath(import.meta.url);
  const packageRoot = resolve(dirname(here), here.includes('/dist/src/') ? '../../..' : '../..');
  return join(packageRoot, 'src', 'lab', 'modules', 'softlockup');
}

async function buildOrReuse(release: string, cacheDir: string, sourceDir: string): Promise<string> {
  checkRelease(release);
  if (/\s/.test(cacheDir)) {
    throw new GauntletError('USAGE', `kernel module cache ${cacheDir}: expected a path without white space (kbuild cannot build in one)`);
  }
  const sourceDigest = await digestModuleSource(sourceDir);
  const koPath = softLockupModulePath(release, cacheDir);
  const stampPath = join(dirname(koPath), `${SOFTLOCKUP_MODULE}.json`);
  const stamp = await readJson<BuildStamp>(stampPath);
  if (stamp?.release === release && stamp.sourceDigest === sourceDigest && (await isFile(koPath))) return koPath;

  const started = performance.now();
  const headersRoot = await ensureHeaders(release, cacheDir);
  const flavourDir = join(headersRoot, 'usr', 'src', `linux-headers-${release}`);
  await repointFlavourMakefileIn(flavourDir, headersRoot);
  const compiler = await checkToolchain(release, flavourDir);

  await mkdir(dirname(koPath), { recursive: true });
  const buildDir = await mkdtemp(join(dirname(koPath), 'build-'));
  try {
    for (const file of await readdir(sourceDir)) await copyFile(join(sourceDir, file), join(buildDir, file));
    await runStep(`building ${SOFTLOCKUP_MODULE} for ${release} (make -C ${flavourDir} M=${buildDir} modules)`, 'make', ['-C', flavourDir, `M=${buildDir}`, 'modules'], {
      env: { LC_ALL: 'C', MAKEFLAGS: '' },
    });
    const builtKo = join(buildDir, `${SOFTLOCKUP_MODULE}.ko`);
    const vermagic = readVermagic(await readFile(builtKo));
    if (vermagic === null || !vermagic.startsWith(`${release} `)) {
      throw new GauntletError('LAB_FAILED', `building ${SOFTLOCKUP_MODULE} for ${release}: the module's vermagic is ${JSON.stringify(vermagic)}, expected it to start with "${release} "`);
    }
    // Copy then rename, so a reader never sees half a module.
    await copyFile(builtKo, `${koPath}.tmp`);
    await rename(`${koPath}.tmp`, koPath);
    const headersStamp = await readJson<{ packages: DebianPackage[] }>(join(headersRoot, HEADERS_STAMP));
    const record: BuildStamp = {
      release,
      sourceDigest,
      vermagic,
      compiler,
      packages: headersStamp?.packages ?? [],
      builtAt: new Date().toISOString(),
      buildMs: Math.round(performance.now() - started),
    };
    await writeFile(stampPath, `${JSON.stringify(record, null, 2)}\n`);
  } finally {
    await rm(buildDir, { recursive: true, force: true });
  }
  return koPath;
}

/** A release is used as a package name and a path segment, so only Debian's characters are allowed. */
function checkRelease(release: string): void {
  if (!/^\d+\.\d+[a-z0-9.+-]*$/.test(release) || release.includes('..')) {
    throw new GauntletError('USAGE', `kernel release ${JSON.stringify(release)}: expected a Debian kernel release such as 6.1.0-56-amd64 or 6.12.117+deb12-amd64`);
  }
}

/** sha256 over the source folder's file names and contents, plus the build recipe's version. */
export async function digestModuleSource(sourceDir: string): Promise<string> {
  const files = (await readdir(sourceDir).catch((err: unknown) => {
    throw new GauntletError('LAB_FAILED', `soft-lockup module source ${sourceDir}: cannot read it`, { cause: err });
  })).sort();
  const hash = createHash('sha256').update(`recipe ${BUILD_RECIPE}\0`);
  for (const file of files) hash.update(`${file}\0`).update(await readFile(join(sourceDir, file))).update('\0');
  return hash.digest('hex');
}

// ---- headers: resolve, download, unpack ----

const HEADERS_STAMP = '.gauntlet-headers.json';

/** Unpacks the release's header packages under `headers/<release>/` (once) and returns that folder. */
async function ensureHeaders(release: string, cacheDir: string): Promise<string> {
  const headersRoot = join(cacheDir, 'headers', release);
  if (await readJson(join(headersRoot, HEADERS_STAMP))) return headersRoot;

  const packages = await resolveHeaderPackages(release);
  const debs = await downloadPackages(packages, join(cacheDir, 'debs'));
  await mkdir(dirname(headersRoot), { recursive: true });
  const unpacking = await mkdtemp(join(dirname(headersRoot), `.${release}.unpacking-`));
  try {
    for (const deb of debs) await runStep(`unpacking ${deb} (dpkg-deb -x)`, 'dpkg-deb', ['-x', deb, unpacking]);
    await writeFile(join(unpacking, HEADERS_STAMP), `${JSON.stringify({ release, packages }, null, 2)}\n`);
    await rm(headersRoot, { recursive: true, force: true }); // a partial tree left by a killed run has no stamp
    await rename(unpacking, headersRoot);
  } finally {
    await rm(unpacking, { recursive: true, force: true });
  }
  return headersRoot;
}

/** `linux-headers-<release>` and the two packages it needs to build modules, each at the version apt would install. */
async function resolveHeaderPackages(release: string): Promise<DebianPackage[]> {
  const headersName = `linux-headers-${release}`;
  const headers = await showPackage(headersName);
  const { common, kbuild } = selectHeaderDependencies(headersName, parseDepends(headers.Depends ?? ''));
  const commonVersion = common.relation === '=' && common.version ? common.version : (await showPackage(common.name)).Version;
  const kbuildVersion = (await showPackage(kbuild.name)).Version;
  return [
    { name: headersName, version: headers.Version! },
    { name: common.name, version: commonVersion! },
    { name: kbuild.name, version: kbuildVersion! },
  ];
}

/** The candidate version's fields from `apt-cache show`. */
async function showPackage(name: string): Promise<Record<string, string>> {
  const output = await runStep(`looking up Debian package ${name} (apt-cache show)`, 'apt-cache', ['show', '--no-all-versions', name], {
    hint: 'run apt-get update, and check that the kernel release exists in the runner\'s apt sources',
  });
  const fields = parseAptStanza(output);
  if (!fields.Version) throw new GauntletError('LAB_FAILED', `looking up Debian package ${name}: apt-cache show printed no Version field`);
  return fields;
}

/** Downloads each package into `debsDir` unless that exact version is already there; returns the .deb paths. */
async function downloadPackages(packages: DebianPackage[], debsDir: string): Promise<string[]> {
  await mkdir(debsDir, { recursive: true });
  const paths: string[] = [];
  for (const pkg of packages) {
    const cached = await findDeb(debsDir, pkg);
    if (cached) {
      paths.push(cached);
      continue;
    }
    // Into a folder of its own, then renamed: a concurrent or killed download never leaves half a .deb in debs/.
    const downloading = await mkdtemp(join(debsDir, '.download-'));
    try {
      await runStep(`downloading Debian package ${pkg.name}=${pkg.version} (apt-get download)`, 'apt-get', ['download', `${pkg.name}=${pkg.version}`], {
        cwd: downloading,
        hint: 'the runner needs its apt sources reachable (Debian\'s archive)',
      });
      const file = await findDeb(downloading, pkg);
      if (!file) throw new GauntletError('LAB_FAILED', `downloading Debian package ${pkg.name}=${pkg.version}: apt-get download wrote no ${pkg.name}_*.deb`);
      const target = join(debsDir, file.slice(downloading.length + 1));
      await rename(file, target);
      paths.push(target);
    } finally {
      await rm(downloading, { recursive: true, force: true });
    }
  }
  return paths;
}

async function findDeb(dir: string, pkg: DebianPackage): Promise<string | null> {
  // apt names files name_version_arch.deb, with an epoch's colon written as %3a.
  const prefix = `${pkg.name}_${pkg.version.replaceAll(':', '%3a')}_`;
  const match = (await readdir(dir)).find((file) => file.startsWith(prefix) && file.endsWith('.deb'));
  return match ? join(dir, match) : null;
}

// ---- toolchain ----

/**
 * Checks that the runner has what the headers need to build a module, and returns the compiler's version line:
 * the compiler the kernel was built with (CONFIG_CC_VERSION_TEXT names it, e.g. `gcc-12` or
 * `x86_64-linux-gnu-gcc-12`), make, and pahole when the kernel wants BTF for modules and ships its vmlinux.
 */
async function checkToolchain(release: string, flavourDir: string): Promise<string> {
  const config = await readFile(join(flavourDir, '.config'), 'utf8').catch((err: unknown) => {
    throw new GauntletError('LAB_FAILED', `linux-headers-${release}: no .config in ${flavourDir}`, { cause: err });
  });
  const missing: Array<{ tool: string; pkg: string | null; why: string }> = [];
  if (!(await findOnPath('make'))) missing.push({ tool: 'make', pkg: 'make', why: 'runs kbuild' });

  const ccText = readKconfigValue(config, 'CONFIG_CC_VERSION_TEXT') ?? '';
  const compiler = parseCompilerVersionText(ccText);
  if (!compiler) {
    throw new GauntletError('LAB_FAILED', `linux-headers-${release}: cannot tell which compiler built it (CONFIG_CC_VERSION_TEXT=${JSON.stringify(ccText)})`);
  }
  let compilerLine = '';
  if (await findOnPath(compiler.command)) {
    compilerLine = (await runStep(`asking ${compiler.command} its version`, compiler.command, ['--version'])).split('\n')[0]!.trim();
  } else {
    const offered = await findCandidateVersion(`gcc-${compiler.major}`);
    missing.push({
      tool: compiler.command,
      pkg: offered ? `gcc-${compiler.major}` : null,
      why: offered
        ? `the kernel was built with "${ccText}"; Debian package gcc-${compiler.major} ${offered} provides it`
        : `the kernel was built with "${ccText}", and gcc-${compiler.major} is not in the runner's apt sources: build on a runner whose distribution ships it, or inside the guest`,
    });
  }

  // Kernels with BTF for modules run pahole on every .ko when the headers ship vmlinux (Debian's 6.12 do).
  const wantsBtf = readKconfigValue(config, 'CONFIG_DEBUG_INFO_BTF_MODULES') === 'y' && (await isFile(join(flavourDir, 'vmlinux')));
  if (wantsBtf && !(await findOnPath('pahole'))) missing.push({ tool: 'pahole', pkg: 'pahole', why: 'the kernel wants BTF for modules; its linux-kbuild package depends on pahole' });

  if (missing.length > 0) {
    const packages = missing.flatMap((entry) => (entry.pkg ? [entry.pkg] : []));
    throw new GauntletError(
      'LAB_FAILED',
      `building ${SOFTLOCKUP_MODULE} for ${release}: the runner lacks ${missing.map((entry) => entry.tool).join(', ')}${packages.length > 0 ? `; apt-get install ${packages.join(' ')}` : ''}`,
      { details: missing.map((entry) => `${entry.tool}: ${entry.why}`) },
    );
  }
  return compilerLine;
}

/** The version of a package the runner's apt would install, or null when its sources have none. */
async function findCandidateVersion(name: string): Promise<string | null> {
  const policy = await runStep(`looking up Debian package ${name} (apt-cache policy)`, 'apt-cache', ['policy', name]).catch(() => '');
  const candidate = /Candidate:\s*(\S+)/.exec(policy)?.[1];
  return candidate && candidate !== '(none)' ? candidate : null;
}

async function findOnPath(command: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (dir && (await isFile(join(dir, command)))) return true;
  }
  return false;
}

// ---- pure helpers (unit-tested) ----

/** The fields of the first stanza of `apt-cache show` output; continuation lines are joined with a space. */
export function parseAptStanza(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  let last: string | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (last !== null) break;
      continue;
    }
    if (/^\s/.test(line) && last !== null) {
      fields[last] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon);
    fields[last] = line.slice(colon + 1).trim();
  }
  return fields;
}

/** `a (= 1), b | c, d (>= 2)` → the first alternative of each entry, with its version relation. */
export function parseDepends(field: string): Dependency[] {
  return field
    .split(',')
    .map((entry) => entry.split('|')[0]!.trim())
    .filter(Boolean)
    .map((alternative) => {
      const match = /^([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9-]+)?\s*(?:\(\s*(<<|<=|=|>=|>>)\s*([^)\s]+)\s*\))?/.exec(alternative);
      if (!match) return { name: alternative };
      return match[2] ? { name: match[1]!, relation: match[2], version: match[3]! } : { name: match[1]! };
    });
}

/** From linux-headers-<release>'s Depends, the common headers and the kbuild package it needs. */
export function selectHeaderDependencies(headersName: string, depends: Dependency[]): { common: Dependency; kbuild: Dependency } {
  const common = depends.find((dep) => /^linux-headers-.+-common(-rt)?$/.test(dep.name));
  const kbuild = depends.find((dep) => dep.name.startsWith('linux-kbuild-'));
  if (!common || !kbuild) {
    const names = depends.map((dep) => dep.name).join(', ') || 'nothing';
    throw new GauntletError('LAB_FAILED', `${headersName}: expected Depends on linux-headers-*-common and linux-kbuild-*, got ${names}`);
  }
  return { common, kbuild };
}

/**
 * Re-points the flavour Makefile's `include /usr/src/linux-headers-<base>-common/Makefile` (or an include already
 * re-pointed at another copy of the tree) at `<root>/usr/src/…`. Throws when there is no such include.
 */
export function repointFlavourMakefile(text: string, root: string): string {
  const include = /^include[ \t]+\S*?(\/usr\/src\/[^\s/]+\/Makefile)[ \t]*$/m;
  if (!include.test(text)) {
    throw new GauntletError('LAB_FAILED', `flavour Makefile: expected a line "include /usr/src/<common headers>/Makefile", got ${JSON.stringify(text.slice(0, 200))}`);
  }
  return text.replace(include, (_line, tail: string) => `include ${root}${tail}`);
}

async function repointFlavourMakefileIn(flavourDir: string, root: string): Promise<void> {
  const path = join(flavourDir, 'Makefile');
  const text = await readFile(path, 'utf8').catch((err: unknown) => {
    throw new GauntletError('LAB_FAILED', `unpacked headers: no Makefile in ${flavourDir}`, { cause: err });
  });
  const fixed = repointFlavourMakefile(text, root);
  if (fixed !== text) await writeFile(path, fixed);
}

/** The value of one option in a kernel .config (quotes removed), or null when it is unset. */
export function readKconfigValue(config: string, option: string): string | null {
  const match = new RegExp(`^${option}=(.*)$`, 'm').exec(config);
  if (!match) return null;
  const value = match[1]!.trim();
  return value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1).replace(/\\"/g, '"') : value;
}

/** `x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0` → the command and its major version. */
export function parseCompilerVersionText(text: string): { command: string; major: string } | null {
  const command = text.trim().split(/\s+/)[0] ?? '';
  const major = /(?:^|-)gcc-(\d+)$/.exec(command)?.[1] ?? /\)\s+(\d+)\.\d+/.exec(text)?.[1];
  if (!command || !major || !/^[A-Za-z0-9_.+-]+$/.test(command)) return null;
  return { command, major };
}

/** The `vermagic=` string in a module's .modinfo section, or null when there is none. */
export function readVermagic(ko: Buffer): string | null {
  const key = Buffer.from('\0vermagic=');
  const at = ko.indexOf(key);
  if (at < 0) return null;
  const start = at + key.length;
  const end = ko.indexOf(0, start);
  return ko.subarray(start, end < 0 ? undefined : end).toString('utf8');
}

// ---- small helpers ----

/** Runs one step of the build; a failure becomes a GauntletError naming the step, with the output's tail. */
async function runStep(step: string, file: string, args: string[], options: { cwd?: string; env?: Record<string, string>; hint?: string } = {}): Promise<string> {
  const { execa } = await import('execa');
  const result = await execa(file, args, { cwd: options.cwd, env: options.env, all: true, reject: false, timeout: STEP_TIMEOUT_MS, stdin: 'ignore' });
  if (result.exitCode === 0 && !result.timedOut) return result.stdout;
  const how = result.timedOut ? `timed out after ${STEP_TIMEOUT_MS / 1000} s` : result.exitCode === undefined ? `could not run (${result.originalMessage ?? result.shortMessage})` : `exited ${result.exitCode}`;
  const tail = (result.all ?? '').split('\n').filter((line) => line.trim() !== '' && !line.includes('unsandboxed as root')).slice(-15);
  const lastLine = tail.at(-1)?.trim();
  throw new GauntletError('LAB_FAILED', `${step}: ${how}${lastLine ? `: ${lastLine}` : ''}${options.hint ? `; ${options.hint}` : ''}`, {
    details: tail,
    cause: result,
  });
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return null;
  }
}
