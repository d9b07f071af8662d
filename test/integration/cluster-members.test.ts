/**
 * Members and users across three Desk nodes over a real nats-server: a member's sockets on other nodes outlive a node
 * started again, a member forced offline is closed on every node, and a user's sessions hear the user went only once
 * no node holds one of the user's sockets.
 */
import t from 'tap';
import { CloseCode } from '../../protocol/errors';
import { KEY } from '../helpers/server';
import { rest } from '../contract/rest-client';
import { srcBody, textBody, type TestClient } from '../helpers/client';
import { natsForTests } from '../helpers/nats';
import { APP, CS, connect, connectAgent, dataOf, nextRandom, seen, sleep, startsWith, toHuman, waitUntil } from './_support';
import { cluster, metric, userOn } from './_cluster';

const nats = natsForTests(t);

async function askHuman(u: TestClient): Promise<string> {
  await u.request('message.send', { to: CS, random: nextRandom(), body: srcBody('7') });
  const ack = await u.request('message.send', { to: CS, random: nextRandom(), body: textBody('转人工') });
  return dataOf<{ sessionId: string }>(ack).sessionId;
}

t.test('a node started again forgets only its own sockets: a member connected through another node stays online', async (t) => {
  const servers = await cluster(t, nats, { agentOfflineGraceSec: 1 });
  const [a, b] = servers;
  const alice = await connectAgent(b.port, 'alice@desk.test');
  t.teardown(() => alice.close());
  const live = async (node: { port: number }): Promise<unknown> => (await rest({ port: node.port, sdkAppId: APP, key: KEY, admin: 'administrator' }, 'desk_http_svc/describe_member_realtime_statistics', { MemberIds: ['alice@desk.test'] })).Data;
  const online = [{ MemberId: 'alice@desk.test', MemberStatus: 1 }];
  await waitUntil(async () => JSON.stringify(await live(a)).includes('"MemberStatus":1'), 5000, 'alice online');
  await servers[2].stop();
  const c = await servers.respawn(2);
  await sleep(2500); // past the grace period, had c's start reset her sockets on b
  for (const [name, node] of [['a', a], ['b', b], ['c', c]] as const) t.match(await live(node), online, `${name}: alice is online after c started again`);
  const user = await connect(c.port, userOn('a', 'after'), 'user');
  t.teardown(() => user.close());
  const { sessionId } = await toHuman(user, alice);
  t.pass('and is assigned a session');
  // The tests after this one start on the same JetStream, where alice's state is: she leaves free.
  t.equal((await alice.request('session.end', { sessionId })).type, 'session.end.ok');

  // Forced offline on a: her socket on b is closed too.
  const api = { port: a.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  t.match(await rest(api, 'desk_http_svc/force_member_offline', { MemberMail: 'alice@desk.test' }), { ActionStatus: 'OK' });
  await Promise.race([alice.closed, sleep(5000)]);
  t.same([alice.closeCode, alice.closeReason], [CloseCode.Unauthorized, 'forced offline'], "force_member_offline on a closes alice's socket on b");
  t.match(await rest(api, 'desk_http_svc/restore_member_online', { MemberMail: 'alice@desk.test' }), { ActionStatus: 'OK' });
});

t.test("a queued user's socket closing on one node ends the queued session held by another (queue-offline grace)", async (t) => {
  const [a, b, c] = await cluster(t, nats, { maxConcurrentPerAgent: 1, queueOfflineGraceSec: 1 });
  const alice = await connectAgent(b.port, 'alice@desk.test');
  const first = await connect(b.port, userOn('b', 'first'), 'user');
  const gone = await connect(a.port, userOn('c', 'gone'), 'user');
  const stays = await connect(c.port, userOn('a', 'stays'), 'user');
  t.teardown(() => { for (const x of [alice, first, gone, stays]) x.close(); });
  const { sessionId: s1 } = await toHuman(first, alice);
  const sGone = await askHuman(gone);
  await seen(gone, startsWith('您的问题我们已经收到'), 'queued prompt');
  const sStays = await askHuman(stays);
  await seen(stays, startsWith('您的问题我们已经收到'), 'queued prompt');
  t.equal(await metric(c, 'desk_sessions', '{state="Queueing"}'), 1, "c holds the gone user's queued session");
  // A second socket of the user who stays, on b, closes: the user is still connected through c.
  const staysOnB = await connect(b.port, userOn('a', 'stays'), 'user');
  await staysOnB.close();
  await sleep(2000);
  t.equal(await metric(a, 'desk_sessions', '{state="Queueing"}'), 1, 'a user whose socket on one node closed, with one open on another, stays queued past the grace');

  gone.close();
  // The grace (1 s) passes on c, where the session lives, though the socket closed on a.
  await waitUntil(async () => (await metric(c, 'desk_sessions', '{state="Queueing"}')) === 0, 8000, "the gone user's session to leave the queue");
  const mark = alice.frames.length;
  await alice.request('session.end', { sessionId: s1 });
  const next = await seen(alice, (f) => f.type === 'session.assigned', 'next assignment', mark, 5000);
  t.equal(dataOf<{ sessionId: string }>(next).sessionId, sStays, 'the next user served is the one still connected');
  t.notOk(alice.frames.some((f) => dataOf<{ sessionId?: string }>(f)?.sessionId === sGone), 'the agent never saw the abandoned session');
  // The next test starts on the same JetStream, with this one's app settings (one session per agent): alice leaves free.
  t.equal((await alice.request('session.end', { sessionId: sStays })).type, 'session.end.ok');
});
