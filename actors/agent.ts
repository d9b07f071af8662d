/**
 * Agent (member) actor: the only writer of the member's status and capacity.
 * Queues offer sessions; the agent reserves a slot or refuses, so no limit is ever exceeded.
 */
import { memberActive, memberOf, receptionLimit, type AppModel } from '../protocol/app-model';
import { ErrorCode } from '../protocol/errors';
import { AgentStatus } from '../protocol/frames';
import { idOf, parseId, queueAddress } from './address';
import { nodeTagOfSocket } from './sockets';
import type { AgentMsg, Capacity } from './messages';
import { Turn } from './turn';
import type { ActorDef, Address, Ctx } from './types';

export interface HeldSession { conv: Address; suspended: boolean; offerId: string }

export interface AgentState {
  app: number;
  memberId: string;
  status: AgentStatus;
  restReason?: string;
  /** Open sockets on this node; reset at start (sockets do not survive a restart). */
  conns: number[];
  /** When the agent goes offline if no socket comes back. */
  offlineAt?: number;
  sessions: Record<string, HeldSession>;
  lastServedAt: number;
  firstLoginAt?: number;
  lastLogoutAt?: number;
}

export type AgentEvent =
  | { type: 'Connected'; conn: number; at: number }
  | { type: 'Disconnected'; conn: number }
  | { type: 'ConnectionsReset' }
  | { type: 'OfflineScheduled'; at: number | undefined }
  | { type: 'StatusChanged'; status: AgentStatus; reason?: string; at: number; cause: 'self' | 'acceptTimeout' | 'noSocket' | 'login' }
  | { type: 'Reserved'; sessionId: string; offerId: string; conv: Address; at: number }
  | { type: 'Released'; sessionId: string; reason: string }
  | { type: 'SuspendChanged'; sessionId: string; suspended: boolean };

const GRACE_TIMER = 'offline';

function load(s: AgentState): number {
  let n = 0;
  for (const k in s.sessions) if (!s.sessions[k].suspended) n++;
  return n;
}

function limitOf(s: AgentState, app: AppModel | undefined): number {
  const m = app && memberOf(app, s.memberId);
  return app && m ? receptionLimit(app, m) : 0;
}

export function capacityOf(s: AgentState, app: AppModel | undefined): Capacity {
  return { memberId: s.memberId, status: s.status, load: load(s), limit: limitOf(s, app), lastServedAt: s.lastServedAt };
}

function evolve(s: AgentState, e: AgentEvent): AgentState {
  switch (e.type) {
    case 'Connected':
      return { ...s, conns: [...s.conns, e.conn], offlineAt: undefined, firstLoginAt: s.firstLoginAt ?? e.at };
    case 'Disconnected':
      return { ...s, conns: s.conns.filter((c) => c !== e.conn) };
    case 'ConnectionsReset':
      return { ...s, conns: [] };
    case 'OfflineScheduled':
      return { ...s, offlineAt: e.at };
    case 'StatusChanged':
      return {
        ...s, status: e.status, restReason: e.status === AgentStatus.Rest ? e.reason : undefined,
        offlineAt: e.status === AgentStatus.Offline ? undefined : s.offlineAt,
        lastLogoutAt: e.status === AgentStatus.Offline ? e.at : s.lastLogoutAt,
      };
    case 'Reserved':
      return { ...s, sessions: { ...s.sessions, [e.sessionId]: { conv: e.conv, suspended: s.sessions[e.sessionId]?.suspended ?? false, offerId: e.offerId } }, lastServedAt: e.at };
    case 'Released': {
      const sessions = { ...s.sessions };
      delete sessions[e.sessionId];
      return { ...s, sessions };
    }
    case 'SuspendChanged':
      return { ...s, sessions: { ...s.sessions, [e.sessionId]: { ...s.sessions[e.sessionId], suspended: e.suspended } } };
  }
}

/** What a (re)connecting member is told: its status and the sessions it holds, so a workbench can resume them. */
function stateFrame(s: AgentState): unknown {
  return {
    status: s.status, reason: s.restReason,
    sessions: Object.entries(s.sessions).map(([sessionId, h]) => {
      const [, csAccount, userId] = parseId(idOf(h.conv), 3);
      return { sessionId, csAccount, userId, suspended: h.suspended };
    }),
  };
}

/** Member.EventNotify wording of the statuses (rest-api-extensions.md §8.1). */
const notifyStatusName: Record<AgentStatus, string> = { free: 'ready', busy: 'notReady', rest: 'rest', offline: 'offline' };

/** One Member.EventNotify per status change of this turn, through the outbox, in order per member. */
function notifyStatus(t: Turn<AgentState, AgentEvent>): void {
  for (const e of t.events) {
    if (e.type !== 'StatusChanged') continue;
    t.do({ t: 'callback', app: t.state.app, key: `member:${t.state.memberId}`, command: 'Member.EventNotify', body: {
      CallbackCommand: 'Member.EventNotify', Event: 'Member.StatusChange', MemberId: t.state.memberId,
      Status: notifyStatusName[e.status], EventTime: e.at, RestReason: e.reason ?? '',
      ClientInfo: [{ ClientType: 'Web', IsConnected: t.state.conns.length > 0 }],
    } });
  }
}

/** Tells every queue of the member's groups what its capacity is now. */
function announce(t: Turn<AgentState, AgentEvent>, app: AppModel | undefined): void {
  const member = app && memberOf(app, t.state.memberId);
  if (!app || !member) return;
  const capacity = capacityOf(t.state, app);
  for (const g of member.groupIds) t.do({ t: 'send', to: queueAddress(t.state.app, g), msg: { type: 'capacity', capacity } });
}

/** The member's own workbenches (every socket of the member). */
const selfOf = (s: AgentState) => ({ role: 'agent', app: s.app, id: s.memberId }) as const;

/** Every workbench of the member shows a status change, whoever made it (the member, the REST API, a timeout). */
function pushStatus(t: Turn<AgentState, AgentEvent>): void {
  t.do({ t: 'push', to: selfOf(t.state), frame: { type: 'agent.status', data: { status: t.state.status, reason: t.state.restReason } } });
}

function goOffline(t: Turn<AgentState, AgentEvent>, ctx: Ctx, cause: 'self' | 'noSocket'): void {
  t.emit({ type: 'StatusChanged', status: AgentStatus.Offline, at: ctx.now, cause });
  t.do({ t: 'cancelTimer', key: GRACE_TIMER });
  // Offered (not yet accepted) sessions go back to routing; sessions in service stay for a reconnect.
  // The session knows which of its held sessions are only offered, so each decides for itself.
  for (const [sessionId, held] of Object.entries(t.state.sessions)) {
    t.do({ t: 'send', to: held.conv, msg: { type: 'offerRevoked', sessionId, memberId: t.state.memberId } });
  }
}

function scheduleOffline(t: Turn<AgentState, AgentEvent>, ctx: Ctx, app: AppModel | undefined): void {
  if (t.state.conns.length > 0 || t.state.status === AgentStatus.Offline) return;
  const at = ctx.now + (app?.session.agentOfflineGraceSec ?? 60) * 1000;
  t.emit({ type: 'OfflineScheduled', at });
  t.do({ t: 'timer', key: GRACE_TIMER, at });
}

export const agent: ActorDef<AgentState, AgentMsg, AgentEvent> = {
  kind: 'agent',
  initial(id) {
    const [app, memberId] = parseId(id, 2);
    return { app: Number(app), memberId, status: AgentStatus.Offline, conns: [], sessions: {}, lastServedAt: 0 };
  },
  evolve,
  decide(state, msg, ctx) {
    const t = new Turn(state, evolve);
    const app = ctx.app(state.app);
    const before = capacityOf(state, app);
    switch (msg.type) {
      case 'connected':
        if (t.state.offlineAt !== undefined) t.do({ t: 'cancelTimer', key: GRACE_TIMER });
        t.emit({ type: 'Connected', conn: msg.conn, at: ctx.now });
        // GAP-45: a member who logs in while offline starts free; a reconnect keeps busy or rest.
        if (t.state.status === AgentStatus.Offline) t.emit({ type: 'StatusChanged', status: AgentStatus.Free, at: ctx.now, cause: 'login' });
        t.do({ t: 'push', to: selfOf(t.state), frame: { type: 'agent.state', data: stateFrame(t.state) } });
        // A session still waiting for this member's accept offers itself again (the workbench shows the offer).
        for (const [sessionId, held] of Object.entries(t.state.sessions)) t.do({ t: 'send', to: held.conv, msg: { type: 'agentReconnected', sessionId, memberId: t.state.memberId } });
        break;
      case 'disconnected':
        if (!t.state.conns.includes(msg.conn)) break;
        t.emit({ type: 'Disconnected', conn: msg.conn });
        scheduleOffline(t, ctx, app);
        break;
      case 'presenceReset':
        if (msg.node === undefined) {
          if (t.state.conns.length) t.emit({ type: 'ConnectionsReset' });
        } else {
          // The node's sockets, and any whose node is not known (numbered by an earlier version): those on other
          // nodes are open still.
          for (const conn of t.state.conns) {
            const node = nodeTagOfSocket(conn);
            if (node === undefined || node === msg.node) t.emit({ type: 'Disconnected', conn });
          }
        }
        if (t.state.offlineAt === undefined) scheduleOffline(t, ctx, app);
        // Group membership may have changed while the server was down: every queue of the member hears from it.
        announce(t, app);
        return t.done();
      case '$timer':
        if (msg.key === GRACE_TIMER && t.state.offlineAt !== undefined && t.state.conns.length === 0 && ctx.now >= t.state.offlineAt) {
          t.emit({ type: 'OfflineScheduled', at: undefined });
          goOffline(t, ctx, 'noSocket');
        }
        break;
      case 'setStatus':
        if (msg.onlineOnly && t.state.status === AgentStatus.Offline) {
          t.refuse(msg.replyTo, ErrorCode.AgentOffline, 'the member is offline');
          break;
        }
        if (msg.status === AgentStatus.Offline) {
          if (t.state.status !== AgentStatus.Offline) goOffline(t, ctx, 'self');
        } else if (msg.status !== t.state.status || msg.reason !== t.state.restReason) {
          t.emit({ type: 'StatusChanged', status: msg.status, reason: msg.reason, at: ctx.now, cause: 'self' });
          pushStatus(t);
        }
        if (msg.replyTo) t.do({ t: 'reply', replyTo: msg.replyTo, ok: true, data: { status: t.state.status, reason: t.state.restReason } });
        break;
      case 'offer': {
        const held = t.state.sessions[msg.sessionId];
        let code: number | undefined;
        // Already held (a repeated offer, or a re-offer that overtook the release of the last one): the slot is
        // kept and renamed, so only a release of the newest reservation frees it.
        if (held) code = undefined;
        else if (!app || !memberActive(memberOf(app, t.state.memberId))) code = ErrorCode.AgentOffline;
        else if (t.state.status === AgentStatus.Offline) code = ErrorCode.AgentOffline;
        else if (t.state.status === AgentStatus.Rest) code = ErrorCode.AgentResting;
        else if (t.state.status === AgentStatus.Busy && !msg.allowBusy) code = ErrorCode.AllAgentsBusy;
        else if (load(t.state) >= limitOf(t.state, app)) code = ErrorCode.AgentAtLimit;
        if (code === undefined && held?.offerId !== msg.offerId) t.emit({ type: 'Reserved', sessionId: msg.sessionId, offerId: msg.offerId, conv: msg.conv, at: held ? t.state.lastServedAt : ctx.now });
        t.do({ t: 'send', to: msg.from, msg: { type: 'offerResult', sessionId: msg.sessionId, offerId: msg.offerId, memberId: t.state.memberId, ok: code === undefined, code, capacity: capacityOf(t.state, app) } });
        break;
      }
      case 'release': {
        const held = t.state.sessions[msg.sessionId];
        if (!held || (msg.offerId !== undefined && held.offerId !== msg.offerId)) break;
        t.emit({ type: 'Released', sessionId: msg.sessionId, reason: msg.reason });
        if (msg.reason === 'acceptTimeout' && app?.session.restAfterAcceptTimeout && t.state.status === AgentStatus.Free) {
          t.emit({ type: 'StatusChanged', status: AgentStatus.Rest, reason: 'acceptTimeout', at: ctx.now, cause: 'acceptTimeout' });
          pushStatus(t);
        }
        break;
      }
      case 'suspend':
        if (t.state.sessions[msg.sessionId] && !t.state.sessions[msg.sessionId].suspended) t.emit({ type: 'SuspendChanged', sessionId: msg.sessionId, suspended: true });
        break;
      case 'unsuspend': {
        const held = t.state.sessions[msg.sessionId];
        if (!held) { t.refuse(msg.replyTo, ErrorCode.SessionNotFound); break; }
        if (held.suspended && load(t.state) >= limitOf(t.state, app)) { t.refuse(msg.replyTo, ErrorCode.AgentAtLimit); break; }
        if (held.suspended) t.emit({ type: 'SuspendChanged', sessionId: msg.sessionId, suspended: false });
        t.do({ t: 'send', to: held.conv, msg: { type: 'unsuspended', sessionId: msg.sessionId, memberId: t.state.memberId } });
        if (msg.replyTo) t.do({ t: 'reply', replyTo: msg.replyTo, ok: true, data: { sessionId: msg.sessionId, suspended: false } });
        break;
      }
      case 'announce':
        announce(t, app);
        return t.done();
    }
    const after = capacityOf(t.state, app);
    if (after.status !== before.status || after.load !== before.load || after.lastServedAt !== before.lastServedAt || after.limit !== before.limit) announce(t, app);
    if (app?.callbacks?.url && app.callbacks.memberEvents) notifyStatus(t);
    return t.done();
  },
};
