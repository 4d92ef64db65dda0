// Bounded restarts for a stream that keeps ending: at most `max` restarts within a sliding window.

export class RestartBudget {
  private readonly times: number[] = [];

  constructor(
    readonly max: number,
    readonly windowMs: number,
  ) {}

  /** Takes one restart; false when `max` were already taken within the window. */
  take(now = Date.now()): boolean {
    while (this.times.length > 0 && now - this.times[0]! >= this.windowMs) this.times.shift();
    if (this.times.length >= this.max) return false;
    this.times.push(now);
    return true;
  }

  /** Forgets earlier restarts (after the host came back, say). */
  reset(): void {
    this.times.length = 0;
  }

  /** How many restarts were taken in the current window, 1 for the first. */
  get used(): number {
    return this.times.length;
  }
}
