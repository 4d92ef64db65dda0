// The stream classifier: console or kmsg text as it arrives, in chunks cut anywhere, gives the same events as
// classifyLog on the whole text, each as soon as its report is complete.

import type { DetectedKernelEvent, FaultClass } from '../model/fault.js';
import { LogEngine } from './engine.js';

export interface StreamClassifierOptions {
  /** A report with no new line for this long is complete (checked on each push). Default 5000 ms. */
  quietMs?: number;
  /**
   * Give each event an excerpt of its own instead of a part of the chunk it came in, which keeps that whole chunk
   * in memory for as long as the event is kept: for a caller that keeps events for hours. Default false.
   */
  copyExcerpts?: boolean;
}

export interface StreamClassifier {
  /** Feeds a chunk that arrived at `atMs`; returns the events whose report is now complete. */
  push(text: string, atMs: number): DetectedKernelEvent[];
  /** Finishes everything pending (the stream ended, or went quiet): the unfinished last line and the open report. */
  flush(atMs: number): DetectedKernelEvent[];
  /** The report whose header was seen but which is not complete yet, or null. Its title may still change. */
  pending(): { class: FaultClass; title: string; startedAtMs: number } | null;
  /** The machine is about to be restarted on purpose (a power cycle): its next boot is not an unexpected reboot. */
  expectRestart(): void;
}

/** A line longer than this without a newline is taken as it is (a console spewing binary must not grow memory). */
const MAX_PARTIAL_LINE = 1024 * 1024;

export function createStreamClassifier(options: StreamClassifierOptions = {}): StreamClassifier {
  const quietMs = options.quietMs ?? 5000;
  const engine = new LogEngine({ copyExcerpts: options.copyExcerpts ?? false });
  let partial = '';
  return {
    push(text, atMs) {
      engine.expire(atMs, quietMs);
      const lastNewline = text.lastIndexOf('\n');
      if (lastNewline === -1) {
        partial += text;
        if (partial.length > MAX_PARTIAL_LINE) {
          engine.feed(`${partial}\n`, atMs);
          partial = '';
        }
      } else {
        // The line the last chunk left unfinished is completed on its own; the chunk's whole lines are fed as
        // they came, without copying them into one string with it.
        const firstNewline = partial === '' ? -1 : text.indexOf('\n');
        if (firstNewline !== -1) engine.feed(partial + text.slice(0, firstNewline + 1), atMs);
        if (lastNewline > firstNewline) engine.feed(text.slice(firstNewline + 1, lastNewline + 1), atMs);
        partial = text.slice(lastNewline + 1);
      }
      return engine.takeEvents();
    },
    flush(atMs) {
      if (partial !== '') engine.feed(partial, atMs);
      partial = '';
      engine.finish();
      return engine.takeEvents();
    },
    pending() {
      return engine.pending();
    },
    expectRestart() {
      engine.expectRestart();
    },
  };
}
