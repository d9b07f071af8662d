/**
 * The cluster's part of the commit pipeline: a node's committed turns, grouped by partition (store.ts), appended to
 * the partitions' logs (partition-log.ts), so a turn is acknowledged only once JetStream holds it.
 *
 * The log decides who writes a partition, not the lease: the node claims a partition's log each time it gains the
 * partition (which fences off whoever wrote it before), and keeps its writer when it loses the lease, so turns made
 * while it held the partition still land unless another node has claimed the log since. An append that fails for a
 * passing reason (no JetStream leader for a moment, a lost answer) is asked again with the same message id; one that
 * another node's claim fenced off is given up. A partition with a record given up is "diverged": its later records are
 * given up too (the log must not skip turns) until the node gains the partition again.
 *
 * It also knows, per partition, up to which sequence of its log this node's own state of the partition is exactly
 * the log's (its own appends, and what a takeover imported): a partition gained again is then brought up to date
 * from there, and one whose state is unknown (nothing held of it) or diverged is imported whole. These positions are
 * stored with every checkpoint (`held`), so a node started again on its data knows them (`restoreHeld`).
 */
import type { Logger } from 'pino';
import type { Address } from '../../actors/types';
import type { HeldPositions, TurnReplicator } from '../store/store';
import { FencedError, type PartitionLogs, type PartitionWriter } from './partition-log';

export interface ReplicatorOptions {
  logs: PartitionLogs;
  nodeId: string;
  /** True while this node holds the partition's lease. */
  owns: (partition: number) => boolean;
  partitionOf: (a: Address) => number;
  log: Logger;
  /** The largest message the NATS servers take. */
  maxPayload: number;
  /** How long to wait before asking again after a passing failure. */
  retryMs?: number;
}

/** Room left in a NATS message for the headers of an append (message id, expected sequence). */
const HEADER_ROOM = 4096;

export class LogReplicator implements TurnReplicator {
  private readonly writers = new Map<number, Promise<PartitionWriter>>();
  private readonly diverged = new Set<number>();
  /** Per partition, the log sequence through which this node's state of it is the log's. */
  private readonly known = new Map<number, number>();
  /** Partitions claimed and not yet brought up to date: their state here is between two positions. */
  private readonly claiming = new Set<number>();
  /** Records appended by this process: with the node id, a message id no other append shares. */
  private appended = 0;
  /** This process's message ids begin so: with the node id and the time it started. */
  private readonly msgIdPrefix: string;
  /** Records given up. */
  givenUp = 0;
  /** Told each append's time to JetStream's acknowledgement, in seconds (the metrics). */
  onAppend?: (seconds: number) => void;

  constructor(private readonly o: ReplicatorOptions) {
    this.msgIdPrefix = `${o.nodeId}/${Date.now().toString(36)}/`;
  }

  get maxRecordBytes(): number {
    return this.o.maxPayload - HEADER_ROOM;
  }

  partitionOf(a: Address): number {
    return this.o.partitionOf(a);
  }

  abandoned(): ReadonlySet<number> {
    return this.diverged;
  }

  /**
   * The node gained a partition: its log is claimed now, so whoever wrote it before can no longer. Resolves with
   * what the node must import before it serves the partition: the log's records after `after` through `through`,
   * over its own state of the partition, or (`fresh`) instead of it. Rejects when the claim failed.
   */
  async claim(partition: number): Promise<{ after: number; through: number; fresh: boolean }> {
    const fresh = this.diverged.has(partition) || !this.known.has(partition);
    this.diverged.delete(partition);
    this.claiming.add(partition);
    const writer = await this.startClaim(partition);
    return { after: fresh ? 0 : this.known.get(partition)!, through: writer.before, fresh };
  }

  /** The log sequence through which this node's state of a partition is the log's; undefined if not known. */
  knownThrough(partition: number): number | undefined {
    return this.known.get(partition);
  }

  /** The node's state of a partition is no longer known to be its log's (an import of it failed). */
  forget(partition: number): void {
    this.known.delete(partition);
    this.claiming.delete(partition);
  }

  held(): HeldPositions {
    const through: [number, number][] = [];
    for (const [p, seq] of this.known) if (!this.claiming.has(p) && !this.diverged.has(p)) through.push([p, seq]);
    return { created: this.o.logs.created, through };
  }

  /** What the last checkpoint stored (Store.replicateTo): taken only if the logs are those it was stored of. */
  restoreHeld(held: HeldPositions): void {
    if (held.created !== this.o.logs.created) {
      this.o.log.warn({ stream: this.o.logs.stream }, 'the partition logs were made anew since this node last ran: the partitions it gains are read whole');
      return;
    }
    for (const [p, seq] of held.through) this.known.set(p, seq);
  }

  /** True for the message id of a record this process appended. */
  wrote(msgId: string | undefined): boolean {
    return msgId !== undefined && msgId.startsWith(this.msgIdPrefix);
  }

  /** The node's state of a partition is now its log's through `seq` (a takeover or a keeping import took it in). */
  caughtUp(partition: number, seq: number): void {
    this.advance(partition, seq);
    this.claiming.delete(partition);
  }

  /** A position only moves on: an answer that comes late (an append asked again) names an earlier one. */
  private advance(partition: number, seq: number): void {
    if (seq > (this.known.get(partition) ?? -1)) this.known.set(partition, seq);
  }

  async append(partition: number, record: Buffer): Promise<boolean> {
    if (this.diverged.has(partition)) return false;
    const msgId = `${this.msgIdPrefix}${++this.appended}`;
    for (;;) {
      const claim = this.writers.get(partition);
      if (!claim) return this.giveUp(partition, 'this node never claimed its log');
      const started = process.hrtime.bigint();
      try {
        const seq = await (await claim).append(record, msgId);
        this.onAppend?.(Number(process.hrtime.bigint() - started) / 1e9);
        if (!this.diverged.has(partition)) this.advance(partition, seq);
        return true;
      } catch (err) {
        if (err instanceof FencedError) {
          // This node's own later claim (it lost the partition and gained it again): write with that one.
          if (this.writers.get(partition) !== claim) continue;
          this.writers.delete(partition);
          return this.giveUp(partition, 'another node claimed its log');
        }
        if ((err as { code?: string }).code === 'MAX_PAYLOAD_EXCEEDED') return this.giveUp(partition, 'a turn is larger than NATS takes');
        if (!(await claim.then(() => true, () => false)) && this.writers.get(partition) === claim) {
          // The claim itself failed: claimed again while this node holds the partition, else left to its new owner.
          if (!this.o.owns(partition)) return this.giveUp(partition, 'it left this node before its log was claimed');
          this.startClaim(partition);
        }
        this.o.log.warn({ err, partition }, 'appending to a partition log failed; trying again');
        await new Promise((r) => setTimeout(r, this.o.retryMs ?? 200));
      }
    }
  }

  /** Claims a partition's log; its appends wait for the claim (a failed one is claimed again by `append`). */
  private startClaim(partition: number): Promise<PartitionWriter> {
    const claim = this.o.logs.claim(partition, this.o.nodeId);
    claim.catch((err: unknown) => this.o.log.warn({ err, partition }, 'claiming a partition log failed'));
    this.writers.set(partition, claim);
    return claim;
  }

  private giveUp(partition: number, why: string): false {
    this.givenUp++;
    this.diverged.add(partition);
    this.known.delete(partition);
    this.o.log.error({ partition }, `turns not copied to their partition log (${why}); the partition's requests are answered "retry" until this node gains it again`);
    return false;
  }
}
