/** Counting what was sent, acknowledged and delivered, with latency histograms and a per-second timeline. */
import * as hdr from 'hdr-histogram-js';

/** Probe ids start here; setup messages use smaller randoms, so the server never takes a probe for a retry. */
export const PROBE_BASE = 1000;

/** Probe messages carry `lt:<id>:<sent ms>:` and padding up to the message size. */
export function probeText(id: number, sentMs: number, size: number): string {
  const head = `lt:${id}:${sentMs.toFixed(3)}:`;
  return head.length >= size ? head : head + 'x'.repeat(size - head.length);
}

export function parseProbe(t: string | undefined): { id: number; sentMs: number } | undefined {
  if (!t || !t.startsWith('lt:')) return undefined;
  const [, id, sent] = t.split(':', 3);
  return { id: Number(id), sentMs: Number(sent) };
}

const BOUNDS_MS = [0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, Infinity];

export class Tracker {
  sent = 0;
  readonly acked = new Set<number>();
  readonly delivered = new Map<number, number>();
  duplicates = 0;
  readonly latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  /** Deliveries per second since start. */
  readonly timeline: number[] = [];
  private readonly bucketCounts = BOUNDS_MS.map(() => 0);
  constructor(private readonly startMs: number) {}

  send(): void {
    this.sent++;
  }
  /** When the last acknowledgement arrived (ms, performance clock). */
  lastAckAt = 0;
  ack(id: number): void {
    if (id < PROBE_BASE) return;
    this.acked.add(id);
    this.lastAckAt = performance.now();
  }
  deliver(id: number, sentMs: number, nowMs: number): void {
    const n = this.delivered.get(id) ?? 0;
    this.delivered.set(id, n + 1);
    if (n > 0) { this.duplicates++; return; }
    const ms = nowMs - sentMs;
    this.latency.recordValue(Math.max(1, Math.round(ms * 1000)));
    this.bucketCounts[BOUNDS_MS.findIndex((b) => ms <= b)]++;
    const sec = Math.floor((nowMs - this.startMs) / 1000);
    while (this.timeline.length <= sec) this.timeline.push(0);
    this.timeline[sec]++;
  }
  /** Acknowledged (or, without acks, sent) probes never delivered. */
  lost(ids: Iterable<number>): number {
    let n = 0;
    for (const id of ids) if (!this.delivered.has(id)) n++;
    return n;
  }
  percentileMs(p: number): number {
    return this.latency.totalCount ? this.latency.getValueAtPercentile(p) / 1000 : 0;
  }
  /** Latency histogram buckets (ms upper bound → count) for the report. */
  buckets(): { le: number; n: number }[] {
    return BOUNDS_MS.map((le, i) => ({ le, n: this.bucketCounts[i] }));
  }
}
