// classifyLog: a whole console log in, its crash reports and kernel events out.

import type { KernelEvent, LogClassification } from '../model/fault.js';
import { LogEngine, type LogEngineOptions } from './engine.js';
import { isCrashEvent } from './severity.js';

/**
 * Classifies a whole console log (any of the prefixes consoles, dmesg, journalctl and syslog add). The events'
 * excerpts are parts of `text` and keep it in memory while they are kept, unless `copyExcerpts` is set.
 */
export function classifyLog(text: string, options: LogEngineOptions = {}): LogClassification {
  const engine = new LogEngine(options);
  engine.feed(text, 0);
  engine.finish();
  return summarizeEvents(engine.takeEvents());
}

/**
 * What a log's events add up to: the events in log order (a stream classifier's detection times dropped), the
 * first that is a crash (anything but an informational event) as the primary.
 */
export function summarizeEvents(found: readonly (KernelEvent & { detectedAtMs?: number })[]): LogClassification {
  const events: KernelEvent[] = found
    .map(({ detectedAtMs: _detectedAtMs, ...event }) => event)
    .sort((a, b) => a.startLine - b.startLine);
  const primary = events.find(isCrashEvent) ?? null;
  return { crashed: primary !== null, primary, events };
}
