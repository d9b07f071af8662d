/** Session reducer in human service: accept timeout, forward, suspend, ends and typing (spec §2.3 T10–T14). */
import t from 'tap';
import type { SessionEvent } from '../../actors/session';
import { ErrorCode } from '../../protocol/errors';
import { payloadOf, Sim, srcBody, srcOf, T0, type SimOptions } from '../helpers/sim';

const A = 'alice@desk.test';
const B = 'bob@desk.test';
const C = 'carol@desk.test';
const ACTIVE_END = '本次服务已结束，感谢您的支持';

type Ended = Extract<SessionEvent, { type: 'SessionEnded' }>;

/** u1 in service with alice (who wins the tie on lastServedAt by member id). */
function inService(o: SimOptions = {}, online: string[] = [A, B]): Sim {
  const sim = new Sim(o);
  for (const m of online) sim.connect(m);
  sim.enter('u1');
  sim.say('u1', '人工');
  if (sim.session('u1').cur?.agentId !== A) throw new Error('setup: u1 should be with alice');
  return sim;
}

const seat = (sim: Sim, u: string) => sim.seen('user', u).filter((f) => srcOf(f) === '26').map((f) => payloadOf(f)!.content.content);

t.test('T10: an offer not accepted in time goes to ANOTHER member; the late one rests when configured', async (t) => {
  const sim = new Sim({ session: { receptionMode: 'manual', acceptTimeoutSec: 60, restAfterAcceptTimeout: true } });
  sim.connect(A);
  sim.connect(B);
  sim.enter('u1');
  sim.say('u1', '人工');
  t.equal(sim.session('u1').cur!.agentId, A, 'first offer to alice (tie on lastServedAt → member id)');
  sim.advance(60_000);
  t.equal(sim.phase('u1'), 'WaitingForAgentAnswering');
  t.equal(sim.session('u1').cur!.agentId, B, 're-offered to bob');
  t.equal(sim.agentFrames(B, 'session.offer').length, 1);
  t.match(sim.agentFrames(A, 'session.transferred')[0]?.data, { sessionId: 'sid-1', reason: 'acceptTimeout' }, 'alice told it moved on');
  t.equal(sim.agent(A).status, 'rest', 'alice set to rest');
  t.equal(sim.agent(A).restReason, 'acceptTimeout');
  t.match(sim.agentFrames(A, 'agent.status')[0]?.data, { status: 'rest' });
  t.same(Object.keys(sim.agent(A).sessions), [], 'alice\'s slot released');
  t.same(Object.keys(sim.agent(B).sessions), ['sid-1']);
  t.match(sim.events(sim.conv('u1'), 'MemberAccessTimeout'), [{ memberId: A, requeue: true }]);
  t.equal(sim.act(A, 'u1', 'accept')?.code, ErrorCode.SessionNotFound, 'alice can no longer accept');
  t.ok(sim.act(B, 'u1', 'accept')?.ok);
  t.equal(sim.phase('u1'), 'Agent');
});

t.test('T10: without restAfterAcceptTimeout the late member stays free', async (t) => {
  const sim = new Sim({ session: { receptionMode: 'manual', acceptTimeoutSec: 60 } });
  sim.connect(A);
  sim.connect(B);
  sim.enter('u1');
  sim.say('u1', '人工');
  sim.advance(60_000);
  t.equal(sim.session('u1').cur!.agentId, B);
  t.equal(sim.agent(A).status, 'free');
});

t.test('T11: forward to a named member', async (t) => {
  const sim = inService();
  sim.forget();
  const r = sim.act(A, 'u1', 'transfer', { targetMemberId: B });
  t.ok(r?.ok, 'forward accepted');
  t.match(r!.data, { sessionId: 'sid-1', memberId: B });
  t.equal(sim.session('u1').cur!.agentId, B);
  t.equal(sim.phase('u1'), 'Agent');
  t.equal(sim.session('u1').cur!.sessionId, 'sid-1', 'same session id across the forward');
  t.match(sim.agentFrames(A, 'session.transferred')[0]?.data, { sessionId: 'sid-1', to: B, reason: 'forward' });
  t.equal(sim.agentFrames(B, 'session.assigned').length, 1);
  t.same(Object.keys(sim.agent(A).sessions), [], 'alice released');
  t.same(Object.keys(sim.agent(B).sessions), ['sid-1'], 'bob holds it');
  t.equal(sim.texts('u1').at(-1), '转接人工成功，客服bob为您服务');
  t.match(sim.events(sim.conv('u1'), 'AgentForward'), [{ from: A, to: B }]);
  sim.say('u1', 'hello bob');
  t.match(sim.agentFrames(B, 'message').at(-1)?.data, { from: 'u1', body: [{ MsgContent: { Text: 'hello bob' } }] }, 'the user\'s messages now reach bob');
  t.equal(sim.agentFrames(A, 'message').length, 0, 'and no longer alice');
});

t.test('T11: forward to a group', async (t) => {
  const sim = inService({ members: [A, B, { mail: C, groupIds: [2] }] }, [A, B, C]);
  const r = sim.act(A, 'u1', 'transfer', { groupId: 2 });
  t.ok(r?.ok);
  t.equal(sim.session('u1').cur!.agentId, C, 'carol, the only member of group 2, has it');
  t.same(Object.keys(sim.agent(C).sessions), ['sid-1']);
  t.same(Object.keys(sim.agent(A).sessions), []);
});

// A session forwarded to group 2 and served by a group-2-only member is recorded (and re-queued) as group 2.
t.test('T11: a session forwarded to a group belongs to that group afterwards', async (t) => {
  const sim = inService({ members: [A, B, { mail: C, groupIds: [2] }] }, [A, B, C]);
  sim.forget();
  sim.act(A, 'u1', 'transfer', { groupId: 2 });
  t.equal(sim.session('u1').cur!.groupId, 2, 'the session now belongs to group 2');
  t.match(sim.agentFrames(C, 'session.assigned')[0]?.data, { groupId: 2 }, 'carol is told it is a group-2 session');
});

t.test('T11: manual reception: a lapsed forward offer stays in the target group', async (t) => {
  const D = 'dave@desk.test';
  const sim = new Sim({ members: [A, B, { mail: C, groupIds: [2] }, { mail: D, groupIds: [2] }], session: { receptionMode: 'manual', acceptTimeoutSec: 30 } });
  for (const m of [A, B, C, D]) sim.connect(m);
  sim.enter('u1');
  sim.say('u1', '人工');
  sim.act(A, 'u1', 'accept');
  t.ok(sim.act(A, 'u1', 'transfer', { groupId: 2 })?.ok);
  t.equal(sim.session('u1').cur!.agentId, C, 'offered to carol in group 2');
  sim.advance(30_000);
  t.equal(sim.session('u1').cur!.agentId, D, 'carol lapsed: re-offered to dave, the other member of group 2');
});

t.test('T11: forward refusals', async (t) => {
  const sim = inService();
  t.equal(sim.act(A, 'u1', 'transfer', { targetMemberId: A })?.code, ErrorCode.TransferToSelf, 'to self → 141024');
  t.equal(sim.act(A, 'u1', 'transfer', { groupId: 99 })?.code, ErrorCode.GroupIllegal, 'unknown group');
  t.equal(sim.act(A, 'u1', 'transfer', { targetMemberId: 'nobody@desk.test' })?.code, ErrorCode.AgentOffline, 'unknown member');
  sim.status(B, 'offline');
  t.equal(sim.act(A, 'u1', 'transfer', { targetMemberId: B })?.code, ErrorCode.AgentOffline, 'to an offline member → 141011');
  t.equal(sim.session('u1').cur!.agentId, A, 'the session stays with alice');
  t.equal(sim.session('u1').cur!.pendingForward, undefined, 'no forward left pending');
  t.same(Object.keys(sim.agent(A).sessions), ['sid-1']);
});

t.test('T11: forward to a member who never came online → 141011', async (t) => {
  const sim = inService({}, [A]);
  t.equal(sim.act(A, 'u1', 'transfer', { targetMemberId: B })?.code, ErrorCode.AgentOffline);
  t.equal(sim.act(A, 'u1', 'transfer')?.code, ErrorCode.NoAgentOnline, 'to the group with nobody else online');
});

// The forwarding agent's request is answered even when the session ends before the queue has placed it.
t.test('T11: a forward in flight when the user ends is still answered', async (t) => {
  const sim = inService();
  sim.tell(sim.conv('u1'), { type: 'agentAction', action: 'transfer', memberId: A, sessionId: 'sid-1', targetMemberId: B, replyTo: { call: 999 } });
  sim.step(); // the session records the forward and asks the queue
  sim.tell(sim.conv('u1'), { type: 'userSend', random: 5, body: srcBody('27') });
  sim.stepWhere((d) => d.to === sim.conv('u1')); // the user's end overtakes the queue's answer
  sim.run();
  t.equal(sim.phase('u1'), 'NotInSession');
  t.same(sim.agent(B).sessions, {}, 'bob\'s reservation for the stale forward is given back');
  t.ok(sim.replies.get(999), 'alice\'s transfer request gets an answer');
});

t.test('T12: a suspended session frees capacity; unsuspend is refused at the limit', async (t) => {
  const sim = new Sim({ members: [{ mail: A, receptionLimit: 1 }] });
  sim.connect(A);
  sim.enter('u1');
  sim.say('u1', '人工');
  sim.enter('u2');
  sim.say('u2', '人工');
  t.equal(sim.phase('u2'), 'Queueing', 'alice is full');
  t.ok(sim.act(A, 'u1', 'suspend')?.ok);
  t.equal(sim.session('u1').cur!.suspended, true);
  t.equal(sim.phase('u1'), 'Agent', 'a suspended session stays with the agent');
  t.equal(sim.phase('u2'), 'Agent', 'u2 took the freed slot');
  t.equal(sim.session('u2').cur!.agentId, A);
  t.equal(sim.act(A, 'u1', 'suspend')?.code, ErrorCode.WrongState, 'already suspended');

  const r = sim.act(A, 'u1', 'unsuspend');
  t.equal(r?.code, ErrorCode.AgentAtLimit, 'unsuspend at the limit → 141012');
  t.equal(sim.session('u1').cur!.suspended, true, 'still suspended');

  sim.act(A, 'u2', 'end');
  const again = sim.act(A, 'u1', 'unsuspend');
  t.ok(again?.ok, 'unsuspend once there is room');
  t.equal(sim.session('u1').cur!.suspended, false);
  t.equal(sim.agent(A).sessions[sim.sid('u1')].suspended, false);
});

t.test('T13: the user ends while queued → UserAbandonedDuringQueueing', async (t) => {
  const sim = new Sim();
  sim.connect(A);
  sim.status(A, 'busy');
  sim.enter('u1');
  sim.say('u1', '人工');
  t.equal(sim.phase('u1'), 'Queueing');
  sim.forget();
  t.ok(sim.src('u1', '27')?.ok);
  t.equal(sim.phase('u1'), 'NotInSession');
  t.same(sim.queue(1).waiting, [], 'left the queue');
  t.same(sim.srcs('u1'), ['19'], 'end flag, no rating card for a session no agent served');
  t.match(sim.events<Ended>(sim.conv('u1'), 'SessionEnded'), [{ endStatus: 'UserAbandonedDuringQueueing', event: 'SessionUserEnd', closeBy: 'client' }]);
});

// Spec §2.3 T13 sends the active-end prompt for every src 27 end, queued included; the code picks the prompt by end
// status (actors/session.ts `endPrompt`), and UserAbandonedDuringQueueing has none, so a queued user gets no prompt.
t.test('T13: the user ending while queued gets the active-end prompt', async (t) => {
  const sim = new Sim();
  sim.connect(A);
  sim.status(A, 'busy');
  sim.enter('u1');
  sim.say('u1', '人工');
  sim.forget();
  sim.src('u1', '27');
  t.same(sim.texts('u1'), [ACTIVE_END]);
});

t.test('T13: the user ends while waiting for the accept', async (t) => {
  const sim = new Sim({ session: { receptionMode: 'manual' } });
  sim.connect(A);
  sim.enter('u1');
  sim.say('u1', '人工');
  t.ok(sim.src('u1', '27')?.ok);
  t.match(sim.events<Ended>(sim.conv('u1'), 'SessionEnded'), [{ endStatus: 'UserEndedSession' }]);
  t.same(Object.keys(sim.agent(A).sessions), [], 'the offered slot is released');
  t.equal(sim.agentFrames(A, 'session.ended').length, 1);
  t.equal(sim.timerAt(sim.conv('u1'), 'accept'), undefined, 'accept timer cancelled');
});

t.test('T13: the user ends in service → UserEndedSession', async (t) => {
  const sim = inService();
  sim.forget();
  t.ok(sim.src('u1', '27')?.ok);
  t.equal(sim.phase('u1'), 'NotInSession');
  t.same(sim.texts('u1'), [ACTIVE_END]);
  t.same(sim.srcs('u1'), ['19', '26', '9'], 'end flag, outSeat, rating card');
  t.same(seat(sim, 'u1'), ['outSeat']);
  t.match(sim.agentFrames(A, 'session.ended')[0]?.data, { sessionId: 'sid-1', endStatus: 'UserEndedSession', closeBy: 'client' });
  t.same(Object.keys(sim.agent(A).sessions), [], 'alice released');
});

t.test('T13: src 27 in the robot phase or without a session is refused', async (t) => {
  const sim = new Sim();
  t.equal(sim.src('u1', '27')?.code, ErrorCode.WrongState);
  sim.enter('u1');
  t.equal(sim.src('u1', '27')?.code, ErrorCode.WrongState);
  t.equal(sim.phase('u1'), 'Chatbot');
});

t.test('T14: the agent ends', async (t) => {
  const sim = inService();
  sim.agentSay(A, 'u1', 'anything else?');
  sim.forget();
  t.ok(sim.act(A, 'u1', 'end')?.ok);
  t.equal(sim.phase('u1'), 'NotInSession');
  t.same(sim.texts('u1'), [ACTIVE_END]);
  t.same(sim.srcs('u1'), ['19', '26', '9']);
  t.match(sim.agentFrames(A, 'session.ended')[0]?.data, { endStatus: 'AgentEndedSession', closeBy: 'seat' });
  t.match(sim.events<Ended>(sim.conv('u1'), 'SessionEnded'), [{ event: 'SessionAgentEnd', agentId: A }]);
  t.same(Object.keys(sim.agent(A).sessions), []);
  t.equal(sim.timerAt(sim.conv('u1'), 'userReply'), undefined, 'user reply timer cancelled');
  t.equal(sim.act(A, 'u1', 'end', { sessionId: 'sid-1' })?.code, ErrorCode.SessionNotFound, 'ending twice is refused');
});

t.test('T14: only the serving agent may end, and only in service', async (t) => {
  const sim = new Sim({ session: { receptionMode: 'manual' } });
  sim.connect(A);
  sim.enter('u1');
  sim.say('u1', '人工');
  t.equal(sim.act(A, 'u1', 'end')?.code, ErrorCode.WrongState, 'not before the accept');
  sim.act(A, 'u1', 'accept');
  t.equal(sim.act(B, 'u1', 'end')?.code, ErrorCode.SessionNotFound, 'not by another member');
  t.equal(sim.phase('u1'), 'Agent');
});

t.test('agent typing (src 12) is relayed to the user, not stored', async (t) => {
  const sim = inService();
  sim.forget();
  const stored = sim.stored.length;
  t.ok(sim.act(A, 'u1', 'typing')?.ok);
  const frames = sim.seen('user', 'u1');
  t.equal(frames.length, 1);
  t.equal(srcOf(frames[0]), '12');
  t.equal((frames[0].data as { transient: boolean }).transient, true);
  t.equal(sim.stored.length, stored, 'nothing stored');
});

t.test('agent messages reach the user from the account; user messages reach the agent', async (t) => {
  const sim = inService();
  sim.forget();
  t.ok(sim.agentSay(A, 'u1', 'let me check')?.ok);
  const toUser = sim.seen('user', 'u1').find((f) => f.type === 'message')!;
  t.match(toUser.data, { from: '@customer_service_account', fromRole: 2, sessionId: 'sid-1' });
  sim.say('u1', 'thanks');
  t.match(sim.agentFrames(A, 'message').at(-1)?.data, { from: 'u1', fromRole: 1 });
  t.equal(sim.agentSay(B, 'u1', 'me too')?.code, ErrorCode.SessionNotFound, 'another member cannot write into it');
  t.equal(sim.session('u1').cur!.startedAt, T0, 'the session keeps its start time');
});
