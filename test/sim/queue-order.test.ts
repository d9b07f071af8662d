/** Several users, one agent with a limit of 1: queue positions and the order of service (spec §3.6, T5, T6). */
import t from 'tap';
import { Sim } from '../helpers/sim';

const A = 'alice@desk.test';
const USERS = ['u1', 'u2', 'u3', 'u4', 'u5'];

function busyDesk(seed?: number): Sim {
  const sim = new Sim({ members: [{ mail: A, receptionLimit: 1 }], order: seed === undefined ? 'fifo' : { seed } });
  sim.connect(A);
  for (const u of USERS) {
    sim.enter(u);
    sim.advance(1_000);
    sim.say(u, '人工');
  }
  return sim;
}

t.test('queued users are told their position; service follows arrival order', async (t) => {
  const sim = busyDesk();
  t.equal(sim.phase('u1'), 'Agent');
  const prompts = USERS.slice(1).map((u) => sim.texts(u).find((x) => x.startsWith('您的问题我们已经收到')));
  t.same(prompts.map((p) => p?.match(/第(\d+)位，前面还有(\d+)人/)?.slice(1)), [['1', '0'], ['2', '1'], ['3', '2'], ['4', '3']]);
  t.same(sim.queue(1).waiting.map((w) => w.conv.split('|')[2]), ['u2', 'u3', 'u4', 'u5']);

  const served: string[] = ['u1'];
  for (let i = 0; i < 4; i++) {
    const current = served.at(-1)!;
    sim.advance(10_000);
    t.ok(sim.act(A, current, 'end')?.ok);
    const next = USERS.find((u) => sim.phase(u) === 'Agent');
    if (next) served.push(next);
  }
  t.same(served, USERS, 'served in arrival order');
  t.same(sim.queue(1).waiting, []);
  t.equal(sim.agentFrames(A, 'session.assigned').length, 5);
});

t.test('a user leaving the queue moves the others up', async (t) => {
  const sim = busyDesk();
  sim.src('u3', '27');
  t.same(sim.queue(1).waiting.map((w) => w.conv.split('|')[2]), ['u2', 'u4', 'u5']);
  sim.act(A, 'u1', 'end');
  sim.act(A, 'u2', 'end');
  t.equal(sim.phase('u4'), 'Agent', 'u4 is next after u2, skipping u3 who left');
  t.equal(sim.phase('u3'), 'NotInSession');
});

t.test('the agent going busy holds the queue; free resumes it', async (t) => {
  const sim = busyDesk();
  sim.status(A, 'busy');
  sim.act(A, 'u1', 'end');
  t.equal(sim.phase('u2'), 'Queueing', 'a busy agent gets nothing new');
  sim.status(A, 'free');
  t.equal(sim.phase('u2'), 'Agent');
});

t.test('the same order under seeded random interleavings', async (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const sim = busyDesk(seed);
    const served: string[] = [];
    for (let i = 0; i < 5; i++) {
      const current = USERS.find((u) => sim.phase(u) === 'Agent');
      if (!current) break;
      served.push(current);
      sim.act(A, current, 'end');
    }
    t.same(served, USERS, `seed ${seed}`);
  }
});
