/**
 * A cluster node's runtime taking a partition over from its log (Runtime.takeOver): the partition's actors go on
 * from the log's state, whatever the node had in memory or on disk, and whatever read them while the import was
 * being committed (a metrics scrape, a REST read).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { counter } from '../helpers/counter-actor';
import { ManualClock } from '../../src/runtime/clock';
import { Runtime, type Outlet, type PartitionImport, type Placement } from '../../src/runtime/runtime';
import { FsyncMode, Store } from '../../src/store/store';

const outlet: Outlet = { push() {}, reply() {}, beginBatch() {}, endBatch() {} };
const placement: Placement = {
  nodeId: 'n1', isLocal: () => true, forward: () => Promise.reject(new Error('one node')), reply() {},
  sessionId: (_conv, uuid) => uuid, remoteSessionPartition: () => undefined, partitionOf: () => 0,
};
const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'desk-takeover-'));

function node(dir: string, commitIntervalMs?: number) {
  const store = new Store(dir, FsyncMode.None, { commitIntervalMs });
  const runtime = new Runtime({ store, clock: new ManualClock(), apps: () => undefined, log: pino({ level: 'silent' }), outlet, defs: [counter], placement, passivateAfterMs: 0, checkpointEveryMs: 0 });
  runtime.start();
  const close = async (): Promise<void> => {
    await runtime.idle();
    runtime.stop();
    await store.close();
  };
  return { store, runtime, close };
}

/** The partition's log as another node wrote it: `count` incs of `actor`, numbered from `from`, one record each. */
async function logOf(actor: string, from: number, count: number): Promise<Buffer[]> {
  const other = new Store(tempDir(), FsyncMode.None, { commitIntervalMs: 0 });
  const log: Buffer[] = [];
  other.replicateTo({ partitionOf: () => 0, maxRecordBytes: 1 << 20, abandoned: () => new Set(), async append(_p, r) { log.push(r); return true; } });
  for (let n = from; n < from + count; n++) {
    other.appendTurn(actor, n, 1000 + n, [{ type: 'inc' }], []);
    await other.commit();
  }
  await other.close();
  return log;
}

const get = async (runtime: Runtime, a: string): Promise<unknown> => (await runtime.call(a, (replyTo) => ({ type: 'get', replyTo }))).data;

/** Takes partition 0 over from `records`; the actor is read (as a scrape would) while the import is being committed. */
function takeOverWhileRead(runtime: Runtime, actor: string, part: Omit<PartitionImport, 'partition'>): Promise<number> {
  return runtime.takeOver(async () => {
    setImmediate(() => runtime.peek(actor));
    return [{ partition: 0, ...part }];
  });
}

t.test('a partition taken over whole: its actor goes on from the log, though read meanwhile, and after a restart', async (t) => {
  const dir = tempDir();
  let n = node(dir);
  // What the node kept of the actor from when it held the partition before: 5 turns, a snapshot of them.
  for (let i = 0; i < 5; i++) n.runtime.tell('counter:q', { type: 'inc' });
  await n.runtime.idle();
  await n.runtime.checkpoint();
  t.equal(await get(n.runtime, 'counter:q'), 5);

  // The log: the same number of turns, of another history (the node's own were never in it).
  t.equal(await takeOverWhileRead(n.runtime, 'counter:q', { records: await logOf('counter:q', 1, 4), fresh: true }), 4, 'the four turns of the log imported');
  t.equal(await get(n.runtime, 'counter:q'), 4, "the actor's state is the log's");
  n.runtime.tell('counter:q', { type: 'inc' });
  t.equal(await get(n.runtime, 'counter:q'), 5, 'and its next turn follows it');
  await n.close();

  n = node(dir);
  t.teardown(n.close);
  t.equal(await get(n.runtime, 'counter:q'), 5, 'the same after a restart');
});

t.test('a partition brought up to date: the turns of the log after the ones the node made follow them, though read meanwhile', async (t) => {
  // Commits 100 ms apart: the import's waits for its turn, and the actor is read before it is sealed.
  const n = node(tempDir(), 100);
  t.teardown(n.close);
  for (let i = 0; i < 3; i++) n.runtime.tell('counter:q', { type: 'inc' });
  await n.runtime.idle();
  await n.runtime.checkpoint();
  n.runtime.tell('counter:q', { type: 'inc' });
  await n.runtime.idle();

  t.equal(await takeOverWhileRead(n.runtime, 'counter:q', { records: await logOf('counter:q', 5, 2), fresh: false }), 2);
  t.equal(await get(n.runtime, 'counter:q'), 6, "the node's four turns, then the log's two");
  await n.runtime.checkpoint();
  await n.runtime.passivateAll();
  t.equal(await get(n.runtime, 'counter:q'), 6, 'the same once it left memory and came back from the store');
});
