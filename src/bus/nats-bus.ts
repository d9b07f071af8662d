/**
 * Node-to-node messages over NATS.
 *
 * - Commands for the actors of a partition go to `desk.v1.cmd.<partition>`, where only the partition's owner
 *   listens (`own` / `disown` follow its leases). A command is a request: the owner answers once it has taken it
 *   (`onCommand` resolved), and the sender asks again until it is answered or its deadline passes — through a
 *   handover nobody listens for a moment, and a lost answer looks the same. The owner answers a command id it has
 *   already taken without taking it again.
 * - Messages for one node (the reply to a call it made) go to `desk.v1.node.<id>`, without an answer. Pushes to
 *   sockets go by recipient instead (push-router.ts).
 *
 * What one event-loop turn sends to one partition, or to one node, leaves as one NATS message (a batch, taken in
 * order and answered once): a message each would cost a request, its encoding and its syscalls every time.
 *
 * Payloads are msgpack.
 */
import { Packr } from 'msgpackr';
import { ErrorCode, type Msg, type NatsConnection, type NatsError, type Subscription } from 'nats';
import { commandSubject, nodeSubject } from './subjects';

export interface BusHandlers {
  /** A command for an actor of a partition this node owns; the sender is answered once it resolves. */
  onCommand(partition: number, id: string, payload: unknown): Promise<void> | void;
  /** A message for this node. */
  onNodeMessage(payload: unknown): void;
}

export interface CommandOptions {
  /** Give up (reject) after this long without an answer. */
  deadlineMs?: number;
  /** How long one attempt waits for its answer. */
  attemptMs?: number;
}

/** How many command ids an owner remembers having taken. */
const TAKEN_IDS = 100_000;
/** The most commands one batch may carry (a larger one is not a batch this bus sent). */
const MAX_BATCH = 100_000;

interface Outgoing { id: string; payload: unknown; deadline: number; attemptMs: number; resolve(): void; reject(err: unknown): void }
/** A message for a node, and what to send instead if it is too large for NATS. */
interface NodeOut { payload: unknown; tooLarge?: unknown }
/** Room left in a NATS message for its protocol line. */
const PROTOCOL_ROOM = 1024;

export class NatsBus {
  private readonly packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
  private readonly owned = new Map<number, Subscription>();
  private readonly taken = new Set<string>();
  /** Commands being taken now: a retry that arrives meanwhile waits for the same outcome. */
  private readonly taking = new Map<string, Promise<void>>();
  private readonly inbox: Subscription;
  private closed = false;
  /** Commands and node messages of this turn, sent together when it ends. */
  private readonly outgoing = new Map<number, Outgoing[]>();
  private readonly toNodes = new Map<string, NodeOut[]>();
  private flushScheduled = false;
  /** Per partition, the batch being sent (batches to one partition go one after another, so they arrive in order). */
  private readonly sending = new Map<number, Promise<void>>();
  /** Per partition, the batch being taken (taken one after another, in the order they came). */
  private readonly takingChain = new Map<number, Promise<void>>();

  /** Joins the bus: once this resolves, messages for the node reach it. */
  static async open(nc: NatsConnection, nodeId: string, handlers: BusHandlers): Promise<NatsBus> {
    const bus = new NatsBus(nc, nodeId, handlers);
    await nc.flush();
    return bus;
  }

  private constructor(private readonly nc: NatsConnection, readonly nodeId: string, private readonly handlers: BusHandlers) {
    this.inbox = nc.subscribe(nodeSubject(nodeId), {
      callback: (err, m) => {
        if (err) return;
        let list: unknown;
        try {
          list = this.packr.unpack(m.data);
        } catch {
          return;
        }
        if (!Array.isArray(list)) return;
        for (const payload of list) {
          try {
            this.handlers.onNodeMessage(payload);
          } catch {
            // One bad message must not stop the others (the handler checks what it is given).
          }
        }
      },
    });
  }

  /** Starts taking the commands of a partition (its lease is ours). */
  own(partition: number): void {
    if (this.owned.has(partition)) return;
    this.owned.set(partition, this.nc.subscribe(commandSubject(partition), { callback: (err, m) => { if (!err) this.enqueueTake(partition, m); } }));
  }

  /** Stops taking them (the lease is handed over or lost); commands already being taken are answered. */
  async disown(partition: number): Promise<void> {
    const sub = this.owned.get(partition);
    if (!sub) return;
    this.owned.delete(partition);
    await sub.drain();
  }

  /** Sends a command to the owner of a partition; resolves once it has taken it. */
  command(partition: number, id: string, payload: unknown, o: CommandOptions = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      let batch = this.outgoing.get(partition);
      if (!batch) this.outgoing.set(partition, (batch = []));
      batch.push({ id, payload, deadline: Date.now() + (o.deadlineMs ?? 30_000), attemptMs: o.attemptMs ?? 2000, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Sends a message to one node (no answer); `tooLarge` goes instead if the message does not fit in a NATS message. */
  toNode(nodeId: string, payload: unknown, tooLarge?: unknown): void {
    let list = this.toNodes.get(nodeId);
    if (!list) this.toNodes.set(nodeId, (list = []));
    list.push({ payload, tooLarge });
    this.scheduleFlush();
  }

  private maxPayload(): number {
    return (this.nc.info?.max_payload ?? 1024 * 1024) - PROTOCOL_ROOM;
  }

  /** Publishes a node's messages in as few NATS messages as fit. */
  private publishToNode(nodeId: string, items: NodeOut[]): void {
    const data = this.packr.pack(items.map((x) => x.payload));
    if (data.length <= this.maxPayload()) {
      try {
        this.nc.publish(nodeSubject(nodeId), data);
      } catch {
        // The connection is closing: the asking node's request times out and it answers its caller.
      }
      return;
    }
    if (items.length > 1) {
      const half = items.length >> 1;
      this.publishToNode(nodeId, items.slice(0, half));
      this.publishToNode(nodeId, items.slice(half));
      return;
    }
    if (items[0].tooLarge !== undefined) this.publishToNode(nodeId, [{ payload: items[0].tooLarge }]);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const [partition, batch] of this.outgoing) {
        const next = (this.sending.get(partition) ?? Promise.resolve()).then(() => this.sendFitting(partition, batch));
        this.sending.set(partition, next);
        void next.then(() => { if (this.sending.get(partition) === next) this.sending.delete(partition); });
      }
      this.outgoing.clear();
      for (const [nodeId, list] of this.toNodes) this.publishToNode(nodeId, list);
      this.toNodes.clear();
    });
  }

  /** Sends a batch in pieces that fit in a NATS message, in order; a single command too large for one is refused. */
  private async sendFitting(partition: number, batch: Outgoing[]): Promise<void> {
    if (this.packr.pack(batch.map((c) => ({ id: c.id, payload: c.payload }))).length <= this.maxPayload()) {
      await this.sendBatch(partition, batch);
      return;
    }
    if (batch.length === 1) {
      batch[0].reject(new Error(`command ${batch[0].id} is larger than a NATS message may be`));
      return;
    }
    const half = batch.length >> 1;
    await this.sendFitting(partition, batch.slice(0, half));
    await this.sendFitting(partition, batch.slice(half));
  }

  /** Asks the partition's owner to take a batch until it answers; each command gives up at its own deadline. */
  private async sendBatch(partition: number, batch: Outgoing[]): Promise<void> {
    let pending = batch;
    for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
      try {
        await this.nc.request(commandSubject(partition), this.packr.pack(pending.map((c) => ({ id: c.id, payload: c.payload }))), { timeout: pending[0].attemptMs });
        for (const c of pending) c.resolve();
        return;
      } catch (err) {
        const code = (err as NatsError).code;
        if (this.closed || (code !== ErrorCode.NoResponders && code !== ErrorCode.Timeout)) {
          for (const c of pending) c.reject(err);
          return;
        }
        // The partition became this node's while the batch was out: NATS does not bring a node its own requests.
        if (this.owned.has(partition)) {
          try {
            await this.takeAll(partition, pending);
            for (const c of pending) c.resolve();
            return;
          } catch {
            // Not taken here either (yet): asked again below.
          }
        }
        const now = Date.now();
        for (const c of pending) if (now + wait > c.deadline) c.reject(new Error(`partition ${partition}: no owner took command ${c.id} within the deadline`));
        pending = pending.filter((c) => now + wait <= c.deadline);
        if (pending.length === 0) return;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /**
   * Resolves once every command sent so far is taken or given up: a node leaving waits for what it passed on (a
   * message its actors had queued when their partition moved, forwarded to the new owner) before it closes the bus.
   */
  async sent(): Promise<void> {
    while (this.flushScheduled || this.sending.size > 0) {
      if (this.flushScheduled) await new Promise((r) => setImmediate(r));
      await Promise.all(this.sending.values());
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of [...this.owned.keys()]) await this.disown(p);
    await this.inbox.drain();
  }

  private enqueueTake(partition: number, m: Msg): void {
    const next = (this.takingChain.get(partition) ?? Promise.resolve()).then(() => this.take(partition, m));
    this.takingChain.set(partition, next);
    void next.then(() => { if (this.takingChain.get(partition) === next) this.takingChain.delete(partition); });
  }

  /** Takes commands in order, each id once; rejects at the first not taken. */
  private async takeAll(partition: number, commands: { id?: unknown; payload?: unknown }[]): Promise<void> {
    for (const command of commands) {
      const id = command?.id;
      if (typeof id !== 'string' || id.length === 0 || id.length > 200) continue;
      let taking = this.taking.get(id);
      if (!taking && !this.taken.has(id)) {
        taking = (async () => {
          await this.handlers.onCommand(partition, id, command.payload);
          if (this.taken.size >= TAKEN_IDS) this.taken.delete(this.taken.values().next().value!);
          this.taken.add(id);
        })().finally(() => this.taking.delete(id));
        this.taking.set(id, taking);
      }
      await taking;
    }
  }

  /** A batch of commands: each taken in order (or answered at once if taken before); answered once all are. */
  private async take(partition: number, m: Msg): Promise<void> {
    let batch: unknown;
    try {
      batch = this.packr.unpack(m.data);
    } catch {
      return;
    }
    if (!Array.isArray(batch) || batch.length > MAX_BATCH) return;
    try {
      await this.takeAll(partition, batch as { id?: unknown; payload?: unknown }[]);
    } catch {
      // Not all taken: no answer, so the sender asks again (what was taken is not taken twice).
      return;
    }
    try {
      m.respond();
    } catch {
      // The connection is closing: the sender asks again, and the id is remembered as taken.
    }
  }
}
