// Commands in containers through the engine API (exec, logs), with deadlines: what suites that drive many
// containers share, so podman's compatible API works where docker's does.

import type Docker from 'dockerode';
import type { Duplex } from 'node:stream';

/** What a command in a container did. */
export interface ContainerCommandResult {
  /** Null when the engine did not say (the exec was cut off). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** An engine operation that ran past its deadline. */
export class DeadlineError extends Error {
  readonly code = 'DEADLINE_EXCEEDED';
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what} did not complete within ${timeoutMs} ms`);
    this.name = 'DeadlineError';
  }
}

/** `operation`, rejected with a DeadlineError when it takes longer than `timeoutMs` (the operation itself goes on). */
export async function withDeadline<T>(what: string, timeoutMs: number, operation: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([operation(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Splits the engine's multiplexed output (`logs`, `exec` without a TTY): frames of an 8-byte header (stream type
 * 1 stdout or 2 stderr, 3 zero bytes, a big-endian length) and that many bytes. Output that does not start with a
 * frame header (a TTY's) is all stdout.
 */
export function demuxEngineOutput(raw: Buffer): { stdout: Buffer; stderr: Buffer } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let at = 0;
  while (at + 8 <= raw.length) {
    const type = raw[at]!;
    if (type > 2 || raw[at + 1] !== 0 || raw[at + 2] !== 0 || raw[at + 3] !== 0) {
      if (at === 0) return { stdout: raw, stderr: Buffer.alloc(0) };
      break;
    }
    const length = raw.readUInt32BE(at + 4);
    const body = raw.subarray(at + 8, at + 8 + length);
    (type === 2 ? err : out).push(body);
    at += 8 + length;
  }
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
}

/**
 * Everything a hijacked engine stream carries until it closes. The engine closes its end as soon as the command's
 * output is done, so a late write of the client's (its end of the request) can fail with EPIPE or ECONNRESET: that
 * ends the stream, and the exec's own state (inspect) says whether the command finished.
 */
function collect(stream: Duplex | NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('close', () => resolve(Buffer.concat(chunks)));
    stream.on('error', (err: Error & { code?: string }) => {
      if (/EPIPE|ECONNRESET/.test(`${err.code ?? ''} ${err.message}`)) resolve(Buffer.concat(chunks));
      else reject(err);
    });
  });
}

export interface ExecOptions {
  /** Rejects with a DeadlineError after this long (default 60 s). */
  timeoutMs?: number;
  env?: string[];
  user?: string;
}

/**
 * Runs `cmd` in a running container and resolves with its exit code and output, whatever the exit code; rejects
 * when the engine refuses the exec or the deadline passes.
 */
export async function execInContainer(container: Docker.Container, cmd: string[], options: ExecOptions = {}): Promise<ContainerCommandResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = performance.now();
  let stream: Duplex | undefined;
  try {
    return await withDeadline(`exec of \`${cmd.join(' ').slice(0, 60)}\` in ${container.id.slice(0, 12)}`, timeoutMs, async () => {
      const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Env: options.env, User: options.user });
      stream = (await exec.start({ Detach: false, Tty: false })) as Duplex;
      const raw = await collect(stream);
      const { stdout, stderr } = demuxEngineOutput(raw);
      let inspected = await exec.inspect();
      // The stream can end a moment before the engine records the exit code.
      for (let i = 0; inspected.Running && i < 100; i++) {
        await new Promise((done) => setTimeout(done, 20));
        inspected = await exec.inspect();
      }
      return {
        exitCode: typeof inspected.ExitCode === 'number' ? inspected.ExitCode : null,
        stdout: stdout.toString('utf8'),
        stderr: stderr.toString('utf8'),
        durationMs: performance.now() - started,
      };
    });
  } catch (err) {
    stream?.destroy();
    throw err;
  }
}

/** A stopped (or running) container's output so far, split into stdout and stderr. */
export async function readContainerOutput(container: Docker.Container): Promise<{ stdout: string; stderr: string }> {
  const raw = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  const { stdout, stderr } = demuxEngineOutput(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)));
  return { stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') };
}
