// The reports of `gauntlet qualify`: a JUnit file with one testsuite `qualification`, and a markdown summary.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CrashSignature, Qualification, StackEvidence } from '../model/index.js';
import { cleanBody, cleanLine, decorateOnBuild, newJunitBuilder, removeRootSkippedCount } from './junit.js';
import { describeSignature } from './rank-output.js';

/** Failure and error types of the qualification's test cases. */
export const QUALIFICATION_TYPES = {
  NEW_CRASH_SIGNATURE: 'NEW_CRASH_SIGNATURE',
  WORSE_FATAL_RATE: 'WORSE_FATAL_RATE',
  INSUFFICIENT_EVIDENCE: 'INSUFFICIENT_EVIDENCE',
} as const;

/**
 * One testsuite `qualification` with three test cases, so CI shows the verdict: the candidate has no crash signature
 * the baseline lacks (a failure lists each with the run and test where it happened), its fatal-event rate is not
 * significantly worse, and it has the minimum exposure (an error, INSUFFICIENT_EVIDENCE: it could not be judged).
 */
export function renderQualificationJunit(qualification: Qualification, options: { startedAt: Date; hostname: string; durationMs?: number }): string {
  const builder = newJunitBuilder().name('gauntlet qualification');
  const suite = builder
    .testSuite()
    .name('qualification')
    .timestamp(options.startedAt.toISOString().slice(0, 19))
    .time(Math.max(0, Math.round(options.durationMs ?? 0)) / 1000);
  const properties: [string, string][] = [
    ['gauntlet.qualification.verdict', qualification.verdict],
    ['gauntlet.qualification.baseline', qualification.baselineSelector],
    ['gauntlet.qualification.candidate', qualification.candidateSelector],
    ['gauntlet.qualification.min_hours', String(qualification.minHours)],
    ['gauntlet.qualification.min_runs', String(qualification.minRuns)],
    ['gauntlet.qualification.p_value', String(qualification.rateTest.pValue)],
    ...evidenceProperties('baseline', qualification.baseline),
    ...evidenceProperties('candidate', qualification.candidate),
  ];
  for (const [name, value] of properties) suite.property(name, cleanLine(value, Infinity));
  decorateOnBuild(suite, (element) => element.att('hostname', options.hostname));
  const classname = 'qualification';

  const signatures = suite.testCase().className(classname).name('candidate has no crash signature the baseline lacks');
  if (qualification.newSignatures.length > 0) {
    const message = `${qualification.newSignatures.length} new crash signature(s): ${qualification.newSignatures.map((signature) => `${signature.class}: ${signature.title}`).join('; ')}`;
    signatures.failure(cleanLine(message), QUALIFICATION_TYPES.NEW_CRASH_SIGNATURE);
    const body = qualification.newSignatures.map(describeOccurrences).join('\n');
    decorateOnBuild(signatures, (element) => element.children.find((child) => (child as { name?: string }).name === 'failure')?.txt(cleanBody(body)));
  }

  const rate = suite.testCase().className(classname).name('candidate fatal-event rate is not significantly worse than the baseline');
  if (qualification.rateTest.worse) {
    rate.failure(cleanLine(describeRates(qualification)), QUALIFICATION_TYPES.WORSE_FATAL_RATE);
  }

  const exposure = suite.testCase().className(classname).name(`candidate has at least ${qualification.minHours} test-hours over ${qualification.minRuns} runs`);
  if (qualification.missing.length > 0) {
    exposure.error(cleanLine(`insufficient evidence: ${qualification.missing.join(', ')}`), QUALIFICATION_TYPES.INSUFFICIENT_EVIDENCE);
  }
  return `${removeRootSkippedCount(builder.build())}\n`;
}

/** The markdown summary, for a pull-request comment. */
export function formatQualificationMarkdown(qualification: Qualification): string {
  const headline = { pass: '✅ **pass**', fail: '❌ **fail**', insufficient: '⚠️ **insufficient evidence**' }[qualification.verdict];
  const lines = [
    `## Stack qualification: ${headline}`,
    '',
    `Candidate \`${qualification.candidateSelector}\` against baseline \`${qualification.baselineSelector}\`.`,
    '',
    ...qualification.reasons.map((reason) => `- ${reason}`),
    '',
    '| | runs | hosts | tests | test-hours | fatal events | fatal / 100 test-hours [95%] | pass rate [95%] |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    evidenceRow('baseline', qualification.baseline),
    evidenceRow('candidate', qualification.candidate),
    '',
  ];
  if (qualification.newSignatures.length > 0) {
    lines.push('### New crash signatures', '');
    for (const signature of qualification.newSignatures) {
      lines.push(`- **${signature.class}**: \`${signature.title.replace(/`/g, "'")}\``);
      for (const occurrence of signature.occurrences) lines.push(`  - run \`${occurrence.run}\`, ${occurrence.suite}, test “${occurrence.test}” (${occurrence.source})`);
    }
    lines.push('');
  }
  const signatures = (label: string, list: CrashSignature[]): string[] => (list.length === 0 ? [] : [`${label}:`, ...list.map((signature) => `- ${describeSignature(signature)}`), '']);
  lines.push(...signatures('Baseline crash signatures', qualification.baseline.signatures));
  lines.push(
    `_Fail: a crash signature the baseline lacks, or a fatal-event rate worse at one-sided p < ${qualification.rateTest.alpha} (conditional binomial test; here p = ${formatNumber(qualification.rateTest.pValue)}). ` +
      `Insufficient: under ${qualification.minHours} test-hours or ${qualification.minRuns} runs for the candidate._`,
  );
  return `${lines.join('\n')}\n`;
}

/** Writes `junit.xml` and `summary.md` under `dir`; returns their paths. */
export async function writeQualification(qualification: Qualification, dir: string, options: { startedAt: Date; hostname: string; durationMs?: number }): Promise<{ junit: string; summary: string }> {
  await mkdir(dir, { recursive: true });
  const junit = join(dir, 'junit.xml');
  const summary = join(dir, 'summary.md');
  await writeFile(junit, renderQualificationJunit(qualification, options), 'utf8');
  await writeFile(summary, formatQualificationMarkdown(qualification), 'utf8');
  return { junit, summary };
}

/** `PANIC: title` then one line per occurrence: run, testsuite, test, file. */
export function describeOccurrences(signature: CrashSignature): string {
  return [`${signature.class}: ${signature.title}`, ...signature.occurrences.map((occurrence) => `  run ${occurrence.run}, ${occurrence.suite}, test "${occurrence.test}" (${occurrence.source})`)].join('\n');
}

function describeRates(qualification: Qualification): string {
  const rate = (evidence: StackEvidence): string => `${evidence.fatalEvents} fatal in ${formatNumber(evidence.exposureHours)} test-hours`;
  return `candidate ${rate(qualification.candidate)} vs baseline ${rate(qualification.baseline)}: one-sided p = ${formatNumber(qualification.rateTest.pValue)} < ${qualification.rateTest.alpha}`;
}

function evidenceProperties(side: string, evidence: StackEvidence): [string, string][] {
  return [
    [`gauntlet.metric.${side}_test_hours`, `${evidence.exposureHours} h`],
    [`gauntlet.metric.${side}_runs`, String(evidence.runs)],
    [`gauntlet.metric.${side}_fatal_events`, String(evidence.fatalEvents)],
  ];
}

function evidenceRow(label: string, evidence: StackEvidence): string {
  const interval = (low: number, high: number | null, format: (value: number) => string): string => `[${format(low)}–${high === null ? '∞' : format(high)}]`;
  const rate = evidence.fatalRate === null ? '-' : `${formatNumber(evidence.fatalRate)} ${interval(evidence.fatalRateInterval.low, evidence.fatalRateInterval.high, formatNumber)}`;
  const percent = (value: number): string => `${Number((value * 100).toPrecision(3))}%`;
  const pass = evidence.passRate === null ? '-' : `${percent(evidence.passRate)} ${interval(evidence.passRateInterval.low, evidence.passRateInterval.high, percent)}`;
  return `| ${label} | ${evidence.runs} | ${evidence.hosts} | ${evidence.tests} | ${formatNumber(evidence.exposureHours)} | ${evidence.fatalEvents} | ${rate} | ${pass} |`;
}

function formatNumber(value: number): string {
  if (value === 0 || !Number.isFinite(value)) return String(value);
  if (Math.abs(value) < 0.001) return value.toExponential(1);
  return Math.abs(value) >= 1000 ? String(Math.round(value)) : String(Number(value.toPrecision(3)));
}
