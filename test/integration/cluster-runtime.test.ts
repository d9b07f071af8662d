/**
 * Runtimes as nodes of a cluster over a real nats-server: each actor runs on the node that holds its partition's
 * lease; messages, calls, replies to sockets and durable sends cross nodes; a durable send is stored by the receiving
 * node before the sender forgets it, and taken once however often it is asked.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NatsConnection } from 'nats';
import pino from 'pino';
import t, { type Test } from 'tap';
import type { ReplyTo } from '../../actors/types';
import { commandSubject } from '../../src/bus/subjects';
import { ClusterNode } from '../../src/cluster/node';
import { partitionOf, placement } from '../../src/cluster/partitions';
import { realClock } from '../../src/runtime/clock';
import { Runtime, type Reply } from '../../src/runtime/runtime';
import { FsyncMode, Store } from '../../src/store/store';
import { counter } from '../helpers/counter-actor';
import { natsForTests } from '../helpers/nats';

const P = 16;
const nats = natsForTests(t);
const log = pino({ level: 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Node { id: string; nc: NatsConnection; node: ClusterNode; store: Store; runtime: Runtime; replies: { replyTo: ReplyTo; result: Reply }[] }

async function startNode(id: string, bucket: string): Promise<Node> {
  const nc = await nats.connect();
  const node = await ClusterNode.start({ nc, nodeId: id, clock: realClock, log, partitions: P, leaseTtlMs: 1500, skewMarginMs: 200, leaseBucket: bucket, forwardDeadlineMs: 5000 });
  const store = new Store(fs.mkdtempSync(path.join(os.tmpdir(), 'desk-node-')), FsyncMode.None);
  const replies: Node['replies'] = [];
  const runtime = new Runtime({
    store, clock: realClock, apps: () => undefined, log, defs: [counter], passivateAfterMs: 0, checkpointEveryMs: 0, placement: node,
    // An answer larger than a NATS message may be (1 MB by default).
    readers: { big: () => 'x'.repeat(2 * 1024 * 1024), small: (q) => q },
    outlet: { push() {}, reply: (replyTo, result) => replies.push({ replyTo, result }), beginBatch() {}, endBatch() {} },
  });
  node.attach(runtime);
  await node.join();
  runtime.start();
  return { id, nc, node, store, runtime, replies };
}

async function until(what: string, ok: () => boolean, within = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > within) throw new Error(`not ${what} within ${within} ms`);
    await sleep(25);
  }
}

/** Waits until every partition is owned once, by the node placement names. */
async function settled(nodes: Node[]): Promise<void> {
  const want = placement(nodes.map((n) => n.id), P);
  await until('settled', () => want.every((owner, p) => nodes.filter((n) => n.node.ownedPartitions().includes(p)).map((n) => n.id).join() === owner));
}

/** Nodes with the given ids, stopped after the test, once their partitions are placed. */
async function startNodes(t: Test, ids: string[], bucket: string): Promise<Node[]> {
  const nodes: Node[] = [];
  t.teardown(async () => {
    for (const n of nodes) {
      n.runtime.stop();
      await n.node.leave();
      await n.store.close();
      await n.nc.close();
    }
  });
  for (const id of ids) nodes.push(await startNode(id, bucket));
  await settled(nodes);
  return nodes;
}

/** A counter address whose actor lives on `node`. */
function addressOn(nodes: Node[], node: Node, name: string): string {
  const want = placement(nodes.map((n) => n.id), P);
  for (let i = 0; ; i++) {
    const a = `counter:${name}-${i}`;
    if (want[partitionOf(a, P)] === node.id) return a;
  }
}

async function get(from: Node, a: string): Promise<unknown> {
  const r = await from.runtime.call(a, (replyTo) => ({ type: 'get', replyTo }));
  if (!r.ok) throw new Error(`get ${a} failed: ${r.info}`);
  return r.data;
}

t.test('three nodes: every actor runs on its partition owner; tells, calls, socket replies and durable sends cross nodes', async (t) => {
  const nodes = await startNodes(t, ['a', 'b', 'c'], 'desk-test-rt-leases');
  const [a, b, c] = nodes;
  const onB = addressOn(nodes, b, 'x');
  const onC = addressOn(nodes, c, 'y');

  for (let i = 0; i < 3; i++) a.runtime.tell(onB, { type: 'inc' });
  await until('counted on b', () => b.runtime.activeActors() > 0 && (b.runtime.peek<{ n: number }>(onB)).n === 3);
  t.equal(a.runtime.activeActors(), 0, 'the sending node did not run the actor itself');
  t.equal(await get(a, onB), 3, "a call from a is answered by b's actor, the reply back on a");
  t.equal(await get(c, onB), 3, 'and from c');

  // A socket's request on a: the reply goes to a's outlet, naming a's socket.
  a.runtime.tell(onC, { type: 'get', replyTo: a.runtime.replyAddress(7, 'r1', 'ok') });
  await until('the socket reply on a', () => a.replies.length === 1);
  t.match(a.replies[0], { replyTo: { conn: 7, ref: 'r1', node: 'a' }, result: { ok: true, data: 0 } }, 'the reply reached the node holding the socket');
  t.equal(b.replies.length + c.replies.length, 0, 'and no other node');

  // A durable send from an actor on a to one on b: stored by b before a forgets it.
  const onA = addressOn(nodes, a, 'z');
  a.runtime.tell(onA, { type: 'forward', to: onB });
  await until('forwarded', () => b.runtime.peek<{ n: number }>(onB).n === 4);
  await until("a's mail emptied", () => a.store.allMail().length === 0);
  await b.runtime.idle();
  t.equal(b.store.allMail().length, 0, "b's copy is gone once its actor handled it");
  t.equal(await get(c, onA), 1, "the sender's own turn counted once");
});

t.test('a durable send asked twice is taken once; a malformed command is dropped without harm', async (t) => {
  const nodes = await startNodes(t, ['a', 'b'], 'desk-test-rt-leases-2');
  const [a, b] = nodes;
  const onB = addressOn(nodes, b, 'w');
  await a.node.forward(onB, { type: 'inc' }, 'same-id', true);
  await a.node.forward(onB, { type: 'inc' }, 'same-id', true);
  await a.node.forward(onB, { type: 'inc' }, 'other-id', true);
  await b.runtime.idle();
  t.equal(await get(a, onB), 2, 'two ids, two increments');

  // Garbage on a command subject (unreadable, or without a message) is ignored.
  const p = partitionOf(onB, P);
  for (const junk of [Buffer.from('not msgpack'), Buffer.from([0x81, 0xa2, 0x69, 0x64, 0xa1, 0x78])]) {
    await a.nc.request(commandSubject(p), junk, { timeout: 2000 }).catch(() => undefined);
  }
  await a.node.forward(onB, { type: 'inc' }, 'third-id', false);
  await until('still serving', () => b.runtime.peek<{ n: number }>(onB).n === 3);
  t.pass('the owner still serves after malformed commands');

  // An address of a kind no node runs: refused where it lands, the caller answered with an error (or the call throws).
  const r = await a.runtime.call('nosuchkind:1', (replyTo) => ({ type: 'get', replyTo })).catch((err: unknown) => ({ ok: false, info: String(err) }));
  t.equal(r.ok, false, 'a message for an unknown kind is refused, and both nodes keep serving');
  t.equal(await get(b, onB), 3);
});

t.test('an answer too large to pass between nodes is refused, and the node that holds it keeps serving', async (t) => {
  const nodes = await startNodes(t, ['a', 'b'], 'desk-test-rt-leases-3');
  const [a, b] = nodes;
  const onB = addressOn(nodes, b, 'big');
  const r = await a.runtime.read(onB, 'big', {});
  t.match(r, { ok: false, info: /too large/ }, 'the asking node is told');
  t.same(await a.runtime.read(onB, 'small', { n: 1 }), { ok: true, data: { n: 1 } }, 'and b still answers');
  a.runtime.tell(onB, { type: 'inc' });
  t.equal(await get(a, onB), 1, "b's actors still run");
});
