/**
 * The turn log as the store's users see it: actor turns and their messages written as one record per transaction,
 * read back by actor (events after a snapshot) and by conversation (messages after a seq) — before and after a
 * checkpoint, after a restart with or without one, with edits of older messages, and with rows an older data dir
 * kept in the `events` and `messages` tables.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { StoredMessage } from '../../actors/types';
import { FsyncMode, plainPackr, Store } from '../../src/store/store';
import { decodeRecord } from '../../src/store/turn-log';

const CONV = 'session:1|acct|u1';
const OTHER = 'session:1|acct|u2';

const msg = (seq: number, text = `m${seq}`): StoredMessage => ({
  sessionId: 's1', seq, msgKey: `${seq}_${seq}_1`, from: 'u1', fromRole: 1, time: 1000 + seq, random: seq, body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: text } }],
});
const added = (seq: number) => ({ type: 'MessageAdded', seq });
const texts = (ms: StoredMessage[]): string[] => ms.map((m) => `${m.seq}:${(m.body[0] as { MsgContent: { Text: string } }).MsgContent.Text}`);

const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'desk-turnlog-'));

function open(dir: string): Store {
  return new Store(dir, FsyncMode.None, { commitIntervalMs: 0 });
}

/** Appends `count` turns to a conversation, one message each, from seq `from`. */
function turns(store: Store, conv: string, from: number, count: number, n0 = from - 1): void {
  for (let i = 0; i < count; i++) store.appendTurn(conv, n0 + i + 1, 5000 + i, [added(from + i)], [msg(from + i)]);
}

t.test('messages and events read back the same before a checkpoint, after it, and after restarts either side of it', async (t) => {
  const dir = tempDir();
  let store = open(dir);
  turns(store, CONV, 1, 30);
  turns(store, OTHER, 1, 5);
  await store.commit();
  turns(store, CONV, 31, 10);
  await store.commit();
  const all = texts(store.messagesAfter(CONV, 0, 1000));
  t.equal(all.length, 40, 'every message of the conversation, from two records');
  t.same(all.slice(0, 3), ['1:m1', '2:m2', '3:m3']);
  t.same(texts(store.messagesAfter(CONV, 35, 3)), ['36:m36', '37:m37', '38:m38'], 'a page after a seq');
  t.same(texts(store.messagesAfter(OTHER, 0, 10)), ['1:m1', '2:m2', '3:m3', '4:m4', '5:m5'], 'conversations apart');
  t.equal(store.eventsAfter(CONV, 38).length, 2, 'events after the 38th turn');

  // A restart with no checkpoint: everything is read again from the log.
  await store.close();
  store = open(dir);
  t.same(texts(store.messagesAfter(CONV, 0, 1000)), all, 'the same messages after a restart without a checkpoint');
  t.same(store.eventsAfter(CONV, 0).map((r) => r.es), Array.from({ length: 40 }, (_, i) => [added(i + 1)]), 'and every event');
  t.equal(store.takeReplayedTurns().length, 45, 'the 45 turns after the (absent) checkpoint are handed out once for projections');
  t.equal(store.takeReplayedTurns().length, 0);

  // A checkpoint: the events held in memory for recovery go (the snapshots written with it hold them).
  store.putSnapshot(CONV, { n: 40, state: 'forty' });
  store.putSnapshot(OTHER, { n: 5, state: 'five' });
  await store.checkpoint();
  t.same(store.eventsAfter(CONV, 0), [], 'no events kept after the checkpoint');
  t.same(texts(store.messagesAfter(CONV, 0, 1000)), all, 'messages now come from the index rows');
  turns(store, CONV, 41, 5);
  await store.commit();
  t.same(texts(store.messagesAfter(CONV, 38, 5)), ['39:m39', '40:m40', '41:m41', '42:m42', '43:m43'], 'rows and recent records together');

  await store.close();
  store = open(dir);
  t.same(store.eventsAfter(CONV, 40).map((r) => r.es), [[added(41)], [added(42)], [added(43)], [added(44)], [added(45)]], 'only the turns after the checkpoint are read again');
  t.equal(store.takeReplayedTurns().length, 5);
  t.equal(store.messagesAfter(CONV, 0, 1000).length, 45, 'all 45 messages after a restart past a checkpoint');
  await store.close();
});

t.test('an edited message reads as its latest text, whether the edit is in memory, in the index or across a restart', async (t) => {
  const dir = tempDir();
  let store = open(dir);
  turns(store, CONV, 1, 10);
  await store.checkpoint();
  store.appendTurn(CONV, 11, 6000, [{ type: 'MessageEdited', seq: 3 }], [msg(3, 'edited once')]);
  await store.commit();
  t.same(texts(store.messagesAfter(CONV, 2, 2)), ['3:edited once', '4:m4'], 'an edit not yet in the index');
  t.same(store.getMessage(CONV, 3)?.body, msg(3, 'edited once').body);
  // New messages and edits of older ones (one next to the new run) in the same checkpoint.
  turns(store, CONV, 11, 3, 11);
  store.appendTurn(CONV, 15, 6001, [{ type: 'MessageEdited', seq: 10 }], [msg(10, 'edited ten')]);
  store.appendTurn(CONV, 16, 6002, [{ type: 'MessageEdited', seq: 3 }], [msg(3, 'edited twice')]);
  await store.checkpoint();
  const expected = ['1:m1', '2:m2', '3:edited twice', '4:m4', '5:m5', '6:m6', '7:m7', '8:m8', '9:m9', '10:edited ten', '11:m11', '12:m12', '13:m13'];
  t.same(texts(store.messagesAfter(CONV, 0, 100)), expected, 'from the index rows');
  // Only the edits of a later checkpoint, none new: the run rows before it must keep their later messages.
  store.appendTurn(CONV, 17, 6003, [{ type: 'MessageEdited', seq: 11 }], [msg(11, 'edited eleven')]);
  await store.checkpoint();
  expected[10] = '11:edited eleven';
  t.same(texts(store.messagesAfter(CONV, 0, 100)), expected, 'an edit-only checkpoint keeps the run it edits');
  for (let after = 0; after < 13; after += 4) t.same(texts(store.messagesAfter(CONV, after, 4)), expected.slice(after, after + 4), `page after ${after}`);
  await store.close();
  store = open(dir);
  t.same(texts(store.messagesAfter(CONV, 0, 100)), expected, 'the same after a restart');
  await store.close();
});

t.test('a turn taken back leaves no event, no message and no record behind', async (t) => {
  const dir = tempDir();
  let store = open(dir);
  turns(store, CONV, 1, 2);
  const mark = store.mark();
  turns(store, CONV, 3, 1);
  store.rollback(mark);
  await store.commit();
  t.equal(store.messagesAfter(CONV, 0, 10).length, 2);
  t.equal(store.eventsAfter(CONV, 0).length, 2);
  let deep: unknown = 1;
  for (let i = 0; i < 20_000; i++) deep = { a: deep };
  t.throws(() => store.appendTurn(CONV, 3, 1, [deep], []), 'a value msgpack cannot encode throws at once');
  await store.close();
  store = open(dir);
  t.equal(store.eventsAfter(CONV, 0).length, 2, 'nothing of it after a restart');
  await store.close();
});

t.test('rows of an older data dir (events and messages tables) are read with the log after them', async (t) => {
  const dir = tempDir();
  let store = open(dir);
  await store.close();
  // Written as a data dir from before the turn log held them.
  const { open: openLmdb } = await import('lmdb');
  const { Packr } = await import('msgpackr');
  const root = openLmdb({ path: path.join(dir, 'desk.lmdb'), maxDbs: 32 });
  const plain = { encoder: new Packr({ useRecords: false, mapsAsObjects: true }) };
  const oldEvents = root.openDB({ name: 'events', ...plain });
  const oldMessages = root.openDB({ name: 'messages', ...plain });
  await root.transaction(() => {
    for (let seq = 1; seq <= 3; seq++) {
      oldEvents.putSync([CONV, seq], { t: seq, es: [added(seq)] });
      oldMessages.putSync([CONV, seq], msg(seq, `old ${seq}`));
    }
  });
  await root.close();
  store = open(dir);
  turns(store, CONV, 4, 2, 3);
  store.appendTurn(CONV, 6, 7000, [{ type: 'MessageEdited', seq: 2 }], [msg(2, 'old 2, edited')]);
  await store.commit();
  t.same(texts(store.messagesAfter(CONV, 0, 10)), ['1:old 1', '2:old 2, edited', '3:old 3', '4:m4', '5:m5'], 'old rows, the log after them, and an edit of an old row');
  t.same(store.eventsAfter(CONV, 1).map((r) => r.es), [[added(2)], [added(3)], [added(4)], [added(5)], [{ type: 'MessageEdited', seq: 2 }]], 'old event records first, then the log');
  t.equal([...store.eventLog()].length, 6, 'the whole event log, old and new, for a statistics rebuild');
  await store.close();
});

t.test('a checkpoint with nothing logged since the last one writes nothing', async (t) => {
  const dir = tempDir();
  const store = new Store(dir, FsyncMode.Always, { commitIntervalMs: 0 });
  const written = (): number => Number(/^write_bytes:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
  turns(store, CONV, 1, 3);
  await store.checkpoint();
  const before = written();
  await store.checkpoint();
  await store.checkpoint();
  t.equal(written() - before, 0, 'two idle checkpoints: no bytes written');
  turns(store, CONV, 4, 1);
  await store.checkpoint();
  t.ok(written() - before > 0, 'one after a turn writes');
  await store.close();
});

t.test('an actor whose turns still wait for their record is among those a checkpoint must snapshot', async (t) => {
  const dir = tempDir();
  const store = open(dir);
  turns(store, CONV, 1, 2);
  await store.commit();
  turns(store, OTHER, 1, 1);
  t.same([...store.actorsSinceCheckpoint()].sort(), [CONV, OTHER].sort(), 'the committed actor and the one still gathering');
  store.putSnapshot(CONV, { n: 2, state: 'two' });
  store.putSnapshot(OTHER, { n: 1, state: 'one' });
  await store.checkpoint();
  t.same([...store.actorsSinceCheckpoint()], [], 'none after the checkpoint committed');
  t.same(texts(store.messagesAfter(OTHER, 0, 10)), ['1:m1'], 'the gathering turn was written with the checkpoint');
  await store.close();
});

t.test('turns with no other writes go to the write-ahead file, and are read from it after a crash', async (t) => {
  const dir = tempDir();
  const wal = path.join(dir, 'turns.0.wal');
  let store = open(dir);
  turns(store, CONV, 1, 3);
  await store.commit();
  store.putMeta('mixed', 1);
  turns(store, CONV, 4, 2, 3);
  await store.commit();
  turns(store, CONV, 6, 2, 5);
  await store.commit();
  t.ok(fs.statSync(wal).size > 0, 'the turn-only transactions were appended to the file');
  t.equal([...store.eventLog()].length, 7, 'the event log holds records of the file and of the table, in order');
  t.same([...store.eventLog()].map((e) => e.n), [1, 2, 3, 4, 5, 6, 7]);

  // A crash: the store is not closed, so nothing is checkpointed or copied.
  const copy = tempDir();
  fs.cpSync(dir, copy, { recursive: true });
  fs.rmSync(path.join(copy, 'desk.lmdb-lock'), { force: true });
  await store.close();
  store = open(copy);
  t.same(texts(store.messagesAfter(CONV, 0, 10)).map((x) => x.split(':')[0]), ['1', '2', '3', '4', '5', '6', '7'], 'every message, whichever way it was written');
  t.equal(store.eventsAfter(CONV, 0).length, 7);
  t.equal(store.takeReplayedTurns().length, 7, 'all seven turns are folded again by projections');

  // After a checkpoint the other file is written; what the first held before is not read again.
  store.putSnapshot(CONV, { n: 7, state: 'seven' });
  await store.checkpoint();
  turns(store, CONV, 8, 1, 7);
  await store.commit();
  await store.close();
  store = open(copy);
  t.same(store.eventsAfter(CONV, 7).map((r) => r.es), [[added(8)]], 'only the turn after the checkpoint is read again');
  t.equal(store.messagesAfter(CONV, 0, 100).length, 8);
  await store.close();
});

/** A data dir whose write-ahead file holds two entries (turns 1–2, then 3) and no checkpoint, as a crash leaves it. */
async function twoEntries(): Promise<{ dir: string; wal: string }> {
  const dir = tempDir();
  const store = open(dir);
  turns(store, CONV, 1, 2);
  await store.commit();
  turns(store, CONV, 3, 1, 2);
  await store.commit();
  await store.close();
  return { dir, wal: path.join(dir, 'turns.0.wal') };
}

t.test('a torn or damaged entry at the end of the write-ahead file ends what is read, and nothing before it is lost', async (t) => {
  const torn = await twoEntries();
  fs.truncateSync(torn.wal, fs.statSync(torn.wal).size - 5);
  let store = open(torn.dir);
  t.same(store.eventsAfter(CONV, 0).map((r) => r.es), [[added(1)], [added(2)]], 'the intact first entry is read, the torn one is not');
  await store.close();

  const damaged = await twoEntries();
  const bytes = fs.readFileSync(damaged.wal);
  bytes[bytes.length - 3] ^= 0xff;
  fs.writeFileSync(damaged.wal, bytes);
  store = open(damaged.dir);
  t.equal(store.eventsAfter(CONV, 0).length, 2, 'a damaged entry (checksum) is not read');
  await store.close();
});

/** A copy of a data dir as a crash would leave it (the store still open). */
function crashCopy(dir: string): string {
  const copy = tempDir();
  fs.cpSync(dir, copy, { recursive: true });
  fs.rmSync(path.join(copy, 'desk.lmdb-lock'), { force: true });
  return copy;
}

t.test('checkpoints run beside the commits of turns: a crash at any point keeps every committed message', async (t) => {
  const dir = tempDir();
  const store = open(dir);
  let seq = 0;
  const copies: { dir: string; committed: number }[] = [];
  for (let round = 0; round < 6; round++) {
    // A checkpoint starts (not awaited); turns go on being committed while it runs, and the dir is copied meanwhile.
    const snapshotAt = seq;
    const cp = store.checkpoint(() => store.putSnapshot(CONV, { n: snapshotAt, state: `at ${snapshotAt}` }));
    for (let i = 0; i < 3; i++) {
      turns(store, CONV, seq + 1, 2, seq);
      seq += 2;
      await store.commit();
      copies.push({ dir: crashCopy(dir), committed: seq });
    }
    await cp;
    copies.push({ dir: crashCopy(dir), committed: seq });
  }
  await store.close();
  t.ok(fs.statSync(path.join(dir, 'turns.0.wal')).size > 0 && fs.statSync(path.join(dir, 'turns.1.wal')).size > 0, 'both write-ahead files were used');
  for (const c of copies) {
    const again = open(c.dir);
    const ms = again.messagesAfter(CONV, 0, 1000);
    const snap = again.loadSnapshot(CONV);
    const events = again.eventsAfter(CONV, snap?.n ?? 0);
    t.equal(ms.length, c.committed, `copy after ${c.committed} committed messages: all of them are read`);
    t.equal((snap?.n ?? 0) + events.length, c.committed, 'and the snapshot plus the turns after it account for every turn');
    await again.close();
  }
});

t.test('after a failed commit nothing more is written: later commits fail instead of landing without it', async (t) => {
  const dir = tempDir();
  const store = open(dir);
  turns(store, CONV, 1, 1);
  await store.commit();
  const wal = path.join(dir, 'turns.0.wal');
  const size = fs.statSync(wal).size;
  // A transaction whose write fails (as a full disk would make it), with turns in it.
  store.write(() => { throw new Error('no space left'); });
  turns(store, CONV, 2, 1, 1);
  await t.rejects(store.commit(), /no space left/);
  turns(store, CONV, 3, 1, 2);
  await t.rejects(store.commit(), /no space left/, 'a later commit fails too');
  await t.rejects(store.checkpoint(), /no space left/, 'and so does a checkpoint');
  t.equal(fs.statSync(wal).size, size, 'the later turns were not appended to the write-ahead file');
});

t.test('an entry left from an earlier pass is not read, even where a new entry of the same length lines it up', async (t) => {
  const { dir, wal } = await twoEntries();
  // A power cut tore the first entry of a sync and kept the second: neither was acknowledged.
  const bytes = fs.readFileSync(wal);
  bytes[20] ^= 0xff;
  fs.writeFileSync(wal, bytes);
  let store = open(dir);
  t.equal(store.eventsAfter(CONV, 0).length, 0, 'nothing intact is read');
  // The restart writes a new first entry of the same length with the same record number.
  turns(store, CONV, 1, 2);
  await store.commit();
  await store.close();
  store = open(dir);
  t.same(store.eventsAfter(CONV, 0).map((r) => r.es), [[added(1)], [added(2)]], "the earlier pass's second entry does not come back");
  await store.close();
});

t.test('a MessageAdded is written as a reference to its message and read back whole: in memory, after a restart, and from a partition log', async (t) => {
  const dir = tempDir();
  let store = open(dir);
  const logged: Buffer[] = [];
  store.replicateTo({ partitionOf: () => 0, maxRecordBytes: 1 << 20, abandoned: () => new Set(), async append(_p, record) { logged.push(record); return true; } });
  // As the session actor makes them: the event repeats the message's fields.
  const real = (seq: number) => {
    const m = msg(seq);
    return { m, e: { type: 'MessageAdded', sessionId: m.sessionId, seq, msgKey: m.msgKey, fromRole: m.fromRole, from: m.from, random: m.random, at: m.time } };
  };
  const one = real(1);
  const two = real(2);
  // Not the message the turn stored (another random), and one with a field of its own: both written as they are.
  const other = { ...real(3).e, random: 99 };
  const extra = { ...real(4).e, note: 'kept' };
  const deadline = { type: 'Deadline', key: 'userReply', at: 7 };
  store.appendTurn(CONV, 1, 5000, [one.e, deadline], [one.m]);
  store.appendTurn(CONV, 2, 5001, [two.e, other, extra], [two.m, msg(3), msg(4)]);
  await store.commit();
  const expected = [[one.e, deadline], [two.e, other, extra]];
  t.same(store.eventsAfter(CONV, 0).map((r) => r.es), expected, 'events read back as made');
  t.same(logged.flatMap((r) => decodeRecord(plainPackr(), r)).map((d) => d.es), expected, 'and from the partition log');
  const times = (key: string): number => logged[0].toString('latin1').split(key).length - 1;
  t.same([times(one.m.msgKey), times(two.m.msgKey), times(msg(3).msgKey), times(msg(4).msgKey)], [1, 1, 2, 2],
    "a message's fields are written once, but for events that differ from it");
  await store.close();
  store = open(dir);
  t.same(store.eventsAfter(CONV, 0).map((r) => r.es), expected, 'and after a restart');
  t.same(store.takeReplayedTurns().map((x) => x.es), expected, 'as the projections fold them again');
  await store.close();
});

t.test("a cluster node's transaction reaches each partition's log as that partition's turns, in order, in records no larger than NATS takes", async (t) => {
  const store = open(tempDir());
  t.teardown(() => store.close());
  const appended = new Map<number, Buffer[]>();
  const partitionOf = (a: string): number => (a === CONV ? 7 : 9);
  store.replicateTo({
    partitionOf,
    maxRecordBytes: 600,
    abandoned: () => new Set(),
    async append(p, record) {
      appended.set(p, [...(appended.get(p) ?? []), record]);
      return true;
    },
  });
  turns(store, CONV, 1, 12);
  turns(store, OTHER, 1, 3);
  await store.commit();
  turns(store, CONV, 13, 2);
  await store.commit();
  const read = (p: number): { a: string; n: number; texts: string[] }[] => (appended.get(p) ?? []).flatMap((r) => decodeRecord(plainPackr(), r).map((d) => ({ a: d.a, n: d.n, texts: texts(d.ms ?? []) })));
  t.same(read(7), Array.from({ length: 14 }, (_, i) => ({ a: CONV, n: i + 1, texts: [`${i + 1}:m${i + 1}`] })), "one partition's log: its turns, in order, once each");
  t.same(read(9), [1, 2, 3].map((i) => ({ a: OTHER, n: i, texts: [`${i}:m${i}`] })), "the other's: its own");
  t.ok(appended.get(7)!.length > 2, `a transaction's share larger than a record is several (${appended.get(7)!.length} records)`);
  t.ok(appended.get(7)!.every((r) => r.length <= 600), 'each at most the largest record the log takes');
});

t.test("a partition's log imported at a takeover: the actors' history, messages and writes as the old owner left them, over what the node kept", async (t) => {
  // The old owner: turns of CONV with their writes, copied to the partition's log.
  const old = open(tempDir());
  t.teardown(() => old.close());
  const log: Buffer[] = [];
  old.replicateTo({ partitionOf: () => 3, maxRecordBytes: 1 << 20, abandoned: () => new Set(), async append(_p, r) { log.push(r); return true; } });
  old.appendTurn(CONV, 1, 1000, [added(1)], [msg(1, 'hello')], [['a', 1, 'u1', 'acct', 's1'], ['r', 1, 's1', { ClientUserId: 'u1' }, 1000], ['t', 'robotIdle', 9000]]);
  await old.commit();
  old.appendTurn(CONV, 2, 2000, [added(2)], [msg(2, 'world')], [['t', 'robotIdle', null], ['t', 'userReply', 12_000]]);
  await old.commit();

  // The new owner kept an older, different state of CONV (it held the partition before): a snapshot, turns, rows.
  const dir = tempDir();
  let node = open(dir);
  const copied: Buffer[] = [];
  node.replicateTo({ partitionOf: () => 3, maxRecordBytes: 1 << 20, abandoned: () => new Set(), async append(_p, r) { copied.push(r); return true; } });
  node.appendTurn(CONV, 1, 500, [added(1)], [msg(1, 'stale one')], [['t', 'accept', 7000], ['a', 1, 'u1', 'acct', 'stale']]);
  await node.checkpoint(() => node.putSnapshot(CONV, { n: 1, state: 'stale' }));
  node.appendTurn(CONV, 2, 600, [added(2)], [msg(2, 'stale two')]);
  node.appendTurn(CONV, 3, 700, [added(3)], [msg(3, 'stale three')]);
  await node.commit();
  copied.length = 0;

  node.resetActors((a) => a === CONV);
  t.equal(node.importRecords(log), 2, 'both turns of the log imported');
  await node.commit();
  t.equal(node.loadSnapshot(CONV), undefined, "the node's own snapshot is gone");
  t.same(node.eventsAfter(CONV, 0).map((r) => r.es), [[added(1)], [added(2)]], "the actor's history is the log's");
  t.same(texts(node.messagesAfter(CONV, 0, 10)), ['1:hello', '2:world'], "its messages are the log's");
  t.same(node.allTimers(), [{ a: CONV, key: 'userReply', at: 12_000 }], "its wake-ups are the log's: one set, one set and cleared; the node's own gone");
  t.same(node.activeSessionsOf(1, 'u1'), [{ csAccount: 'acct', sessionId: 's1' }], 'its session going');
  t.match(node.lookupSession('s1'), { conv: CONV, app: 1, csAccount: 'acct', userId: 'u1' }, 'found by session id');
  t.equal(node.lookupSession('stale'), undefined, 'the session id only the node knew is gone');
  t.same(node.recordsBetween(1, 0, 10).page(0, 10), [{ ClientUserId: 'u1' }], 'its service record');
  t.same(copied, [], 'imported turns are not copied back to the log');

  // A restart before the checkpoint that follows an import (the runtime writes one at once): the node's own turns
  // after its last checkpoint are read again, and the import, later, is the actor's history from its turn 1 on.
  await node.close();
  node = open(dir);
  t.same(node.eventsAfter(CONV, 0).map((r) => r.es), [[added(1)], [added(2)]], 'after a restart, the later record (the import) is the history, over own turns numbered from 2');
  t.same(node.takeReplayedTurns().map((x) => x.es), [[added(2)], [added(3)]], "only the node's own turns are folded again by its statistics: another node counted the imported ones");
  t.same([...node.eventLog()].map((e) => e.record.t), [500, 600, 700], 'and by a statistics rebuild');

  // The takeover as a restarted node makes it (its state of the partition unknown): over what it kept, then a
  // checkpoint; after a restart nothing of its own older turns comes back.
  node.resetActors((a) => a === CONV);
  node.importRecords(log);
  await node.commit();
  await node.checkpoint(() => node.putSnapshot(CONV, { n: 2, state: 'imported' }));
  await node.close();
  node = open(dir);
  t.same(texts(node.messagesAfter(CONV, 0, 10)), ['1:hello', '2:world'], "after the checkpoint and a restart, the messages are the log's alone");
  t.same(node.loadSnapshot(CONV), { n: 2, state: 'imported' });
  t.same(node.eventsAfter(CONV, 2), []);

  // Brought up to date later (the node held the partition since the log's last record it has): turns follow on.
  old.appendTurn(CONV, 3, 3000, [added(3)], [msg(3, 'again')]);
  await old.commit();
  node.importRecords(log.slice(2));
  await node.commit();
  t.same(node.eventsAfter(CONV, 2).map((r) => r.es), [[added(3)]], 'the next turn follows the imported ones');
  t.same(texts(node.messagesAfter(CONV, 0, 10)), ['1:hello', '2:world', '3:again']);
  await node.close();
});
