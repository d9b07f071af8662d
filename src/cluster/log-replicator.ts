/**
 * The cluster's part of the commit pipeline: a node's committed turns, grouped by partition (store.ts), appended to
 * the partitions' logs (partition-log.ts), so a turn is acknowledged only once JetStream holds it.
 *
 * A partition's writer is claimed when the node gains the partition (which fences off the node that had it) and
 * dropped when it loses it. An append that fails for a passing reason (no JetStream leader for a moment, a lost
 * answer, another node's claim) is asked again, with the same message id, while the node still holds the partition's
 * lease; it is given up (`false`) once the lease is gone.
 */
import type { Logger } from 'pino';
import type { Address } from '../../actors/types';
import type { TurnReplicator } from '../store/store';
import { FencedError, type PartitionLogs, type PartitionWriter } from './partition-log';

export interface ReplicatorOptions {
  logs: PartitionLogs;
  nodeId: string;
  /** True while this node holds the partition's lease. */
  owns: (partition: number) => boolean;
  partitionOf: (a: Address) => number;
  log: Logger;
  /** How long to wait before asking again after a passing failure. */
  retryMs?: number;
}

export class LogReplicator implements TurnReplicator {
  private readonly writers = new Map<number, Promise<PartitionWriter>>();
  /** Records appended by this process: with the node id, a message id no other append shares. */
  private appended = 0;
  private readonly instance = Date.now().toString(36);
  /** Appends given up because the partition's lease was no longer this node's. */
  abandoned = 0;
  /** Told each append's time to JetStream's acknowledgement, in seconds (the metrics). */
  onAppend?: (seconds: number) => void;

  constructor(private readonly o: ReplicatorOptions) {}

  partitionOf(a: Address): number {
    return this.o.partitionOf(a);
  }

  /** The node gained a partition: its log is claimed now, so the node that had it can no longer write to it. */
  gained(partition: number): void {
    this.writerOf(partition).catch(() => undefined);
  }

  lost(partition: number): void {
    this.writers.delete(partition);
  }

  async append(partition: number, record: Buffer): Promise<boolean> {
    const msgId = `${this.o.nodeId}/${this.instance}/${++this.appended}`;
    for (;;) {
      if (!this.o.owns(partition)) return this.giveUp(partition);
      const started = process.hrtime.bigint();
      const claim = this.writerOf(partition);
      try {
        await (await claim).append(record, msgId);
        this.onAppend?.(Number(process.hrtime.bigint() - started) / 1e9);
        return true;
      } catch (err) {
        if (err instanceof FencedError) {
          // Another node claimed the log while this one holds the lease (the lease is what decides): claim it back
          // and append again, unless the lease is gone by now (checked first thing in the loop).
          this.writers.delete(partition);
          this.o.log.warn({ partition }, 'another node claimed a partition log this node holds the lease of; claiming it back');
          continue;
        }
        // A claim that failed is made again on the next attempt.
        if (!(await claim.then(() => true, () => false)) && this.writers.get(partition) === claim) this.writers.delete(partition);
        this.o.log.warn({ err, partition }, 'appending to a partition log failed; trying again');
        await new Promise((r) => setTimeout(r, this.o.retryMs ?? 200));
      }
    }
  }

  private writerOf(partition: number): Promise<PartitionWriter> {
    let w = this.writers.get(partition);
    if (!w) {
      w = this.o.logs.claim(partition, this.o.nodeId);
      this.writers.set(partition, w);
    }
    return w;
  }

  private giveUp(partition: number): false {
    this.abandoned++;
    this.o.log.error({ partition }, 'turns not copied to their partition log: the partition left this node; their requests are answered "retry"');
    return false;
  }
}
