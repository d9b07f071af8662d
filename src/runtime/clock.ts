/** The clock actors' time comes from: real in production, manual in tests (advance without sleeping). */
export interface Clock {
  now(): number;
  /** Calls `fn` at `at` (ms); returns a handle for `cancel`. */
  schedule(at: number, fn: () => void): unknown;
  cancel(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  schedule(at, fn) {
    // setTimeout clamps delays above ~24.8 days, so a far timer re-arms until it is due.
    const h: { t?: NodeJS.Timeout } = {};
    const arm = (): void => {
      h.t = setTimeout(() => (Date.now() >= at ? fn() : arm()), Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1));
      h.t.unref();
    };
    arm();
    return h;
  },
  cancel(handle) {
    clearTimeout((handle as { t?: NodeJS.Timeout }).t);
  },
};

/** A clock that moves only when told to. Due callbacks run in time order. */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  constructor(start = Date.UTC(2026, 0, 5, 2, 0, 0)) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  schedule(at: number, fn: () => void): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at, fn });
    return id;
  }
  cancel(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** Moves time forward by `ms`, running every callback that falls due on the way. */
  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.pending) if (e[1].at <= target && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
      if (!next) break;
      this.pending.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = target;
  }
}
