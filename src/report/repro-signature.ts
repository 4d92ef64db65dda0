// The signature of a test's failure (its class and normalised title), whether a later attempt shows it again, and its file-name slug.

import type { KernelEventRecord, TestRecord } from '../model/index.js';
import { pickMostSevere } from './run-record.js';

/**
 * What a reproduction looks for. From a fatal kernel event when the test had one (`PANIC`, `Kernel panic - not
 * syncing: sysrq triggered crash`, with the event's alternative titles); else the test's own error type and its
 * message with numbers and addresses blanked out (`ASSERTION`, `expected NUM to equal NUM`).
 */
export interface ReproSignature {
  class: string;
  title: string;
  alt: string[];
  /** Where the signature came from: a kernel event, or the test's own error. */
  source: 'kernel-event' | 'test-error';
}

/** The signature of a failed or errored test; null for a test that passed or was skipped. */
export function findSignature(test: TestRecord): ReproSignature | null {
  if (test.outcome !== 'failed' && test.outcome !== 'error') return null;
  const fatal = pickMostSevere((test.kernelEvents ?? []).filter((event) => event.fatal && event.class === test.errorType));
  if (fatal) return { class: fatal.class, title: fatal.title, alt: unique(collectAltTitles(test.kernelEvents ?? [], fatal)), source: 'kernel-event' };
  return { class: test.errorType ?? test.outcome.toUpperCase(), title: normaliseMessage(test.message ?? ''), alt: [], source: 'test-error' };
}

/**
 * Whether an attempt's test shows the signature again. For a kernel signature: one of its kernel events has the same
 * class, and its title or one of its alternative titles is the signature's title or one of its alternatives. For a
 * test error: the same error type and the same normalised message.
 */
export function matchSignature(signature: ReproSignature, test: TestRecord): KernelEventRecord | true | null {
  if (signature.source === 'kernel-event') {
    const names = new Set([signature.title, ...signature.alt]);
    return (test.kernelEvents ?? []).find((event) => event.class === signature.class && [event.title, ...event.alt].some((title) => names.has(title))) ?? null;
  }
  if (test.outcome !== 'failed' && test.outcome !== 'error') return null;
  return test.errorType === signature.class && normaliseMessage(test.message ?? '') === signature.title ? true : null;
}

/**
 * The signature as a file-name part: its title lower-cased, every run of other characters than letters and digits
 * one `-`, at most 60 characters cut at a word; the class when the title leaves nothing.
 * `Kernel panic - not syncing: sysrq triggered crash` → `kernel-panic-not-syncing-sysrq-triggered-crash`.
 */
export function slugOfSignature(signature: Pick<ReproSignature, 'class' | 'title'>): string {
  const slugify = (text: string): string =>
    text
      .normalize('NFKD')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '');
  let slug = slugify(signature.title);
  if (slug.length > 60) {
    const cut = slug.slice(0, 61);
    slug = cut.includes('-') ? cut.slice(0, cut.lastIndexOf('-')) : cut.slice(0, 60);
  }
  return slug || slugify(signature.class) || 'failure';
}

/** A message with what changes from run to run blanked out: hex addresses ADDR, numbers NUM, spaces collapsed. */
export function normaliseMessage(message: string): string {
  return message
    .replace(/\b0x[0-9a-f]+\b/gi, 'ADDR')
    .replace(/\b[0-9a-f]{8,}\b/gi, 'ADDR')
    .replace(/\d+(\.\d+)?/g, 'NUM')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Every other title the test's events of the signature's class give the same bug: their titles and alternatives. */
function collectAltTitles(events: readonly KernelEventRecord[], chosen: KernelEventRecord): string[] {
  const same = events.filter((event) => event.class === chosen.class && (event === chosen || event.title === chosen.title || event.alt.includes(chosen.title)));
  return [...chosen.alt, ...same.flatMap((event) => [event.title, ...event.alt])].filter((title) => title !== chosen.title);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
