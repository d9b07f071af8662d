/** The Q&A robot's decision order and thresholds (product.md §4.3), the matcher, and the clustering of QA optimisation. */
import t from 'tap';
import { decideReply, replyBody, respond, startingFlow, welcomeCard, type RobotReply } from '../../actors/robot';
import type { KnowledgeLibrary, RankedQuestion } from '../../actors/types';
import { defaultRobotConfig, type RobotConfig } from '../../protocol/app-model';
import { MAX_BODY_BYTES } from '../../protocol/frames';
import { deskPayload } from '../../protocol/im';
import { clusterQuestions } from '../../src/knowledge/clusters';
import { Matcher } from '../../src/knowledge/matcher';

const q = (id: string, score: number, answerType: 0 | 2 = 0): RankedQuestion => ({ id, question: `question ${id}`, answer: `answer ${id}`, answerType, score, matched: `question ${id}` });
const config = (c: Partial<RobotConfig> = {}): RobotConfig => ({ ...defaultRobotConfig, chitchatEnable: true, clarifyEnable: true, ...c });

function decide(c: RobotConfig, faq: RankedQuestion[], chitchat: RankedQuestion[] = []): RobotReply {
  return decideReply(c, (library: KnowledgeLibrary, limit: number) => (library === 'faq' ? faq : library === 'chitchat' ? chitchat : []).slice(0, limit));
}

t.test('a match by meaning answers directly only with its lead over the runner-up', async (t) => {
  const meaning = (id: string, score: number): RankedQuestion => ({ ...q(id, score), lead: 0.05 });
  t.match(decide(config(), [meaning('a', 0.9), q('b', 0.84)]), { strategy: 'direct', question: { id: 'a' } }, 'a lead of 0.06');
  t.match(decide(config(), [meaning('a', 0.9), q('b', 0.87)]), { strategy: 'clarify', candidates: [{ id: 'a' }, { id: 'b' }] }, 'a near tie is asked about');
  t.match(decide(config({ clarifyEnable: false }), [meaning('a', 0.9), meaning('b', 0.88)]), { strategy: 'fallback' }, 'or falls back');
  t.match(decide(config(), [meaning('a', 0.9)]), { strategy: 'direct' }, 'alone, it answers');
  t.match(decide(config(), [q('a', 0.9), q('b', 0.89)]), { strategy: 'direct' }, 'words need no lead');
  t.match(decide(config(), [{ ...meaning('a', 1), words: 0.85 }, meaning('b', 1)]), { strategy: 'direct', question: { id: 'a' } }, 'nor a question its words answer, whatever meaning adds');
  t.match(decide(config(), [], [meaning('hi', 0.9), meaning('yo', 0.88)]), { strategy: 'fallback' }, 'chitchat by meaning too');
  const none = { strategy: 'fallback', score: 0 } as const;
  t.equal(startingFlow(config(), none, [meaning('7', 0.9), meaning('8', 0.88)]), undefined, 'nor does a task flow start on a near tie');
  t.equal(startingFlow(config(), none, [meaning('7', 0.9), meaning('8', 0.8)]), '7', 'with its lead it does');
});

t.test('direct answer from exactly DirectAnsweringReaches; just under is not', async (t) => {
  t.match(decide(config(), [q('a', 0.8)]), { strategy: 'direct', question: { id: 'a' } }, 'at the threshold (reaches = ≥)');
  t.match(decide(config(), [q('a', 0.7999)]), { strategy: 'clarify' }, 'just under: the clarify band');
  t.match(decide(config({ directAnsweringReaches: 0.56 }), [q('a', 0.56)]), { strategy: 'direct' }, 'the configured threshold, not the default');
});

t.test('chitchat comes second, from exactly ChitchatReaches, and only when enabled', async (t) => {
  t.match(decide(config(), [q('faq', 0.79)], [q('hi', 0.8)]), { strategy: 'chitchat', question: { id: 'hi' } });
  t.match(decide(config(), [q('faq', 0.79)], [q('hi', 0.7999)]), { strategy: 'clarify' }, 'just under');
  t.match(decide(config({ chitchatEnable: false }), [q('faq', 0.1)], [q('hi', 1)]), { strategy: 'fallback' }, 'disabled');
  t.match(decide(config(), [q('faq', 0.8)], [q('hi', 1)]), { strategy: 'direct' }, 'a direct FAQ answer wins over chitchat');
});

t.test('clarification: scores above (not at) ClarifyReaches, at most ClarifyNumber, only when enabled', async (t) => {
  const faq = [q('a', 0.75), q('b', 0.7), q('c', 0.61), q('d', 0.6), q('e', 0.3)];
  const r = decide(config({ clarifyNumber: 5 }), faq);
  t.same(r.strategy === 'clarify' && r.candidates.map((x) => x.id), ['a', 'b', 'c'], '0.6 itself does not "exceed" 0.6');
  const two = decide(config({ clarifyNumber: 2 }), faq);
  t.same(two.strategy === 'clarify' && two.candidates.map((x) => x.id), ['a', 'b']);
  t.match(decide(config(), [q('a', 0.6)]), { strategy: 'fallback' }, 'exactly at ClarifyReaches: fallback');
  t.match(decide(config({ clarifyEnable: false }), [q('a', 0.75)]), { strategy: 'fallback', best: { id: 'a' } }, 'disabled');
  const body = replyBody(config({ clarifyMessage: '您可能想问:' }), r);
  t.match(deskPayload(body as never), { src: '29', subtype: 'clarify_msg', content: { title: '您可能想问:', content: '您可能想问:', items: [{ content: 'question a' }, { content: 'question b' }, { content: 'question c' }] } });
});

t.test('fallback when nothing matches; answers as text or, rich, as src 30 markdown', async (t) => {
  const r = decide(config({ fallbackMsg: '触发兜底了' }), []);
  t.match(r, { strategy: 'fallback', score: 0 });
  t.same(replyBody(config({ fallbackMsg: '触发兜底了' }), r), [{ MsgType: 'TIMTextElem', MsgContent: { Text: '触发兜底了' } }]);
  t.same(replyBody(config(), decide(config(), [q('a', 1)])), [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'answer a' } }]);
  t.match(deskPayload(replyBody(config(), decide(config(), [q('a', 1, 2)])) as never), { src: '30', content: 'answer a' });
});

t.test('welcome card: only when on and with questions, at most 20, in order', async (t) => {
  t.equal(welcomeCard(config({ welcomeCardEnable: false, welcomeCardQuestions: ['x'] })), undefined);
  t.equal(welcomeCard(config({ welcomeCardEnable: true, welcomeCardQuestions: [] })), undefined);
  const many = Array.from({ length: 25 }, (_, i) => `q${i}`);
  const card = deskPayload(welcomeCard(config({ welcomeCardEnable: true, welcomeCardTitle: '猜你想问', welcomeCardQuestions: many }))! as never) as unknown as { subtype: string; content: { title: string; content: string; items: { content: string }[] } };
  t.equal(card.subtype, 'welcome_msg');
  t.equal(card.content.title, '猜你想问');
  t.equal(card.content.content, '');
  t.same(card.content.items.map((i) => i.content), many.slice(0, 20));
});

t.test('matcher: 0–1 scores, Chinese segmentation, English stems, typos by sound and by letters', async (t) => {
  const m = new Matcher([
    { questionId: 'track', text: '怎么查询物流信息' },
    { questionId: 'track', text: '我的快递到哪了' },
    { questionId: 'refund', text: '退款多久到账' },
    { questionId: 'return', text: '怎么申请退货' },
    { questionId: 'en-return', text: 'How do I return an item?' },
    { questionId: 'en-invoice', text: 'Can I get an invoice for my order?' },
  ]);
  const exact = m.rank('怎么申请退货', 3);
  t.equal(exact[0].questionId, 'return');
  t.equal(exact[0].score, 1, 'an identical question scores 1');
  for (const r of m.rank('物流', 10)) t.ok(r.score > 0 && r.score <= 1, 'scores lie in (0, 1]');
  t.equal(m.rank('我想查一下物流', 1)[0].questionId, 'track', 'segmented words match');
  t.equal(m.rank('我想推货', 1)[0].questionId, 'return', '推货 typed for 退货 matches by its sound');
  t.equal(m.rank('returning items', 1)[0].questionId, 'en-return', 'English stems');
  t.equal(m.rank('invoce for order', 1)[0].questionId, 'en-invoice', 'a misspelling still matches by letter trigrams');
  t.same(m.rank('', 3), [], 'nothing to match');
  t.same(new Matcher([]).rank('退货', 3), []);
  t.equal(new Set(m.rank('快递', 10).map((r) => r.questionId)).size, m.rank('快递', 10).length, 'one entry per standard question');
});

t.test('clustering: the same questions count together, similar ones group, different ones stay apart', async (t) => {
  const clusters = clusterQuestions([
    '你们支持货到付款吗', '支持货到付款吗？', '你们支持货到付款吗', '可以货到付款吗',
    'do you sell gift cards', 'Do you sell gift cards?', '今天天气怎么样',
  ]);
  t.equal(clusters[0].count, 4, 'the biggest group first');
  t.match(clusters[0].questions, [{ question: '你们支持货到付款吗', count: 2 }]);
  t.equal(clusters[0].center, '你们支持货到付款吗', 'the most asked phrasing is the centre');
  t.ok(clusters.some((c) => c.count === 2 && /gift/i.test(c.center)), 'case and punctuation do not split a group');
  t.ok(clusters.some((c) => c.center === '今天天气怎么样' && c.count === 1));
  t.equal(clusters.reduce((n, c) => n + c.count, 0), 7, 'every question counted once');
});

t.test('to-human: a keyword always; intent (ToAgentEnable) only when the knowledge does not answer as well', async (t) => {
  const ranks = (faq: number, chat: number, human: number) => (library: KnowledgeLibrary) => [q(library, library === 'faq' ? faq : library === 'chitchat' ? chat : human)];
  const keywords = ['人工'];
  t.match(respond(config(), keywords, ranks(1, 1, 0), '转人工'), { strategy: 'toHuman' }, 'a keyword beats even an exact answer');
  t.match(respond(config(), keywords, ranks(0.3, 0.2, 0.9), '我想和真人聊'), { strategy: 'toHuman', score: 0.9 });
  t.match(respond(config(), keywords, ranks(0.3, 1, 0.9), '你是真人吗'), { strategy: 'chitchat' }, 'chitchat that answers better wins');
  t.match(respond(config(), keywords, ranks(0.3, 0.2, 0.84), 'x'), { strategy: 'fallback' }, 'under 0.85 is no intent');
  t.match(respond(config({ toAgentEnable: false }), keywords, ranks(0.3, 0.2, 1), 'x'), { strategy: 'fallback' }, 'intent recognition off');
});

t.test('a clarification card stays within a message: the weakest candidates give way', async (t) => {
  const long = (id: string, score: number): RankedQuestion => ({ ...q(id, score), question: '问'.repeat(500) });
  const r = decide(config({ clarifyNumber: 10 }), Array.from({ length: 10 }, (_, i) => long(`c${i}`, 0.79 - i * 0.01)));
  const body = replyBody(config(), r);
  t.ok(Buffer.byteLength(JSON.stringify(body)) <= MAX_BODY_BYTES, 'within 12 KB');
  const items = (deskPayload(body as never) as unknown as { content: { items: unknown[] } }).content.items;
  t.ok(items.length >= 1 && items.length < 10, `${items.length} of 10 kept`);
});
