/**
 * The monitor's "today" figures (product.md §8.1) kept as sums per 15-minute slot while facts change, so a
 * dashboard asking every second costs a few dozen additions, not a scan of the day's sessions. A session counts its
 * request in the slot it asked for a human, and everything else in the slot it was accepted; each change replaces
 * the session's earlier contribution. Slots of 15 minutes fit every time zone's midnight.
 */
import type { SessionFacts } from './facts';

const SLOT_MS = 15 * 60_000;
/** Contributions and slots older than this are let go (a day and a margin for the longest queue). */
const KEEP_MS = 2 * 86_400_000;

interface Sums {
  requested: number; accepted: number; queueSum: number;
  firstCnt: number; firstSum: number; respCnt: number; respSum: number; durCnt: number; durSum: number;
  rated: number; stars: [number, number, number, number, number];
}

interface Contribution { app: number; requestSlot?: number; acceptSlot?: number; sums: Sums; latest: number }

const empty = (): Sums => ({ requested: 0, accepted: 0, queueSum: 0, firstCnt: 0, firstSum: 0, respCnt: 0, respSum: 0, durCnt: 0, durSum: 0, rated: 0, stars: [0, 0, 0, 0, 0] });

/** Adds (or, with -1, takes back) sums into `to`; the request count only when asked (it has a slot of its own). */
function add(to: Sums, x: Sums, sign: 1 | -1, requested: boolean): void {
  if (requested) to.requested += sign * x.requested;
  to.accepted += sign * x.accepted;
  to.queueSum += sign * x.queueSum;
  to.firstCnt += sign * x.firstCnt;
  to.firstSum += sign * x.firstSum;
  to.respCnt += sign * x.respCnt;
  to.respSum += sign * x.respSum;
  to.durCnt += sign * x.durCnt;
  to.durSum += sign * x.durSum;
  to.rated += sign * x.rated;
  for (let i = 0; i < 5; i++) to.stars[i] += sign * x.stars[i];
}

/** What one session adds to its slots. */
function contributionOf(f: SessionFacts): Contribution {
  const sums = empty();
  if (f.requestedAt !== undefined) sums.requested = 1;
  if (f.acceptedAt !== undefined) {
    sums.accepted = 1;
    sums.queueSum = f.queueMs ?? 0;
    const first = Math.min(...f.receptions.map((r) => r.firstReplyAt ?? Infinity));
    if (Number.isFinite(first)) { sums.firstCnt = 1; sums.firstSum = first - f.acceptedAt; }
    const cnt = f.receptions.reduce((n, r) => n + r.respCnt, 0);
    if (cnt > 0) { sums.respCnt = 1; sums.respSum = f.receptions.reduce((n, r) => n + r.respSum, 0) / cnt; }
    if (f.endedAt !== undefined) { sums.durCnt = 1; sums.durSum = f.endedAt - f.acceptedAt; }
    if (f.level !== undefined) { sums.rated = 1; sums.stars[f.level - 1] = 1; }
  }
  return {
    app: f.app,
    requestSlot: f.requestedAt !== undefined ? Math.floor(f.requestedAt / SLOT_MS) : undefined,
    acceptSlot: f.acceptedAt !== undefined ? Math.floor(f.acceptedAt / SLOT_MS) : undefined,
    sums,
    latest: Math.max(f.requestedAt ?? 0, f.acceptedAt ?? 0),
  };
}

export class TodayCounters {
  private readonly slots = new Map<number, Map<number, Sums>>();
  private readonly contributions = new Map<string, Contribution>();
  /** The latest request or acceptance seen: what "old" is measured from. */
  private latest = 0;

  /** A session's facts as they are now (its earlier contribution is taken back first). */
  update(key: string, f: SessionFacts): void {
    this.remove(key);
    if (f.requestedAt === undefined) return;
    const c = contributionOf(f);
    if (this.latest - c.latest > KEEP_MS) return;
    this.latest = Math.max(this.latest, c.latest);
    this.apply(c, 1);
    this.contributions.set(key, c);
    if (this.contributions.size % 10_000 === 0) this.prune();
  }

  remove(key: string): void {
    const c = this.contributions.get(key);
    if (!c) return;
    this.apply(c, -1);
    this.contributions.delete(key);
  }

  /** The figures of [from, to] (ms): requests made, and sessions accepted, in it. */
  figures(app: number, from: number, to: number): Sums {
    const out = empty();
    const slots = this.slots.get(app);
    if (!slots) return out;
    for (let s = Math.floor(from / SLOT_MS); s <= Math.floor(to / SLOT_MS); s++) {
      const x = slots.get(s);
      if (x) add(out, x, 1, true);
    }
    return out;
  }

  private apply(c: Contribution, sign: 1 | -1): void {
    let slots = this.slots.get(c.app);
    if (!slots) this.slots.set(c.app, (slots = new Map()));
    const slot = (i: number): Sums => {
      let x = slots!.get(i);
      if (!x) slots!.set(i, (x = empty()));
      return x;
    };
    if (c.requestSlot !== undefined) slot(c.requestSlot).requested += sign * c.sums.requested;
    if (c.acceptSlot !== undefined) add(slot(c.acceptSlot), c.sums, sign, false);
  }

  private prune(): void {
    for (const [key, c] of this.contributions) if (this.latest - c.latest > KEEP_MS) this.contributions.delete(key);
    const oldest = Math.floor((this.latest - KEEP_MS) / SLOT_MS);
    for (const slots of this.slots.values()) for (const i of slots.keys()) if (i < oldest) slots.delete(i);
  }
}

