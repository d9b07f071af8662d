/**
 * The session history's keyword search reads transcripts through `Transcripts` (in a cluster, reads at other nodes
 * that answer in any order): the sessions found come in start order all the same, a few searched at once, and a read
 * that fails fails the search instead of leaving sessions out.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { sessionAddress } from '../../actors/address';
import type { SessionFacts } from '../../src/stats/facts';
import { sessions, type Transcripts } from '../../src/stats/history';
import { StatsProjection } from '../../src/stats/projection';
import { FsyncMode, Store } from '../../src/store/store';

const APP = 1400000000;
const CS = 'cs';
const N = 40;

async function history(t: { teardown(fn: () => void): void }): Promise<StatsProjection> {
  const store = new Store(fs.mkdtempSync(path.join(os.tmpdir(), 'desk-search-')), FsyncMode.None);
  t.teardown(() => store.close());
  const stats = new StatsProjection(store);
  for (let i = 0; i < N; i++) {
    const sessionId = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    stats.apply(sessionAddress(APP, CS, `u${i}`), [
      { type: 'SessionBegin', sessionId, at: 1000 + i, groupId: 1 },
      { type: 'MessageAdded', sessionId, seq: 1, msgKey: `k${i}`, fromRole: 1, from: `u${i}`, random: i, at: 1000 + i },
    ], 1);
  }
  await store.commit();
  return stats;
}

/** Sessions whose user number is even mention the word; each answer comes later the earlier the session started. */
function slowTranscripts(fail?: number): Transcripts & { inFlight: number; most: number } {
  const x = {
    inFlight: 0,
    most: 0,
    messages: () => { throw new Error('not read here'); },
    mentions: async (f: SessionFacts) => {
      x.inFlight++;
      x.most = Math.max(x.most, x.inFlight);
      const i = Number(f.userId.slice(1));
      await new Promise((r) => setTimeout(r, (N - i) % 7));
      x.inFlight--;
      if (i === fail) throw new Error('the node that holds it did not answer');
      return i % 2 === 0;
    },
  };
  return x;
}

const filter = { from: 0, to: 10_000, keyword: 'word' };

t.test('sessions found by a keyword come in start order, a few searched at once', async (t) => {
  const stats = await history(t);
  const transcripts = slowTranscripts();
  const found: string[] = [];
  let misses = 0;
  for await (const f of sessions(stats, transcripts, APP, filter)) {
    if (f) found.push(f.userId);
    else misses++;
  }
  t.same(found, Array.from({ length: N / 2 }, (_, k) => `u${2 * k}`), 'every even user, oldest first');
  t.equal(misses, N / 2, 'a step for each session searched without a match');
  t.ok(transcripts.most > 1 && transcripts.most <= 16, `searched several at once, at most 16 (${transcripts.most})`);
});

t.test('a transcript that cannot be read fails the search', async (t) => {
  const stats = await history(t);
  const found: string[] = [];
  await t.rejects(async () => {
    for await (const f of sessions(stats, slowTranscripts(25), APP, filter)) if (f) found.push(f.userId);
  }, /did not answer/);
  t.ok(found.every((u) => Number(u.slice(1)) < 25), 'nothing after the failed one was given out');
});

t.test('without a keyword no transcript is read', async (t) => {
  const stats = await history(t);
  const none: Transcripts = { messages: () => { throw new Error('read'); }, mentions: () => { throw new Error('read'); } };
  let count = 0;
  for await (const f of sessions(stats, none, APP, { from: 0, to: 10_000 })) if (f) count++;
  t.equal(count, N);
});
