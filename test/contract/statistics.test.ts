import t from 'tap';
import { statsTables } from '../../src/stats/projection';
import { compare, rebuild } from '../../src/stats/rebuild';
import { srcBody, textBody, type TestClient } from '../helpers/client';
import { APP, CS, KEY, startTestServer, testApp, type TestServer } from '../helpers/server';
import { rest, type RestTarget } from './rest-client';

const A = 'alice@desk.test';
const B = 'bob@desk.test';
const api = (s: TestServer): RestTarget => ({ port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' });
const call = (s: TestServer, command: string, body: unknown) => rest(api(s), `desk_http_svc/${command}`, body);
const now = () => Math.floor(Date.now() / 1000);

async function agentOnline(s: TestServer, mail: string): Promise<TestClient> {
  const agent = await s.agent(mail);
  await agent.next((f) => f.type === 'agent.state');
  return agent;
}

/** A served session: the user asks for a human, writes, the agent answers, ends; the user rates `level`. */
async function served(s: TestServer, agent: TestClient, userId: string, level: number): Promise<string> {
  const user = await s.user(userId);
  await user.request('message.send', { to: CS, random: 1, body: textBody('人工') });
  const assigned = await agent.next((f) => f.type === 'session.assigned' && (f.data as { userId: string }).userId === userId);
  const sessionId = (assigned.data as { sessionId: string }).sessionId;
  await user.request('message.send', { to: CS, random: 2, body: textBody('where is my parcel') });
  await agent.request('message.send', { sessionId, random: 3, body: textBody('on its way') });
  await agent.request('session.end', { sessionId });
  await user.next((f) => (f.data as { body?: { MsgContent: { Data?: string } }[] }).body?.[0]?.MsgContent.Data?.includes('"src":"9"') ?? false);
  await user.request('message.send', { to: CS, random: 4, body: srcBody('10', { menuSelected: { id: String(100 + level), sessionId } }) });
  return sessionId;
}

t.test('the four statistics endpoints and the status trace on live traffic; a rebuild from the event log equals them', async (t) => {
  const s = await startTestServer(testApp([A, B], { maxConcurrentPerAgent: 1 }));
  t.teardown(() => s.stop());
  const from = now() - 60;
  const alice = await agentOnline(s, A);
  await served(s, alice, 'u1', 5);
  await served(s, alice, 'u2', 3);
  // One in service and one queued behind it, now.
  const u3 = await s.user('u3');
  await u3.request('message.send', { to: CS, random: 1, body: textBody('人工') });
  await alice.next((f) => f.type === 'session.assigned' && (f.data as { userId: string }).userId === 'u3');
  const u4 = await s.user('u4');
  await u4.request('message.send', { to: CS, random: 1, body: textBody('人工') });
  await u4.next((f) => /排在第1位/.test(JSON.stringify(f.data)));
  await agentOnline(s, B).then((bob) => bob.request('agent.status', { status: 'rest', reason: 'lunch' }));
  await s.runtime.idle();

  const sessions = await call(s, 'describe_session_statistics', { From: from, To: now() + 60 });
  t.match(sessions, { ActionStatus: 'OK', Data: [{ Time: /^\d{4}-\d{2}-\d{2}$/ }] });
  // A day's row, or two if the test ran across midnight: the counts add up the same.
  const sum = (field: string) => (sessions.Data as Record<string, number>[]).reduce((n, r) => n + r[field], 0);
  t.same(
    ['TotalSessionCnt', 'TransferAgentSessionCnt', 'AgentAcceptCnt', 'EffectiveSessionCnt', 'SatisfactionSelectedCnt', 'ThreeStarSelectedCnt', 'FiveStarSelectedCnt'].map(sum),
    [4, 4, 3, 2, 2, 1, 1],
  );
  // Near midnight the range spans two days, and the hour carries its date.
  t.match(await call(s, 'describe_session_statistics', { From: from, To: now() + 60, GroupByHour: true }), { Data: [{ Time: /^(\d{4}-\d{2}-\d{2} )?\d{2}:00$/ }] }, 'hourly');
  const agents = await call(s, 'describe_agent_statistics', { From: from, To: now() + 60, AgentIds: [A] });
  t.match(agents, { TotalCount: 1, Data: [{ AgentId: A, AgentNickName: 'alice', TotalSessionCnt: 3, EffectiveSessionCnt: 2, AgentEndCnt: 2, ServeUserCnt: 3, AgentMsgCnt: 2, UserMsgCnt: 2, SatisfactionSelectedCnt: 2, SatisfiedCnt: 1 }] });
  t.ok((agents.Data as { FirstLoginTimestamp: number }[])[0].FirstLoginTimestamp >= from, 'first login');
  const bySource = async (sources: unknown[]) => ((await call(s, 'describe_agent_statistics', { From: from, To: now() + 60, AgentIds: [A], ConversationSources: sources })).Data as { TotalSessionCnt: number }[])[0].TotalSessionCnt;
  t.same(await Promise.all([[{ ChannelType: 10, ChannelId: CS }], [{ ChannelType: 10 }], [{ ChannelType: 10, ChannelId: 'other' }], [{ ChannelType: 4 }]].map(bySource)), [3, 3, 0, 0],
    'ConversationSources: only sessions of the app SDK (10) reach this server, each from its customer-service account');
  t.match(await call(s, 'describe_agent_statistics', { From: from, To: now() + 60, Limit: 1, Offset: 1 }), { TotalCount: 2, Data: [{ AgentId: B }] }, 'every member, paged, by id');
  t.match(await call(s, 'describe_reception_realtime_statistics', {}), {
    ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '',
    Data: {
      CurrentTransferAgentCnt: 2, CurrentAgentAcceptCnt: 1, CurrentQueueCnt: 1, FreeAgentCnt: 1, RestAgentCnt: 1, BusyAgentCnt: 0, OnlineAgentCnt: 2,
      Today: { TransferAgentSessionCnt: 4, AgentAcceptCnt: 3, SatisfactionSelectedCnt: 2, ThreeStarSelectedCnt: 1, FiveStarSelectedCnt: 1 },
    },
  });
  t.match(await call(s, 'describe_member_realtime_statistics', { MemberIds: [A, B] }), {
    TotalCount: 2, Data: [{ MemberId: A, MemberStatus: 1, CurrentAcceptCnt: 1, TotalSessionCnt: 3 }, { MemberId: B, MemberStatus: 3, CurrentAcceptCnt: 0, TotalSessionCnt: 0 }],
  });
  const trace = await call(s, 'describe_member_status_trace', { BeginTime: from, EndTime: now() + 60, Order: 1, MemberID: B });
  t.match(trace, { Nick: 'bob', StatusList: [{ Status: 'STATUS_FREE', Clients: [{ ClientType: 'Web' }] }, { Status: 'STATUS_REST' }] });

  const daily = await call(s, 'describe_agent_statistics', { From: from, To: now() + 60, AgentIds: [A], GroupByDay: true });
  t.match(daily, { Data: [{ Time: /^\d{4}-\d{2}-\d{2}$/, AgentId: A }] }, 'a row per agent per day');
  t.equal((daily.Data as { TotalSessionCnt: number }[]).reduce((n, r) => n + r.TotalSessionCnt, 0), 3);
  t.match(await call(s, 'describe_session_statistics', { From: from, To: now() + 60, Aggregate: true }), { TotalCount: 1, Data: [{ Time: /~/, TotalSessionCnt: 4 }] }, 'one row for the range');
  t.match(await call(s, 'describe_session_statistics', { From: from, To: now(), Aggregate: true, GroupByHour: true }), { ErrorCode: 141004 });
  t.match(await call(s, 'describe_session_statistics', { From: 100, To: 50 }), { ErrorCode: 141004 }, 'an end before the start');
  t.match(await call(s, 'describe_session_statistics', { From: 0, To: 100 * 86400 }), { ErrorCode: 141004 }, 'too long a range');
  t.match(await call(s, 'describe_session_statistics', { From: 0, To: 8 * 86400, GroupByHour: true }), { ErrorCode: 141004 }, 'hourly over more than 7 days');
  t.match(await call(s, 'describe_member_status_trace', { BeginTime: from, EndTime: now(), Order: 1, MemberID: 'nobody' }), { ErrorCode: 141004 });
  t.match(await call(s, 'describe_agent_statistics', { From: 'x', To: 1 }), { ErrorCode: 141004 });

  // The live tables hold what the last checkpoint wrote.
  await s.runtime.checkpoint();
  const rebuilt = await rebuild(s.store);
  t.same(compare(statsTables(s.store), rebuilt.tables).filter((d) => d.differences > 0), [], 'the rebuilt statistics equal the live ones, table by table');
});

t.test('statistics survive a restart: the figures and the sessions open now', async (t) => {
  const s1 = await startTestServer(testApp([A], { maxConcurrentPerAgent: 1 }));
  const from = now() - 60;
  const alice = await agentOnline(s1, A);
  await served(s1, alice, 'u1', 4);
  const u2 = await s1.user('u2');
  await u2.request('message.send', { to: CS, random: 1, body: textBody('人工') });
  await alice.next((f) => f.type === 'session.assigned' && (f.data as { userId: string }).userId === 'u2');
  await s1.runtime.idle();
  const before = await call(s1, 'describe_session_statistics', { From: from, To: now() + 60 });
  const todayBefore = ((await call(s1, 'describe_reception_realtime_statistics', {})).Data as { Today: Record<string, number> }).Today;
  t.match(todayBefore, { TransferAgentSessionCnt: 2, AgentAcceptCnt: 2, SatisfactionSelectedCnt: 1, FourStarSelectedCnt: 1 });
  await s1.stop();

  const s2 = await startTestServer(testApp([A], { maxConcurrentPerAgent: 1 }), { dataDir: s1.dataDir });
  t.teardown(() => s2.stop());
  t.same(await call(s2, 'describe_session_statistics', { From: from, To: now() + 60 }), before);
  t.match(await call(s2, 'describe_reception_realtime_statistics', {}), { Data: { CurrentAgentAcceptCnt: 1, CurrentQueueCnt: 0, Today: todayBefore } }, 'the session in service is still counted, today\'s figures too');
});

t.test('end_session by the admin: the record says the agent side ended it, and AgentEndCnt counts it for the serving agent', async (t) => {
  const s = await startTestServer(testApp([A]));
  t.teardown(() => s.stop());
  const from = now() - 60;
  const alice = await agentOnline(s, A);
  const user = await s.user('u1');
  await user.request('message.send', { to: CS, random: 1, body: textBody('人工') });
  const sessionId = ((await alice.next((f) => f.type === 'session.assigned')).data as { sessionId: string }).sessionId;
  t.match(await call(s, 'end_session', { SessionId: sessionId }), { ErrorCode: 0 });
  await s.runtime.idle();
  t.match(await call(s, 'describe_im_cdr_list', { StartTimestamp: from, EndTimestamp: now() + 60 }), { IMCdrList: [{ SessionId: sessionId, AgentId: A, EndStatus: 'AgentEndedSession' }] });
  t.match(await call(s, 'describe_agent_statistics', { From: from, To: now() + 60, AgentIds: [A] }), { Data: [{ TotalSessionCnt: 1, AgentEndCnt: 1 }] });
});

t.test('with --statistics off the statistics endpoints answer 141002, as docs/api.md says', async (t) => {
  const s = await startTestServer(testApp([A]), { flags: ['--statistics', 'off'] });
  t.teardown(() => s.stop());
  const range = { From: now() - 60, To: now() };
  for (const [command, body] of [['describe_session_statistics', range], ['describe_agent_statistics', range], ['describe_member_realtime_statistics', {}],
    ['describe_reception_realtime_statistics', {}], ['describe_member_status_trace', { BeginTime: range.From, EndTime: range.To, Order: 1, MemberID: A }]] as const) {
    t.match(await call(s, command, body), { ErrorCode: 141002, ErrorInfo: 'statistics are off on this server' }, command);
  }
});
