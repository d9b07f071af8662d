/**
 * A session transferred to a member outside its account's group, on a cluster: the member reads its history from
 * any node, as on a single server, while a member who neither serves it nor is in a group serving its account cannot.
 */
import t from 'tap';
import { ErrorCode } from '../../protocol/errors';
import { KEY } from '../helpers/server';
import { rest } from '../contract/rest-client';
import { textBody } from '../helpers/client';
import { natsForTests } from '../helpers/nats';
import { APP, CS, connect, connectAgent, dataOf, nextRandom, textsOf, toHuman, waitUntil } from './_support';
import { cluster, userOn } from './_cluster';

const nats = natsForTests(t);

t.test("a member reads the history of a session transferred to them from another group, held by another node; before that, they cannot", async (t) => {
  const [a, b, c] = await cluster(t, nats);
  const api = { port: a.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  // The account is served by group 2 (bob's); alice is in group 1 only. Both connect on a; the session is held by c.
  t.match(await rest(api, 'desk_http_svc/update_im_agent', { IMAgentUserID: CS, AgentGroupId: 2 }), { ActionStatus: 'OK' });
  t.match(await rest(api, 'desk_http_svc/create_members', { MemberList: [{ MemberMail: 'bob@desk.test', MemberGroupIDList: [2] }] }), { ActionStatus: 'OK' });
  await waitUntil(async () => JSON.stringify(await rest({ ...api, port: c.port }, 'desk_http_svc/get_im_agent_list', {})).includes('"AgentGroupId":2'), 5000, 'the change on c');
  const bob = await connectAgent(a.port, 'bob@desk.test');
  const alice = await connectAgent(a.port, 'alice@desk.test');
  const user = await connect(b.port, userOn('c', 'moved'), 'user');
  t.teardown(() => { for (const x of [alice, bob, user]) x.close(); });
  const { sessionId } = await toHuman(user, bob);
  await user.request('message.send', { to: CS, random: nextRandom(), body: textBody('where is my refund') });
  t.match(await alice.request('history.sync', { sessionId, afterSeq: 0 }), { type: 'error', data: { code: ErrorCode.SessionNotFound } }, 'alice, who serves neither the session nor its account, is refused');
  t.match(await rest(api, 'desk_http_svc/transfer_session', { SessionId: sessionId, GroupId: 1, MemberId: 'alice@desk.test' }), { ActionStatus: 'OK' }, 'transferred to alice, in group 1');
  await alice.next((f) => f.type === 'session.assigned', 5000, 'the session at alice');
  const page = await alice.request('history.sync', { sessionId, afterSeq: 0 });
  t.equal(page.type, 'history', "once it is hers, alice reads the history on a, from c's session");
  t.ok(textsOf(dataOf<{ messages: { body: unknown[] }[] }>(page).messages).includes('where is my refund'), 'with the messages before the transfer');
});
