/** Session timers: user reply, agent reply, queue offline, robot idle (spec §2.3 T15–T18, §2.6). */
import t from 'tap';
import type { SessionEvent } from '../../actors/session';
import { Sim, type SimOptions } from '../helpers/sim';

const A = 'alice@desk.test';
const TIMEOUT_END = '由于您长时间未回复，本次服务已自动结束，感谢您的支持';

type Ended = Extract<SessionEvent, { type: 'SessionEnded' }>;

function inService(o: SimOptions = {}): Sim {
  const sim = new Sim(o);
  sim.connect(A);
  sim.enter('u1');
  sim.say('u1', '人工');
  return sim;
}

t.test('T15: the user does not reply to an agent message within userTimeoutSec → ended by timeout', async (t) => {
  const sim = inService({ account: { userTimeoutSec: 600 } });
  t.equal(sim.timerAt(sim.conv('u1'), 'userReply'), undefined, 'no countdown before the agent writes');
  sim.agentSay(A, 'u1', 'are you there?');
  t.equal(sim.timerAt(sim.conv('u1'), 'userReply'), sim.now + 600_000);
  sim.forget();
  sim.advance(599_999);
  t.equal(sim.phase('u1'), 'Agent', 'not yet');
  sim.advance(1);
  t.equal(sim.phase('u1'), 'NotInSession');
  t.same(sim.texts('u1'), [TIMEOUT_END], 'timeout-end prompt');
  t.same(sim.srcs('u1'), ['20', '26', '9'], 'src 20 (not 19), outSeat, rating card');
  t.match(sim.events<Ended>(sim.conv('u1'), 'SessionEnded'), [{ endStatus: 'UserTimeout', event: 'SessionUserTimeoutEnd', closeBy: 'timer' }]);
  t.match(sim.agentFrames(A, 'session.ended')[0]?.data, { endStatus: 'UserTimeout', closeBy: 'timer' });
  t.same(Object.keys(sim.agent(A).sessions), [], 'the agent\'s slot is freed');
});

t.test('T15: a user reply clears the countdown; the next agent message restarts it', async (t) => {
  const sim = inService();
  sim.agentSay(A, 'u1', 'q1');
  sim.advance(500_000);
  sim.say('u1', 'answer');
  t.equal(sim.timerAt(sim.conv('u1'), 'userReply'), undefined);
  sim.advance(500_000);
  t.equal(sim.phase('u1'), 'Agent', 'the first deadline passed without effect');
  sim.agentSay(A, 'u1', 'q2');
  sim.advance(600_000);
  t.equal(sim.phase('u1'), 'NotInSession');
});

t.test('T15: never while suspended', async (t) => {
  const sim = inService();
  sim.agentSay(A, 'u1', 'one moment');
  sim.act(A, 'u1', 'suspend');
  t.equal(sim.timerAt(sim.conv('u1'), 'userReply'), undefined, 'suspend cancels the countdown');
  sim.agentSay(A, 'u1', 'still checking');
  t.equal(sim.timerAt(sim.conv('u1'), 'userReply'), undefined, 'agent messages while suspended start none');
  sim.advance(3600_000);
  t.equal(sim.phase('u1'), 'Agent');
  t.equal(sim.session('u1').cur!.suspended, true);
});

t.test('T15: userTimeoutSec 0 disables it', async (t) => {
  const sim = inService({ account: { userTimeoutSec: 0 } });
  sim.agentSay(A, 'u1', 'hello');
  sim.advance(86400_000);
  t.equal(sim.phase('u1'), 'Agent');
});

t.test('T16: the agent reply timeout is off by default', async (t) => {
  const sim = inService();
  sim.say('u1', 'hello?');
  t.equal(sim.timerAt(sim.conv('u1'), 'agentReply'), undefined);
  sim.advance(86400_000);
  t.equal(sim.phase('u1'), 'Agent');
});

t.test('T16: when configured, an unanswered user message ends the session', async (t) => {
  const sim = inService({ session: { agentReplyTimeoutSec: 120 } });
  sim.say('u1', 'hello?');
  const deadline = sim.timerAt(sim.conv('u1'), 'agentReply');
  t.equal(deadline, sim.now + 120_000);
  sim.advance(60_000);
  sim.say('u1', 'anyone?');
  t.equal(sim.timerAt(sim.conv('u1'), 'agentReply'), deadline, 'a second user message does not push the deadline');
  sim.forget();
  sim.advance(59_999);
  t.equal(sim.phase('u1'), 'Agent');
  sim.advance(1);
  t.equal(sim.phase('u1'), 'NotInSession');
  t.same(sim.srcs('u1').slice(0, 1), ['20'], 'timeout flag');
  t.same(sim.texts('u1'), [], 'no user-timeout prompt for an agent timeout');
  t.match(sim.events<Ended>(sim.conv('u1'), 'SessionEnded'), [{ endStatus: 'AgentTimeout', event: 'SessionAgentTimeoutEnd' }]);
  t.match(sim.agentFrames(A, 'session.ended')[0]?.data, { endStatus: 'AgentTimeout' });
});

t.test('T16: an agent answer cancels the agent reply timeout', async (t) => {
  const sim = inService({ session: { agentReplyTimeoutSec: 120 } });
  sim.say('u1', 'hello?');
  sim.advance(100_000);
  sim.agentSay(A, 'u1', 'here');
  t.equal(sim.timerAt(sim.conv('u1'), 'agentReply'), undefined);
  sim.advance(100_000);
  t.equal(sim.phase('u1'), 'Agent');
});

/** u1 queued behind a busy agent. */
function queued(o: SimOptions = {}): Sim {
  const sim = new Sim(o);
  sim.connect(A);
  sim.status(A, 'busy');
  sim.enter('u1');
  sim.say('u1', '人工');
  return sim;
}

t.test('T17: a queued user offline for queueOfflineGraceSec → ended', async (t) => {
  const sim = queued({ session: { queueOfflineGraceSec: 90 } });
  t.equal(sim.phase('u1'), 'Queueing');
  sim.userOffline('u1');
  sim.advance(89_999);
  t.equal(sim.phase('u1'), 'Queueing');
  sim.advance(1);
  t.equal(sim.phase('u1'), 'NotInSession');
  t.match(sim.events<Ended>(sim.conv('u1'), 'SessionEnded'), [{ endStatus: 'UserAbandonedDuringQueueing', event: 'SessionPendingAutoFinishEnd', closeBy: 'timer' }]);
  t.same(sim.queue(1).waiting, [], 'removed from the queue');
  sim.status(A, 'free');
  t.same(Object.keys(sim.agent(A).sessions), [], 'never assigned afterwards');
});

t.test('T17: coming back online in time cancels it', async (t) => {
  const sim = queued({ session: { queueOfflineGraceSec: 90 } });
  sim.userOffline('u1');
  sim.advance(60_000);
  sim.userOnline('u1');
  t.equal(sim.timerAt(sim.conv('u1'), 'queueOffline'), undefined);
  sim.advance(600_000);
  t.equal(sim.phase('u1'), 'Queueing');
  sim.status(A, 'free');
  t.equal(sim.phase('u1'), 'Agent', 'still served when a slot frees');
});

t.test('T17: offline outside the queue does nothing', async (t) => {
  const sim = inService();
  sim.userOffline('u1');
  t.equal(sim.timerAt(sim.conv('u1'), 'queueOffline'), undefined);
  sim.advance(600_000);
  t.equal(sim.phase('u1'), 'Agent');
});

t.test('T18: a robot-only session ends after robotIdleTimeoutSec → ChatbotReception', async (t) => {
  const sim = new Sim({ session: { robotIdleTimeoutSec: 300 } });
  sim.enter('u1');
  sim.advance(200_000);
  sim.say('u1', 'what are your hours?');
  t.equal(sim.timerAt(sim.conv('u1'), 'robotIdle'), sim.now + 300_000, 'a user message restarts the idle countdown');
  sim.forget();
  sim.advance(299_999);
  t.equal(sim.phase('u1'), 'Chatbot');
  sim.advance(1);
  t.equal(sim.phase('u1'), 'NotInSession');
  t.match(sim.events<Ended>(sim.conv('u1'), 'SessionEnded'), [{ endStatus: 'ChatbotReception', event: 'SessionEnd', closeBy: 'timer' }]);
  t.same(sim.srcs('u1'), ['19'], 'end flag only: no seat change, no rating card');
  t.same(sim.texts('u1'), []);
});
