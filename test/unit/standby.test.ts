/**
 * Keeping the partitions next in line current from their logs: a record is taken in only when it follows what the
 * node holds; a gap, or nothing held, is read from the log first; the node's own records, partitions it owns and
 * partitions it is not next in line for are left alone; a failed import leaves the partition unknown.
 */
import pino from 'pino';
import t from 'tap';
import type { FollowedRecord } from '../../src/cluster/partition-log';
import { READ_STRETCH, StandbyPartitions } from '../../src/cluster/standby';
import type { PartitionImport } from '../../src/runtime/runtime';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

function setup(o: { follows?: (p: number) => boolean; owns?: (p: number) => boolean; failKeep?: boolean; failOn?: string; keepMs?: number } = {}) {
  const known = new Map<number, number>();
  /** Each partition's log: stream sequence → record text ('' for a claim marker), and its writer. */
  const logs = new Map<number, [number, string, string?][]>();
  const imports: PartitionImport[][] = [];
  const reads: [number, number][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const standby = new StandbyPartitions({
    owns: o.owns ?? (() => false),
    follows: o.follows ?? (() => true),
    replicator: {
      knownThrough: (p) => known.get(p),
      caughtUp: (p, seq) => { known.set(p, seq); },
      forget: (p) => { known.delete(p); },
      abandoned: () => new Set<number>(),
      wrote: (id) => id?.startsWith('me/') ?? false,
    },
    logs: {
      recordsOf: async (p: number, after: number, through = Number.MAX_SAFE_INTEGER, skip?: (writer: string | undefined) => boolean) => {
        reads.push([p, after]);
        const end = logs.get(p)?.at(-1)?.[0] ?? 0;
        const log = (logs.get(p) ?? []).filter(([seq]) => seq > after && seq <= through);
        return { records: log.filter(([, text, writer]) => text !== '' && !skip?.(writer)).map(([, text]) => Buffer.from(text)), last: end > through ? through : log.at(-1)?.[0] ?? after };
      },
      lastSequence: async (p: number) => logs.get(p)?.at(-1)?.[0] ?? 0,
    },
    keep: async (parts) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, o.keepMs ?? 0));
      inFlight--;
      const taken = parts();
      if (taken.length > 0) imports.push(taken);
      if (o.failKeep || taken.some((x) => x.records.some((r) => String(r) === o.failOn))) throw new Error('malformed record');
      return taken.reduce((n, x) => n + x.records.length, 0);
    },
    log: pino({ level: 'silent' }),
    batchMs: 5,
  });
  /** Appends to a partition's log and shows the follower the message. */
  const write = (p: number, seq: number, text: string, writer = 'other/1/1'): void => {
    const log = logs.get(p) ?? [];
    const prev = log.at(-1)?.[0] ?? 0;
    log.push([seq, text, writer]);
    logs.set(p, log);
    const r: FollowedRecord = { seq, partition: p, prev, writer, record: text === '' ? undefined : Buffer.from(text) };
    standby.offer(r);
  };
  const texts = (i: number): [number, string[], boolean][] => imports[i].map((x) => [x.partition, x.records.map(String), x.fresh]);
  return { standby, known, logs, imports, reads, write, texts, maxInFlight: () => maxInFlight };
}

t.test('a partition held nothing of is read whole first, then kept record by record', async (t) => {
  const s = setup();
  s.logs.set(1, [[1, 'r1'], [2, ''], [4, 'r4']]);
  s.write(1, 7, 'r7');
  await tick();
  await tick();
  t.same(s.reads, [[1, 0]], 'nothing held: the whole log read');
  t.same(s.texts(0), [[1, ['r1', 'r4', 'r7'], true]], 'and taken in over nothing kept (fresh)');
  t.equal(s.known.get(1), 7, 'held through its last record');
  s.write(1, 9, ''); // another node claims the log
  s.write(1, 12, 'r12');
  await tick();
  t.same(s.texts(1), [[1, ['r12'], false]], 'records that follow are taken in as they come, over what is held');
  t.equal(s.known.get(1), 12);
  t.same(s.reads.length, 1, 'with no read');
  t.equal(s.standby.turns, 4);
});

t.test('a gap is read from the log; own records, owned partitions and others are left alone', async (t) => {
  const s = setup({ follows: (p) => p !== 3, owns: (p) => p === 2 });
  s.known.set(1, 4);
  s.logs.set(1, [[4, 'r4'], [5, 'r5'], [6, 'r6']]);
  s.write(1, 8, 'r8');
  await tick();
  await tick();
  t.same(s.reads, [[1, 4]], 'the records after what is held are read');
  t.same(s.imports.flat().map((x) => [x.partition, x.records.map(String), x.fresh]), [[1, ['r5', 'r6', 'r8'], false]]);
  s.write(1, 9, 'mine', 'me/1/1');
  s.write(2, 3, 'owned');
  s.write(3, 3, 'not next');
  await tick();
  t.equal(s.imports.flat().length, 1, 'nothing more taken in');
  t.equal(s.known.get(1), 8, 'own records are counted by the appends themselves');
});

t.test('a failed import leaves the partition unknown (a takeover reads it whole)', async (t) => {
  const s = setup({ failKeep: true });
  s.known.set(1, 4);
  s.logs.set(1, [[4, 'r4']]);
  s.write(1, 5, 'r5');
  await tick();
  t.equal(s.known.has(1), false);
});

t.test('one batch at a time: records coming while one is taken in wait for the next', async (t) => {
  const s = setup({ keepMs: 30 });
  s.known.set(1, 0);
  for (let seq = 1; seq <= 10; seq++) {
    s.write(1, seq, `r${seq}`);
    await new Promise((r) => setTimeout(r, 8));
  }
  await new Promise((r) => setTimeout(r, 150));
  t.equal(s.maxInFlight(), 1, 'never two imports at once (a checkpoint runs between them)');
  t.same(s.imports.flat().flatMap((x) => x.records.map(String)), Array.from({ length: 10 }, (_, i) => `r${i + 1}`), 'every record taken in, in order');
  t.ok(s.imports.length < 10, `in ${s.imports.length} batches`);
});

t.test('catching up before joining: what is missing of the partitions coming here is read and taken in, records go on after', async (t) => {
  const s = setup({ follows: (p) => p !== 3 });
  s.logs.set(1, [[1, 'r1'], [3, 'r3']]);
  s.logs.set(2, [[2, 'r2'], [5, '']]);
  s.known.set(2, 2);
  const done = s.standby.catchUp([1, 2], { stop: () => false, stallMs: 5000, pollMs: 5 });
  t.equal(await done, true, 'resolves once each is taken in through the end of its log');
  t.same(s.reads.sort(), [[1, 0], [2, 2]], 'each read from what is held of it (nothing of 1)');
  t.same([s.known.get(1), s.known.get(2)], [3, 5]);
  t.same(s.imports.flat().map((x) => [x.partition, x.records.map(String), x.fresh]).sort(), [[1, ['r1', 'r3'], true], [2, [], false]]);
  s.write(1, 7, 'r7');
  await tick();
  t.same(s.imports.flat().at(-1)?.records.map(String), ['r7'], 'the next record follows on');
  t.equal(s.reads.length, 2, 'with no read');
});

t.test('catching up gives up when no partition comes further, or when told to; it leaves partitions it does not follow alone', async (t) => {
  const s = setup({ follows: (p) => p !== 3, failKeep: true });
  s.logs.set(1, [[1, 'r1']]);
  s.logs.set(3, [[2, 'r2']]);
  const started = performance.now();
  t.equal(await s.standby.catchUp([1, 3], { stop: () => false, stallMs: 100, pollMs: 5 }), false, 'a partition that cannot be taken in: not caught up');
  t.ok(performance.now() - started >= 100, 'once it has not come further for the time given');
  t.equal(s.known.has(1), false);
  t.notOk(s.reads.some(([p]) => p === 3), 'one not followed is not read');
  t.equal(await setup({ follows: () => false }).standby.catchUp([1], { stop: () => false, stallMs: 100, pollMs: 5 }), true, 'nothing to catch up on: at once');
  const stopped = setup();
  stopped.logs.set(1, [[1, 'r1']]);
  t.equal(await stopped.standby.catchUp([1], { stop: () => true, stallMs: 60_000, pollMs: 5 }), false, 'told to stop: at once');
});

t.test('a long history is read a stretch of the stream at a time, each taken in before the next is read', async (t) => {
  const s = setup();
  s.logs.set(1, [[1, 'r1'], [READ_STRETCH + 10, 'r2'], [2 * READ_STRETCH + 20, 'r3']]);
  t.equal(await s.standby.catchUp([1], { stop: () => false, stallMs: 5000, pollMs: 5 }), true);
  t.same(s.reads, [[1, 0], [1, READ_STRETCH], [1, 2 * READ_STRETCH]], 'three reads, each from where the last one reached');
  t.same(s.imports.map((batch) => batch.flatMap((x) => x.records.map(String))), [['r1'], ['r2'], ['r3']], 'each taken in on its own');
  t.equal(s.known.get(1), 2 * READ_STRETCH + 20);
});

t.test("a read over what is held leaves out this process's own records: they are in its state, answered or not", async (t) => {
  const s = setup();
  s.known.set(1, 4);
  // Its own record landed at 5, but the answer has not come back yet (the position is still 4); then another node
  // claims the log and writes on.
  s.logs.set(1, [[4, 'r4'], [5, 'mine', 'me/1/7']]);
  s.write(1, 6, '');
  s.write(1, 7, 'r7');
  await tick();
  await tick();
  t.same(s.reads, [[1, 4]], 'the claim does not follow what is held: read');
  t.same(s.imports.flat().map((x) => [x.partition, x.records.map(String)]), [[1, ['r7']]], 'taken in without its own record');
  t.equal(s.known.get(1), 7);
  const fresh = setup();
  fresh.logs.set(1, [[5, 'mine', 'me/1/7'], [6, '']]);
  fresh.write(1, 7, 'r7');
  await tick();
  await tick();
  t.same(fresh.imports.flat().map((x) => [x.records.map(String), x.fresh]), [[['mine', 'r7'], true]], 'read whole (over nothing kept), its own records are taken in too');
});

t.test('a partition read to the end of a stretch is read on at once, each stretch once, with no record offered', async (t) => {
  const s = setup();
  s.known.set(1, 0);
  s.logs.set(1, [[1, 'r1'], [READ_STRETCH + 10, 'r2'], [2 * READ_STRETCH + 20, 'r3']]);
  s.write(1, 2 * READ_STRETCH + 30, 'r4');
  for (let i = 0; i < 10 && s.known.get(1) !== 2 * READ_STRETCH + 30; i++) await tick();
  t.same(s.reads, [[1, 0], [1, READ_STRETCH], [1, 2 * READ_STRETCH]], 'each stretch read once, from where the last one reached');
  t.same(s.imports.flatMap((batch) => batch.flatMap((x) => x.records.map(String))), ['r1', 'r2', 'r3', 'r4'], 'every record taken in once, in order');
  t.equal(s.known.get(1), 2 * READ_STRETCH + 30);
});

t.test('catching up gives up on a partition whose import fails further on, however often its start is taken in again', async (t) => {
  const s = setup({ failOn: 'bad' });
  s.logs.set(1, [[1, 'r1'], [READ_STRETCH + 5, 'bad']]);
  const started = performance.now();
  t.equal(await s.standby.catchUp([1], { stop: () => false, stallMs: 200, pollMs: 5 }), false);
  t.ok(performance.now() - started < 5000, `it ends (${Math.round(performance.now() - started)} ms)`);
  t.ok(s.imports.length >= 2, 'its first stretch was taken in again after each failure');
});
