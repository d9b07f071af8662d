/**
 * The reception-limit property (test/sim/property.test.ts) on a cluster with random kills: three runtimes, each a
 * node with a store of its own, actors placed by partition. Each node's committed turns are copied to their
 * partitions' logs, and a node that gains a partition takes it over from its log (Runtime.takeOver), as src/cluster
 * does over NATS; here the logs, the leases and the bus are in memory, and a message for a partition no node serves
 * yet waits until one does (as the bus asks again until the partition's owner takes it).
 *
 * Random commands (test/helpers/reception.ts) interleave with kills (a node's memory and store are lost; the others
 * take its partitions over from their logs and a fresh node joins) and moves of a partition to another node. Whenever
 * the cluster is quiet: no agent holds more sessions than its limit, no session is held by two agents, every session
 * in service is held by its agent, every queued session waits in one queue, and nothing waits while a member with
 * room is free.
 */
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { agentAddress, queueAddress, sessionAddress } from '../../actors/address';
import { agent } from '../../actors/agent';
import { queue } from '../../actors/queue';
import { session, type SessionState } from '../../actors/session';
import type { Address } from '../../actors/types';
import type { AgentState } from '../../actors/agent';
import type { AppModel } from '../../protocol/app-model';
import { partitionOf } from '../../src/cluster/partitions';
import { ManualClock } from '../../src/runtime/clock';
import { Runtime, type Outlet, type Placement } from '../../src/runtime/runtime';
import { FsyncMode, Store } from '../../src/store/store';
import { ACCOUNTS, appOptions, cmd, config, execute, GROUPS, MEMBERS, quietInvariants, USERS, type Cmd, type Config, type Driver, type World } from '../helpers/reception';
import { APP, buildApp, T0 } from '../helpers/sim';

const P = 6;
const RUNS = 60;
const log = pino({ level: 'silent' });
const outlet: Outlet = { push() {}, reply() {}, beginBatch() {}, endBatch() {} };
const pOf = (a: Address): number => partitionOf(a, P);
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** `known`: per partition, how many of its log's records the node's state of it is (as LogReplicator knows it). */
interface Node { id: string; store: Store; runtime: Runtime; alive: boolean; serving: Set<number>; abandoned: Set<number>; known: Map<number, number> }

/** Every actor a command can reach. */
const ACTORS: Address[] = [
  ...ACCOUNTS.flatMap((cs) => Array.from({ length: USERS }, (_, u) => sessionAddress(APP, cs, `u${u}`))),
  ...MEMBERS.map((m) => agentAddress(APP, m)),
  ...GROUPS.map((g) => queueAddress(APP, g)),
];

class Cluster implements Driver, World {
  readonly clock = new ManualClock(T0);
  readonly nodes: Node[] = [];
  /** Per partition: the node that holds it, and its log (records, and the node that claimed it last). */
  readonly owner: number[] = [];
  readonly logs = Array.from({ length: P }, () => ({ records: [] as Buffer[], writer: -1 }));
  /** Messages for partitions no node serves at the moment: tried again once one does. */
  private parked: (() => void)[] = [];
  private next = 0;
  /** Turns taken in by nodes keeping partitions current, and takeovers over what a node held. */
  keptTurns = 0;
  tailTakeovers = 0;

  constructor(readonly app: AppModel) {}

  /** A node joins with an empty store (it holds nothing until it takes partitions over). */
  join(): Node {
    const i = this.nodes.length;
    const store = new Store(fs.mkdtempSync(path.join(os.tmpdir(), 'desk-cprop-')), FsyncMode.None, { commitIntervalMs: 0 });
    const node: Node = { id: `n${i}`, store, runtime: undefined as unknown as Runtime, alive: true, serving: new Set(), abandoned: new Set(), known: new Map() };
    store.replicateTo({
      partitionOf: pOf, maxRecordBytes: 1 << 20, abandoned: () => node.abandoned,
      append: async (p, record) => {
        // Fenced off: the node is gone, or another node claimed the log since.
        if (!node.alive || this.logs[p].writer !== i) {
          node.abandoned.add(p);
          node.known.delete(p);
          return false;
        }
        this.logs[p].records.push(record);
        if (!node.abandoned.has(p)) node.known.set(p, this.logs[p].records.length);
        return true;
      },
    });
    const placement: Placement = {
      nodeId: node.id,
      isLocal: (a) => node.alive && node.serving.has(pOf(a)),
      forward: (to, msg, id, durable, partition) => {
        // A node that is gone sends nothing more.
        if (!node.alive) return new Promise(() => undefined);
        return new Promise<void>((resolve) => {
          const attempt = (): void => {
            const target = this.nodes[this.owner[partition ?? pOf(to)]];
            if (!target.alive || !target.serving.has(partition ?? pOf(to))) {
              this.parked.push(attempt);
              return;
            }
            // A node lost meanwhile never answers: asked again of the partition's next owner.
            target.runtime.accept(to, msg, durable, id).then(() => (target.alive ? resolve() : this.parked.push(attempt)), () => this.parked.push(attempt));
          };
          attempt();
        });
      },
      reply: (nodeId, replyTo, result) => this.nodes.find((n) => n.id === nodeId && n.alive)?.runtime.receiveReply(replyTo, result),
      sessionId: (conv, uuid) => pOf(conv).toString(16).padStart(4, '0') + uuid.slice(4),
      remoteSessionPartition: (sessionId) => {
        const p = parseInt(sessionId.slice(0, 4), 16);
        return p < P && !node.serving.has(p) ? p : undefined;
      },
      partitionOf: pOf,
    };
    node.runtime = new Runtime({
      store, clock: this.clock, apps: (id) => (id === APP ? this.app : undefined), log, outlet, defs: [session, agent, queue], placement,
      passivateAfterMs: 0, checkpointEveryMs: 0,
    });
    node.runtime.start();
    this.nodes.push(node);
    return node;
  }

  get alive(): Node[] {
    return this.nodes.filter((n) => n.alive);
  }

  /** Node `i` claims the partitions' logs, imports them whole and serves them; what waited for them goes on. */
  async takeOver(i: number, partitions: number[]): Promise<void> {
    const node = this.nodes[i];
    const fresh = new Set(partitions.filter((p) => node.abandoned.has(p) || !node.known.has(p)));
    this.tailTakeovers += partitions.length - fresh.size;
    for (const p of partitions) {
      this.owner[p] = i;
      this.logs[p].writer = i;
      node.abandoned.delete(p);
    }
    // Over what the node holds of a partition (it held it before, or kept it current), or whole.
    await node.runtime.takeOver(async () => partitions.map((p) => {
      const records = this.logs[p].records;
      const from = fresh.has(p) ? 0 : node.known.get(p)!;
      node.known.set(p, records.length);
      return { partition: p, records: records.slice(from), fresh: fresh.has(p) };
    }));
    for (const p of partitions) node.serving.add(p);
    this.flush();
  }

  /**
   * Node `i` takes in what was written since of the partitions it does not serve, as a node next in line for them
   * does (StandbyPartitions): over what it holds, or (holding nothing of one) its whole log.
   */
  async keepUp(i: number): Promise<void> {
    const node = this.nodes[i];
    if (!node.alive) return;
    this.keptTurns += await node.runtime.keepPartitions(() => Array.from({ length: P }, (_, p) => p).filter((p) => !node.serving.has(p) && !node.abandoned.has(p) && this.owner[p] !== i).flatMap((p) => {
      const records = this.logs[p].records;
      const from = node.known.get(p);
      if (from === records.length) return [];
      node.known.set(p, records.length);
      return [{ partition: p, records: records.slice(from ?? 0), fresh: from === undefined }];
    }));
  }

  /** A partition handed to another node: its owner stops serving it, the other takes it over. */
  async move(p: number, to: number): Promise<void> {
    const from = this.nodes[this.owner[p]];
    if (from === this.nodes[to]) return;
    from.serving.delete(p);
    await this.takeOver(to, [p]);
  }

  /** A node lost with its memory and store; the others take its partitions over, and a fresh node joins. */
  async kill(i: number): Promise<void> {
    const dead = this.nodes[i];
    dead.alive = false;
    dead.serving.clear();
    dead.runtime.stop();
    const left = this.alive.map((n) => this.nodes.indexOf(n));
    const orphans = this.owner.map((o, p) => (o === i ? p : -1)).filter((p) => p >= 0);
    for (const [k, j] of left.entries()) await this.takeOver(j, orphans.filter((_, x) => x % left.length === k));
    this.join();
  }

  tell(to: Address, msg: unknown): void {
    const alive = this.alive;
    alive[this.next++ % alive.length].runtime.tell(to, msg);
  }

  advance(ms: number): void {
    this.clock.advance(ms);
  }

  /** Each actor as the node that holds it has it. */
  get states(): ReadonlyMap<Address, unknown> {
    return new Map(ACTORS.map((a) => [a, this.nodes[this.owner[pOf(a)]].runtime.peek(a)]));
  }

  agent(mail: string): AgentState {
    return this.states.get(agentAddress(APP, mail)) as AgentState;
  }

  /** Until no node has work and nothing waits for a partition. */
  async settle(): Promise<void> {
    for (let round = 0; round < 200; round++) {
      await Promise.all(this.alive.map((n) => n.runtime.idle()));
      await tick();
      this.flush();
      await tick();
      if (this.parked.length === 0 && round >= 3) return;
    }
    throw new Error(`${this.parked.length} messages still wait for their partitions`);
  }

  async close(): Promise<void> {
    for (const n of this.alive) {
      await n.runtime.idle();
      n.runtime.stop();
    }
    for (const n of this.nodes) await n.store.close().catch(() => undefined);
  }

  private flush(): void {
    const waiting = this.parked;
    this.parked = [];
    for (const attempt of waiting) attempt();
  }
}

/** A command, or a node killed (`n`-th alive one), or partition `p` moved to the `to`-th alive node. */
type ClusterCmd = Cmd | { k: 'kill'; n: number; then: number } | { k: 'move'; p: number; to: number; then: number };
const clusterCmd: fc.Arbitrary<ClusterCmd> = fc.oneof(
  { weight: 12, arbitrary: cmd },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('kill' as const), n: fc.nat(2), then: fc.integer({ min: 0, max: 12 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('move' as const), p: fc.nat(P - 1), to: fc.nat(2), then: fc.integer({ min: 0, max: 12 }) }) },
);

const totals = { keptTurns: 0, tailTakeovers: 0 };

async function run(c: Config, cmds: ClusterCmd[]): Promise<void> {
  const cluster = new Cluster(buildApp(appOptions(c)));
  try {
    for (let i = 0; i < 3; i++) cluster.join();
    for (let i = 0; i < 3; i++) await cluster.takeOver(i, Array.from({ length: P }, (_, p) => p).filter((p) => p % 3 === i));
    const conns: number[][] = MEMBERS.map(() => []);
    const next = { conn: 0, random: 0 };
    for (const m of cmds) {
      const alive = cluster.alive;
      if (m.k === 'kill') await cluster.kill(cluster.nodes.indexOf(alive[m.n % alive.length]));
      else if (m.k === 'move') await cluster.move(m.p, cluster.nodes.indexOf(alive[m.to % alive.length]));
      else execute(cluster, m, conns, next);
      // Now and then the nodes take in what the others wrote (as they follow the logs).
      if (m.then % 2 === 0) for (const n of cluster.alive) await cluster.keepUp(cluster.nodes.indexOf(n));
      // Some of what follows runs before the next command; a command with none after it waits for quiet.
      for (let i = 0; i < m.then; i++) await tick();
      if (m.then === 0) {
        await cluster.settle();
        quietInvariants(cluster);
      }
    }
    await cluster.settle();
    quietInvariants(cluster);
    cluster.advance(3600_000);
    await cluster.settle();
    quietInvariants(cluster);
    // Nothing a lost node was passing on is lost: every transfer came to an end (placed, queued or refused).
    for (const [a, st] of cluster.states) {
      const cur = (st as SessionState).cur;
      if (a.startsWith('session:') && cur?.phase === 'Transferring') throw new Error(`${cur.sessionId} (${a}) is still transferring an hour on`);
    }
  } finally {
    totals.keptTurns += cluster.keptTurns;
    totals.tailTakeovers += cluster.tailTakeovers;
    await cluster.close();
  }
}

t.test('reception limits hold on three nodes with random kills and partition moves', async (t) => {
  const autoReception = config.map((c) => ({ ...c, manual: false }));
  let kills = 0;
  try {
    await fc.assert(fc.asyncProperty(autoReception, fc.array(clusterCmd, { minLength: 5, maxLength: 50 }), async (c, cmds) => {
      kills += cmds.filter((x) => x.k === 'kill').length;
      await run(c, cmds);
    }), { numRuns: RUNS, seed: 20261205 });
    t.pass(`${RUNS} random schedules, ${kills} nodes killed in all`);
    t.ok(totals.keptTurns > 0 && totals.tailTakeovers > 0,
      `nodes kept partitions current (${totals.keptTurns} turns taken in), and ${totals.tailTakeovers} partitions were taken over reading only what their node did not hold`);
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause;
    t.fail(`${cause ? `${cause.message}\n` : ''}${(err as Error).message}`.slice(0, 4000));
  }
});

// A session in service stays with its agent through a kill of the node that holds it.
t.test('a session in service is still its agent\'s after the node holding it is killed', async (t) => {
  const c: Config = { groups: [[1, 2], [1, 2], [1], [1]], limits: [2, 2, 2, 2], manual: false, restAfterAcceptTimeout: false, acceptTimeoutSec: 30, seed: 1 };
  const cluster = new Cluster(buildApp(appOptions(c)));
  t.teardown(() => cluster.close());
  for (let i = 0; i < 3; i++) cluster.join();
  for (let i = 0; i < 3; i++) await cluster.takeOver(i, Array.from({ length: P }, (_, p) => p).filter((p) => p % 3 === i));
  const conns: number[][] = MEMBERS.map(() => []);
  const next = { conn: 0, random: 0 };
  execute(cluster, { k: 'agent', m: 0, what: 'connect', then: 0 }, conns, next);
  await cluster.settle();
  for (const what of ['enter', 'human'] as const) {
    execute(cluster, { k: 'user', u: 0, cs: 0, what, then: 0 }, conns, next);
    await cluster.settle();
  }
  const conv = sessionAddress(APP, ACCOUNTS[0], 'u0');
  const before = (cluster.states.get(conv) as SessionState).cur;
  t.match(before, { phase: 'Agent', agentId: MEMBERS[0] }, 'in service');
  await cluster.kill(cluster.owner[pOf(conv)]);
  await cluster.settle();
  t.match((cluster.states.get(conv) as SessionState).cur, { sessionId: before!.sessionId, phase: 'Agent', agentId: MEMBERS[0] }, 'the same session, with the same agent, on another node');
  t.same(Object.keys(cluster.agent(MEMBERS[0]).sessions), [before!.sessionId], 'which holds it');
  quietInvariants(cluster);
});
