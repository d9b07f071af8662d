/**
 * Matching by meaning through the real server, against a local embeddings server: a paraphrase that shares no word
 * with an FAQ gets its answer (and does not without embeddings); a question about something else still falls back;
 * the online test matches the same way; an embeddings server that fails leaves the robot answering by words, at once.
 */
import t from 'tap';
import type { ServerFrame } from '../../protocol/frames';
import { textBody, textOf, type TestClient } from '../helpers/client';
import { fakeEmbeddings, type FakeEmbeddings } from '../helpers/fake-embeddings';
import { rest } from '../contract/rest-client';
import { startTestServer, testApp, type TestServer } from '../helpers/server';
import { APP, CS, KEY, dataOf, nextRandom } from './_support';

const FAQS = [
  { Question: 'How do I track my order', Answer: 'Open Orders and tap Track.' },
  { Question: '会员有什么权益', Answer: '会员享受包邮和专属折扣。' },
  { Question: 'How can I get a refund', Answer: 'Refunds arrive within 3 working days.' },
];
const FALLBACK = /还没有学会/;

async function serverWith(t: Tap, embeddings?: FakeEmbeddings): Promise<TestServer> {
  const s = await startTestServer(testApp(['alice@desk.test'], {}, embeddings ? { embeddings: { baseUrl: embeddings.url, model: 'fake-embed-1', apiKey: 'sk-embed', timeoutMs: 2000 } } : {}));
  t.teardown(() => s.stop());
  const api = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  const category = ((await rest(api, 'openim_console_http_svc/desc_faq_category', {})) as { List: { CategoryId: number; MenuType: number }[] }).List.find((c) => c.MenuType === 0)!.CategoryId;
  for (const f of FAQS) await rest(api, 'openim_console_http_svc/add_faq', { CategoryId: category, ...f });
  return s;
}
type Tap = { teardown(fn: () => unknown): void };

/** A `src 31` message's payload, if the frame is one. */
function streamOf(f: ServerFrame): { chunks: string[]; isFinished: number } | undefined {
  const e = dataOf<{ body?: { MsgType: string; MsgContent: { Data?: string } }[] }>(f).body?.[0];
  if (e?.MsgType !== 'TIMCustomElem') return undefined;
  const p = JSON.parse(e.MsgContent.Data ?? '{}') as { src?: string; chunks: string[]; isFinished: number };
  return p.src === '31' ? p : undefined;
}

/** The robot's answer to a question (the next text from the account after it). */
async function answerTo(u: TestClient, question: string): Promise<string> {
  const mark = u.frames.length;
  const ack = await u.request('message.send', { to: CS, random: nextRandom(), body: textBody(question) });
  const seq = dataOf<{ seq: number }>(ack).seq;
  const f = await u.next((x) => u.frames.indexOf(x) >= mark && x.type === 'message' && dataOf<{ seq: number }>(x).seq > seq && textOf(x) !== undefined, 8000, `the answer to ${question}`);
  return textOf(f)!;
}

t.test('a paraphrase gets the FAQ\'s answer by meaning; without embeddings it falls back', async (t) => {
  const embeddings = await fakeEmbeddings();
  t.teardown(() => embeddings.close());
  const s = await serverWith(t, embeddings);
  const u = await s.user('u1');
  t.equal(await answerTo(u, 'where is my parcel now'), 'Open Orders and tap Track.', 'no shared word, same meaning');
  t.equal(await answerTo(u, '成为会员有啥好处'), '会员享受包邮和专属折扣。', 'in Chinese too');
  t.match(await answerTo(u, 'what colour is the sky'), FALLBACK, 'something no FAQ is about still falls back');
  t.equal(await answerTo(u, 'How can I get a refund'), 'Refunds arrive within 3 working days.', 'an exact question as before');
  t.match(embeddings.requests[0], { auth: 'Bearer sk-embed', model: 'fake-embed-1' }, 'the key and the model');
  t.ok(embeddings.requests.some((r) => r.input.includes('How do I track my order')), 'the phrasings were embedded');

  const api = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  const tried = await rest(api, 'openim_console_http_svc/desk_robot_online_test', { Question: 'is my package shipped yet' }) as Record<string, any>;
  t.match(tried, { Strategy: 'direct', Source: { StandardQuestion: 'How do I track my order' } }, 'the online test matches by meaning too');

  // A task flow's intents are matched by meaning too.
  t.match(await rest(api, 'openim_console_http_svc/desk_robot_task_flow_add', {
    TaskFlow: { name: 'invoices', intents: ['I need an invoice'], start: 'hello', nodes: [{ kind: 'reply', id: 'hello', text: 'Invoice desk: send your order number.' }] },
  }), { ActionStatus: 'OK' });
  t.equal(await answerTo(u, 'can I get a receipt for my purchase'), 'Invoice desk: send your order number.', 'a flow started by a paraphrase of its intent');

  // And documents' passages: an English passage answers a Chinese question about the same thing.
  t.match(await rest(api, 'openim_console_http_svc/desk_robot_doc_add', { Name: 'store.txt', Content: 'Our store opens at 9 in the morning and closes at 21 in the evening.' }), { ActionStatus: 'OK' });
  const mark = u.frames.length;
  await u.request('message.send', { to: CS, random: nextRandom(), body: textBody('你们几点营业') });
  const passage = await u.next((f) => u.frames.indexOf(f) >= mark && f.type === 'message' && streamOf(f)?.isFinished === 1, 8000, 'the passage');
  t.match(streamOf(passage)!.chunks.join(''), /opens at 9/, 'the passage, as a finished src 31 message');

  const words = await serverWith(t);
  const w = await words.user('u1');
  t.match(await answerTo(w, 'where is my parcel now'), FALLBACK, 'the control: by words alone the paraphrase is not understood');
});

t.test('an embeddings server that fails: the robot answers by words, without waiting on it again', async (t) => {
  const embeddings = await fakeEmbeddings();
  t.teardown(() => embeddings.close());
  const s = await serverWith(t, embeddings);
  embeddings.fail = true;
  const u = await s.user('u1');
  const started = Date.now();
  t.match(await answerTo(u, 'where is my parcel now'), FALLBACK, 'answered by words');
  const asked = embeddings.requests.length;
  t.equal(await answerTo(u, 'How do I track my order'), 'Open Orders and tap Track.', 'exact questions still answered');
  t.equal(embeddings.requests.length, asked, 'a failed embedder is left alone for a while');
  t.ok(Date.now() - started < 5000, 'no question waited for the embedder\'s timeout');
});
