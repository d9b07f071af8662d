/**
 * Partition leases over a real nats-server (JetStream KV): the store's revision checks, three nodes sharing the
 * partitions, a node that vanishes (its connection dropped, no goodbye) replaced after its leases expire, a node that
 * leaves handed over at once. Real time, with a short lease.
 */
import type { NatsConnection } from 'nats';
import t from 'tap';
import { LeaseManager, partitionKey } from '../../src/cluster/leases';
import { NatsLeaseStore } from '../../src/cluster/nats-lease-store';
import { placement } from '../../src/cluster/partitions';
import { realClock } from '../../src/runtime/clock';
import { natsForTests } from '../helpers/nats';

const P = 16;
const TTL = 1500;
const ROUND = 300;

const nats = natsForTests(t);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('the KV store refuses writes that name a stale revision', async (t) => {
  const nc = await nats.connect();
  const store = await NatsLeaseStore.open(nc, 'desk-test-store');
  const v = (node: string) => ({ node, until: Date.now() + 1000 });
  const r1 = await store.create('p.1', v('a'));
  t.ok(r1, 'created');
  t.equal(await store.create('p.1', v('b')), undefined, 'a second create is refused');
  const r2 = await store.update('p.1', v('a'), r1!);
  t.ok(r2 && r2 > r1!, 'an update at the current revision');
  t.equal(await store.update('p.1', v('b'), r1!), undefined, 'an update at an old revision is refused');
  t.equal(await store.remove('p.1', r1!), false, 'so is a removal');
  t.equal((await store.get('p.1'))!.value.node, 'a');
  t.same([...(await store.list('p.')).keys()], ['p.1'], 'listed by prefix');
  t.ok(await store.remove('p.1', r2!), 'removed at the current revision');
  t.equal(await store.get('p.1'), undefined);
  t.ok(await store.create('p.1', v('c')), 'and created again after removal');

  // Something else wrote the bucket: what is not a lease reads as one that ran out, and is taken over.
  const kv = await nc.jetstream().views.kv('desk-test-store');
  await kv.put('p.2', 'not json');
  await kv.put('node.x', JSON.stringify({ node: 5, until: 'later' }));
  t.match(await store.get('p.2'), { value: { node: '', until: 0 } });
  const m = new LeaseManager({ store, clock: realClock, nodeId: 'n1', partitions: 4, ttlMs: TTL, skewMarginMs: 0 });
  t.same(await m.tick(), ['n1'], 'a round goes on; the malformed heartbeat is no live node');
  t.ok(m.owns(2), 'and the partition whose lease was malformed is taken');
});

t.test('three nodes over NATS: each partition owned once; a vanished node is replaced after its ttl, a leaving one at once', async (t) => {
  const conns: NatsConnection[] = [];
  const nodes = new Map<string, { m: LeaseManager; timer?: NodeJS.Timeout }>();
  const bucket = 'desk-test-leases';
  const start = async (id: string): Promise<void> => {
    const nc = await nats.connect();
    conns.push(nc);
    const m = new LeaseManager({ store: await NatsLeaseStore.open(nc, bucket), clock: realClock, nodeId: id, partitions: P, ttlMs: TTL, skewMarginMs: 200 });
    const node: { m: LeaseManager; timer?: NodeJS.Timeout } = { m };
    let busy = false;
    node.timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void m.tick().finally(() => { busy = false; });
    }, ROUND);
    nodes.set(id, node);
  };
  t.teardown(async () => {
    for (const n of nodes.values()) clearInterval(n.timer);
  });
  const owners = (): Map<number, string[]> => {
    const out = new Map<number, string[]>();
    for (const [id, n] of nodes) for (const p of n.m.ownedPartitions()) out.set(p, [...(out.get(p) ?? []), id]);
    return out;
  };
  const settled = async (ids: string[], within: number): Promise<number> => {
    const want = placement(ids, P);
    const t0 = Date.now();
    let doubled = 0;
    while (Date.now() - t0 < within) {
      const o = owners();
      for (const list of o.values()) if (list.length > 1) doubled++;
      if (o.size === P && [...o].every(([p, list]) => list.length === 1 && list[0] === want[p])) return Date.now() - t0;
      await sleep(50);
    }
    throw new Error(`not settled on ${ids.join(',')} within ${within} ms (${doubled} double claims): ${JSON.stringify([...owners()])}`);
  };

  for (const id of ['a', 'b', 'c']) await start(id);
  await settled(['a', 'b', 'c'], 10_000);
  t.pass('three nodes: every partition owned once, as placed');

  // c vanishes: no more rounds, connection dropped.
  const c = nodes.get('c')!;
  clearInterval(c.timer);
  nodes.delete('c');
  const cHad = c.m.ownedPartitions();
  await conns[2].close();
  const took = await settled(['a', 'b'], 10_000);
  t.ok(took >= TTL - ROUND * 2, `the vanished node's partitions were taken only after its lease could expire (${took} ms)`);
  t.ok(cHad.length > 0 && cHad.every((p) => !c.m.owns(p)), 'and by then the vanished node would not act on them');
  t.comment(`takeover after a vanished node: ${took} ms (lease ttl ${TTL} ms, rounds every ${ROUND} ms)`);

  // b leaves cleanly: a takes everything in about a round.
  const b = nodes.get('b')!;
  clearInterval(b.timer);
  await b.m.leave();
  nodes.delete('b');
  const handover = await settled(['a'], 5_000);
  t.ok(handover < TTL, `a leaving node is replaced without waiting for its ttl (${handover} ms)`);
  const store = await NatsLeaseStore.open(conns[0], bucket);
  t.equal((await store.get(partitionKey(0)))!.value.node, 'a', 'the bucket names the owner');
});
