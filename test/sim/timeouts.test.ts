/** Timers on the manual clock: each fires exactly when due, never before, and only if still armed. */
import t from 'tap';
import { Sim } from '../helpers/sim';

const A = 'alice@desk.test';
const B = 'bob@desk.test';

t.test('user reply timeouts of several sessions fire in deadline order, each only when due', async (t) => {
  const sim = new Sim({ members: [{ mail: A, receptionLimit: 3 }], account: { userTimeoutSec: 600 } });
  sim.connect(A);
  for (const u of ['u1', 'u2', 'u3']) {
    sim.enter(u);
    sim.say(u, '人工');
  }
  sim.agentSay(A, 'u1', 'q');
  sim.advance(100_000);
  sim.agentSay(A, 'u2', 'q');
  sim.advance(499_999);
  t.same(['u1', 'u2', 'u3'].map((u) => sim.phase(u)), ['Agent', 'Agent', 'Agent'], '1 ms before the first deadline: nothing');
  sim.advance(1);
  t.same(['u1', 'u2', 'u3'].map((u) => sim.phase(u)), ['NotInSession', 'Agent', 'Agent'], 'u1 ended at its deadline');
  sim.advance(99_999);
  t.equal(sim.phase('u2'), 'Agent');
  sim.advance(1);
  t.equal(sim.phase('u2'), 'NotInSession');
  sim.advance(86400_000);
  t.equal(sim.phase('u3'), 'Agent', 'u3 never got an agent message: no countdown');
});

t.test('a long advance fires timers armed during it, in time order', async (t) => {
  const sim = new Sim({ members: [A, B], session: { receptionMode: 'manual', acceptTimeoutSec: 30 } });
  sim.connect(A);
  sim.connect(B);
  sim.enter('u1');
  sim.say('u1', '人工');
  sim.advance(75_000);
  const offers = sim.trace.filter((s) => s.to.startsWith('agent:') && (s.msg as { type: string }).type === 'offer')
    .map((s) => [s.to.split('|')[1], s.at - sim.trace[0].at]);
  t.same(offers, [[A, 0], [B, 30_000], [A, 60_000]], 'alice, bob 30 s later, alice again 30 s after that');
  t.equal(sim.session('u1').cur!.agentId, A);
  t.equal(sim.timerAt(sim.conv('u1'), 'accept'), sim.trace[0].at + 90_000, 'the third offer\'s deadline is still ahead');
});

t.test('accept timeout: just under → still offered; just past → the next member', async (t) => {
  const sim = new Sim({ members: [A, B], session: { receptionMode: 'manual', acceptTimeoutSec: 45 } });
  sim.connect(A);
  sim.connect(B);
  sim.enter('u1');
  sim.say('u1', '人工');
  sim.advance(44_999);
  t.equal(sim.session('u1').cur!.agentId, A);
  t.equal(sim.agentFrames(B, 'session.offer').length, 0);
  sim.advance(1);
  t.equal(sim.session('u1').cur!.agentId, B);
});

t.test('acceptTimeoutSec 0: an offer waits for ever', async (t) => {
  const sim = new Sim({ members: [A, B], session: { receptionMode: 'manual', acceptTimeoutSec: 0 } });
  sim.connect(A);
  sim.connect(B);
  sim.enter('u1');
  sim.say('u1', '人工');
  t.match(sim.agentFrames(A, 'session.offer')[0]?.data, { acceptDeadline: undefined });
  sim.advance(86400_000);
  t.equal(sim.session('u1').cur!.agentId, A);
  t.equal(sim.phase('u1'), 'WaitingForAgentAnswering');
});

t.test('agent grace period: just under → still online; just past → offline', async (t) => {
  const sim = new Sim({ session: { agentOfflineGraceSec: 20 } });
  const c = sim.connect(A);
  sim.disconnect(A, c);
  sim.advance(19_999);
  t.equal(sim.agent(A).status, 'free');
  sim.advance(1);
  t.equal(sim.agent(A).status, 'offline');
  t.equal(sim.agent(A).lastLogoutAt, sim.now);
});

t.test('two sockets: the grace period starts only when the last one closes', async (t) => {
  const sim = new Sim({ session: { agentOfflineGraceSec: 20 } });
  const c1 = sim.connect(A);
  const c2 = sim.connect(A);
  sim.disconnect(A, c1);
  sim.advance(60_000);
  t.equal(sim.agent(A).status, 'free');
  sim.disconnect(A, c2);
  sim.advance(20_000);
  t.equal(sim.agent(A).status, 'offline');
});

t.test('robot idle and queue-offline deadlines: just under → nothing; just past → ended', async (t) => {
  const sim = new Sim({ session: { robotIdleTimeoutSec: 60, queueOfflineGraceSec: 30 } });
  sim.connect(A);
  sim.status(A, 'busy');
  sim.enter('robot-user');
  sim.enter('queued-user');
  sim.say('queued-user', '人工');
  sim.userOffline('queued-user');
  sim.advance(29_999);
  t.equal(sim.phase('queued-user'), 'Queueing');
  sim.advance(1);
  t.equal(sim.phase('queued-user'), 'NotInSession');
  sim.advance(29_999);
  t.equal(sim.phase('robot-user'), 'Chatbot');
  sim.advance(1);
  t.equal(sim.phase('robot-user'), 'NotInSession');
});

t.test('a timer message that arrives late for a cancelled deadline does nothing', async (t) => {
  const sim = new Sim();
  sim.connect(A);
  sim.enter('u1');
  sim.say('u1', '人工');
  sim.agentSay(A, 'u1', 'q');
  sim.say('u1', 'a');
  // As if the runtime had already fired the cancelled timer.
  sim.tell(sim.conv('u1'), { type: '$timer', key: 'userReply' });
  sim.advance(600_000);
  t.equal(sim.phase('u1'), 'Agent');
});
