// The bench runner: `npm run bench [-- NAME…]` runs the named benchmarks (default all) and writes bench/results/<name>.{md,json}.
//
// A benchmark is a module exporting a Benchmark object (see benchmark.ts); add it to BENCHMARKS below.

import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchError, type BenchContext, type Benchmark } from './benchmark.js';
import { classifyBenchmark } from './classify.js';
import { factsBenchmark } from './facts.js';
import { rankBenchmark } from './rank.js';
import { runSuite10Benchmark, runSuite50Benchmark } from './run-suite.js';

/** Every benchmark, in the order `npm run bench` runs them. */
const BENCHMARKS: Benchmark[] = [factsBenchmark, runSuite10Benchmark, runSuite50Benchmark, classifyBenchmark, rankBenchmark];

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');
const DEFAULT_RUNS = 5;
const DEFAULT_WARMUP = 1;
const USAGE = `usage: npm run bench [-- [--runs N] [--warmup N] [--list] [NAME…]]  (benchmarks: ${BENCHMARKS.map((b) => b.name).join(', ')})`;

const EXIT = { OK: 0, FAILED: 1, USAGE: 2, INTERRUPTED: 130 } as const;

interface Invocation {
  selected: Benchmark[];
  runs: number;
  warmup: number;
  list: boolean;
}

class UsageError extends Error {}

function parseInvocation(argv: string[]): Invocation | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        runs: { type: 'string' },
        warmup: { type: 'string' },
        list: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const unknown = positionals.filter((name) => !BENCHMARKS.some((b) => b.name === name));
  if (unknown.length > 0) throw new UsageError(`no benchmark named ${unknown.map((n) => JSON.stringify(n)).join(', ')}`);
  const selected = positionals.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => positionals.includes(b.name));
  return {
    selected,
    runs: parseCount('runs', values.runs, DEFAULT_RUNS, 2),
    warmup: parseCount('warmup', values.warmup, DEFAULT_WARMUP, 0),
    list: values.list ?? false,
  };
}

function parseCount(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > 1000) {
    throw new UsageError(`--${name} must be an integer ${min}..1000, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

/** Write a file whole or not at all (bench/results/*.tmp is git-ignored). */
async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

interface Outcome {
  name: string;
  ok: boolean;
  lines: string[];
}

/** Run one benchmark in its own temp dir; never rejects. */
async function runBenchmark(benchmark: Benchmark, inv: Invocation, signal: AbortSignal): Promise<Outcome> {
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const workDir = await mkdtemp(path.join(os.tmpdir(), `gauntlet-bench-${benchmark.name}-`));
  const ctx: BenchContext = { repoRoot: REPO_ROOT, workDir, runs: inv.runs, warmup: inv.warmup, signal, log };
  const started = performance.now();
  try {
    const report = await benchmark.run(ctx);
    await mkdir(RESULTS_DIR, { recursive: true });
    const md = path.join(RESULTS_DIR, `${benchmark.name}.md`);
    const json = path.join(RESULTS_DIR, `${benchmark.name}.json`);
    await writeAtomically(md, report.markdown);
    await writeAtomically(json, `${JSON.stringify(report.data, null, 2)}\n`);
    const took = ((performance.now() - started) / 1000).toFixed(0);
    return {
      name: benchmark.name,
      ok: true,
      lines: [...report.summary, `results: ${path.relative(process.cwd(), md)}, ${path.relative(process.cwd(), json)} (took ${took} s)`],
    };
  } catch (err) {
    const message = err instanceof BenchError ? `${err.code}: ${err.message}` : err instanceof Error ? (err.stack ?? err.message) : String(err);
    return { name: benchmark.name, ok: false, lines: [`FAILED ${message}`, 'results: not written'] };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function runMain(): Promise<number> {
  let inv;
  try {
    inv = parseInvocation(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  if (inv === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.OK;
  }
  if (inv.list) {
    for (const b of BENCHMARKS) process.stdout.write(`${b.name.padEnd(12)} ${b.description}\n`);
    return EXIT.OK;
  }

  // Ctrl-C stops the measurement; each benchmark's own `finally` then tears down what it built.
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.stderr.write(`bench: ${sig} again; still cleaning up, please wait\n`);
      return;
    }
    process.stderr.write(`bench: ${sig}: stopping, then tearing down\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const outcomes: Outcome[] = [];
  for (const benchmark of inv.selected) {
    if (controller.signal.aborted) break;
    process.stderr.write(`bench: ${benchmark.name}: ${benchmark.description}\n`);
    outcomes.push(await runBenchmark(benchmark, inv, controller.signal));
  }

  process.stdout.write('\n');
  for (const o of outcomes) {
    process.stdout.write(`${o.name}${o.ok ? '' : ' (failed)'}\n${o.lines.map((l) => `  ${l}`).join('\n')}\n`);
  }
  if (controller.signal.aborted) return EXIT.INTERRUPTED;
  return outcomes.every((o) => o.ok) ? EXIT.OK : EXIT.FAILED;
}

process.exit(await runMain());
