// The contract between the bench runner and a benchmark module: the context it is given and the report it returns.

/** What the runner hands to a benchmark's `run`. */
export interface BenchContext {
  /** The repository root (where package.json is). */
  repoRoot: string;
  /** A private temp dir for this benchmark's scratch files; the runner removes it afterwards. */
  workDir: string;
  /** hyperfine `--runs` and `--warmup` for this invocation. */
  runs: number;
  warmup: number;
  /** Aborted on SIGINT/SIGTERM: stop measuring, then clean up (a `finally` still runs). */
  signal: AbortSignal;
  /** A progress line for the person watching (stderr). */
  log(line: string): void;
}

/** What a benchmark produces; the runner writes `markdown` to `<name>.md` and `data` to `<name>.json`. */
export interface BenchReport {
  markdown: string;
  data: Record<string, unknown>;
  /** A few lines for the terminal summary. */
  summary: string[];
}

export interface Benchmark {
  /** Also the results' file name: lowercase letters, digits and dashes. */
  name: string;
  /** One line for `npm run bench -- --list`. */
  description: string;
  /** Rejects (preferably with a BenchError) when a measurement or a correctness check fails. */
  run(ctx: BenchContext): Promise<BenchReport>;
}

export type BenchErrorCode = 'CHECK_FAILED' | 'TOOL_FAILED' | 'TOOL_MISSING' | 'ABORTED' | 'NOT_ROOT';

/** A benchmark failure with a stable code; the runner prints its message without a stack trace. */
export class BenchError extends Error {
  constructor(
    readonly code: BenchErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BenchError';
  }
}
