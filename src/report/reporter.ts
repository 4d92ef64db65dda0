// The Reporter interface: optional hooks a run calls as it goes, and a multiplexer that keeps one bad reporter from breaking a run.

import type { JournalEvent, RunRecord, RunStartEvent, RunSummary } from '../model/index.js';

export interface Reporter {
  /** The run begins: identity, selection, suites, seed. */
  onRunStart?(start: RunStartEvent): void;
  /** Every event after run-start, in the order the runner received it. */
  onEvent?(event: JournalEvent): void;
  /** The run is over and its record is final (rebuilt from the journal). */
  onRunEnd?(record: RunRecord, summary: RunSummary, reportDir: string): void | Promise<void>;
}

/** Calls every reporter's hook inside try/catch; a failing reporter is reported once and then left out. */
export class ReporterMultiplexer implements Reporter {
  private readonly broken = new Set<Reporter>();

  constructor(
    private readonly reporters: Reporter[],
    private readonly onReporterError: (err: unknown) => void = (err) =>
      process.stderr.write(`gauntlet: a reporter failed and was switched off: ${err instanceof Error ? err.message : String(err)}\n`),
  ) {}

  private call(hook: (reporter: Reporter) => void | Promise<void>): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const reporter of this.reporters) {
      if (this.broken.has(reporter)) continue;
      try {
        const result = hook(reporter);
        if (result instanceof Promise) pending.push(result.catch((err: unknown) => this.disable(reporter, err)));
      } catch (err) {
        this.disable(reporter, err);
      }
    }
    return Promise.all(pending).then(() => undefined);
  }

  private disable(reporter: Reporter, err: unknown): void {
    this.broken.add(reporter);
    this.onReporterError(err);
  }

  onRunStart(start: RunStartEvent): void {
    void this.call((reporter) => reporter.onRunStart?.(start));
  }

  onEvent(event: JournalEvent): void {
    void this.call((reporter) => reporter.onEvent?.(event));
  }

  onRunEnd(record: RunRecord, summary: RunSummary, reportDir: string): Promise<void> {
    return this.call((reporter) => reporter.onRunEnd?.(record, summary, reportDir));
  }
}
