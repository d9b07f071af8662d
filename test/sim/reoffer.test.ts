/** Manual reception on the manual clock: offers that lapse move on to other members (spec T10, GAP-13). */
import t from 'tap';
import { Sim, type Delivery } from '../helpers/sim';

const A = 'alice@desk.test';
const B = 'bob@desk.test';
const C = 'carol@desk.test';

function offeredTo(sim: Sim): string[] {
  return sim.trace.filter((s) => s.to.startsWith('agent:') && (s.msg as { type: string }).type === 'offer').map((s) => s.to.split('|')[1]);
}

t.test('each lapse offers the session to a member who has not had it yet, then starts over', async (t) => {
  const sim = new Sim({ members: [A, B, C], session: { receptionMode: 'manual', acceptTimeoutSec: 30 } });
  for (const m of [A, B, C]) sim.connect(m);
  sim.enter('u1');
  sim.say('u1', '人工');
  for (let i = 0; i < 3; i++) sim.advance(30_000);
  t.same(offeredTo(sim), [A, B, C, A], 'alice, bob, carol, then alice (least recently served) again');
  t.same(sim.session('u1').cur!.exclude, [A, B, C]);
  for (const m of [B, C]) t.same(sim.agent(m).sessions, {}, `${m} holds nothing`);
  t.same(Object.keys(sim.agent(A).sessions), ['sid-1']);
  t.ok(sim.act(A, 'u1', 'accept')?.ok);
  t.equal(sim.phase('u1'), 'Agent');
});

t.test('with rest after timeout, lapsed members rest and the session waits in the queue', async (t) => {
  const sim = new Sim({ members: [A, B], session: { receptionMode: 'manual', acceptTimeoutSec: 30, restAfterAcceptTimeout: true } });
  sim.connect(A);
  sim.connect(B);
  sim.enter('u1');
  sim.say('u1', '人工');
  sim.advance(30_000);
  sim.advance(30_000);
  t.same([sim.agent(A).status, sim.agent(B).status], ['rest', 'rest']);
  t.equal(sim.phase('u1'), 'Queueing', 'online but resting → queue, not transfer-failed');
  t.equal(sim.queue(1).waiting.length, 1);
  t.equal(sim.timerAt(sim.conv('u1'), 'accept'), undefined);
  sim.status(B, 'free');
  t.equal(sim.phase('u1'), 'WaitingForAgentAnswering');
  t.equal(sim.session('u1').cur!.agentId, B, 'bob comes back and gets it');
  t.ok(sim.act(B, 'u1', 'accept')?.ok);
});

t.test('a lapsed offer skips that member while another member of the group is online', async (t) => {
  const sim = new Sim({ members: [{ mail: A, receptionLimit: 1 }, { mail: B, receptionLimit: 1 }], session: { receptionMode: 'manual', acceptTimeoutSec: 30 } });
  sim.connect(A);
  sim.connect(B);
  sim.enter('u0');
  sim.say('u0', '人工');
  sim.act(A, 'u0', 'accept'); // alice is full
  sim.enter('u1');
  sim.say('u1', '人工');
  t.equal(sim.session('u1').cur!.agentId, B);
  sim.advance(30_000);
  t.equal(sim.phase('u1'), 'Queueing', 'bob is skipped although free: alice is online, just full');
  t.same(sim.agent(B).sessions, {});
  sim.act(A, 'u0', 'end');
  t.equal(sim.session('u1').cur!.agentId, A, 'alice takes it when she frees up');
});

// A session offered straight away keeps its arrival time, so after a lapse it goes back ahead of later arrivals.
t.test('a lapsed session keeps its arrival place in the queue', async (t) => {
  const sim = new Sim({
    members: [{ mail: A, receptionLimit: 1 }, { mail: B, receptionLimit: 1 }],
    session: { receptionMode: 'manual', acceptTimeoutSec: 30, restAfterAcceptTimeout: true },
  });
  sim.connect(A);
  sim.connect(B);
  sim.enter('u0');
  sim.say('u0', '人工');
  sim.act(A, 'u0', 'accept'); // alice is full
  sim.enter('u1');
  sim.say('u1', '人工'); // t=0: offered to bob
  sim.advance(5_000);
  sim.enter('u2');
  sim.say('u2', '人工'); // t=5 s: nobody has room, u2 queues
  sim.advance(25_000); // t=30 s: u1 lapses on bob, who goes to rest
  t.equal(sim.phase('u1'), 'Queueing');
  t.same(sim.queue(1).waiting.map((w) => w.sessionId), [sim.sid('u1'), sim.sid('u2')], 'u1 asked first, so it is ahead of u2');
  sim.act(A, 'u0', 'end');
  t.equal(sim.session('u1').cur?.agentId, A, 'alice\'s freed slot goes to u1, who asked first');
  t.equal(sim.phase('u2'), 'Queueing');
});

t.test('no other member online: the lapsed session is offered to the same member again', async (t) => {
  const sim = new Sim({ members: [A], session: { receptionMode: 'manual', acceptTimeoutSec: 30 } });
  sim.connect(A);
  sim.enter('u1');
  sim.say('u1', '人工');
  sim.advance(30_000);
  t.equal(sim.phase('u1'), 'WaitingForAgentAnswering');
  t.equal(sim.session('u1').cur!.agentId, A);
  t.same(Object.keys(sim.agent(A).sessions), ['sid-1'], 'alice holds the slot for the new offer');
  t.equal(sim.agentFrames(A, 'session.offer').length, 2);
  t.ok(sim.act(A, 'u1', 'accept')?.ok);
  t.same(Object.keys(sim.agent(A).sessions), ['sid-1'], 'and still holds it in service');
});

// Cross-sender reordering (a cluster, where the session's `release` and the queue's new `offer` reach the agent
// over different routes): the new offer renames the reservation, so the late release of the old one frees nothing.
t.test('no other member online, release overtaken by the new offer: the slot is still held', async (t) => {
  const sim = new Sim({ members: [{ mail: A, receptionLimit: 2 }], session: { receptionMode: 'manual', acceptTimeoutSec: 30 } });
  sim.connect(A);
  sim.enter('u1');
  sim.say('u1', '人工');
  sim.settleTimers = false;
  sim.advance(30_000);
  sim.step(); // the session lapses: release → alice, enqueue → queue
  const release = (d: Delivery) => d.from === sim.conv('u1') && d.to === sim.agentAddr(A);
  while (sim.stepWhere((d) => !release(d))); // everything else first: the queue re-offers, alice answers
  t.equal(sim.phase('u1'), 'WaitingForAgentAnswering', 'offered to alice again');
  sim.run();
  t.equal(sim.phase('u1'), 'WaitingForAgentAnswering');
  t.equal(sim.session('u1').cur!.agentId, A);
  t.same(Object.keys(sim.agent(A).sessions), ['sid-1'], 'alice still counts the session she is offered');
  // So her limit of 2 holds when more users come.
  sim.act(A, 'u1', 'accept');
  for (const u of ['u2', 'u3']) {
    sim.enter(u);
    sim.say(u, '人工');
    sim.act(A, u, 'accept');
  }
  const serving = ['u1', 'u2', 'u3'].filter((u) => sim.phase(u) === 'Agent' && sim.session(u).cur!.agentId === A);
  t.ok(serving.length <= 2, `alice serves at most 2 users (serves ${serving.length})`);
});
