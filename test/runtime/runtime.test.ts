import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { counter, type Counter } from '../helpers/counter-actor';
import { ManualClock } from '../../src/runtime/clock';
import { Runtime, type Outlet, type Placement } from '../../src/runtime/runtime';
import { FsyncMode, plainPackr, Store } from '../../src/store/store';
import { decodeRecord } from '../../src/store/turn-log';

const outlet: Outlet = { push() {}, reply() {}, beginBatch() {}, endBatch() {} };

function setup(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-rt-')), clock = new ManualClock(), mailboxLimit?: number) {
  const store = new Store(dir, FsyncMode.None);
  const runtime = new Runtime({ store, clock, apps: () => undefined, log: pino({ level: 'silent' }), outlet, defs: [counter], mailboxLimit, passivateAfterMs: 0, checkpointEveryMs: 0 });
  runtime.start();
  const close = async () => {
    await runtime.idle();
    runtime.stop();
    await store.close();
  };
  return { dir, store, runtime, clock, close };
}

async function get(runtime: Runtime, a: string): Promise<unknown> {
  return (await runtime.call(a, (replyTo) => ({ type: 'get', replyTo }))).data;
}

t.test('a throwing actor is restarted from the store; the rest keeps serving', async (t) => {
  const { runtime, store, close } = setup();
  t.teardown(close);
  runtime.tell('counter:a', { type: 'inc' });
  runtime.tell('counter:a', { type: 'inc' });
  runtime.tell('counter:b', { type: 'inc' });
  const failed = await runtime.call('counter:a', (replyTo) => ({ type: 'boom', replyTo }));
  t.same({ ok: failed.ok, code: failed.code }, { ok: false, code: 141002 }, 'the caller gets a temporary error');
  runtime.tell('counter:a', { type: 'inc' });
  t.equal(await get(runtime, 'counter:a'), 3, 'state before the throw is kept, later messages are handled');
  t.equal(await get(runtime, 'counter:b'), 1, 'other actors unaffected');
});

t.test('a turn whose events cannot be stored is refused alone: its writes, replies and timer changes are taken back', async (t) => {
  const clock = new ManualClock();
  const { runtime, store, close } = setup(undefined, clock);
  t.teardown(close);
  runtime.tell('counter:p', { type: 'arm', key: 'k', at: clock.now() + 10_000 });
  runtime.tell('counter:p', { type: 'arm', key: 'other', at: clock.now() + 20_000 });
  runtime.tell('counter:p', { type: 'inc' });
  runtime.tell('counter:q', { type: 'inc' });
  const refused = runtime.call('counter:p', (replyTo) => ({ type: 'poison', depth: 5000, disarm: 'other', replyTo }));
  // In the same batch: another actor's turn, which must still be stored and answered.
  runtime.tell('counter:q', { type: 'inc' });
  const r = await refused;
  t.same({ ok: r.ok, code: r.code }, { ok: false, code: 141004 }, 'the sender is told its message was not accepted');
  t.equal(await get(runtime, 'counter:q'), 2, 'the other actor of the batch is committed');
  t.equal(await get(runtime, 'counter:p'), 1, 'the refused turn left no event behind');
  t.same(store.eventsAfter('counter:p', 0).map((rec) => rec.es), [[{ type: 'inc' }]], 'nothing of the refused turn is stored');
  clock.advance(9_000);
  await runtime.idle();
  t.same(runtime.peek<Counter>('counter:p').fired, [], 'the wake-up the turn moved earlier is back at its time');
  clock.advance(11_000);
  await runtime.idle();
  t.same(runtime.peek<Counter>('counter:p').fired, ['k', 'other'], 'both wake-ups fire as first asked, the cancelled one too');
  const ok = await runtime.call('counter:p', (replyTo) => ({ type: 'poison', depth: 3, replyTo }));
  t.equal(ok.ok, true, 'the actor keeps serving');
});

t.test('a reply is released only after the state it reports is committed', async (t) => {
  const { runtime, store, close } = setup();
  t.teardown(close);
  runtime.tell('counter:c', { type: 'inc' });
  const n = await get(runtime, 'counter:c');
  t.equal(n, 1);
  t.same(store.eventsAfter('counter:c', 0).map((r) => r.es), [[{ type: 'inc' }]], 'the store already holds its event');
});

t.test('timers survive a restart of the runtime and store', async (t) => {
  const clock = new ManualClock();
  const first = setup(undefined, clock);
  first.runtime.tell('counter:t', { type: 'arm', key: 'k', at: clock.now() + 10_000 });
  await first.close();
  const second = setup(first.dir, clock);
  t.teardown(second.close);
  clock.advance(9_999);
  await second.runtime.idle();
  t.same(second.runtime.peek<Counter>('counter:t').fired, [], 'not yet due');
  clock.advance(1);
  await second.runtime.idle();
  t.same(second.runtime.peek<Counter>('counter:t').fired, ['k'], 'fires once due');
  t.same(second.store.allTimers(), [], 'and is removed from the store');
});

t.test('a durable send committed before a crash is delivered once after restart', async (t) => {
  const first = setup();
  // What a sender's turn commits: its event and the mail of its send, not yet delivered.
  first.store.appendTurn('counter:s', 1, 1000, [{ type: 'inc' }], [], [['m', first.store.newMailId(1000), { to: 'counter:m', msg: { type: 'inc' }, from: 'counter:s' }]]);
  await first.close();
  const second = setup(first.dir);
  t.teardown(second.close);
  t.equal(await get(second.runtime, 'counter:m'), 1);
  await second.runtime.idle();
  t.same(second.store.allMail(), [], 'mailbox emptied');
  second.runtime.tell('counter:x', { type: 'forward', to: 'counter:m' });
  await second.runtime.idle();
  t.equal(await get(second.runtime, 'counter:m'), 2, 'actor-to-actor send delivered');
  t.same(second.store.allMail(), []);
});

t.test('a full mailbox refuses new external messages instead of growing', async (t) => {
  const { runtime, close } = setup(undefined, undefined, 3);
  t.teardown(close);
  const accepted = [1, 2, 3, 4, 5].map(() => runtime.tell('counter:q', { type: 'inc' }));
  t.same(accepted, [true, true, true, false, false]);
  await runtime.idle();
  t.equal(await get(runtime, 'counter:q'), 3, 'the accepted ones were handled');
});

t.test('passivated actors come back from their snapshot', async (t) => {
  const { runtime, store, close } = setup();
  t.teardown(close);
  for (let i = 0; i < 5; i++) runtime.tell(`counter:p${i}`, { type: 'inc' });
  await runtime.idle();
  t.equal(runtime.activeActors(), 5);
  await runtime.passivateAll();
  t.equal(runtime.activeActors(), 0, 'dropped from memory');
  t.same(store.loadSnapshot('counter:p3'), { n: 1, state: { n: 1, fired: [] } }, 'snapshotted on the way out');
  t.equal(await get(runtime, 'counter:p3'), 1, 'reactivated with its state');
});

t.test('an actor recovers as its snapshot plus the events after it', async (t) => {
  const first = setup();
  for (let i = 0; i < 7; i++) first.runtime.tell('counter:r', { type: 'inc' });
  await first.runtime.passivateAll();
  for (let i = 0; i < 3; i++) first.runtime.tell('counter:r', { type: 'inc' });
  await first.close();
  const second = setup(first.dir);
  t.teardown(second.close);
  t.same(second.store.loadSnapshot('counter:r'), { n: 7, state: { n: 7, fired: [] } }, 'the snapshot holds 7 events');
  t.equal(await get(second.runtime, 'counter:r'), 10, 'the 3 events after it are replayed');
});

t.test('after a restart, a checkpoint keeps the turns of actors nobody has woken yet', async (t) => {
  const first = setup();
  for (let i = 0; i < 4; i++) first.runtime.tell('counter:sleeper', { type: 'inc' });
  await first.runtime.idle();
  // A crash: no checkpoint, so the four turns are only in the log.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-rt-'));
  fs.cpSync(first.dir, dir, { recursive: true });
  fs.rmSync(path.join(dir, 'desk.lmdb-lock'), { force: true });
  await first.close();
  const second = setup(dir);
  t.equal(second.runtime.activeActors(), 0, 'nothing woke the actor at start');
  await second.runtime.checkpoint();
  await second.close();
  const third = setup(dir);
  t.teardown(third.close);
  t.equal(await get(third.runtime, 'counter:sleeper'), 4, 'its turns survive the checkpoint that no longer reads them from the log');
});

t.test('an actor of the log that cannot be loaded holds back the checkpoint, not the server', async (t) => {
  const { runtime, store, close } = setup();
  t.teardown(close);
  // Turns of an actor kind this server does not run (as an older data dir could hold).
  store.appendTurn('ghost:1', 1, 1000, [{ type: 'boo' }], []);
  runtime.tell('counter:alive', { type: 'inc' });
  await runtime.idle();
  await runtime.checkpoint();
  t.equal(store.eventsAfter('ghost:1', 0).length, 1, "the unloadable actor's turns stay in the log");
  t.equal(await get(runtime, 'counter:alive'), 1, 'the server goes on serving');
});

t.test('on a cluster node a turn is released once its partition log has it, and not at all when its partition left', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-rt-'));
  const store = new Store(dir, FsyncMode.None);
  // Two partitions: 'counter:lost' is on 1, whose log this node can no longer write; the rest on 0.
  const partitionOf = (a: string): number => (a === 'counter:lost' ? 1 : 0);
  const placement: Placement = {
    nodeId: 'n1', isLocal: () => true, forward: () => Promise.reject(new Error('one node')), reply() {},
    sessionId: (_conv, uuid) => uuid, remoteSessionPartition: () => undefined, partitionOf,
  };
  const logs = new Map<number, { a: string; n: number; es: unknown[] }[]>();
  const abandoned = new Set<number>();
  let hold: Promise<void> | undefined;
  store.replicateTo({
    partitionOf,
    maxRecordBytes: 1024 * 1024,
    abandoned: () => abandoned,
    async append(p, record) {
      await hold;
      if (p === 1) {
        abandoned.add(1);
        return false;
      }
      const list = logs.get(p) ?? [];
      for (const turn of decodeRecord(plainPackr(), record)) list.push({ a: turn.a, n: turn.n, es: turn.es });
      logs.set(p, list);
      return true;
    },
  });
  const pushed: unknown[] = [];
  const runtime = new Runtime({
    store, clock: new ManualClock(), apps: () => undefined, log: pino({ level: 'silent' }), defs: [counter], placement, passivateAfterMs: 0, checkpointEveryMs: 0,
    outlet: { ...outlet, push: (_to, frame) => { pushed.push(frame.data); } },
  });
  runtime.start();
  t.teardown(async () => {
    await runtime.idle();
    runtime.stop();
    await store.close();
  });

  const first = await runtime.call('counter:a', (replyTo) => ({ type: 'incAndTell', replyTo }));
  t.same({ ok: first.ok, data: first.data }, { ok: true, data: 1 }, 'answered');
  t.same(logs.get(0), [{ a: 'counter:a', n: 1, es: [{ type: 'inc' }] }], "by then the turn is in its partition's log, as the store wrote it");
  t.same(pushed, [{ n: 1 }], 'and its push went out');

  // The log is slow to take the next turn: nothing of it is released before it has.
  let open!: () => void;
  hold = new Promise((r) => { open = r; });
  let answered = false;
  const second = runtime.call('counter:a', (replyTo) => ({ type: 'incAndTell', replyTo })).then((r) => { answered = true; return r; });
  await new Promise((r) => setTimeout(r, 50));
  t.notOk(answered, 'no answer while the log has not taken the turn');
  t.same(pushed, [{ n: 1 }], 'no push either');
  open();
  hold = undefined;
  t.same((await second).data, 2, 'answered once it has');
  t.same(pushed, [{ n: 1 }, { n: 2 }]);

  // In one batch: a turn of the partition that left, then a turn that fails (which commits what came before it in a
  // transaction of its own), then a turn of the other partition.
  const lost = runtime.call('counter:lost', (replyTo) => ({ type: 'incAndTell', replyTo }));
  const boom = runtime.call('counter:b', (replyTo) => ({ type: 'boom', replyTo }));
  const kept = runtime.call('counter:a', (replyTo) => ({ type: 'incAndTell', replyTo }));
  const l = await lost;
  t.same({ ok: l.ok, code: l.code }, { ok: false, code: 141002 }, 'a turn its partition log never took is answered "retry"');
  t.equal((await boom).ok, false);
  t.same((await kept).data, 3, "the other partition's turn of the batch is answered");
  t.same(pushed, [{ n: 1 }, { n: 2 }, { n: 3 }], 'nothing of the turn that was given up is pushed');
  t.equal(logs.has(1), false);
  const read = await runtime.call('counter:lost', (replyTo) => ({ type: 'get', replyTo }));
  t.equal(read.ok, false, "while this node cannot write the partition's log, even a read of it is answered \"retry\"");
  abandoned.clear();
  t.equal((await runtime.call('counter:a', (replyTo) => ({ type: 'get', replyTo }))).data, 3, 'the other partition is answered as before');
});

t.test('a stopped runtime takes no more turns: a message arriving after its store closed is dropped, not written', async (t) => {
  const { runtime, store } = setup();
  runtime.tell('counter:late', { type: 'inc' });
  await runtime.idle();
  runtime.stop();
  await store.close();
  // A socket closing late, a model's last words: with a turn, its commit would fail and stop the process (exit 70).
  runtime.tell('counter:late', { type: 'inc' });
  await new Promise((r) => setTimeout(r, 50));
  t.pass('the process goes on');
});
