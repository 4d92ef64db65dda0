// Collects the durations of one kind of engine operation and reports their percentiles as metrics.

import { quantileSorted } from 'simple-statistics';

export interface MetricSink {
  metric(name: string, value: number, unit?: string): void;
}

/** Durations of one operation, in milliseconds. */
export class Latencies {
  private readonly samples: number[] = [];
  private failures = 0;

  constructor(readonly name: string) {}

  /** Times `operation`; a rejection is counted and rethrown. */
  async time<T>(operation: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await operation();
      this.samples.push(performance.now() - started);
      return result;
    } catch (err) {
      this.failures++;
      throw err;
    }
  }

  /** Adds a duration measured elsewhere (on the host, by a script), in milliseconds. */
  add(ms: number): void {
    this.samples.push(ms);
  }

  /** Counts a failed operation measured elsewhere. */
  addFailure(): void {
    this.failures++;
  }

  get count(): number {
    return this.samples.length;
  }

  /** The `q` quantile (0..1) in milliseconds, or null without samples. */
  quantile(q: number): number | null {
    if (this.samples.length === 0) return null;
    return quantileSorted([...this.samples].sort((a, b) => a - b), q);
  }

  /** Records `<name>_p50_ms`, `<name>_p99_ms`, `<name>_max_ms`, `<name>_count` and `<name>_failures`. */
  report(sink: MetricSink): void {
    sink.metric(`${this.name}_count`, this.samples.length);
    sink.metric(`${this.name}_failures`, this.failures);
    if (this.samples.length === 0) return;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const round = (ms: number) => Math.round(ms * 10) / 10;
    sink.metric(`${this.name}_p50_ms`, round(quantileSorted(sorted, 0.5)), 'ms');
    sink.metric(`${this.name}_p99_ms`, round(quantileSorted(sorted, 0.99)), 'ms');
    sink.metric(`${this.name}_max_ms`, round(sorted[sorted.length - 1]!), 'ms');
  }
}
