/** Session reducer for group chats (create_group, product.md §2.7): opening, members, ending (T20). */
import t from 'tap';
import { groupConvUser } from '../../actors/address';
import type { ChatGroup } from '../../actors/types';
import { ErrorCode } from '../../protocol/errors';
import { Sim, T0, textBody, type SimOptions } from '../helpers/sim';

const A = 'alice@desk.test';
const group: ChatGroup = { id: 'G1', generation: 'g1', name: 'Team', type: 'Public', members: ['m1', 'm2'], createdAt: T0 };
const G = groupConvUser(group);

function open(sim: Sim) {
  return sim.call(sim.conv(G), (replyTo) => ({ type: 'adminOpenGroup', group, replyTo }));
}

const memberSend = (sim: Sim, from: string, text: string, random = 1) =>
  sim.call(sim.conv(G), (replyTo) => ({ type: 'userSend', from, random, body: textBody(text), conn: 9, replyTo }));

function opened(o: SimOptions = {}): Sim {
  const sim = new Sim(o);
  sim.connect(A);
  if (!open(sim)?.ok) throw new Error('setup: the group should open');
  return sim;
}

t.test('the business server denying the transfer fails the opening and keeps nothing', async (t) => {
  const sim = new Sim({ account: { assignmentStrategy: 2, assignedByWebhookURL: 'http://127.0.0.1:9/assign' } });
  sim.connect(A);
  const id = sim.call(sim.conv(G), (replyTo) => ({ type: 'adminOpenGroup', group, replyTo }));
  t.equal(id, undefined, 'no answer while the business server decides');
  const sessionId = sim.session(G).cur!.sessionId;
  sim.tell(sim.conv(G), { type: 'assignAnswer', sessionId, ok: true, answer: { AgentTransferDenied: 1 } });
  sim.run();
  t.equal(sim.session(G).cur, undefined, 'no session');
  t.equal(sim.session(G).chatGroup, undefined, 'no group');
  t.same(sim.seen('user', 'm1'), [], 'the members saw nothing');
  t.same(sim.trace.flatMap((s) => s.effects).filter((f) => f.t === 'chatGroup'), [], 'the directory was never written');
});

t.test('with every agent at its limit the group opens queued, and members coming and going do not matter', async (t) => {
  const sim = new Sim({ session: { maxConcurrentPerAgent: 1 } });
  sim.connect(A);
  sim.enter('u1');
  sim.say('u1', '人工');
  const r = open(sim);
  t.match(r, { ok: true, data: { IsInQueue: 1 } });
  t.equal(sim.phase(G), 'Queueing');
  t.match(sim.trace.flatMap((s) => s.effects).filter((f) => f.t === 'chatGroup'), [{ groupId: 'G1', csAccount: sim.session(G).csAccount, group }]);
  for (const m of ['m1', 'm2']) t.ok(sim.texts(m).some((x) => x.includes('排在第1位')), `${m} sees the queue position`);
  sim.tell(sim.conv(G), { type: 'userOffline' });
  sim.run();
  t.equal(sim.session(G).cur!.deadlines.queueOffline, undefined, 'no queue-offline countdown for a group');
  sim.act(A, 'u1', 'end');
  t.equal(sim.phase(G), 'Agent', 'served when alice is free');
  t.equal(sim.session(G).cur!.agentId, A);
});

t.test('members: only they may write, each with their own randoms; the agent reaches all of them', async (t) => {
  const sim = opened();
  t.equal(memberSend(sim, 'intruder', 'hi')?.code, ErrorCode.NotGroupMember);
  t.ok(memberSend(sim, 'm1', 'hello', 5)?.ok);
  const second = memberSend(sim, 'm2', 'hello too', 5);
  t.notOk((second?.data as { duplicate?: boolean }).duplicate, 'another member, same random: a new message');
  t.ok((memberSend(sim, 'm1', 'hello', 5)?.data as { duplicate?: boolean }).duplicate, 'the same member retrying: a duplicate');
  t.ok(sim.texts('m2').includes('hello'));
  sim.forget();
  sim.agentSay(A, G, 'hi all');
  for (const m of ['m1', 'm2']) t.ok(sim.texts(m).includes('hi all'), `${m} got the agent's message`);
});

t.test('T20: the agent ends it (SessionAgentEnd); the group remains until dismissed (SessionEnd)', async (t) => {
  const sim = opened();
  sim.act(A, G, 'end');
  t.match(sim.events(sim.conv(G), 'SessionEnded'), [{ event: 'SessionAgentEnd', endStatus: 'AgentEndedSession' }]);
  t.ok(sim.session(G).chatGroup?.open, 'the group remains');
  t.equal(memberSend(sim, 'm1', 'anyone?', 7)?.code, ErrorCode.WrongState, 'the account left');
  t.ok(sim.call(sim.conv(G), (replyTo) => ({ type: 'adminDestroyGroup', groupId: 'G1', replyTo }))?.ok);
  t.equal(sim.session(G).chatGroup, undefined);

  const again = opened();
  const r = again.call(again.conv(G), (replyTo) => ({ type: 'adminDestroyGroup', groupId: 'G1', replyTo }));
  t.ok(r?.ok);
  t.match(again.events(again.conv(G), 'SessionEnded'), [{ event: 'SessionEnd', endStatus: 'AgentEndedSession', closeBy: 'admin' }]);
  t.same(Object.keys(again.agent(A).sessions), [], 'the agent is freed');
  t.equal(again.call(again.conv(G), (replyTo) => ({ type: 'adminDestroyGroup', groupId: 'G1', replyTo }))?.code, ErrorCode.ChatGroupNotFound);
});

t.test('an open group refuses a second opening with 10025', async (t) => {
  const sim = opened();
  t.equal(open(sim)?.code, ErrorCode.ChatGroupIdUsed);
});

t.test('assignment strategy 1 offers no group choice to a group chat: it goes to the account\'s group', async (t) => {
  const sim = new Sim({ account: { assignmentStrategy: 1, displayGroupsChoices: [1, 2] } });
  sim.connect(A);
  t.match(open(sim), { ok: true, data: { AgentId: A, IsInQueue: 0 } });
  t.equal(sim.session(G).cur!.groupId, 1);
  t.notOk(sim.srcs('m1').includes('15'), 'no branch message');
});
