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

export class NatsBus {
  private readonly packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
  private readonly owned = new Map<number, Subscription>();
  private readonly taken = new Set<string>();
  /** Commands being taken now: a retry that arrives meanwhile waits for the same outcome. */
  private readonly taking = new Map<string, Promise<void>>();
  private readonly inbox: Subscription;
  private closed = false;

  /** Joins the bus: once this resolves, messages for the node reach it. */
  static async open(nc: NatsConnection, nodeId: string, handlers: BusHandlers): Promise<NatsBus> {
    const bus = new NatsBus(nc, nodeId, handlers);
    await nc.flush();
    return bus;
  }

  private constructor(private readonly nc: NatsConnection, readonly nodeId: string, private readonly handlers: BusHandlers) {
    this.inbox = nc.subscribe(nodeSubject(nodeId), {
      callback: (err, m) => {
        if (!err) this.handlers.onNodeMessage(this.packr.unpack(m.data));
      },
    });
  }

  /** Starts taking the commands of a partition (its lease is ours). */
  own(partition: number): void {
    if (this.owned.has(partition)) return;
    this.owned.set(partition, this.nc.subscribe(commandSubject(partition), { callback: (err, m) => { if (!err) void this.take(partition, m); } }));
  }

  /** Stops taking them (the lease is handed over or lost); commands already being taken are answered. */
  async disown(partition: number): Promise<void> {
    const sub = this.owned.get(partition);
    if (!sub) return;
    this.owned.delete(partition);
    await sub.drain();
  }

  /** Sends a command to the owner of a partition; resolves once it has taken it. */
  async command(partition: number, id: string, payload: unknown, o: CommandOptions = {}): Promise<void> {
    const deadline = Date.now() + (o.deadlineMs ?? 30_000);
    const data = this.packr.pack({ id, payload });
    for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
      try {
        await this.nc.request(commandSubject(partition), data, { timeout: o.attemptMs ?? 2000 });
        return;
      } catch (err) {
        const code = (err as NatsError).code;
        if (this.closed || (code !== ErrorCode.NoResponders && code !== ErrorCode.Timeout)) throw err;
        if (Date.now() + wait > deadline) throw new Error(`partition ${partition}: no owner took command ${id} within the deadline`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** Sends a message to one node (no answer). */
  toNode(nodeId: string, payload: unknown): void {
    this.nc.publish(nodeSubject(nodeId), this.packr.pack(payload));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of [...this.owned.keys()]) await this.disown(p);
    await this.inbox.drain();
  }

  private async take(partition: number, m: Msg): Promise<void> {
    let command: { id?: unknown; payload?: unknown };
    try {
      command = this.packr.unpack(m.data) as { id?: unknown; payload?: unknown };
    } catch {
      return;
    }
    const id = command?.id;
    if (typeof id !== 'string' || id.length === 0 || id.length > 200) return;
    let pending = this.taking.get(id);
    if (!pending && !this.taken.has(id)) {
      pending = (async () => {
        await this.handlers.onCommand(partition, id, command.payload);
        if (this.taken.size >= TAKEN_IDS) this.taken.delete(this.taken.values().next().value!);
        this.taken.add(id);
      })().finally(() => this.taking.delete(id));
      this.taking.set(id, pending);
    }
    try {
      await pending;
    } catch {
      // Not taken: no answer, so the sender asks again.
      return;
    }
    m.respond();
  }
}
