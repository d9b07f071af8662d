/** The knowledge base on a real store: indexes kept right across changes, environments, presets, publishing. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { KnowledgeBase, type Library } from '../../src/knowledge/knowledge-base';
import { Store } from '../../src/store/store';

const APP = 1400000001;
const ROBOT = '@RBT#DeskDefaultRobot';

async function fresh(t: { teardown(fn: () => unknown): void }): Promise<{ store: Store; kb: KnowledgeBase; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-kb-'));
  const store = new Store(dir, 'none');
  const kb = new KnowledgeBase(store);
  kb.load(APP, ROBOT);
  await store.commit();
  t.teardown(() => store.close());
  return { store, kb, dir };
}

const both = ['test', 'production'] as const;
const rank = (kb: KnowledgeBase, text: string, library: Library = 'faq', test = false) =>
  kb.rank({ app: APP, robotId: ROBOT, language: '', library, text, limit: 3, test });

t.test('changes after the index was built are ranked at once: added, edited, disabled, deleted, moved language', async (t) => {
  const { kb } = await fresh(t);
  const cat = kb.addCategory(APP, ROBOT, both, 'faq', '订单', 0);
  const ids = ['怎么申请退货', '退款多久到账', '怎么修改收货地址', '发票怎么开'].map((question, i) =>
    kb.addQuestion(APP, ROBOT, both, { library: 'faq', categoryId: cat, question, similar: [], answer: `a${i}`, answerType: 0, language: '' }, 1));
  t.equal(rank(kb, '怎么申请退货')[0].id, ids[0], 'built');
  const added = kb.addQuestion(APP, ROBOT, both, { library: 'faq', categoryId: cat, question: '支持货到付款吗', similar: [], answer: 'cod', answerType: 0, language: '' }, 2);
  t.match(rank(kb, '支持货到付款吗')[0], { id: added, score: 1 }, 'a question added since');
  kb.updateQuestion(APP, ROBOT, both, 'faq', ids[1], { question: '退款什么时候到' }, 3);
  t.match(rank(kb, '退款什么时候到')[0], { id: ids[1], score: 1 }, 'an edited question under its new text');
  t.notOk(rank(kb, '退款多久到账').some((r) => r.score === 1), 'not under its old one');
  kb.updateQuestion(APP, ROBOT, both, 'faq', ids[2], { status: 5 }, 4);
  t.notOk(rank(kb, '怎么修改收货地址').some((r) => r.id === ids[2]), 'a disabled question does not answer');
  kb.deleteQuestion(APP, ROBOT, both, 'faq', ids[3]);
  t.notOk(rank(kb, '发票怎么开').some((r) => r.id === ids[3]), 'a deleted one neither');
  kb.updateQuestion(APP, ROBOT, both, 'faq', ids[0], { status: 4, answer: 'new answer' }, 5);
  t.match(rank(kb, '怎么申请退货')[0], { id: ids[0], answer: 'new answer' });
  // Many changes: the index is rebuilt, still right.
  for (let i = 0; i < 60; i++) kb.addQuestion(APP, ROBOT, both, { library: 'faq', categoryId: cat, question: `商品${i}号怎么保养`, similar: [], answer: `care ${i}`, answerType: 0, language: '' }, 6);
  t.match(rank(kb, '商品42号怎么保养')[0], { answer: 'care 42', score: 1 });
  t.match(rank(kb, '支持货到付款吗')[0], { id: added });
});

t.test('environments: a test edit leaves production alone until published; updates keep each copy\'s own edits', async (t) => {
  const { kb, store, dir } = await fresh(t);
  const cat = kb.addCategory(APP, ROBOT, both, 'faq', '订单', 0);
  const id = kb.addQuestion(APP, ROBOT, both, { library: 'faq', categoryId: cat, question: '怎么退货', similar: [], answer: 'x', answerType: 0, language: '' }, 1);
  kb.updateQuestion(APP, ROBOT, ['test'], 'faq', id, { similar: ['七天无理由能退吗'] }, 2);
  kb.updateQuestion(APP, ROBOT, both, 'faq', id, (q) => ({ similar: [...q.similar, '退货流程'] }), 3);
  t.same(kb.question(APP, ROBOT, 'test', 'faq', id)!.similar, ['七天无理由能退吗', '退货流程'], 'test keeps its unpublished similar question');
  t.same(kb.question(APP, ROBOT, 'production', 'faq', id)!.similar, ['退货流程']);
  const testOnly = kb.addCategory(APP, ROBOT, ['test'], 'faq', '仅测试', 0);
  t.throws(() => kb.updateCategory(APP, ROBOT, both, 'faq', testOnly, '改名'), { code: -50003 });
  t.equal(kb.category(APP, ROBOT, 'test', 'faq', testOnly)!.title, '仅测试', 'a refused rename changes nothing');
  t.ok(kb.unpublished(APP, ROBOT));
  t.equal(rank(kb, '七天无理由能退吗', 'faq', true)[0].score, 1, 'test answers with its edit');
  t.not(rank(kb, '七天无理由能退吗')[0]?.score, 1, 'production does not');
  const v1 = kb.publish(APP, ROBOT, 'one', 1000, 'Asia/Shanghai');
  const v2 = kb.publish(APP, ROBOT, 'two', 1000, 'Asia/Shanghai');
  t.notOk(kb.unpublished(APP, ROBOT));
  t.equal(rank(kb, '七天无理由能退吗')[0].score, 1, 'published');
  await store.close();

  const again = new Store(dir, 'none');
  t.teardown(() => again.close());
  const reloaded = new KnowledgeBase(again);
  t.same(reloaded.versions(APP, ROBOT).map((v) => v.version).sort(), [v1.version, v2.version].sort(), 'two publishes in one millisecond both kept');
  t.same(reloaded.question(APP, ROBOT, 'production', 'faq', id)!.similar, ['七天无理由能退吗', '退货流程']);
  t.ok(reloaded.categories(APP, ROBOT, 'production', 'chitchat').some((c) => c.title === '系统预设分类'), 'presets stored once');
  reloaded.load(APP, ROBOT);
  t.equal(reloaded.categories(APP, ROBOT, 'production', 'chitchat').filter((c) => c.title === '系统预设分类').length, 1, 'and not created again');
});

t.test('a library asked before it had questions answers the first ones added', async (t) => {
  const { kb } = await fresh(t);
  t.same(rank(kb, 'where is my parcel'), [], 'nothing yet (the index is built empty)');
  const cat = kb.addCategory(APP, ROBOT, both, 'faq', 'Orders', 0);
  const id = kb.addQuestion(APP, ROBOT, both, { library: 'faq', categoryId: cat, question: 'Where is my parcel?', similar: [], answer: 'Tracking is in Orders.', answerType: 0, language: '' }, 1);
  t.match(rank(kb, 'where is my parcel')[0], { id, score: 1 });
  t.match(rank(kb, 'where is my parcel', 'faq', true)[0], { id }, 'in test too');
});

t.test("in a cluster: this node's changes are kept for sharing, another node's rows answer at once, a malformed row is left out", async (t) => {
  const { kb, store } = await fresh(t);
  let next = 50_000;
  kb.shared = { categoryId: () => next++ };
  const cat = kb.addCategory(APP, ROBOT, both, 'faq', '订单', 0);
  t.equal(cat, 50_000, 'category ids come from the cluster');
  kb.addQuestion(APP, ROBOT, both, { library: 'faq', categoryId: cat, question: '怎么申请退货', similar: [], answer: 'a', answerType: 0, language: '' }, 1);
  await store.commit();
  const kept = kb.unshared();
  const written = kept.rows;
  t.same(written.map((r) => [r.key[2], r.key[3]]), [['test', 'faq:c'], ['production', 'faq:c'], ['test', 'faq:q'], ['production', 'faq:q']], 'each row written, in order');
  await kb.sharedThrough(kept.through);
  t.same(kb.unshared().rows, [], 'kept until shared');

  // Another node's question, as it shares it.
  const theirs = { ...(written[3]!.value as Record<string, unknown>), id: 'q-other', question: '发票怎么开', answer: 'b' };
  t.ok(kb.applyRow([APP, ROBOT, 'production', 'faq:q', 'q-other'], theirs), 'taken');
  t.equal(rank(kb, '发票怎么开')[0]?.id, 'q-other', 'and answers at once');
  await store.commit();
  t.same(kb.unshared().rows, [], "not kept as this node's change");
  t.notOk(kb.applyRow([APP, ROBOT, 'production', 'faq:q', 'q-bad'], { ...theirs, id: 'q-bad', similar: 'not a list' }), 'a malformed question is left out');
  t.notOk(kb.applyRow([APP, ROBOT, 'staging', 'faq:q', 'q-other'], theirs), 'so is a row of no environment');
  t.notOk(kb.applyRow([APP, ROBOT, 'documents', 'd', 'doc-1'], { id: 'doc-1', passages: [1] }), 'and a malformed document');
  t.equal(kb.question(APP, ROBOT, 'production', 'faq', 'q-bad'), undefined);
  t.ok(kb.applyRow([APP, ROBOT, 'production', 'faq:q', 'q-other'], undefined), 'a removal');
  t.notOk(rank(kb, '发票怎么开').some((r) => r.id === 'q-other'), 'answers no more');
  await store.commit();
  t.same(kb.robotRows(APP, ROBOT).filter((r) => r.key[2] === 'production' && r.key[3] === 'faq:q').map((r) => r.key[4]), [written[3]!.key[4]], 'the table holds what was taken');
});

t.test('in a cluster: the rows of a committed change are kept in the store until shared, across a restart', async (t) => {
  const { kb, store, dir } = await fresh(t);
  kb.shared = { categoryId: () => 50_000 };
  t.same(kb.unshared().rows, [], 'none at first');
  const cat = kb.addCategory(APP, ROBOT, both, 'faq', '订单', 0);
  const id = kb.addQuestion(APP, ROBOT, both, { library: 'faq', categoryId: cat, question: '怎么申请退货', similar: [], answer: 'a', answerType: 0, language: '' }, 1);
  kb.deleteQuestion(APP, ROBOT, ['test'], 'faq', id);
  t.same(kb.unshared().rows, [], 'none before the change is committed');
  await store.commit();
  const taken = kb.unshared();
  t.equal(taken.rows.length, 5, 'its rows once it is');
  await store.close();

  // Restarted before the rows reached the other nodes.
  const store2 = new Store(dir, 'none');
  const kb2 = new KnowledgeBase(store2);
  const left = kb2.unshared();
  t.same(left.rows, taken.rows, 'every row, in order, a removal too');
  t.equal(left.rows.at(-1)!.value, undefined, 'the removal reads as one');
  t.equal(left.through, taken.through);
  kb2.shared = { categoryId: () => 50_001 };
  kb2.addCategory(APP, ROBOT, ['test'], 'faq', '发票', 0);
  await store2.commit();
  t.ok(kb2.unsharedMark > left.through, 'numbered on after the kept ones');
  await kb2.sharedThrough(left.through);
  const later = kb2.unshared();
  t.same(later.rows.map((r) => r.key[3]), ['faq:c'], 'the shared ones are no longer kept; later ones are');
  await kb2.sharedThrough(later.through);
  await store2.close();

  const store3 = new Store(dir, 'none');
  t.teardown(() => store3.close());
  t.same(new KnowledgeBase(store3).unshared().rows, [], 'and none after another restart');
});
