/**
 * One node of a cluster, as its runtime sees it (the runtime's `Placement`): the actors here are those of the
 * partitions whose lease this node holds; a message for another actor goes as a command to its partition's owner, a
 * reply to a request made elsewhere goes to the node that made it.
 *
 * The node runs its lease rounds, listens for the commands of the partitions it serves, and hands what arrives to its
 * runtime once one is attached — a checked shape first: other nodes are outside this process.
 *
 * A partition gained is served only once it is taken over: its log claimed (fencing off its previous writer) and
 * its records imported into the runtime, so its actors continue from where the log leaves them, wherever they were.
 */
import Validator from 'fastest-validator';
import type { NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { ErrorCode } from '../../protocol/errors';
import type { Address, ReplyTo } from '../../actors/types';
import { NatsBus } from '../bus/nats-bus';
import { handOverSubject, LEASE_BUCKET } from '../bus/subjects';
import type { Clock } from '../runtime/clock';
import { routedAddress, type PartitionImport, type Placement, type Reply } from '../runtime/runtime';
import { LeaseManager } from './leases';
import { LogReplicator } from './log-replicator';
import { PartitionLogs, type FollowedRecord } from './partition-log';
import { StandbyPartitions } from './standby';
import { NatsLeaseStore } from './nats-lease-store';
import { DEFAULT_PARTITIONS, partitionOf } from './partitions';

/**
 * Counts for the node's metrics: messages sent to actors on other nodes, replies sent to other nodes, lease changes,
 * and the takeovers (partitions, turns imported, seconds from the lease gained to the partition served).
 */
export interface ClusterCounts { forwarded: number; replies: number; leaseChanges: number; takeovers: number; importedTurns: number }

/** What a node hands arriving messages to (the runtime). */
export interface NodeTarget {
  /** `id`: the command's, the same each time its sender asks again (a durable send's mail id). */
  accept(to: Address, msg: unknown, durable: boolean, id: string): Promise<void>;
  receiveReply(replyTo: ReplyTo, result: Reply): void;
  /** Takes partitions over: `load` is called once the turns in flight are durable (Runtime.takeOver). */
  takeOver(load: () => Promise<PartitionImport[]>): Promise<number>;
  /** Takes in records of partitions other nodes serve (Runtime.keepPartitions). */
  keepPartitions(parts: () => PartitionImport[]): Promise<number>;
}

export interface ClusterNodeOptions {
  nc: NatsConnection;
  nodeId: string;
  clock: Pick<Clock, 'now'>;
  log: Logger;
  partitions?: number;
  /** Lease life without renewal; rounds run three times as often. */
  leaseTtlMs?: number;
  skewMarginMs?: number;
  /** The KV bucket of leases (tests use their own), and the copies JetStream keeps of it and of the partition logs. */
  leaseBucket?: string;
  replicas?: number;
  /** The stream of the partition logs (tests use their own). */
  logStream?: string;
  /** How long a forwarded message may wait for an owner to take it. */
  forwardDeadlineMs?: number;
}

const v = new Validator({ haltOnFirstError: true });
const plainObject = { type: 'object', props: {} } as const;
const checkCommand = v.compile({
  $$root: true,
  type: 'object',
  props: { to: { type: 'string', min: 3, max: 512 }, msg: plainObject, durable: 'boolean' },
});
const checkReply = v.compile({
  $$root: true,
  type: 'object',
  props: {
    replyTo: { type: 'object', props: { boot: { type: 'string', optional: true, max: 64 }, node: { type: 'string', optional: true, max: 256 } } },
    result: { type: 'object', props: { ok: 'boolean', code: { type: 'number', optional: true }, info: { type: 'string', optional: true } } },
  },
});

/** How long a node leaving waits for the commands it sent to be taken. */
const SENT_WAIT_MS = 5000;
/** How long a node joining goes on catching up on the partitions it gains while none of them comes further. */
const CATCH_UP_STALL_MS = 30_000;

export class ClusterNode implements Placement {
  readonly counts: ClusterCounts = { forwarded: 0, replies: 0, leaseChanges: 0, takeovers: 0, importedTurns: 0 };
  /** Told each takeover's time from the lease gained to the partitions served, in seconds (the metrics). */
  onTakeover?: (seconds: number) => void;
  /** Told the partitions a takeover has just begun to serve (their actors take commands from now on). */
  onServed?: (partitions: number[]) => void;
  private target?: NodeTarget;
  private attached!: (t: NodeTarget) => void;
  private readonly targetReady = new Promise<NodeTarget>((r) => { this.attached = r; });
  /** Partitions taken over and not lost since: their actors are here. */
  private readonly serving = new Set<number>();
  /** Per partition, how many times this node lost it: a takeover serves only partitions not lost since it began. */
  private readonly losses = new Map<number, number>();
  /** Set by a drain: takeovers under way stop reading logs, and no more start. */
  private stopping = false;
  /** Takeovers run one after another, in the order their partitions were gained. */
  private takeovers: Promise<void> = Promise.resolve();
  /** False once draining: partitions gained are not served. */
  private taking = true;
  private rounds?: NodeJS.Timeout;
  private round?: Promise<unknown>;
  /** A round asked for while one ran: it runs once that one ends (the running one may have read the leases before). */
  private roundAgain = false;
  private handOvers?: Subscription;
  private readonly partitions: number;

  /** Where the store copies this node's committed turns: their partitions' logs. */
  readonly replicator: LogReplicator;
  /** The partitions this node is next in line for, kept current from their logs (fed by `followed`). */
  readonly standby: StandbyPartitions;

  private constructor(private readonly o: ClusterNodeOptions, private readonly leases: LeaseManager, private bus: NatsBus, readonly logs: PartitionLogs) {
    this.partitions = o.partitions ?? DEFAULT_PARTITIONS;
    this.replicator = new LogReplicator({
      logs, nodeId: o.nodeId, log: o.log, owns: (p) => leases.owns(p), partitionOf: (a) => partitionOf(a, this.partitions),
      maxPayload: o.nc.info?.max_payload ?? 1024 * 1024,
    });
    this.standby = new StandbyPartitions({
      owns: (p) => leases.owns(p), follows: (p) => !this.stopping && !this.serving.has(p) && (leases.nextInLine(p) || leases.awaited(p)), replicator: this.replicator, logs, log: o.log,
      keep: async (parts) => (await this.targetReady).keepPartitions(parts),
    });
  }

  /** A record or claim marker of the partition logs as the node follows them all (LogFollower). */
  followed(r: FollowedRecord): void {
    this.standby.offer(r);
  }

  /** Opens the node's parts (the bus, leases, logs); it takes partitions once it `join`s. */
  static async start(o: ClusterNodeOptions): Promise<ClusterNode> {
    let node: ClusterNode | undefined;
    const leases = new LeaseManager({
      store: await NatsLeaseStore.open(o.nc, o.leaseBucket, o.replicas),
      clock: o.clock, nodeId: o.nodeId, partitions: o.partitions, ttlMs: o.leaseTtlMs, skewMarginMs: o.skewMarginMs,
      onChange: ({ gained, lost }) => node?.leasesChanged(gained, lost),
    });
    const bus = await NatsBus.open(o.nc, o.nodeId, {
      onCommand: (p, id, payload) => node!.command(p, id, payload),
      onNodeMessage: (payload) => node?.nodeMessage(payload),
    });
    const logs = await PartitionLogs.open(o.nc, { stream: o.logStream, replicas: o.replicas });
    node = new ClusterNode(o, leases, bus, logs);
    return node;
  }

  /**
   * Joins the placement, once the runtime is attached and the logs are followed (`followed`): the partitions joining
   * moves here from other nodes are first brought up to date from their logs while those nodes still serve them
   * (however long their history, while the reading goes on: for up to `stallMs` without progress), so their
   * takeover reads only what came after; then the lease rounds start (the node owns its partitions once this
   * returns).
   */
  async join(stallMs = CATCH_UP_STALL_MS): Promise<void> {
    const started = performance.now();
    const moving = await this.leases.preview().catch((err: unknown) => {
      this.o.log.warn({ err }, 'reading the leases before joining failed; joining without catching up');
      return [];
    });
    if (moving.length > 0) {
      const turns = this.standby.turns;
      const whole = await this.standby.catchUp(moving, { stop: () => this.stopping, stallMs }).catch((err: unknown) => {
        this.o.log.warn({ err }, 'catching up before joining failed; the takeovers read what is missing');
        return false;
      });
      this.o.log.info({ node: this.o.nodeId, partitions: moving.length, turns: this.standby.turns - turns, ms: Math.round(performance.now() - started), whole },
        whole ? 'caught up on the partitions joining moves here' : 'joining before catching up on every partition that moves here');
    }
    if (this.stopping) return;
    this.handOvers = this.o.nc.subscribe(handOverSubject(this.o.leaseBucket ?? LEASE_BUCKET), { callback: () => void this.tick(true) });
    await this.tick();
    if (this.stopping) return;
    this.rounds = setInterval(() => void this.tick(), Math.max(50, Math.floor((this.o.leaseTtlMs ?? 6000) / 3)));
    this.rounds.unref();
  }

  get nodeId(): string {
    return this.o.nodeId;
  }

  /**
   * The runtime that takes this node's messages; until then, commands are refused (their senders ask again), and
   * no partition is taken over.
   */
  attach(target: NodeTarget): void {
    this.target = target;
    this.attached(target);
  }

  isLocal(address: Address): boolean {
    return this.serves(partitionOf(address, this.partitions));
  }

  /** Taken over, and its lease still valid by this node's clock (a lease round that failed may not have said so). */
  private serves(p: number): boolean {
    return this.serving.has(p) && this.leases.owns(p);
  }

  /** The partitions this node serves (held and taken over). */
  ownedPartitions(): number[] {
    return [...this.serving].sort((x, y) => x - y);
  }

  forward(to: Address, msg: unknown, id: string, durable: boolean, partition = partitionOf(to, this.partitions)): Promise<void> {
    this.counts.forwarded++;
    return this.bus.command(partition, id, { to, msg, durable }, { deadlineMs: this.o.forwardDeadlineMs });
  }

  /**
   * A new session id naming its conversation's partition in its first four hex digits (the rest is the UUID's), so
   * any node routes a request that names only the session to the node that holds it.
   */
  sessionId(conv: Address, uuid: string): string {
    return partitionOf(conv, this.partitions).toString(16).padStart(4, '0') + uuid.slice(4);
  }

  partitionOf(address: Address): number {
    return partitionOf(address, this.partitions);
  }

  /** The partition a session id of this cluster names, when another node owns it (undefined: here, or not such an id). */
  remoteSessionPartition(sessionId: string): number | undefined {
    if (!/^[0-9a-f]{4}/.test(sessionId)) return undefined;
    const p = parseInt(sessionId.slice(0, 4), 16);
    return p < this.partitions && !this.serves(p) ? p : undefined;
  }

  reply(node: string, replyTo: ReplyTo, result: Reply): void {
    this.counts.replies++;
    this.bus.toNode(node, { replyTo, result }, { replyTo, result: { ok: false, code: ErrorCode.Internal, info: 'the answer is too large to pass between nodes' } });
  }

  /** Stops taking commands (a drain): the partitions' leases are still held until `leave`. */
  async stopTaking(): Promise<void> {
    this.taking = false;
    this.stopping = true;
    this.standby.stop();
    this.target = undefined;
    // A takeover under way ends (reading no more logs) before the runtime stops.
    await this.takeovers;
    for (const p of this.leases.ownedPartitions()) await this.bus.disown(p);
  }

  /**
   * A drain's first step, while the node still serves its sockets (what they send goes on to the partitions' new
   * owners): the node leaves the placement and gives its partitions up, and the other nodes, told at once, take them
   * over. Resolves once they hold them all, or after `waitMs`; at once when no other node is live.
   */
  async handOver(waitMs: number): Promise<number[]> {
    while (this.round) await this.round;
    // In place of a round, so that none runs beside it.
    const handing = this.leases.handOver();
    this.round = handing.catch(() => undefined).finally(() => { this.round = undefined; });
    const given = await handing;
    if (given.length === 0) return given;
    const started = performance.now();
    try {
      this.o.nc.publish(handOverSubject(this.o.leaseBucket ?? LEASE_BUCKET));
    } catch (err) {
      this.o.log.warn({ err }, 'the other nodes could not be told of the handover; they take the partitions at their next round');
    }
    while (performance.now() - started < waitMs && !(await this.leases.heldByOthers(given).catch(() => false))) await new Promise((r) => setTimeout(r, 50));
    this.o.log.info({ node: this.o.nodeId, partitions: given.length, ms: Math.round(performance.now() - started) }, 'partitions handed over');
    return given;
  }

  /** Leaves the cluster: its partitions go to the other nodes at their next round. */
  async leave(): Promise<void> {
    this.stopping = true;
    this.standby.stop();
    clearInterval(this.rounds);
    this.handOvers?.unsubscribe();
    this.roundAgain = false;
    await this.round;
    // Bounded: a command for a partition no node serves yet waits out its deadline.
    await Promise.race([this.bus.sent(), new Promise((r) => setTimeout(r, SENT_WAIT_MS).unref())]);
    await this.leases.leave();
    await this.bus.close();
  }

  /** A lease round; `soon`: another node handed its partitions over, so one runs after the round under way too. */
  private tick(soon = false): Promise<unknown> {
    if (this.round && soon) this.roundAgain = true;
    // One round at a time: a slow KV round is not overtaken by the next.
    this.round ??= this.leases.tick().catch((err: unknown) => this.o.log.warn({ err }, 'lease round failed')).finally(() => {
      this.round = undefined;
      if (this.roundAgain && !this.stopping) {
        this.roundAgain = false;
        void this.tick();
      }
    });
    return this.round;
  }

  private leasesChanged(gained: number[], lost: number[]): void {
    this.counts.leaseChanges += gained.length + lost.length;
    // Lost first: a lease that lapsed and was taken again in one round is in both, and is taken over again.
    for (const p of lost) {
      this.serving.delete(p);
      this.losses.set(p, (this.losses.get(p) ?? 0) + 1);
      void this.bus.disown(p);
    }
    if (gained.length > 0) {
      const at = performance.now();
      const losses = new Map(gained.map((p) => [p, this.losses.get(p) ?? 0]));
      this.takeovers = this.takeovers.then(() => this.takeOver(losses, at));
    }
    this.o.log.info({ node: this.o.nodeId, gained, lost }, 'partitions changed');
  }

  /**
   * Takes gained partitions over once the runtime is attached: each log claimed and read (asked again while the
   * partition stays here, as JetStream may be electing a leader), imported by the runtime, then served. `gained`:
   * the partitions, each with how many times it had been lost when gained; one lost since is not served from this
   * takeover (it may be gained again, and taken over by a later one).
   */
  private async takeOver(gained: Map<number, number>, since: number): Promise<void> {
    const target = await this.targetReady;
    const current = (p: number): boolean => this.leases.owns(p) && !this.stopping && (this.losses.get(p) ?? 0) === gained.get(p);
    let parts: (PartitionImport & { through: number })[] = [];
    try {
      const turns = await target.takeOver(async () => {
        const loaded = await Promise.all([...gained.keys()].map((p) => this.loadPartition(p, () => current(p))));
        parts = loaded.filter((x) => x !== undefined);
        return parts;
      });
      const partitions = parts.map((x) => x.partition);
      const served: number[] = [];
      for (const { partition: p, through } of parts) {
        // Its state is the log's through what was read, whether or not it is still here to serve.
        this.replicator.caughtUp(p, through);
        if (!current(p)) continue;
        this.serving.add(p);
        served.push(p);
        if (this.taking) this.bus.own(p);
      }
      if (served.length > 0) this.onServed?.(served);
      this.counts.takeovers += partitions.length;
      this.counts.importedTurns += turns;
      const seconds = (performance.now() - since) / 1000;
      this.onTakeover?.(seconds);
      this.o.log.info({ node: this.o.nodeId, partitions, turns, ms: Math.round(seconds * 1000) }, 'partitions taken over');
    } catch (err) {
      // Nothing is served from a takeover that failed; the partitions still here are taken over again.
      this.o.log.error({ err, gained: [...gained.keys()] }, 'taking partitions over failed; trying again');
      const again = new Map([...gained].filter(([p]) => current(p)));
      if (again.size > 0) this.takeovers = this.takeovers.then(() => new Promise((r) => setTimeout(r, 1000))).then(() => this.takeOver(again, since));
    }
  }

  /** A gained partition's log to import, claimed first; undefined once it is no longer this node's. */
  private async loadPartition(p: number, current: () => boolean): Promise<(PartitionImport & { through: number }) | undefined> {
    for (;;) {
      if (!current()) return undefined;
      try {
        const { after, through, fresh } = await this.replicator.claim(p);
        const { records } = await this.logs.recordsOf(p, after, through);
        return { partition: p, records, fresh, through };
      } catch (err) {
        this.o.log.warn({ err, partition: p }, 'reading a partition log to take it over failed; trying again');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async command(partition: number, id: string, payload: unknown): Promise<void> {
    const c = payload as { to: Address; msg: unknown; durable: boolean };
    // A command comes on the subject of the partition it names (one routed by session id: the session's).
    const valid = checkCommand(payload) === true;
    const routed = valid ? routedAddress(c.to) : undefined;
    if (!valid || (routed !== undefined && partitionOf(routed, this.partitions) !== partition)) {
      // Answered, so the sender does not ask again: no retry will make it valid.
      this.o.log.warn({ payload }, 'a command from another node was malformed; dropped');
      return;
    }
    if (!this.target) throw new Error('this node is not serving yet');
    // Ownership may have moved since the command was routed here: refused, it is asked again of the new owner.
    if (!this.serves(partition)) throw new Error(`partition ${partition} is not served here`);
    await this.target.accept(c.to, c.msg, c.durable, id);
  }

  private nodeMessage(payload: unknown): void {
    if (checkReply(payload) !== true) {
      this.o.log.warn({ payload }, 'a message from another node was malformed; dropped');
      return;
    }
    const m = payload as { replyTo: ReplyTo; result: Reply };
    this.target?.receiveReply(m.replyTo, m.result);
  }
}
