/**
 * The partitions a node is next in line for, kept current from their logs as their owners write them: the node that
 * takes a lost node's partition over is the one next in line (rendezvous order), and it then reads only what its
 * owner wrote since the last records it took in, however long the partition's history. So are the partitions about
 * to move to the node (it joins, or its share grows): their new owner then reads only what came after its catch-up.
 *
 * Every record names the partition's sequence before it, so a record is taken in only when it follows what this node
 * holds of the partition (LogReplicator.knownThrough); otherwise, or when the node holds nothing of it yet, the
 * missing records are read from the log first (in the background; records meanwhile wait for the next read). A
 * partition this node owns, has appended to itself, or holds diverged is left to the takeover and its own appends.
 * Records are taken in batches, `batchMs` after the first of them and one batch at a time, each a runtime import
 * (Runtime.keepPartitions), so checkpoints run between them.
 */
import type { Logger } from 'pino';
import type { PartitionImport } from '../runtime/runtime';
import type { LogReplicator } from './log-replicator';
import { bufferOf, type FollowedRecord, type PartitionLogs } from './partition-log';

export interface StandbyOptions {
  /** True while this node holds the partition's lease. */
  owns(partition: number): boolean;
  /** True for a partition this node is next in line for, or about to gain. */
  follows(partition: number): boolean;
  replicator: Pick<LogReplicator, 'knownThrough' | 'caughtUp' | 'forget' | 'abandoned' | 'wrote'>;
  logs: Pick<PartitionLogs, 'recordsOf' | 'lastSequence'>;
  /** Imports records of partitions (Runtime.keepPartitions): `parts` is called just before, and its result imported. */
  keep(parts: () => PartitionImport[]): Promise<number>;
  log: Logger;
  batchMs?: number;
}

/**
 * Records of one partition to take in: those after `after` (undefined: the whole log, over nothing kept) through
 * `through`; `more`: read up to the end of a stretch, with the log going on past it.
 */
interface Run { after: number | undefined; through: number; records: Buffer[]; more?: boolean }

const BATCH_MS = 50;
/** How long a failed read of a partition's missing records waits before the next record may ask again. */
const RETRY_MS = 1000;
/**
 * How much of the stream one read of a partition's missing records covers: a partition with a long history is taken
 * in a stretch at a time (with 64 partitions, about a thousand of its records), so a node catching up holds a
 * stretch of each partition in memory, not whole histories.
 */
export const READ_STRETCH = 65_536;

export class StandbyPartitions {
  private queued: FollowedRecord[] = [];
  private readonly reads = new Map<number, Run>();
  /** Partitions whose missing records are being read (or whose read failed a moment ago). */
  private readonly reading = new Set<number>();
  private timer?: NodeJS.Timeout;
  /** A batch being taken in: the next waits for it. */
  private flushing = false;
  private stopped = false;
  /** Turns taken in, and reads of missing records made. */
  turns = 0;
  catchUps = 0;

  constructor(private readonly o: StandbyOptions) {}

  /** A record or claim marker of some partition's log, as followed (in stream order). */
  offer(r: FollowedRecord): void {
    if (this.stopped || !this.kept(r.partition) || this.o.replicator.wrote(r.writer)) return;
    this.queued.push(r);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * Reads what this node misses of partitions it keeps current (a node about to join: `follows` says them), a
   * stretch at a time, to be taken in with the next batches; their records then follow. Resolves once each is taken
   * in through the log's end as it stood now (true), or false once `stop` says so or no partition has come further
   * for `stallMs`.
   */
  async catchUp(partitions: number[], o: { stop: () => boolean; stallMs: number; pollMs?: number }): Promise<boolean> {
    const ends = new Map(await Promise.all(partitions.map(async (p) => [p, await this.o.logs.lastSequence(p)] as const)));
    const held = (p: number): number => this.o.replicator.knownThrough(p) ?? -1;
    // Progress is a partition held further than ever before: one whose import fails, read again from its start, only
    // comes back to where it was.
    const furthest = new Map<number, number>();
    let movedAt = performance.now();
    for (;;) {
      const behind = partitions.filter((p) => this.kept(p) && held(p) < ends.get(p)!);
      // Once their import has ended, too (the positions are set just before it).
      if (behind.length === 0 && !this.flushing) return true;
      for (const p of partitions) {
        if (held(p) <= (furthest.get(p) ?? -1)) continue;
        furthest.set(p, held(p));
        movedAt = performance.now();
      }
      if (o.stop() || this.stopped || performance.now() - movedAt > o.stallMs) return false;
      for (const p of behind) this.read(p);
      await new Promise((r) => setTimeout(r, o.pollMs ?? 50));
    }
  }

  /** True for a partition this node keeps current: next in line for it or about to gain it, not its owner, its state not diverged. */
  private kept(p: number): boolean {
    return this.o.follows(p) && !this.o.owns(p) && !this.o.replicator.abandoned().has(p);
  }

  private schedule(): void {
    if (this.timer || this.flushing || this.stopped) return;
    this.timer = setTimeout(() => this.flush(), this.o.batchMs ?? BATCH_MS);
  }

  private flush(): void {
    this.timer = undefined;
    this.flushing = true;
    const queued = this.queued;
    this.queued = [];
    const imported: number[] = [];
    this.o.keep(() => {
      // Decided here, just before the import: a partition gained meanwhile is the takeover's, and what the node
      // holds of each is as of now.
      const runs = new Map<number, Run>();
      for (const [p, run] of this.reads) if (this.kept(p) && this.o.replicator.knownThrough(p) === run.after) runs.set(p, run);
      this.reads.clear();
      // Read once what is taken in now is held (a read begun before would read it again).
      const missing = new Set([...runs].filter(([, run]) => run.more).map(([p]) => p));
      for (const r of queued) {
        const p = r.partition;
        if (!this.kept(p)) continue;
        const run = runs.get(p);
        const held = run ? run.through : this.o.replicator.knownThrough(p);
        if (held !== undefined && r.seq <= held) continue;
        if (held === undefined || r.prev !== held) {
          missing.add(p);
          continue;
        }
        if (run) {
          run.through = r.seq;
          if (r.record) run.records.push(bufferOf(r.record));
        } else {
          runs.set(p, { after: held, through: r.seq, records: r.record ? [bufferOf(r.record)] : [] });
        }
      }
      for (const [p, run] of runs) {
        this.o.replicator.caughtUp(p, run.through);
        imported.push(p);
      }
      for (const p of missing) this.read(p);
      return [...runs].map(([partition, run]) => ({ partition, records: run.records, fresh: run.after === undefined }));
    }).then((turns) => {
      this.turns += turns;
    }, (err: unknown) => {
      // Not kept current from here: a takeover reads the partitions whole again.
      for (const p of imported) this.o.replicator.forget(p);
      this.o.log.error({ err, partitions: imported }, 'taking in records of partitions next in line failed');
    }).finally(() => {
      this.flushing = false;
      if (this.queued.length > 0 || this.reads.size > 0) this.schedule();
    });
  }

  /** Reads the records of a partition missing here, to be taken in with the next batch. */
  private read(p: number): void {
    if (this.reading.has(p) || this.reads.has(p)) return;
    this.reading.add(p);
    this.catchUps++;
    const after = this.o.replicator.knownThrough(p);
    void (async () => {
      try {
        // Over what it holds, not its own records: they are in its state already, even those whose append is still
        // waiting for its answer (the position has not reached them yet).
        const mine = after === undefined ? undefined : (w: string | undefined): boolean => this.o.replicator.wrote(w);
        const stretchEnd = (after ?? 0) + READ_STRETCH;
        const { records, last } = await this.o.logs.recordsOf(p, after ?? 0, stretchEnd, mine);
        this.reading.delete(p);
        if (this.stopped) return;
        this.reads.set(p, { after, through: last, records, more: last === stretchEnd });
        this.schedule();
      } catch (err) {
        this.o.log.warn({ err, partition: p }, 'reading a partition log next in line failed; trying again with its next record');
        setTimeout(() => this.reading.delete(p), RETRY_MS).unref();
      }
    })();
  }
}
