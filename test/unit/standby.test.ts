/**
 * Keeping the partitions next in line current from their logs: a record is taken in only when it follows what the
 * node holds; a gap, or nothing held, is read from the log first; the node's own records, partitions it owns and
 * partitions it is not next in line for are left alone; a failed import leaves the partition unknown.
 */
import pino from 'pino';
import t from 'tap';
import type { FollowedRecord } from '../../src/cluster/partition-log';
import { StandbyPartitions } from '../../src/cluster/standby';
import type { PartitionImport } from '../../src/runtime/runtime';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

function setup(o: { nextInLine?: (p: number) => boolean; owns?: (p: number) => boolean; failKeep?: boolean; keepMs?: number } = {}) {
  const known = new Map<number, number>();
  /** Each partition's log: stream sequence → record text ('' for a claim marker). */
  const logs = new Map<number, [number, string][]>();
  const imports: PartitionImport[][] = [];
  const reads: [number, number][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const standby = new StandbyPartitions({
    owns: o.owns ?? (() => false),
    nextInLine: o.nextInLine ?? (() => true),
    replicator: {
      knownThrough: (p) => known.get(p),
      caughtUp: (p, seq) => { known.set(p, seq); },
      forget: (p) => { known.delete(p); },
      abandoned: () => new Set<number>(),
      wrote: (id) => id?.startsWith('me/') ?? false,
    },
    logs: {
      recordsOf: async (p: number, after: number) => {
        reads.push([p, after]);
        const log = (logs.get(p) ?? []).filter(([seq]) => seq > after);
        return { records: log.filter(([, text]) => text !== '').map(([, text]) => Buffer.from(text)), last: log.at(-1)?.[0] ?? after };
      },
    },
    keep: async (parts) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, o.keepMs ?? 0));
      inFlight--;
      const taken = parts();
      if (taken.length > 0) imports.push(taken);
      if (o.failKeep) throw new Error('malformed record');
      return taken.reduce((n, x) => n + x.records.length, 0);
    },
    log: pino({ level: 'silent' }),
    batchMs: 5,
  });
  /** Appends to a partition's log and shows the follower the message. */
  const write = (p: number, seq: number, text: string, writer = 'other/1/1'): void => {
    const log = logs.get(p) ?? [];
    const prev = log.at(-1)?.[0] ?? 0;
    log.push([seq, text]);
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
  const s = setup({ nextInLine: (p) => p !== 3, owns: (p) => p === 2 });
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
