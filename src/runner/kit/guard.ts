// A suite's promise to leave the host as it found it: remember the host before, clean up after (even when a
// test failed or timed out), and assert that nothing was left behind and nothing else was touched.

import { cleanHost, compareInventories, takeInventory, type CleanResult, type HostInventory, type InventoryTolerance, type KitHost } from './hygiene.js';
import type { MetricSink } from './latency.js';
import type { Owner } from './owner.js';

export interface GuardedHost extends KitHost, MetricSink {
  log(message: string): void;
}

export interface HostGuard {
  /** For `before`: remembers what the host holds. */
  remember(): Promise<HostInventory>;
  /** For `after`: removes everything of this suite in this run; safe to call more than once. */
  cleanUp(): Promise<CleanResult>;
  /** For the suite's last test: cleans up, then throws listing every difference from what was remembered. */
  expectLeftAsFound(tolerance?: InventoryTolerance): Promise<void>;
}

export function guardHost(host: GuardedHost, owner: Owner): HostGuard {
  let before: HostInventory | null = null;
  const cleanUp = async (): Promise<CleanResult> => {
    const result = await cleanHost(host, { runId: owner.runId, suite: owner.suite });
    if (result.removed.length > 0) host.log(`cleanup removed ${result.removed.length}: ${result.removed.slice(0, 20).join('; ')}${result.removed.length > 20 ? ' …' : ''}`);
    for (const problem of result.problems) host.log(`cleanup problem: ${problem}`);
    return result;
  };
  return {
    async remember() {
      before = await takeInventory(host);
      return before;
    },
    cleanUp,
    async expectLeftAsFound(tolerance) {
      if (!before) throw new Error('the host was not remembered before the suite: call remember() in a before hook');
      const started = performance.now();
      const result = await cleanUp();
      host.metric('cleanup_ms', Math.round(performance.now() - started), 'ms');
      host.metric('cleanup_removed', result.removed.length);
      const after = await takeInventory(host);
      const differences = [...result.problems.map((p) => `cleanup: ${p}`), ...compareInventories(before, after, tolerance)];
      if (differences.length > 0) throw new Error(`the host is not as the suite found it:\n  ${differences.join('\n  ')}`);
    },
  };
}
