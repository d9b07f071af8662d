/**
 * A socket's request that a cluster node passed on to the node holding its actor is answered, whatever happens to
 * that node: a node lost after it took the request never answers, and the socket would wait for ever. After 10 s
 * without an answer (by the runtime's clock) the socket is told "retry"; an answer in time is the only one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { ErrorCode } from '../../protocol/errors';
import { counter } from '../helpers/counter-actor';
import { ManualClock } from '../../src/runtime/clock';
import { Runtime, type Placement, type Reply } from '../../src/runtime/runtime';
import { FsyncMode, Store } from '../../src/store/store';

/** A node holding nothing but `counter:here`; other nodes take what it passes on and never answer. */
async function node(t: { teardown(fn: () => Promise<void>): void }) {
  const store = new Store(fs.mkdtempSync(path.join(os.tmpdir(), 'desk-answer-')), FsyncMode.None);
  const clock = new ManualClock();
  const replies: { conn: number; ref: unknown; result: Reply }[] = [];
  const forwarded: string[] = [];
  const placement: Placement = {
    nodeId: 'n1', isLocal: (a) => a === 'counter:here', reply() {},
    forward: async (to) => { forwarded.push(to); },
    sessionId: (_conv, uuid) => uuid, remoteSessionPartition: (id) => (id.startsWith('remote') ? 1 : undefined), partitionOf: (a) => (a === 'counter:here' ? 0 : 1),
  };
  const runtime = new Runtime({
    store, clock, apps: () => undefined, log: pino({ level: 'silent' }), defs: [counter], placement, passivateAfterMs: 0, checkpointEveryMs: 0,
    outlet: { push() {}, reply: (to, result) => replies.push({ conn: (to as { conn: number }).conn, ref: (to as { ref?: unknown }).ref, result }), beginBatch() {}, endBatch() {} },
  });
  runtime.start();
  t.teardown(async () => { runtime.stop(); await store.close(); });
  return { runtime, clock, replies, forwarded };
}

t.test('a request passed on to a node that never answers is answered "retry" after 10 s', async (t) => {
  const { runtime, clock, replies, forwarded } = await node(t);
  runtime.tell('counter:there', { type: 'inc', replyTo: runtime.replyAddress(7, 'r1', 'ok') });
  runtime.tellBySession('remote-session', 1, { type: 'inc', replyTo: runtime.replyAddress(7, 'r2', 'ok') });
  await new Promise((r) => setImmediate(r));
  t.same(forwarded, ['counter:there', 'bysession:remote-session'], 'both passed on');
  clock.advance(9_999);
  t.same(replies, [], 'not before 10 s');
  clock.advance(1);
  t.same(replies.map((r) => [r.conn, r.ref, r.result.ok, r.result.code]), [[7, 'r1', false, ErrorCode.Internal], [7, 'r2', false, ErrorCode.Internal]], 'each answered "retry", once');
  clock.advance(60_000);
  t.equal(replies.length, 2, 'and only once');
});

t.test('an answer in time is the only one; requests of other nodes and local ones are not timed here', async (t) => {
  const { runtime, clock, replies } = await node(t);
  const asked = runtime.replyAddress(7, 'r1', 'ok');
  runtime.tell('counter:there', { type: 'inc', replyTo: asked });
  // A request another node passed on here names that node: its own node times it.
  runtime.tell('counter:there', { type: 'inc', replyTo: { conn: 8, ref: 'x', as: 'ok', node: 'n2' } });
  clock.advance(5_000);
  runtime.receiveReply(asked, { ok: true, data: { n: 1 } });
  t.same(replies.map((r) => [r.conn, r.ref, r.result.ok]), [[7, 'r1', true]], 'the answer reaches the socket');
  clock.advance(60_000);
  t.equal(replies.length, 1, 'no "retry" after it, none for the other node\'s request');

  runtime.tell('counter:here', { type: 'get', replyTo: runtime.replyAddress(9, 'local', 'ok') });
  await runtime.idle();
  clock.advance(60_000);
  t.same(replies.filter((r) => r.conn === 9).map((r) => r.result.ok), [true], 'a local request is answered by its turn alone');
});
