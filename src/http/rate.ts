/** Token buckets by key (an app and an endpoint), refilled from the server's clock. */
import type { Clock } from '../runtime/clock';

export class RateBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly clock: Clock) {}

  /** Takes one call of at most `rate` per second under `key`; false when none is left. */
  take(key: string, rate: number): boolean {
    const now = this.clock.now();
    const b = this.buckets.get(key) ?? { tokens: rate, at: now };
    b.tokens = Math.min(rate, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
