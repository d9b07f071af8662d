/**
 * The 大模型 mode against a local fake of an OpenAI-compatible server that streams: the answer reaches the user as one
 * `src 31` message growing by edits; the request carries the model, the key, the prompt and the matching FAQ; the
 * guardrails (knowledge only, failures, timeouts) give the refusal; a transfer while the model writes stops the call
 * and closes the message as it stands.
 */
import t from 'tap';
import type { ServerFrame } from '../../protocol/frames';
import type { DeclaredApp } from '../../src/config/config';
import { textBody, type TestClient } from '../helpers/client';
import { rest } from '../contract/rest-client';
import { fakeModel, type Behaviour, type FakeModel } from '../helpers/fake-model';
import { startTestServer, testApp, type TestServer } from '../helpers/server';
import { CS, KEY, APP, dataOf, fullHistory, nextRandom, waitUntil } from './_support';

async function withModel(t: Tap, behaviour: Behaviour, llm: Partial<NonNullable<DeclaredApp['llm']>> = {}): Promise<{ s: TestServer; model: FakeModel }> {
  const model = await fakeModel(behaviour);
  const s = await startTestServer(testApp(['alice@desk.test'], {}, { llm: { baseUrl: model.url, model: 'fake-model-1', apiKey: 'sk-test-123', ...llm } }));
  t.teardown(async () => { await s.stop(); await model.close(); });
  return { s, model };
}
type Tap = { teardown(fn: () => unknown): void };

const STREAM = '31';
const payloadOf = (f: ServerFrame): { src?: string; chunks?: string[]; isFinished?: number } => {
  const e = (dataOf<{ body: { MsgType: string; MsgContent: { Data?: string } }[] }>(f).body ?? [])[0];
  if (e?.MsgType !== 'TIMCustomElem') return {};
  try { return JSON.parse(e.MsgContent.Data ?? '{}'); } catch { return {}; }
};
const isStream = (f: ServerFrame) => (f.type === 'message' || f.type === 'message.edit') && payloadOf(f).src === STREAM;
const finished = (u: TestClient) => u.frames.find((f) => f.type === 'message.edit' && payloadOf(f).isFinished === 1);

async function ask(s: TestServer, userId: string, question: string): Promise<TestClient> {
  const u = await s.user(userId);
  await u.request('message.send', { to: CS, random: nextRandom(), body: textBody(question) });
  return u;
}

t.test('the answer streams into one src 31 message; the request carries the model, key, prompt and the matching FAQ', async (t) => {
  const { s, model } = await withModel(t, { kind: 'stream', pieces: ['您好，', '退款', '会在 3 个', '工作日内到账。'], gapMs: 80 }, { prompt: '你是 Desk 商城的客服。' });
  const api = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  const category = ((await rest(api, 'openim_console_http_svc/desc_faq_category', {})) as { List: { CategoryId: number; MenuType: number }[] }).List.find((c) => c.MenuType === 0)!.CategoryId;
  await rest(api, 'openim_console_http_svc/add_faq', { CategoryId: category, Question: '退款多久到账', Answer: '退款 1-3 个工作日到账。' });

  const u = await ask(s, 'u1', '退款多久到账');
  await waitUntil(() => !!finished(u), 10_000, 'the finished answer');
  const frames = u.frames.filter(isStream);
  t.equal(frames[0].type, 'message', 'first the message, empty');
  t.same(payloadOf(frames[0]).chunks, []);
  t.ok(frames.filter((f) => f.type === 'message.edit').length >= 2, 'then edits as the answer grows');
  const seqs = new Set(frames.map((f) => dataOf<{ seq: number }>(f).seq));
  t.equal(seqs.size, 1, 'all of one message');
  t.equal(payloadOf(finished(u)!).chunks!.join(''), '您好，退款会在 3 个工作日内到账。', 'the whole answer, in order');

  const req = model.requests[0];
  t.equal(req.auth, 'Bearer sk-test-123', 'the key');
  t.match(req.body, { model: 'fake-model-1', stream: true }, 'the model, streamed');
  t.match(req.body.messages[0], { role: 'system', content: /你是 Desk 商城的客服。[\s\S]*Q: 退款多久到账\nA: 退款 1-3 个工作日到账。/ }, 'the prompt and the FAQ it may answer from');
  t.same(req.body.messages.slice(1), [{ role: 'assistant', content: '您好请问有什么可以帮助您的?' }, { role: 'user', content: '退款多久到账' }], 'the welcome so far, then the question');

  // A second question: the model sees the conversation so far.
  const before = u.frames.length;
  await u.request('message.send', { to: CS, random: nextRandom(), body: textBody('那运费呢') });
  await waitUntil(() => model.requests.length === 2 && u.frames.slice(before).some((f) => f.type === 'message.edit' && payloadOf(f).isFinished === 1), 10_000, 'the second answer');
  const second = model.requests[1].body.messages;
  t.same(second.slice(-3), [
    { role: 'user', content: '退款多久到账' },
    { role: 'assistant', content: '您好，退款会在 3 个工作日内到账。' },
    { role: 'user', content: '那运费呢' },
  ], 'the earlier question and answer come before the new question');

  const stored = (await fullHistory(u, { to: CS })).filter((m) => JSON.stringify(m.body).includes('\\"src\\":\\"31\\"'));
  t.equal(stored.length, 2, 'each answer stored once');
  t.match(JSON.stringify(stored[0].body), /isFinished\\":1/, 'stored finished, for history.sync');
});

t.test('knowledge only: with no FAQ close enough the refusal answers, and the model is not asked', async (t) => {
  const { s, model } = await withModel(t, { kind: 'stream', pieces: ['不该出现'], gapMs: 10 }, { knowledgeOnly: true, refusal: '这个问题请咨询人工客服。' });
  const u = await ask(s, 'u2', '今天天气怎么样');
  await waitUntil(() => !!finished(u), 5000, 'the refusal');
  t.equal(payloadOf(finished(u)!).chunks!.join(''), '这个问题请咨询人工客服。');
  t.equal(model.requests.length, 0, 'no request to the model');
});

t.test('a failing or silent model: the refusal answers', async (t) => {
  const failing = await withModel(t, { kind: 'fail' }, { refusal: '稍后再试。' });
  const u = await ask(failing.s, 'u3', '你好');
  await waitUntil(() => !!finished(u), 5000, 'the refusal after HTTP 500');
  t.equal(payloadOf(finished(u)!).chunks!.join(''), '稍后再试。', 'after an HTTP error');

  const silent = await withModel(t, { kind: 'hang' }, { refusal: '稍后再试。', timeoutMs: 1000 });
  const started = Date.now();
  const v = await ask(silent.s, 'u4', '你好');
  await waitUntil(() => !!finished(v), 8000, 'the refusal after the timeout');
  t.equal(payloadOf(finished(v)!).chunks!.join(''), '稍后再试。', 'after the timeout');
  t.ok(Date.now() - started >= 900, 'not before the timeout');
});

t.test('a transfer while the model writes: the call stops and the message closes as it stands', async (t) => {
  const pieces = Array.from({ length: 30 }, (_, i) => `第${i + 1}句。`);
  const { s, model } = await withModel(t, { kind: 'stream', pieces, gapMs: 100 });
  const alice = await s.agent('alice@desk.test');
  const u = await ask(s, 'u5', '介绍一下你们的会员');
  await waitUntil(() => u.frames.some((f) => f.type === 'message.edit' && isStream(f) && (payloadOf(f).chunks ?? []).join('').length > 0), 5000, 'the first words');
  await u.request('message.send', { to: CS, random: nextRandom(), body: textBody('转人工') });
  await alice.next((f) => f.type === 'session.assigned', 5000);
  await waitUntil(() => !!finished(u), 5000, 'the message closed');
  const text = payloadOf(finished(u)!).chunks!.join('');
  t.ok(text.length > 0 && text.length < pieces.join('').length, `the answer stops where it was (${text.length} of ${pieces.join('').length} characters)`);
  await waitUntil(() => model.cutOff === 1, 5000, 'the model call cut off');
  const edits = u.frames.filter((f) => f.type === 'message.edit' && isStream(f)).length;
  await new Promise((r) => setTimeout(r, 500));
  t.equal(u.frames.filter((f) => f.type === 'message.edit' && isStream(f)).length, edits, 'nothing more is written');
});
