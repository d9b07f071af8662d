/**
 * Routing over real sockets: queueing, manual reception and its timeout, forwarding, suspend, the user reply
 * timeout, agent and user presence grace periods, and one user talking to two customer-service accounts.
 */
import t from 'tap';
import type { ServerFrame } from '../../protocol/frames';
import { ManualClock } from '../../src/runtime/clock';
import { srcBody, srcOf, textBody, textOf, type TestClient } from '../helpers/client';
import { startTestServer, testApp, type TestServer } from '../helpers/server';
import {
  CS, dataOf, fullHistory, isText, nextRandom, PROMPT, roundTrip, seen, settle, since, sleep, srcsOf, startsWith, textsOf, toHuman, waitUntil,
} from './_support';

const ALICE = 'alice@desk.test';
const BOB = 'bob@desk.test';
const CAROL = 'carol@desk.test';

type Summary = { sessionId: string; userId: string; csAccount: string; acceptDeadline?: number; endStatus?: string; closeBy?: string; to?: string; reason?: string };

async function agentOf(s: TestServer, mail: string): Promise<TestClient> {
  const c = await s.agent(mail);
  c.ws.on('error', () => undefined);
  await seen(c, (f) => f.type === 'agent.state', 'agent.state', 0, 2000).catch(() => undefined);
  return c;
}

async function userOf(s: TestServer, id: string): Promise<TestClient> {
  const c = await s.user(id);
  c.ws.on('error', () => undefined);
  return c;
}

/** Sends src 7 and the transfer keyword; returns the session id (from the ack). */
async function askHuman(u: TestClient, to = CS): Promise<string> {
  await u.request('message.send', { to, random: nextRandom(), body: srcBody('7') });
  const ack = await u.request('message.send', { to, random: nextRandom(), body: textBody('转人工') });
  return dataOf<{ sessionId: string }>(ack).sessionId;
}

const assignedTo = (sessionId: string) => (f: ServerFrame) => f.type === 'session.assigned' && dataOf<Summary>(f).sessionId === sessionId;
const anyOf = (frames: ServerFrame[], type: string, sessionId?: string) =>
  frames.some((f) => f.type === type && (sessionId === undefined || dataOf<Summary>(f).sessionId === sessionId));

/** Closes a client socket and lets the server process the close. */
async function drop(s: TestServer, c: TestClient): Promise<void> {
  await c.close();
  await sleep(20);
  await settle(s);
}

t.test('queue: with the only agent at its limit, the second user is queued at position 1 and assigned when the first session ends', async (t) => {
  const s = await startTestServer(testApp([ALICE], { maxConcurrentPerAgent: 1 }));
  t.teardown(() => s.stop());
  const alice = await agentOf(s, ALICE);
  const u1 = await userOf(s, 'u1');
  const { sessionId: s1 } = await toHuman(u1, alice);

  const u2 = await userOf(s, 'u2');
  const mark = alice.frames.length;
  const s2 = await askHuman(u2);
  await seen(u2, isText(PROMPT.transferring), 'transferring prompt');
  const q = await seen(u2, startsWith('您的问题我们已经收到'), 'queueing prompt');
  t.equal(textOf(q), PROMPT.queueing(1), 'queue prompt with position 1 and 0 ahead');
  t.match(textOf(q), '您目前排在第1位，前面还有0人');
  await settle(s);
  await roundTrip(alice, u2);
  t.notOk(anyOf(since(alice, mark), 'session.assigned', s2) || anyOf(since(alice, mark), 'session.offer', s2), 'the agent at its limit gets nothing');
  t.notOk(u2.texts().some((x) => x.startsWith('转接人工成功')), 'no success prompt while queued');

  const end = await alice.request('session.end', { sessionId: s1 });
  t.equal(end.type, 'session.end.ok');
  const success = await seen(u2, startsWith('转接人工成功'), 'success prompt for the queued user');
  t.equal(textOf(success), PROMPT.success('alice'));
  const a2 = await seen(alice, assignedTo(s2), 'assignment of the queued session');
  t.equal(dataOf<Summary>(a2).userId, 'u2');

  // The assignment is real: the two can talk.
  await alice.request('message.send', { sessionId: s2, random: 1, body: textBody('hi u2') });
  await seen(u2, isText('hi u2'));
});

t.test('queue: three queued users are served in arrival order, each prompt shows its position', async (t) => {
  const s = await startTestServer(testApp([ALICE], { maxConcurrentPerAgent: 1 }));
  t.teardown(() => s.stop());
  const alice = await agentOf(s, ALICE);
  const u0 = await userOf(s, 'first');
  const { sessionId: s0 } = await toHuman(u0, alice);

  const queued: { id: string; c: TestClient; sid: string }[] = [];
  for (const [i, id] of ['q1', 'q2', 'q3'].entries()) {
    const c = await userOf(s, id);
    const sid = await askHuman(c);
    const q = await seen(c, startsWith('您的问题我们已经收到'), `queue prompt of ${id}`);
    t.equal(textOf(q), PROMPT.queueing(i + 1), `${id} is at position ${i + 1} with ${i} ahead`);
    queued.push({ id, c, sid });
  }

  let current = s0;
  for (const q of queued) {
    const mark = alice.frames.length;
    const end = await alice.request('session.end', { sessionId: current });
    t.equal(end.type, 'session.end.ok');
    const a = await seen(alice, (f) => f.type === 'session.assigned', 'next assignment', mark);
    t.equal(dataOf<Summary>(a).userId, q.id, `${q.id} is served next`);
    t.equal(dataOf<Summary>(a).sessionId, q.sid);
    await seen(q.c, startsWith('转接人工成功'));
    for (const other of queued.slice(queued.indexOf(q) + 1)) {
      t.notOk(other.c.texts().some((x) => x.startsWith('转接人工成功')), `${other.id} still waits`);
    }
    current = q.sid;
  }
});

t.test('manual reception: an offer that is not accepted in time goes to the next agent; the first agent goes to rest', async (t) => {
  const clock = new ManualClock();
  const s = await startTestServer(testApp([ALICE, BOB], { receptionMode: 'manual', acceptTimeoutSec: 30, restAfterAcceptTimeout: true }), { clock });
  t.teardown(() => s.stop());
  const alice = await agentOf(s, ALICE);
  const bob = await agentOf(s, BOB);
  const agents = [alice, bob];
  const u = await userOf(s, 'mu1');
  const marks = agents.map((a) => a.frames.length);
  const sid = await askHuman(u);

  const isOffer = (f: ServerFrame) => f.type === 'session.offer' && dataOf<Summary>(f).sessionId === sid;
  await waitUntil(() => agents.some((a, i) => since(a, marks[i]).some(isOffer)), 3000, 'session.offer');
  const first = agents.find((a, i) => since(a, marks[i]).some(isOffer))!;
  const second = first === alice ? bob : alice;
  const offer = since(first, marks[agents.indexOf(first)]).find(isOffer)!;
  t.equal(dataOf<Summary>(offer).userId, 'mu1');
  t.equal(dataOf<Summary>(offer).acceptDeadline, clock.now() + 30_000, 'the offer carries the accept deadline');
  t.notOk(since(second, marks[agents.indexOf(second)]).some(isOffer), 'offered to one agent only');
  await roundTrip(u);
  t.notOk(u.texts().some((x) => x.startsWith('转接人工成功')), 'no success prompt before the accept');

  // A socket of the member that connects now is offered it again, with the same deadline.
  const another = await s.agent(first === alice ? ALICE : BOB);
  const reoffer = await another.next(isOffer, 3000, 'session.offer again');
  t.equal(dataOf<Summary>(reoffer).acceptDeadline, clock.now() + 30_000, 'a reconnecting workbench sees the offer and its deadline');
  await another.close();

  // The other agent cannot take it.
  const steal = await second.request('session.accept', { sessionId: sid });
  t.equal(steal.type, 'error');
  t.equal(dataOf<{ code: number }>(steal).code, 141005, 'accepting a session offered to someone else is refused');

  const m1 = first.frames.length;
  const m2 = second.frames.length;
  clock.advance(29_000);
  await settle(s);
  await roundTrip(first, second);
  t.notOk(since(first, m1).some((f) => f.type === 'session.transferred'), 'nothing happens before the deadline');

  clock.advance(2_000);
  const rest = await seen(first, (f) => f.type === 'agent.status', 'agent.status rest', m1);
  t.same(dataOf(rest), { status: 'rest', reason: 'acceptTimeout' }, 'the timed-out agent is set to rest');
  const lapsed = await seen(first, (f) => f.type === 'session.transferred', 'session.transferred to the timed-out agent', m1);
  t.equal(dataOf<Summary>(lapsed).sessionId, sid);
  t.equal(dataOf<Summary>(lapsed).reason, 'acceptTimeout');
  const offer2 = await seen(second, isOffer, 'offer to the second agent', m2);
  t.equal(dataOf<Summary>(offer2).acceptDeadline, clock.now() + 30_000, 'a fresh deadline');

  const late = await first.request('session.accept', { sessionId: sid });
  t.equal(late.type, 'error', 'the timed-out agent can no longer accept');

  const acc = await second.request('session.accept', { sessionId: sid });
  t.equal(acc.type, 'session.accept.ok');
  const success = await seen(u, startsWith('转接人工成功'), 'success prompt after accept');
  t.equal(textOf(success), PROMPT.success(second === alice ? 'alice' : 'bob'));
  await seen(second, assignedTo(sid));
  const again = await second.request('session.accept', { sessionId: sid });
  t.equal(dataOf<{ code: number }>(again).code, 141026, 'a second accept is refused (wrong state)');

  // In service: messages flow, and the expired accept timer does nothing any more.
  await second.request('message.send', { sessionId: sid, random: 1, body: textBody('manual hello') });
  await seen(u, isText('manual hello'));
  const m3 = second.frames.length;
  clock.advance(31_000);
  await settle(s);
  await roundTrip(second);
  t.notOk(since(second, m3).some((f) => f.type === 'session.transferred' || f.type === 'session.ended'), 'an accepted session is not re-offered');

  // A resting agent gets no new offers: the next user goes to the one that accepted.
  const u2 = await userOf(s, 'mu2');
  const fm = first.frames.length;
  const sid2 = await askHuman(u2);
  await seen(second, (f) => f.type === 'session.offer' && dataOf<Summary>(f).sessionId === sid2, 'offer of the second user');
  await roundTrip(first);
  t.notOk(since(first, fm).some((f) => f.type === 'session.offer'), 'the resting agent is skipped');
});

t.test('forward: to another agent moves the session; to oneself is 141024; to an offline member is 141011', async (t) => {
  const s = await startTestServer(testApp([ALICE, BOB, CAROL]));
  t.teardown(() => s.stop());
  const alice = await agentOf(s, ALICE);
  const u = await userOf(s, 'fu1');
  const { sessionId: sid } = await toHuman(u, alice);
  const bob = await agentOf(s, BOB);

  const self = await alice.request('session.transfer', { sessionId: sid, memberId: ALICE });
  t.equal(self.type, 'error');
  t.equal(dataOf<{ code: number }>(self).code, 141024, 'transfer to oneself');

  const offline = await alice.request('session.transfer', { sessionId: sid, memberId: CAROL });
  t.equal(offline.type, 'error');
  t.equal(dataOf<{ code: number }>(offline).code, 141011, 'transfer to a member who is not online');

  const unknown = await alice.request('session.transfer', { sessionId: sid, memberId: 'nobody@desk.test' });
  t.equal(unknown.type, 'error', 'transfer to a non-member is refused');

  const notMine = await bob.request('session.transfer', { sessionId: sid, memberId: ALICE });
  t.equal(dataOf<{ code: number }>(notMine).code, 141005, 'only the serving agent may transfer');

  // The failed attempts left the session with alice, in service.
  await alice.request('message.send', { sessionId: sid, random: 1, body: textBody('still alice') });
  await seen(u, isText('still alice'));

  const ok = await alice.request('session.transfer', { sessionId: sid, memberId: BOB });
  t.equal(ok.type, 'session.transfer.ok');
  t.same(dataOf(ok), { sessionId: sid, memberId: BOB });
  const got = await seen(bob, assignedTo(sid), 'bob gets the session');
  t.equal(dataOf<Summary>(got).userId, 'fu1');
  const moved = await seen(alice, (f) => f.type === 'session.transferred', 'alice is told');
  t.equal(dataOf<Summary>(moved).sessionId, sid, 'same session id across the forward');
  t.equal(dataOf<Summary>(moved).to, BOB);
  const prompt = await seen(u, isText(PROMPT.success('bob')));
  t.equal(textOf(prompt), PROMPT.success('bob'), 'the user is told who serves now');

  const byBob = await bob.request('message.send', { sessionId: sid, random: 2, body: textBody('bob here') });
  t.equal(byBob.type, 'message.ack');
  await seen(u, isText('bob here'));
  const byAlice = await alice.request('message.send', { sessionId: sid, random: 3, body: textBody('alice again') });
  t.equal(dataOf<{ code: number }>(byAlice).code, 141005, 'the former agent can no longer send');
  const am = alice.frames.length;
  await u.request('message.send', { to: CS, random: nextRandom(), body: textBody('to whoever serves') });
  await seen(bob, isText('to whoever serves'));
  await roundTrip(alice);
  t.notOk(since(alice, am).some(isText('to whoever serves')), 'user messages go to the new agent only');

  // A group forward (no member named) picks someone other than the forwarder.
  const back = await bob.request('session.transfer', { sessionId: sid });
  t.equal(back.type, 'session.transfer.ok');
  await seen(alice, assignedTo(sid), 'the group forward lands on alice', am);
});

t.test('suspend and unsuspend frames; a suspended session does not count toward the limit nor time out', async (t) => {
  const clock = new ManualClock();
  const s = await startTestServer(testApp([ALICE], { maxConcurrentPerAgent: 1 }), { clock });
  t.teardown(() => s.stop());
  const alice = await agentOf(s, ALICE);
  const u1 = await userOf(s, 'su1');
  const { sessionId: s1 } = await toHuman(u1, alice);
  await alice.request('message.send', { sessionId: s1, random: 1, body: textBody('one moment') });

  const sus = await alice.request('session.suspend', { sessionId: s1 });
  t.equal(sus.type, 'session.suspend.ok');
  const twice = await alice.request('session.suspend', { sessionId: s1 });
  t.equal(dataOf<{ code: number }>(twice).code, 141026, 'suspending twice is refused');
  const early = await alice.request('session.unsuspend', { sessionId: 'no-such-session' });
  t.equal(dataOf<{ code: number }>(early).code, 141005);

  // Messages still flow while suspended.
  await u1.request('message.send', { to: CS, random: nextRandom(), body: textBody('are you back?') });
  await seen(alice, isText('are you back?'));

  // Not counted toward the limit: a second user is served at once.
  const u2 = await userOf(s, 'su2');
  const { sessionId: s2 } = await toHuman(u2, alice);

  // No user-timeout while suspended.
  const um = u1.frames.length;
  clock.advance(600_001);
  await settle(s);
  await roundTrip(u1, alice);
  t.notOk(since(u1, um).some(isText(PROMPT.timeoutEnd)), 'no timeout end while suspended');
  t.notOk(anyOf(alice.frames, 'session.ended', s1), 'the suspended session is still open');

  const full = await alice.request('session.unsuspend', { sessionId: s1 });
  t.equal(full.type, 'error');
  t.equal(dataOf<{ code: number }>(full).code, 141012, 'unsuspending beyond the limit is refused');

  await alice.request('session.end', { sessionId: s2 });
  const un = await alice.request('session.unsuspend', { sessionId: s1 });
  t.equal(un.type, 'session.unsuspend.ok');
  t.same(dataOf(un), { sessionId: s1, suspended: false });
  const un2 = await alice.request('session.unsuspend', { sessionId: s1 });
  t.equal(dataOf<{ code: number }>(un2).code, 141026, 'unsuspending a session that is not suspended');

  // Counted again: a third user now queues.
  const u3 = await userOf(s, 'su3');
  await askHuman(u3);
  await seen(u3, startsWith('您的问题我们已经收到'), 'queued again once unsuspended');

  // And the user timeout applies again after the next agent message.
  await alice.request('message.send', { sessionId: s1, random: 2, body: textBody('back now') });
  clock.advance(600_001);
  await seen(u1, isText(PROMPT.timeoutEnd), 'timeout after unsuspend');
});

t.test('user reply timeout: 600 s after an agent message the session ends with UserTimeout; a user reply resets it', async (t) => {
  const clock = new ManualClock();
  const s = await startTestServer(testApp([ALICE]), { clock });
  t.teardown(() => s.stop());
  const alice = await agentOf(s, ALICE);
  const u = await userOf(s, 'tu1');
  const { sessionId: sid } = await toHuman(u, alice);

  // A user reply in time clears the countdown.
  await alice.request('message.send', { sessionId: sid, random: 1, body: textBody('anything else?') });
  clock.advance(300_000);
  await u.request('message.send', { to: CS, random: nextRandom(), body: textBody('yes, one more thing') });
  clock.advance(400_000);
  await settle(s);
  await roundTrip(u, alice);
  t.notOk(u.texts().includes(PROMPT.timeoutEnd), 'a reply within the timeout keeps the session');

  await alice.request('message.send', { sessionId: sid, random: 2, body: textBody('are you still there?') });
  await seen(u, isText('are you still there?'));
  clock.advance(599_999);
  await settle(s);
  await roundTrip(u, alice);
  t.notOk(u.texts().includes(PROMPT.timeoutEnd), 'not yet at 599.999 s');

  clock.advance(2);
  const prompt = await seen(u, isText(PROMPT.timeoutEnd), 'timeout prompt');
  t.equal(dataOf<{ fromRole: number }>(prompt).fromRole, 3);
  const src20 = await seen(u, (f) => srcOf(f) === '20', 'src 20');
  t.equal(dataOf<{ sessionId: string }>(src20).sessionId, sid);
  const ended = await seen(alice, (f) => f.type === 'session.ended', 'session.ended');
  t.equal(dataOf<Summary>(ended).sessionId, sid);
  t.equal(dataOf<Summary>(ended).endStatus, 'UserTimeout');
  t.equal(dataOf<Summary>(ended).closeBy, 'timer');
  const after = await alice.request('message.send', { sessionId: sid, random: 3, body: textBody('too late') });
  t.equal(dataOf<{ code: number }>(after).code, 141005, 'the ended session takes no more agent messages');
});

t.test('agent presence: offline after the grace period → transfer fails; a reconnect within the grace keeps the session', async (t) => {
  const clock = new ManualClock();
  const s = await startTestServer(testApp([ALICE], { agentOfflineGraceSec: 60 }), { clock });
  t.teardown(() => s.stop());

  // Reconnect within the grace.
  const alice = await agentOf(s, ALICE);
  const u = await userOf(s, 'pu1');
  const { sessionId: sid } = await toHuman(u, alice);
  await drop(s, alice);
  clock.advance(30_000);
  await settle(s);
  const alice2 = await agentOf(s, ALICE);
  const state = alice2.frames.find((f) => f.type === 'agent.state');
  if (state) t.ok(JSON.stringify(state.data).includes(sid), 'agent.state lists the held session');
  clock.advance(40_000); // past the first disconnect's grace
  await settle(s);
  const ack = await alice2.request('message.send', { sessionId: sid, random: 1, body: textBody('sorry, network hiccup') });
  t.equal(ack.type, 'message.ack', 'the reconnected agent still serves the session');
  await seen(u, isText('sorry, network hiccup'));
  await u.request('message.send', { to: CS, random: nextRandom(), body: textBody('no problem') });
  await seen(alice2, isText('no problem'));
  const u2 = await userOf(s, 'pu2');
  await toHuman(u2, alice2);
  t.pass('the agent is still online and takes new sessions');

  // Gone for longer than the grace.
  await drop(s, alice2);
  clock.advance(59_000);
  await settle(s);
  clock.advance(1_001);
  await settle(s);
  const u3 = await userOf(s, 'pu3');
  await askHuman(u3);
  await seen(u3, isText(PROMPT.transferring));
  const failed = await seen(u3, isText(PROMPT.transferFailed), 'transfer-failed prompt');
  t.ok(failed, 'no agent online: transfer failed');
  // Back with the robot.
  await u3.request('message.send', { to: CS, random: nextRandom(), body: textBody('hello?') });
  await seen(u3, startsWith('抱歉，我还没有学会'), 'the robot answers again');

  // The session it held in service is still its own after it logs in again.
  const alice3 = await agentOf(s, ALICE);
  const ack3 = await alice3.request('message.send', { sessionId: sid, random: 2, body: textBody('back after a long break') });
  t.equal(ack3.type, 'message.ack', 'in-service sessions stay with the agent across offline');
});

t.test('queued user presence: offline longer than queueOfflineGraceSec ends the queued session; the agent never sees it', async (t) => {
  const clock = new ManualClock();
  const s = await startTestServer(testApp([ALICE], { maxConcurrentPerAgent: 1, queueOfflineGraceSec: 60 }), { clock });
  t.teardown(() => s.stop());
  const alice = await agentOf(s, ALICE);
  const u1 = await userOf(s, 'ou1');
  const { sessionId: s1 } = await toHuman(u1, alice);

  const gone = await userOf(s, 'ou-gone');
  const sGone = await askHuman(gone);
  await seen(gone, startsWith('您的问题我们已经收到'));
  const stays = await userOf(s, 'ou-stays');
  const sStays = await askHuman(stays);
  t.equal(textOf(await seen(stays, startsWith('您的问题我们已经收到'))), PROMPT.queueing(2));

  await drop(s, gone);
  clock.advance(59_000);
  await settle(s);
  clock.advance(1_001);
  await settle(s);

  const mark = alice.frames.length;
  await alice.request('session.end', { sessionId: s1 });
  const next = await seen(alice, (f) => f.type === 'session.assigned', 'next assignment', mark);
  t.equal(dataOf<Summary>(next).sessionId, sStays, 'the abandoned session left the queue; the next user is served');
  await roundTrip(alice);
  t.notOk(anyOf(alice.frames, 'session.assigned', sGone) || anyOf(alice.frames, 'session.offer', sGone), 'the agent never sees the abandoned session');

  const again = await userOf(s, 'ou-gone');
  const hist = await fullHistory(again, { to: CS });
  const mine = hist.filter((m) => m.sessionId === sGone);
  t.ok(srcsOf(mine).includes('19'), 'the abandoned session was ended (src 19)');
  t.notOk(textsOf(mine).some((x) => x.startsWith('转接人工成功')), 'and never reached an agent');
  const ack = await again.request('message.send', { to: CS, random: nextRandom(), body: srcBody('7') });
  t.not(dataOf<{ sessionId: string }>(ack).sessionId, sGone, 'a later src 7 opens a new session');
});

t.test('queued user presence: back within queueOfflineGraceSec keeps the place in the queue', async (t) => {
  const clock = new ManualClock();
  const s = await startTestServer(testApp([ALICE], { maxConcurrentPerAgent: 1, queueOfflineGraceSec: 60 }), { clock });
  t.teardown(() => s.stop());
  const alice = await agentOf(s, ALICE);
  const u1 = await userOf(s, 'ob1');
  const { sessionId: s1 } = await toHuman(u1, alice);
  let back = await userOf(s, 'ob-back');
  const sBack = await askHuman(back);
  await seen(back, startsWith('您的问题我们已经收到'));

  await drop(s, back);
  clock.advance(30_000);
  await settle(s);
  back = await userOf(s, 'ob-back');
  await settle(s);
  clock.advance(60_000);
  await settle(s);

  const mark = alice.frames.length;
  await alice.request('session.end', { sessionId: s1 });
  const next = await seen(alice, (f) => f.type === 'session.assigned', 'next assignment', mark);
  t.equal(dataOf<Summary>(next).sessionId, sBack, 'the user who came back is served');
  await seen(back, startsWith('转接人工成功'));
});

t.test('one user, two customer-service accounts: two independent sessions, no leaks, history per account', async (t) => {
  const s = await startTestServer(testApp([ALICE], {}, { csAccounts: [{ userId: 'sales', agentGroupId: 1 }] }));
  t.teardown(() => s.stop());
  const alice = await agentOf(s, ALICE);
  const u = await userOf(s, 'du1');
  const { sessionId: sCs } = await toHuman(u, alice, CS);
  const { sessionId: sSales } = await toHuman(u, alice, 'sales');
  t.not(sCs, sSales, 'two sessions');
  const assigned = alice.frames.filter((f) => f.type === 'session.assigned').map((f) => dataOf<Summary>(f));
  t.same(assigned.map((a) => [a.sessionId, a.csAccount]).sort(), [[sCs, CS], [sSales, 'sales']].sort(), 'each session names its account');

  await u.request('message.send', { to: CS, random: nextRandom(), body: textBody('hello support') });
  await u.request('message.send', { to: 'sales', random: nextRandom(), body: textBody('hello sales') });
  const m1 = await seen(alice, isText('hello support'));
  const m2 = await seen(alice, isText('hello sales'));
  t.equal(dataOf<{ sessionId: string }>(m1).sessionId, sCs);
  t.equal(dataOf<{ sessionId: string }>(m2).sessionId, sSales);

  await alice.request('message.send', { sessionId: sSales, random: 1, body: textBody('sales reply') });
  await alice.request('message.send', { sessionId: sCs, random: 2, body: textBody('support reply') });
  const r1 = await seen(u, isText('sales reply'));
  t.equal(dataOf<{ account: string; from: string; sessionId: string }>(r1).account, 'sales');
  t.equal(dataOf<{ from: string }>(r1).from, 'sales', 'from the sales account');
  t.equal(dataOf<{ sessionId: string }>(r1).sessionId, sSales);
  const r2 = await seen(u, isText('support reply'));
  t.equal(dataOf<{ from: string }>(r2).from, CS);

  for (const f of u.frames.filter((x) => x.type === 'message')) {
    const d = dataOf<{ sessionId: string; account: string }>(f);
    if (d.sessionId === sCs) t.equal(d.account, CS, 'support-session frames name the support account');
    if (d.sessionId === sSales) t.equal(d.account, 'sales', 'sales-session frames name the sales account');
  }

  const hCs = await fullHistory(u, { to: CS });
  const hSales = await fullHistory(u, { to: 'sales' });
  t.ok(hCs.length > 0 && hSales.length > 0);
  t.ok(hCs.every((m) => m.sessionId === sCs && m.account === CS), 'support history holds only the support session');
  t.ok(hSales.every((m) => m.sessionId === sSales && m.account === 'sales'), 'sales history holds only the sales session');
  t.ok(textsOf(hCs).includes('hello support') && textsOf(hCs).includes('support reply'));
  t.notOk(textsOf(hCs).some((x) => x.includes('sales')), 'no sales text in the support history');
  t.ok(textsOf(hSales).includes('hello sales') && textsOf(hSales).includes('sales reply'));
  t.notOk(textsOf(hSales).some((x) => x.includes('support')), 'no support text in the sales history');
  t.same(hCs.map((m) => m.seq), hCs.map((_, i) => i + 1), 'support sequence starts at 1 with no gaps');
  t.same(hSales.map((m) => m.seq), hSales.map((_, i) => i + 1), 'sales sequence is its own');

  const agentView = await fullHistory(alice, { sessionId: sSales });
  t.ok(agentView.every((m) => m.sessionId === sSales), 'history by session id for the agent');

  // Ending one leaves the other in service.
  await alice.request('session.end', { sessionId: sCs });
  await u.request('message.send', { to: 'sales', random: nextRandom(), body: textBody('still talking to sales') });
  const still = await seen(alice, isText('still talking to sales'));
  t.equal(dataOf<{ sessionId: string }>(still).sessionId, sSales);
});
