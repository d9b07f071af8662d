/** Agent reducer: reservation of slots, status, grace period (ARCHITECTURE §2, spec §3.1–3.3). */
import t from 'tap';
import { agent, type AgentEvent, type AgentState } from '../../actors/agent';
import type { AgentMsg } from '../../actors/messages';
import { firstSocketId, nodeTagOfSocket } from '../../actors/sockets';
import type { Effect } from '../../actors/types';
import { ErrorCode } from '../../protocol/errors';
import { applyOne, buildApp, ctxOf, Sim, T0 } from '../helpers/sim';

const A = 'alice@desk.test';
const B = 'bob@desk.test';
const app = buildApp({ members: [{ mail: A, receptionLimit: 2, groupIds: [1, 2] }] });
const addr = `agent:${app.sdkAppId}|${A}`;
const Q = 'queue:1400000001|1';

function run(state: AgentState, msgs: AgentMsg[], now = T0): { state: AgentState; events: AgentEvent[]; effects: Effect[] } {
  let events: AgentEvent[] = [];
  let effects: Effect[] = [];
  for (const m of msgs) {
    const r = applyOne(agent, state, m, ctxOf(app, now));
    state = r.state;
    events = r.events;
    effects = r.effects;
  }
  return { state, events, effects };
}

const fresh = (): AgentState => agent.initial(addr.slice('agent:'.length));
const online = (): AgentState => run(fresh(), [{ type: 'connected', conn: 1 }]).state;
const offer = (sessionId: string): AgentMsg => ({ type: 'offer', sessionId, offerId: `o-${sessionId}`, conv: `session:1|cs|${sessionId}`, from: Q });
const resultOf = (effects: Effect[]) => effects.find((e) => e.t === 'send' && (e.msg as { type: string }).type === 'offerResult') as { to: string; msg: { ok: boolean; code?: number; capacity: { load: number; limit: number } } } | undefined;

t.test('a new member is offline; connecting makes it free and announces to every group queue', async (t) => {
  t.equal(fresh().status, 'offline');
  const r = run(fresh(), [{ type: 'connected', conn: 1 }]);
  t.equal(r.state.status, 'free');
  const announced = r.effects.filter((e) => e.t === 'send' && (e.msg as { type: string }).type === 'capacity').map((e) => (e as { to: string }).to);
  t.same(announced, ['queue:1400000001|1', 'queue:1400000001|2']);
});

t.test('offer: reserved while there is room, refused at the limit with 141012', async (t) => {
  let s = online();
  let r = run(s, [offer('s1')]);
  t.match(resultOf(r.effects), { to: Q, msg: { ok: true, capacity: { load: 1, limit: 2 } } });
  s = run(r.state, [offer('s2')]).state;
  r = run(s, [offer('s3')]);
  t.match(resultOf(r.effects)?.msg, { ok: false, code: ErrorCode.AgentAtLimit });
  t.same(Object.keys(r.state.sessions), ['s1', 's2'], 'no third reservation');
  t.equal(r.events.length, 0);
});

t.test('offer: refused when resting (141013), busy (141025) or offline (141011)', async (t) => {
  const rest = run(online(), [{ type: 'setStatus', status: 'rest', reason: 'lunch' }, offer('s1')]);
  t.match(resultOf(rest.effects)?.msg, { ok: false, code: ErrorCode.AgentResting });
  const busy = run(online(), [{ type: 'setStatus', status: 'busy' }, offer('s1')]);
  t.match(resultOf(busy.effects)?.msg, { ok: false, code: ErrorCode.AllAgentsBusy });
  const off = run(fresh(), [offer('s1')]);
  t.match(resultOf(off.effects)?.msg, { ok: false, code: ErrorCode.AgentOffline });
  for (const r of [rest, busy, off]) t.same(r.state.sessions, {});
});

t.test('offer: a disabled or unknown member is refused as offline', async (t) => {
  const disabledApp = buildApp({ members: [{ mail: A, disabled: true }] });
  const s = applyOne(agent, fresh(), { type: 'connected', conn: 1 }, ctxOf(disabledApp)).state;
  const r = applyOne(agent, s, offer('s1'), ctxOf(disabledApp));
  t.match(resultOf(r.effects)?.msg, { ok: false, code: ErrorCode.AgentOffline });
  const stranger = agent.initial(`1400000001|${B}`);
  const r2 = run(run(stranger, [{ type: 'connected', conn: 1 }]).state, [offer('s1')]);
  t.match(resultOf(r2.effects)?.msg, { ok: false, code: ErrorCode.AgentOffline });
});

t.test('offer: a repeated offer of a held session is answered again, not reserved twice', async (t) => {
  const s = run(online(), [offer('s1')]).state;
  const again = run(s, [offer('s1')]);
  t.match(resultOf(again.effects)?.msg, { ok: true, capacity: { load: 1 } });
  t.same(again.events, [], 'no second reservation');
  t.same(again.state, s, 'state unchanged');
  // Even at the limit or resting, the held session is re-confirmed (the first answer may have been lost).
  const full = run(s, [offer('s2'), { type: 'setStatus', status: 'rest' }, offer('s1')]);
  t.match(resultOf(full.effects)?.msg, { ok: true });
});

t.test('release frees the slot and announces; unknown releases are ignored', async (t) => {
  const s = run(online(), [offer('s1')]).state;
  const r = run(s, [{ type: 'release', sessionId: 's1', reason: 'end' }]);
  t.same(r.state.sessions, {});
  t.ok(r.effects.some((e) => e.t === 'send' && (e.msg as { type: string; capacity?: { load: number } }).type === 'capacity'), 'capacity announced');
  const none = run(r.state, [{ type: 'release', sessionId: 's1', reason: 'end' }]);
  t.same(none.events, []);
  t.same(none.effects, []);
});

t.test('release after an accept timeout sets the agent to rest only when configured', async (t) => {
  const restApp = buildApp({ members: [A], session: { restAfterAcceptTimeout: true } });
  let s = applyOne(agent, fresh(), { type: 'connected', conn: 1 }, ctxOf(restApp)).state;
  s = applyOne(agent, s, offer('s1'), ctxOf(restApp)).state;
  const r = applyOne(agent, s, { type: 'release', sessionId: 's1', reason: 'acceptTimeout' }, ctxOf(restApp));
  t.equal(r.state.status, 'rest');
  t.equal(r.state.restReason, 'acceptTimeout');
  t.ok(r.effects.some((e) => e.t === 'push' && e.frame.type === 'agent.status'), 'the agent is told');
  const plain = run(run(online(), [offer('s1')]).state, [{ type: 'release', sessionId: 's1', reason: 'acceptTimeout' }]);
  t.equal(plain.state.status, 'free', 'default: stays free');
});

t.test('suspended sessions do not count; unsuspend is refused at the limit', async (t) => {
  let s = run(online(), [offer('s1'), offer('s2')]).state;
  s = run(s, [{ type: 'suspend', sessionId: 's1' }]).state;
  t.ok(s.sessions.s1.suspended);
  const r = run(s, [offer('s3')]);
  t.match(resultOf(r.effects)?.msg, { ok: true, capacity: { load: 2 } }, 'a new one fits beside the suspended one');
  const un = applyOne(agent, r.state, { type: 'unsuspend', sessionId: 's1', replyTo: { call: 1 } }, ctxOf(app));
  t.match(un.effects, [{ t: 'reply', ok: false, code: ErrorCode.AgentAtLimit }]);
  t.ok(un.state.sessions.s1.suspended, 'still suspended');
  const freed = run(r.state, [{ type: 'release', sessionId: 's2', reason: 'end' }]).state;
  const ok = applyOne(agent, freed, { type: 'unsuspend', sessionId: 's1', replyTo: { call: 2 } }, ctxOf(app));
  t.notOk(ok.state.sessions.s1.suspended);
  t.ok(ok.effects.some((e) => e.t === 'send' && (e.msg as { type: string }).type === 'unsuspended'), 'the session is told');
  t.ok(ok.effects.some((e) => e.t === 'reply' && e.ok));
});

t.test('setStatus answers the requester with the new status', async (t) => {
  const r = applyOne(agent, online(), { type: 'setStatus', status: 'rest', reason: 'lunch', replyTo: { call: 7 } }, ctxOf(app));
  t.match(r.effects.find((e) => e.t === 'reply'), { ok: true, data: { status: 'rest', reason: 'lunch' } });
  t.equal(r.state.restReason, 'lunch');
  const back = run(r.state, [{ type: 'setStatus', status: 'free' }]).state;
  t.equal(back.restReason, undefined);
});

t.test('grace period: no socket for agentOfflineGraceSec → offline; a reconnect in time cancels it', async (t) => {
  const s = run(online(), [{ type: 'disconnected', conn: 1 }]);
  t.match(s.effects, [{ t: 'timer', key: 'offline', at: T0 + 60_000 }]);
  t.equal(s.state.status, 'free', 'still online during the grace period');
  const early = applyOne(agent, s.state, { type: '$timer', key: 'offline' }, ctxOf(app, T0 + 59_999));
  t.equal(early.state.status, 'free', 'a timer message before the deadline does nothing');
  const due = applyOne(agent, s.state, { type: '$timer', key: 'offline' }, ctxOf(app, T0 + 60_000));
  t.equal(due.state.status, 'offline');
  const back = run(s.state, [{ type: 'connected', conn: 2 }], T0 + 30_000);
  t.ok(back.effects.some((e) => e.t === 'cancelTimer' && e.key === 'offline'));
  t.equal(back.state.offlineAt, undefined);
  const late = applyOne(agent, back.state, { type: '$timer', key: 'offline' }, ctxOf(app, T0 + 60_000));
  t.equal(late.state.status, 'free', 'a stale timer after the reconnect does nothing');
});

t.test('a server starting again: a single server forgets every socket; a cluster node only its own, the member stays online through the others', async (t) => {
  const onNode = (tag: number, n: number): number => firstSocketId(tag, 7) + n;
  const older = 3 * 2 ** 21 + 5; // numbered by an earlier version: its node is not known
  const s = run(fresh(), [{ type: 'connected', conn: onNode(5, 0) }, { type: 'connected', conn: onNode(5, 1) }, { type: 'connected', conn: onNode(9, 0) }, { type: 'connected', conn: older }]).state;
  t.same([nodeTagOfSocket(onNode(5, 1)), nodeTagOfSocket(onNode(9, 0)), nodeTagOfSocket(older), nodeTagOfSocket(12)], [5, 9, undefined, undefined], 'a socket id names its node');
  const five = run(s, [{ type: 'presenceReset', node: 5 }]);
  t.same(five.state.conns, [onNode(9, 0)], "node 5's sockets and the one of no known node are gone; node 9's stays");
  t.equal(five.state.status, 'free');
  t.notOk(five.effects.some((e) => e.t === 'timer'), 'no offline grace: a socket is open on node 9');
  const nine = run(five.state, [{ type: 'presenceReset', node: 9 }]);
  t.same(nine.state.conns, []);
  t.match(nine.effects, [{ t: 'timer', key: 'offline', at: T0 + 60_000 }], 'its last socket gone, the member has the grace period');
  const single = run(s, [{ type: 'presenceReset' }]);
  t.same(single.state.conns, [], 'a single server: every socket');
  t.match(single.effects, [{ t: 'timer', key: 'offline' }]);
});

t.test('a reconnect keeps busy/rest; a login from offline starts free (GAP-45)', async (t) => {
  const s = run(online(), [{ type: 'setStatus', status: 'busy' }, { type: 'disconnected', conn: 1 }, { type: 'connected', conn: 2 }]).state;
  t.equal(s.status, 'busy');
  const off = run(online(), [{ type: 'setStatus', status: 'offline' }, { type: 'connected', conn: 2 }]).state;
  t.equal(off.status, 'free');
});

t.test('going offline revokes offered sessions; sessions in service stay', async (t) => {
  const sim = new Sim({ members: [{ mail: A, receptionLimit: 2 }], session: { receptionMode: 'manual', agentOfflineGraceSec: 60 } });
  const conn = sim.connect(A);
  sim.enter('u1');
  sim.say('u1', '人工');
  sim.act(A, 'u1', 'accept');
  sim.enter('u2');
  sim.say('u2', '人工');
  t.equal(sim.phase('u1'), 'Agent');
  t.equal(sim.phase('u2'), 'WaitingForAgentAnswering');
  sim.disconnect(A, conn);
  sim.advance(59_999);
  t.equal(sim.agent(A).status, 'free', 'within the grace period');
  sim.advance(1);
  t.equal(sim.agent(A).status, 'offline');
  t.equal(sim.phase('u1'), 'Agent', 'the session in service stays with alice');
  t.equal(sim.session('u1').cur!.agentId, A);
  t.not(sim.phase('u2'), 'WaitingForAgentAnswering', 'the offer is revoked');
  t.same(Object.keys(sim.agent(A).sessions), [sim.sid('u1')], 'alice holds only the session in service');
  t.equal(sim.phase('u2'), 'Chatbot', 'nobody else online: back to the robot');
  t.equal(sim.texts('u2').at(-1), '抱歉，当前无客服在线，请稍后再试');
});

t.test('an offer revoked by going offline goes to another member', async (t) => {
  const sim = new Sim({ session: { receptionMode: 'manual' } });
  sim.connect(A);
  sim.enter('u1');
  sim.say('u1', '人工');
  sim.connect(B);
  t.equal(sim.session('u1').cur!.agentId, A);
  sim.status(A, 'offline');
  t.equal(sim.phase('u1'), 'WaitingForAgentAnswering');
  t.equal(sim.session('u1').cur!.agentId, B, 'offered to bob');
  t.match(sim.agentFrames(A, 'session.transferred')[0]?.data, { reason: 'offline' });
});
