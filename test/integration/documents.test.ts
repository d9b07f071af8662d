/**
 * Document QA through the real server: documents added, listed and deleted over REST; a question the FAQs do not
 * answer gets the best passage as a finished src 31 message, one the documents do not answer gets the fallback; in
 * language-model mode the passages go to the model as knowledge.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { ServerFrame } from '../../protocol/frames';
import { textBody, textOf } from '../helpers/client';
import { fakeModel } from '../helpers/fake-model';
import { adminSig, rest } from '../contract/rest-client';
import { startTestServer, testApp, type TestServer } from '../helpers/server';
import { APP, CS, KEY, dataOf, nextRandom, waitUntil } from './_support';
import type { DocQaSet } from '../../src/knowledge/evaluate-documents';

const set = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../test/fixtures/doc-qa.json'), 'utf8')) as DocQaSet;
const api = (s: TestServer) => ({ port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' });
const console_ = (s: TestServer, command: string, body: Record<string, unknown>) => rest(api(s), `openim_console_http_svc/${command}`, body) as Promise<Record<string, any>>;

const streamText = (f: ServerFrame): string | undefined => {
  const e = dataOf<{ body: { MsgType: string; MsgContent: { Data?: string } }[] }>(f).body?.[0];
  if (f.type !== 'message' || e?.MsgType !== 'TIMCustomElem') return undefined;
  const p = JSON.parse(e.MsgContent.Data ?? '{}') as { src?: string; chunks?: string[]; isFinished?: number };
  return p.src === '31' && p.isFinished === 1 ? p.chunks!.join('') : undefined;
};

async function ask(s: TestServer, userId: string, q: string): Promise<ServerFrame> {
  const u = await s.user(userId);
  await u.request('message.send', { to: CS, random: nextRandom(), body: textBody(q) });
  return u.next((f) => f.type === 'message' && dataOf<{ fromRole: number; seq: number }>(f).fromRole === 3 && dataOf<{ seq: number }>(f).seq > 2, 5000, 'the robot answer');
}

t.test('add, list, answer, delete', async (t) => {
  const s = await startTestServer(testApp());
  t.teardown(() => s.stop());
  const added = await console_(s, 'desk_robot_doc_add', { Name: set.documents[0]!.name, Content: set.documents[0]!.content });
  t.match(added, { ActionStatus: 'OK', DocumentId: /^doc-/, Passages: 6 });
  await console_(s, 'desk_robot_doc_add', { Name: set.documents[1]!.name, Content: set.documents[1]!.content });
  const list = await console_(s, 'desk_robot_doc_list', {});
  t.match(list, { Total: 2, Documents: [{ Name: 'shipping-guide.md', Format: 'md' }, { Name: '售后服务政策.md', Format: 'md', Passages: 6 }] }, 'newest first');

  const answer = await ask(s, 'u1', '质量问题多少天内可以换货');
  t.match(streamText(answer), /15 天内/, 'the passage with the fact, as a finished src 31 message');
  const english = await ask(s, 'u2', 'How much does express shipping cost?');
  t.match(streamText(english), /15 yuan/, 'in English too');
  const offTopic = await ask(s, 'u3', '你们公司在哪个城市');
  t.equal(streamText(offTopic), undefined, 'nothing from the documents for what they do not say');
  t.ok(textOf(offTopic), 'the fallback text instead');

  const test = await rest(api(s), 'openim_console_http_svc/desk_robot_online_test', { Question: '金卡会员有什么福利' }) as Record<string, any>;
  t.match(test, { Strategy: 'document', Source: { StandardQuestion: '售后服务政策.md' } }, 'the online test says so');

  t.match(await console_(s, 'desk_robot_doc_delete', { DocumentId: added.DocumentId }), { ActionStatus: 'OK' });
  t.match(await console_(s, 'desk_robot_doc_delete', { DocumentId: added.DocumentId }), { ErrorCode: -50003 }, 'gone');
  const after = await ask(s, 'u4', '质量问题多少天内可以换货');
  t.equal(streamText(after), undefined, 'a deleted document answers nothing');
  t.match(await console_(s, 'desk_robot_doc_add', { Name: 'x.txt', Content: '' }), { ErrorCode: -7 }, 'empty content refused');
  t.match(await console_(s, 'desk_robot_doc_add', { Name: 'x.txt', Content: 'a', Format: 'pdf' }), { ErrorCode: -7 }, 'unknown format refused');

  // Kept: a restart reads them back.
  const dataDir = s.dataDir;
  await s.stop();
  const again = await startTestServer(testApp(), { dataDir });
  t.teardown(() => again.stop());
  t.match(await console_(again, 'desk_robot_doc_list', {}), { Total: 1, Documents: [{ Name: 'shipping-guide.md' }] }, 'after a restart');
  t.match(streamText(await ask(again, 'u5', 'How much does express shipping cost?')), /15 yuan/, 'and still answer');
});

t.test('uploads: PDF and Word documents are read; what is not a document is refused', async (t) => {
  const s = await startTestServer(testApp());
  t.teardown(() => s.stop());
  const upload = async (name: string, body: Buffer, q: Record<string, string> = {}) => {
    const query = new URLSearchParams({ sdkappid: String(APP), identifier: 'administrator', usersig: adminSig(api(s)), Name: name, ...q });
    const res = await fetch(`http://127.0.0.1:${s.port}/v4/desk_upload/robot_document?${query}`, { method: 'POST', body: new Uint8Array(body) });
    t.equal(res.status, 200);
    return (await res.json()) as Record<string, any>;
  };
  const fixture = (f: string) => fs.readFileSync(path.resolve(__dirname, '../../../test/fixtures/documents', f));
  t.match(await upload('warranty.pdf', fixture('warranty.pdf')), { ActionStatus: 'OK', DocumentId: /^doc-/, Passages: 1 }, 'a PDF');
  t.match(await upload('members.docx', fixture('members.docx')), { ActionStatus: 'OK', Passages: 1 }, 'a Word document');
  t.match(streamText(await ask(s, 'u7', 'How long are electronics covered by the warranty?')), /one year/, 'the PDF answers');
  t.match(streamText(await ask(s, 'u8', '金卡会员每月有什么')), /2 张免运费券/, 'the Word document answers');
  t.match(await console_(s, 'desk_robot_doc_list', {}), { Total: 2, Documents: [{ Format: 'docx' }, { Format: 'pdf' }] });

  t.match(await upload('fake.pdf', Buffer.from('just text')), { ErrorCode: -7, ErrorInfo: /not a PDF/ }, 'a file that is not what its name says');
  t.match(await upload('broken.docx', Buffer.from('PK not a zip')), { ErrorCode: -7, ErrorInfo: /Word document cannot be read/ });
  t.match(await upload('tool.exe', Buffer.from('MZ')), { ErrorCode: -7, ErrorInfo: /\.txt, \.md, \.pdf or \.docx/ }, 'an unknown kind');
  t.match(await upload('latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9])), { ErrorCode: -7, ErrorInfo: /UTF-8/ }, 'text that is not UTF-8');
  t.match(await upload('empty.txt', Buffer.alloc(0)), { ErrorCode: -7 }, 'nothing');
  t.match(await upload('big.txt', Buffer.alloc(10 * 1024 * 1024 + 1, 0x61)), { ErrorCode: -7, ErrorInfo: /at most/ }, 'over 10 MB');
  t.match(await upload('x.txt', Buffer.from('hello'), { RobotId: 'no-such-robot' }), { ErrorCode: -50003 }, 'an unknown robot');
  t.match(await upload('x.txt', Buffer.from('hello'), { usersig: 'forged' }), { ErrorCode: 70003 }, 'not the administrator');
  t.match(await console_(s, 'desk_robot_doc_list', {}), { Total: 2 }, 'none of those was kept');
});

t.test('language-model mode: the passages are the model\'s knowledge', async (t) => {
  const model = await fakeModel({ kind: 'stream', pieces: ['好的'], gapMs: 5 });
  const s = await startTestServer(testApp([], {}, { llm: { baseUrl: model.url, model: 'fake' } }));
  t.teardown(async () => { await s.stop(); await model.close(); });
  await console_(s, 'desk_robot_doc_add', { Name: set.documents[0]!.name, Content: set.documents[0]!.content });
  const u = await s.user('u6');
  await u.request('message.send', { to: CS, random: nextRandom(), body: textBody('电子产品保修多久') });
  await waitUntil(() => model.requests.length === 1, 5000, 'the model asked');
  t.match(model.requests[0]!.body.messages[0]!.content, /售后服务政策\.md: 保修: 电子产品自签收之日起保修一年/, 'the passage is in the knowledge');
});
