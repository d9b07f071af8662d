/**
 * Partition placement and leases without NATS (an in-memory store with the same revision rules, a manual clock):
 * every partition is owned by exactly one node at any moment, nodes joining and leaving move only what they must,
 * a dead node's partitions are taken over once its leases expire, and never while its holder may still act.
 */
import t from 'tap';
import { LeaseManager, partitionKey } from '../../src/cluster/leases';
import { ownerOf, partitionOf, placement } from '../../src/cluster/partitions';
import { ManualClock } from '../../src/runtime/clock';
import { MemoryLeaseStore } from '../helpers/memory-lease-store';
import { rng } from '../helpers/rng';

const P = 64;
const TTL = 6000;

t.test('placement: every node computes the same owners; balanced; a join or leave moves only its own share', async (t) => {
  const three = ['node-a:8080', 'node-b:8080', 'node-c:8080'];
  const owners = placement(three, P);
  t.same(placement([...three].reverse(), P), owners, 'the order nodes are listed in does not matter');
  const counts = three.map((n) => owners.filter((o) => o === n).length);
  t.ok(Math.min(...counts) >= 12, `each of three nodes owns a fair share (${counts.join('/')})`);
  const four = placement([...three, 'node-d:8080'], P);
  const moved = four.filter((o, p) => o !== owners[p]);
  t.ok(moved.every((o) => o === 'node-d:8080'), 'a joining node takes partitions; none moves between the others');
  t.ok(moved.length >= 8 && moved.length <= 24, `it takes about a quarter (${moved.length})`);
  const two = placement(three.slice(0, 2), P);
  t.ok(two.every((o, p) => owners[p] === 'node-c:8080' || o === owners[p]), 'a leaving node gives up only its own partitions');
  t.equal(ownerOf(5, []), undefined);
  // Actor addresses spread over the partitions.
  const used = new Set(Array.from({ length: 2000 }, (_, i) => partitionOf(`session:1400000001|cs|user-${i}`, P)));
  t.equal(used.size, P, '2,000 conversations reach every partition');
  t.equal(partitionOf('agent:1400000001|a@x.com', P), partitionOf('agent:1400000001|a@x.com', P), 'stable');
});

/** Nodes over one store; `live` are the ones taking part in rounds. */
function cluster(ids: string[], clock: ManualClock, store = new MemoryLeaseStore()) {
  const changes: Record<string, { gained: number[]; lost: number[] }[]> = {};
  const released: Record<string, number[]> = {};
  const nodes = new Map(ids.map((id) => [id, new LeaseManager({
    store, clock, nodeId: id, partitions: P, ttlMs: TTL,
    release: async (p) => { (released[id] ??= []).push(p); },
    onChange: (c) => (changes[id] ??= []).push(c),
  })]));
  return { store, nodes, changes, released };
}

/** The nodes that act as owner of each partition now. */
function claims(nodes: Iterable<LeaseManager>): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const n of nodes) for (const p of n.ownedPartitions()) out.set(p, [...(out.get(p) ?? []), n.nodeId]);
  return out;
}

t.test('three nodes: each partition owned once, as placed; a node that stops is replaced once its leases expire', async (t) => {
  const clock = new ManualClock();
  const { nodes, store } = cluster(['a', 'b', 'c'], clock);
  // Round 1: each sees only the nodes that beat before it; round 2 settles.
  for (let round = 0; round < 3; round++) {
    for (const n of nodes.values()) await n.tick();
    clock.advance(1000);
  }
  let owned = claims(nodes.values());
  t.equal(owned.size, P, 'every partition has an owner');
  t.ok([...owned.values()].every((o) => o.length === 1), 'and only one');
  const want = placement(['a', 'b', 'c'], P);
  t.ok([...owned].every(([p, [o]]) => want[p] === o), 'owners are the placement of the live nodes');

  const nextOf = (p: number): string[] => [...nodes.values()].filter((n) => n.nextInLine(p)).map((n) => n.nodeId);
  t.ok(Array.from({ length: P }, (_, p) => nextOf(p)).every((next, p) => next.length === 1 && next[0] !== want[p]),
    'each partition has one node next in line, not its owner');
  const nextBefore = Array.from({ length: P }, (_, p) => nextOf(p)[0]);

  // c stops (a crash: no release, no goodbye). Its leases stay valid for the ttl, and a and b wait.
  const c = nodes.get('c')!;
  nodes.delete('c');
  const cHad = c.ownedPartitions();
  clock.advance(TTL - 2500);
  for (const n of nodes.values()) await n.tick();
  owned = claims(nodes.values());
  t.ok(cHad.every((p) => !owned.has(p)), 'no partition of the stopped node is taken while its lease may still be in use');
  t.ok(cHad.every((p) => c.owns(p)), '(it would still act on them by its own clock)');
  // Past the ttl and the clock margin: taken over.
  clock.advance(4000);
  t.ok(cHad.every((p) => !c.owns(p)), 'the stopped node no longer acts on them by its own clock');
  for (let round = 0; round < 2; round++) for (const n of nodes.values()) await n.tick();
  owned = claims(nodes.values());
  t.equal(owned.size, P, 'every partition has an owner again');
  t.ok([...owned.values()].every((o) => o.length === 1 && o[0] !== 'c'));
  const two = placement(['a', 'b'], P);
  t.ok([...owned].every(([p, [o]]) => two[p] === o), 'as placed among the two live nodes');
  t.ok(cHad.every((p) => owned.get(p)![0] === nextBefore[p]), "each of c's partitions went to the node that was next in line for it");
  t.equal((await store.get(partitionKey(cHad[0])))!.value.node, two[cHad[0]], 'the store names the new owner');
});

t.test('a joining node gets its share by handover: the old owner releases first, never two owners at once', async (t) => {
  const clock = new ManualClock();
  const { nodes, released, changes, store } = cluster(['a', 'b'], clock);
  for (let round = 0; round < 3; round++) for (const n of nodes.values()) await n.tick();
  // (a started alone and handed b its share: count only what follows d's arrival.)
  for (const id of Object.keys(released)) delete released[id];
  const d = new LeaseManager({ store, clock, nodeId: 'd', partitions: P, ttlMs: TTL });
  const want = placement(['a', 'b', 'd'], P);
  // Before it joins, d learns what will move to it (to catch up on it) without writing anything.
  const before = JSON.stringify([...(await store.list(''))]);
  const moving = await d.preview();
  t.same(moving, want.flatMap((o, p) => (o === 'd' ? [p] : [])), 'the preview: the partitions joining moves to d, all held by a and b now');
  t.ok(moving.every((p) => d.awaited(p)) && !d.awaited(want.indexOf('a')), 'awaited: those, not the others');
  t.equal(JSON.stringify([...(await store.list(''))]), before, 'no heartbeat or lease written: a and b go on serving them');
  nodes.set('d', d);
  for (let round = 0; round < 4; round++) {
    for (const n of nodes.values()) {
      await n.tick();
      const owned = claims(nodes.values());
      t.ok([...owned.values()].every((o) => o.length === 1), `round ${round}, after ${n.nodeId}: no partition has two owners`);
    }
    clock.advance(1000);
  }
  const owned = claims(nodes.values());
  t.equal(owned.size, P);
  t.ok([...owned].every(([p, [o]]) => want[p] === o), 'the placement of three nodes is reached');
  const toD = want.flatMap((o, p) => (o === 'd' ? [p] : []));
  t.notOk(toD.some((p) => d.awaited(p)), 'once held, none is awaited any more');
  t.same([...(released.a ?? []), ...(released.b ?? [])].sort((x, y) => x - y), toD, 'each partition d took was released by its old owner first');
  t.ok(changes.a!.some((c) => c.lost.length > 0), 'the old owners were told what they lost');
});

t.test('leaving: a node gives its leases up, and the others take them at their next round', async (t) => {
  const clock = new ManualClock();
  const { nodes, released } = cluster(['a', 'b', 'c'], clock);
  for (let round = 0; round < 3; round++) for (const n of nodes.values()) await n.tick();
  const b = nodes.get('b')!;
  const had = b.ownedPartitions();
  await b.leave();
  nodes.delete('b');
  t.same(b.ownedPartitions(), [], 'nothing owned after leaving');
  t.same(released.b!.sort((x, y) => x - y), had, 'each partition released before its lease went');
  for (const n of nodes.values()) await n.tick();
  const owned = claims(nodes.values());
  t.equal(owned.size, P, 'taken over in one round, without waiting for the ttl');
});

t.test('handing over: a node still running drops out of the placement; the others take its partitions at once', async (t) => {
  const clock = new ManualClock();
  const { nodes, released } = cluster(['a', 'b', 'c'], clock);
  for (let round = 0; round < 3; round++) for (const n of nodes.values()) await n.tick();
  const c = nodes.get('c')!;
  const had = c.ownedPartitions();
  const given = await c.handOver();
  t.same(given, had, 'every partition it held is given up');
  t.same(released.c!.sort((x, y) => x - y), had, 'each released before its lease went');
  t.same(c.ownedPartitions(), [], 'it acts on none');
  t.notOk(await c.heldByOthers(had), 'nobody holds them before the others run a round');
  for (const n of [nodes.get('a')!, nodes.get('b')!]) await n.tick();
  t.ok(await c.heldByOthers(had), 'the others hold them after one round each, without waiting for the ttl');
  t.equal(claims(nodes.values()).size, P, 'every partition owned');
  // Still running, the node takes nothing back, and no other node counts it among the live ones.
  clock.advance(1000);
  await c.tick();
  for (const n of [nodes.get('a')!, nodes.get('b')!]) await n.tick();
  t.same(c.ownedPartitions(), [], 'its rounds go on, taking nothing');
  t.ok([...claims(nodes.values()).values()].every((o) => o.length === 1 && o[0] !== 'c'), 'a and b own everything, once');
  t.same(await c.handOver(), [], 'handing over again does nothing');

  // Alone, a node has nobody to hand over to: it keeps its partitions until it leaves.
  const alone = cluster(['z'], new ManualClock());
  const z = alone.nodes.get('z')!;
  await z.tick();
  t.same(await z.handOver(), [], 'nothing given up with no other node live');
  t.equal(z.ownedPartitions().length, P);
});

t.test('random runs: nodes start, stop, crash, hand over and leave at random; a partition never has two owners', async (t) => {
  const seeds = [1, 2, 3, 4, 5];
  for (const seed of seeds) {
    const r = rng(seed);
    const clock = new ManualClock();
    const store = new MemoryLeaseStore();
    const all: LeaseManager[] = [];
    const running = new Set<LeaseManager>();
    const handing = new Set<LeaseManager>();
    let nextId = 0;
    const start = (): void => {
      const n = new LeaseManager({ store, clock, nodeId: `n${nextId++}`, partitions: P, ttlMs: TTL });
      all.push(n);
      running.add(n);
    };
    for (let i = 0; i < 3; i++) start();
    let violations = 0;
    for (let step = 0; step < 300; step++) {
      const x = r();
      if (x < 0.03 && running.size < 5) start();
      else if (x < 0.05 && running.size > 1) running.delete([...running][Math.floor(r() * running.size)]); // crash
      else if (x < 0.06 && running.size > 1) {
        const n = [...running][Math.floor(r() * running.size)];
        running.delete(n);
        await n.leave();
      } else if (x < 0.07 && running.size > 1) {
        // A drain: handed over, then rounds that take nothing, then gone.
        const n = [...running][Math.floor(r() * running.size)];
        running.delete(n);
        handing.add(n);
        await n.handOver();
      } else if (x < 0.08 && handing.size > 0) {
        const n = [...handing][0];
        handing.delete(n);
        await n.leave();
      }
      const n = [...running, ...handing][Math.floor(r() * (running.size + handing.size))];
      await n.tick();
      clock.advance(Math.floor(r() * 800));
      // Crashed nodes count too: by their own clock they may still act on a lease.
      for (const owners of claims(all).values()) if (owners.length > 1) violations++;
    }
    // Crashed nodes' leases expire; then the running nodes settle.
    clock.advance(TTL + 1500);
    for (let round = 0; round < 3; round++) {
      for (const n of [...running, ...handing]) await n.tick();
      clock.advance(1000);
    }
    t.same(claims(handing).size, 0, `seed ${seed}: a node handing over owns nothing`);
    const owned = claims(running);
    t.equal(violations, 0, `seed ${seed}: never two owners`);
    t.equal(owned.size, P, `seed ${seed}: in the end every partition is owned by a running node`);
  }
});
