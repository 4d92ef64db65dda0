// Severity of classified events: whether an event is a crash, and which of several events is the most severe.

import { FAULT_SEVERITY_ORDER, type FaultSeverity, type KernelEvent } from '../model/fault.js';
import { severityOfRule } from './report.js';
import { KERNEL_LOG_RULES } from './rules.js';

const RULE_SEVERITY = new Map(KERNEL_LOG_RULES.map((rule) => [rule.name, severityOfRule(rule)]));
const CLASS_RANK = new Map(FAULT_SEVERITY_ORDER.map((entry, index) => [entry.class, index]));
const CLASS_SEVERITY = new Map(FAULT_SEVERITY_ORDER.map((entry) => [entry.class, entry.severity]));
const SEVERITY_RANK: Record<FaultSeverity, number> = { fatal: 0, degraded: 1, info: 2 };

/** An event's severity: fatal when it says so, else its rule's (or its class's) severity. */
export function severityOf(event: KernelEvent): FaultSeverity {
  if (event.fatal) return 'fatal';
  const severity = RULE_SEVERITY.get(event.rule) ?? CLASS_SEVERITY.get(event.class) ?? 'degraded';
  // Not fatal although its rule is: only an event built by hand can say so; believe the event.
  return severity === 'fatal' ? 'degraded' : severity;
}

const CRASH_CLASSES = new Set(FAULT_SEVERITY_ORDER.filter((entry) => entry.crash).map((entry) => entry.class));

/**
 * A crash: a fatal event, or a bug or failure the kernel reported (a warning, a filesystem error), not a
 * condition it handled (the global OOM killer) nor information (an OOM kill inside a memory cgroup, a reboot).
 */
export function isCrashEvent(event: KernelEvent): boolean {
  if (event.fatal) return true;
  return severityOf(event) !== 'info' && CRASH_CLASSES.has(event.class);
}

/**
 * Orders events most severe first, deterministically (the tie-break documented with FAULT_SEVERITY_ORDER):
 * severity, then class order, then the earlier event, then the title.
 */
export function compareEventSeverity(a: KernelEvent & { detectedAtMs?: number }, b: KernelEvent & { detectedAtMs?: number }): number {
  return (
    SEVERITY_RANK[severityOf(a)] - SEVERITY_RANK[severityOf(b)] ||
    (CLASS_RANK.get(a.class) ?? 99) - (CLASS_RANK.get(b.class) ?? 99) ||
    (a.detectedAtMs ?? 0) - (b.detectedAtMs ?? 0) ||
    a.startLine - b.startLine ||
    (a.title < b.title ? -1 : a.title > b.title ? 1 : 0)
  );
}

/** The most severe of some events, or null. */
export function mostSevereEvent<T extends KernelEvent>(events: readonly T[]): T | null {
  return events.length === 0 ? null : [...events].sort(compareEventSeverity)[0]!;
}
