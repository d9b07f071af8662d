import t from 'tap';
import { ManualClock } from '../../src/runtime/clock';
import { srcBody, srcOf, textBody, textOf } from '../helpers/client';
import { APP, CS, KEY, startTestServer, testApp, type TestServer } from '../helpers/server';
import { adminSig, rest, type RestTarget } from './rest-client';

const A = 'alice@desk.test';
const B = 'bob@desk.test';

async function setup(session: Record<string, unknown> = {}, clock?: ManualClock): Promise<{ s: TestServer; api: RestTarget }> {
  const s = await startTestServer(testApp([A, B], session), clock ? { clock } : {});
  return { s, api: { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' } };
}

/** A user in the robot phase; returns the user and the session id. */
async function inRobot(s: TestServer, id = 'u1') {
  const user = await s.user(id);
  const ack = await user.request('message.send', { to: CS, random: 1, body: srcBody('7') });
  return { user, sessionId: (ack.data as { sessionId: string }).sessionId };
}

t.test('authentication: tls-sig-api-v2 sigs pass; bad ones get the IM codes; only the admin may call', async (t) => {
  const { s, api } = await setup();
  t.teardown(() => s.stop());
  const body = { SessionId: '00000000-0000-4000-8000-000000000000' };
  t.match(await rest(api, 'desk_http_svc/end_session', body), { ActionStatus: 'FAIL', ErrorCode: 141005 }, 'a valid admin sig reaches the endpoint');
  t.match(await rest(api, 'desk_http_svc/end_session', body, { usersig: adminSig(api, 'administrator', 'wrong-key-0123456789abcdef') }), { ErrorCode: 70009 });
  t.match(await rest(api, 'desk_http_svc/end_session', body, { usersig: 'garbage!!' }), { ErrorCode: 70003 });
  t.match(await rest(api, 'desk_http_svc/end_session', body, { usersig: adminSig(api, 'administrator', KEY, APP, -10) }), { ErrorCode: 70001 }, 'expired');
  t.match(await rest(api, 'desk_http_svc/end_session', body, { usersig: adminSig(api, 'someone') }), { ErrorCode: 70013 }, 'sig of another identifier');
  t.match(await rest(api, 'desk_http_svc/end_session', body, { usersig: adminSig(api, 'administrator', KEY, 1400000002) }), { ErrorCode: 70014 }, 'sig of another app');
  t.match(await rest(api, 'desk_http_svc/end_session', body, { identifier: 'someone', usersig: adminSig(api, 'someone') }), { ErrorCode: 90009 }, 'not the admin');
  t.match(await rest(api, 'desk_http_svc/end_session', body, { sdkappid: '1400000009' }), { ErrorCode: 141000 }, 'unknown app');
  t.match(await rest(api, 'desk_http_svc/no_such_command', {}), { ErrorCode: 60002 });
  t.match(await rest(api, 'desk_http_svc/end_session', '{not json'), { ErrorCode: 90001 });
  t.match(await rest(api, 'desk_http_svc/end_session', { SessionId: 42 }), { ErrorCode: 141004 });
  t.match(await rest(api, 'desk_http_svc/end_session', { SessionId: 'not-a-session' }), { ErrorCode: 141006 });
  t.match(await rest(api, 'desk_http_svc/end_session', body, { random: 'x' }), { ErrorCode: 141004 });
  const huge = await rest(api, 'desk_http_svc/end_session', JSON.stringify({ SessionId: 'x'.repeat(70_000) }));
  t.match(huge, { ErrorCode: 93000 }, 'a body over 64 KB');
});

t.test('transfer_to_human: IsInQueue, AgentId, no agent online with and without the tip', async (t) => {
  const { s, api } = await setup({ maxConcurrentPerAgent: 1 });
  t.teardown(() => s.stop());
  const first = await inRobot(s, 'u1');
  const none = await rest(api, 'desk_http_svc/transfer_to_human', { SessionId: first.sessionId });
  t.match(none, { ActionStatus: 'FAIL', ErrorCode: 141001 }, 'nobody online');
  t.notOk(first.user.texts().includes('抱歉，当前无客服在线，请稍后再试'), 'no tip unless asked');
  t.match(await rest(api, 'desk_http_svc/transfer_to_human', { SessionId: first.sessionId, SendTipIfNoAgentOnline: 1 }), { ErrorCode: 141001 });
  await first.user.next((f) => textOf(f) === '抱歉，当前无客服在线，请稍后再试');
  t.pass('the tip is sent when asked');

  const agent = await s.agent(A);
  await agent.next((f) => f.type === 'agent.state');
  const ok1 = await rest(api, 'desk_http_svc/transfer_to_human', { SessionId: first.sessionId, AgentIdList: [A] });
  t.same(ok1, { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', AgentId: A, IsInQueue: 0 });
  await agent.next((f) => f.type === 'session.assigned');
  t.match(await rest(api, 'desk_http_svc/transfer_to_human', { SessionId: first.sessionId }), { ErrorCode: 141003 }, 'already with a human');

  const second = await inRobot(s, 'u2');
  const queued = await rest(api, 'desk_http_svc/transfer_to_human', { sessionId: second.sessionId });
  t.same(queued, { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', AgentId: '', IsInQueue: 1 }, 'alice is full: queued (field name in any case)');
  t.match(await rest(api, 'desk_http_svc/get_session_state', { SessionId: second.sessionId }), { CurrentState: 'Queueing', AgentId: '' });
});

t.test('get_session_state in both modes, end_session, suspend/unsuspend, mark_session', async (t) => {
  const { s, api } = await setup();
  t.teardown(() => s.stop());
  const agent = await s.agent(A);
  await agent.next((f) => f.type === 'agent.state');
  const { user, sessionId } = await inRobot(s);
  t.same(await rest(api, 'desk_http_svc/get_session_state', { SessionId: sessionId }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', SessionId: sessionId, CurrentState: 'Chatbot', AgentId: '' });
  t.match(await rest(api, 'desk_http_svc/get_session_state', { ClientUserId: 'nobody', CustomerServiceId: CS }), { CurrentState: 'NotInSession', SessionId: '' });
  t.match(await rest(api, 'desk_http_svc/get_session_state', {}), { ErrorCode: 141004 });
  await user.request('message.send', { to: CS, random: 2, body: textBody('人工') });
  await agent.next((f) => f.type === 'session.assigned');
  t.match(await rest(api, 'desk_http_svc/get_session_state', { ClientUserId: 'u1', CustomerServiceId: CS }), { SessionId: sessionId, CurrentState: 'Agent', AgentId: A });

  t.same(await rest(api, 'desk_http_svc/suspend_session', { SessionId: sessionId }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  t.match(await rest(api, 'desk_http_svc/suspend_session', { SessionId: sessionId }), { ErrorCode: 141026 }, 'already suspended');
  t.match(await rest(api, 'desk_http_svc/unsuspend_session', { SessionId: sessionId }), { ErrorCode: 0 });
  t.match(await rest(api, 'desk_http_svc/mark_session', { sessionId, Mark: 'vip', starStatus: 1, userTimeoutSwitch: 0 }), { ErrorCode: 0 });
  t.match(await rest(api, 'desk_http_svc/mark_session', { SessionId: sessionId, Mark: '标'.repeat(100) }), { ErrorCode: 141004 }, 'over 200 bytes');

  t.same(await rest(api, 'desk_http_svc/end_session', { SessionId: sessionId }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  const ended = await agent.next((f) => f.type === 'session.ended');
  t.match(ended.data, { endStatus: 'AgentEndedSession', closeBy: 'admin' });
  await user.next((f) => srcOf(f) === '19');
  t.match(await rest(api, 'desk_http_svc/get_session_state', { SessionId: sessionId }), { CurrentState: 'NotInSession' });
  t.match(await rest(api, 'desk_http_svc/end_session', { SessionId: sessionId }), { ErrorCode: 141005 }, 'already ended');
});

t.test('a session marked with UserTimeoutSwitch 0 is not ended by the user timeout', async (t) => {
  const clock = new ManualClock();
  const { s, api } = await setup({}, clock);
  t.teardown(() => s.stop());
  const agent = await s.agent(A);
  await agent.next((f) => f.type === 'agent.state');
  const { user, sessionId } = await inRobot(s);
  await user.request('message.send', { to: CS, random: 2, body: textBody('人工') });
  await agent.next((f) => f.type === 'session.assigned');
  await rest(api, 'desk_http_svc/mark_session', { SessionId: sessionId, UserTimeoutSwitch: 0 });
  await agent.request('message.send', { sessionId, random: 5, body: textBody('anything else?') });
  clock.advance(601_000);
  await new Promise((r) => setTimeout(r, 100));
  t.match(await rest(api, 'desk_http_svc/get_session_state', { SessionId: sessionId }), { CurrentState: 'Agent' }, 'still in service');
});

t.test('send_msg by SessionId and by FromAccount/ToAccount; message codes; describe_chat_messages', async (t) => {
  const { s, api } = await setup();
  t.teardown(() => s.stop());
  const { user, sessionId } = await inRobot(s);
  const sent = await rest(api, 'desk_http_svc/send_msg', { SessionId: sessionId, MsgRandom: 8436874, MsgBody: textBody('欢迎使用智能客服'), CloudCustomData: 'cd' });
  t.same(sent, { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  const got = await user.next((f) => textOf(f) === '欢迎使用智能客服');
  t.match(got.data, { fromRole: 3, from: CS, cloudCustomData: 'cd' });
  const card = [{ MsgType: 'TIMCustomElem', MsgContent: { Data: JSON.stringify({ customerServicePlugin: 0, src: '22', content: { header: 'h', desc: 'd', pic: 'p', url: 'u' } }) } }];
  t.match(await rest(api, 'desk_http_svc/send_msg', { FromAccount: CS, ToAccount: 'u1', MsgRandom: 82139, MsgBody: card }), { ErrorCode: 0 });
  await user.next((f) => srcOf(f) === '22');
  t.match(await rest(api, 'desk_http_svc/send_msg', { SessionId: sessionId, MsgBody: textBody('x') }), { ErrorCode: 90005 });
  t.match(await rest(api, 'desk_http_svc/send_msg', { SessionId: sessionId, MsgRandom: 1, MsgBody: 'x' }), { ErrorCode: 90007 });
  t.match(await rest(api, 'desk_http_svc/send_msg', { SessionId: sessionId, MsgRandom: 1, MsgBody: [{ MsgType: 'Nope', MsgContent: {} }] }), { ErrorCode: 90002 });
  t.match(await rest(api, 'desk_http_svc/send_msg', { SessionId: sessionId, MsgRandom: 1, MsgBody: textBody('x'.repeat(13_000)) }), { ErrorCode: 93000 });
  t.match(await rest(api, 'desk_http_svc/send_msg', { FromAccount: 'u9', ToAccount: 'u1', MsgRandom: 1, MsgBody: textBody('x') }), { ErrorCode: 141004 }, 'FromAccount must be an account');
  t.match(await rest(api, 'desk_http_svc/send_msg', { FromAccount: CS, ToAccount: 'stranger', MsgRandom: 1, MsgBody: textBody('x') }), { ErrorCode: 141005 }, 'no session with that user');

  const oldest = await rest(api, 'desk_http_svc/describe_chat_messages', { SessionId: sessionId, Order: 1, Limit: 2 });
  t.equal(oldest.TotalCount, 3, 'welcome, the text and the card');
  t.match(oldest.Messages, [{ FromAccount: CS, FromAccountRole: 3, MsgBody: [{ MsgType: 'TIMTextElem' }] }, { MsgBody: textBody('欢迎使用智能客服') }]);
  t.ok(typeof (oldest.Messages as { Timestamp: number }[])[0].Timestamp === 'number' && (oldest.Messages as { Timestamp: number }[])[0].Timestamp > 1e12, 'milliseconds');
  const newest = await rest(api, 'desk_http_svc/describe_chat_messages', { SessionId: sessionId });
  t.match((newest.Messages as { MsgBody: unknown[] }[])[0].MsgBody, card, 'newest first by default');
  t.match(await rest(api, 'desk_http_svc/describe_chat_messages', { SessionId: '00000000-0000-4000-8000-000000000000' }), { ErrorCode: 141010 });
  t.match(await rest(api, 'desk_http_svc/describe_chat_messages', { SessionId: sessionId, Limit: 101 }), { ErrorCode: 141004 }, 'Limit at most 100');
});

t.test('transfer_session forwards in service; refusals in its own codes', async (t) => {
  const { s, api } = await setup();
  t.teardown(() => s.stop());
  const alice = await s.agent(A);
  await alice.next((f) => f.type === 'agent.state');
  const { user, sessionId } = await inRobot(s);
  await user.request('message.send', { to: CS, random: 2, body: textBody('人工') });
  await alice.next((f) => f.type === 'session.assigned');
  t.match(await rest(api, 'desk_http_svc/transfer_session', { SessionId: sessionId, MemberId: A }), { ErrorCode: 141024 });
  t.match(await rest(api, 'desk_http_svc/transfer_session', { SessionId: sessionId, MemberId: B }), { ErrorCode: 141001 }, 'bob is offline');
  t.match(await rest(api, 'desk_http_svc/transfer_session', { SessionId: sessionId, GroupId: 77 }), { ErrorCode: 141020 });
  const bob = await s.agent(B);
  await bob.next((f) => f.type === 'agent.state');
  t.same(await rest(api, 'desk_http_svc/transfer_session', { SessionId: sessionId, MemberId: B }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  await bob.next((f) => f.type === 'session.assigned');
  await alice.next((f) => f.type === 'session.transferred');
  t.match(await rest(api, 'desk_http_svc/get_session_state', { SessionId: sessionId }), { AgentId: B });
});

t.test('modify_msg edits a service-side message; send_stream_msg grows one src 31 message until Finish', async (t) => {
  const { s, api } = await setup();
  t.teardown(() => s.stop());
  const { user, sessionId } = await inRobot(s);
  await rest(api, 'desk_http_svc/send_msg', { SessionId: sessionId, MsgRandom: 7, MsgBody: textBody('first draft') });
  const sent = await user.next((f) => textOf(f) === 'first draft');
  const msgKey = (sent.data as { msgKey: string }).msgKey;
  t.same(await rest(api, 'desk_http_svc/modify_msg', { SessionId: sessionId, MsgKey: msgKey, MsgBody: textBody('final text'), CloudCustomData: 'v2' }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  const edit = await user.next((f) => f.type === 'message.edit');
  t.match(edit.data, { sessionId, msgKey, body: textBody('final text'), cloudCustomData: 'v2' });
  const hist = await user.request('history.sync', { to: CS, afterSeq: 0 });
  t.ok((hist.data as { messages: { msgKey: string; body: unknown }[] }).messages.some((m) => m.msgKey === msgKey && JSON.stringify(m.body) === JSON.stringify(textBody('final text'))), 'history shows the edit');
  t.match(await rest(api, 'desk_http_svc/modify_msg', { SessionId: sessionId, MsgKey: '999_1_1', MsgBody: textBody('x') }), { ErrorCode: 141004 });
  t.match(await rest(api, 'desk_http_svc/modify_msg', { SessionId: sessionId, MsgKey: msgKey, MsgBody: 'x' }), { ErrorCode: 90007 });
  const mine = await user.request('message.send', { to: CS, random: 9, body: textBody('my words') });
  t.match(await rest(api, 'desk_http_svc/modify_msg', { SessionId: sessionId, MsgKey: (mine.data as { msgKey: string }).msgKey, MsgBody: textBody('x') }), { ErrorCode: 141004, ErrorInfo: /user/ });

  const first = await rest(api, 'desk_http_svc/send_stream_msg', { sessionId, Chunk: 'Hello, ' });
  t.match(first, { ErrorCode: 0, MsgKey: /^\d+_/ });
  const streamKey = first.MsgKey as string;
  const started = await user.next((f) => srcOf(f) === '31');
  t.match(JSON.parse((started.data as { body: { MsgContent: { Data: string } }[] }).body[0].MsgContent.Data), { chunks: ['Hello, '], isFinished: 0 });
  t.match(await rest(api, 'desk_http_svc/send_stream_msg', { SessionId: sessionId, MsgKey: streamKey, Chunk: 'this is ' }), { ErrorCode: 0, MsgKey: streamKey });
  t.match(await rest(api, 'desk_http_svc/send_stream_msg', { SessionId: sessionId, MsgKey: streamKey, Chunk: 'Desk.', Finish: 1 }), { ErrorCode: 0 });
  const edits: unknown[] = [];
  for (let i = 0; i < 2; i++) edits.push(JSON.parse(((await user.next((f) => f.type === 'message.edit')).data as { body: { MsgContent: { Data: string } }[] }).body[0].MsgContent.Data));
  t.match(edits, [{ chunks: ['Hello, ', 'this is '], isFinished: 0 }, { chunks: ['Hello, ', 'this is ', 'Desk.'], isFinished: 1 }]);
  t.match(await rest(api, 'desk_http_svc/send_stream_msg', { SessionId: sessionId, MsgKey: streamKey, Chunk: 'late' }), { ErrorCode: 141004 }, 'a finished stream takes no more chunks');
});

t.test('describe_im_cdr_list: one record per ended session, with its end status and rating, filtered and paged', async (t) => {
  const { s, api } = await setup();
  t.teardown(() => s.stop());
  const agent = await s.agent(A);
  await agent.next((f) => f.type === 'agent.state');
  const from = Math.floor(Date.now() / 1000) - 1;
  const one = await inRobot(s, 'u1');
  await one.user.request('message.send', { to: CS, random: 2, body: textBody('人工') });
  await agent.next((f) => f.type === 'session.assigned');
  await agent.request('session.end', { sessionId: one.sessionId });
  await one.user.next((f) => srcOf(f) === '9');
  await one.user.request('message.send', { to: CS, random: 3, body: srcBody('10', { menuSelected: { id: '105', content: 'x', sessionId: one.sessionId } }) });
  const two = await inRobot(s, 'u2');
  await rest(api, 'desk_http_svc/end_session', { SessionId: two.sessionId });
  const to = Math.floor(Date.now() / 1000) + 1;

  const all = await rest(api, 'desk_http_svc/describe_im_cdr_list', { StartTimestamp: from, EndTimestamp: to });
  t.equal(all.TotalCount, 2);
  // Oldest first; both started within the same second here, so compare them by user.
  const byUser = [...(all.IMCdrList as { ClientUserId: string }[])].sort((a, b) => a.ClientUserId.localeCompare(b.ClientUserId));
  t.match(byUser, [
    { SessionId: one.sessionId, AgentGroupId: '1', AgentGroupName: 'Default', AgentId: A, ChannelType: 'SDK', ClientUserId: 'u1', EndStatus: 'AgentEndedSession', SatisfactionSelected: 5 },
    { SessionId: two.sessionId, AgentId: '', ClientUserId: 'u2', EndStatus: 'ChatbotReception', SatisfactionSelected: 0 },
  ]);
  const rec = (all.IMCdrList as { Timestamp: number; Duration: number }[])[0];
  t.ok(rec.Timestamp >= from && rec.Timestamp <= to && rec.Duration >= 0, 'Timestamp in seconds, Duration in seconds');
  t.match(await rest(api, 'desk_http_svc/describe_im_cdr_list', { StartTimestamp: from, EndTimestamp: to, ClientUserId: 'u2' }), { TotalCount: 1, IMCdrList: [{ ClientUserId: 'u2' }] });
  const second = await rest(api, 'desk_http_svc/describe_im_cdr_list', { StartTimestamp: from, EndTimestamp: to, Offset: 1, Limit: 1 });
  t.match(second, { TotalCount: 2, IMCdrList: [{ SessionId: (all.IMCdrList as { SessionId: string }[])[1].SessionId }] }, 'paged');
  t.match(await rest(api, 'desk_http_svc/describe_im_cdr_list', { StartTimestamp: to + 10, EndTimestamp: to + 20 }), { TotalCount: 0, IMCdrList: [] });
  t.match(await rest(api, 'desk_http_svc/describe_im_cdr_list', { StartTimestamp: to, EndTimestamp: from }), { ErrorCode: 141004 });
  t.match(await rest(api, 'desk_http_svc/describe_im_cdr_list', { StartTimestamp: from, EndTimestamp: to, Limit: 101 }), { ErrorCode: 141004 });
  t.match(await rest(api, 'desk_http_svc/describe_im_cdr_list', { EndTimestamp: to }), { ErrorCode: 141004 });
});

t.test('contact_user: an agent starts a human session with a user; refusals in its own codes', async (t) => {
  const { s, api } = await setup({ receptionMode: 'manual' });
  t.teardown(() => s.stop());
  const body = { IMAgentUserID: CS, ClientUserID: 'u1', MemberId: A };
  t.match(await rest(api, 'desk_http_svc/contact_user', body), { ErrorCode: 141011 }, 'alice is offline');
  t.match(await rest(api, 'desk_http_svc/get_session_state', { ClientUserId: 'u1', CustomerServiceId: CS }), { CurrentState: 'NotInSession' }, 'a failed contact leaves nothing open');
  const alice = await s.agent(A);
  await alice.next((f) => f.type === 'agent.state');
  const user = await s.user('u1');
  const r = await rest(api, 'desk_http_svc/contact_user', body);
  t.same(r, { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', MemberId: A }, 'the example body (IMAgentUserID / ClientUserID spelling) works');
  await alice.next((f) => f.type === 'session.assigned');
  t.pass('served at once, even with manual reception');
  await user.next((f) => textOf(f) === '转接人工成功，客服alice为您服务');
  t.notOk(user.texts().includes('您好请问有什么可以帮助您的?'), 'no welcome for a contact');
  t.match(await rest(api, 'desk_http_svc/get_session_state', { ClientUserId: 'u1', CustomerServiceId: CS }), { CurrentState: 'Agent', AgentId: A });
  t.match(await rest(api, 'desk_http_svc/contact_user', body), { ErrorCode: 141016 }, 'already with a human');
  t.match(await rest(api, 'desk_http_svc/contact_user', { ...body, ClientUserID: 'u2', GroupId: 77 }), { ErrorCode: 141019 });
  t.match(await rest(api, 'desk_http_svc/contact_user', { ...body, ClientUserID: 'u3', MemberId: B }), { ErrorCode: 141011 });
  t.match(await rest(api, 'desk_http_svc/contact_user', { ...body, IMAgentUserID: 'nope' }), { ErrorCode: 141004 });
});

t.test('transfer_to_human newer fields: Priority, DisableQueuing, AllowAssignBusyMember, EndSessionWhenNoMemberOnline, QueueTimeout', async (t) => {
  const clock = new ManualClock();
  const { s, api } = await setup({ maxConcurrentPerAgent: 1 }, clock);
  t.teardown(() => s.stop());
  const lone = await inRobot(s, 'lone');
  t.match(await rest(api, 'desk_http_svc/transfer_to_human', { SessionId: lone.sessionId, EndSessionWhenNoMemberOnline: 1 }), { ErrorCode: 141001 });
  t.match(await rest(api, 'desk_http_svc/get_session_state', { SessionId: lone.sessionId }), { CurrentState: 'NotInSession' }, 'ended as asked');

  const alice = await s.agent(A);
  await alice.next((f) => f.type === 'agent.state');
  await alice.request('agent.status', { status: 'busy' });
  const u1 = await inRobot(s, 'u1');
  t.match(await rest(api, 'desk_http_svc/transfer_to_human', { SessionId: u1.sessionId, DisableQueuing: 1 }), { ErrorCode: 141025 }, 'busy and no queueing: refused at once');
  t.match(await rest(api, 'desk_http_svc/get_session_state', { SessionId: u1.sessionId }), { CurrentState: 'Chatbot' });
  t.match(await rest(api, 'desk_http_svc/transfer_to_human', { SessionId: u1.sessionId, AllowAssignBusyMember: 1 }), { ErrorCode: 0, AgentId: A }, 'a busy member may take it when allowed');

  const u2 = await inRobot(s, 'u2');
  const u3 = await inRobot(s, 'u3');
  t.match(await rest(api, 'desk_http_svc/transfer_to_human', { SessionId: u2.sessionId, AllowAssignBusyMember: 1, QueueTimeout: 30 }), { IsInQueue: 1 });
  t.match(await rest(api, 'desk_http_svc/transfer_to_human', { SessionId: u3.sessionId, AllowAssignBusyMember: 1, Priority: 0 }), { IsInQueue: 1 });
  await u3.user.next((f) => (textOf(f) ?? '').includes('排在第1位'));
  t.pass('priority 0 goes ahead of an earlier user');
  clock.advance(31_000);
  await u2.user.next((f) => textOf(f) === '抱歉，当前无客服在线，请稍后再试');
  t.match(await rest(api, 'desk_http_svc/get_session_state', { SessionId: u2.sessionId }), { CurrentState: 'Chatbot' }, 'after QueueTimeout: back with the robot');
});
