// Pure: a candidate stack's evidence against a baseline's gives a verdict: pass, fail (with evidence) or insufficient.

import { GauntletError, STACK_FIELDS, type Qualification, type RankCriteria, type ResultSuite, type StackField } from '../model/index.js';
import { collectEvidence, formatHours, listMissingEvidence, signatureId } from './evidence.js';
import { DEFAULT_CRITERIA, describeRate, filterSince, formatRate, hasStack } from './rank-stacks.js';
import { ALPHA, compareRates } from './statistics.js';

/** `kernel=6.1.0-56-amd64,storage_driver=overlay2,label.disk=nvme`: every pair must match. */
export interface StackSelector {
  text: string;
  /** Stack fields to match. */
  terms: { field: StackField; value: string }[];
  /** Host labels to match (`label.NAME=VALUE`; a bare label of the inventory is `true`). */
  labels: { name: string; value: string }[];
}

const EXPECTED_SELECTOR = `expected FIELD=VALUE[,FIELD=VALUE…] with FIELD one of ${STACK_FIELDS.join(', ')} or label.NAME`;

/** Reads a selector. Throws a USAGE GauntletError naming what was expected and what was received. */
export function parseSelector(option: string, text: string): StackSelector {
  const terms: StackSelector['terms'] = [];
  const labels: StackSelector['labels'] = [];
  const parts = text.split(',').map((part) => part.trim());
  if (text.trim() === '' || parts.some((part) => part === '')) throw new GauntletError('USAGE', `${option}: ${EXPECTED_SELECTOR}, got ${JSON.stringify(text)}`);
  for (const part of parts) {
    const equals = part.indexOf('=');
    const field = equals < 0 ? part : part.slice(0, equals).trim();
    const value = equals < 0 ? '' : part.slice(equals + 1).trim();
    if (field.startsWith('label.') && field.length > 'label.'.length && equals > 0 && value !== '') {
      labels.push({ name: field.slice('label.'.length), value });
      continue;
    }
    if (equals < 0 || value === '' || !(STACK_FIELDS as readonly string[]).includes(field)) {
      throw new GauntletError('USAGE', `${option}: ${EXPECTED_SELECTOR}, got ${JSON.stringify(part)}`);
    }
    terms.push({ field: field as StackField, value });
  }
  return { text, terms, labels };
}

export function matchesSelector(suite: ResultSuite, selector: StackSelector): boolean {
  return selector.terms.every((term) => suite.stack[term.field] === term.value) && selector.labels.every((label) => suite.labels?.[label.name] === label.value);
}

export interface QualifyOptions extends Partial<RankCriteria> {
  since?: Date | null;
}

/**
 * The verdict, in this order:
 *   - fail: the candidate has a crash signature the baseline lacks, or its fatal-event rate is significantly worse
 *     (one-sided conditional binomial test at 5%): a crash is evidence however short the exposure;
 *   - insufficient: otherwise, when the candidate has less than minHours test-hours or fewer than minRuns runs;
 *   - pass: otherwise.
 * A selector that matches no testsuite is bad input (USAGE), with the values present for its fields.
 */
export function qualifyCandidate(suites: readonly ResultSuite[], baselineSelector: StackSelector, candidateSelector: StackSelector, options: QualifyOptions = {}): Qualification {
  const criteria: RankCriteria = { minHours: options.minHours ?? DEFAULT_CRITERIA.minHours, minRuns: options.minRuns ?? DEFAULT_CRITERIA.minRuns };
  const usable = filterSince(suites.filter(hasStack), options.since ?? null);
  const pick = (option: string, selector: StackSelector): ResultSuite[] => {
    const matched = usable.filter((suite) => matchesSelector(suite, selector));
    if (matched.length === 0) {
      const present = [
        ...selector.terms.map((term) => `${term.field}: ${[...new Set(usable.map((suite) => suite.stack[term.field] ?? 'unknown'))].sort().join(' | ') || 'none'}`),
        ...selector.labels.map((label) => `label.${label.name}: ${[...new Set(usable.map((suite) => suite.labels?.[label.name] ?? 'unset'))].sort().join(' | ') || 'none'}`),
      ];
      throw new GauntletError('USAGE', `${option} ${selector.text}: matched no testsuite with stack properties (present: ${present.join('; ')})`);
    }
    return matched;
  };
  const baselineSuites = pick('--baseline', baselineSelector);
  const candidateSuites = pick('--candidate', candidateSelector);
  const describe = (selector: StackSelector): Partial<Record<StackField, string>> => Object.fromEntries(selector.terms.map((term) => [term.field, term.value]));
  const baseline = collectEvidence(baselineSelector.text, describe(baselineSelector), baselineSuites);
  const candidate = collectEvidence(candidateSelector.text, describe(candidateSelector), candidateSuites);

  const known = new Set(baseline.signatures.map(signatureId));
  const newSignatures = candidate.signatures.filter((signature) => !known.has(signatureId(signature)));
  const pValue = compareRates({ count: baseline.fatalEvents, exposure: baseline.exposureHours }, { count: candidate.fatalEvents, exposure: candidate.exposureHours });
  const worse = pValue < ALPHA;
  const missing = listMissingEvidence(candidate, criteria.minHours, criteria.minRuns);

  const reasons: string[] = [];
  for (const signature of newSignatures) reasons.push(`new crash signature ${signatureId(signature)} (${signature.count}× in ${signature.runs.length} run${signature.runs.length === 1 ? '' : 's'})`);
  const rates = `candidate ${describeRate(candidate)}, baseline ${describeRate(baseline)}`;
  if (worse) reasons.push(`fatal-event rate significantly worse: ${rates} (one-sided p = ${formatP(pValue)} < ${ALPHA})`);
  let verdict: Qualification['verdict'] = newSignatures.length > 0 || worse ? 'fail' : 'pass';
  if (verdict === 'pass' && missing.length > 0) {
    verdict = 'insufficient';
    reasons.push(`insufficient evidence for the candidate: ${missing.join(', ')}`);
  }
  if (verdict === 'pass') {
    reasons.push(`no new crash signature and fatal-event rate not significantly worse (one-sided p = ${formatP(pValue)}): ${rates}`);
    reasons.push(`candidate exposure ${formatHours(candidate.exposureHours)} test-hours over ${candidate.runs} runs (minimum ${formatHours(criteria.minHours)} over ${criteria.minRuns})`);
  }
  return {
    verdict,
    reasons,
    baselineSelector: baselineSelector.text,
    candidateSelector: candidateSelector.text,
    ...criteria,
    baseline,
    candidate,
    newSignatures,
    rateTest: { pValue, alpha: ALPHA, worse },
    missing,
  };
}

function formatP(p: number): string {
  return p < 0.001 ? p.toExponential(1) : formatRate(p);
}
