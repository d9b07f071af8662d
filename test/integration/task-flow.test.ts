/**
 * Task flows through the real server: written over REST (checked, test then published, dry-run with scripted and
 * real API replies, enabled, deleted, kept across a restart), and completed by a user over WebSocket — intent,
 * branch pick, form, the Chatbot.InterfaceInvocation call to a local backend, its answer, the transfer to the
 * flow's group, and the agent serving the user.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { ServerFrame } from '../../protocol/frames';
import type { TaskFlowDraft } from '../../protocol/task-flow';
import { srcBody, textBody, textOf, type TestClient } from '../helpers/client';
import { rest } from '../contract/rest-client';
import { fakeBackend as backend, type FakeBackend as Backend } from '../helpers/fake-backend';
import { startTestServer, testApp, type TestServer } from '../helpers/server';
import { APP, CS, KEY, connectAgent, dataOf, nextRandom, waitUntil } from './_support';

const fixture = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../test/fixtures/task-flow-order.json'), 'utf8')) as TaskFlowDraft;
const CAROL = 'carol@desk.test';

const flowFor = (b: Backend): TaskFlowDraft => ({ ...fixture, nodes: fixture.nodes.map((n) => (n.kind === 'api' ? { ...n, url: b.url } : n)) });
const app = () => ({
  ...testApp(),
  members: [{ mail: 'alice@desk.test', nickname: 'alice', groupIds: [1] }, { mail: CAROL, nickname: 'carol', groupIds: [2] }],
});
const api = (s: TestServer) => ({ port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' });
const call = (s: TestServer, command: string, body: Record<string, unknown>) => rest(api(s), `openim_console_http_svc/${command}`, body) as Promise<Record<string, any>>;

const payload = (f: ServerFrame): Record<string, any> | undefined => {
  const e = dataOf<{ body?: { MsgType: string; MsgContent: { Data?: string } }[] }>(f).body?.[0];
  if ((f.type !== 'message' && f.type !== 'message.edit') || e?.MsgType !== 'TIMCustomElem') return undefined;
  return JSON.parse(e.MsgContent.Data ?? '{}') as Record<string, any>;
};
const withSrc = (src: string, type = 'message') => (f: ServerFrame) => f.type === type && payload(f)?.src === src;

t.test('REST: checked, written to test, tried, published, enabled, deleted, kept across a restart', async (t) => {
  const b = await backend();
  const s = await startTestServer(app());
  t.teardown(async () => { await s.stop(); await b.close(); });
  const flow = flowFor(b);

  const bad = await call(s, 'desk_robot_task_flow_add', { TaskFlow: { ...flow, start: 'nowhere' } });
  t.match(bad, { ErrorCode: -7, ErrorInfo: /start: no node 'nowhere'/ }, 'a broken definition is refused with its problem');
  t.match(await call(s, 'desk_robot_task_flow_add', { TaskFlow: 'x' }), { ErrorCode: -7 }, 'not an object');

  const added = await call(s, 'desk_robot_task_flow_add', { TaskFlow: flow, Environment: 'test' });
  t.match(added, { ActionStatus: 'OK', TaskFlowId: 1 });
  t.match(await call(s, 'desk_robot_task_flow_list', {}), { Total: 0 }, 'production has none yet');
  t.match(await call(s, 'desk_robot_task_flow_list', { Environment: 'test' }), { Total: 1, TaskFlows: [{ TaskFlowId: 1, Name: '订单查询', Enabled: 1, Intents: 4, Nodes: 10 }] });
  t.match(await call(s, 'desk_robot_publish_status', {}), { Unpublished: 1 });

  const tried = await call(s, 'desk_robot_online_test', { Question: '我想查一下我的订单' });
  t.match(tried, { Strategy: 'task', Source: { TaskFlowId: 1, TaskFlowName: '订单查询' }, MsgBody: [{ MsgType: 'TIMTextElem' }] }, 'the online test starts the test flow');
  t.equal(JSON.parse(tried.MsgBodies[1][0].MsgContent.Data).src, '32', 'and shows its branch');

  const dry = await call(s, 'desk_robot_task_flow_test', {
    TaskFlowId: 1,
    Inputs: [{ Text: '查物流' }, { Form: [{ name: '订单号', variableValue: '' }] }, { Form: [{ name: '订单号', variableValue: 'A1' }] }],
    ApiReplies: [{ Body: { status: '运输中', eta: '明天' } }],
  });
  t.equal(dry.Ended, 'end', 'the dry run reaches the end');
  t.match(dry.Variables, { orderId: 'A1', status: '运输中', eta: '明天' }, 'and shows the variables it ended with');
  t.match(dry.Steps.find((x: any) => x.Refused), { Refused: /'订单号' is required/ }, 'an empty required field is refused as in a session');
  t.match(dry.Steps.find((x: any) => x.Call), { Call: { Url: b.url, Body: { orderId: 'A1', channel: 'desk', SystemClientUserID: 'test-user' } }, CallReply: { Body: { status: '运输中' } } });
  t.match(JSON.stringify(dry.Steps.at(-1).MsgBodies), /订单 A1 状态：运输中，预计 明天 送达。.*感谢咨询，再见！/, 'the replies with the variables filled');
  t.equal(b.calls.length, 0, 'scripted replies call nothing');

  b.answer = () => ({ ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', Body: { status: 'delayed' } });
  const real = await call(s, 'desk_robot_task_flow_test', { TaskFlowId: 1, Inputs: [{ Text: '查物流' }, { Form: [{ name: '订单号', variableValue: 'B2' }] }] });
  t.equal(b.calls.length, 1, 'without scripted replies the backend is called');
  t.match(real, { Ended: 'transfer', Variables: {} });
  t.match(real.Steps.at(-1), { Transfer: { GroupId: 2 } });

  t.match(await call(s, 'desk_robot_publish', { Note: 'order flow' }), { ActionStatus: 'OK' });
  t.match(await call(s, 'desk_robot_publish_status', {}), { Unpublished: 0 });
  const got = await call(s, 'desk_robot_task_flow_get', { TaskFlowId: 1 });
  t.match(got, { TaskFlowId: 1, TaskFlow: { name: '订单查询', start: 'greet', enabled: true } }, 'published');
  t.match(await call(s, 'desk_robot_task_flow_update', { TaskFlowId: 1, TaskFlow: got.TaskFlow }), { ActionStatus: 'OK' }, 'what get answers, update takes back');

  t.match(await call(s, 'desk_robot_task_flow_update', { TaskFlowId: 1, TaskFlow: { ...flow, name: '订单查询二' } }), { ActionStatus: 'OK' });
  t.match(await call(s, 'desk_robot_task_flow_enable', { TaskFlowId: 1, Enabled: 0 }), { ActionStatus: 'OK' });
  t.match(await call(s, 'desk_robot_task_flow_list', {}), { TaskFlows: [{ Name: '订单查询二', Enabled: 0 }] });
  t.match(await call(s, 'desk_robot_task_flow_enable', { TaskFlowId: 9, Enabled: 1 }), { ErrorCode: -50003 }, 'no such flow');

  const dataDir = s.dataDir;
  await s.stop();
  const again = await startTestServer(app(), { dataDir });
  t.teardown(() => again.stop());
  t.match(await call(again, 'desk_robot_task_flow_list', {}), { Total: 1, TaskFlows: [{ Name: '订单查询二' }] }, 'kept across a restart');
  t.match(await call(again, 'desk_robot_task_flow_delete', { TaskFlowId: 1 }), { ActionStatus: 'OK' });
  t.match(await call(again, 'desk_robot_task_flow_list', {}), { Total: 0 });
  t.match(await call(again, 'desk_robot_task_flow_get', { TaskFlowId: 1 }), { ErrorCode: -50003 });
  t.match(await call(again, 'desk_robot_task_flow_add', { TaskFlow: flow }), { TaskFlowId: 2 }, 'a deleted flow\'s id is not given again');
});

t.test('over WebSocket: intent, branch, form, API call, transfer to the flow\'s group, the agent serves', async (t) => {
  const b = await backend();
  const s = await startTestServer(app());
  t.teardown(async () => { await s.stop(); await b.close(); });
  t.match(await call(s, 'desk_robot_task_flow_add', { TaskFlow: flowFor(b) }), { TaskFlowId: 1 });
  const carol = await connectAgent(s.port, CAROL);
  const u: TestClient = await s.user('u1');
  const send = (body: unknown[]) => u.request('message.send', { to: CS, random: nextRandom(), body });

  await send(srcBody('7'));
  await send(textBody('我的订单到哪了'));
  const branch = await u.next(withSrc('32'), 5000, 'the branch options');
  t.match(payload(branch), { status: 0, taskInfo: { taskID: 1, nodeID: 'menu', env: 'production' } });
  t.ok(u.frames.some((f) => textOf(f) === '好的，我来帮您查询订单。'), 'after the reply node');

  await send(textBody('查物流'));
  const form = await u.next(withSrc('33'), 5000, 'the form');
  t.match(payload(form), { content: { tip: '请填写订单信息', nodeStatus: 0 } });
  await waitUntil(() => u.frames.some((f) => withSrc('32', 'message.edit')(f) && payload(f)!.status === 2), 5000, 'the pick shown');

  const refused = await send(srcBody('33', { content: { inputVariables: [{ name: '订单号', isRequired: 1, variableValue: '' }] } }));
  t.equal(refused.type, 'error', 'an incomplete form is refused');
  t.match(dataOf(refused), { info: /'订单号' is required/ });

  b.answer = (body) => ({ ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', Body: { status: body.Body.orderId === 'A100' ? 'delayed' : 'ok' } });
  const marks = carol.frames.length;
  const ok = await send(srcBody('33', { content: { inputVariables: [{ name: '订单号', isRequired: 1, variableValue: 'A100' }, { name: '问题类型', isRequired: 0, variableValue: '' }] } }));
  t.equal(ok.type, 'message.ack');
  await u.next((f) => textOf(f) === '订单 A100 延误了，为您转人工处理。', 5000, 'the answer-driven reply');
  t.equal(b.calls.length, 1, 'the backend was called once');
  const { query, body } = b.calls[0]!;
  t.equal(query.get('CallbackCommand'), 'Chatbot.InterfaceInvocation');
  t.equal(query.get('SdkAppid'), String(APP));
  t.match(body, { CallbackCommand: 'Chatbot.InterfaceInvocation', Body: { SystemClientUserID: 'u1', SystemSessionID: dataOf<{ sessionId: string }>(ok).sessionId, orderId: 'A100', channel: 'desk' }, EventTime: Number });

  const assigned = await carol.next((f) => f.type === 'session.assigned', 5000, 'carol gets the session');
  t.ok(carol.frames.slice(marks).includes(assigned));
  const sessionId = dataOf<{ sessionId: string; groupId: number }>(assigned).sessionId;
  t.equal(dataOf<{ groupId: number }>(assigned).groupId, 2, 'the flow\'s group');
  await carol.request('message.send', { sessionId, random: nextRandom(), body: textBody('您好，我来处理延误的订单') });
  await u.next((f) => textOf(f) === '您好，我来处理延误的订单', 5000, 'the agent\'s message reaches the user');
  t.ok(u.frames.some((f) => withSrc('33', 'message.edit')(f) && payload(f)!.content.nodeStatus === 2), 'the form shows it was submitted');
});
