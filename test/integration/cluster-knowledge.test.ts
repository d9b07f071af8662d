/**
 * The robots' knowledge of cluster nodes through a real nats-server's KV bucket, when a node stops at the wrong time:
 * a change committed but not yet shared is shared when the node starts again; a seeding claim left unfinished is
 * taken up by its node, or by another once stale; a node waits for another that is seeding.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { ClusterKnowledge } from '../../src/cluster/cluster-knowledge';
import { SharedKnowledge } from '../../src/cluster/shared-knowledge';
import { KnowledgeBase } from '../../src/knowledge/knowledge-base';
import { Store } from '../../src/store/store';
import { natsForTests } from '../helpers/nats';

const nats = natsForTests(t);
const APP = 1400000001;
const ROBOT = '@RBT#DeskDefaultRobot';
const apps = [{ sdkAppId: APP, robotIds: [ROBOT] }];
const log = pino({ level: 'silent' });
let buckets = 0;

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

interface Node { store: Store; kb: KnowledgeBase; ck: ClusterKnowledge; dir: string }

/** A node's knowledge on a data dir (a new one unless given), joined to the test's bucket. */
async function node(t: { teardown(fn: () => unknown): void }, bucket: string, name: string, opts: { dir?: string; shared?: SharedKnowledge; claimStaleMs?: number } = {}): Promise<Node> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'desk-ck-'));
  const store = new Store(dir, 'none');
  const kb = new KnowledgeBase(store);
  const shared = opts.shared ?? await SharedKnowledge.open(await nats.connect(), { bucket });
  const ck = await ClusterKnowledge.start(shared, kb, apps, log, { node: name, now: Date.now, claimStaleMs: opts.claimStaleMs });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    ck.stop();
    await store.close();
  };
  t.teardown(stop);
  return { store, kb, ck, dir };
}

/** A new FAQ question (and its category) in both environments, committed and shared as a REST change is. */
async function addQuestion(n: Node, question: string): Promise<string> {
  await n.ck.ready(APP);
  const cat = n.kb.addCategory(APP, ROBOT, ['test', 'production'], 'faq', question.slice(0, 2), 0);
  const id = n.kb.addQuestion(APP, ROBOT, ['test', 'production'], { library: 'faq', categoryId: cat, question, similar: [], answer: question, answerType: 0, language: '' }, 1);
  await n.store.commit();
  await n.ck.share();
  return id;
}

const has = (n: Node, id: string): boolean => n.kb.question(APP, ROBOT, 'production', 'faq', id) !== undefined;

t.test('a change committed while the bucket could not take it is shared when its node starts again', async (t) => {
  const bucket = `kb-${++buckets}`;
  const real = await SharedKnowledge.open(await nats.connect(), { bucket });
  let failing = false;
  const flaky = Object.assign(Object.create(real) as SharedKnowledge, {
    put: async (...a: Parameters<SharedKnowledge['put']>) => {
      if (failing) throw new Error('JetStream unavailable');
      return real.put(...a);
    },
  });
  const a = await node(t, bucket, 'a', { shared: flaky });
  const b = await node(t, bucket, 'b');
  const shared = await addQuestion(a, '怎么申请退货');
  await until(() => has(b, shared));

  failing = true;
  const unshared = await addQuestion(a, '发票怎么开');
  t.ok(has(a, unshared), 'the change holds on its node');
  await new Promise((r) => setTimeout(r, 300));
  t.notOk(has(b, unshared), 'and has not reached the other');
  // Stopped before it could try again (a crash would lose no more: the rows were committed with the change).
  a.ck.stop();
  await a.store.close();

  const a2 = await node(t, bucket, 'a', { dir: a.dir });
  await until(() => has(b, unshared));
  t.pass('the other node has it once the node is back');
  t.ok(has(a2, unshared) && has(a2, shared), 'and the node itself still does');
  t.same(a2.kb.unshared().rows, [], 'no longer kept as unshared');
});

t.test("a node that claimed a robot's seeding and stopped before its rows were in the bucket seeds it again", async (t) => {
  const bucket = `kb-${++buckets}`;
  // Node a had its own rows of the robot (a single server joining the cluster).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-ck-'));
  const before = new Store(dir, 'none');
  const single = new KnowledgeBase(before);
  single.load(APP, ROBOT);
  const cat = single.addCategory(APP, ROBOT, ['test', 'production'], 'faq', '退货', 0);
  const own = single.addQuestion(APP, ROBOT, ['test', 'production'], { library: 'faq', categoryId: cat, question: '怎么申请退货', similar: [], answer: 'a', answerType: 0, language: '' }, 1);
  await before.close();
  // Its claim made, and then it stopped.
  const shared = await SharedKnowledge.open(await nats.connect(), { bucket });
  t.ok(await shared.claimSeed(APP, ROBOT, 'a', Date.now()));

  const a = await node(t, bucket, 'a', { dir });
  t.ok(has(a, own), 'the node kept its rows');
  t.match(await shared.seedClaim(APP, ROBOT), { node: 'a', done: true }, 'and finished its claim');
  const b = await node(t, bucket, 'b');
  t.ok(has(b, own), 'another node joining takes them');
});

t.test("another node's unfinished claim is waited for, and taken over once stale", async (t) => {
  const bucket = `kb-${++buckets}`;
  const shared = await SharedKnowledge.open(await nats.connect(), { bucket });

  t.ok(await shared.claimSeed(APP, ROBOT, 'gone', Date.now()));
  const a = await node(t, bucket, 'a', { claimStaleMs: 600 });
  t.match(await shared.seedClaim(APP, ROBOT), { node: 'a', done: true }, "a claim left by a node that is gone is taken over once stale");
  t.ok(a.kb.robotRows(APP, ROBOT).length > 0, 'and the robot seeded with its presets');
  const presets = a.kb.robotRows(APP, ROBOT).length;

  // A claim of a node still seeding: the joining node waits, and takes that node's rows.
  const robot2 = '@RBT#Second';
  const two = [{ sdkAppId: APP, robotIds: [robot2] }];
  t.ok(await shared.claimSeed(APP, robot2, 'slow', Date.now()));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-ck-'));
  const store = new Store(dir, 'none');
  t.teardown(() => store.close());
  const kb = new KnowledgeBase(store);
  kb.load(APP, robot2);
  await store.commit();
  let joined = false;
  const joining = ClusterKnowledge.start(await SharedKnowledge.open(await nats.connect(), { bucket }), kb, two, log, { node: 'c', now: Date.now, claimStaleMs: 60_000 })
    .then((ck) => { joined = true; return ck; });
  await new Promise((r) => setTimeout(r, 400));
  t.notOk(joined, 'the joining node waits while the other seeds');
  await shared.put([{ key: [APP, robot2, 'test', 'faq:c', 77], value: { id: 77, library: 'faq', parentId: 0, title: 'slow', menuType: 0 } }]);
  await shared.seedDone(APP, robot2, 'slow', Date.now());
  const ck = await joining;
  t.teardown(() => ck.stop());
  await until(() => kb.category(APP, robot2, 'test', 'faq', 77) !== undefined);
  t.equal(kb.robotRows(APP, robot2).length, 1, "it dropped its own presets of the robot for the seeding node's rows");
  t.equal(a.kb.robotRows(APP, ROBOT).length, presets);
});

t.test('a robot added on a node: its presets are in the bucket, and its claim done', async (t) => {
  const bucket = `kb-${++buckets}`;
  const shared = await SharedKnowledge.open(await nats.connect(), { bucket });
  const a = await node(t, bucket, 'a');
  const b = await node(t, bucket, 'b');
  const robot = '@RBT#Added';
  await a.ck.robotAdded(APP, robot);
  await a.store.commit();
  await a.ck.share();
  t.match(await shared.seedClaim(APP, robot), { node: 'a', done: true }, 'claimed by its node, and done');
  const categories = (n: Node): number => n.kb.categories(APP, robot, 'test', 'chitchat').length;
  t.ok(categories(a) > 0, 'presets written');
  await until(() => categories(b) === categories(a));
  t.pass('and on the other node');
});

t.test('a row larger than a NATS message stays on its node, and the changes after it are shared', async (t) => {
  const bucket = `kb-${++buckets}`;
  const a = await node(t, bucket, 'a');
  const b = await node(t, bucket, 'b');
  // 400,000 characters of Chinese text: 1.2 MB, over the nats-server's 1 MB.
  await a.kb.documents.add(APP, ROBOT, 'big.txt', 'txt', '退货政策说明。'.repeat(57_143), Date.now());
  t.throws(() => a.kb.documents.add(APP, ROBOT, 'big.txt', 'txt', '退货政策说明。'.repeat(57_143), Date.now(), a.ck.maxRowBytes),
    /at most \d+ bytes/, 'refused where the caller names the limit (the upload endpoint in a cluster)');
  await a.store.commit();
  await a.ck.share();
  const after = await addQuestion(a, '发票怎么开');
  await until(() => has(b, after));
  t.pass('a change after it reaches the other node');
  t.same(a.kb.unshared().rows, [], 'and nothing is left waiting to be shared');
  t.equal(a.kb.documents.list(APP, ROBOT).length, 1, 'the large document is on its node');
  t.equal(b.kb.documents.list(APP, ROBOT).length, 0, 'only');
});
