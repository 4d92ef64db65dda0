// Runs the built `gauntlet` CLI as a child process, as a user would, and captures what it prints.

import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const CLI_PATH = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const result = await execa(process.execPath, [CLI_PATH, ...args], {
    reject: false,
    cwd: options.cwd,
    env: { ...options.env, CI: 'true' },
    timeout: options.timeoutMs ?? 120_000,
    stdin: 'ignore',
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}
