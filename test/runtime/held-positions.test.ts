/**
 * Where a cluster node's state of partitions stands in their logs, kept across restarts: a checkpoint stores the
 * positions its replicator gives once the covered turns are in the logs, and a node started again on its data takes
 * back those of the partitions with no turn after the checkpoint (own or imported: their state here may differ from
 * the log at that position), so it reads only what follows in the others. The replicator gives no position for a
 * partition being claimed or diverged, takes none stored of a stream made anew, and never moves one back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { LogReplicator } from '../../src/cluster/log-replicator';
import type { PartitionLogs, PartitionWriter } from '../../src/cluster/partition-log';
import { FsyncMode, Store, type HeldPositions, type TurnReplicator } from '../../src/store/store';

const A = 'session:1|acct|a';
const B = 'session:1|acct|b';
const partitionOf = (a: string): number => (a === A ? 1 : 2);
const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'desk-held-'));
const open = (dir: string): Store => new Store(dir, FsyncMode.None, { commitIntervalMs: 0 });

/** A replicator that copies nothing and says the positions it is given; `restored` is what a start gave back. */
function replicator(positions: () => HeldPositions) {
  const restored: HeldPositions[] = [];
  const r: TurnReplicator = {
    partitionOf, maxRecordBytes: 1 << 20, abandoned: () => new Set(), append: async () => true,
    held: positions, restoreHeld: (h) => restored.push(h),
  };
  return { r, restored };
}

const turn = (store: Store, a: string, n: number): void => store.appendTurn(a, n, 1000 + n, [{ type: 'Noted', n }], []);

t.test('a restart takes back the positions of the partitions with no turn since the checkpoint that stored them', async (t) => {
  const dir = tempDir();
  let store = open(dir);
  store.replicateTo(replicator(() => ({ created: 'c1', through: [[1, 10], [2, 20]] })).r);
  turn(store, A, 1);
  turn(store, B, 1);
  await store.checkpoint();
  await store.close();

  store = open(dir);
  let started = replicator(() => ({ created: 'c1', through: [] }));
  store.replicateTo(started.r);
  t.same(started.restored, [{ created: 'c1', through: [[1, 10], [2, 20]] }], 'a clean stop: every position');
  // A turn of A after the checkpoint, then a crash (no checkpoint).
  turn(store, A, 2);
  await store.commit();
  await store.close();

  store = open(dir);
  started = replicator(() => ({ created: 'c1', through: [] }));
  store.replicateTo(started.r);
  t.same(started.restored, [{ created: 'c1', through: [[2, 20]] }], "A's partition changed after the checkpoint: its position is not taken back");
  await store.commit();
  await store.close();

  store = open(dir);
  started = replicator(() => ({ created: 'c1', through: [] }));
  store.replicateTo(started.r);
  t.same(started.restored, [{ created: 'c1', through: [[2, 20]] }], 'nor at a later start (the positions left out are left out of the store too)');
  await store.close();
});

t.test('a partition whose kept state is dropped (to be imported whole) loses its stored position at once', async (t) => {
  const dir = tempDir();
  let store = open(dir);
  store.replicateTo(replicator(() => ({ created: 'c1', through: [[1, 10], [2, 20]] })).r);
  turn(store, A, 1);
  await store.checkpoint();
  store.forgetHeld(new Set([1]));
  await store.commit();
  await store.close();
  store = open(dir);
  const started = replicator(() => ({ created: 'c1', through: [] }));
  store.replicateTo(started.r);
  t.same(started.restored, [{ created: 'c1', through: [[2, 20]] }], 'a crash before the next checkpoint does not take it back');
  await store.close();
});

t.test('imported turns after the checkpoint count as changes too', async (t) => {
  const dir = tempDir();
  let store = open(dir);
  store.replicateTo(replicator(() => ({ created: 'c1', through: [[1, 10], [2, 20]] })).r);
  turn(store, A, 1);
  await store.checkpoint();
  // B's turn as another node wrote it to its partition's log.
  const other = open(tempDir());
  t.teardown(() => other.close());
  const log: Buffer[] = [];
  other.replicateTo({ partitionOf, maxRecordBytes: 1 << 20, abandoned: () => new Set(), async append(_p, r) { log.push(r); return true; } });
  turn(other, B, 1);
  await other.commit();
  store.importRecords(log);
  await store.commit();
  await store.close();
  store = open(dir);
  const started = replicator(() => ({ created: 'c1', through: [] }));
  store.replicateTo(started.r);
  t.same(started.restored, [{ created: 'c1', through: [[1, 10]] }]);
  await store.close();
});

t.test('the positions are asked for once the covered turns are in the logs', async (t) => {
  const store = open(tempDir());
  t.teardown(() => store.close());
  let appended = 0;
  let appendedWhenAsked = -1;
  store.replicateTo({
    partitionOf, maxRecordBytes: 1 << 20, abandoned: () => new Set(),
    append: async () => {
      await new Promise((r) => setTimeout(r, 20));
      appended++;
      return true;
    },
    held: () => {
      appendedWhenAsked = appended;
      return { created: 'c1', through: [] };
    },
  });
  turn(store, A, 1);
  turn(store, B, 1);
  await store.checkpoint();
  t.equal(appendedWhenAsked, 2, "both partitions' records were in their logs");
});

/** A LogReplicator over logs whose claims land at once (`before`: the last sequence before the claim). */
function logReplicator(created = 'c1') {
  const writer = { before: 30, append: async () => 31 } as unknown as PartitionWriter;
  const logs = { created, stream: 'DESK_LOG', claim: async () => writer } as unknown as PartitionLogs;
  return new LogReplicator({ logs, nodeId: 'n', owns: () => true, partitionOf, log: pino({ level: 'silent' }), maxPayload: 1 << 20 });
}

t.test("the replicator's positions: none for a partition being claimed; those stored of another stream are not taken", async (t) => {
  const r = logReplicator();
  r.restoreHeld({ created: 'c1', through: [[1, 10], [2, 20]] });
  t.same([r.knownThrough(1), r.knownThrough(2)], [10, 20], 'taken back');
  t.same(await r.claim(1), { after: 10, through: 30, fresh: false }, 'a claim reads only what follows');
  t.same(r.held().through, [[2, 20]], 'while claimed, 1 has no position (its state is on its way from 10 to 30)');
  r.caughtUp(1, 30);
  t.same(r.held().through.sort(), [[1, 30], [2, 20]], 'brought up to date: it has');
  await r.claim(2);
  r.forget(2);
  t.same(r.held().through, [[1, 30]], 'one whose import failed has none');

  r.caughtUp(1, 40);
  t.equal(await r.append(1, Buffer.from('late')), true);
  t.equal(r.knownThrough(1), 40, 'an answer naming an earlier position (an append asked again) does not move it back');

  const other = logReplicator('c2');
  other.restoreHeld({ created: 'c1', through: [[1, 10]] });
  t.equal(other.knownThrough(1), undefined, 'positions in a stream made anew mean nothing');
});
