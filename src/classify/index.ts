// Kernel-log classification: crash reports and kernel events from console text, with patterns kept as data.

export { classifyLog, summarizeEvents } from './classify-log.js';
export { createStreamClassifier, type StreamClassifier, type StreamClassifierOptions } from './stream.js';
export type { LogEngineOptions } from './engine.js';
export { compareEventSeverity, isCrashEvent, mostSevereEvent, severityOf } from './severity.js';
export { KERNEL_LOG_RULES, type KernelLogRule, type StackRule } from './rules.js';
export { SKIPPED_FRAME_WORDS, SKIPPED_FRAMES } from './frames.js';
export { normalizeTitle } from './title.js';
export { stripConsolePrefix } from './console-prefix.js';
export type { DetectedKernelEvent, FaultClass, KernelEvent, LogClassification } from '../model/fault.js';
