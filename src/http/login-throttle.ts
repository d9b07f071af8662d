/**
 * Failed sign-ins by key (an app and a mail): after MAX_FAILURES within WINDOW_MS the key is refused until the
 * oldest of them is WINDOW_MS old, so passwords cannot be guessed quickly. A success clears the key.
 */
import type { Clock } from '../runtime/clock';

const MAX_FAILURES = 5;
const WINDOW_MS = 60_000;
/** Keys kept at most: mails an attacker makes up must not grow the memory without bound. */
const MAX_KEYS = 100_000;

export class LoginThrottle {
  /** The times of each key's last failures, oldest first; the map is in the order of the keys' last failures. */
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly clock: Clock) {}

  /** Whole seconds until `key` may try again; 0 when it may now. */
  waitSec(key: string): number {
    const times = this.failures.get(key);
    if (!times || times.length < MAX_FAILURES) return 0;
    return Math.max(0, Math.ceil((times[0] + WINDOW_MS - this.clock.now()) / 1000));
  }

  failed(key: string): void {
    const now = this.clock.now();
    const times = (this.failures.get(key) ?? []).filter((t) => now - t < WINDOW_MS).concat(now).slice(-MAX_FAILURES);
    this.failures.delete(key);
    this.failures.set(key, times);
    // The keys whose last failure is out of the window count for nothing; they are first in the map.
    for (const [k, ts] of this.failures) {
      if (now - ts[ts.length - 1] < WINDOW_MS && this.failures.size <= MAX_KEYS) break;
      this.failures.delete(k);
    }
  }

  succeeded(key: string): void {
    this.failures.delete(key);
  }
}
