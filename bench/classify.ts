// Benchmark classify: kernel-log classification throughput on the syzkaller corpus, repeated to at least 50 MB.

import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { classifyLog, createStreamClassifier, summarizeEvents } from '../src/classify/index.js';
import type { KernelEvent } from '../src/model/index.js';
import { parseConsoleFixture } from '../test/helpers/console-corpus.js';
import { BenchError, type BenchContext, type BenchReport, type Benchmark } from './benchmark.js';
import { renderTable } from './tools.js';

const NAME = 'classify';
const MIN_BYTES = 50 * 1000 * 1000;
/** The aim. */
const AIM_MB_PER_S = 50;
/** Console reads arrive in chunks about this size. */
const STREAM_CHUNK = 64 * 1024;

interface Sample {
  wallS: number;
  cpuS: number;
}

interface Measurement {
  label: string;
  samples: Sample[];
  events: number;
}

export const classifyBenchmark: Benchmark = {
  name: NAME,
  description: 'classifyLog and the stream classifier on the syzkaller corpus repeated to 50 MB (in process, no hosts)',
  run: runClassifyBenchmark,
};

async function runClassifyBenchmark(ctx: BenchContext): Promise<BenchReport> {
  const corpus = path.join(ctx.repoRoot, '..', 'shared', 'corpus', 'syzkaller-linux');
  const names = await readdir(corpus).catch((err: unknown) => {
    throw new BenchError('TOOL_MISSING', `the corpus is missing: ${corpus} (${(err as Error).message})`);
  });
  const logs = await Promise.all(
    names.filter((name) => /^\d+$/.test(name)).map(async (name) => parseConsoleFixture(name, await readFile(path.join(corpus, name), 'utf8')).log),
  );
  const once = `${logs.join('\n')}\n`;
  const copies = Math.ceil(MIN_BYTES / Buffer.byteLength(once));
  const text = once.repeat(copies);
  const megabytes = Buffer.byteLength(text) / 1e6;
  ctx.log(`${logs.length} logs × ${copies} = ${megabytes.toFixed(1)} MB, ${text.split('\n').length - 1} lines`);

  const loadBefore = os.loadavg();
  const batch = measure(ctx, 'classifyLog (whole text)', () => classifyLog(text).events);
  const stream = measure(ctx, `stream classifier (${STREAM_CHUNK / 1024} KiB chunks)`, () => classifyInChunks(text, false));
  const copied = measure(ctx, 'stream classifier, excerpts copied (as a run watches hosts)', () => classifyInChunks(text, true));
  const loadAfter = os.loadavg();

  const expected = classifyLog(text);
  for (const copyExcerpts of [false, true]) {
    const streamed = summarizeEvents(classifyInChunks(text, copyExcerpts));
    if (JSON.stringify(streamed) !== JSON.stringify(expected)) {
      throw new BenchError('CHECK_FAILED', `the stream classifier${copyExcerpts ? ' (excerpts copied)' : ''} gave other events than classifyLog on the same text`);
    }
  }

  const rate = (m: Measurement, pick: (s: Sample) => number): number => megabytes / median(m.samples.map(pick));
  const headline = rate(batch, (s) => s.wallS);
  const met = headline >= AIM_MB_PER_S;
  const commit = await describeCommit(ctx.repoRoot);
  const rows = [batch, stream, copied].map((m) => [
    m.label,
    `${rate(m, (s) => s.wallS).toFixed(1)} MB/s`,
    `${rate(m, (s) => s.cpuS).toFixed(1)} MB/s`,
    `${(megabytes / Math.max(...m.samples.map((s) => s.wallS))).toFixed(1)}–${(megabytes / Math.min(...m.samples.map((s) => s.wallS))).toFixed(1)} MB/s`,
    String(m.events),
  ]);

  const markdown = `# ${NAME}: kernel-log classification throughput

${new Date().toISOString()} · gauntlet commit ${commit} · \`npm run bench -- ${NAME}\`

**classifyLog: ${headline.toFixed(1)} MB/s** (median wall time of ${ctx.runs} runs after ${ctx.warmup} warm-up) on ${megabytes.toFixed(1)} MB.
The issue's aim, *at least ${AIM_MB_PER_S} MB/s*, is **${met ? 'met' : 'not met'}**.

Input: the ${logs.length} syzkaller console logs of \`../shared/corpus/syzkaller-linux\` (expected-report sections removed),
concatenated and repeated ${copies} times. This is a worst case: nearly every line of the corpus belongs to a crash
report, so nearly every line gets the per-line work that ordinary console output (skipped by one search for all
header words at once) does not; ${expected.events.length} events were found.

${renderTable(['classifier', 'throughput (median wall)', 'throughput (median CPU)', 'range (wall)', 'events'], rows, ['l', 'r', 'r', 'r', 'r'])}

CPU time is the process's user + system time (it includes the garbage collector's helper threads); the machine's load
average was ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before and ${loadAfter.map((l) => l.toFixed(2)).join(' ')} after
(${os.availableParallelism()} CPUs, ${os.cpus()[0]?.model.trim() ?? '?'}, node ${process.version}, ${os.type()} ${os.release()}).
The stream classifier's events were checked to equal classifyLog's. classifyLog and the plain stream classifier cut
each excerpt out of the text they were given; a run's fault watch keeps its events for the whole run and has them
copied instead, so that they do not keep the console chunks they came in alive (the third row).
`;
  return {
    markdown,
    data: {
      megabytes,
      copies,
      logs: logs.length,
      events: expected.events.length,
      aimMBps: AIM_MB_PER_S,
      met,
      commit,
      load: { before: loadBefore, after: loadAfter },
      measurements: [batch, stream, copied].map((m) => ({ label: m.label, samples: m.samples, medianWallMBps: rate(m, (s) => s.wallS), medianCpuMBps: rate(m, (s) => s.cpuS) })),
    },
    summary: [`classifyLog ${headline.toFixed(1)} MB/s, stream ${rate(stream, (s) => s.wallS).toFixed(1)} MB/s on ${megabytes.toFixed(1)} MB (aim ${AIM_MB_PER_S} MB/s: ${met ? 'met' : 'not met'})`],
  };
}

function measure(ctx: BenchContext, label: string, classify: () => readonly KernelEvent[]): Measurement {
  let events = 0;
  const samples: Sample[] = [];
  for (let i = 0; i < ctx.warmup + ctx.runs; i++) {
    if (ctx.signal.aborted) throw new BenchError('ABORTED', 'interrupted');
    const cpu = process.cpuUsage();
    const started = performance.now();
    events = classify().length;
    const wallS = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    if (i >= ctx.warmup) samples.push({ wallS, cpuS: (used.user + used.system) / 1e6 });
    ctx.log(`${label}: run ${i + 1}/${ctx.warmup + ctx.runs}${i < ctx.warmup ? ' (warm-up)' : ''} ${wallS.toFixed(2)} s`);
  }
  return { label, samples, events };
}

function classifyInChunks(text: string, copyExcerpts: boolean): KernelEvent[] {
  const classifier = createStreamClassifier({ quietMs: Number.POSITIVE_INFINITY, copyExcerpts });
  const events: KernelEvent[] = [];
  for (let at = 0; at < text.length; at += STREAM_CHUNK) events.push(...classifier.push(text.slice(at, at + STREAM_CHUNK), at));
  events.push(...classifier.flush(text.length));
  return events;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function describeCommit(repoRoot: string): Promise<string> {
  const [commit, dirty] = await Promise.all([
    execa('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, reject: false }).then((r) => r.stdout.trim() || '?'),
    execa('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot, reject: false }).then((r) => r.stdout.trim() !== ''),
  ]);
  return dirty ? `${commit} (+ uncommitted changes)` : commit;
}
