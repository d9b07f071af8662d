/**
 * The node-to-node bus over a real nats-server: commands reach whichever node owns their partition, wait through a
 * moment with no owner, are taken once though asked again, and messages reach one node.
 */
import { connect } from 'nats';
import t from 'tap';
import { NatsBus } from '../../src/bus/nats-bus';
import { commandSubject, nodeSubject } from '../../src/bus/subjects';
import { natsForTests } from '../helpers/nats';

const nats = natsForTests(t);

interface Node { bus: NatsBus; commands: { partition: number; id: string; payload: unknown }[]; messages: unknown[] }

async function node(id: string, onCommand?: (partition: number, cid: string) => Promise<void>): Promise<Node> {
  const nc = await nats.connect();
  const n: Node = { bus: undefined as unknown as NatsBus, commands: [], messages: [] };
  n.bus = await NatsBus.open(nc, id, {
    onCommand: async (partition, cid, payload) => {
      await onCommand?.(partition, cid);
      n.commands.push({ partition, id: cid, payload });
    },
    onNodeMessage: (payload) => n.messages.push(payload),
  });
  return n;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(ok: () => boolean, within = 5000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > within) throw new Error('timed out');
    await sleep(20);
  }
}

t.test('commands go to the partition owner, also after the partition moves, and wait while it has none', async (t) => {
  const a = await node('a.example:8080');
  const b = await node('b.example:8080');
  a.bus.own(1);
  b.bus.own(2);
  await a.bus.command(1, 'c1', { to: 'session:1|x|u1', text: 'hello' });
  await a.bus.command(2, 'c2', { to: 'agent:1|m@x' });
  await b.bus.command(1, 'c3', { n: 3 });
  t.same(a.commands.map((c) => c.id), ['c1', 'c3'], 'partition 1 commands reached a, whoever sent them');
  t.same(b.commands.map((c) => c.id), ['c2']);
  t.same(a.commands[0].payload, { to: 'session:1|x|u1', text: 'hello' }, 'payload intact');

  // Partition 1 moves from a to b, with a gap in between: a command sent in the gap is taken once b owns it.
  await a.bus.disown(1);
  const sent = b.bus.command(1, 'c4', { n: 4 });
  await sleep(300);
  t.equal(b.commands.length, 1, 'nobody took it while nobody owned the partition');
  b.bus.own(1);
  await sent;
  t.same(b.commands.map((c) => c.id), ['c2', 'c4'], 'taken by the new owner');
  t.same(a.commands.map((c) => c.id), ['c1', 'c3'], 'not by the old one');

  await t.rejects(a.bus.command(9, 'nobody', {}, { deadlineMs: 300 }), /no owner took command nobody/, 'a command nobody takes fails at its deadline');
});

t.test('a command asked again (its answer late or lost) is taken once', async (t) => {
  let slow = true;
  const owner = await node('owner', async () => {
    if (slow) {
      slow = false;
      await sleep(400);
    }
  });
  const sender = await node('sender');
  owner.bus.own(5);
  // The first attempt's answer comes after the sender stopped waiting for it: it asks again.
  await sender.bus.command(5, 'once', { x: 1 }, { attemptMs: 150 });
  await sender.bus.command(5, 'once', { x: 1 });
  t.same(owner.commands.map((c) => c.id), ['once'], 'taken once');
});

t.test('messages for one node reach that node only', async (t) => {
  const a = await node('a');
  const b = await node('b');
  a.bus.toNode('b', { push: 'frame', n: 1 });
  b.bus.toNode('a', { reply: 7 });
  await sleep(200);
  t.same(b.messages, [{ push: 'frame', n: 1 }]);
  t.same(a.messages, [{ reply: 7 }]);
});

t.test("what one turn sends to a partition leaves as one message, taken in order; one node's messages too", async (t) => {
  const owner = await node('batch-owner');
  const sender = await node('batch-sender');
  owner.bus.own(7);
  const watcher = await nats.connect();
  let requests = 0;
  watcher.subscribe(commandSubject(7), { callback: () => { requests++; } });
  let nodeMessages = 0;
  watcher.subscribe(nodeSubject('batch-owner'), { callback: () => { nodeMessages++; } });
  await watcher.flush();
  const sent = Array.from({ length: 50 }, (_, i) => sender.bus.command(7, `b${i}`, { i }));
  await Promise.all(sent);
  // The watcher's copies travel on its own connection: a round trip of it brings what was sent before.
  await watcher.flush();
  t.equal(requests, 1, 'fifty commands of one turn: one request');
  t.same(owner.commands.map((c) => (c.payload as { i: number }).i), Array.from({ length: 50 }, (_, i) => i), 'taken in the order sent');
  for (let i = 0; i < 20; i++) sender.bus.toNode('batch-owner', { reply: i });
  await until(() => owner.messages.length === 20);
  await watcher.flush();
  t.equal(nodeMessages, 1, 'twenty messages for one node in one turn: one message');
  t.same(owner.messages.map((m) => (m as { reply: number }).reply), Array.from({ length: 20 }, (_, i) => i), 'in order');
});

t.test('commands sent turn after turn are taken in the order sent, though taking some takes longer', async (t) => {
  let n = 0;
  const owner = await node('order-owner', async () => {
    // Every third command is slow to take (a durable one waits for its commit).
    if (++n % 3 === 0) await sleep(5);
  });
  const sender = await node('order-sender');
  owner.bus.own(11);
  const sent: Promise<void>[] = [];
  for (let i = 0; i < 60; i++) {
    sent.push(sender.bus.command(11, `o${i}`, { i }));
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(sent);
  t.same(owner.commands.map((c) => (c.payload as { i: number }).i), Array.from({ length: 60 }, (_, i) => i), 'in order');
});

t.test('a command for a partition the sending node owns itself is taken there (NATS brings a node none of its own requests)', async (t) => {
  const nc = await connect({ servers: nats.url(), noEcho: true });
  t.teardown(() => nc.close());
  const taken: unknown[] = [];
  const bus = await NatsBus.open(nc, 'self-owner', { onCommand: (_p, _id, payload) => { taken.push(payload); }, onNodeMessage: () => undefined });
  bus.own(21);
  await bus.command(21, 'self-1', { x: 1 }, { deadlineMs: 5000 });
  await bus.command(21, 'self-1', { x: 1 }, { deadlineMs: 5000 });
  t.same(taken, [{ x: 1 }], 'taken once, here');
  await bus.close();
});
