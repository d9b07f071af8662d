/**
 * Partition leases: which node owns which partition, kept in a shared key-value store with revision-checked writes
 * (a JetStream KV bucket in a cluster, see nats-lease-store.ts).
 *
 * Every node, each round (`tick`):
 * 1. renews its heartbeat (`node.<id>`, valid until now + ttl) and reads the others' to know the live nodes;
 * 2. computes the owner of every partition among them (partitions.ts): all nodes agree once they see the same nodes;
 * 3. renews the leases it holds, hands over those that now belong to another live node (after `release`, so the
 *    partition's pending work is written first), and takes the free or expired leases of partitions that are its own.
 *
 * A write carries the revision it read, so of two nodes that disagree for a moment only one wins a lease. A node acts
 * as owner only while its lease is valid by its own clock (`owns`); another node takes an expired lease only a margin
 * later by its clock, so clocks may disagree by up to that margin.
 */
import type { Clock } from '../runtime/clock';
import { DEFAULT_PARTITIONS, ownerOf, placement } from './partitions';

export interface LeaseValue { node: string; until: number }
export interface LeaseEntry { value: LeaseValue; revision: number }

export interface LeaseStore {
  get(key: string): Promise<LeaseEntry | undefined>;
  /** Writes only if the key has no value: the new revision, or undefined when it has one. */
  create(key: string, value: LeaseValue): Promise<number | undefined>;
  /** Writes only if the key is still at `revision`: the new revision, or undefined when it is not. */
  update(key: string, value: LeaseValue, revision: number): Promise<number | undefined>;
  /** Removes the key if it is still at `revision`; false when it is not. */
  remove(key: string, revision: number): Promise<boolean>;
  /** Every key under a prefix (ending in '.'), with its entry. */
  list(prefix: string): Promise<Map<string, LeaseEntry>>;
}

export interface LeaseOptions {
  store: LeaseStore;
  clock: Pick<Clock, 'now'>;
  nodeId: string;
  partitions?: number;
  /** How long a lease or heartbeat lasts without renewal; rounds should run at least three times as often. */
  ttlMs?: number;
  /** How much later than its holder's clock says another node takes an expired lease (clock disagreement). */
  skewMarginMs?: number;
  /** Called before a partition is handed to another node; the lease is given up once it resolves. */
  release?: (partition: number) => Promise<void>;
  /** Called after a round that changed what this node owns. */
  onChange?: (change: { gained: number[]; lost: number[] }) => void;
}

export const nodeKey = (nodeId: string): string => `node.${Buffer.from(nodeId).toString('base64url')}`;
export const partitionKey = (p: number): string => `p.${p}`;

export class LeaseManager {
  private readonly owned = new Map<number, LeaseEntry>();
  private heartbeat?: number;
  private readonly partitions: number;
  private readonly ttlMs: number;
  private readonly skewMarginMs: number;
  private left = false;
  /** The partitions this node is next in line for, as of the live nodes the last round saw. */
  private nextUp = new Set<number>();
  /** The partitions placed on this node whose lease it does not hold yet (their owner gives them up at its round). */
  private coming = new Set<number>();
  /** Set by `handOver`: this node no longer counts itself live, so every partition goes to the others. */
  private leaving = false;

  constructor(private readonly o: LeaseOptions) {
    this.partitions = o.partitions ?? DEFAULT_PARTITIONS;
    this.ttlMs = o.ttlMs ?? 6000;
    this.skewMarginMs = o.skewMarginMs ?? 1000;
  }

  get nodeId(): string {
    return this.o.nodeId;
  }

  /** True while this node holds a valid lease on the partition. */
  owns(partition: number): boolean {
    const e = this.owned.get(partition);
    return !!e && e.value.until > this.o.clock.now();
  }

  /**
   * True when this node is next in line for the partition: the one that takes it over if its owner is lost (the
   * owner among the live nodes the last round saw, without the partition's own owner).
   */
  nextInLine(partition: number): boolean {
    return this.nextUp.has(partition);
  }

  /** True when the partition is placed on this node but its lease is not held yet: it is about to gain it. */
  awaited(partition: number): boolean {
    return this.coming.has(partition) && !this.owns(partition);
  }

  /**
   * Before the first round: the partitions that joining now would move here from other nodes holding valid leases on
   * them (they go on serving them until this node joins). No lease or heartbeat is written; `awaited` says them.
   */
  async preview(): Promise<number[]> {
    const now = this.o.clock.now();
    const live = await this.liveNodes(now);
    if (!live.includes(this.o.nodeId)) live.push(this.o.nodeId);
    const desired = placement(live, this.partitions);
    const leases = await this.o.store.list('p.');
    const moving = desired.flatMap((owner, p) => {
      const e = leases.get(partitionKey(p));
      return owner === this.o.nodeId && e !== undefined && e.value.node !== this.o.nodeId && e.value.until > now ? [p] : [];
    });
    this.coming = new Set(moving);
    return moving;
  }

  /** The partitions this node holds a valid lease on, in order. */
  ownedPartitions(): number[] {
    return [...this.owned.keys()].filter((p) => this.owns(p)).sort((a, b) => a - b);
  }

  /** One round: heartbeat, live nodes, then every partition's lease. Returns the live nodes it saw. */
  async tick(): Promise<string[]> {
    if (this.left) return [];
    const now = this.o.clock.now();
    const gained: number[] = [];
    const lost: number[] = [];
    // Leases not renewed in time are not ours to act on any more.
    for (const [p, e] of this.owned) if (e.value.until <= now) this.drop(p, lost);
    // What changed is reported even when the round fails part way: a lease dropped or taken is so already.
    try {
      if (!this.leaving) await this.beat(now);
      const live = await this.liveNodes(now);
      if (!this.leaving && !live.includes(this.o.nodeId)) live.push(this.o.nodeId);
      const desired = placement(live, this.partitions);
      this.nextUp = new Set(desired.flatMap((owner, p) => (owner !== this.o.nodeId && ownerOf(p, live.filter((n) => n !== owner)) === this.o.nodeId ? [p] : [])));
      this.coming = new Set(desired.flatMap((owner, p) => (owner === this.o.nodeId ? [p] : [])));
      const leases = await this.o.store.list('p.');
      const settled = await Promise.allSettled(desired.map((owner, p) => this.settle(p, owner, leases.get(partitionKey(p)), now, gained, lost)));
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      return live;
    } finally {
      if (gained.length > 0 || lost.length > 0) this.o.onChange?.({ gained: gained.sort((a, b) => a - b), lost: lost.sort((a, b) => a - b) });
    }
  }

  /**
   * This node leaves the placement while it still runs: its heartbeat goes, and a round gives every partition it holds
   * to the live nodes that own it now (after `release`). Resolves with the partitions given up; none, and nothing
   * changed, when no other node is live to take them.
   */
  async handOver(): Promise<number[]> {
    if (this.left || this.leaving) return [];
    const now = this.o.clock.now();
    if ((await this.liveNodes(now)).every((n) => n === this.o.nodeId)) return [];
    this.leaving = true;
    const held = this.ownedPartitions();
    if (this.heartbeat !== undefined && await this.o.store.remove(nodeKey(this.o.nodeId), this.heartbeat)) this.heartbeat = undefined;
    await this.tick();
    return held.filter((p) => !this.owned.has(p));
  }

  /** True when every partition in `partitions` has a lease of another node, valid now. */
  async heldByOthers(partitions: number[]): Promise<boolean> {
    const now = this.o.clock.now();
    const leases = await this.o.store.list('p.');
    return partitions.every((p) => {
      const e = leases.get(partitionKey(p));
      return e !== undefined && e.value.node !== this.o.nodeId && e.value.until > now;
    });
  }

  /** Gives up every lease (after `release`) and the heartbeat: the other nodes take over at their next round. */
  async leave(): Promise<void> {
    this.left = true;
    const lost: number[] = [];
    for (const [p, e] of [...this.owned]) {
      await this.o.release?.(p);
      this.drop(p, lost);
      await this.o.store.remove(partitionKey(p), e.revision);
    }
    if (this.heartbeat !== undefined) await this.o.store.remove(nodeKey(this.o.nodeId), this.heartbeat);
    if (lost.length > 0) this.o.onChange?.({ gained: [], lost });
  }

  /** The nodes with a heartbeat valid at `now`, in order. */
  private async liveNodes(now: number): Promise<string[]> {
    return [...(await this.o.store.list('node.')).values()].filter((e) => e.value.until > now && e.value.node !== '').map((e) => e.value.node).sort();
  }

  private async beat(now: number): Promise<void> {
    const key = nodeKey(this.o.nodeId);
    const value = { node: this.o.nodeId, until: now + this.ttlMs };
    if (this.heartbeat !== undefined) this.heartbeat = await this.o.store.update(key, value, this.heartbeat);
    // First round, or the key changed under us (an earlier run of this node id): write over what is there.
    if (this.heartbeat === undefined) {
      this.heartbeat = await this.o.store.create(key, value);
      if (this.heartbeat === undefined) {
        const e = await this.o.store.get(key);
        if (e) this.heartbeat = await this.o.store.update(key, value, e.revision);
      }
    }
  }

  private async settle(p: number, owner: string | undefined, entry: LeaseEntry | undefined, now: number, gained: number[], lost: number[]): Promise<void> {
    const me = this.o.nodeId;
    const mine = this.owned.get(p);
    const value: LeaseValue = { node: me, until: now + this.ttlMs };
    if (mine) {
      // What was read is not consulted: a read may come from a replica that lags, and the revision-checked write
      // below is what says whether the lease is still ours.
      if (owner !== me) {
        await this.o.release?.(p);
        this.drop(p, lost);
        await this.o.store.remove(partitionKey(p), mine.revision);
        return;
      }
      const revision = await this.o.store.update(partitionKey(p), value, mine.revision);
      if (revision === undefined) this.drop(p, lost);
      else this.owned.set(p, { value, revision });
      return;
    }
    if (owner !== me) return;
    let revision: number | undefined;
    if (!entry) revision = await this.o.store.create(partitionKey(p), value);
    else if (entry.value.node === me || entry.value.until + this.skewMarginMs < now) revision = await this.o.store.update(partitionKey(p), value, entry.revision);
    if (revision === undefined) return;
    this.owned.set(p, { value, revision });
    gained.push(p);
  }

  private drop(p: number, lost: number[]): void {
    if (this.owned.delete(p)) lost.push(p);
  }
}
