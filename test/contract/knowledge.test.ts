import t from 'tap';
import type { ServerFrame } from '../../protocol/frames';
import { srcBody, srcOf, textBody, textOf, type TestClient } from '../helpers/client';
import { APP, CS, KEY, startTestServer, testApp, type TestServer } from '../helpers/server';
import { rest, type RestTarget } from './rest-client';

const api = (s: TestServer): RestTarget => ({ port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' });
const call = (s: TestServer, command: string, body: unknown) => rest(api(s), `openim_console_http_svc/${command}`, body);
const OK = { ActionStatus: 'OK', ErrorCode: 0 };
const FALLBACK = '抱歉，我还没有学会这个问题，请换种问法或尝试询问我其他问题。';

/** A fresh server; the console's 5 calls/s limit is per endpoint, so tests pace their calls where they repeat one. */
async function server(t: { teardown(fn: () => unknown): void }): Promise<TestServer> {
  const s = await startTestServer(testApp());
  t.teardown(() => s.stop());
  return s;
}

const pause = () => new Promise((r) => setTimeout(r, 220));

async function faqCategory(s: TestServer, title = '订单'): Promise<number> {
  const r = await call(s, 'add_faq_category', { Title: title });
  return r.CategoryId as number;
}

/** A user who entered the conversation; returns the socket. */
async function entered(s: TestServer, id: string, extra: Record<string, unknown> = {}): Promise<TestClient> {
  const user = await s.user(id);
  await user.request('message.send', { to: CS, random: 1, body: srcBody('7', extra) });
  await user.next((f) => textOf(f) === '您好请问有什么可以帮助您的?');
  return user;
}

async function ask(user: TestClient, text: string, random: number): Promise<ServerFrame> {
  await user.request('message.send', { to: CS, random, body: textBody(text) });
  return user.next((f) => f.type === 'message' && (f.data as { fromRole: number; seq: number }).fromRole === 3 && (f.data as { seq: number }).seq > 0 && !/正在为您转接/.test(textOf(f) ?? ''));
}

t.test('categories: presets, two levels, rename, delete with questions; preset ones refused with -50011', async (t) => {
  const s = await server(t);
  const faq = await call(s, 'desc_faq_category', {});
  t.match(faq, { ...OK, Total: 2, List: [{ Title: '全部分类', MenuType: 1, ParentId: 0, Status: 1 }, { Title: '预设问答库', MenuType: 0, ParentId: 0, Status: 1 }] });
  const chat = await call(s, 'desc_chitchat_category', {});
  const titles = (chat.List as { Title: string; MenuType: number; ParentId: number; CategoryId: number }[]);
  const preset = titles.find((c) => c.Title === '系统预设分类')!;
  t.match(preset, { MenuType: 2, ParentId: 0 });
  t.same(titles.filter((c) => c.ParentId === preset.CategoryId).map((c) => c.Title), ['日常问候', '询问机器人信息', '情绪表达', '兴趣爱好', '客服场景问答']);

  const top = await faqCategory(s);
  const child = (await call(s, 'add_faq_category', { ParentId: top, Title: '这是二级分类' })).CategoryId as number;
  t.ok(child > top, 'a sub-category');
  await pause();
  t.match(await call(s, 'add_faq_category', { ParentId: child, Title: 'third level' }), { ErrorCode: -7 }, 'two levels at most');
  await pause();
  t.match(await call(s, 'add_faq_category', { ParentId: 99999999, Title: 'x' }), { ErrorCode: -7 }, 'the add pages list -7 only');
  await pause();
  t.match(await call(s, 'add_faq_category', { Title: '' }), { ErrorCode: -7 });
  t.same(await call(s, 'update_faq_category', { CategoryId: child, Title: '问答库分类更新' }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  t.match((await call(s, 'desc_faq_category', {})).List, [{}, {}, {}, { CategoryId: child, Title: '问答库分类更新', ParentId: top }]);

  await call(s, 'add_faq', { CategoryId: child, Question: '怎么开发票', Answer: '在订单详情里申请', AnswerType: 0 });
  t.same(await call(s, 'del_faq_category', { CategoryId: top }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  t.match(await call(s, 'list_faq', { PageIndex: 1, PageSize: 10 }), { StandardQuestionCount: 0 }, 'its sub-category and questions went with it');
  t.match(await call(s, 'del_chitchat_category', { CategoryId: preset.CategoryId }), { ErrorCode: -50011 });
  await pause();
  t.match(await call(s, 'del_faq_category', { CategoryId: (faq.List as { CategoryId: number }[])[0].CategoryId }), { ErrorCode: -50011 }, '"all categories" is not deletable either');
});

t.test('FAQ questions: add, list with filters and counts, update, similar questions, batch status, limits', async (t) => {
  const s = await server(t);
  const cat = await faqCategory(s);
  const add = await call(s, 'add_faq', { CategoryId: cat, Question: 'REST_API 添加问题', Answer: 'REST_API添加回答', AnswerType: 0, SimilarQuestions: ['相似问题 1', '相似问题 2'], LanguageTag: '' });
  t.same(add, { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' }, 'the documented response: no id');
  await call(s, 'add_faq', { CategoryId: cat, Question: '如何修改机器人知识库', Answer: '**控制台** > 知识库', AnswerType: 2 });
  const list = await call(s, 'list_faq', { PageIndex: 1, PageSize: 10 });
  t.match(list, { ...OK, AllQuestionCount: 4, StandardQuestionCount: 2 });
  const items = list.QuestionList as Record<string, unknown>[];
  const first = items.find((q) => q.StandardQuestion === 'REST_API 添加问题')!;
  t.match(first, { Status: 4, CategoryId: cat, Answer: 'REST_API添加回答', AnswerType: 0, QuestionType: 0, SimilarQuestions: ['相似问题 1', '相似问题 2'] });
  t.match(first.StandardQuestionId, /^1400000001-@RBT#DeskDefaultRobot-/);
  const id = first.StandardQuestionId as string;
  await pause();
  t.match(await call(s, 'list_faq', { PageIndex: 1, PageSize: 1 }), { StandardQuestionCount: 2, QuestionList: [{}] }, 'paging');
  await pause();
  t.match(await call(s, 'list_faq', { PageIndex: 1, PageSize: 10, Question: '机器人' }), { StandardQuestionCount: 1, QuestionList: [{ StandardQuestion: '如何修改机器人知识库' }] }, 'keyword');
  await pause();
  t.match(await call(s, 'list_faq', { PageIndex: 1, PageSize: 10, Status: 3 }), { ErrorCode: -7 }, 'Status is 4 or 5');
  await pause();
  t.match(await call(s, 'list_faq', { PageIndex: 0, PageSize: 10 }), { ErrorCode: -7 });

  t.same(await call(s, 'update_faq', { StandardQuestionId: id, Answer: '新的回答', Question: '', CategoryId: 0 }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  t.same(await call(s, 'update_faq_similar', { StandardQuestionId: id, SimilarQuestions: [] }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  await pause();
  const after = ((await call(s, 'list_faq', { PageIndex: 1, PageSize: 10, Question: 'REST_API' })).QuestionList as Record<string, unknown>[])[0];
  t.match(after, { StandardQuestion: 'REST_API 添加问题', Answer: '新的回答', CategoryId: cat, SimilarQuestions: [] }, 'empty fields are left as they were; similar questions replaced');
  await pause();
  t.match(await call(s, 'update_faq', { StandardQuestionId: 'nope', Answer: 'x' }), { ErrorCode: -50003 });

  t.same(await call(s, 'batch_set_faq', { StandardQuestionIds: [id], Status: 5 }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  await pause();
  t.match(await call(s, 'list_faq', { PageIndex: 1, PageSize: 10, Status: 5 }), { StandardQuestionCount: 1, QuestionList: [{ StandardQuestionId: id, Status: 5 }] });
  await pause();
  t.match(await call(s, 'batch_set_faq', { StandardQuestionIds: [id, 'missing'], Status: 6 }), { ErrorCode: -50003 }, 'all or nothing');
  await pause();
  t.match(await call(s, 'list_faq', { PageIndex: 1, PageSize: 10 }), { StandardQuestionCount: 2 }, 'nothing was deleted');
  await pause();
  t.same(await call(s, 'batch_set_faq', { StandardQuestionIds: [id], Status: 6 }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  await pause();
  t.match(await call(s, 'list_faq', { PageIndex: 1, PageSize: 10 }), { StandardQuestionCount: 1 }, 'status 6 deletes');

  await pause();
  t.match(await call(s, 'add_faq', { CategoryId: cat, Question: 'x', Answer: 'y'.repeat(10_001) }), { ErrorCode: -7 }, 'answers stop at 10,000 bytes');
  await pause();
  t.match(await call(s, 'add_faq', { CategoryId: cat, Question: 'x', Answer: '答'.repeat(3400) }), { ErrorCode: -7 }, 'bytes, not characters');
  await pause();
  t.match(await call(s, 'add_faq', { CategoryId: cat, Question: 'x', Answer: 'y', LanguageTag: 'en' }), { ErrorCode: -50051 }, 'a language not added');
  await pause();
  t.match(await call(s, 'add_faq', { CategoryId: 424242, Question: 'x', Answer: 'y' }), { ErrorCode: -7 });
  await pause();
  t.match(await call(s, 'add_faq', { CategoryId: cat, Question: 'x', Answer: '"\n'.repeat(3000) }), { ErrorCode: -7 }, 'an answer whose message would pass 12 KB');
  const all = ((await call(s, 'desc_faq_category', {})).List as { MenuType: number; CategoryId: number }[]).find((c) => c.MenuType === 1)!;
  await pause();
  t.match(await call(s, 'add_faq', { CategoryId: all.CategoryId, Question: 'x', Answer: 'y' }), { ErrorCode: -7 }, '"all categories" holds no questions');
});

t.test('chitchat: preset questions answer when enabled; a preset question cannot be deleted, only disabled or re-answered', async (t) => {
  const s = await server(t);
  const preset = ((await call(s, 'list_chitchat', { PageIndex: 1, PageSize: 50 })).QuestionList as Record<string, unknown>[]);
  const hello = preset.find((q) => q.StandardQuestion === '你好')!;
  t.match(hello, { QuestionType: 1, Status: 4 });
  t.match(await call(s, 'batch_set_chitchat', { StandardQuestionIds: [hello.StandardQuestionId], Status: 6 }), { ErrorCode: -50011 });
  await pause();
  t.match(await call(s, 'update_chitchat', { StandardQuestionId: hello.StandardQuestionId, Question: '你好呀' }), { ErrorCode: -7 });
  await pause();
  t.match(await call(s, 'update_chitchat', { StandardQuestionId: hello.StandardQuestionId, Answer: '您好，我是小助手' }), OK);

  const user = await entered(s, 'u1');
  t.equal(textOf(await ask(user, '你好', 2)), FALLBACK, 'chitchat is off by default');
  t.match(await call(s, 'update_robot_config', { ChitchatEnable: 1 }), OK);
  t.equal(textOf(await ask(user, '你好', 3)), '您好，我是小助手', 'the edited preset answer');
  const cat = (await call(s, 'add_chitchat_category', { ParentId: 0, Title: '自定义寒暄' })).CategoryId as number;
  await call(s, 'add_chitchat', { CategoryId: cat, Question: '你们老板是谁', Answer: '这个我可不能说', AnswerType: 0 });
  t.equal(textOf(await ask(user, '你们老板是谁', 4)), '这个我可不能说');
  t.match(await call(s, 'update_chitchat_category', { CategoryId: cat, Title: '寒暄库分类更新' }), { ...OK, CategoryId: cat });
});

t.test('the robot in a session: direct answer, rich text, clarification, fallback, to-human intent; every answer says why', async (t) => {
  const s = await server(t);
  const cat = await faqCategory(s);
  await call(s, 'add_faq', { CategoryId: cat, Question: '怎么申请退货', Answer: '在订单页点击申请退货即可。', SimilarQuestions: ['我要退货'] });
  await call(s, 'add_faq', { CategoryId: cat, Question: '退款多久到账', Answer: '**1–3 个工作日**到账。', AnswerType: 2 });
  await call(s, 'add_faq', { CategoryId: cat, Question: '怎么修改收货地址', Answer: '发货前可在订单页修改地址。' });
  const user = await entered(s, 'u1');

  t.equal(textOf(await ask(user, '怎么申请退货？', 2)), '在订单页点击申请退货即可。', 'direct answer');
  const rich = await ask(user, '退款多久能到账', 3);
  t.equal(srcOf(rich), '30', 'a rich-text answer is src 30');
  t.match(JSON.parse((rich.data as { body: { MsgContent: { Data: string } }[] }).body[0].MsgContent.Data), { content: '**1–3 个工作日**到账。' });
  t.equal(textOf(await ask(user, '今天天气怎么样', 4)), FALLBACK, 'fallback');

  t.match(await call(s, 'update_robot_config', { ClarifyEnable: 1, ClarifyReaches: '0.3', DirectAnsweringReaches: '0.99', ClarifyNumber: 2 }), OK);
  const clarify = await ask(user, '退货退款', 5);
  t.equal(srcOf(clarify), '29');
  const card = JSON.parse((clarify.data as { body: { MsgContent: { Data: string } }[] }).body[0].MsgContent.Data);
  t.match(card, { subtype: 'clarify_msg', content: { title: '您可能想问:', content: '您可能想问:' } });
  t.same(card.content.items.map((i: { content: string }) => i.content).sort(), ['怎么申请退货', '退款多久到账'], 'the two close questions, no more than ClarifyNumber');

  // Every answer is recorded with its source in the session's events.
  const conv = `session:${APP}|${CS}|u1`;
  const answered = s.store.eventsAfter(conv, 0).flatMap((r) => r.es as { type: string; source?: { strategy: string; questionId?: string; score: number } }[]).filter((e) => e.type === 'RobotAnswered');
  t.same(answered.map((e) => e.source!.strategy), ['direct', 'direct', 'fallback', 'clarify']);
  t.ok(answered[0].source!.questionId && answered[0].source!.score >= 0.8, 'which question, which score');

  const agent = await s.agent('alice@desk.test');
  await agent.next((f) => f.type === 'agent.state');
  await user.request('message.send', { to: CS, random: 6, body: textBody('我想和真人聊') });
  await agent.next((f) => f.type === 'session.assigned');
  t.pass('to-human intent recognised (ToAgentEnable is on by default)');
});

t.test('welcome card when the robot first serves a user; ToAgentEnable off leaves intent to the keywords', async (t) => {
  const s = await server(t);
  t.match(await call(s, 'update_robot_config', { WelcomeCardEnable: 1, WelcomeCardTitle: '猜你想问', WelcomeCardQuestions: ['如何退货', '运费怎么算'], ToAgentEnable: 0 }), OK);
  await pause();
  t.match(await call(s, 'update_robot_config', { WelcomeCardQuestions: Array.from({ length: 21 }, (_, i) => `q${i}`) }), { ErrorCode: -7 }, 'at most 20 questions');
  const user = await entered(s, 'u1');
  const card = await user.next((f) => srcOf(f) === '29');
  t.match(JSON.parse((card.data as { body: { MsgContent: { Data: string } }[] }).body[0].MsgContent.Data), { subtype: 'welcome_msg', content: { title: '猜你想问', content: '', items: [{ content: '如何退货' }, { content: '运费怎么算' }] } });
  t.equal(textOf(await ask(user, '我想和真人聊', 2)), FALLBACK, 'no intent recognition: the robot answers');
  await user.request('message.send', { to: CS, random: 3, body: srcBody('7') });
  await new Promise((r) => setTimeout(r, 100));
  t.equal(user.frames.filter((f) => srcOf(f) === '29').length, 1, 'once per session');
});

t.test('test and production: edits in test, the online test, publishing with versions; production edits take effect at once', async (t) => {
  const s1 = await startTestServer(testApp());
  const cat = await faqCategory(s1);
  t.match(await call(s1, 'add_faq', { CategoryId: cat, Question: '你们支持货到付款吗', Answer: '支持，部分地区除外。', Environment: 'test' }), OK);
  t.match(await call(s1, 'list_faq', { PageIndex: 1, PageSize: 10 }), { StandardQuestionCount: 0 }, 'not in production');
  t.match(await call(s1, 'list_faq', { PageIndex: 1, PageSize: 10, Environment: 'test' }), { StandardQuestionCount: 1 });
  t.match(await call(s1, 'update_robot_config', { FallbackMsg: '测试环境兜底', Environment: 'test' }), OK);
  t.match(await call(s1, 'desc_robot_config', {}), { FallbackMsg: FALLBACK }, 'production config unchanged');
  t.match(await call(s1, 'desc_robot_config', { Environment: 'test' }), { FallbackMsg: '测试环境兜底' });
  t.match(await call(s1, 'desk_robot_publish_status', {}), { Unpublished: 1 });

  const tested = await call(s1, 'desk_robot_online_test', { Question: '支持货到付款吗' });
  t.match(tested, { ...OK, Strategy: 'direct', MsgBody: [{ MsgContent: { Text: '支持，部分地区除外。' } }], Source: { StandardQuestion: '你们支持货到付款吗' } });
  t.ok((tested.Source as { Score: number }).Score >= 0.8, 'with its score');
  await pause();
  t.match(await call(s1, 'desk_robot_online_test', { Question: '今天天气怎么样' }), { Strategy: 'fallback', MsgBody: [{ MsgContent: { Text: '测试环境兜底' } }] }, 'the test configuration answers');

  const user = await entered(s1, 'u1');
  t.equal(textOf(await ask(user, '支持货到付款吗', 2)), FALLBACK, 'users get production');
  const pub = await call(s1, 'desk_robot_publish', { Note: '新增货到付款' });
  t.match(pub, { ...OK, Version: /^V\d{18,22}$/ });
  t.match(await call(s1, 'desk_robot_publish_status', {}), { Unpublished: 0 });
  t.equal(textOf(await ask(user, '支持货到付款吗', 3)), '支持，部分地区除外。', 'published');
  t.match(await call(s1, 'desc_robot_config', {}), { FallbackMsg: '测试环境兜底' }, 'the configuration was published too');

  // A production edit (the documented API) takes effect at once and lands in test too.
  await pause();
  t.match(await call(s1, 'add_faq', { CategoryId: cat, Question: '发票怎么开', Answer: '在订单详情申请电子发票。' }), OK);
  t.equal(textOf(await ask(user, '发票怎么开', 4)), '在订单详情申请电子发票。');
  await pause();
  t.match(await call(s1, 'list_faq', { PageIndex: 1, PageSize: 10, Environment: 'test' }), { StandardQuestionCount: 2 });
  await s1.stop();

  const s2 = await startTestServer(testApp(), { dataDir: s1.dataDir });
  t.teardown(() => s2.stop());
  const records = await call(s2, 'desk_robot_publish_records', {});
  t.match(records, { ...OK, Total: 1, List: [{ Version: pub.Version, Note: '新增货到付款', Status: '已发布' }] }, 'versions survive a restart');
  t.match(await call(s2, 'list_faq', { PageIndex: 1, PageSize: 10 }), { StandardQuestionCount: 2 }, 'so does the knowledge');
});

t.test('languages: the client names one in src 7 and the robot answers from it; a language with questions stays', async (t) => {
  const s = await server(t);
  t.match(await call(s, 'robot_add_language', { LanguageTag: 'en' }), OK);
  const cat = await faqCategory(s, 'Orders');
  await call(s, 'add_faq', { CategoryId: cat, Question: 'How do I return an item?', Answer: 'Open the order and choose Return.', LanguageTag: 'en' });
  await pause();
  await call(s, 'add_faq', { CategoryId: cat, Question: '怎么退货', Answer: '在订单页申请退货。' });
  const en = await entered(s, 'u-en', { language: 'en_US' });
  t.equal(textOf(await ask(en, 'how can I return my item', 2)), 'Open the order and choose Return.');
  const zh = await entered(s, 'u-zh');
  t.equal(textOf(await ask(zh, 'how can I return my item', 2)), FALLBACK, 'the default language knows only Chinese');
  t.match(await call(s, 'list_faq', { PageIndex: 1, PageSize: 10 }), { StandardQuestionCount: 1 }, 'list_faq shows the default language unless asked');
  await pause();
  t.match(await call(s, 'list_faq', { PageIndex: 1, PageSize: 10, LanguageTag: 'en' }), { StandardQuestionCount: 1, QuestionList: [{ StandardQuestion: 'How do I return an item?' }] });
  t.match(await call(s, 'robot_del_language', { LanguageTag: 'en' }), { ErrorCode: -50056 });
});

t.test('QA optimisation: unanswered questions clustered, then made an FAQ or similar questions of one', async (t) => {
  const s = await server(t);
  const cat = await faqCategory(s);
  await call(s, 'add_faq', { CategoryId: cat, Question: '怎么修改收货地址', Answer: '发货前可在订单页修改地址。' });
  const user = await entered(s, 'u1');
  let r = 2;
  for (const q of ['你们支持货到付款吗', '支持货到付款吗？', '你们支持货到付款吗', '可以货到付款吗', '今天天气怎么样']) await ask(user, q, r++);
  const clusters = await call(s, 'desk_robot_unanswered_clusters', {});
  t.match(clusters, { ...OK, Total: 2, Clusters: [{ Center: '你们支持货到付款吗', Count: 4 }, { Center: '今天天气怎么样', Count: 1 }] });
  const phrasings = (clusters.Clusters as { Questions: { Question: string; Added: number }[] }[])[0].Questions;
  t.ok(phrasings.every((p) => p.Added === 0));

  const made = await call(s, 'desk_robot_optimize', { Questions: phrasings.map((p) => p.Question), CategoryId: cat, Question: '支持货到付款吗', Answer: '支持，部分地区除外。' });
  t.match(made, { ...OK, StandardQuestionId: /-@RBT#DeskDefaultRobot-/ });
  await pause();
  const again = await call(s, 'desk_robot_unanswered_clusters', {});
  t.ok(((again.Clusters as { Questions: { Added: number }[] }[])[0].Questions).every((p) => p.Added === 1), 'shown as added');
  t.equal(textOf(await ask(user, '你们支持货到付款吗', 20)), '支持，部分地区除外。', 'now answered');

  const address = ((await call(s, 'list_faq', { PageIndex: 1, PageSize: 10, Question: '地址' })).QuestionList as { StandardQuestionId: string }[])[0];
  await pause();
  t.match(await call(s, 'desk_robot_optimize', { Questions: ['地址填错了'], StandardQuestionId: address.StandardQuestionId }), OK);
  await pause();
  t.match(await call(s, 'list_faq', { PageIndex: 1, PageSize: 10, Question: '地址' }), { QuestionList: [{ SimilarQuestions: ['地址填错了'] }] });
  await pause();
  t.match(await call(s, 'desk_robot_optimize', { Questions: ['x'] }), { ErrorCode: -7 }, 'neither a target nor a new FAQ');
  await pause();
  t.match(await call(s, 'desk_robot_unanswered_clusters', { StartTime: 0, EndTime: 200 * 86400 }), { ErrorCode: -7 }, 'at most 90 days');
});

t.test('robots: each has its own knowledge and configuration; a session uses its account\'s robot', async (t) => {
  const s = await server(t);
  const robotId = (await call(s, 'desk_add_robot', { RobotNickName: 'Sales' })).RobotId as string;
  t.match(await call(s, 'desc_faq_category', { RobotId: robotId }), { Total: 2 }, 'a new robot starts with its own presets');
  const cat = (await call(s, 'add_faq_category', { Title: '销售', RobotId: robotId })).CategoryId as number;
  await call(s, 'add_faq', { CategoryId: cat, Question: '有团购价吗', Answer: '十件起有团购价。', RobotId: robotId });
  t.match(await call(s, 'update_robot_config', { FallbackMsg: '销售机器人兜底', RobotId: robotId }), OK);
  t.match(await call(s, 'desk_robot_online_test', { Question: '有团购价吗' }), { Strategy: 'fallback' }, 'the default robot does not know it');
  await pause();
  t.match(await call(s, 'list_faq', { PageIndex: 1, PageSize: 10, RobotId: '@RBT#nope' }), { ErrorCode: -50003 });

  const user = await entered(s, 'u1');
  t.equal(textOf(await ask(user, '有团购价吗', 2)), FALLBACK, 'the account is bound to the default robot');
  t.match(await rest(api(s), 'desk_http_svc/update_im_agent', { IMAgentUserID: CS, RobotId: robotId }), { ActionStatus: 'OK' });
  t.equal(textOf(await ask(user, '有团购价吗', 3)), '十件起有团购价。', 'bound to the new robot: its knowledge');
  t.equal(textOf(await ask(user, '今天天气怎么样', 4)), '销售机器人兜底', 'and its configuration');
});
