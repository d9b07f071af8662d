/**
 * A cluster node's statistics fold the partition logs (LogFollower): the same traffic gives the same tables as one
 * node's live projection, also when the node stopped without writing what it had folded since its last flush and
 * follows on from the position written with its facts (nothing folded twice, nothing left out).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { LogFollower } from '../../src/cluster/log-follower';
import { StatsProjection } from '../../src/stats/projection';
import { compare } from '../../src/stats/rebuild';
import { FsyncMode, Store, type ChatGroupEntry } from '../../src/store/store';
import { Sim } from '../helpers/sim';

const A = 'alice@desk.test';
const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'desk-follow-'));

/** Two conversations with alice, at once, one ended and rated; every turn with events, numbered per actor. */
function traffic(): { to: string; n: number; at: number; events: unknown[] }[] {
  const sim = new Sim({ session: { satisfaction: { invitationMethod: 1 } } });
  sim.connect(A);
  for (const u of ['u1', 'u2']) {
    sim.enter(u);
    sim.advance(5000); sim.say(u, '人工');
  }
  // Both sessions' messages run through the log: a stop anywhere cuts a session in two.
  for (let round = 1; round <= 4; round++) {
    for (const u of ['u1', 'u2']) {
      sim.advance(5000); sim.say(u, `${u} asks ${round}`);
      sim.advance(10_000); sim.agentSay(A, u, `answer ${round}`);
    }
  }
  const sessionId = sim.sid('u1');
  sim.advance(5000); sim.act(A, 'u1', 'end');
  sim.advance(5000); sim.src('u1', '10', { menuSelected: { id: '104', sessionId } });
  const turns = new Map<string, number>();
  return sim.trace.filter((s) => s.events.length > 0).map((s) => {
    const n = (turns.get(s.to) ?? 0) + 1;
    turns.set(s.to, n);
    return { to: s.to, n, at: s.at, events: s.events };
  });
}

/** The turns as partition-log records, three turns each. */
async function records(turns: ReturnType<typeof traffic>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const writer = new Store(tempDir(), FsyncMode.None, { commitIntervalMs: 0 });
  writer.replicateTo({ partitionOf: () => 0, maxRecordBytes: 1 << 20, abandoned: () => new Set(), async append(_p, r) { out.push(r); return true; } });
  for (let i = 0; i < turns.length; i++) {
    writer.appendTurn(turns[i].to, turns[i].n, turns[i].at, turns[i].events, []);
    if (i % 3 === 2 || i === turns.length - 1) await writer.commit();
  }
  await writer.close();
  return out;
}

/** Partition logs whose stream holds the first records of `log` (stream sequence = index + 1), `grow(n)` making it n. */
function logsOf(log: Buffer[]) {
  let available = 0;
  const wakers = new Set<() => void>();
  const logs = {
    created: '2026-12-05T00:00:00Z',
    /** Records handed out. */
    read: 0,
    grow(n: number): void {
      available = n;
      for (const w of wakers) w();
      wakers.clear();
    },
    async follow(after: number) {
      let stopped = false;
      let wake: (() => void) | undefined;
      return {
        records: (async function* () {
          for (let seq = after + 1; !stopped;) {
            if (seq <= available) yield { seq, partition: 0, prev: seq - 1, record: log[seq - 1] as Uint8Array }, seq++, logs.read++;
            else await new Promise<void>((r) => { wake = r; wakers.add(r); });
          }
        })(),
        async stop() { stopped = true; wake?.(); },
      };
    },
  };
  return logs;
}

t.test("the logs folded give one node's statistics, across a stop that lost what was folded since the last flush", async (t) => {
  const turns = traffic();
  const log = await records(turns);
  t.ok(log.length >= 6, `${turns.length} turns in ${log.length} records`);

  // One node, projecting live.
  const single = new Store(tempDir(), FsyncMode.None);
  t.teardown(() => single.close());
  const live = new StatsProjection(single);
  for (const x of turns) live.apply(x.to, x.events, x.n);
  live.flush();
  await single.commit();

  // A cluster node follows half the log, writes its facts, follows on, and stops before it writes again; a
  // checkpoint of its store meanwhile writes no facts of its own.
  const dir = tempDir();
  let store = new Store(dir, FsyncMode.None);
  let follower = new LogFollower(store, new StatsProjection(store), pino({ level: 'silent' }), 60_000);
  // What the node stopped without writing stays unwritten: its follow is left waiting (it is not stopped).
  const before = logsOf(log);
  follower.start(before);
  before.grow(Math.floor(log.length / 2));
  await follower.reached(Math.floor(log.length / 2));
  await follower.flush();
  before.grow(log.length - 1);
  await follower.reached(log.length - 1);
  store.appendTurn('queue:1:0', 1, 1, [{ type: 'x' }], []);
  await store.checkpoint();
  await store.close();

  // Started again: on from the position written with the facts, to the end of the log.
  store = new Store(dir, FsyncMode.None);
  t.teardown(() => store.close());
  const stats = new StatsProjection(store);
  follower = new LogFollower(store, stats, pino({ level: 'silent' }), 60_000);
  const after = logsOf(log);
  after.grow(log.length);
  follower.start(after);
  await follower.reached(log.length);
  await follower.stop();
  t.equal(follower.folded, log.length, 'every record folded');
  t.equal(after.read, log.length - Math.floor(log.length / 2), 'those after the position written with the facts, only');
  t.same(compare(live.tables, stats.tables).filter((d) => d.differences > 0), [], "the follower's tables are the single node's, row for row");
  t.ok([...stats.tables.sessions.getRange()].length === 2 && [...stats.tables.status.getRange()].length > 0, 'with both sessions and alice\'s statuses in them');
});

t.test('a node stops though the follow never started (JetStream never answered)', async (t) => {
  const store = new Store(tempDir(), FsyncMode.None);
  t.teardown(() => store.close());
  const follower = new LogFollower(store, new StatsProjection(store), pino({ level: 'silent' }));
  follower.start({ created: '2026-12-05T00:00:00Z', follow: () => new Promise(() => undefined) });
  await follower.stop();
  t.equal(follower.folded, 0, 'stopped, nothing folded');
});

t.test('logs made anew (an empty JetStream) are folded from their start, over the facts already held', async (t) => {
  const turns = traffic();
  const log = await records(turns);
  const dir = tempDir();
  let store = new Store(dir, FsyncMode.None);
  let follower = new LogFollower(store, new StatsProjection(store), pino({ level: 'silent' }), 60_000);
  const first = logsOf(log);
  first.grow(log.length);
  follower.start(first);
  await follower.reached(log.length);
  await follower.stop();
  await store.close();

  // The same records in a stream made anew: numbered from 1 again, though the position written is past them.
  store = new Store(dir, FsyncMode.None);
  t.teardown(() => store.close());
  follower = new LogFollower(store, new StatsProjection(store), pino({ level: 'silent' }), 60_000);
  const again = Object.assign(logsOf(log.slice(0, 2)), { created: '2026-12-06T00:00:00Z' });
  again.grow(2);
  follower.start(again);
  await follower.reached(2);
  await follower.stop();
  t.equal(again.read, 2, 'its records are read from the first');
});

t.test("the group chats' entries are folded too, with the statistics off: a group made on one node is known on every node", async (t) => {
  const out: Buffer[] = [];
  const writer = new Store(tempDir(), FsyncMode.None, { commitIntervalMs: 0 });
  writer.replicateTo({ partitionOf: () => 0, maxRecordBytes: 1 << 20, abandoned: () => new Set(), async append(_p, r) { out.push(r); return true; } });
  const conv = 'session:1400000001|cs|group|g1|G';
  const entry = { csAccount: 'cs', group: { id: 'G', generation: 'g1', name: 'a group', type: 'Public', owner: 'u1', members: ['u1', 'u2'], createdAt: 1 } } as unknown as ChatGroupEntry;
  writer.appendTurn(conv, 1, 1, [], [], [['g', 1400000001, 'G', entry]]);
  await writer.commit();
  writer.appendTurn(conv, 2, 2, [], [], [['g', 1400000001, 'G', null]]);
  await writer.commit();
  await writer.close();

  const dir = tempDir();
  let store = new Store(dir, FsyncMode.None);
  let follower = new LogFollower(store, undefined, pino({ level: 'silent' }), 60_000);
  const logs = logsOf(out);
  logs.grow(1);
  follower.start(logs);
  await follower.reached(1);
  await follower.stop();
  await store.close();
  store = new Store(dir, FsyncMode.None);
  t.teardown(() => store.close());
  t.same(store.chatGroup(1400000001, 'G'), entry, 'the group is known, also after a restart');
  follower = new LogFollower(store, undefined, pino({ level: 'silent' }), 60_000);
  logs.grow(2);
  follower.start(logs);
  await follower.reached(2);
  await follower.stop();
  t.equal(store.chatGroup(1400000001, 'G'), undefined, 'and gone once dismissed');
});

t.test('an unanswered question folded again (a restart before the position was written) is the same row', async (t) => {
  const out: Buffer[] = [];
  const writer = new Store(tempDir(), FsyncMode.None, { commitIntervalMs: 0 });
  writer.replicateTo({ partitionOf: () => 0, maxRecordBytes: 1 << 20, abandoned: () => new Set(), async append(_p, r) { out.push(r); return true; } });
  const asked = { question: '火星上能送货吗', language: '', sessionId: 's1', at: 5 };
  writer.appendTurn('session:1400000001|cs|u1', 1, 5, [], [], [['u', 1400000001, '@RBT#1', asked]]);
  await writer.commit();
  await writer.close();

  const rows = new Map<number, unknown>();
  // A row without a number given gets the next one, as KnowledgeBase numbers them.
  const knowledge = { recordUnanswered: (_app: number, _robot: string, u: unknown, n?: number) => { rows.set(n ?? -(rows.size + 1), u); } };
  const store = new Store(tempDir(), FsyncMode.None);
  t.teardown(() => store.close());
  for (let run = 0; run < 2; run++) {
    // The flush is never reached: the second run folds the record again.
    const follower = new LogFollower(store, undefined, pino({ level: 'silent' }), 60_000, knowledge);
    const logs = logsOf(out);
    logs.grow(1);
    follower.start(logs);
    await follower.reached(1);
    await new Promise((r) => setImmediate(r));
    (follower as unknown as { flush: () => Promise<void> }).flush = async () => undefined;
    await follower.stop();
  }
  t.equal(rows.size, 1, 'one row, however often it is folded');
  t.same([...rows.values()], [asked]);
});
