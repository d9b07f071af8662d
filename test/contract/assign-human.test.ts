import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { srcBody, textBody, textOf } from '../helpers/client';
import { APP, CS, KEY, startTestServer, testApp, type TestServer } from '../helpers/server';
import { rest, type RestTarget } from './rest-client';

/** A business server whose answer the test sets; it records the requests. */
async function businessServer() {
  const got: Record<string, unknown>[] = [];
  let reply: (body: Record<string, unknown>) => { status: number; text: string } | 'hang' = () => ({ status: 200, text: '{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}' });
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      got.push(body);
      const r = reply(body);
      if (r === 'hang') return;
      res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    got, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/assign`,
    answer(fields: Record<string, unknown>) { reply = () => ({ status: 200, text: JSON.stringify({ ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', ...fields }) }); },
    raw(r: typeof reply) { reply = r; },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const A = 'alice@desk.test';
const B = 'bob@desk.test';

async function setup(t: Test) {
  const bs = await businessServer();
  const s: TestServer = await startTestServer(testApp([A, B], { maxConcurrentPerAgent: 1 }), { delivery: { timeoutMs: 300 } });
  t.teardown(async () => { await s.stop(); await bs.close(); });
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  t.match(await rest(api, 'desk_http_svc/update_im_agent', { IMAgentUserID: CS, AssignmentStrategy: 2, AssignedByWebhookURL: bs.url }), { ErrorCode: 0 });
  return { bs, s, api };
}

async function askHuman(s: TestServer, id: string) {
  const user = await s.user(id);
  const ack = await user.request('message.send', { to: CS, random: 1, body: srcBody('7') });
  await user.request('message.send', { to: CS, random: 2, body: textBody('人工') });
  return { user, sessionId: (ack.data as { sessionId: string }).sessionId };
}

t.test('ChatBot.OnAssignHuman decides the agents; its request carries the documented fields', async (t) => {
  const { bs, s } = await setup(t);
  const alice = await s.agent(A);
  const bob = await s.agent(B);
  await alice.next((f) => f.type === 'agent.state');
  await bob.next((f) => f.type === 'agent.state');
  bs.answer({ AgentGroupId: 1, AgentIdList: [B] });
  const { sessionId } = await askHuman(s, 'u1');
  const assigned = await bob.next((f) => f.type === 'session.assigned');
  t.equal((assigned.data as { sessionId: string }).sessionId, sessionId, 'bob, as the business server said (alice was less recently served)');
  t.match(bs.got[0], { CallbackCommand: 'ChatBot.OnAssignHuman', SessionId: sessionId, ClientUserId: 'u1', CustomerServiceId: CS });
  t.ok((bs.got[0].EventTime as number) > 1e12, 'EventTime in ms');
});

t.test('Priority 0 puts a user ahead of earlier ones; AgentTransferDenied keeps the robot', async (t) => {
  const { bs, s } = await setup(t);
  const alice = await s.agent(A);
  await alice.next((f) => f.type === 'agent.state');
  bs.answer({});
  await askHuman(s, 'u0');
  const first = await alice.next((f) => f.type === 'session.assigned');
  const u1 = await askHuman(s, 'u1'); // default priority 5
  await u1.user.next((f) => (textOf(f) ?? '').includes('排在第1位'));
  bs.answer({ Priority: 0 });
  const vip = await askHuman(s, 'vip');
  await vip.user.next((f) => (textOf(f) ?? '').includes('排在第1位'));
  t.pass('the priority-0 user is first in the queue although u1 came earlier');
  await alice.request('session.end', { sessionId: (first.data as { sessionId: string }).sessionId });
  const next = await alice.next((f) => f.type === 'session.assigned');
  t.equal((next.data as { userId: string }).userId, 'vip', 'and is served first');

  bs.answer({ AgentTransferDenied: 1 });
  const denied = await askHuman(s, 'u2');
  await denied.user.next((f) => textOf(f) === '抱歉，当前无客服在线，请稍后再试');
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  t.match(await rest(api, 'desk_http_svc/get_session_state', { SessionId: denied.sessionId }), { CurrentState: 'Chatbot' }, 'denied: back with the robot');
});

t.test('no usable answer (error, garbage, timeout, unknown group) falls back to the default strategy', async (t) => {
  const { bs, s } = await setup(t);
  const alice = await s.agent(A);
  await alice.next((f) => f.type === 'agent.state');
  const cases: Parameters<typeof bs.raw>[0][] = [
    () => ({ status: 500, text: '' }),
    () => ({ status: 200, text: 'not json' }),
    () => ({ status: 200, text: '{"ActionStatus":"FAIL","ErrorCode":1}' }),
    () => ({ status: 200, text: '{"ActionStatus":"OK","ErrorCode":0,"AgentGroupId":9999}' }),
    () => 'hang',
  ];
  for (const [i, c] of cases.entries()) {
    bs.raw(c);
    const { sessionId } = await askHuman(s, `u${i}`);
    const assigned = await alice.next((f) => f.type === 'session.assigned', 5000);
    t.equal((assigned.data as { sessionId: string }).sessionId, sessionId, `case ${i}: the default strategy assigned it`);
    await alice.request('session.end', { sessionId });
  }
});

t.test('REST transfer_to_human waits for the business server', async (t) => {
  const { bs, s, api } = await setup(t);
  const alice = await s.agent(A);
  await alice.next((f) => f.type === 'agent.state');
  bs.answer({ AgentIdList: [A] });
  const user = await s.user('u1');
  const ack = await user.request('message.send', { to: CS, random: 1, body: srcBody('7') });
  const r = await rest(api, 'desk_http_svc/transfer_to_human', { SessionId: (ack.data as { sessionId: string }).sessionId });
  t.same(r, { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', AgentId: A, IsInQueue: 0 });
  t.equal(bs.got.length, 1);
});
