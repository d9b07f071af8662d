import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { srcBody, textBody, textOf } from '../helpers/client';
import { APP, CS, KEY, startTestServer, testApp, type TestServer } from '../helpers/server';
import { rest, type RestTarget } from './rest-client';

const A = 'alice@desk.test';
const api = (s: TestServer): RestTarget => ({ port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' });

async function inRobot(s: TestServer, id: string) {
  const user = await s.user(id);
  const ack = await user.request('message.send', { to: CS, random: 1, body: srcBody('7') });
  return { user, sessionId: (ack.data as { sessionId: string }).sessionId };
}

t.test('a webhook URL fetch cannot use is refused when saved', async (t) => {
  const s = await startTestServer(testApp());
  t.teardown(() => s.stop());
  for (const url of ['http://a b.com/x', 'http://exa%mple.com', 'ftp://example.com']) {
    t.match(await rest(api(s), 'desk_http_svc/update_im_agent', { IMAgentUserID: CS, AssignmentStrategy: 2, AssignedByWebhookURL: url }), { ErrorCode: 141004 }, url);
  }
  t.equal((await fetch(`http://127.0.0.1:${s.port}/healthz`)).status, 200);
});

t.test('contact_user excludes a concurrent transfer_to_human; an end answers a pending contact at once', async (t) => {
  const s = await startTestServer(testApp([A]));
  t.teardown(() => s.stop());
  const alice = await s.agent(A);
  await alice.next((f) => f.type === 'agent.state');
  const { sessionId } = await inRobot(s, 'u1');
  const [contact, transfer] = await Promise.all([
    rest(api(s), 'desk_http_svc/contact_user', { IMAgentUserId: CS, ClientUserId: 'u1' }),
    rest(api(s), 'desk_http_svc/transfer_to_human', { SessionId: sessionId }),
  ]);
  t.match(contact, { ErrorCode: 0, MemberId: A });
  t.match(transfer, { ErrorCode: 141003 }, 'the second way to a human is refused, not left hanging');
  t.match(await rest(api(s), 'desk_http_svc/get_session_state', { SessionId: sessionId }), { CurrentState: 'Agent', AgentId: A });

  await alice.request('agent.status', { status: 'busy' });
  const two = await inRobot(s, 'u2');
  const started = Date.now();
  const [c2, e2] = await Promise.all([
    rest(api(s), 'desk_http_svc/contact_user', { IMAgentUserId: CS, ClientUserId: 'u2', MemberId: A }),
    rest(api(s), 'desk_http_svc/end_session', { SessionId: two.sessionId }),
  ]);
  t.ok(Date.now() - started < 3000, 'both answered promptly');
  t.ok([c2.ErrorCode, e2.ErrorCode].every((c) => typeof c === 'number'), 'both answered');
});

t.test('send_msg with the same MsgRandom twice stores and delivers one message', async (t) => {
  const s = await startTestServer(testApp());
  t.teardown(() => s.stop());
  const { user, sessionId } = await inRobot(s, 'u1');
  const body = { SessionId: sessionId, MsgRandom: 4242, MsgBody: textBody('once') };
  t.match(await rest(api(s), 'desk_http_svc/send_msg', body), { ErrorCode: 0 });
  t.match(await rest(api(s), 'desk_http_svc/send_msg', body), { ErrorCode: 0 }, 'the retry is acknowledged');
  await user.next((f) => textOf(f) === 'once');
  const msgs = await rest(api(s), 'desk_http_svc/describe_chat_messages', { SessionId: sessionId });
  t.equal((msgs.Messages as { MsgBody: unknown }[]).filter((m) => JSON.stringify(m.MsgBody) === JSON.stringify(textBody('once'))).length, 1, 'stored once');
});

t.test('streaming messages stay within 12 KB; MsgKey cannot name a built-in property', async (t) => {
  const s = await startTestServer(testApp());
  t.teardown(() => s.stop());
  const { sessionId } = await inRobot(s, 'u1');
  const first = await rest(api(s), 'desk_http_svc/send_stream_msg', { SessionId: sessionId, Chunk: 'x'.repeat(6000) });
  t.match(await rest(api(s), 'desk_http_svc/send_stream_msg', { SessionId: sessionId, MsgKey: first.MsgKey, Chunk: 'y'.repeat(6000) }), { ErrorCode: 0 });
  t.match(await rest(api(s), 'desk_http_svc/send_stream_msg', { SessionId: sessionId, MsgKey: first.MsgKey, Chunk: 'z'.repeat(1000) }), { ErrorCode: 93000 });
  for (const key of ['constructor', '__proto__', 'toString']) {
    t.match(await rest(api(s), 'desk_http_svc/send_stream_msg', { SessionId: sessionId, MsgKey: key, Chunk: 'a' }), { ErrorCode: 141004 }, key);
  }
  t.match(await rest(api(s), 'desk_http_svc/send_stream_msg', { SessionId: sessionId, Chunk: '字'.repeat(5000) }), { ErrorCode: 93000 }, 'bytes, not characters');
});

t.test('group ids are never reused and a deleted group leaves no scope behind', async (t) => {
  const s = await startTestServer(testApp([A]));
  t.teardown(() => s.stop());
  const g = await rest(api(s), 'desk_http_svc/create_member_group', { MemberGroupName: 'secret' });
  const qr = await rest(api(s), 'desk_http_svc/add_quick_reply_group', { GroupName: 'secret replies', UseScopeType: 'groups', UseScopeList: [g.MemberGroupID] });
  t.match(await rest(api(s), 'desk_http_svc/delete_member_group', { MemberGroupID: g.MemberGroupID }), { ErrorCode: 0 });
  const again = await rest(api(s), 'desk_http_svc/create_member_group', { MemberGroupName: 'other', MemberList: [A] });
  t.not(again.MemberGroupID, g.MemberGroupID, 'a new id');
  const list = await rest(api(s), 'desk_http_svc/get_quick_reply_group_list', {});
  t.match((list.Data as { GroupId: string; UseScopeList: unknown[] }[]).find((x) => x.GroupId === qr.GroupId), { UseScopeList: [] });
  const avail = await rest(api(s), 'desk_http_svc/get_available_quick_reply_list', { MemberId: A });
  t.notOk((avail.Data as { GroupName: string }[]).some((x) => x.GroupName === 'secret replies'), 'nobody inherits the old scope');
});

t.test('members created with a limit but no switch use their groups\' limit; role names stay unique', async (t) => {
  const s = await startTestServer(testApp([A]));
  t.teardown(() => s.stop());
  await rest(api(s), 'desk_http_svc/create_members', { MemberList: [{ MemberMail: 'c@desk.test', MemberReceptionLimit: 2 }] });
  const list = await rest(api(s), 'desk_http_svc/get_member_list', { PageSize: 10, PageNum: 0 });
  t.match((list.MemberList as { MemberMail: string }[]).find((m) => m.MemberMail === 'c@desk.test'), { MemberReceptionLimit: 2, MemberReceptionLimitEnabled: 0, EffectiveReceptionLimit: 5 });
  await rest(api(s), 'desk_http_svc/add_role', { RoleName: 'one' });
  const two = await rest(api(s), 'desk_http_svc/add_role', { RoleName: 'two' });
  t.match(await rest(api(s), 'desk_http_svc/modify_role', { RoleID: two.RoleID, RoleName: 'one' }), { ErrorCode: 141004 });
});

t.test('callbacks: a failed contact sends nothing; a contact session begins as a contact; keys stay unique across restarts', async (t) => {
  const got: Record<string, unknown>[] = [];
  const keys: string[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      got.push(JSON.parse(raw));
      keys.push(String(req.headers['x-desk-idempotency-key']));
      res.writeHead(200).end('{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`;
  const app = testApp([A], {}, { callbacks: { url, sessionEvents: true, token: 'callback-token-0123456789' } as never });
  let s = await startTestServer(app);
  const dataDir = s.dataDir;
  t.teardown(async () => { await s.stop(); server.closeAllConnections(); server.close(); });
  t.match(await rest(api(s), 'desk_http_svc/contact_user', { IMAgentUserId: CS, ClientUserId: 'u1' }), { ErrorCode: 141001 });
  await new Promise((r) => setTimeout(r, 200));
  t.same(got, [], 'nothing about a session that never was');
  const alice = await s.agent(A);
  await alice.next((f) => f.type === 'agent.state');
  t.match(await rest(api(s), 'desk_http_svc/contact_user', { IMAgentUserId: CS, ClientUserId: 'u1' }), { ErrorCode: 0 });
  const end = Date.now() + 3000;
  while (!got.some((g) => g.Event === 'TransferToHumanSuccess') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  t.match(got[0], { Event: 'SessionBegin', IsContactUser: true });
  const before = [...keys];
  await s.stop();
  s = await startTestServer(app, { dataDir });
  await inRobot(s, 'u2');
  const end2 = Date.now() + 3000;
  while (keys.length === before.length && Date.now() < end2) await new Promise((r) => setTimeout(r, 20));
  t.ok(keys.length > before.length, 'new callbacks after the restart');
  t.equal(new Set(keys).size, keys.length, 'no idempotency key repeats across the restart');
});

t.test('a REST-set reception-limit switch survives the config file being re-applied at start', async (t) => {
  let s = await startTestServer(testApp([A]));
  const dataDir = s.dataDir;
  t.match(await rest(api(s), 'desk_http_svc/update_member', { MemberMail: A, MemberReceptionLimit: 3, MemberReceptionLimitEnabled: 1 }), { ErrorCode: 0 });
  await s.stop();
  s = await startTestServer(testApp([A]), { dataDir });
  t.teardown(() => s.stop());
  const list = await rest(api(s), 'desk_http_svc/get_member_list', { PageSize: 10, PageNum: 0 });
  t.match((list.MemberList as { MemberMail: string }[]).find((m) => m.MemberMail === A), { MemberReceptionLimitEnabled: 1, EffectiveReceptionLimit: 3 });
});

t.test('strategy 1 keeps the REST transfer options for the chosen group', async (t) => {
  const s = await startTestServer(testApp([A]));
  t.teardown(() => s.stop());
  t.match(await rest(api(s), 'desk_http_svc/update_im_agent', { IMAgentUserID: CS, AssignmentStrategy: 1, DisplayGroupsChoices: [1, 2] }), { ErrorCode: 0 });
  const alice = await s.agent(A);
  await alice.next((f) => f.type === 'agent.state');
  await alice.request('agent.status', { status: 'busy' });
  const { user, sessionId } = await inRobot(s, 'u1');
  t.match(await rest(api(s), 'desk_http_svc/transfer_to_human', { SessionId: sessionId, DisableQueuing: 1 }), { ErrorCode: 0, IsInQueue: 0 }, 'the groups are offered');
  await user.request('message.send', { to: CS, random: 2, body: textBody('Default') });
  await user.next((f) => textOf(f) === '抱歉，当前无客服在线，请稍后再试');
  t.match(await rest(api(s), 'desk_http_svc/get_session_state', { SessionId: sessionId }), { CurrentState: 'Chatbot' }, 'DisableQueuing still applies: not queued');
});
