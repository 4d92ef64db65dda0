// Reaching a lab VM from the runner: wait for its SSH banner, run a command with OpenSSH and the lab key.

import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { GauntletError } from '../model/index.js';
import { findTool, lastLines, TOOL_PATH } from './host-tools.js';
import { INIT_ERROR_FILE, PODMAN_SOCKET } from './guest-scripts.js';
import { sleep } from './qemu.js';

export interface SshTarget {
  port: number;
  keyFile: string;
  knownHosts: string;
}

/** OpenSSH options: the lab key only, the pinned host key only, never a prompt. */
export function buildSshArgs(target: SshTarget, options: { batch?: boolean } = {}): string[] {
  return [
    '-i', target.keyFile,
    '-p', String(target.port),
    '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${target.knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'ConnectTimeout=10',
    '-o', 'LogLevel=ERROR',
    ...(options.batch === false ? [] : ['-o', 'BatchMode=yes']),
    'root@127.0.0.1',
  ];
}

/** Reads what the server says first; QEMU's forward accepts TCP before the guest listens, so only a banner counts. */
export function readSshBanner(port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    const finish = (banner: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(banner);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (text.includes('\n')) finish(text.startsWith('SSH-') ? text.split('\n')[0]!.trim() : undefined);
    });
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(undefined));
  });
}

/**
 * Polls until the guest's sshd answers with a banner. `isAlive` is checked between attempts so a VM that died
 * (a panic ends QEMU) fails at once, with the serial log's tail, instead of at the deadline.
 */
export async function waitForSshBanner(port: number, options: { timeoutMs: number; isAlive: () => Promise<boolean>; serialLog: string; vm: string }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (await readSshBanner(port, 2000)) return;
    if (!(await options.isAlive())) {
      throw new GauntletError('LAB_FAILED', `lab: ${options.vm}: QEMU exited before SSH came up; serial log: ${await readSerialTail(options.serialLog)}`);
    }
    await sleep(250);
  }
  throw new GauntletError('LAB_FAILED', `lab: ${options.vm}: no SSH banner on 127.0.0.1:${port} after ${options.timeoutMs / 1000} s; serial log: ${await readSerialTail(options.serialLog)}`);
}

/** The last lines of a serial log, as one line for an error message. */
export async function readSerialTail(serialLog: string, count = 4): Promise<string> {
  const text = await readFile(serialLog, 'utf8').catch(() => '');
  return `${serialLog}: ${lastLines(text.replace(/\r/g, ''), count) || '(empty)'}`;
}

export interface GuestCommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs one command on the guest with OpenSSH; never rejects on a non-zero exit. */
export async function runGuestCommand(target: SshTarget, command: string, timeoutMs = 30_000): Promise<GuestCommandResult> {
  const { execa } = await import('execa');
  const result = await execa(await findTool('ssh'), [...buildSshArgs(target), command], {
    reject: false,
    timeout: timeoutMs,
    stdin: 'ignore',
    env: { PATH: TOOL_PATH },
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/**
 * Polls the engine's API over SSH until it answers; resolves to its server version. docker's CLI (in every
 * image) asks dockerd's socket, or podman's docker-compatible one on a podman VM.
 */
export async function waitForEngine(target: SshTarget, engine: 'docker' | 'podman', options: { timeoutMs: number; isAlive: () => Promise<boolean>; vm: string; serialLog: string }): Promise<string> {
  const host = engine === 'podman' ? ` -H unix://${PODMAN_SOCKET}` : '';
  const deadline = Date.now() + options.timeoutMs;
  let last: GuestCommandResult | undefined;
  while (Date.now() < deadline) {
    last = await runGuestCommand(target, `if [ -s ${INIT_ERROR_FILE} ]; then cat ${INIT_ERROR_FILE}; exit 3; fi; docker${host} version --format '{{.Server.Version}}'`, 20_000);
    if (last.exitCode === 0 && last.stdout.trim()) return last.stdout.trim();
    if (last.exitCode === 3) throw new GauntletError('LAB_FAILED', `lab: ${options.vm}: ${engine} not started: ${lastLines(last.stdout, 2)}`);
    if (!(await options.isAlive())) throw new GauntletError('LAB_FAILED', `lab: ${options.vm}: QEMU exited before ${engine} answered; serial log: ${await readSerialTail(options.serialLog)}`);
    await sleep(500);
  }
  const why = last ? lastLines(`${last.stderr}\n${last.stdout}`, 1) : 'no answer';
  const log = engine === 'podman' ? '/var/log/podman.log' : '/var/log/dockerd.log';
  throw new GauntletError('LAB_FAILED', `lab: ${options.vm}: ${engine} did not answer within ${options.timeoutMs / 1000} s (${why}); see ${log} in the VM`);
}
