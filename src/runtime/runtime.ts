/**
 * The actor runtime: addresses → mailboxes → decide/evolve → effects.
 *
 * Each event-loop turn processes a bounded number of messages, writes everything they produced (the actors' events,
 * messages, timers, durable sends) into the store, and releases the outward effects (pushes, replies, deliveries to
 * other actors) only when that write is committed. A message is therefore acknowledged only once it is durable.
 * An actor comes back as its last snapshot plus the events after it, folded with `evolve`; snapshots are written
 * at each checkpoint (every `checkpointEveryMs`) for the actors that changed, and when an idle actor is passivated.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { idOf, kindOf, parseId } from '../../actors/address';
import type { ActorDef, Address, Ctx, Effect, RankedQuestion, RankRequest, Recipient, ReplyTo, StoredMessage } from '../../actors/types';
import type { AppModel } from '../../protocol/app-model';
import { defaultInfo, ErrorCode } from '../../protocol/errors';
import type { ServerFrame } from '../../protocol/frames';
import { heldMailKey, type MailId, type OutboxEntry, type SessionIndex, type Store } from '../store/store';
import type { TurnWrite } from '../store/turn-log';
import type { Clock } from './clock';

/** Where outward effects go: the WebSocket gateway (and later the bus). */
export interface Outlet {
  push(to: Recipient, frame: ServerFrame, exceptConn?: number): void;
  reply(replyTo: Extract<ReplyTo, { conn: number }>, result: Reply): void;
  /** Called around each batch of released effects, so sends to one socket can be corked together. */
  beginBatch(): void;
  endBatch(): void;
  /** A callback committed to the outbox, to deliver. */
  callback?(id: MailId, entry: OutboxEntry): void;
  /** A question to an app's backend; the answer goes back to `from`. */
  ask?(from: Address, ask: Extract<Effect, { t: 'ask' }>): void;
  /** A question to an app's language model; the answer streams back to `from`. */
  llm?(from: Address, question: Extract<Effect, { t: 'llm' }>): void;
  /** A question's vector to work out; `from` is told when it is known or could not be had. */
  embed?(from: Address, question: Extract<Effect, { t: 'embed' }>): void;
}

export interface Reply { ok: boolean; data?: unknown; code?: number; info?: string }

/** A partition's log to import at a takeover: its records, and whether they replace what the node kept of it. */
export interface PartitionImport { partition: number; records: Buffer[]; fresh: boolean }

/**
 * Where actors live when this runtime is one node of a cluster (src/cluster/node.ts); without it every actor is
 * local. Messages for actors of other nodes, and replies to requests made on other nodes, go through it.
 */
export interface Placement {
  readonly nodeId: string;
  /** True while `address`'s actor lives on this node. */
  isLocal(address: Address): boolean;
  /**
   * Hands a message to the node that owns `to` (or `partition`, for an address routed by session id). Resolves once
   * that node has taken it: enqueued, or for a `durable` send, stored. Rejects when no node took it in time. The
   * receiving node takes an `id` once.
   */
  forward(to: Address, msg: unknown, id: string, durable: boolean, partition?: number): Promise<void>;
  /** Sends a reply to the node where its request was made. */
  reply(node: string, replyTo: ReplyTo, result: Reply): void;
  /** A new session's id, naming the partition of its conversation `conv`. */
  sessionId(conv: Address, uuid: string): string;
  /** The partition a session id names when another node owns it. */
  remoteSessionPartition(sessionId: string): number | undefined;
  partitionOf(address: Address): number;
}

/** The kind of address a message routed by session id goes to: `bysession:<session id>`, resolved by its owner. */
export const BY_SESSION = 'bysession';
/** The kind of address of a read (`read`) at a conversation's node: `read:<conversation address>`. */
export const READ = 'read';
/** How long a read at another node may take before it is answered with an error. */
const READ_TIMEOUT_MS = 10_000;
/** What `lookupSession` asks the node holding a session (answered with its index entry). */
const LOOKUP = '$lookupSession';
/** The kind of address of a message for a conversation only if it has a session going: `ifactive:<conversation address>`. */
export const IF_ACTIVE = 'ifactive';

/**
 * The address whose partition a message to `to` goes to: an actor's own; for a read or a presence change, the
 * conversation's; undefined for one routed by session id (the session id names the partition).
 */
export function routedAddress(to: Address): Address | undefined {
  const kind = kindOf(to);
  if (kind === BY_SESSION) return undefined;
  return kind === IF_ACTIVE || kind === READ ? idOf(to) : to;
}

export interface RuntimeMetrics {
  turn(messages: number): void;
  commit(seconds: number): void;
  /** A checkpoint that wrote something, from its start to its last commit. */
  checkpoint(seconds: number): void;
  actorFailure(kind: string): void;
  message(): void;
}

export interface RuntimeOptions {
  store: Store;
  clock: Clock;
  apps: (sdkAppId: number) => AppModel | undefined;
  log: Logger;
  outlet: Outlet;
  defs: ActorDef<any, any, any>[];
  newId?: () => string;
  metrics?: RuntimeMetrics;
  /** External messages waiting for one actor before new ones are refused. */
  mailboxLimit?: number;
  /** Messages one actor handles before others get a turn. */
  turnBudget?: number;
  /** Messages handled before yielding to I/O. */
  tickBudget?: number;
  /** Idle actors are dropped from memory after this long. */
  passivateAfterMs?: number;
  /** Time between checkpoints: snapshots of the actors that changed, and what the store keeps in memory meanwhile. */
  checkpointEveryMs?: number;
  /** The robots' knowledge: what actors rank questions against, and where unanswered questions are kept. */
  knowledge?: Knowledge;
  /** Told each turn's events and the turn's number for that actor, in the turn's transaction (the statistics projection). */
  project?: (address: Address, events: readonly unknown[], n: number) => void;
  /** The cluster's placement of actors, when this runtime is one node of a cluster. */
  placement?: Placement;
  /**
   * Reads of the store by conversation (`read`), run on the node that holds the conversation. Their queries may come
   * from other nodes: a reader checks what it is given.
   */
  readers?: Record<string, (query: unknown) => unknown>;
}

export interface Knowledge {
  rank(r: RankRequest): RankedQuestion[];
  awaitsMeaning?(app: number, text: string): boolean;
  recordUnanswered(app: number, robotId: string, u: { question: string; language: string; sessionId: string; at: number }): void;
}

/** A message for an actor; `mid`: a durable send's mail (sent by `from`), `timer`: a wake-up's key. */
interface Envelope { msg: unknown; mid?: MailId; from?: Address; timer?: string }

const timerId = (address: Address, key: string): string => `${address}\u0000${key}`;

interface Cell {
  address: Address;
  def: ActorDef<any, any, any>;
  state: unknown;
  mailbox: Envelope[];
  queued: boolean;
  failed: boolean;
  lastActive: number;
  /** Batch number of the last write of this actor's events. */
  lastBatch: number;
  /** Events applied to `state`, and how many of them the stored snapshot holds. */
  n: number;
  snapN: number;
  /** A snapshot written outside a turn (passivation) is not committed yet. */
  snapshotPending: boolean;
}

/** An effect released once its turn is durable; `p`: the partition of the actor whose turn it is (cluster nodes). */
type Released = ({ p?: number } & (
  | { k: 'push'; to: Recipient; frame: ServerFrame; exceptConn?: number }
  | { k: 'reply'; replyTo: ReplyTo; result: Reply }
  | { k: 'deliver'; to: Address; msg: unknown; mid: MailId; from: Address }
  | { k: 'callback'; id: MailId; entry: OutboxEntry }
  | { k: 'ask'; from: Address; ask: Extract<Effect, { t: 'ask' }> }
  | { k: 'llm'; from: Address; llm: Extract<Effect, { t: 'llm' }> }
  | { k: 'embed'; from: Address; embed: Extract<Effect, { t: 'embed' }> }));

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The answer to a request whose turn could not be copied to its partition's log (the partition left this node). */
const NOT_REPLICATED: Reply = { ok: false, code: ErrorCode.Internal, info: 'internal error, retry' };

export class Runtime {
  private readonly cells = new Map<Address, Cell>();
  private readonly ready: Cell[] = [];
  private readonly defs = new Map<string, ActorDef<any, any, any>>();
  /** Armed timers: when each is due, and the clock's handle. */
  private readonly timers = new Map<string, { at: number; handle: unknown }>();
  private readonly calls = new Map<number, (r: Reply) => void>();
  private callSeq = 0;
  /** Names this run in reply addresses (they may be stored in events and outlive a restart). */
  readonly boot = randomUUID();
  private released: Released[] = [];
  private drainScheduled = false;
  private batchNo = 0;
  private committedBatch = 0;
  private inFlight = 0;
  private passivateTimer?: NodeJS.Timeout;
  private checkpointTimer?: NodeJS.Timeout;
  private checkpointing = false;
  private checkpointRun?: Promise<void>;
  /** Takeovers under way (`takeOver`): no checkpoint or passivation meanwhile. */
  private takingOver = 0;
  /** Takeovers and keeping imports, one after another (`oneImport`). */
  private imports: Promise<unknown> = Promise.resolve();
  /**
   * Durable sends in mailboxes here, and those taken by turns not yet committed: one handed here twice (sent again,
   * or by two routes) is queued once, and not again before its taking is in the store.
   */
  private readonly queuedMail = new Set<MailId>();
  /** Durable sends taken since the last flush: they leave `queuedMail` once that flush's commit lands. */
  private takenUncommitted: MailId[] = [];
  /** When a checkpoint last forgot the durable sends taken long ago. */
  private takenPrunedAt = 0;
  private idleWaiters: (() => void)[] = [];
  /** Wake-ups changed by the turn being handled, with what they were before (to put back if it is refused). */
  private timerUndo?: { address: Address; key: string; before?: number }[];
  private readonly o: Required<Omit<RuntimeOptions, 'metrics' | 'knowledge' | 'project' | 'placement' | 'readers'>> & Pick<RuntimeOptions, 'metrics' | 'knowledge' | 'project' | 'placement' | 'readers'>;
  private stopped = false;

  constructor(opts: RuntimeOptions) {
    this.o = {
      ...opts,
      newId: opts.newId ?? randomUUID,
      mailboxLimit: opts.mailboxLimit ?? 1000,
      turnBudget: opts.turnBudget ?? 64,
      tickBudget: opts.tickBudget ?? 4000,
      passivateAfterMs: opts.passivateAfterMs ?? 300_000,
      checkpointEveryMs: opts.checkpointEveryMs ?? 5000,
    };
    for (const d of opts.defs) this.defs.set(d.kind, d);
    const knowledge = opts.knowledge;
    this.rank = knowledge && ((r) => knowledge.rank(r));
    this.awaitsMeaning = knowledge?.awaitsMeaning && ((app, text) => knowledge.awaitsMeaning!(app, text));
    const placement = opts.placement;
    this.sessionId = placement && ((conv) => placement.sessionId(conv, this.o.newId()));
  }

  private readonly rank?: (r: RankRequest) => RankedQuestion[];
  private readonly awaitsMeaning?: (app: number, text: string) => boolean;
  private readonly sessionId?: (conv: Address) => string;

  /**
   * Recovers committed work: re-arms timers, redelivers durable sends not yet handled. A cluster node does both for
   * a partition when it takes the partition over.
   */
  start(): void {
    const mail = this.o.store.allMail();
    if (!this.o.placement) {
      for (const t of this.o.store.allTimers()) this.arm(t.a, t.key, t.at);
      for (const m of mail) this.deliver(m.entry.to, m.entry.msg, m.id, m.entry.from);
    } else {
      // Sends stored before the node ran in a cluster name no sender: in no partition's log, they are passed on here.
      for (const m of mail) if (!m.held && m.entry.from === undefined) this.deliver(m.entry.to, m.entry.msg, m.id);
    }
    if (this.o.passivateAfterMs > 0) {
      this.passivateTimer = setInterval(() => this.passivate(), Math.max(1000, this.o.passivateAfterMs / 2));
      this.passivateTimer.unref();
    }
    if (this.o.checkpointEveryMs > 0) {
      this.checkpointTimer = setInterval(() => void this.checkpoint(), this.o.checkpointEveryMs);
      this.checkpointTimer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.passivateTimer);
    clearInterval(this.checkpointTimer);
    for (const h of this.timers.values()) this.o.clock.cancel(h.handle);
    this.timers.clear();
  }

  /**
   * Delivers a message from outside (gateway, facade). False when the actor's mailbox is full. In a cluster, one for
   * an actor of another node is forwarded; if no node takes it, its sender is answered with a refusal.
   */
  tell(to: Address, msg: unknown): boolean {
    const p = this.o.placement;
    if (p && !p.isLocal(to)) {
      p.forward(to, msg, randomUUID(), false).catch((err: unknown) => {
        this.o.log.warn({ err, to }, 'a message for an actor of another node was not taken');
        const replyTo = (msg as { replyTo?: ReplyTo } | null)?.replyTo;
        if (replyTo) this.sendReply(replyTo, { ok: false, code: ErrorCode.Internal, info: 'actor unreachable, retry' });
      });
      return true;
    }
    return this.tellHere(to, msg);
  }

  private tellHere(to: Address, msg: unknown): boolean {
    const cell = this.cell(to);
    if (cell.mailbox.length >= this.o.mailboxLimit) return false;
    this.enqueue(cell, { msg });
    return true;
  }

  /**
   * In a cluster, a request that names a session this node does not hold (`msg` for the session's conversation,
   * from app `app`): forwarded to the node that does, which resolves it. False when no other node holds it.
   */
  tellBySession(sessionId: string, app: number | undefined, msg: { type?: string; replyTo?: ReplyTo }): boolean {
    const p = this.o.placement;
    const partition = p?.remoteSessionPartition(sessionId);
    if (p === undefined || partition === undefined) return false;
    p.forward(`${BY_SESSION}:${sessionId}`, { app, msg }, randomUUID(), false, partition).catch((err: unknown) => {
      this.o.log.warn({ err, sessionId }, 'a request for a session of another node was not taken');
      if (msg.replyTo) this.sendReply(msg.replyTo, { ok: false, code: ErrorCode.Internal, info: 'session unreachable, retry' });
    });
    return true;
  }

  /**
   * Tells a session actor (a conversation) only if it has a session going, as the index of its node says: a user's
   * sockets coming and going concern those only. In a cluster, asked of the node that holds the conversation.
   */
  tellIfActive(conv: Address, msg: unknown): void {
    const p = this.o.placement;
    if (!p || p.isLocal(conv)) {
      this.tellHereIfActive(conv, msg);
      return;
    }
    p.forward(`${IF_ACTIVE}:${conv}`, msg, randomUUID(), false, p.partitionOf(conv)).catch((err: unknown) => {
      this.o.log.warn({ err, conv }, 'a presence change for a conversation of another node was not taken');
    });
  }

  private tellHereIfActive(conv: Address, msg: unknown): void {
    const [app, csAccount, userId] = parseId(idOf(conv), 3);
    if (this.o.store.activeSessionsOf(Number(app), userId).some((s) => s.csAccount === csAccount)) this.tellHere(conv, msg);
  }

  /** True when `address`'s actor lives on this node (always, outside a cluster). */
  isLocal(address: Address): boolean {
    return !this.o.placement || this.o.placement.isLocal(address);
  }

  /** Runs reader `name` (RuntimeOptions.readers) on the node that holds conversation `conv`; its result is the reply's data. */
  read(conv: Address, name: string, query: unknown): Promise<Reply> {
    const p = this.o.placement;
    if (!p || p.isLocal(conv)) return Promise.resolve(this.runReader(name, query));
    const { replyTo, reply, settle } = this.awaitedReply(p.nodeId);
    p.forward(`${READ}:${conv}`, { name, query, replyTo }, randomUUID(), false, p.partitionOf(conv)).catch((err: unknown) => {
      this.o.log.warn({ err, conv }, 'a read at another node was not taken');
      settle({ ok: false, code: ErrorCode.Internal, info: 'conversation unreachable, retry' });
    });
    return reply;
  }

  /**
   * A reply address for a request to another node, and the reply: the answer, or an error once the request has been
   * out for READ_TIMEOUT_MS (a node may be lost with the request taken).
   */
  private awaitedReply(node: string): { replyTo: ReplyTo; reply: Promise<Reply>; settle(r: Reply): void } {
    const id = ++this.callSeq;
    let settle!: (r: Reply) => void;
    const reply = new Promise<Reply>((resolve) => {
      let done = false;
      const timer = setTimeout(() => settle({ ok: false, code: ErrorCode.Internal, info: 'no answer from the node that holds it, retry' }), READ_TIMEOUT_MS);
      timer.unref();
      settle = (r) => {
        if (done) return;
        done = true;
        this.calls.delete(id);
        clearTimeout(timer);
        resolve(r);
      };
      this.calls.set(id, settle);
    });
    return { replyTo: { call: id, boot: this.boot, node }, reply, settle };
  }

  private runReader(name: unknown, query: unknown): Reply {
    const reader = typeof name === 'string' && this.o.readers && Object.hasOwn(this.o.readers, name) ? this.o.readers[name] : undefined;
    if (!reader) return { ok: false, code: ErrorCode.BadParameter, info: `no reader '${String(name)}'` };
    try {
      return { ok: true, data: reader(query) };
    } catch (err) {
      this.o.log.warn({ err, reader: name }, 'a read failed');
      return { ok: false, code: ErrorCode.Internal, info: 'read failed, retry' };
    }
  }

  /** Where a session is (its conversation, app, account, user): in this node's index, or asked of the node holding it. */
  lookupSession(sessionId: string): Promise<SessionIndex | undefined> {
    const here = this.o.store.lookupSession(sessionId);
    const p = this.o.placement;
    if (here || !p || p.remoteSessionPartition(sessionId) === undefined) return Promise.resolve(here);
    const { replyTo, reply } = this.awaitedReply(p.nodeId);
    this.tellBySession(sessionId, undefined, { type: LOOKUP, replyTo });
    // Not found is an answer; no answer (a node lost, a partition between owners) is an error to retry.
    return reply.then((r) => {
      if (r.ok) return r.data as SessionIndex;
      if (r.code === ErrorCode.SessionNotFound) return undefined;
      throw new Error(r.info ?? 'session unreachable, retry');
    });
  }

  /** The owner's side of the addresses that name no actor (`routedAddress`), by kind. */
  private readonly routes: Record<string, (id: string, msg: unknown) => void> = {
    [BY_SESSION]: (sessionId, msg) => this.resolveBySession(sessionId, msg as { app?: unknown; msg?: { type?: unknown; replyTo?: ReplyTo } }),
    [IF_ACTIVE]: (conv, msg) => this.tellHereIfActive(conv, msg),
    [READ]: (_conv, msg) => {
      const m = msg as { name?: unknown; query?: unknown; replyTo?: ReplyTo };
      if (m.replyTo) this.sendReply(m.replyTo, this.runReader(m.name, m.query));
    },
  };

  /** The owner's side of `tellBySession`: the session's conversation, found here, gets the request (or its index is answered). */
  private resolveBySession(sessionId: string, m: { app?: unknown; msg?: { type?: unknown; replyTo?: ReplyTo } }): void {
    const idx = this.o.store.lookupSession(sessionId);
    if (m.msg?.type === LOOKUP) {
      if (m.msg.replyTo) this.sendReply(m.msg.replyTo, idx ? { ok: true, data: idx } : { ok: false, code: ErrorCode.SessionNotFound });
      return;
    }
    if (idx && idx.app === m.app && m.msg) {
      if (!this.tellHere(idx.conv, m.msg)) throw new Error(`mailbox of ${idx.conv} is full`);
      return;
    }
    if (m.msg?.replyTo) this.sendReply(m.msg.replyTo, { ok: false, code: ErrorCode.SessionNotFound, info: defaultInfo[ErrorCode.SessionNotFound] });
  }

  /**
   * A message forwarded by another node for an actor of this one: taken once enqueued, or for a durable send (`id`)
   * once stored in the actor's partition log (the sender then forgets it). A durable send taken before, or waiting
   * here already, is not taken again. Rejects when it cannot be taken, so the sender asks again.
   */
  async accept(to: Address, msg: unknown, durable: boolean, id: string): Promise<void> {
    const route = Object.hasOwn(this.routes, kindOf(to)) ? this.routes[kindOf(to)] : undefined;
    if (route) {
      route(idOf(to), msg);
      return;
    }
    if (!this.defs.has(kindOf(to))) throw new Error(`no actor kind for address ${to}`);
    if (!durable) {
      if (!this.tellHere(to, msg)) throw new Error(`mailbox of ${to} is full`);
      return;
    }
    const store = this.o.store;
    // Stored by the receiver, in its own partition's log, even when queued here already: the copy queued may be one
    // its sender's partition passed on while served here, which only that partition's log holds.
    if (!store.mailTaken(id) && !store.holdsMail(id)) this.outsideTurn(to, [['m', heldMailKey(id), { to, msg }]]);
    // Whatever says the send is here (held, or taken) is durable before the sender forgets it.
    await store.commit();
    // Not in the log (another node claimed it meanwhile): not taken, so the sender asks the partition's new owner.
    if (this.o.placement && store.abandonedPartitions()?.has(this.o.placement.partitionOf(to))) throw new Error(`the log of ${to} was claimed by another node`);
    if (!store.mailTaken(id)) this.enqueueMail(to, msg, id);
  }

  /**
   * Partitions this node takes over (a cluster node that gained them). Once the turns in flight are durable, `load`
   * claims the partitions' logs and reads what to import (each partition's records, and whether they replace what
   * this node kept of it or follow it); the actors of the partitions leave memory, the records are imported and
   * committed, and the wake-ups stored for those actors are armed (only the partition's holder arms them, so each
   * fires on one node). Checkpoints and passivation wait meanwhile: they would write snapshots of the old state.
   * Resolves with the number of turns imported (of the partitions `load` returned: it may leave out some, lost
   * meanwhile).
   */
  async takeOver(load: () => Promise<PartitionImport[]>): Promise<number> {
    const placement = this.o.placement;
    if (!placement) throw new Error('only a cluster node takes partitions over');
    const store = this.o.store;
    return this.oneImport(async () => {
      await store.commit();
      const { turns, inParts: inTaken } = await this.importPartitions(await load());
      // A checkpoint at once: the node's own turns of these actors, still in the log records after the last one,
      // would otherwise be read again at a restart.
      await this.writeCheckpoint();
      for (const t of store.allTimers()) if (inTaken(t.a)) this.arm(t.a, t.key, t.at);
      // The partitions' durable sends and callbacks not yet passed on, as their logs leave them (some may have been
      // sent already: receivers take a send once, and a callback carries its idempotency key).
      for (const m of store.allMail()) {
        if (!inTaken(m.entry.from ?? m.entry.to)) continue;
        if (inTaken(m.entry.to)) this.enqueueMail(m.entry.to, m.entry.msg, m.id, m.entry.from);
        else this.deliver(m.entry.to, m.entry.msg, m.id, m.entry.from);
      }
      for (const c of store.pendingCallbacks()) if (c.entry.from !== undefined && inTaken(c.entry.from)) this.o.outlet.callback?.(c.id, c.entry);
      return turns;
    });
  }

  /**
   * Takes in records of partitions other nodes serve, as they are written (this node is next in line for them, so a
   * takeover then reads only what came after): imported as a takeover imports them, without serving them (no
   * wake-up armed, no send passed on). `parts` is called once no checkpoint runs, and what it returns is imported
   * at once. Resolves with the number of turns imported, once committed.
   */
  async keepPartitions(parts: () => PartitionImport[]): Promise<number> {
    if (!this.o.placement) throw new Error('only a cluster node keeps partitions');
    return this.oneImport(async () => {
      const taken = this.stopped ? [] : parts();
      return taken.length > 0 ? (await this.importPartitions(taken, true)).turns : 0;
    });
  }

  /**
   * Runs a takeover or a keeping import once those before it have ended, with no checkpoint or passivation
   * meanwhile (they would write snapshots of state from before the import): a checkpoint asked for meanwhile runs
   * after them.
   */
  private oneImport<T>(fn: () => Promise<T>): Promise<T> {
    this.takingOver++;
    const run = this.imports.then(async () => {
      await this.checkpointRun;
      return fn();
    }).finally(() => { this.takingOver--; });
    this.imports = run.catch(() => undefined);
    return run;
  }

  /**
   * Imports partitions' records over what this node kept of them (`fresh`: instead of it), and commits; their actors
   * leave memory before and after (one read in between holds the state from before). `keeping` (partitions served
   * elsewhere, whose actors are here only to be checkpointed): only the actors the records name leave memory after.
   */
  private async importPartitions(parts: readonly PartitionImport[], keeping = false): Promise<{ turns: number; inParts: (a: Address) => boolean }> {
    const placement = this.o.placement!;
    const store = this.o.store;
    const taken = new Set(parts.map((x) => x.partition));
    const fresh = new Set(parts.filter((x) => x.fresh).map((x) => x.partition));
    const inParts = (a: Address): boolean => taken.has(placement.partitionOf(a));
    const whole = !keeping || fresh.size > 0;
    if (whole) this.forgetActors(inParts);
    const touched = new Set<Address>();
    const mark = store.mark();
    let turns = 0;
    try {
      if (fresh.size > 0) {
        store.forgetHeld(fresh);
        store.resetActors((a) => fresh.has(placement.partitionOf(a)));
      }
      for (const part of parts) turns += store.importRecords(part.records, touched);
    } catch (err) {
      store.rollback(mark);
      throw err;
    }
    await store.commit();
    if (whole) this.forgetActors(inParts);
    else for (const a of touched) this.dropElsewhere(a);
    return { turns, inParts };
  }

  /** An actor of a partition served elsewhere leaves memory, if it is here (it holds no mail and no wake-up). */
  private dropElsewhere(a: Address): void {
    const c = this.cells.get(a);
    if (c && !c.queued && c.mailbox.length === 0 && !this.o.placement!.isLocal(a)) this.cells.delete(a);
  }

  /** The actors `drop` names leave memory (as to another node) and their wake-ups are disarmed. */
  private forgetActors(drop: (a: Address) => boolean): void {
    let unqueued = false;
    for (const cell of [...this.cells.values()]) {
      // One restarting from the store after a failed turn reads it again once its commit lands.
      if (!drop(cell.address) || cell.failed) continue;
      // One waiting for its turn leaves the queue: its state is from before the import, and its mailbox goes on to
      // the partition's owner (this node, once it serves the partition).
      if (cell.queued) {
        cell.queued = false;
        unqueued = true;
      }
      this.evict(cell);
    }
    if (unqueued) {
      const kept = this.ready.filter((c) => c.queued);
      this.ready.length = 0;
      this.ready.push(...kept);
    }
    for (const [k, h] of this.timers) {
      if (!drop(k.slice(0, k.indexOf('\u0000')))) continue;
      this.o.clock.cancel(h.handle);
      this.timers.delete(k);
    }
  }

  /** A reply from another node to a request made on this one. */
  receiveReply(replyTo: ReplyTo, result: Reply): void {
    this.sendReply(replyTo, result);
  }

  /** The reply address of a socket's request (`conn`), naming this run and, in a cluster, this node. */
  replyAddress(conn: number, ref: string | number | undefined, as: string): ReplyTo {
    const node = this.o.placement?.nodeId;
    return node === undefined ? { conn, ref, as, boot: this.boot } : { conn, ref, as, boot: this.boot, node };
  }

  /** Sends a request carrying `replyTo` and resolves with the actor's reply. */
  call(to: Address, build: (replyTo: ReplyTo) => unknown): Promise<Reply> {
    const id = ++this.callSeq;
    const node = this.o.placement?.nodeId;
    return new Promise((resolve) => {
      this.calls.set(id, resolve);
      if (!this.tell(to, build(node === undefined ? { call: id, boot: this.boot } : { call: id, boot: this.boot, node }))) {
        this.calls.delete(id);
        resolve({ ok: false, code: ErrorCode.Internal, info: 'actor busy, retry' });
      }
    });
  }

  /** The in-memory state of an actor (activating it); for read paths and tests. */
  peek<S>(address: Address): S {
    return this.cell(address).state as S;
  }

  activeActors(): number {
    return this.cells.size;
  }

  /** Resolves when no message is waiting and every write has been committed and released. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private isIdle(): boolean {
    return this.ready.length === 0 && this.inFlight === 0 && !this.drainScheduled && this.released.length === 0;
  }

  private cell(address: Address): Cell {
    let c = this.cells.get(address);
    if (!c) {
      const def = this.defs.get(kindOf(address));
      if (!def) throw new Error(`no actor kind for address ${address}`);
      c = { address, def, state: undefined, mailbox: [], queued: false, failed: false, lastActive: this.o.clock.now(), lastBatch: 0, n: 0, snapN: 0, snapshotPending: false };
      this.recover(c);
      this.cells.set(address, c);
    }
    return c;
  }

  /** The actor's committed state: its snapshot and the events after it. */
  private recover(c: Cell): void {
    const snap = this.o.store.loadSnapshot(c.address);
    let state = snap ? snap.state : c.def.initial(idOf(c.address));
    let n = snap?.n ?? 0;
    for (const rec of this.o.store.eventsAfter(c.address, n)) {
      for (const e of rec.es) state = c.def.evolve(state, e);
      n++;
    }
    c.state = state;
    c.n = n;
    c.snapN = snap?.n ?? 0;
  }

  private enqueue(cell: Cell, env: Envelope): void {
    cell.mailbox.push(env);
    if (!cell.queued && !cell.failed) {
      cell.queued = true;
      this.ready.push(cell);
    }
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    // A stopped runtime takes no more turns: what still arrives (a socket closing late, a model's last words) is
    // answered by no one, as after a crash, and nothing is written to a store that may be closed.
    if (this.drainScheduled || this.stopped) return;
    this.drainScheduled = true;
    setImmediate(() => this.drain());
  }

  /**
   * Arms the wake-up of (address, key) at `at`; false, changing nothing, when one is already due no later: the actor
   * checks its own deadline when woken and asks again if early.
   */
  private arm(address: Address, key: string, at: number): boolean {
    const k = timerId(address, key);
    const old = this.timers.get(k);
    if (old !== undefined) {
      if (old.at <= at) return false;
      this.o.clock.cancel(old.handle);
    }
    this.timerUndo?.push({ address, key, before: old?.at });
    this.schedule(address, key, at);
    return true;
  }

  private schedule(address: Address, key: string, at: number): void {
    const k = timerId(address, key);
    this.timers.set(k, {
      at,
      handle: this.o.clock.schedule(at, () => {
        this.timers.delete(k);
        this.enqueue(this.cell(address), { msg: { type: '$timer', key }, timer: key });
      }),
    });
  }

  /** Disarms the wake-up of (address, key); false when none was armed. */
  private disarm(address: Address, key: string): boolean {
    const k = timerId(address, key);
    const h = this.timers.get(k);
    if (h === undefined) return false;
    this.o.clock.cancel(h.handle);
    this.timers.delete(k);
    this.timerUndo?.push({ address, key, before: h.at });
    return true;
  }

  /** Puts the wake-ups a refused turn changed back as they were, latest change first. */
  private undoTimers(): void {
    for (const u of (this.timerUndo ?? []).reverse()) {
      const k = timerId(u.address, u.key);
      const cur = this.timers.get(k);
      if (cur) this.o.clock.cancel(cur.handle);
      this.timers.delete(k);
      if (u.before !== undefined) this.schedule(u.address, u.key, u.before);
    }
  }

  private drain(): void {
    this.drainScheduled = false;
    if (this.stopped) return;
    let handled = 0;
    const batch = ++this.batchNo;
    while (this.ready.length > 0 && handled < this.o.tickBudget) {
      const cell = this.ready.shift()!;
      cell.queued = false;
      if (this.o.placement && !this.o.placement.isLocal(cell.address)) {
        this.evict(cell);
        continue;
      }
      let n = 0;
      while (cell.mailbox.length > 0 && n < this.o.turnBudget && !cell.failed) {
        this.handle(cell, cell.mailbox.shift()!, batch);
        n++;
      }
      handled += n;
      if (cell.mailbox.length > 0 && !cell.failed) {
        cell.queued = true;
        this.ready.push(cell);
      }
    }
    this.o.metrics?.turn(handled);
    if (this.ready.length > 0) this.scheduleDrain();
    this.flush(batch);
  }

  private handle(cell: Cell, env: Envelope, batch: number): void {
    const store = this.o.store;
    const now = this.o.clock.now();
    if (env.mid !== undefined) {
      this.takenUncommitted.push(env.mid);
      // A copy of a durable send this actor took before (its sender's node sent it again): only put away.
      if (this.o.placement && store.mailTaken(env.mid)) {
        store.appendTurn(cell.address, cell.n, now, [], [], this.mailTakenWrites(cell.address, env, now));
        cell.lastBatch = batch;
        return;
      }
    }
    const ctx: Ctx = { now, app: this.o.apps, newId: this.o.newId, rank: this.rank, awaitsMeaning: this.awaitsMeaning, sessionId: this.sessionId };
    const prev = cell.state;
    let effects: Effect[];
    let events: unknown[];
    let next: unknown;
    try {
      const d = cell.def.decide(prev, env.msg, ctx);
      events = d.events;
      effects = d.effects;
      next = d.state !== undefined ? d.state : events.reduce((s: unknown, e) => cell.def.evolve(s, e), prev);
    } catch (err) {
      this.fail(cell, env, err);
      return;
    }
    // A turn is stored whole or not at all: values are encoded as they are queued, and one that cannot be stored
    // takes back the turn's writes, releases and timers, then refuses the message as a failed turn does.
    const mark = store.mark();
    const releasedMark = this.released.length;
    this.timerUndo = [];
    try {
      const writes: TurnWrite[] = env.mid !== undefined ? this.mailTakenWrites(cell.address, env, now) : [];
      if (env.timer !== undefined) writes.push(['t', env.timer, null]);
      let messages: StoredMessage[] | undefined;
      for (const f of effects) {
        if (f.t === 'message') (messages ??= []).push(f.message);
        else this.effect(cell.address, f, now, writes);
      }
      if (events.length > 0 || messages || writes.length > 0) store.appendTurn(cell.address, events.length > 0 ? cell.n + 1 : cell.n, now, events, messages ?? [], writes);
      if (messages) for (let i = 0; i < messages.length; i++) this.o.metrics?.message();
      if (this.o.placement && this.released.length > releasedMark) {
        const p = this.o.placement.partitionOf(cell.address);
        for (let i = releasedMark; i < this.released.length; i++) this.released[i].p = p;
      }
    } catch (err) {
      store.rollback(mark);
      this.released.length = releasedMark;
      this.undoTimers();
      this.fail(cell, env, err, { ok: false, code: ErrorCode.BadParameter, info: 'this message could not be stored; it was not accepted' });
      return;
    } finally {
      this.timerUndo = undefined;
    }
    cell.lastActive = now;
    if (events.length > 0) {
      cell.n++;
      this.o.project?.(cell.address, events, cell.n);
    }
    cell.state = next;
    if (events.length > 0 || env.mid !== undefined || env.timer !== undefined) cell.lastBatch = batch;
  }

  /** One effect of a turn: queued for release, or written (`writes`, stored with the turn's record). */
  private effect(from: Address, f: Effect, now: number, writes: TurnWrite[]): void {
    const store = this.o.store;
    switch (f.t) {
      case 'send': {
        const mid = store.newMailId(now);
        writes.push(['m', mid, { to: f.to, msg: f.msg, from }]);
        this.released.push({ k: 'deliver', to: f.to, msg: f.msg, mid, from });
        break;
      }
      case 'push':
        this.released.push({ k: 'push', to: f.to, frame: f.frame, exceptConn: f.exceptConn });
        break;
      case 'reply':
        this.released.push({ k: 'reply', replyTo: f.replyTo, result: { ok: f.ok, data: f.data, code: f.code, info: f.info } });
        break;
      case 'timer':
        if (this.arm(from, f.key, f.at)) writes.push(['t', f.key, f.at]);
        break;
      case 'cancelTimer':
        // Every stored timer is armed in memory (re-armed at start), so an unarmed one has no row to remove.
        if (this.disarm(from, f.key)) writes.push(['t', f.key, null]);
        break;
      case 'message':
        // Stored with the turn (appendTurn).
        break;
      case 'activeSession':
        writes.push(['a', f.app, f.userId, f.csAccount, f.sessionId]);
        break;
      case 'unanswered': {
        const asked = { question: f.question, language: f.language, sessionId: f.sessionId, at: now };
        // A cluster node's list is every node's, kept from the partition logs (LogFollower).
        if (this.o.placement) writes.push(['u', f.app, f.robotId, asked]);
        else this.o.knowledge?.recordUnanswered(f.app, f.robotId, asked);
        break;
      }
      case 'chatGroup':
        writes.push(['g', f.app, f.groupId, f.group ? { csAccount: f.csAccount, group: f.group } : null]);
        break;
      case 'ask':
        this.released.push({ k: 'ask', from, ask: f });
        break;
      case 'llm':
        this.released.push({ k: 'llm', from, llm: f });
        break;
      case 'embed':
        this.released.push({ k: 'embed', from, embed: f });
        break;
      case 'record':
        writes.push(['r', f.app, f.sessionId, f.fields, f.startedAt ?? null]);
        break;
      case 'callback': {
        const uid = store.newMailId(now);
        const entry: OutboxEntry = { app: f.app, key: f.key, command: f.command, body: f.body, createdAt: now, uid, from };
        writes.push(['c', uid, entry]);
        this.released.push({ k: 'callback', id: uid, entry });
        break;
      }
    }
  }

  /**
   * A failed turn (the actor threw, or what it produced could not be stored): the message is dropped with `refusal`
   * as its answer, and the actor restarts from the store once pending writes land.
   */
  private fail(cell: Cell, env: Envelope, err: unknown, refusal: Reply = { ok: false, code: ErrorCode.Internal, info: 'internal error, retry' }): void {
    this.o.log.error({ err, actor: cell.address, msg: env.msg }, 'actor turn failed; restarting the actor from the store');
    this.o.metrics?.actorFailure(cell.def.kind);
    if (env.mid !== undefined) this.outsideTurn(cell.address, this.mailTakenWrites(cell.address, env, this.o.clock.now()));
    const replyTo = (env.msg as { replyTo?: ReplyTo } | null)?.replyTo;
    if (replyTo) this.released.push({ k: 'reply', replyTo, result: refusal });
    cell.failed = true;
    this.inFlight++;
    this.o.store.commit().then(() => {
      this.recover(cell);
      cell.failed = false;
      this.inFlight--;
      if (cell.mailbox.length > 0 && !cell.queued) {
        cell.queued = true;
        this.ready.push(cell);
      }
      this.scheduleDrain();
    }, (e) => this.fatal(e));
  }

  private flush(batch: number): void {
    const released = this.released;
    this.released = [];
    const taken = this.takenUncommitted;
    this.takenUncommitted = [];
    this.inFlight++;
    const started = process.hrtime.bigint();
    this.o.store.commit().then(() => {
      for (const id of taken) this.queuedMail.delete(id);
      this.o.metrics?.commit(Number(process.hrtime.bigint() - started) / 1e9);
      this.committedBatch = Math.max(this.committedBatch, batch);
      // Asked now, not of the transaction: a batch's turns may be spread over more than one (a failed turn commits).
      this.release(released, this.o.store.abandonedPartitions());
      this.inFlight--;
      if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
    }, (e) => this.fatal(e));
  }

  /**
   * What turns produced, now that they are durable. The effects of turns whose partition's log did not take them
   * (`abandoned`) are not released, as the turns never happened for the cluster: a request among them is answered
   * "retry" instead.
   */
  private release(list: Released[], abandoned?: ReadonlySet<number>): void {
    const outlet = this.o.outlet;
    outlet.beginBatch();
    try {
      for (const r of list) {
        try {
          if (r.p !== undefined && abandoned?.has(r.p)) {
            if (r.k === 'reply') this.sendReply(r.replyTo, NOT_REPLICATED);
            continue;
          }
          this.releaseOne(outlet, r);
        } catch (err) {
          // One failing outward effect (a socket, a backend) must not hold back the rest of the batch.
          this.o.log.error({ err, effect: r.k }, 'releasing an effect failed');
        }
      }
    } finally {
      outlet.endBatch();
    }
  }

  private releaseOne(outlet: Outlet, r: Released): void {
    switch (r.k) {
      case 'push':
        outlet.push(r.to, r.frame, r.exceptConn);
        break;
      case 'reply':
        this.sendReply(r.replyTo, r.result);
        break;
      case 'deliver':
        this.deliver(r.to, r.msg, r.mid, r.from);
        break;
      case 'callback':
        outlet.callback?.(r.id, r.entry);
        break;
      case 'ask':
        outlet.ask?.(r.from, r.ask);
        break;
      case 'llm':
        outlet.llm?.(r.from, r.llm);
        break;
      case 'embed':
        outlet.embed?.(r.from, r.embed);
        break;
    }
  }

  /**
   * An actor whose partition went to another node: what waits in its mailbox goes there, its wake-ups are the new
   * owner's, and it leaves memory.
   */
  private evict(cell: Cell): void {
    const p = this.o.placement!;
    for (const env of cell.mailbox.splice(0)) {
      if (env.mid !== undefined) {
        this.queuedMail.delete(env.mid);
        this.deliver(cell.address, env.msg, env.mid, env.from);
      } else if (env.timer === undefined) this.tell(cell.address, env.msg);
    }
    for (const [k, h] of this.timers) {
      if (!k.startsWith(`${cell.address}\u0000`)) continue;
      this.o.clock.cancel(h.handle);
      this.timers.delete(k);
    }
    this.cells.delete(cell.address);
    this.o.log.debug({ actor: cell.address, node: p.nodeId }, 'actor left for its partition\'s new owner');
  }

  private sendReply(replyTo: ReplyTo, result: Reply): void {
    // A reply address from another node's message is only as good as that message.
    if (typeof replyTo !== 'object' || replyTo === null) return;
    const p = this.o.placement;
    if (p && replyTo.node !== undefined && replyTo.node !== p.nodeId) {
      p.reply(replyTo.node, replyTo, result);
      return;
    }
    // A reply address stored before a restart names a call or socket of an earlier run: nobody waits for it.
    if (replyTo.boot !== undefined && replyTo.boot !== this.boot) return;
    if ('call' in replyTo) {
      const resolve = this.calls.get(replyTo.call);
      this.calls.delete(replyTo.call);
      resolve?.(result);
      return;
    }
    this.o.outlet.reply(replyTo, result);
  }

  /** A durable send for an actor here, queued once however many times it is handed here. */
  private enqueueMail(to: Address, msg: unknown, mid: MailId, from?: Address): void {
    if (this.queuedMail.has(mid)) return;
    this.queuedMail.add(mid);
    this.enqueue(this.cell(to), from === undefined ? { msg, mid } : { msg, mid, from });
  }

  /**
   * The writes of a durable send taken by `receiver`: its mail removed and, on a cluster node, the send noted as
   * taken (a copy sent again is then only put away). The sender's partition, when another one served here, is told
   * in its own log that the send is done.
   */
  private mailTakenWrites(receiver: Address, env: Envelope, now: number): TurnWrite[] {
    const mid = env.mid!;
    const store = this.o.store;
    const p = this.o.placement;
    const writes: TurnWrite[] = store.holdsMail(mid) ? [['m', heldMailKey(mid), null]] : [];
    if (!p) {
      writes.push(['m', mid, null]);
      return writes;
    }
    writes.push(['k', mid]);
    if (env.from === undefined) return writes;
    // The sender's row: removed in the receiver's log when one partition holds both; else in the sender's log while
    // its partition is served here, or by its node once this one took the send (`deliver`).
    if (p.partitionOf(env.from) === p.partitionOf(receiver)) writes.push(['m', mid, null]);
    else if (p.isLocal(env.from)) store.appendTurn(env.from, 0, now, [], [], [['m', mid, null]]);
    return writes;
  }

  /**
   * Writes made outside the actor's turns (a durable send passed on or refused, a callback done): a turn of number 0
   * in its partition's log while the actor is served here; else only here (its new node has the partition's log,
   * and sends again what it still holds: receivers take a send once, and callbacks carry their idempotency key).
   */
  private outsideTurn(a: Address, w: TurnWrite[]): void {
    const now = this.o.clock.now();
    if (this.isLocal(a)) this.o.store.appendTurn(a, 0, now, [], [], w);
    else this.o.store.applyWrites(a, now, w);
  }

  /** A callback done with: delivered, or (`failure`) set aside for the operator after its last attempt. */
  callbackSettled(id: MailId, entry: OutboxEntry, failure?: string): Promise<unknown> {
    const store = this.o.store;
    if (failure !== undefined) store.keepFailedCallback(id, entry, failure);
    if (entry.from !== undefined) this.outsideTurn(entry.from, [['c', id, null]]);
    else store.removeCallback(id);
    return store.commit();
  }

  /**
   * A committed durable send (mail `mid`, sent by `from`): enqueued here, or forwarded to the node of its actor and
   * forgotten once stored there (asked again, with the same id, until it is): in the sender's partition log too, so
   * the sender's next node does not send it again.
   */
  private deliver(to: Address, msg: unknown, mid: MailId, from?: Address): void {
    const p = this.o.placement;
    if (!p || p.isLocal(to)) {
      this.enqueueMail(to, msg, mid, from);
      return;
    }
    this.inFlight++;
    p.forward(to, msg, String(mid), true).then(() => {
      if (from !== undefined) this.outsideTurn(from, [['m', mid, null]]);
      else this.o.store.removeMail(mid);
      return this.o.store.commit();
    }).catch((err: unknown) => {
      if (this.stopped) return;
      this.o.log.warn({ err, to }, 'a durable send to another node was not taken; trying again');
      setTimeout(() => { if (!this.stopped) this.deliver(to, msg, mid, from); }, 1000).unref();
    }).finally(() => {
      this.inFlight--;
      if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
    });
  }

  /** A failed commit means memory and disk disagree: stop rather than acknowledge what is not stored. */
  private fatal(err: unknown): void {
    this.o.log.fatal({ err }, 'storage commit failed; exiting');
    process.exit(70);
  }

  /**
   * Writes the snapshots of the actors that changed since the last checkpoint, then the store's checkpoint; after it
   * a restart reads only the turns that came later. Skipped while an actor that changed is restarting from the
   * store (its state in memory is not to be trusted), or while a partition is being taken over: the next one covers
   * it. Resolves when the one running (if any) is done.
   */
  checkpoint(): Promise<void> {
    // After the imports under way (a stop's last checkpoint must not be skipped).
    if (this.takingOver > 0) return this.imports.then(() => (this.stopped ? undefined : this.checkpoint()));
    this.checkpointRun ??= this.writeCheckpoint().finally(() => { this.checkpointRun = undefined; });
    return this.checkpointRun;
  }

  private async writeCheckpoint(): Promise<void> {
    const changed: Cell[] = [];
    for (const a of this.o.store.actorsSinceCheckpoint()) {
      // One not in memory is brought back from the store: after a restart, the turns read again at start are
      // known only to the log, and this checkpoint stops reading them there. (One passivated since has a snapshot
      // that holds them, and needs no new one.)
      let c: Cell;
      try {
        c = this.cell(a);
      } catch (err) {
        // Its turns stay in the log, read again at start, until one checkpoint can take it.
        this.o.log.error({ err, actor: a }, 'an actor could not be loaded; checkpoint skipped');
        return;
      }
      if (c.failed) return;
      changed.push(c);
    }
    this.checkpointing = true;
    this.inFlight++;
    const started = process.hrtime.bigint();
    try {
      const now = this.o.clock.now();
      const wrote = await this.o.store.checkpoint(() => {
        for (const c of changed) {
          if (c.n === c.snapN) continue;
          this.o.store.putSnapshot(c.address, { n: c.n, state: c.state });
          c.snapN = c.n;
        }
        // Taken sends are remembered a day: a sender's node sends again within seconds of a takeover.
        if (this.o.placement && now - this.takenPrunedAt >= HOUR_MS) {
          this.takenPrunedAt = now;
          this.o.store.pruneTakenMail(now - DAY_MS);
        }
      });
      if (wrote) this.o.metrics?.checkpoint(Number(process.hrtime.bigint() - started) / 1e9);
      // Actors of partitions served elsewhere (taken in from their logs) were brought here only to be written.
      const placement = this.o.placement;
      if (placement) for (const c of changed) if (this.cells.get(c.address) === c && c.n === c.snapN) this.dropElsewhere(c.address);
    } catch (err) {
      this.fatal(err);
    } finally {
      this.checkpointing = false;
      this.inFlight--;
      if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private passivate(): void {
    this.passivateIdle(this.o.clock.now() - this.o.passivateAfterMs);
  }

  /**
   * Drops idle actors whose writes are committed. One with events past its snapshot gets a snapshot first and
   * goes at the next round, once that is committed too.
   */
  private passivateIdle(cutoff: number): void {
    // A checkpoint's snapshots commit after it started: one written now could be overwritten by an older one. During
    // a takeover, a snapshot would be of the state before the import.
    if (this.checkpointing || this.takingOver > 0) return;
    let wrote = false;
    for (const [a, c] of this.cells) {
      if (c.mailbox.length > 0 || c.queued || c.failed || c.snapshotPending || c.lastActive > cutoff || c.lastBatch > this.committedBatch) continue;
      if (c.n === c.snapN) {
        this.cells.delete(a);
        continue;
      }
      this.o.store.putSnapshot(a, { n: c.n, state: c.state });
      c.snapN = c.n;
      c.snapshotPending = true;
      wrote = true;
    }
    if (!wrote) return;
    this.inFlight++;
    this.o.store.commit().then(() => {
      for (const c of this.cells.values()) c.snapshotPending = false;
      this.inFlight--;
      if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
    }, (e) => this.fatal(e));
  }

  /** Test hook: snapshot and drop every idle actor now, as passivation would. */
  async passivateAll(): Promise<void> {
    await this.idle();
    this.passivateIdle(Infinity);
    await this.idle();
    this.passivateIdle(Infinity);
  }
}
