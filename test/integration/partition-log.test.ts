/**
 * Partition logs in a real nats-server's JetStream: records read back in order per partition, a node that claims a
 * partition fences off the one that had it (even one that writes between the claimer's read and its marker), and a
 * trimmed partition reads from where it was cut.
 */
import t from 'tap';
import { PartitionLogs } from '../../src/cluster/partition-log';
import { natsForTests } from '../helpers/nats';

const nats = natsForTests(t);

/** One node's view of the logs (its own connection). The tests use different partitions of one stream. */
async function logs(): Promise<PartitionLogs> {
  return PartitionLogs.open(await nats.connect());
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

async function readAll(l: PartitionLogs, p: number, after = 0): Promise<string[]> {
  const out: string[] = [];
  for await (const r of l.read(p, after)) out.push(text(r.record));
  return out;
}

t.test('records of each partition read back in order, without the claim markers', async (t) => {
  const l = await logs();
  const w3 = await l.claim(3, 'a');
  const w4 = await l.claim(4, 'a');
  for (let i = 0; i < 5; i++) {
    await w3.append(bytes(`p3-${i}`));
    await w4.append(bytes(`p4-${i}`));
  }
  t.same(await readAll(l, 3), ['p3-0', 'p3-1', 'p3-2', 'p3-3', 'p3-4']);
  t.same(await readAll(l, 4), ['p4-0', 'p4-1', 'p4-2', 'p4-3', 'p4-4'], 'partitions apart');
  t.same(await readAll(l, 5), [], 'a partition never written reads empty');
  const seqs: number[] = [];
  for await (const r of l.read(3)) seqs.push(r.seq);
  t.same(await readAll(l, 3, seqs[2]), ['p3-3', 'p3-4'], 'reading after a sequence');
  const part = await l.recordsOf(3, seqs[0], seqs[2]);
  t.same([part.records.map(text), part.last], [['p3-1', 'p3-2'], seqs[2]], 'a stretch of it: the records in it, and how far it reached');
  const gap = await l.recordsOf(3, seqs[0], seqs[0] + 1);
  t.same([gap.records.length, gap.last], [0, seqs[0] + 1], "a stretch with none of the partition's records still reaches its end (the log goes on)");
  const tail = await l.recordsOf(3, seqs[3], seqs[4] + 1000);
  t.same([tail.records.map(text), tail.last], [['p3-4'], seqs[4]], 'one past the end reaches the last record');
  const own = await l.recordsOf(3, 0, undefined, () => true);
  t.same([own.records.length, own.last], [0, seqs[4]], 'records left out by their writer still count for how far it reached');
  // More than one fetch's worth.
  for (let i = 0; i < 1200; i++) await w4.append(bytes(`more-${i}`));
  t.equal((await readAll(l, 4)).length, 1205, 'a long partition is read whole');
});

t.test('a claim fences off the node that had the partition', async (t) => {
  const a = await logs();
  const b = await logs();
  const wa = await a.claim(7, 'a');
  await wa.append(bytes('a1'));
  await wa.append(bytes('a2'));
  const wb = await b.claim(7, 'b');
  await t.rejects(wa.append(bytes('a3, after b claimed')), { name: 'FencedError' }, 'the old writer is refused');
  await wb.append(bytes('b1'));
  await t.rejects(wa.append(bytes('a4')), { name: 'FencedError' }, 'and stays refused');
  t.same(await readAll(b, 7), ['a1', 'a2', 'b1'], 'nothing of the fenced writer after the claim');

  // The old owner writes between the claimer's read of the last sequence and its marker: the claim retries and wins.
  const c = await logs();
  const last = c.lastSequence.bind(c);
  let raced = false;
  c.lastSequence = async (p: number) => {
    const seq = await last(p);
    if (!raced) {
      raced = true;
      await wb.append(bytes('b2, in the race'));
    }
    return seq;
  };
  const wc = await c.claim(7, 'c');
  t.ok(raced);
  await wc.append(bytes('c1'));
  await t.rejects(wb.append(bytes('b3')), { name: 'FencedError' }, 'the writer that raced the claim is fenced after it');
  t.same(await readAll(c, 7), ['a1', 'a2', 'b1', 'b2, in the race', 'c1']);
});

t.test('a trimmed partition reads from where it was cut; others keep everything', async (t) => {
  const l = await logs();
  const w1 = await l.claim(1, 'a');
  const w2 = await l.claim(2, 'a');
  const seqs: number[] = [];
  for (let i = 0; i < 6; i++) {
    seqs.push(await w1.append(bytes(`one-${i}`)));
    await w2.append(bytes(`two-${i}`));
  }
  await l.trim(1, seqs[4]);
  t.same(await readAll(l, 1), ['one-4', 'one-5'], 'what a snapshot covers is gone');
  t.equal((await readAll(l, 2)).length, 6, 'the other partition is untouched');
  await w1.append(bytes('one-6'));
  t.same(await readAll(l, 1), ['one-4', 'one-5', 'one-6'], 'the writer goes on after a trim');
});
