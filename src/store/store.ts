/**
 * LMDB store: one environment per node, named databases, msgpack values. Writes are queued and applied together
 * in one LMDB transaction by `commit()`, which resolves when they are durable. Group commit: while one transaction
 * is being committed, and for at least `commitIntervalMs` after one began, later writes gather for the next, so
 * under load a transaction (and its fsync) carries many turns; a transaction costs far more than a put. The actor
 * turns of a transaction are one record of the turn log (turn-log.ts).
 */
import { asBinary, open, type Database, type Key, type RootDatabase } from 'lmdb';
import { Packr } from 'msgpackr';
import path from 'node:path';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Address, ChatGroup, StoredMessage } from '../../actors/types';
import type { AppModel } from '../../protocol/app-model';
import { activeKey, activeRange, appKey, chatGroupKey, eventRange, messageRange, sessionIndexKey, snapshotKey, timerKey } from './keys';
import { sessionAddress } from '../../actors/address';
import { splitRecord, TurnLog, type MailboxEntry, type MailId, type MessageLocation, type OutboxEntry, type SealedRecord, type TurnWrite } from './turn-log';
import { TurnWal } from './turn-wal';

export const FsyncMode = { Always: 'always', Batch: 'batch', None: 'none' } as const;
export type FsyncMode = (typeof FsyncMode)[keyof typeof FsyncMode];

/** The events of one actor turn, n counting that actor's turns with events from 1. */
export interface EventRecord { t: number; es: readonly unknown[] }
export type { MailboxEntry, MailId, OutboxEntry } from './turn-log';

const HELD = 'r:';
/**
 * The key of a receiver's copy of a durable send, in its own partition's log (Runtime.accept). The sender's row keeps
 * the send's id: a node holding both partitions keeps both rows, each removed in its own partition's log.
 */
export const heldMailKey = (id: MailId): string => `${HELD}${id}`;
/** An actor's state after its first `n` event records. */
export interface Snapshot { n: number; state: unknown }
/** A group chat and the account that serves it. */
export interface ChatGroupEntry { csAccount: string; group: ChatGroup }
export interface SessionIndex { conv: Address; app: number; csAccount: string; userId: string; startedAt: number }
export interface HistoryQuery { conv: Address; sessionId?: string; afterSeq: number; limit: number }
export interface HistoryPage { messages: StoredMessage[]; more: boolean }

/**
 * Where a cluster node's turns are copied as they are committed: each transaction's turns, grouped by partition, go
 * to the partitions' logs, and the transaction is durable only once every group is there too.
 */
export interface TurnReplicator {
  /** The partition of an actor's turns. */
  partitionOf(a: Address): number;
  /** The largest record `append` takes. */
  readonly maxRecordBytes: number;
  /**
   * Resolves true once the record is in the partition's log, false when it never will be (this node may no longer
   * write the partition). Never rejects.
   */
  append(partition: number, record: Buffer): Promise<boolean>;
  /** The partitions whose turns this node can no longer copy to their logs: nothing of their turns is released. */
  abandoned(): ReadonlySet<number>;
  /**
   * Where this node's state of partitions stands in their logs, asked once a checkpoint's turns are in the logs: the
   * checkpoint stores it, so a node started again on its data reads only what follows (`restoreHeld`).
   */
  held?(): HeldPositions;
  /** At start (`replicateTo`): what the last checkpoint stored, without the partitions with turns after it. */
  restoreHeld?(held: HeldPositions): void;
}

/** Per partition, the log sequence through which this node's state of it is the log's; `created`: the log stream's. */
export interface HeldPositions { created: string; through: [partition: number, seq: number][] }

/** Session index entries kept in memory for lookups. */
const SESSION_CACHE_SIZE = 100_000;
const CHECKPOINT_KEY = 'checkpoint';
const HELD_KEY = 'partitions-held';

export interface StoreOptions {
  /** The least time between the starts of two transactions: writes gather meanwhile (acks wait for them). */
  commitIntervalMs?: number;
}

/** The default gathering time per fsync mode: a transaction with fsync costs most, and waits longest. */
export const defaultCommitIntervalMs: Readonly<Record<FsyncMode, number>> = { always: 2, batch: 5, none: 1 };

export class Store {
  readonly root: RootDatabase;
  private readonly snapshots: Database<unknown, string>;
  /** Event records and messages as data dirs before the turn log kept them (read, never written). */
  private readonly events: Database<EventRecord, [string, number]>;
  private readonly messages: Database<StoredMessage, [string, number]>;
  private readonly turnLog: TurnLog;
  private readonly wal: TurnWal;
  private readonly timers: Database<number, [string, string]>;
  private readonly mailbox: Database<MailboxEntry, MailId>;
  /** Durable sends taken by their receivers here, with when (kept a while: a copy may come again from a sender). */
  private readonly takenMail: Database<number, MailId>;
  private readonly active: Database<string, [number, string, string]>;
  private readonly sessionIndex: Database<SessionIndex, string>;
  private readonly sessionCache = new Map<string, SessionIndex>();
  private readonly meta: Database<unknown, Key>;
  private readonly outbox: Database<OutboxEntry, MailId>;
  private readonly records: Database<Record<string, unknown>, [number, string]>;
  private readonly recordsByTime: Database<string, [number, number, string]>;
  private readonly failedCallbacks: Database<OutboxEntry & { reason: string }, MailId>;
  private readonly chatGroups: Database<ChatGroupEntry, [number, string]>;
  /** Group chats by `app|groupId`; null: known not to exist. */
  private readonly chatGroupCache = new Map<string, ChatGroupEntry | null>();
  /** Mail ids: this store's random part (unique across nodes and restarts) and a count. */
  private readonly mailPrefix = randomBytes(8).toString('base64url');
  private mailCount = 0;
  /** Resolves when the latest transaction started is committed (and flushed when fsync is on). */
  private last: Promise<unknown> = Promise.resolve();
  private queued: (() => void)[] = [];
  /** What to do once the transaction carrying the queued writes is committed. */
  private afterCommit: (() => void)[] = [];
  private readonly checkpointHooks: (() => void)[] = [];
  /** Records sealed ahead of the next commit (a checkpoint's), written first by it. */
  private presealed: SealedRecord[] = [];
  /** While a checkpoint gathers its writes, `write` adds to them. */
  private collecting?: (() => void)[];
  private checkpointing?: Promise<void>;
  private committing = false;
  /** Set by a commit that failed: memory and disk disagree from then on, so nothing more is written. */
  private broken?: unknown;
  private lastBegin = 0;
  private beginTimer?: NodeJS.Timeout;
  /** The promise of the transaction that will carry the writes gathered now. */
  private upcoming?: { done: Promise<unknown>; resolve: (p: Promise<unknown>) => void };
  private readonly waitFlush: boolean;
  private readonly commitIntervalMs: number;
  private readonly packr = plainPackr();
  private replicator?: TurnReplicator;

  constructor(dataDir: string, fsync: FsyncMode, opts: StoreOptions = {}) {
    this.waitFlush = fsync !== FsyncMode.None;
    this.commitIntervalMs = opts.commitIntervalMs ?? defaultCommitIntervalMs[fsync];
    fs.mkdirSync(dataDir, { recursive: true });
    this.root = open({
      path: path.join(dataDir, 'desk.lmdb'),
      noSync: fsync === FsyncMode.None,
      mapSize: 2 ** 34,
      // lmdb-js opens at most 12 named databases unless told otherwise.
      maxDbs: 32,
    });
    // Plain msgpack for the hot tables: their records vary in shape, and lmdb-js's shared record structures then
    // spend more on defining structures than they save.
    const plain = plainEncoding();
    this.snapshots = this.root.openDB({ name: 'snapshots', ...plain });
    this.events = this.root.openDB({ name: 'events', ...plain });
    this.messages = this.root.openDB({ name: 'messages', ...plain });
    this.timers = this.root.openDB({ name: 'timers' });
    this.mailbox = this.root.openDB({ name: 'mailbox' });
    this.takenMail = this.root.openDB({ name: 'mail-taken' });
    this.active = this.root.openDB({ name: 'active' });
    this.sessionIndex = this.root.openDB({ name: 'sessions' });
    this.meta = this.root.openDB({ name: 'meta' });
    this.outbox = this.root.openDB({ name: 'outbox', ...plain });
    this.records = this.root.openDB({ name: 'records', ...plain });
    this.recordsByTime = this.root.openDB({ name: 'records-by-time' });
    this.failedCallbacks = this.root.openDB({ name: 'failed-callbacks', ...plain });
    this.chatGroups = this.root.openDB({ name: 'chat-groups', ...plain });
    const checkpointed = (this.meta.get(CHECKPOINT_KEY) as number | undefined) ?? 0;
    const log = this.root.openDB<Buffer, number>({ name: 'turn-log', encoding: 'binary' });
    // Records only the write-ahead file holds (written after the last checkpoint) move into the table now, so the
    // file can start again from its beginning.
    this.wal = new TurnWal(dataDir);
    const fromWal = this.wal.read(checkpointed);
    if (fromWal.length > 0) this.root.transactionSync(() => { for (const r of fromWal) log.putSync(r.record, r.value); });
    this.turnLog = new TurnLog(log, this.root.openDB({ name: 'message-index', ...plain }), this.packr, checkpointed);
  }

  /**
   * Runs `fn` at every checkpoint, so a module can queue what it keeps in memory between them (many changes to one
   * record become one write per checkpoint; what a crash loses of it is folded again from the turns read at start).
   * Returns the way to stop it.
   */
  onCheckpoint(fn: () => void): () => void {
    this.checkpointHooks.push(fn);
    return () => this.checkpointHooks.splice(this.checkpointHooks.indexOf(fn), 1);
  }

  /**
   * From now on every committed turn is also copied to its partition's log (a cluster node). The replicator is told
   * where the last checkpoint left the partitions this node held, except those with turns after it (their state here
   * may be ahead of the log, or behind it: read whole again).
   */
  replicateTo(replicator: TurnReplicator): void {
    this.replicator = replicator;
    const held = this.meta.get(HELD_KEY) as HeldPositions | undefined;
    if (!held || !replicator.restoreHeld) return;
    const changed = new Set([...this.turnLog.changedAtStart].map((a) => replicator.partitionOf(a)));
    // Left out of the store too: a later start must not take a position this start left out.
    this.forgetHeld(changed);
    replicator.restoreHeld({ created: held.created, through: held.through.filter(([p]) => !changed.has(p)) });
  }

  /** Queues a write for the next commit (modules with tables of their own use it too). */
  write(op: () => void): void {
    (this.collecting ?? this.queued).push(op);
  }

  /** Where the queues of writes and turns stand, to take back what was queued after it (`rollback`). */
  mark(): { writes: number; turns: number } {
    return { writes: this.queued.length, turns: this.turnLog.mark() };
  }

  /** Drops the writes queued since `mark`: a turn that could not be stored leaves nothing behind. */
  rollback(mark: { writes: number; turns: number }): void {
    this.queued.length = mark.writes;
    this.turnLog.rollback(mark.turns);
  }

  /**
   * A value of a plain-msgpack table, encoded now rather than in the transaction: a value that cannot be encoded
   * throws here, in the turn that produced it, instead of failing the commit every other turn shares.
   */
  private encoded<V>(value: V): V {
    // lmdb-js writes a Binary's bytes as they are; the table's decoder reads them back as the value.
    return asBinary(this.packr.pack(value)) as unknown as V;
  }

  /** A named table of another module (values in plain msgpack). */
  table<V, K extends Key>(name: string): Database<V, K> {
    return this.root.openDB({ name, ...plainEncoding() });
  }

  /**
   * Resolves when every write issued so far is committed (and, unless fsync is 'none', flushed to disk: lmdb-js
   * may resolve a commit before its fsync when syncs overlap); rejects if a commit failed. On a cluster node it
   * resolves once the turns are in their partitions' logs too, or given up (`abandonedPartitions`).
   */
  commit(): Promise<unknown> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    if (this.queued.length === 0 && !this.turnLog.pending && this.presealed.length === 0) return this.upcoming?.done ?? this.last;
    if (!this.upcoming) {
      let resolve!: (p: Promise<unknown>) => void;
      const done = new Promise<unknown>((r) => { resolve = r; });
      this.upcoming = { resolve, done };
    }
    const done = this.upcoming.done;
    this.schedule();
    return done;
  }

  /** Starts the upcoming transaction once the one in flight settled and the commit interval passed. */
  private schedule(): void {
    if (this.committing || this.beginTimer || this.broken !== undefined) return;
    const wait = this.lastBegin + this.commitIntervalMs - performance.now();
    if (wait > 0) {
      this.beginTimer = setTimeout(() => {
        this.beginTimer = undefined;
        this.begin();
      }, wait);
      return;
    }
    this.begin();
  }

  /** Starts a transaction with everything gathered; transactions run one at a time, so commits stay in order. */
  private begin(): void {
    const upcoming = this.upcoming;
    if (!upcoming || this.broken !== undefined) return;
    this.upcoming = undefined;
    this.committing = true;
    this.lastBegin = performance.now();
    const sealed = this.presealed;
    this.presealed = [];
    const now = this.turnLog.seal();
    if (now) sealed.push(now);
    for (const r of sealed) this.afterCommit.push(r.committed);
    const local = this.queued.length === 0 && sealed.length > 0 ? this.appendTurns(sealed) : this.transact(sealed);
    const durable = this.replicator && sealed.length > 0 ? Promise.all([local, this.replicate(this.replicator, sealed)]) : local;
    const after = this.afterCommit;
    this.afterCommit = [];
    this.last = durable;
    const settle = (): void => {
      this.committing = false;
      if (this.upcoming) this.schedule();
    };
    durable.then(() => {
      for (const fn of after) fn();
      settle();
    }, (err: unknown) => {
      // A later record must never be written without this one: the chain stops, and waiting commits fail with it.
      this.broken = err;
      this.committing = false;
      this.upcoming?.resolve(Promise.reject(err));
      this.upcoming = undefined;
    });
    upcoming.resolve(durable);
  }

  /**
   * The sealed records' turns, split by partition, appended to the partitions' logs, each partition's records in
   * order (a partition whose record is given up has its later ones given up by the replicator).
   */
  private async replicate(replicator: TurnReplicator, sealed: SealedRecord[]): Promise<void> {
    const byPartition = new Map<number, Buffer[]>();
    for (const r of sealed) {
      for (const [p, records] of splitRecord(this.packr, r.value, (a) => replicator.partitionOf(a), replicator.maxRecordBytes)) {
        const list = byPartition.get(p);
        if (list) list.push(...records);
        else byPartition.set(p, records);
      }
    }
    await Promise.all([...byPartition].map(async ([p, records]) => {
      for (const record of records) if (!(await replicator.append(p, record))) return;
    }));
  }

  /** The partitions whose turns are not released (cluster nodes): their logs no longer take this node's turns. */
  abandonedPartitions(): ReadonlySet<number> | undefined {
    return this.replicator?.abandoned();
  }

  /** Nothing but turns to write: their records are entries of the write-ahead file. */
  private appendTurns(sealed: SealedRecord[]): Promise<unknown> {
    try {
      for (const r of sealed) {
        this.wal.append(r.record, r.value);
        this.turnLog.inWal(r.record);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return this.waitFlush ? this.wal.sync() : Promise.resolve();
  }

  /** One LMDB transaction with everything queued, the turns' records with it. */
  private transact(sealed: SealedRecord[]): Promise<unknown> {
    const ops = this.queued;
    this.queued = [];
    const txn = this.root.transaction(() => {
      for (const r of sealed) r.write();
      for (const op of ops) op();
    });
    return this.durable(txn);
  }

  /** An LMDB transaction's promise, made to wait for its fsync too unless fsync is 'none'. */
  private durable(txn: Promise<unknown>): Promise<unknown> {
    return this.waitFlush ? txn.then(() => this.root.flushed) : txn;
  }

  /**
   * A checkpoint. `collect` and the hooks write what they keep in memory (the actors' snapshots, statistics facts);
   * with the message index rows and the records only the write-ahead file holds, these are LMDB transactions of the
   * checkpoint's own, beside the commits of turns rather than among them, so acknowledgements do not wait behind
   * it. The turns handled so far are sealed now into a record of their own (the snapshots hold them): the checkpoint
   * covers up to it, and starts once it and every record before it are durable. Later turns go to the other write-ahead file,
   * which the previous checkpoint covered. One checkpoint runs at a time; resolves once it is committed, with whether
   * it wrote anything.
   */
  checkpoint(collect?: () => void): Promise<boolean> {
    if (this.checkpointing) return this.checkpointing.then(() => false);
    // An idle server does not write (and fsync) a checkpoint every few seconds.
    if (this.turnLog.quiet) {
      collect?.();
      return this.commit().then(() => false);
    }
    const ops: (() => void)[] = [];
    this.collecting = ops;
    try {
      collect?.();
      for (const fn of this.checkpointHooks) fn();
    } finally {
      this.collecting = undefined;
    }
    this.wal.switchFiles();
    const now = this.turnLog.seal();
    if (now) this.presealed.push(now);
    const cp = this.turnLog.checkpoint();
    const run = (async () => {
      await this.commit();
      // Asked now, once the covered turns are in their logs, before any later append can have been answered (so every
      // position is of a turn durable here too): a partition's position may include turns after the checkpoint,
      // which a start reads again, and so does not take that partition's position.
      const held = this.replicator?.held?.();
      // The copies and index rows first, in transactions small enough not to hold up the event loop; they only add
      // what the log already holds. The snapshots, the facts and the covered position last, together.
      for (const chunk of cp.chunks()) await this.root.transaction(chunk);
      const txn = this.root.transaction(() => {
        for (const op of ops) op();
        this.meta.putSync(CHECKPOINT_KEY, cp.through);
        if (held) this.meta.putSync(HELD_KEY, held);
      });
      await this.durable(txn);
      cp.committed();
    })();
    this.checkpointing = run.finally(() => { this.checkpointing = undefined; });
    return this.checkpointing.then(() => true);
  }

  /** Actors with turns after the last checkpoint: their snapshots are the checkpoint's to write. */
  actorsSinceCheckpoint(): Iterable<Address> {
    return this.turnLog.actors();
  }

  /** The turns after the last checkpoint, read again at start, for a projection to fold once more. */
  takeReplayedTurns(): { a: Address; n: number; es: readonly unknown[] }[] {
    return this.turnLog.takeReplayed();
  }

  loadSnapshot(a: Address): Snapshot | undefined {
    return this.snapshots.get(snapshotKey(a)) as Snapshot | undefined;
  }
  putSnapshot(a: Address, snapshot: Snapshot): void {
    const value = this.encoded(snapshot);
    this.write(() => this.snapshots.putSync(snapshotKey(a), value));
  }
  /**
   * An actor turn: its events (n: the actor's turn count with them), the messages it stored and its other writes,
   * encoded now (a turn that cannot be encoded throws here, leaving nothing behind) and written as part of the next
   * log record; the writes are made in the tables too.
   */
  appendTurn(a: Address, n: number, t: number, es: readonly unknown[], ms: readonly StoredMessage[], w: readonly TurnWrite[] = []): void {
    this.turnLog.append(a, n, t, es, ms, w);
    this.applyWrites(a, t, w);
  }

  /**
   * The stored positions of these partitions no longer hold (what this node kept of them is about to be dropped): a
   * crash before the next checkpoint must not take them back over a state that no turn record shows changed.
   */
  forgetHeld(partitions: ReadonlySet<number>): void {
    this.write(() => {
      const held = this.meta.get(HELD_KEY) as HeldPositions | undefined;
      if (held) this.meta.putSync(HELD_KEY, { created: held.created, through: held.through.filter(([p]) => !partitions.has(p)) });
    });
  }

  /**
   * Forgets what this node kept of the actors `drop` names (a partition about to be imported whole from its log):
   * their snapshots, wake-ups, sessions going, session index entries, turns, messages, mail and callbacks.
   * Service records and group chats are not removed: importing merges the same fields, and sets the same entries.
   */
  resetActors(drop: (a: Address) => boolean): void {
    const snapshots = [...this.snapshots.getKeys()].filter((k) => drop(k as Address));
    const timers = [...this.timers.getKeys()].filter((k) => drop(k[0]));
    const active = [...this.active.getKeys()].filter((k) => drop(sessionAddress(k[0], k[2], k[1])));
    const sessions = [...this.sessionIndex.getRange()].filter((e) => drop(e.value.conv)).map((e) => e.key);
    // Mail and callbacks go with the partition whose log holds them: the sender's, or the receiver's for mail it
    // stored itself.
    const mail = [...this.mailbox.getRange()].filter((e) => drop(e.value.from ?? e.value.to)).map((e) => e.key);
    const callbacks = [...this.outbox.getRange()].filter((e) => e.value.from !== undefined && drop(e.value.from)).map((e) => e.key);
    // Dropped from the cache now and once the rows are gone (a lookup in between would cache them again).
    const uncache = (): void => { for (const id of sessions) this.sessionCache.delete(id); };
    uncache();
    this.afterCommit.push(uncache);
    const messages = this.turnLog.forget(drop, snapshots as Address[]);
    this.write(() => {
      for (const k of snapshots) this.snapshots.removeSync(k);
      for (const k of timers) this.timers.removeSync(k);
      for (const k of active) this.active.removeSync(k);
      for (const k of sessions) this.sessionIndex.removeSync(k);
      for (const k of mail) this.mailbox.removeSync(k);
      for (const k of callbacks) this.outbox.removeSync(k);
      messages();
    });
  }

  /**
   * Records of a partition's log, made on other nodes, taken in as this node's own turns would have been (marked
   * imported: not copied back to the log, not counted again by statistics), their writes made here too. `actors`
   * is given the actors whose turns they are.
   */
  importRecords(records: Iterable<Buffer>, actors?: Set<Address>): number {
    let turns = 0;
    for (const value of records) {
      for (const turn of this.turnLog.importRecord(value)) {
        this.applyWrites(turn.a, turn.t, turn.w ?? []);
        actors?.add(turn.a);
        turns++;
      }
    }
    return turns;
  }

  /**
   * A turn's writes (TurnWrite), made in the tables at the next commit. Called alone (not through `appendTurn`) for
   * writes this node makes only here: of an actor whose partition another node serves now, or the group chats of
   * the cluster's turns (LogFollower).
   */
  applyWrites(a: Address, t: number, w: readonly TurnWrite[]): void {
    for (const x of w) {
      switch (x[0]) {
        case 't':
          this.putOrRemove(this.timers, timerKey(a, x[1]), x[2]);
          break;
        case 'a':
          this.setActiveSession(x[1], x[2], x[3], x[4], a, t);
          break;
        case 'g':
          this.setChatGroup(x[1], x[2], x[3]);
          break;
        case 'u':
          // The knowledge base's list, kept from the logs (LogFollower).
          break;
        case 'r':
          this.mergeRecord(x[1], x[2], x[3], x[4] ?? undefined);
          break;
        case 'm':
          this.putOrRemove(this.mailbox, x[1], x[2]);
          break;
        case 'k':
          this.write(() => this.takenMail.putSync(x[1], t));
          break;
        case 'c':
          this.putOrRemove(this.outbox, x[1], x[2]);
          break;
      }
    }
  }
  /** A row set to `value`, or removed (null), at the next commit. */
  private putOrRemove<K extends Key, V>(db: Database<V, K>, key: K, value: V | null): void {
    if (value === null) this.write(() => db.removeSync(key));
    else this.write(() => db.putSync(key, value));
  }

  /** Every event record of every actor, each actor's in order (committed data). */
  *eventLog(): Generator<{ address: Address; n: number; record: EventRecord }> {
    for (const e of this.events.getRange()) yield { address: e.key[0], n: e.key[1], record: e.value };
    for (const turn of this.turnLog.all()) if (turn.es.length > 0) yield { address: turn.a, n: turn.n, record: { t: turn.t, es: turn.es } };
  }
  /** Event records of an actor after the n-th, in order (a snapshot holds those of the turns before the last checkpoint). */
  eventsAfter(a: Address, n: number): EventRecord[] {
    const { start, end } = eventRange(a, n);
    return [...this.events.getRange({ start, end }).map((e) => e.value), ...this.turnLog.turnsAfter(a, n)];
  }
  /**
   * An id for a durable send or a callback made at `now`, unique in the cluster. Ids sort as they were made (by time,
   * then by count here), so what waits is taken up again in order.
   */
  newMailId(now: number): string {
    return `${now.toString(36).padStart(9, '0')}.${(++this.mailCount).toString(36).padStart(7, '0')}.${this.mailPrefix}`;
  }
  /** Removes a durable send here only (see applyWrites for those a partition's log must hold). */
  removeMail(id: MailId): void {
    this.write(() => this.mailbox.removeSync(id));
  }
  /** True when the receiver's copy of this durable send is here (see `heldMailKey`). */
  holdsMail(id: MailId): boolean {
    return this.mailbox.get(heldMailKey(id)) !== undefined;
  }
  /** True when a receiver here took this durable send (committed). */
  mailTaken(id: MailId): boolean {
    return this.takenMail.get(id) !== undefined;
  }
  /** Forgets the durable sends taken before `before` (no sender sends them again by then). */
  pruneTakenMail(before: number): void {
    const old = [...this.takenMail.getRange()].filter((e) => e.value < before).map((e) => e.key);
    if (old.length > 0) this.write(() => { for (const k of old) this.takenMail.removeSync(k); });
  }
  /** Merges fields into a session's service record; a start time files it in the time index (value: the user). */
  private mergeRecord(app: number, sessionId: string, fields: Record<string, unknown>, startedAt?: number): void {
    this.write(() => {
      const key: [number, string] = [app, sessionId];
      this.records.putSync(key, { ...(this.records.get(key) ?? {}), ...fields });
      if (startedAt !== undefined) this.recordsByTime.putSync([app, Math.floor(startedAt / 1000), sessionId], String(fields.ClientUserId ?? ''));
    });
  }
  /** Service records that started within [fromSec, toSec], oldest first, optionally of one user. */
  recordsBetween(app: number, fromSec: number, toSec: number, userId?: string): { total: number; page(offset: number, limit: number): Record<string, unknown>[] } {
    const ids: string[] = [];
    for (const { key, value } of this.recordsByTime.getRange({ start: [app, fromSec], end: [app, toSec, '\uffff'] })) {
      if (userId === undefined || value === userId) ids.push(key[2]);
    }
    return {
      total: ids.length,
      page: (offset, limit) => ids.slice(offset, offset + limit).map((id) => this.records.get([app, id]) ?? {}),
    };
  }
  /** Removes a callback from the outbox here only (see applyWrites for those a partition's log must hold). */
  removeCallback(id: MailId): void {
    this.write(() => this.outbox.removeSync(id));
  }
  /** Keeps a callback that will not be delivered for the operator (its outbox row is removed like a delivered one's). */
  keepFailedCallback(id: MailId, entry: OutboxEntry, reason: string): void {
    this.write(() => this.failedCallbacks.putSync(id, { ...entry, reason }));
  }
  pendingCallbacks(): { id: MailId; entry: OutboxEntry }[] {
    return [...this.outbox.getRange().map((e) => ({ id: e.key, entry: e.value }))];
  }
  failedCallbackCount(): number {
    return this.failedCallbacks.getCount();
  }
  private setActiveSession(app: number, userId: string, csAccount: string, sessionId: string | null, conv: Address, at: number): void {
    if (sessionId === null) {
      this.write(() => this.active.removeSync(activeKey(app, userId, csAccount)));
      return;
    }
    this.write(() => {
      this.active.putSync(activeKey(app, userId, csAccount), sessionId);
      this.sessionIndex.putSync(sessionIndexKey(sessionId), { conv, app, csAccount, userId, startedAt: at });
    });
  }
  private setChatGroup(app: number, groupId: string, entry: ChatGroupEntry | null): void {
    const key = chatGroupKey(app, groupId);
    this.write(() => {
      if (entry) this.chatGroups.putSync(key, entry);
      else this.chatGroups.removeSync(key);
      // Set as the write is made: the cache never shows a group before its transaction has it.
      this.remember(this.chatGroupCache, `${app}|${groupId}`, entry);
    });
  }
  putApp(model: AppModel): void {
    this.write(() => this.meta.putSync(appKey(model.sdkAppId), model));
  }

  // Reads see committed data only.
  /**
   * A page of a conversation's messages after `afterSeq`, of one session if named: at most `limit`, and whether more
   * follow. A conversation holds several sessions: with one named, it reads on until a page of that one is found.
   */
  historyPage(q: HistoryQuery): HistoryPage {
    const out: StoredMessage[] = [];
    let after = q.afterSeq;
    for (;;) {
      const page = this.messagesAfter(q.conv, after, q.limit + 1);
      for (const m of page) if (!q.sessionId || m.sessionId === q.sessionId) out.push(m);
      if (page.length <= q.limit || out.length > q.limit) break;
      after = page[page.length - 1].seq;
    }
    return { messages: out.slice(0, q.limit), more: out.length > q.limit };
  }
  messagesAfter(conv: Address, afterSeq: number, limit: number): StoredMessage[] {
    const { start, end } = messageRange(conv, afterSeq);
    const found = new Map<number, StoredMessage | MessageLocation>();
    for (const { value } of this.messages.getRange({ start, end, limit })) found.set(value.seq, value);
    // The log's (and its edits of older messages) win over rows kept from before it.
    for (const { seq, at } of this.turnLog.locations(conv, afterSeq, limit)) found.set(seq, at);
    const out: StoredMessage[] = [];
    for (const [seq, v] of [...found].sort((x, y) => x[0] - y[0]).slice(0, limit)) {
      const m = Array.isArray(v) ? this.turnLog.message(v, seq) : v;
      if (m) out.push(m);
    }
    return out;
  }
  /** One session's messages of a conversation, oldest first, between two sequence numbers if they are known. */
  *sessionMessages(conv: Address, sessionId: string, fromSeq = 1, toSeq = Number.MAX_SAFE_INTEGER): Generator<StoredMessage> {
    const PAGE = 500;
    let after = fromSeq - 1;
    for (;;) {
      const page = this.messagesAfter(conv, after, PAGE);
      for (const m of page) {
        if (m.seq > toSeq) return;
        if (m.sessionId === sessionId) yield m;
      }
      if (page.length < PAGE) return;
      after = page[page.length - 1].seq;
    }
  }
  getMessage(conv: Address, seq: number): StoredMessage | undefined {
    const [found] = this.messagesAfter(conv, seq - 1, 1);
    return found?.seq === seq ? found : undefined;
  }
  /** Session index entries never change once written, and agents' frames name sessions: the recent ones are kept. */
  lookupSession(sessionId: string): SessionIndex | undefined {
    let idx = this.sessionCache.get(sessionId);
    if (idx) return idx;
    idx = this.sessionIndex.get(sessionIndexKey(sessionId));
    if (idx) this.remember(this.sessionCache, sessionId, idx);
    return idx;
  }

  /** Keeps a value in a bounded cache (the oldest entry goes first). */
  private remember<V>(cache: Map<string, V>, key: string, value: V): void {
    if (cache.size >= SESSION_CACHE_SIZE && !cache.has(key)) cache.delete(cache.keys().next().value!);
    cache.set(key, value);
  }
  activeSessionsOf(app: number, userId: string): { csAccount: string; sessionId: string }[] {
    const { start, end } = activeRange(app, userId);
    return [...this.active.getRange({ start, end }).map((e) => ({ csAccount: e.key[2], sessionId: e.value }))];
  }
  allActiveSessions(): { app: number; userId: string; csAccount: string }[] {
    return [...this.active.getKeys().map((k) => ({ app: k[0], userId: k[1], csAccount: k[2] }))];
  }
  /** A group chat's entry: read on every message sent to the group, so the entries read lately are kept. */
  chatGroup(app: number, groupId: string): ChatGroupEntry | undefined {
    const key = `${app}|${groupId}`;
    const cached = this.chatGroupCache.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const entry = this.chatGroups.get(chatGroupKey(app, groupId)) ?? null;
    this.remember(this.chatGroupCache, key, entry);
    return entry ?? undefined;
  }
  allTimers(): { a: Address; key: string; at: number }[] {
    return [...this.timers.getRange().map((e) => ({ a: e.key[0], key: e.key[1], at: e.value }))];
  }
  /** Durable sends waiting: senders' rows, and receivers' copies (`held`), each by the id of its send. */
  allMail(): { id: MailId; entry: MailboxEntry; held: boolean }[] {
    return [...this.mailbox.getRange().map((e) => {
      const held = typeof e.key === 'string' && e.key.startsWith(HELD);
      return { id: held ? (e.key as string).slice(HELD.length) : e.key, entry: e.value, held };
    })];
  }
  apps(): AppModel[] {
    return [...this.meta.getRange({ start: ['app'], end: ['app', Number.MAX_SAFE_INTEGER] }).map((e) => e.value as AppModel)];
  }
  getMeta<T>(key: string): T | undefined {
    return this.meta.get(key) as T | undefined;
  }
  putMeta(key: string, value: unknown): void {
    this.write(() => this.meta.putSync(key, value));
  }

  async close(): Promise<void> {
    await this.checkpointing;
    await this.commit();
    await this.root.close();
    this.wal.close();
  }
}

/** How the hot tables and the turn-log records are encoded: plain msgpack, objects as objects. */
export function plainPackr(): Packr {
  return new Packr({ useRecords: false, mapsAsObjects: true });
}

function plainEncoding(): { encoder: Packr } {
  return { encoder: plainPackr() };
}
