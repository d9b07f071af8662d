/**
 * The partition-log check (src/cluster/log-check.ts) against a real nats-server: it finds a turn missing, a turn
 * written twice and a turn in the wrong partition's log, and counts apart an actor that started again after its
 * partition was claimed by another node.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { checkPartitionLogs } from '../../src/cluster/log-check';
import { PartitionLogs } from '../../src/cluster/partition-log';
import { FsyncMode, Store } from '../../src/store/store';
import { natsForTests } from '../helpers/nats';

const nats = natsForTests(t);

/** An actor's partition is the number its name ends with. */
const partitionOf = (a: string): number => Number(a.split('-').pop());

/** The records a cluster node's store would append for `count` turns of `actor`, one transaction each. */
async function records(actor: string, count: number): Promise<Buffer[]> {
  const store = new Store(fs.mkdtempSync(path.join(os.tmpdir(), 'desk-logcheck-')), FsyncMode.None, { commitIntervalMs: 0 });
  const out: Buffer[] = [];
  store.replicateTo({
    partitionOf: () => 0, maxRecordBytes: 1024 * 1024, abandoned: () => new Set(),
    async append(_p, record) {
      out.push(record);
      return true;
    },
  });
  for (let n = 1; n <= count; n++) {
    store.appendTurn(actor, n, 1000 + n, [{ type: 'inc' }], []);
    await store.commit();
  }
  await store.close();
  return out;
}

t.test('the check finds gaps, repeats and misplaced turns, and counts restarts after a claim apart', async (t) => {
  const logs = await PartitionLogs.open(await nats.connect());
  const write = async (p: number, list: Buffer[]): Promise<void> => {
    const w = await logs.claim(p, 'node-a');
    for (const r of list) await w.append(r);
  };
  const check = () => checkPartitionLogs(logs, 6, partitionOf);

  const whole = await records('counter:whole-0', 4);
  await write(0, whole);
  t.same(await check(), { records: 4, turns: 4, actors: 1, restarts: 0, problems: [], restarted: [] }, "an actor's turns in order: nothing found");

  const gap = await records('counter:gap-1', 4);
  await write(1, [gap[0], gap[1], gap[3]]);
  const repeat = await records('counter:repeat-2', 3);
  await write(2, [repeat[0], repeat[1], repeat[1], repeat[2]]);
  const misplaced = await records('counter:misplaced-4', 1);
  await write(3, misplaced);
  // Where each problem is (the stream sequence) is left out of the comparison.
  const found = async (): Promise<string[]> => (await check()).problems.map((p) => p.replace(/record \d+ of /, 'record of '));
  t.same(await found(), [
    'counter:gap-1: turn 4 after turn 2 (record of partition 1)',
    'counter:repeat-2: turn 2 after turn 2 (record of partition 2)',
    'record of partition 3 holds a turn of counter:misplaced-4, of partition 4',
  ], 'a missing turn, a repeated one and one in the wrong log are each found, once');

  // Another node claims partition 5 and starts its actor again from nothing (a partition moving without its state).
  const moved = await records('counter:moved-5', 2);
  await write(5, moved);
  const w = await logs.claim(5, 'node-b');
  for (const r of await records('counter:moved-5', 2)) await w.append(r);
  const after = await check();
  t.equal(after.restarts, 1, 'an actor numbered again after a claim is counted as a restart');
  t.equal(after.problems.length, 3, 'not as a problem');
});
