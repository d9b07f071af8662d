/**
 * Three Desk processes in cluster mode over a real nats-server: a user on one node, the agent on another, and their
 * session's actor on the third go through a whole conversation, every hop between them over NATS.
 */
import t from 'tap';
import { agentAddress, sessionAddress } from '../../actors/address';
import { DEFAULT_PARTITIONS, partitionOf, placement } from '../../src/cluster/partitions';
import { KEY } from '../helpers/server';
import { adminSig, rest } from '../contract/rest-client';
import { srcBody, textBody, textOf, type TestClient } from '../helpers/client';
import { natsForTests } from '../helpers/nats';
import { PartitionLogs } from '../../src/cluster/partition-log';
import { plainPackr } from '../../src/store/store';
import { decodeRecord } from '../../src/store/turn-log';
import { APP, CS, connect, connectAgent, dataOf, fullHistory, httpGet, nextRandom, rawConnect, sleep, startsWith, textsOf, toHuman, waitUntil } from './_support';
import { cluster, metric, NODES, userOn } from './_cluster';
import { genUserSig } from '../../protocol/usersig';
import type { ServerFrame } from '../../protocol/frames';

const nats = natsForTests(t);

t.test('a conversation whose user, agent and session live on three different nodes', async (t) => {
  const [a, b, c] = await cluster(t, nats);
  const want = placement(NODES, DEFAULT_PARTITIONS);

  const userId = userOn('c', 'u');
  const agentNode = want[partitionOf(agentAddress(APP, 'alice@desk.test'))];
  t.comment(`session actor on c, user socket on a, agent socket on b, agent actor on ${agentNode}`);
  const agent = await connectAgent(b.port, 'alice@desk.test');
  const user = await connect(a.port, userId, 'user');
  t.teardown(() => { user.close(); agent.close(); });

  const { sessionId } = await toHuman(user, agent);
  t.equal(parseInt(sessionId.slice(0, 4), 16), partitionOf(sessionAddress(APP, CS, userId)), "the session id names its conversation's partition");

  await user.request('message.send', { to: CS, random: nextRandom(), body: textBody('my order is late') });
  const got = await agent.next((f) => f.type === 'message' && textOf(f) === 'my order is late', 5000, 'user message at the agent');
  t.equal(dataOf<{ sessionId: string }>(got).sessionId, sessionId, "the user's message reached the agent on b");

  const ack = await agent.request('message.send', { sessionId, random: nextRandom(), body: textBody('let me check') });
  t.equal(ack.type, 'message.ack', "the agent's message, sent on b to a session held by c, is acknowledged");
  const reply = await user.next((f) => textOf(f) === 'let me check', 5000, 'agent message at the user');
  t.equal(dataOf<{ from: string }>(reply).from, CS, 'and reaches the user on a');

  // The REST facade of a node that does not hold the session finds it where it is.
  const viaRest = await rest({ port: b.port, sdkAppId: APP, key: KEY, admin: 'administrator' }, 'desk_http_svc/send_msg', { SessionId: sessionId, MsgRandom: nextRandom(), MsgBody: textBody('a note from the backend') });
  t.match(viaRest, { ActionStatus: 'OK' }, 'send_msg on b to a session held by c');
  await user.next((f) => textOf(f) === 'a note from the backend', 5000, 'the REST message at the user');
  const api = { port: a.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  t.match(await rest(api, 'desk_http_svc/get_session_state', { SessionId: sessionId }), { ActionStatus: 'OK', CurrentState: 'Agent', AgentId: 'alice@desk.test' }, "get_session_state on a reads c's session");
  t.match(await rest(api, 'desk_http_svc/get_session_state', { ClientUserId: userId, CustomerServiceId: CS }), { SessionId: sessionId, CurrentState: 'Agent' }, 'also by user and account');
  const described = await rest(api, 'desk_http_svc/describe_chat_messages', { SessionId: sessionId, Order: 1 });
  t.match(JSON.stringify(described), /my order is late[\s\S]*let me check[\s\S]*a note from the backend/, "describe_chat_messages on a lists c's messages in order");
  // A member's live status is read where its agent actor is, whichever node answers.
  for (const [name, node] of [['a', a], ['b', b], ['c', c]] as const) {
    const live = await rest({ port: node.port, sdkAppId: APP, key: KEY, admin: 'administrator' }, 'desk_http_svc/describe_member_realtime_statistics', { MemberIds: ['alice@desk.test'] });
    t.match(live, { ActionStatus: 'OK', Data: [{ MemberId: 'alice@desk.test', MemberStatus: 1 }] }, `${name} reports alice free (her agent actor is on ${agentNode})`);
  }
  const state = await rest(api, 'desk_http_svc/end_session', { SessionId: '0002ffff-0000-4000-8000-000000000000' });
  t.match(state, { ActionStatus: 'FAIL', ErrorCode: 141005 }, 'a SessionId no node holds is not found');

  const unknown = await agent.request('message.send', { sessionId: '0001ffff-0000-4000-8000-000000000000', random: nextRandom(), body: textBody('x') });
  t.match(unknown, { type: 'error', data: { code: 141005 } }, 'a session no node holds is refused as not found');

  const end = await agent.request('session.end', { sessionId });
  t.equal(end.type, 'session.end.ok');
  await user.next(startsWith('本次服务已结束'), 5000, 'end prompt at the user');
  const ended = await agent.next((f) => f.type === 'session.ended', 5000, 'session.ended at the agent');
  t.equal(dataOf<{ endStatus: string }>(ended).endStatus, 'AgentEndedSession');

  // The user comes back on b (neither the node of the first socket nor the session's) and catches up.
  user.close();
  const back = await connect(b.port, userId, 'user');
  t.teardown(() => back.close());
  const texts = textsOf(await fullHistory(back, { to: CS }));
  t.ok(['my order is late', 'let me check', 'a note from the backend'].every((x) => texts.includes(x)), 'history.sync on b returns the conversation held by c');
  const agentView = await agent.request('history.sync', { sessionId, afterSeq: 0 });
  t.ok(dataOf<{ messages: unknown[] }>(agentView).messages.length >= 3, "and the agent on b reads the session's history");
  const paged = await back.request('history.sync', { to: CS, afterSeq: 0, limit: 2 });
  t.match(dataOf(paged), { more: true }, 'in pages');
  t.equal(dataOf<{ messages: unknown[] }>(paged).messages.length, 2);

  // The session history reads each transcript where its conversation is: every node finds the session by a word of
  // it, and exports it with its messages.
  const window = { StartTime: Math.floor(Date.now() / 1000) - 600, EndTime: Math.floor(Date.now() / 1000) + 60 };
  for (const [name, node] of [['a', a], ['b', b], ['c', c]] as const) {
    const target = { port: node.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
    const search = (): Promise<Record<string, unknown>> => rest(target, 'desk_http_svc/describe_session_history', { ...window, Keyword: 'ORDER is late' });
    await waitUntil(async () => (await search()).TotalCount === 1, 10_000, `the session in ${name}'s history`);
    t.match(await search(), { ActionStatus: 'OK', Sessions: [{ SessionId: sessionId, AgentId: 'alice@desk.test' }] }, `${name} finds the session held by c by a word of its transcript`);
    t.match(await rest(target, 'desk_http_svc/describe_session_history', { ...window, Keyword: 'not said' }), { ActionStatus: 'OK', TotalCount: 0 }, `and not by a word never said`);
    // The service records (the history list) are every node's too, folded from the logs.
    const cdr = (): Promise<Record<string, unknown>> => rest(target, 'desk_http_svc/describe_im_cdr_list', { StartTimestamp: window.StartTime, EndTimestamp: window.EndTime, ClientUserId: userId });
    await waitUntil(async () => (await cdr()).TotalCount === 1, 10_000, `the service record in ${name}'s list`);
    t.match(await cdr(), { ActionStatus: 'OK', IMCdrList: [{ SessionId: sessionId, AgentId: 'alice@desk.test', ClientUserId: userId, EndStatus: 'AgentEndedSession' }] }, `${name} lists the session's service record`);
    const q = new URLSearchParams({ sdkappid: String(APP), identifier: 'administrator', usersig: adminSig(target), Format: 'jsonl', Transcripts: '1', StartTime: String(window.StartTime), EndTime: String(window.EndTime) });
    const exported = await httpGet(node.port, `/v4/desk_export/session_history?${q}`);
    const lines = exported.body.trim().split('\n').map((l) => JSON.parse(l) as { SessionId: string; Messages: { Text: string }[] });
    const texts = lines.find((l) => l.SessionId === sessionId)?.Messages.map((m) => m.Text) ?? [];
    t.ok(['my order is late', 'let me check', 'a note from the backend'].every((x) => texts.includes(x)), `${name} exports the session's transcript`);
  }

  t.ok(await metric(a, 'desk_cluster_hops_total', '{kind="command"}') > 0, "a forwarded the user's messages to c");
  t.ok(await metric(b, 'desk_cluster_hops_total', '{kind="command"}') > 0, "b forwarded the agent's requests");
  t.ok(await metric(a, 'desk_cluster_hops_total', '{kind="push"}') > 0, 'pushes from c reached the user on a');
  t.ok(await metric(c, 'desk_cluster_hops_total', '{kind="reply"}') > 0, "c answered the acknowledgements to the sockets' nodes");
  t.ok(await metric(c, 'desk_messages_total') >= 4, 'the messages were stored on c, where the session lives');
  t.equal(await metric(a, 'desk_messages_total') + await metric(b, 'desk_messages_total'), 0, 'and nowhere else');
});

t.test('a group chat across nodes: its members, on every node, write to it wherever it is held; REST finds it on any node', async (t) => {
  const [a, b, c] = await cluster(t, nats);
  const api = (n: { port: number }) => ({ port: n.port, sdkAppId: APP, key: KEY, admin: 'administrator' });
  const agent = await connectAgent(a.port, 'alice@desk.test');
  const members = await Promise.all([a, b, c].map((n, i) => connect(n.port, `gm-${'abc'[i]}`, 'user')));
  t.teardown(() => { agent.close(); for (const m of members) m.close(); });
  const body = { Owner_Account: 'gm-a', Type: 'Public', GroupId: 'CrossNodes', Name: 'across', MemberList: [{ Member_Account: 'gm-b' }, { Member_Account: 'gm-c' }, { Member_Account: CS }] };
  t.match(await rest(api(b), 'desk_http_svc/create_group', body), { ActionStatus: 'OK', GroupId: 'CrossNodes' }, 'created on b');
  const assigned = await agent.next((f) => f.type === 'session.assigned', 5000, 'the group session at alice');
  const sessionId = dataOf<{ sessionId: string }>(assigned).sessionId;
  for (const [i, m] of members.entries()) {
    const text = `hello from ${'abc'[i]}`;
    let ack: ServerFrame | undefined;
    // Each node learns of the group from the partition logs, within moments of its creation.
    await waitUntil(async () => (ack = await m.request('message.send', { group: 'CrossNodes', random: 100 + i, body: textBody(text) })).type === 'message.ack', 5000, `gm-${'abc'[i]}'s message acknowledged`);
    t.match(ack, { type: 'message.ack', data: { sessionId } }, `a member on ${'abc'[i]} writes to the group`);
    await agent.next((f) => textOf(f) === text, 5000, text);
  }
  for (const [name, node] of [['a', a], ['c', c]] as const) {
    await waitUntil(async () => (await rest(api(node), 'desk_http_svc/create_group', body)).ErrorCode === 10025, 5000, `${name} knows the id is taken`);
    t.pass(`${name} refuses the id while the group lives`);
  }
  t.match(await rest(api(c), 'group_open_http_svc/destroy_group', { GroupId: 'CrossNodes' }), { ActionStatus: 'OK' }, 'destroyed from c');
  await waitUntil(async () => (await members[0].request('message.send', { group: 'CrossNodes', random: 200, body: textBody('anyone?') })).type === 'error', 5000, 'the group gone on a');
  t.pass('and gone on a');
});

t.test("the robots' knowledge is shared: what the console adds on one node answers users on every node; category ids stay unique", async (t) => {
  const servers = await cluster(t, nats);
  const [a, b, c] = servers;
  const kbApi = (n: { port: number }) => (command: string, body: Record<string, unknown>) =>
    rest({ port: n.port, sdkAppId: APP, key: KEY, admin: 'administrator' }, `openim_console_http_svc/${command}`, body);
  // (The console's calls are limited to 5 a second per endpoint: polls are paced.)
  const poll = async (cond: () => Promise<boolean>, what: string): Promise<void> => waitUntil(async () => (await cond()) || (await sleep(250), false), 10_000, what);

  const [onA, onB] = await Promise.all([kbApi(a)('add_faq_category', { Title: '订单' }), kbApi(b)('add_faq_category', { Title: '发票' })]);
  t.match([onA, onB], [{ ActionStatus: 'OK' }, { ActionStatus: 'OK' }]);
  t.not(onA.CategoryId, onB.CategoryId, 'categories added on two nodes at once get different ids');
  await poll(async () => {
    const titles = ((await kbApi(c)('desc_faq_category', {})).List as { Title: string }[] | undefined ?? []).map((x) => x.Title);
    return titles.includes('订单') && titles.includes('发票');
  }, "both categories in c's list");
  t.pass('c lists both');
  const ids = (await Promise.all(['desc_faq_category', 'desc_chitchat_category'].map(async (cmd) => ((await kbApi(c)(cmd, {})).List as { CategoryId: number }[]).map((x) => x.CategoryId)))).flat();
  t.equal(new Set(ids).size, ids.length, `every category of the robot, presets included, has its own id (${ids.join(', ')})`);
  t.match(await kbApi(b)('add_faq', { CategoryId: onA.CategoryId, Question: '怎么开发票', Answer: '在订单详情里申请', AnswerType: 0 }), { ActionStatus: 'OK' }, 'a question added on b, in the category made on a');
  await poll(async () => (await kbApi(c)('list_faq', { PageIndex: 1, PageSize: 10 })).StandardQuestionCount === 1, "the question in c's list");
  t.match(await kbApi(b)('desk_robot_doc_add', { Name: 'policy.txt', Content: '退货政策：收到商品后七天内可以无理由退货。' }), { ActionStatus: 'OK' }, 'a document added on b');
  await poll(async () => (await kbApi(c)('desk_robot_doc_list', {})).Total === 1, "the document in c's list");
  // A document too large to pass between nodes (1.2 MB of text, a NATS message is 1 MB) is refused where uploaded.
  const target = { port: b.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  const query = new URLSearchParams({ sdkappid: String(APP), identifier: 'administrator', usersig: adminSig(target), Name: 'big.txt' });
  const big = await fetch(`http://127.0.0.1:${b.port}/v4/desk_upload/robot_document?${query}`, { method: 'POST', body: Buffer.from('退货政策说明。'.repeat(57_143)) });
  t.match(await big.json(), { ActionStatus: 'FAIL', ErrorCode: -7, ErrorInfo: /in a cluster a document is at most/ }, 'a document too large to share is refused, with why');
  t.match(await kbApi(b)('desk_robot_doc_list', {}), { Total: 1 }, 'and not added');
  const robot = await kbApi(b)('desk_add_robot', { RobotNickName: 'second' });
  t.match(robot, { ActionStatus: 'OK' }, 'a robot added on b');
  await poll(async () => (((await kbApi(c)('desc_chitchat_category', { RobotId: robot.RobotId })).List as unknown[] | undefined) ?? []).length > 0, "its presets on c");
  t.pass('its presets are on c');

  // The user's conversation is on c; the robot there answers from what a and b wrote.
  const user = await connect(a.port, userOn('c', 'kb'), 'user');
  t.teardown(() => user.close());
  await user.request('message.send', { to: CS, random: 1, body: srcBody('7') });
  await user.next((f) => textOf(f) === '您好请问有什么可以帮助您的?', 5000, 'the welcome');
  await user.request('message.send', { to: CS, random: 2, body: textBody('怎么开发票') });
  t.ok(await user.next((f) => textOf(f) === '在订单详情里申请', 5000, 'the answer'), 'the robot on c answers with the FAQ added on b');
  await user.request('message.send', { to: CS, random: 4, body: textBody('收到商品后几天内可以退货') });
  t.ok(await user.next((f) => JSON.stringify(f.data ?? {}).includes('七天内'), 5000, 'the passage'), 'and from the document added on b');
  await user.request('message.send', { to: CS, random: 3, body: textBody('火星上能送货吗') });
  await poll(async () => JSON.stringify(await kbApi(a)('desk_robot_unanswered_clusters', {})).includes('火星上能送货吗'), "the unanswered question in a's clusters");
  t.pass('the question the robot on c could not answer is in the console of a');

  t.match(await kbApi(c)('del_faq_category', { CategoryId: onA.CategoryId }), { ActionStatus: 'OK' }, 'deleted on c');
  await poll(async () => (await kbApi(a)('list_faq', { PageIndex: 1, PageSize: 10 })).StandardQuestionCount === 0, "the question gone from a's list");
  t.pass('and gone, with its question, on a');

  // c misses changes while it is stopped; back, it holds the cluster's knowledge, not what it kept.
  await kbApi(a)('add_faq', { CategoryId: onB.CategoryId, Question: '发票多久开好', Answer: '三个工作日', AnswerType: 0 });
  await poll(async () => (await kbApi(c)('list_faq', { PageIndex: 1, PageSize: 10 })).StandardQuestionCount === 1, "the question in c's list");
  await servers[2].stop();
  t.match(await kbApi(b)('del_faq_category', { CategoryId: onB.CategoryId }), { ActionStatus: 'OK' }, 'a category deleted on b while c is away');
  t.match(await kbApi(a)('add_faq_category', { Title: '物流' }), { ActionStatus: 'OK' }, 'another added on a');
  const back = await servers.respawn(2);
  const titles = ((await kbApi(back)('desc_faq_category', {})).List as { Title: string }[]).map((x) => x.Title);
  t.ok(titles.includes('物流') && !titles.includes('发票'), `c back lists what the cluster holds (${titles.join(', ')})`);
  t.match(await kbApi(back)('list_faq', { PageIndex: 1, PageSize: 10 }), { StandardQuestionCount: 0 }, "and none of the deleted category's questions");
});

t.test('an app change made over REST on one node applies on every node (the shared app models)', async (t) => {
  const [a, , c] = await cluster(t, nats);
  const api = { port: a.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  t.match(await rest(api, 'desk_http_svc/create_members', { MemberList: [{ MemberMail: 'carol@desk.test' }] }), { ActionStatus: 'OK' }, 'carol created on a');
  // On c the new member may connect as an agent once the change arrived there (it is watched, so it comes at once).
  let carol: TestClient | undefined;
  await waitUntil(async () => {
    const r = await rawConnect(c.port, { sdkappid: String(APP), identifier: 'carol@desk.test', usersig: genUserSig(APP, KEY, 'carol@desk.test', 600), role: 'agent' }, 500);
    if (r.code !== undefined && r.code !== 1000 && r.code !== 1005 && r.code !== 1006) return false;
    return r.frames.every((f) => f.type !== 'error');
  }, 5000, 'carol accepted on c');
  carol = await connectAgent(c.port, 'carol@desk.test');
  t.teardown(() => carol?.close());
  t.pass('the member created on a connects as an agent on c');
  const list = await rest({ ...api, port: c.port }, 'desk_http_svc/get_member_list', { PageSize: 100, PageNum: 0 });
  t.match(JSON.stringify(list), /carol@desk\.test/, "c's member list has her");

  // Two nodes changing the app from the same model: the second is told to retry rather than undo the first.
  const b = { ...api, port: c.port };
  const [x, y] = await Promise.all([
    rest(api, 'desk_http_svc/create_members', { MemberList: [{ MemberMail: 'dave@desk.test' }] }),
    rest(b, 'desk_http_svc/create_members', { MemberList: [{ MemberMail: 'erin@desk.test' }] }),
  ]);
  const oks = [x, y].filter((r) => r.ActionStatus === 'OK').length;
  t.ok(oks >= 1, 'at least one of two concurrent changes lands');
  await waitUntil(async () => {
    const l = JSON.stringify(await rest(api, 'desk_http_svc/get_member_list', { PageSize: 100, PageNum: 0 }));
    return (x.ActionStatus !== 'OK' || l.includes('dave@desk.test')) && (y.ActionStatus !== 'OK' || l.includes('erin@desk.test'));
  }, 5000, 'every change that landed to be seen on a');
  t.pass(`concurrent changes: ${oks} landed, none undone by the other`);
});

t.test("an acknowledged message is in its partition's log in JetStream; once another writer claimed the log, the node acknowledges nothing more of it", async (t) => {
  const [a] = await cluster(t, nats);
  const nc = await nats.connect();
  t.teardown(() => nc.close());
  const logs = await PartitionLogs.open(nc);
  const userId = userOn('c', 'logged');
  const p = partitionOf(sessionAddress(APP, CS, userId));
  const user = await connect(a.port, userId, 'user');
  t.teardown(() => user.close());
  /** The texts of the messages the partition's log holds, in order. */
  const logged = async (): Promise<string[]> => {
    const out: string[] = [];
    for await (const r of logs.read(p)) {
      for (const turn of decodeRecord(plainPackr(), Buffer.from(r.record))) {
        for (const m of turn.ms ?? []) out.push(textOf({ type: 'message', data: m }) ?? '');
      }
    }
    return out;
  };

  const ack = await user.request('message.send', { to: CS, random: nextRandom(), body: textBody('where is my order') });
  t.equal(ack.type, 'message.ack');
  t.ok((await logged()).includes('where is my order'), 'once acknowledged, the message is in the log of its partition (held by c, sent on a)');

  // Another writer claims the log (as a node that took the partition over would): c's appends are fenced off.
  await logs.claim(p, 'intruder');
  const random = nextRandom();
  for (let i = 0; i < 2; i++) {
    const refused = await user.request('message.send', { to: CS, random, body: textBody('are you there') }, 10_000);
    t.same({ type: refused.type, code: dataOf<{ code?: number }>(refused).code }, { type: 'error', code: 141002 }, `the next message is answered "retry" (${i === 0 ? 'sent' : 'sent again'})`);
  }
  t.notOk((await logged()).includes('are you there'), 'and is not in the log');
});
