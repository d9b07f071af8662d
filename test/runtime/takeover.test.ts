/**
 * A cluster node's runtime taking a partition over from its log (Runtime.takeOver):
 * - the partition's actors go on from the log's state, whatever the node had in memory or on disk, and whatever
 *   read them while the import was being committed (a metrics scrape, a REST read);
 * - durable sends and callbacks the old node had committed and not passed on are passed on by the new one, once:
 *   what was passed on is in the logs too, and a receiver takes a send once however often it is sent.
 * Partition 0 holds every actor but those named `counter:m…`, which are on partition 1.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { counter } from '../helpers/counter-actor';
import { ManualClock } from '../../src/runtime/clock';
import { Runtime, type Outlet, type PartitionImport, type Placement } from '../../src/runtime/runtime';
import { FsyncMode, heldMailKey, Store, type MailId, type OutboxEntry } from '../../src/store/store';

const partitionOf = (a: string): number => (a.startsWith('counter:m') ? 1 : 0);
const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'desk-takeover-'));

interface NodeOptions {
  commitIntervalMs?: number;
  /** The partitions this node serves (default: both); sends to the other's actors find no node. */
  serves?: (p: number) => boolean;
  /** Where the node's committed turns go, per partition (its partition logs). */
  logs?: Map<number, Buffer[]>;
  /** Callbacks handed to the node's delivery. */
  callbacks?: { id: MailId; entry: OutboxEntry }[];
  /** Durable sends asked of other nodes (none takes them). */
  forwarded?: string[];
  /** How other nodes answer a durable send (default: none takes it). */
  forward?: Placement['forward'];
  /** Called after each batch of effects is released. */
  released?: () => void;
}

function node(dir: string, o: NodeOptions = {}) {
  const store = new Store(dir, FsyncMode.None, { commitIntervalMs: o.commitIntervalMs });
  const logs = o.logs;
  if (logs) {
    store.replicateTo({
      partitionOf, maxRecordBytes: 1 << 20, abandoned: () => new Set(),
      async append(p, record) {
        logs.set(p, [...(logs.get(p) ?? []), record]);
        return true;
      },
    });
  }
  const placement: Placement = {
    nodeId: 'n1', isLocal: (a) => (o.serves ?? (() => true))(partitionOf(a)), reply() {},
    forward: (to, msg, id, durable) => {
      o.forwarded?.push(`${to} ${id}`);
      return o.forward ? o.forward(to, msg, id, durable) : Promise.reject(new Error("the receiver's node is down"));
    },
    sessionId: (_conv, uuid) => uuid, remoteSessionPartition: () => undefined, partitionOf,
  };
  const outlet: Outlet = { push() {}, reply() {}, beginBatch() {}, endBatch: () => o.released?.(), callback: (id, entry) => o.callbacks?.push({ id, entry }) };
  const runtime = new Runtime({ store, clock: new ManualClock(), apps: () => undefined, log: pino({ level: 'silent' }), outlet, defs: [counter], placement, passivateAfterMs: 0, checkpointEveryMs: 0 });
  runtime.start();
  const close = async (): Promise<void> => {
    await runtime.idle();
    runtime.stop();
    await store.close();
  };
  return { store, runtime, close };
}

/** Takes partitions over whole from their logs. */
const takeOver = (runtime: Runtime, logs: Record<number, Buffer[]>): Promise<number> =>
  runtime.takeOver(async () => Object.entries(logs).map(([p, records]) => ({ partition: Number(p), records, fresh: true })));

/** The partition's log as another node wrote it: `count` incs of `actor`, numbered from `from`, one record each. */
async function logOf(actor: string, from: number, count: number): Promise<Buffer[]> {
  const other = new Store(tempDir(), FsyncMode.None, { commitIntervalMs: 0 });
  const log: Buffer[] = [];
  other.replicateTo({ partitionOf: () => 0, maxRecordBytes: 1 << 20, abandoned: () => new Set(), async append(_p, r) { log.push(r); return true; } });
  for (let n = from; n < from + count; n++) {
    other.appendTurn(actor, n, 1000 + n, [{ type: 'inc' }], []);
    await other.commit();
  }
  await other.close();
  return log;
}

const get = async (runtime: Runtime, a: string): Promise<unknown> => (await runtime.call(a, (replyTo) => ({ type: 'get', replyTo }))).data;

/** Takes partition 0 over from `records`; the actor is read (as a scrape would) while the import is being committed. */
function takeOverWhileRead(runtime: Runtime, actor: string, part: Omit<PartitionImport, 'partition'>): Promise<number> {
  return runtime.takeOver(async () => {
    setImmediate(() => runtime.peek(actor));
    return [{ partition: 0, ...part }];
  });
}

t.test('a partition taken over whole: its actor goes on from the log, though read meanwhile, and after a restart', async (t) => {
  const dir = tempDir();
  let n = node(dir);
  // What the node kept of the actor from when it held the partition before: 5 turns, a snapshot of them.
  for (let i = 0; i < 5; i++) n.runtime.tell('counter:q', { type: 'inc' });
  await n.runtime.idle();
  await n.runtime.checkpoint();
  t.equal(await get(n.runtime, 'counter:q'), 5);

  // The log: the same number of turns, of another history (the node's own were never in it).
  t.equal(await takeOverWhileRead(n.runtime, 'counter:q', { records: await logOf('counter:q', 1, 4), fresh: true }), 4, 'the four turns of the log imported');
  t.equal(await get(n.runtime, 'counter:q'), 4, "the actor's state is the log's");
  n.runtime.tell('counter:q', { type: 'inc' });
  t.equal(await get(n.runtime, 'counter:q'), 5, 'and its next turn follows it');
  await n.close();

  n = node(dir);
  t.teardown(n.close);
  t.equal(await get(n.runtime, 'counter:q'), 5, 'the same after a restart');
});

t.test('a partition brought up to date: the turns of the log after the ones the node made follow them, though read meanwhile', async (t) => {
  // Commits 100 ms apart: the import's waits for its turn, and the actor is read before it is sealed.
  const n = node(tempDir(), { commitIntervalMs: 100 });
  t.teardown(n.close);
  for (let i = 0; i < 3; i++) n.runtime.tell('counter:q', { type: 'inc' });
  await n.runtime.idle();
  await n.runtime.checkpoint();
  n.runtime.tell('counter:q', { type: 'inc' });
  await n.runtime.idle();

  t.equal(await takeOverWhileRead(n.runtime, 'counter:q', { records: await logOf('counter:q', 5, 2), fresh: false }), 2);
  t.equal(await get(n.runtime, 'counter:q'), 6, "the node's four turns, then the log's two");
  await n.runtime.checkpoint();
  await n.runtime.passivateAll();
  t.equal(await get(n.runtime, 'counter:q'), 6, 'the same once it left memory and came back from the store');
});

t.test("a durable send its node committed and never passed on is passed on by the sender's next node, and only then", async (t) => {
  const aLogs = new Map<number, Buffer[]>();
  // Node a serves partition 0 only, and the receiver's node is down.
  const a = node(tempDir(), { serves: (p) => p === 0, logs: aLogs });
  a.runtime.tell('counter:s', { type: 'forward', to: 'counter:m' });
  await a.runtime.idle();
  t.equal(a.store.allMail().length, 1, "the send waits at a: its receiver's node did not take it");
  await a.close();

  // Node b takes both partitions over (a's log of partition 0; partition 1 has nothing yet).
  const bLogs = new Map<number, Buffer[]>();
  const b = node(tempDir(), { logs: bLogs });
  t.teardown(b.close);
  t.equal(await takeOver(b.runtime, { 0: aLogs.get(0)!, 1: [] }), 1);
  await b.runtime.idle();
  t.equal(await get(b.runtime, 'counter:m'), 1, 'the receiver got it');
  t.equal(await get(b.runtime, 'counter:s'), 1, 'the sender is as its log left it');
  t.same(b.store.allMail(), [], 'no mail is left');

  // Node c takes partition 0 over from its log (a's records, then b's); partition 1 is elsewhere.
  const forwarded: string[] = [];
  const c = node(tempDir(), { serves: (p) => p === 0, forwarded });
  t.teardown(c.close);
  await takeOver(c.runtime, { 0: [...aLogs.get(0)!, ...(bLogs.get(0) ?? [])] });
  await c.runtime.idle();
  t.same([forwarded, c.store.allMail()], [[], []], "the sender's log says the send was passed on: c does not send it again");
});

t.test('a durable send stored by its receiver and not yet handled is handled by the next node, and a copy sent again is not', async (t) => {
  const aLogs = new Map<number, Buffer[]>();
  const a = node(tempDir(), { logs: aLogs });
  // What a receiver's node commits before it answers the sender (Runtime.accept), then it is lost.
  a.store.appendTurn('counter:m', 0, 1000, [], [], [['m', heldMailKey('sent-9'), { to: 'counter:m', msg: { type: 'inc' } }]]);
  await a.store.commit();
  await a.close();

  const dir = tempDir();
  let b = node(dir);
  await takeOver(b.runtime, { 1: aLogs.get(1)! });
  await b.runtime.idle();
  t.equal(await get(b.runtime, 'counter:m'), 1, 'handled by the next node');
  // The sender never heard back from a, and asks again.
  await b.runtime.accept('counter:m', { type: 'inc' }, true, 'sent-9');
  await b.runtime.idle();
  t.equal(await get(b.runtime, 'counter:m'), 1, 'the copy is not taken again');
  await b.runtime.accept('counter:m', { type: 'inc' }, true, 'sent-10');
  await b.runtime.accept('counter:m', { type: 'inc' }, true, 'sent-10');
  await b.runtime.idle();
  t.equal(await get(b.runtime, 'counter:m'), 2, 'a new send asked twice is taken once');
  await b.close();

  b = node(dir);
  t.teardown(b.close);
  await b.runtime.accept('counter:m', { type: 'inc' }, true, 'sent-10');
  await b.runtime.idle();
  t.equal(await get(b.runtime, 'counter:m'), 2, 'also after a restart');
});

t.test('a copy of a durable send that arrives while the turn that took it is being committed is not taken again', async (t) => {
  // Commits 100 ms apart: the copy comes between the receiver's turn and its commit.
  const n = node(tempDir(), { commitIntervalMs: 100 });
  t.teardown(n.close);
  await n.runtime.accept('counter:m', { type: 'inc' }, true, 'sent-1');
  await new Promise((r) => setImmediate(r));
  await n.runtime.accept('counter:m', { type: 'inc' }, true, 'sent-1');
  await n.runtime.idle();
  t.equal(await get(n.runtime, 'counter:m'), 1, 'taken once');
});

t.test("a callback its node committed and never delivered is delivered by the next node, with the same idempotency key, and only then", async (t) => {
  const aLogs = new Map<number, Buffer[]>();
  const aCalls: { id: MailId; entry: OutboxEntry }[] = [];
  const a = node(tempDir(), { logs: aLogs, callbacks: aCalls });
  a.runtime.tell('counter:s', { type: 'notify', key: 'k1' });
  await a.runtime.idle();
  t.equal(aCalls.length, 1, "a hands it to its delivery, then is lost before it is delivered");
  await a.close();

  const bLogs = new Map<number, Buffer[]>();
  const bCalls: typeof aCalls = [];
  const b = node(tempDir(), { logs: bLogs, callbacks: bCalls });
  t.teardown(b.close);
  await takeOver(b.runtime, { 0: aLogs.get(0)! });
  t.same(bCalls, aCalls, 'the next node hands over the same callback: its id and its idempotency key');
  await b.runtime.callbackSettled(bCalls[0].id, bCalls[0].entry);
  t.same(b.store.pendingCallbacks(), [], 'delivered, it leaves the outbox');

  const cCalls: typeof aCalls = [];
  const c = node(tempDir(), { callbacks: cCalls });
  t.teardown(c.close);
  await takeOver(c.runtime, { 0: [...aLogs.get(0)!, ...(bLogs.get(0) ?? [])] });
  t.same([cCalls, c.store.pendingCallbacks()], [[], []], 'the log says it was delivered: a later node does not deliver it again');
});

t.test("a copy sent again of a send queued here is acknowledged only once its receiver's partition log holds it", async (t) => {
  // Node b serves both partitions, committing 100 ms apart: the receiver's turn lands well after b answers.
  const bLogs = new Map<number, Buffer[]>();
  let answered: Promise<Buffer[]> | undefined;
  const b = node(tempDir(), {
    logs: bLogs, commitIntervalMs: 100,
    released() {
      // The sender's turn is committed, the send waits in the receiver's mailbox: the sender's partition moved to
      // another node, which sends it again from that partition's log, and b answers.
      const sent = b.store.allMail();
      if (answered || sent.length === 0) return;
      answered = b.runtime.accept('counter:m', { type: 'inc' }, true, String(sent[0].id)).then(() => [...(bLogs.get(1) ?? [])]);
    },
  });
  t.teardown(b.close);
  b.runtime.tell('counter:s', { type: 'forward', to: 'counter:m' });
  await b.runtime.idle();
  t.ok(answered, 'the copy was sent while the send waited');
  // The sender's node, answered, forgets the send; b is lost. Node c takes the receiver's partition over from its log
  // as it was when b answered.
  const c = node(tempDir(), { serves: (p) => p === 1 });
  t.teardown(c.close);
  await takeOver(c.runtime, { 1: await answered! });
  await c.runtime.idle();
  t.equal(await get(c.runtime, 'counter:m'), 1, 'the receiver gets the send');
});

t.test("a send its receiver stored is removed from the sender's log, though the receiver's partition came to the sender's node meanwhile", async (t) => {
  const aLogs = new Map<number, Buffer[]>();
  let servesReceiver = false;
  const a: ReturnType<typeof node> = node(tempDir(), {
    serves: (p) => p === 0 || servesReceiver, logs: aLogs,
    async forward(to, msg, id) {
      // The receiver's node stores the send in its partition's log (Runtime.accept), answers, and is lost; the
      // partition comes to a, from that log, before the answer reaches a.
      const receiverLog: Buffer[] = [];
      const b = new Store(tempDir(), FsyncMode.None, { commitIntervalMs: 0 });
      b.replicateTo({ partitionOf, maxRecordBytes: 1 << 20, abandoned: () => new Set(), async append(_p, r) { receiverLog.push(r); return true; } });
      b.appendTurn(to, 0, 1000, [], [], [['m', heldMailKey(id), { to, msg }]]);
      await b.commit();
      await b.close();
      servesReceiver = true;
      await takeOver(a.runtime, { 1: receiverLog });
    },
  });
  t.teardown(a.close);
  a.runtime.tell('counter:s', { type: 'forward', to: 'counter:m' });
  await a.runtime.idle();
  t.equal(await get(a.runtime, 'counter:m'), 1, 'the receiver got it, once');
  t.same(a.store.allMail(), [], 'no mail is left');

  // A later owner of the sender's partition, when the receiver's node no longer knows the send as taken.
  const forwarded: string[] = [];
  const c = node(tempDir(), { serves: (p) => p === 0, forwarded });
  t.teardown(c.close);
  await takeOver(c.runtime, { 0: aLogs.get(0)! });
  await c.runtime.idle();
  t.same([forwarded, c.store.allMail()], [[], []], "the sender's log says the send was passed on: it is not sent again");
});

t.test('a send stored before the node ran in a cluster (no sender) is passed on at start', async (t) => {
  const dir = tempDir();
  const old = new Store(dir, FsyncMode.None, { commitIntervalMs: 0 });
  old.applyWrites('counter:m', 1000, [['m', 7, { to: 'counter:m', msg: { type: 'inc' } }]]);
  await old.commit();
  await old.close();
  const forwarded: string[] = [];
  const n = node(dir, { serves: (p) => p === 0, forwarded });
  t.teardown(n.close);
  t.same(forwarded, ['counter:m 7'], "asked of the receiver's node");
});

t.test('a partition served elsewhere kept current: a checkpoint asked for meanwhile covers it, its actors leave memory, a takeover imports the rest only', async (t) => {
  let servesBoth = false;
  const n = node(tempDir(), { serves: (p) => p === 1 || servesBoth });
  t.teardown(n.close);
  const log = await logOf('counter:q', 1, 6);
  const keeping = n.runtime.keepPartitions(() => [{ partition: 0, records: log.slice(0, 4), fresh: true }]);
  const checkpointed = n.runtime.checkpoint();
  t.equal(await keeping, 4, 'four turns taken in');
  await checkpointed;
  t.same([...n.store.actorsSinceCheckpoint()], [], 'the checkpoint asked for during the import ran after it, and covers it');
  t.equal(n.runtime.activeActors(), 0, 'the actor of the partition served elsewhere is not kept in memory');
  servesBoth = true;
  t.equal(await n.runtime.takeOver(async () => [{ partition: 0, records: log.slice(4), fresh: false }]), 2, 'the takeover imports the two turns after them');
  t.equal(await get(n.runtime, 'counter:q'), 6, 'and the actor goes on from all six');
});
