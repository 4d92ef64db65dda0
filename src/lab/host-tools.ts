// Runs the runner's own tools (apt, debootstrap, mke2fs, qemu-img, ssh-keygen) and turns a failure into a one-line LAB_FAILED.

import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { GauntletError } from '../model/index.js';

/** Tools live in sbin on Debian; a non-login shell's PATH often lacks it. */
export const TOOL_PATH = [...new Set([...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'])]
  .filter(Boolean)
  .join(delimiter);

/** Which Debian package provides each tool, for the hint when one is missing. */
const TOOL_PACKAGES: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  debootstrap: 'debootstrap',
  'mke2fs': 'e2fsprogs',
  depmod: 'kmod',
  modprobe: 'kmod',
  'ssh-keygen': 'openssh-client',
  ssh: 'openssh-client',
  'apt-get': 'apt',
  'dpkg-deb': 'dpkg',
  xz: 'xz-utils',
  zstd: 'zstd',
};

export interface ToolResult {
  stdout: string;
  stderr: string;
}

/** The absolute path of a tool on TOOL_PATH, or a LAB_FAILED naming the package to install. */
export async function findTool(name: string): Promise<string> {
  for (const dir of TOOL_PATH.split(delimiter)) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  const pkg = TOOL_PACKAGES[name];
  throw new GauntletError('LAB_FAILED', `lab: ${name} not found${pkg ? `; install it with: apt-get install -y ${pkg}` : ''}`);
}

/** Runs a tool to completion; a non-zero exit becomes LAB_FAILED with the tool's last stderr line. */
export async function runTool(
  name: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number; input?: string; env?: Record<string, string> } = {},
): Promise<ToolResult> {
  const file = await findTool(name);
  const { execa } = await import('execa');
  const result = await execa(file, args, {
    reject: false,
    cwd: options.cwd,
    timeout: options.timeoutMs ?? 600_000,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : undefined,
    env: { ...options.env, PATH: TOOL_PATH, LC_ALL: 'C' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.exitCode !== 0 || result.timedOut) {
    const lastLine = lastLines(`${result.stderr}\n${result.stdout}`, 1) || '(no output)';
    const why = result.timedOut ? `timed out after ${Math.round((options.timeoutMs ?? 600_000) / 1000)} s` : `exited ${result.exitCode ?? result.signal}`;
    throw new GauntletError('LAB_FAILED', `lab: ${name} ${why}: ${lastLine}`, { cause: result });
  }
  return { stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** The last `count` non-empty lines of a text, joined with ` | ` so they fit one message line. */
export function lastLines(text: string, count: number): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-count)
    .join(' | ');
}
