/**
 * What statistics need to know of a session and of an agent (product.md §8), folded from their actors' events.
 * Pure: the live projection folds each committed turn, a rebuild folds the stored event log, and both give the
 * same facts because each record depends only on its own actor's events, in order.
 *
 * Definitions (product.md §8 "common definitions", with this server's readings in docs/decisions.md):
 * - a session is accepted when an agent starts serving it; a forward starts a new reception for the new agent;
 * - first response: from a reception's start to that agent's first message;
 * - response: from a user message (the first one since the agent last wrote) to the agent's next message; time
 *   the session spent suspended does not count;
 * - queue time: from the request for a human that was answered (the latest one) to acceptance;
 * - messages: user and agent messages; system and robot messages are not counted.
 */
import type { AgentEvent } from '../../actors/agent';
import { EndStatus, type SessionEvent } from '../../actors/session';
import { FromRole } from '../../protocol/im';

/** One agent's part of a session: from acceptance (or a forward to it) to the end (or a forward away). */
export interface Reception {
  agentId: string;
  start: number;
  end?: number;
  firstReplyAt?: number;
  agentMsgs: number;
  userMsgs: number;
  /** Sum and count of response intervals (ms). */
  respSum: number;
  respCnt: number;
  /** Forwarded to another agent (TransferSessionCnt of this agent). */
  forwardedOut: boolean;
  /** The session ended as ended by the agent side (`AgentEndedSession`) while this agent served it. */
  endedByAgent: boolean;
}

export interface SessionFacts {
  app: number;
  sessionId: string;
  csAccount: string;
  userId: string;
  startedAt: number;
  groupId: number;
  /** Where the session is now: with the robot, waiting for a human (transferring, queued, offered), served, ended. */
  phase: 'robot' | 'waiting' | 'agent' | 'ended';
  /** First request for a human (transfer, an agent's contact, a group choice offered, or one refused outside working hours). */
  requestedAt?: number;
  /** The latest request, and how long the session waited from it for its first acceptance (ms). */
  queuedAt?: number;
  queueMs?: number;
  acceptedAt?: number;
  endedAt?: number;
  endStatus?: string;
  /** The conversation's first and last message numbers in this session (a transcript is read between them). */
  firstSeq?: number;
  lastSeq?: number;
  /** User messages after the request for a human, and agent messages. */
  userMsgsAfterRequest: number;
  agentMsgs: number;
  receptions: Reception[];
  /** A user message waiting for the agent's reply (ms), suspended time during that wait, and since when suspended. */
  pendingSince?: number;
  pendingPaused?: number;
  suspendedAt?: number;
  /** Rating (1–5) and the agent it rates. */
  level?: number;
  ratedAgent?: string;
  /** Opened only for a contact or a group chat that did not happen: it leaves no record. */
  untraced?: boolean;
}

export const sessionFactsKey = (app: number, sessionId: string): string => `${app}|${sessionId}`;

function current(f: SessionFacts): Reception | undefined {
  const r = f.receptions[f.receptions.length - 1];
  return r && r.end === undefined ? r : undefined;
}

function closeReception(f: SessionFacts, at: number): void {
  const r = current(f);
  if (r) r.end = at;
  f.pendingSince = undefined;
  f.pendingPaused = undefined;
}

function openReception(f: SessionFacts, agentId: string, at: number): void {
  closeReception(f, at);
  f.receptions.push({ agentId, start: at, agentMsgs: 0, userMsgs: 0, respSum: 0, respCnt: 0, forwardedOut: false, endedByAgent: false });
}

/** Suspended time within the current wait, up to `at`. */
function pausedUntil(f: SessionFacts, at: number): number {
  const ongoing = f.suspendedAt !== undefined && f.pendingSince !== undefined ? Math.max(0, at - Math.max(f.suspendedAt, f.pendingSince)) : 0;
  return (f.pendingPaused ?? 0) + ongoing;
}

/**
 * Folds one event of a session actor (app, account and user from its address) into the facts of the session it
 * names; returns the facts changed (a session's facts are created by its SessionBegin).
 */
export function foldSession(get: (sessionId: string) => SessionFacts | undefined, who: { app: number; csAccount: string; userId: string }, e: SessionEvent): SessionFacts | undefined {
  if (e.type === 'SessionBegin') {
    return {
      app: who.app, sessionId: e.sessionId, csAccount: who.csAccount, userId: who.userId, startedAt: e.at, groupId: e.groupId, phase: 'robot',
      userMsgsAfterRequest: 0, agentMsgs: 0, receptions: [],
    };
  }
  if (e.type === 'RatingSent') {
    const rated = get(e.rating.sessionId);
    if (rated) rated.ratedAgent = e.rating.agentId;
    return rated;
  }
  if (!('sessionId' in e)) return undefined;
  const f = get(e.sessionId);
  if (!f) return undefined;
  switch (e.type) {
    case 'TransferringToHuman':
    case 'ContactRequested':
      f.requestedAt ??= e.at;
      f.queuedAt = e.at;
      f.groupId = e.groupId;
      f.phase = 'waiting';
      return f;
    case 'GroupsOffered':
      f.requestedAt ??= e.time;
      return f;
    case 'TransferRefused':
      f.requestedAt ??= e.at;
      return f;
    case 'NoAgentOnline':
      f.phase = 'robot';
      return f;
    case 'AssignDecided':
      if (e.denied) f.phase = 'robot';
      else f.groupId = e.groupId;
      return f;
    case 'ContactSettled':
      if (!e.ok && !e.newSession) f.phase = 'robot';
      return e.ok ? undefined : f;
    case 'TransferToHumanSuccess':
      f.phase = 'agent';
      if (f.acceptedAt === undefined) {
        f.acceptedAt = e.at;
        f.queueMs = e.at - (f.queuedAt ?? e.at);
      }
      if (current(f)?.agentId !== e.memberId) openReception(f, e.memberId, e.at);
      return f;
    case 'AgentForward': {
      // The forwarding agent's reception ends; the new agent's starts when it takes the session (at once, or on accept).
      const r = current(f);
      if (r) r.forwardedOut = true;
      closeReception(f, e.at);
      f.groupId = e.groupId;
      f.phase = 'waiting';
      f.suspendedAt = undefined;
      return f;
    }
    case 'MessageAdded': {
      f.firstSeq ??= e.seq;
      f.lastSeq = e.seq;
      const r = current(f);
      if (e.fromRole === FromRole.User) {
        if (f.requestedAt !== undefined) f.userMsgsAfterRequest++;
        if (r) {
          r.userMsgs++;
          f.pendingSince ??= e.at;
        }
      } else if (e.fromRole === FromRole.Agent) {
        f.agentMsgs++;
        if (r && r.agentId === e.from) {
          r.agentMsgs++;
          r.firstReplyAt ??= e.at;
          if (f.pendingSince !== undefined) {
            r.respSum += Math.max(0, e.at - f.pendingSince - pausedUntil(f, e.at));
            r.respCnt++;
            f.pendingSince = undefined;
            f.pendingPaused = undefined;
          }
        }
      }
      return f;
    }
    case 'SuspendChanged':
      if (e.suspended) f.suspendedAt = e.at;
      else if (f.suspendedAt !== undefined) {
        if (f.pendingSince !== undefined) f.pendingPaused = pausedUntil(f, e.at);
        f.suspendedAt = undefined;
      }
      return f;
    case 'SatisfactionSelected':
      f.level = e.level;
      return f;
    case 'SessionEnded': {
      const r = current(f);
      // As its record says: the workbench's end, and end_session (or destroy_group) acting for the service side.
      if (r && e.endStatus === EndStatus.AgentEnded) r.endedByAgent = true;
      closeReception(f, e.at);
      f.phase = 'ended';
      f.endedAt = e.at;
      f.endStatus = e.endStatus;
      f.suspendedAt = undefined;
      if (e.untraced) f.untraced = true;
      return f;
    }
    default:
      return undefined;
  }
}

/** An agent's status changes and workbench logins, as the agent analysis reads them. */
export interface StatusChange { at: number; status: string; login: boolean }

export function foldAgent(e: AgentEvent): StatusChange | undefined {
  if (e.type !== 'StatusChanged') return undefined;
  return { at: e.at, status: e.status, login: e.cause === 'login' };
}
