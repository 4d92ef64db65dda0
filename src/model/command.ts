// The shape of running one command on a host, shared by every transport.

export interface RunOptions {
  /** Milliseconds before the command is signalled and reported as `timedOut`; 0 means no limit. */
  timeoutMs?: number;
  env?: Record<string, string>;
  /** Bytes or text written to the command's standard input, which is then closed. */
  stdin?: string | Buffer;
  /** Called with each chunk of standard output as it arrives. */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Bytes of each stream kept in the result (the rest is still streamed); default 16 MiB. */
  maxBuffer?: number;
}

export interface CommandResult {
  command: string;
  stdout: string;
  stderr: string;
  /** Exit status, or null when the command ended by a signal, timed out or lost its channel. */
  exitCode: number | null;
  /** Signal name without the SIG prefix (`KILL`), when the command ended by one. */
  signal: string | null;
  durationMs: number;
  timedOut: boolean;
  /** True when the command was ended by gauntlet (timeout) or by a signal. */
  isTerminated: boolean;
  /** True when output beyond `maxBuffer` was dropped from `stdout` or `stderr`. */
  isTruncated: boolean;
}
