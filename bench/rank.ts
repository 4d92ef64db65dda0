// Benchmark rank: `gauntlet rank` over 10,000 JUnit files of realistic size (copies of a real run's report, each
// with its own run id and one of several stacks), timed with hyperfine as a user runs it.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { BenchError, type BenchContext, type BenchReport, type Benchmark } from './benchmark.js';
import { renderTable } from './tools.js';

const NAME = 'rank';
const FILES = 10_000;
const STACKS = 8;
/** The aim: "in seconds". */
const AIM_S = 10;
const SOURCE = 'reports/examples/20261122-125945-4dbb/junit.xml';

export const rankBenchmark: Benchmark = {
  name: NAME,
  description: `gauntlet rank over ${FILES} JUnit files made from a real run's report (${STACKS} stacks), with hyperfine`,
  run: runRankBenchmark,
};

async function runRankBenchmark(ctx: BenchContext): Promise<BenchReport> {
  const source = await readFile(path.join(ctx.repoRoot, SOURCE), 'utf8');
  const dir = path.join(ctx.workDir, 'reports');
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < FILES; i++) {
    const runId = `20260101-${String(100000 + (i % 900000)).slice(-6)}-${(i % 65536).toString(16).padStart(4, '0')}`;
    const stack = i % STACKS;
    const text = source
      .replaceAll('20261122-125945-4dbb', runId)
      .replaceAll('6.12.117+deb12-amd64', `6.12.${100 + stack}+deb12-amd64`)
      .replaceAll('6.1.0-56-amd64', `6.1.0-${50 + stack}-amd64`);
    const runDir = path.join(dir, `run-${i}`);
    await mkdir(runDir);
    await writeFile(path.join(runDir, 'junit.xml'), text);
    if (ctx.signal.aborted) throw new BenchError('ABORTED', 'interrupted');
  }
  const bytes = Buffer.byteLength(source) * FILES;
  ctx.log(`${FILES} JUnit files, ${(bytes / 1e6).toFixed(0)} MB, in ${dir}`);
  const cli = path.join(ctx.repoRoot, 'dist', 'src', 'cli', 'main.js');
  const check = await execa(process.execPath, [cli, 'rank', dir, '--format', 'json'], { reject: false });
  if (check.exitCode !== 0) throw new BenchError('CHECK_FAILED', `gauntlet rank exited ${check.exitCode}: ${check.stderr.slice(0, 300)}`);
  const stacks = JSON.parse(check.stdout) as { stacks?: unknown[] } | unknown[];
  const count = Array.isArray(stacks) ? stacks.length : (stacks.stacks?.length ?? 0);
  if (count !== STACKS * 2) throw new BenchError('CHECK_FAILED', `expected ${STACKS * 2} stacks, gauntlet rank found ${count}`);
  const json = path.join(ctx.workDir, 'hyperfine.json');
  await execa('hyperfine', ['--runs', String(ctx.runs), '--warmup', String(ctx.warmup), '--export-json', json, `${process.execPath} ${cli} rank ${dir} --format json`], { stdio: 'ignore' }).catch((err: unknown) => {
    throw new BenchError('TOOL_FAILED', `hyperfine failed: ${(err as Error).message.split('\n')[0]}`);
  });
  const result = (JSON.parse(await readFile(json, 'utf8')) as { results: { mean: number; stddev: number; min: number; max: number }[] }).results[0]!;
  const rows = [['gauntlet rank --format json', `${result.mean.toFixed(2)} s ± ${result.stddev.toFixed(2)}`, `${result.min.toFixed(2)}–${result.max.toFixed(2)} s`, `${(bytes / 1e6 / result.mean).toFixed(0)} MB/s`]];
  const markdown = [
    `# Benchmark: ${NAME}`,
    '',
    `\`gauntlet rank\` over ${FILES} JUnit files (${(bytes / 1e6).toFixed(0)} MB; each a copy of ${SOURCE}, 60 tests over 2 hosts, with its own run id and one of ${STACKS * 2} stacks), hyperfine ${ctx.runs} runs after ${ctx.warmup} warm-up, on ${availableParallelism()} cores (rank reads with one thread per core).`,
    '',
    renderTable(['command', 'mean', 'range', 'read'], rows),
    '',
    `Aim: in seconds (under ${AIM_S} s): ${result.mean <= AIM_S ? 'met' : 'NOT met'}.`,
    '',
  ].join('\n');
  return { markdown, data: { files: FILES, bytes, stacks: STACKS * 2, cores: availableParallelism(), ...result }, summary: [`rank over ${FILES} files: ${result.mean.toFixed(2)} s ± ${result.stddev.toFixed(2)}`] };
}
