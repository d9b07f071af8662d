/** Queue reducer: ordering, positions, least-recently-served choice, offers and answers (spec §3.4, §3.6). */
import t from 'tap';
import type { Capacity, EnqueueRequest, QueueMsg } from '../../actors/messages';
import { queue, queuePosition, type QueueState } from '../../actors/queue';
import type { Effect } from '../../actors/types';
import { ErrorCode } from '../../protocol/errors';
import type { AgentStatus } from '../../protocol/frames';
import { applyOne, buildApp, ctxOf, T0 } from '../helpers/sim';

const A = 'alice@desk.test';
const B = 'bob@desk.test';
const C = 'carol@desk.test';
const app = buildApp({ members: [A, B, C, { mail: 'dave@desk.test', groupIds: [2] }] });

function feed(state: QueueState, msgs: QueueMsg[]): { state: QueueState; effects: Effect[] } {
  const effects: Effect[] = [];
  for (const m of msgs) {
    const r = applyOne(queue, state, m, ctxOf(app));
    state = r.state;
    effects.push(...r.effects);
  }
  return { state, effects };
}

const cap = (memberId: string, status: AgentStatus, load: number, limit: number, lastServedAt = 0): QueueMsg =>
  ({ type: 'capacity', capacity: { memberId, status, load, limit, lastServedAt } });
const enq = (sessionId: string, o: Partial<EnqueueRequest> = {}): QueueMsg =>
  ({ type: 'enqueue', sessionId, conv: `conv:${sessionId}`, priority: 5, enqueuedAt: T0, exclude: [], ...o });
const sends = (effects: Effect[], type: string) =>
  effects.filter((e): e is Extract<Effect, { t: 'send' }> => e.t === 'send' && (e.msg as { type: string }).type === type)
    .map((e) => ({ to: e.to, ...(e.msg as Record<string, unknown>) }) as Record<string, unknown>);
const empty = (): QueueState => queue.initial('1400000001|1');

t.test('nobody online → noAgentOnline, nothing queued', async (t) => {
  const r = feed(empty(), [enq('s1')]);
  t.match(sends(r.effects, 'noAgentOnline'), [{ to: 'conv:s1', sessionId: 's1' }]);
  t.same(r.state.waiting, []);
  const offline = feed(empty(), [cap(A, 'offline', 0, 5), enq('s1')]);
  t.equal(sends(offline.effects, 'noAgentOnline').length, 1, 'an offline member does not count');
});

t.test('online but nobody can take it (busy, rest, full) → queued with a 1-based position', async (t) => {
  for (const c of [cap(A, 'busy', 0, 5), cap(A, 'rest', 0, 5), cap(A, 'free', 5, 5)]) {
    const r = feed(empty(), [c, enq('s1'), enq('s2')]);
    t.same(sends(r.effects, 'queued').map((q) => [q.sessionId, q.position]), [['s1', 1], ['s2', 2]]);
    t.same(sends(r.effects, 'offer'), []);
  }
});

t.test('order: priority first (0 highest), then arrival, then enqueue order', async (t) => {
  const r = feed(empty(), [
    cap(A, 'busy', 0, 1),
    enq('late', { enqueuedAt: T0 + 300 }),
    enq('early', { enqueuedAt: T0 + 100 }),
    enq('vip', { priority: 0, enqueuedAt: T0 + 900 }),
    enq('early-too', { enqueuedAt: T0 + 100 }),
    enq('low', { priority: 9, enqueuedAt: T0 }),
  ]);
  t.same(r.state.waiting.map((w) => w.sessionId), ['vip', 'early', 'early-too', 'late', 'low']);
  t.equal(queuePosition(r.state, 'late'), 4);
  t.equal(queuePosition(r.state, 'nobody'), 0);
  const freed = feed(r.state, [cap(A, 'free', 0, 1)]);
  t.match(sends(freed.effects, 'offer'), [{ to: `agent:1400000001|${A}`, sessionId: 'vip' }], 'the head is offered first, one slot → one offer');
});

t.test('choice: least recently served free member with room; ties go to the smaller member id', async (t) => {
  const base = feed(empty(), [cap(A, 'free', 0, 5, 300), cap(B, 'free', 0, 5, 100), cap(C, 'free', 0, 5, 100)]).state;
  const r = feed(base, [enq('s1')]);
  t.match(sends(r.effects, 'offer'), [{ to: `agent:1400000001|${B}` }], 'bob and carol tie at 100 → bob');
  t.match(r.state.waiting[0], { sessionId: 's1', offeredTo: B });
  t.equal(r.effects.filter((e) => e.t === 'send').length, 1, 'no queued reply while an offer is out');

  const bobFull = feed(base, [cap(B, 'free', 5, 5, 100), enq('s1')]);
  t.match(sends(bobFull.effects, 'offer'), [{ to: `agent:1400000001|${C}` }], 'bob full → carol');
  const bobBusy = feed(base, [cap(B, 'busy', 0, 5, 100), cap(C, 'rest', 0, 5, 100), enq('s1')]);
  t.match(sends(bobBusy.effects, 'offer'), [{ to: `agent:1400000001|${A}` }], 'only alice is free');
});

t.test('choice honours agentIds and exclude; members of other groups are never offered', async (t) => {
  const base = feed(empty(), [cap(A, 'free', 0, 5), cap(B, 'free', 0, 5), cap('dave@desk.test', 'free', 0, 5)]).state;
  t.match(sends(feed(base, [enq('s1', { agentIds: [B] })]).effects, 'offer'), [{ to: `agent:1400000001|${B}` }]);
  t.match(sends(feed(base, [enq('s1', { exclude: [A] })]).effects, 'offer'), [{ to: `agent:1400000001|${B}` }]);
  const onlyDave = feed(empty(), [cap('dave@desk.test', 'free', 0, 5), enq('s1')]);
  t.equal(sends(onlyDave.effects, 'noAgentOnline').length, 1, 'dave is in group 2, not 1');
});

t.test('every online target excluded: offered to them again rather than stranded', async (t) => {
  const r = feed(empty(), [cap(A, 'free', 0, 5), enq('s1', { exclude: [A] })]);
  t.match(sends(r.effects, 'offer'), [{ to: `agent:1400000001|${A}` }]);
});

t.test('offer accepted → assigned to the session, entry removed', async (t) => {
  const s = feed(empty(), [cap(A, 'free', 0, 5), enq('s1')]).state;
  const capacity: Capacity = { memberId: A, status: 'free', load: 1, limit: 5, lastServedAt: T0 };
  const r = feed(s, [{ type: 'offerResult', sessionId: 's1', offerId: s.waiting[0].offerId!, memberId: A, ok: true, capacity }]);
  t.match(sends(r.effects, 'assigned'), [{ to: 'conv:s1', sessionId: 's1', memberId: A }]);
  t.same(r.state.waiting, []);
  t.same(r.state.view[A], capacity, 'the view takes the agent\'s own numbers');
});

t.test('offer refused → offered to the next member, or the session is told its position', async (t) => {
  const s = feed(empty(), [cap(A, 'free', 0, 1), cap(B, 'free', 0, 1, 10), enq('s1')]).state;
  t.equal(s.waiting[0].offeredTo, A);
  const r = feed(s, [{ type: 'offerResult', sessionId: 's1', offerId: s.waiting[0].offerId!, memberId: A, ok: false, code: ErrorCode.AgentAtLimit, capacity: { memberId: A, status: 'free', load: 1, limit: 1, lastServedAt: 5 } }]);
  t.match(sends(r.effects, 'offer'), [{ to: `agent:1400000001|${B}`, sessionId: 's1' }]);
  const r2 = feed(r.state, [{ type: 'offerResult', sessionId: 's1', offerId: r.state.waiting[0].offerId!, memberId: B, ok: false, code: ErrorCode.AgentResting, capacity: { memberId: B, status: 'rest', load: 0, limit: 1, lastServedAt: 10 } }]);
  t.same(sends(r2.effects, 'offer'), [], 'nobody left to ask');
  t.match(sends(r2.effects, 'queued'), [{ sessionId: 's1', position: 1 }]);
  t.equal(r2.state.waiting[0].offeredTo, undefined);
});

t.test('a session cancelled while its offer is out gives the reserved slot back', async (t) => {
  const s = feed(empty(), [cap(A, 'free', 0, 5), enq('s1'), { type: 'cancel', sessionId: 's1' }]).state;
  t.same(s.waiting, []);
  const r = feed(s, [{ type: 'offerResult', sessionId: 's1', offerId: 'offer-of-cancelled', memberId: A, ok: true, capacity: { memberId: A, status: 'free', load: 1, limit: 5, lastServedAt: T0 } }]);
  t.match(sends(r.effects, 'release'), [{ to: `agent:1400000001|${A}`, sessionId: 's1', reason: 'stale' }]);
  t.same(sends(r.effects, 'assigned'), []);
});

t.test('a repeated enqueue of a waiting session only reports its position', async (t) => {
  const s = feed(empty(), [cap(A, 'busy', 0, 5), enq('s1'), enq('s2')]).state;
  const r = feed(s, [enq('s2')]);
  t.equal(r.state.waiting.length, 2);
  t.match(sends(r.effects, 'queued'), [{ sessionId: 's2', position: 2 }]);
});

t.test('forward: placed at once or failed with the spec code, never queued', async (t) => {
  const busy = feed(empty(), [cap(A, 'free', 1, 5), cap(B, 'free', 5, 5), enq('s1', { forwardFrom: A, placeNow: true, priority: 0 })]);
  t.match(sends(busy.effects, 'forwardFailed'), [{ sessionId: 's1', code: ErrorCode.AllAgentsBusy }], 'the only other member is full → 141025');
  t.same(busy.state.waiting, []);
  const named = feed(empty(), [cap(A, 'free', 1, 5), cap(B, 'rest', 0, 5), enq('s1', { forwardFrom: A, placeNow: true, agentIds: [B] })]);
  t.match(sends(named.effects, 'forwardFailed'), [{ code: ErrorCode.AgentResting }]);
  const full = feed(empty(), [cap(A, 'free', 1, 5), cap(B, 'free', 5, 5), enq('s1', { forwardFrom: A, placeNow: true, agentIds: [B] })]);
  t.match(sends(full.effects, 'forwardFailed'), [{ code: ErrorCode.AgentAtLimit }]);
  const outsider = feed(empty(), [cap(A, 'free', 1, 5), enq('s1', { forwardFrom: A, placeNow: true, agentIds: ['dave@desk.test'] })]);
  t.match(sends(outsider.effects, 'forwardFailed'), [{ code: ErrorCode.GroupNoPermission }]);
  const ok = feed(empty(), [cap(A, 'free', 1, 5), cap(B, 'free', 0, 5), enq('s1', { forwardFrom: A, placeNow: true })]);
  t.match(sends(ok.effects, 'offer'), [{ to: `agent:1400000001|${B}` }], 'never back to the forwarding agent');
});
