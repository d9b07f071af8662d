/**
 * Queue actor (one per group): waiting sessions ordered by priority then arrival, a view of its members'
 * capacity fed by their agent actors, and the assignment policy (least recently served free member with room).
 * It only offers; the agent reserves or refuses, so a stale view can cost a retry, never an over-assignment.
 */
import { memberActive, type AppModel } from '../protocol/app-model';
import { ErrorCode } from '../protocol/errors';
import { AgentStatus } from '../protocol/frames';
import { agentAddress, parseId, queueAddress } from './address';
import type { Capacity, EnqueueRequest, QueueMsg } from './messages';
import { Turn } from './turn';
import type { ActorDef, Ctx } from './types';

export interface QueueEntry {
  sessionId: string;
  conv: string;
  priority: number;
  enqueuedAt: number;
  /** Tie-break within the same priority and time. */
  n: number;
  agentIds?: string[];
  exclude: string[];
  forwardFrom?: string;
  placeNow?: boolean;
  allowBusy?: boolean;
  /** Member the entry is offered to, awaiting the answer, and the offer's id. */
  offeredTo?: string;
  offerId?: string;
  /** Members that refused this entry since the last capacity change. */
  refusedBy: string[];
}

export interface QueueState {
  app: number;
  groupId: number;
  waiting: QueueEntry[];
  view: Record<string, Capacity>;
  n: number;
}

export type QueueEvent =
  | { type: 'Enqueued'; entry: QueueEntry }
  | { type: 'Offered'; sessionId: string; memberId: string; offerId: string; why: string }
  | { type: 'OfferAnswered'; sessionId: string; offerId: string; memberId: string; ok: boolean }
  | { type: 'Removed'; sessionId: string; reason: 'assigned' | 'cancelled' | 'forwardFailed' }
  | { type: 'CapacitySeen'; capacity: Capacity };

const online = (c: Capacity | undefined): boolean => !!c && c.status !== AgentStatus.Offline;

function byOrder(a: QueueEntry, b: QueueEntry): number {
  return a.priority - b.priority || a.enqueuedAt - b.enqueuedAt || a.n - b.n;
}

function evolve(s: QueueState, e: QueueEvent): QueueState {
  switch (e.type) {
    case 'Enqueued': {
      const waiting = [...s.waiting, e.entry].sort(byOrder);
      return { ...s, waiting, n: Math.max(s.n, e.entry.n) + 0 };
    }
    case 'Offered': {
      const view = { ...s.view };
      const c = view[e.memberId];
      if (c) view[e.memberId] = { ...c, load: c.load + 1 };
      return { ...s, view, waiting: s.waiting.map((w) => (w.sessionId === e.sessionId ? { ...w, offeredTo: e.memberId, offerId: e.offerId } : w)) };
    }
    case 'OfferAnswered':
      return {
        ...s,
        waiting: s.waiting.map((w) => (w.sessionId === e.sessionId && w.offerId === e.offerId
          ? { ...w, offeredTo: undefined, offerId: undefined, refusedBy: e.ok ? w.refusedBy : [...w.refusedBy, e.memberId] } : w)),
      };
    case 'Removed':
      return { ...s, waiting: s.waiting.filter((w) => w.sessionId !== e.sessionId) };
    case 'CapacitySeen': {
      // A change of capacity may make a member that refused worth asking again.
      const waiting = s.waiting.some((w) => w.refusedBy.includes(e.capacity.memberId))
        ? s.waiting.map((w) => ({ ...w, refusedBy: w.refusedBy.filter((m) => m !== e.capacity.memberId) }))
        : s.waiting;
      return { ...s, view: { ...s.view, [e.capacity.memberId]: e.capacity }, waiting };
    }
  }
}

/** Members of this group, from the app model (the view may hold members that left the group). */
function groupMembers(s: QueueState, app: AppModel | undefined): string[] {
  if (!app) return [];
  const out: string[] = [];
  for (const m of Object.values(app.members)) if (memberActive(m) && m.groupIds.includes(s.groupId)) out.push(m.mail);
  return out;
}

function eligible(entry: Pick<QueueEntry, 'agentIds' | 'exclude'>, memberId: string): boolean {
  return (!entry.agentIds || entry.agentIds.includes(memberId)) && !entry.exclude.includes(memberId);
}

/** Least recently served free member with room; ties go to the member id, so a replay decides the same. */
function pick(s: QueueState, entry: QueueEntry, members: string[]): { memberId: string; why: string } | undefined {
  let best: Capacity | undefined;
  let candidates = 0;
  for (const id of members) {
    const c = s.view[id];
    const available = c && (c.status === AgentStatus.Free || (entry.allowBusy && c.status === AgentStatus.Busy));
    if (!available || c.load >= c.limit) continue;
    if (!eligible(entry, id) || entry.refusedBy.includes(id)) continue;
    candidates++;
    if (!best || c.lastServedAt < best.lastServedAt || (c.lastServedAt === best.lastServedAt && c.memberId < best.memberId)) best = c;
  }
  return best && { memberId: best.memberId, why: `least-recently-served of ${candidates} free (lastServedAt ${best.lastServedAt})` };
}

/** Offers every waiting entry that can be offered now, in queue order. */
function assign(t: Turn<QueueState, QueueEvent>, app: AppModel | undefined, ctx: Ctx): void {
  const members = groupMembers(t.state, app);
  for (const entry of [...t.state.waiting]) {
    if (entry.offeredTo) continue;
    const choice = pick(t.state, entry, members);
    if (choice) {
      const offerId = ctx.newId();
      t.emit({ type: 'Offered', sessionId: entry.sessionId, memberId: choice.memberId, offerId, why: choice.why });
      t.do({ t: 'send', to: agentAddress(t.state.app, choice.memberId), msg: { type: 'offer', sessionId: entry.sessionId, offerId, conv: entry.conv, from: queueAddress(t.state.app, t.state.groupId), allowBusy: entry.allowBusy } });
    } else if (entry.placeNow) {
      failForward(t, entry, members);
    }
  }
}

/** Why a forward cannot be placed now, in the spec's terms. */
function forwardFailure(s: QueueState, entry: QueueEntry, members: string[]): number {
  const targets = members.filter((m) => eligible(entry, m));
  if (entry.agentIds && entry.agentIds.length === 1) {
    const c = s.view[entry.agentIds[0]];
    if (!members.includes(entry.agentIds[0])) return ErrorCode.GroupNoPermission;
    if (!online(c)) return ErrorCode.AgentOffline;
    if (c.status === AgentStatus.Rest) return ErrorCode.AgentResting;
    if (c.load >= c.limit) return ErrorCode.AgentAtLimit;
    return ErrorCode.AllAgentsBusy;
  }
  return targets.some((m) => online(s.view[m])) ? ErrorCode.AllAgentsBusy : ErrorCode.NoAgentOnline;
}

function failForward(t: Turn<QueueState, QueueEvent>, entry: QueueEntry, members: string[]): void {
  const code = forwardFailure(t.state, entry, members);
  t.emit({ type: 'Removed', sessionId: entry.sessionId, reason: 'forwardFailed' });
  t.do({ t: 'send', to: entry.conv, msg: { type: 'forwardFailed', sessionId: entry.sessionId, code } });
}

function position(s: QueueState, sessionId: string): number {
  return s.waiting.findIndex((w) => w.sessionId === sessionId) + 1;
}

function enqueue(t: Turn<QueueState, QueueEvent>, msg: EnqueueRequest, app: AppModel | undefined, ctx: Ctx): void {
  const existing = t.state.waiting.find((w) => w.sessionId === msg.sessionId);
  if (existing) {
    if (!existing.offeredTo) t.do({ t: 'send', to: msg.conv, msg: { type: 'queued', sessionId: msg.sessionId, position: position(t.state, msg.sessionId) } });
    return;
  }
  const members = groupMembers(t.state, app);
  let targets = members.filter((m) => (!msg.agentIds || msg.agentIds.includes(m)) && m !== msg.forwardFrom);
  // Every online target timed out on this session: offer it to them again rather than strand it.
  const exclude = targets.some((m) => online(t.state.view[m]) && !msg.exclude.includes(m)) ? msg.exclude : [];
  targets = targets.filter((m) => !exclude.includes(m));
  const entry: QueueEntry = {
    sessionId: msg.sessionId, conv: msg.conv, priority: msg.priority, enqueuedAt: msg.enqueuedAt || ctx.now,
    n: t.state.n + 1, agentIds: msg.agentIds, exclude: msg.forwardFrom ? [...exclude, msg.forwardFrom] : exclude,
    forwardFrom: msg.forwardFrom, placeNow: msg.placeNow, allowBusy: msg.allowBusy, refusedBy: [],
  };
  if (!msg.placeNow && !targets.some((m) => online(t.state.view[m]))) {
    t.do({ t: 'send', to: msg.conv, msg: { type: 'noAgentOnline', sessionId: msg.sessionId } });
    return;
  }
  t.emit({ type: 'Enqueued', entry });
  assign(t, app, ctx);
  const now = t.state.waiting.find((w) => w.sessionId === msg.sessionId);
  if (now && !now.offeredTo) t.do({ t: 'send', to: msg.conv, msg: { type: 'queued', sessionId: msg.sessionId, position: position(t.state, msg.sessionId) } });
}

export const queue: ActorDef<QueueState, QueueMsg, QueueEvent> = {
  kind: 'queue',
  initial(id) {
    const [app, groupId] = parseId(id, 2);
    return { app: Number(app), groupId: Number(groupId), waiting: [], view: {}, n: 0 };
  },
  evolve,
  decide(state, msg, ctx) {
    const t = new Turn(state, evolve);
    const app = ctx.app(state.app);
    switch (msg.type) {
      case 'enqueue':
        enqueue(t, msg, app, ctx);
        break;
      case 'cancel':
        if (t.state.waiting.some((w) => w.sessionId === msg.sessionId)) t.emit({ type: 'Removed', sessionId: msg.sessionId, reason: 'cancelled' });
        break;
      case 'capacity':
        t.emit({ type: 'CapacitySeen', capacity: msg.capacity });
        assign(t, app, ctx);
        break;
      case 'offerResult': {
        const entry = t.state.waiting.find((w) => w.sessionId === msg.sessionId && w.offerId === msg.offerId);
        t.emit({ type: 'OfferAnswered', sessionId: msg.sessionId, offerId: msg.offerId, memberId: msg.memberId, ok: msg.ok });
        t.emit({ type: 'CapacitySeen', capacity: msg.capacity });
        if (msg.ok && entry) {
          t.emit({ type: 'Removed', sessionId: msg.sessionId, reason: 'assigned' });
          t.do({ t: 'send', to: entry.conv, msg: { type: 'assigned', sessionId: msg.sessionId, offerId: msg.offerId, memberId: msg.memberId, forwardFrom: entry.forwardFrom, why: `group ${t.state.groupId}` } });
        } else if (msg.ok) {
          // Cancelled while the offer was out: give the slot back.
          t.do({ t: 'send', to: agentAddress(t.state.app, msg.memberId), msg: { type: 'release', sessionId: msg.sessionId, offerId: msg.offerId, reason: 'stale' } });
        }
        assign(t, app, ctx);
        if (!msg.ok && entry) {
          const still = t.state.waiting.find((w) => w.sessionId === msg.sessionId);
          if (still && !still.offeredTo) t.do({ t: 'send', to: entry.conv, msg: { type: 'queued', sessionId: msg.sessionId, position: position(t.state, msg.sessionId) } });
        }
        break;
      }
      case '$timer':
        break;
    }
    return t.done();
  },
};

/** Position of a session in a queue state, 1-based; 0 when not waiting. */
export const queuePosition = position;
