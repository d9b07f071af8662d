import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { ServerFrame } from '../../protocol/frames';
import { srcBody, srcOf, textBody, textOf, type TestClient } from '../helpers/client';
import { APP, CS, KEY, startTestServer, testApp, type TestServer } from '../helpers/server';
import { rest, type RestTarget } from './rest-client';

const A = 'alice@desk.test';
const VIP = '@vip_service';
const api = (s: TestServer): RestTarget => ({ port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' });

/** The create_group body of the spec's example, with our ids. */
const groupBody = (over: Record<string, unknown> = {}) => ({
  Owner_Account: 'owner', Type: 'Public', GroupId: 'MyFirstGroup', Name: 'TestGroup', Introduction: 'This is group Introduction',
  Notification: 'This is group Notification', FaceUrl: 'http://this.is.face.url', MaxMemberCount: 500, ApplyJoinOption: 'FreeAccess',
  MemberList: [{ Member_Account: 'member2', Role: 'Admin' }, { Member_Account: CS }],
  ...over,
});

const app = (session: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  testApp([A], session, { csAccounts: [{ userId: CS, isDefault: true }, { userId: VIP, agentGroupId: 1 }], ...extra } as never);

const group = (f: ServerFrame): string | undefined => (f.data as { group?: string }).group;

async function online(s: TestServer, mail = A): Promise<TestClient> {
  const agent = await s.agent(mail);
  await agent.next((f) => f.type === 'agent.state');
  return agent;
}

t.test('create_group: every documented refusal, in the IM group codes', async (t) => {
  const s = await startTestServer(app());
  t.teardown(() => s.stop());
  const call = (over: Record<string, unknown>) => rest(api(s), 'desk_http_svc/create_group', groupBody(over));
  t.match(await call({ Type: 'AVChatRoom' }), { ActionStatus: 'FAIL', ErrorCode: 10004 }, 'only Public and Private');
  t.match(await call({ Name: '群'.repeat(34) }), { ErrorCode: 10004 }, 'a name of 102 bytes');
  t.match(await call({ Introduction: 'x'.repeat(401) }), { ErrorCode: 141004 }, 'an introduction past 400 characters fails the schema');
  t.match(await call({ Notification: '告'.repeat(134) }), { ErrorCode: 10004 }, 'a notification of 402 bytes');
  t.match(await call({ MemberList: undefined }), { ErrorCode: 141004 }, 'MemberList is required');
  t.match(await call({ MemberList: [{ Member_Account: CS }, ...Array.from({ length: 100 }, (_, i) => ({ Member_Account: `m${i}` }))] }), { ErrorCode: 10005 });
  t.match(await call({ MemberList: [{ Member_Account: 'member2' }, { Member_Account: CS }, { Member_Account: VIP }] }), { ErrorCode: 10004 }, 'two accounts');
  t.match(await call({ MemberList: [{ Member_Account: 'member2' }] }), { ErrorCode: 10004 }, 'no account');
  t.match(await call({ Owner_Account: undefined, MemberList: [{ Member_Account: CS }] }), { ErrorCode: 10004 }, 'nobody but the account');
  t.match(await call({ MemberList: [{ Member_Account: A }, { Member_Account: CS }] }), { ErrorCode: 10004 }, 'a desk member cannot be a group member');
  t.match(await call({ MemberList: [{ Member_Account: 'member2' }, { Member_Account: 'member2' }, { Member_Account: CS }] }), { ErrorCode: 10004 }, 'a member twice');
  t.match(await call({ MaxMemberCount: 2 }), { ErrorCode: 10038 }, 'owner, member2 and the account are three');
  t.match(await call({ MemberList: [{ Member_Account: 'member2', Role: 'Owner' }, { Member_Account: CS }] }), { ErrorCode: 141004 }, 'Role takes Admin only');
  t.match(await call({ GroupId: 'x'.repeat(49) }), { ErrorCode: 141004 }, 'GroupId of 49 bytes');
  t.match(await rest(api(s), 'group_open_http_svc/destroy_group', { GroupId: 'nope' }), { ActionStatus: 'FAIL', ErrorCode: 10010 });
  t.match(await rest(api(s), 'group_open_http_svc/destroy_group', '{bad'), { ErrorCode: 10004 });
});

t.test('create_group with nobody online fails with 141001 and keeps no group', async (t) => {
  const s = await startTestServer(app());
  t.teardown(() => s.stop());
  const member = await s.user('member2');
  t.match(await rest(api(s), 'desk_http_svc/create_group', groupBody()), { ActionStatus: 'FAIL', ErrorCode: 141001 });
  const sent = await member.request('message.send', { group: 'MyFirstGroup', random: 1, body: textBody('hello?') });
  t.match(sent, { type: 'error', data: { code: 10010 } }, 'the group does not exist');
  t.equal(member.frames.filter((f) => f.type === 'message').length, 0, 'the member saw nothing of it');
  t.match(await rest(api(s), 'desk_http_svc/describe_im_cdr_list', { StartTimestamp: 0, EndTimestamp: 2 ** 31 }), { TotalCount: 0 }, 'no service record');

  await online(s);
  t.same(await rest(api(s), 'desk_http_svc/create_group', groupBody()), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', GroupId: 'MyFirstGroup' }, 'the id is free to use once an agent is online');
});

t.test('a group chat: members and the agent talk, the agent ends it, destroy_group frees the id', async (t) => {
  const s = await startTestServer(app());
  t.teardown(() => s.stop());
  const agent = await online(s);
  const owner = await s.user('owner');
  const member = await s.user('member2');
  const outsider = await s.user('outsider');

  t.same(await rest(api(s), 'desk_http_svc/create_group', groupBody()), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', GroupId: 'MyFirstGroup' });
  const assigned = await agent.next((f) => f.type === 'session.assigned');
  t.match(assigned.data, { csAccount: CS, userId: /^group\|[^|]+\|MyFirstGroup$/, chatGroup: { groupId: 'MyFirstGroup', name: 'TestGroup' } });
  t.same([...(assigned.data as { chatGroup: { members: string[] } }).chatGroup.members].sort(), ['member2', 'owner'], 'the owner is a member, the account is not');
  const sessionId = (assigned.data as { sessionId: string }).sessionId;
  for (const u of [owner, member]) {
    const success = await u.next((f) => textOf(f) === '转接人工成功，客服alice为您服务');
    t.equal(group(success), 'MyFirstGroup', 'frames name the group');
    t.ok(u.texts().includes('正在为您转接，请稍候'), 'the transferring prompt reached the member');
  }
  t.notOk(owner.texts().includes('您好请问有什么可以帮助您的?'), 'no robot welcome in a group chat');

  t.match(await rest(api(s), 'desk_http_svc/create_group', groupBody()), { ErrorCode: 10025 }, 'the id is in use');
  t.match(await rest(api(s), 'desk_http_svc/create_group', groupBody({ MemberList: [{ Member_Account: 'member2' }, { Member_Account: VIP }] })), { ErrorCode: 10025 }, 'by any account');

  const ack = await member.request('message.send', { group: 'MyFirstGroup', random: 7, body: textBody('our order is late') });
  t.match(ack, { type: 'message.ack', data: { sessionId, random: 7 } });
  const atOwner = await owner.next((f) => textOf(f) === 'our order is late');
  t.match(atOwner.data, { from: 'member2', fromRole: 1, group: 'MyFirstGroup' }, 'other members see who wrote');
  t.match((await agent.next((f) => textOf(f) === 'our order is late')).data, { from: 'member2', sessionId });
  const again = await owner.request('message.send', { group: 'MyFirstGroup', random: 7, body: textBody('same random, other member') });
  t.notOk((again.data as { duplicate?: boolean }).duplicate, 'the same random from another member is a new message');
  t.equal(member.frames.filter((f) => textOf(f) === 'our order is late').length, 0, 'no echo to the sending socket');

  await agent.request('message.send', { sessionId, random: 8, body: textBody('looking into it') });
  for (const u of [owner, member]) t.match((await u.next((f) => textOf(f) === 'looking into it')).data, { from: CS, fromRole: 2, group: 'MyFirstGroup' });

  t.match(await outsider.request('message.send', { group: 'MyFirstGroup', random: 1, body: textBody('let me in') }), { type: 'error', data: { code: 10007 } });
  t.match(await outsider.request('history.sync', { group: 'MyFirstGroup', afterSeq: 0 }), { type: 'error', data: { code: 10007 } });
  t.match(await member.request('message.send', { group: 'MyFirstGroup', to: CS, random: 2, body: textBody('x') }), { type: 'error', data: { code: 141004 } }, 'one target only');
  t.match(await member.request('message.send', { group: 'MyFirstGroup', random: 3, body: srcBody('27') }), { type: 'error', data: { code: 141026 } }, 'members cannot end a group chat');
  const history = await owner.request('history.sync', { group: 'MyFirstGroup', afterSeq: 0 });
  const texts = (history.data as { messages: { body: { MsgContent: { Text?: string } }[] }[] }).messages.map((m) => m.body[0].MsgContent.Text);
  t.ok(texts.includes('our order is late') && texts.includes('looking into it'), 'a member reads the group history');
  t.match(await outsider.request('history.sync', { sessionId, afterSeq: 0 }), { type: 'error', data: { code: 141005 } }, 'not by session id either');

  await agent.request('session.end', { sessionId });
  await owner.next((f) => srcOf(f) === '19');
  t.match(await rest(api(s), 'desk_http_svc/get_session_state', { SessionId: sessionId }), { CurrentState: 'NotInSession' });
  t.match(await member.request('message.send', { group: 'MyFirstGroup', random: 9, body: textBody('hello?') }), { type: 'error', data: { code: 141026 } }, 'the account left the group');
  t.match(await rest(api(s), 'desk_http_svc/create_group', groupBody()), { ErrorCode: 10025 }, 'the group itself remains');
  const records = await rest(api(s), 'desk_http_svc/describe_im_cdr_list', { StartTimestamp: 0, EndTimestamp: 2 ** 31 });
  t.match(records, { TotalCount: 1, IMCdrList: [{ SessionId: sessionId, ClientUserId: /^group\|[^|]+\|MyFirstGroup$/, AgentId: A, EndStatus: 'AgentEndedSession' }] });

  t.same(await rest(api(s), 'group_open_http_svc/destroy_group', { GroupId: 'MyFirstGroup' }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  t.match(await rest(api(s), 'group_open_http_svc/destroy_group', { GroupId: 'MyFirstGroup' }), { ErrorCode: 10010 });
  t.match(await member.request('message.send', { group: 'MyFirstGroup', random: 10, body: textBody('hello?') }), { type: 'error', data: { code: 10010 } });
  t.match(await rest(api(s), 'desk_http_svc/create_group', groupBody({ Type: 'Private' })), { ActionStatus: 'OK', GroupId: 'MyFirstGroup' }, 'the id can be used again');

  // A group created again under the same id is a new conversation: its members do not read the old one.
  t.same(await rest(api(s), 'group_open_http_svc/destroy_group', { GroupId: 'MyFirstGroup' }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  t.match(await rest(api(s), 'desk_http_svc/create_group', groupBody({ Owner_Account: undefined, MemberList: [{ Member_Account: 'outsider' }, { Member_Account: CS }] })), { ActionStatus: 'OK' });
  const fresh = await outsider.request('history.sync', { group: 'MyFirstGroup', afterSeq: 0 });
  const seen = JSON.stringify(fresh.data);
  t.notOk(seen.includes('our order is late') || seen.includes('looking into it'), 'nothing of the earlier group');
  t.match(await outsider.request('history.sync', { sessionId, afterSeq: 0 }), { type: 'error', data: { code: 141005 } }, 'nor its sessions');
});

t.test('a busy desk queues the group; destroy_group ends a session in service; the group survives a restart', async (t) => {
  const s1 = await startTestServer(app({ maxConcurrentPerAgent: 1 }));
  const agent1 = await online(s1);
  const user = await s1.user('u1');
  await user.request('message.send', { to: CS, random: 1, body: textBody('人工') });
  const first = await agent1.next((f) => f.type === 'session.assigned');
  const member = await s1.user('member2');
  t.same(await rest(api(s1), 'desk_http_svc/create_group', groupBody()), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', GroupId: 'MyFirstGroup' }, 'queued: created');
  await member.next((f) => /排在第1位/.test(textOf(f) ?? ''));
  t.pass('members see their place in the queue');
  await agent1.request('session.end', { sessionId: (first.data as { sessionId: string }).sessionId });
  const assigned = await agent1.next((f) => f.type === 'session.assigned' && !!(f.data as { chatGroup?: unknown }).chatGroup);
  const sessionId = (assigned.data as { sessionId: string }).sessionId;
  await member.request('message.send', { group: 'MyFirstGroup', random: 2, body: textBody('before the restart') });
  await s1.stop();

  const s2 = await startTestServer(app({ maxConcurrentPerAgent: 1 }), { dataDir: s1.dataDir });
  t.teardown(() => s2.stop());
  const agent2 = await s2.agent(A);
  const state = await agent2.next((f) => f.type === 'agent.state');
  t.ok(JSON.stringify(state.data).includes(sessionId), 'the agent resumes the group session');
  const member2 = await s2.user('member2');
  await member2.request('message.send', { group: 'MyFirstGroup', random: 3, body: textBody('after the restart') });
  t.match((await agent2.next((f) => textOf(f) === 'after the restart')).data, { sessionId, from: 'member2' });

  t.same(await rest(api(s2), 'group_open_http_svc/destroy_group', { GroupId: 'MyFirstGroup' }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  t.match((await agent2.next((f) => f.type === 'session.ended')).data, { sessionId, endStatus: 'AgentEndedSession', closeBy: 'admin' });
  t.match(await rest(api(s2), 'desk_http_svc/get_session_state', { SessionId: sessionId }), { CurrentState: 'NotInSession' });
});

t.test('callbacks: a group chat reports from its opening, with GroupId; a failed opening reports nothing', async (t) => {
  const got: Record<string, unknown>[] = [];
  const rx = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      got.push(JSON.parse(raw));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}');
    });
  });
  await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(rx.address() as AddressInfo).port}/cb`;
  const s = await startTestServer(app({}, { callbacks: { url, sessionEvents: true, token: 'callback-token-0123456789' } }));
  t.teardown(async () => { await s.stop(); await new Promise<void>((r) => { rx.closeAllConnections(); rx.close(() => r()); }); });

  t.match(await rest(api(s), 'desk_http_svc/create_group', groupBody({ GroupId: 'nobody-home' })), { ErrorCode: 141001 });
  await online(s);
  t.match(await rest(api(s), 'desk_http_svc/create_group', groupBody()), { ActionStatus: 'OK' });
  const deadline = Date.now() + 5000;
  while (!got.some((b) => b.Event === 'TransferToHumanSuccess') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.same(got.map((b) => b.Event).slice(0, 4), ['SessionBegin', 'TransferringToHuman', 'ChatBot.RobotSendMsg', 'TransferToHumanSuccess'], 'nothing of the failed opening');
  t.match(got[2], { MsgBody: [{ MsgContent: { Text: '正在为您转接，请稍候' } }] }, 'the transferring prompt, as in any transfer');
  t.ok(got.every((b) => b.GroupId === 'MyFirstGroup' && /^group\|[^|]+\|MyFirstGroup$/.test(String(b.ClientUserId)) && b.CustomerServiceId === CS));
});
