/**
 * Pushes between nodes over a real nats-server: a push reaches the nodes holding a socket of its recipient, once per
 * node however many sockets it holds there, nobody else, and never comes back to the node that pushed it.
 */
import { Packr } from 'msgpackr';
import t from 'tap';
import type { Recipient } from '../../actors/types';
import { PushRouter } from '../../src/bus/push-router';
import { pushSubject } from '../../src/bus/subjects';
import type { ServerFrame } from '../../protocol/frames';
import { natsForTests } from '../helpers/nats';

const nats = natsForTests(t);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function node(id: string): Promise<{ router: PushRouter; got: { to: Recipient; frame: ServerFrame }[]; closed: unknown[][] }> {
  const got: { to: Recipient; frame: ServerFrame }[] = [];
  const closed: unknown[][] = [];
  const router = new PushRouter(await nats.connect(), id, (to, frame) => got.push({ to, frame }), (to, code, reason) => closed.push([to, code, reason]));
  return { router, got, closed };
}

t.test('a push reaches exactly the nodes that hold a socket of its recipient', async (t) => {
  const a = await node('a');
  const b = await node('b.example:8080');
  const c = await node('c');
  const user: Recipient = { role: 'user', app: 1400000001, id: 'visitor.1' };
  const agent: Recipient = { role: 'agent', app: 1400000001, id: 'alice@desk.test' };
  b.router.hold(user);
  b.router.hold(user); // a second socket of the same user on b
  c.router.hold(agent);
  a.router.hold(user); // a holds one too: it delivers its own pushes itself
  await Promise.all([a.router.ready(), b.router.ready(), c.router.ready()]);

  const frame: ServerFrame = { type: 'message', data: { seq: 1, text: 'hello' } } as ServerFrame;
  a.router.push(user, frame);
  await sleep(200);
  t.same(b.got, [{ to: user, frame }], 'the node with the user\'s sockets gets it once');
  t.same(c.got, [], 'a node without them gets nothing');
  t.same(a.got, [], 'the pushing node does not get its own push back');

  b.router.release(user);
  a.router.push(user, frame);
  await sleep(200);
  t.equal(b.got.length, 2, 'still listening while one of its sockets is open');
  b.router.release(user);
  await b.router.ready();
  a.router.push(user, frame);
  c.router.push(agent, { type: 'session.assigned', data: {} } as ServerFrame);
  await sleep(200);
  t.equal(b.got.length, 2, 'not after its last socket closed');
  t.same(c.got, [], 'c does not get its own push');
});

t.test('a push that is not a frame is dropped', async (t) => {
  const b = await node('b');
  const user: Recipient = { role: 'user', app: 1, id: 'u' };
  b.router.hold(user);
  await b.router.ready();
  const nc = await nats.connect();
  nc.publish('desk.v1.push.user.1.dQ', new Uint8Array([0xc1, 0xff, 0x00]));
  nc.publish('desk.v1.push.user.1.dQ', new TextEncoder().encode('plain text'));
  await nc.flush();
  await sleep(200);
  t.same(b.got, [], 'nothing delivered, nothing thrown');
});

t.test("closing a recipient's sockets everywhere: the nodes holding one close theirs; a close that is not one is dropped", async (t) => {
  const a = await node('a');
  const b = await node('b');
  const c = await node('c');
  const agent: Recipient = { role: 'agent', app: 1, id: 'alice@desk.test' };
  b.router.hold(agent);
  a.router.hold(agent);
  await Promise.all([a.router.ready(), b.router.ready()]);
  a.router.closeEverywhere(agent, 4001, 'forced offline');
  await sleep(200);
  t.same(b.closed, [[agent, 4001, 'forced offline']], 'b closes its sockets of the member');
  t.same([a.closed, c.closed, b.got], [[], [], []], 'not the node that asked (it closes its own), not a node without one; nothing pushed');
  const nc = await nats.connect();
  const packr = new Packr({ useRecords: false });
  for (const close of [[999, 'x'], [4001, 'y'.repeat(124)], ['4001', 'x'], 4001]) nc.publish(pushSubject('agent', 1, agent.id), packr.pack({ from: 'z', close }));
  await nc.flush();
  await sleep(200);
  t.equal(b.closed.length, 1, 'a bad code or reason closes nothing');
});

t.test('whether another node holds a socket of a recipient: asked of the nodes listening for it', async (t) => {
  const a = await node('a');
  const b = await node('b');
  const user: Recipient = { role: 'user', app: 1, id: 'visitor.2' };
  t.equal(await a.router.heldElsewhere(user), false, 'no node holds one');
  b.router.hold(user);
  await b.router.ready();
  t.equal(await a.router.heldElsewhere(user), true, 'b holds one');
  a.router.hold(user);
  await a.router.ready();
  b.router.release(user);
  await b.router.ready();
  t.equal(await a.router.heldElsewhere(user), false, 'the asking node\'s own socket does not count');
  t.same([a.got, b.got], [[], []], 'the question is no push');
});
