/** Messages between actors and from the runtime to actors. */
import type { AgentStatus } from '../protocol/frames';
import type { TimMsgElement } from '../protocol/im';
import type { Address, ChatGroup, ReplyTo, StoredMessage, TimerMsg } from './types';

/** An agent's capacity as its own actor last wrote it; queues keep a view of these. */
export interface Capacity {
  memberId: string;
  status: AgentStatus;
  /** Sessions held that count toward the limit (reserved, waiting for accept, or in service and not suspended). */
  load: number;
  limit: number;
  lastServedAt: number;
}

export type AgentMsg =
  | TimerMsg
  | { type: 'connected'; conn: number }
  | { type: 'disconnected'; conn: number }
  /** Sent to every member at start: no socket survives a restart. */
  /** A server started: no socket it had is open. `node`: a cluster node's tag, whose sockets alone are gone (see sockets.ts). */
  | { type: 'presenceReset'; node?: number }
  /** `onlineOnly`: refused for an offline member (the REST status change cannot bring one online without a socket). */
  | { type: 'setStatus'; status: AgentStatus; reason?: string; onlineOnly?: boolean; replyTo?: ReplyTo }
  /** `offerId` names the reservation, so a late release of an earlier one cannot free a newer one. */
  | { type: 'offer'; sessionId: string; offerId: string; conv: Address; from: Address; allowBusy?: boolean }
  | { type: 'release'; sessionId: string; offerId?: string; reason: 'end' | 'acceptTimeout' | 'forward' | 'stale' }
  | { type: 'suspend'; sessionId: string }
  | { type: 'unsuspend'; sessionId: string; replyTo?: ReplyTo }
  /** Re-announce capacity (a queue asked, e.g. after the group's membership changed). */
  | { type: 'announce' };

export interface EnqueueRequest {
  type: 'enqueue';
  sessionId: string;
  conv: Address;
  priority: number;
  /** Arrival order kept when a session comes back (accept timeout, revoked offer). */
  enqueuedAt: number;
  /** Only these members may take it. */
  agentIds?: string[];
  /** Members not to offer it to (timed out on it, or the forwarding agent). */
  exclude: string[];
  /** A forward: the member the session leaves (never chosen). */
  forwardFrom?: string;
  /** Assign now or fail, never wait in the queue (forwards, proactive contact, DisableQueuing). */
  placeNow?: boolean;
  /** Members showing busy may take it too (transfer_to_human's AllowAssignBusyMember). */
  allowBusy?: boolean;
}

export type QueueMsg =
  | TimerMsg
  | EnqueueRequest
  | { type: 'cancel'; sessionId: string }
  | { type: 'capacity'; capacity: Capacity }
  | { type: 'offerResult'; sessionId: string; offerId: string; memberId: string; ok: boolean; code?: number; capacity: Capacity };

/** Replies of queues and agents that a session acts on. */
export type SessionRoutingMsg =
  | { type: 'queued'; sessionId: string; position: number }
  | { type: 'noAgentOnline'; sessionId: string }
  | { type: 'assigned'; sessionId: string; offerId: string; memberId: string; forwardFrom?: string; why: string }
  | { type: 'forwardFailed'; sessionId: string; code: number }
  | { type: 'offerRevoked'; sessionId: string; memberId: string }
  | { type: 'agentReconnected'; sessionId: string; memberId: string }
  | { type: 'unsuspended'; sessionId: string; memberId: string }
  /** The business server's ChatBot.OnAssignHuman answer (already validated), or `ok: false` when it gave none. */
  | { type: 'assignAnswer'; sessionId: string; ok: boolean; answer?: AssignAnswer }
  /** The backend's Desk.CallbackBeforeIMContactUser answer (an envelope), or `ok: false` when it gave none. */
  | { type: 'contactAnswer'; sessionId: string; ok: boolean; answer?: { ErrorCode: number; ErrorInfo?: string } }
  /** The vector of question `seq` is known, or could not be had: the robot answers it now. */
  | { type: 'questionEmbedded'; sessionId: string; seq: number }
  /** A task flow's Chatbot.InterfaceInvocation answer (already validated), or `ok: false` when it gave none. */
  | { type: 'taskCallAnswer'; sessionId: string; ok: boolean; answer?: { Body?: Record<string, unknown> }; tag?: string };

export interface AssignAnswer { AgentGroupId?: number; AgentIdList?: string[]; Priority?: number; AgentTransferDenied?: 0 | 1 }

export type AgentAction = 'accept' | 'end' | 'invite_rating' | 'suspend' | 'unsuspend' | 'typing' | 'transfer';

export type SessionMsg =
  | TimerMsg
  | SessionRoutingMsg
  /** `from`: the sending member of a group chat (a user's own conversation has one sender). */
  | { type: 'userSend'; random: number; body: TimMsgElement[]; cloudCustomData?: string; from?: string; conn?: number; replyTo?: ReplyTo }
  | { type: 'agentSend'; memberId: string; sessionId: string; random: number; body: TimMsgElement[]; cloudCustomData?: string; conn?: number; replyTo?: ReplyTo }
  | { type: 'agentAction'; action: AgentAction; memberId: string; sessionId: string; groupId?: number; targetMemberId?: string; replyTo?: ReplyTo }
  | { type: 'userOnline' }
  | { type: 'userOffline' }
  /** The conversation's partition moved to another node: what it stored last may not have been pushed. */
  | { type: 'takenOver' }
  | AdminMsg;

/** What the app admin does to a session through the REST API. */
export type AdminMsg =
  | {
    type: 'adminTransferToHuman'; sessionId: string; agentIds?: string[]; groupId?: number; tipIfNoAgent: boolean; checkHours: boolean; promptOutsideHours: boolean;
    priority?: number; disableQueuing?: boolean; allowBusy?: boolean; endIfNoneOnline?: boolean; queueTimeoutSec?: number; replyTo?: ReplyTo;
  }
  | { type: 'adminTransfer'; sessionId: string; groupId?: number; memberId?: string; replyTo?: ReplyTo }
  | { type: 'adminEnd' | 'adminSuspend' | 'adminUnsuspend'; sessionId: string; replyTo?: ReplyTo }
  | { type: 'adminMark'; sessionId: string; mark?: string; star?: 0 | 1; userTimeoutSwitch?: 0 | 1; replyTo?: ReplyTo }
  | { type: 'adminSend'; sessionId?: string; random: number; body: TimMsgElement[]; cloudCustomData?: string; excludeFromUserTimeout: boolean; replyTo?: ReplyTo }
  /** modify_msg: `message` is the stored record being replaced (read by the facade). */
  | { type: 'adminEdit'; sessionId: string; message: StoredMessage; body: TimMsgElement[]; cloudCustomData?: string; replyTo?: ReplyTo }
  /** contact_user: an agent starts a human session with the user (T19). */
  | { type: 'adminContact'; groupId?: number; memberId?: string; replyTo?: ReplyTo }
  /** create_group: the account serves a new group chat, which goes to a human at once (answered when queued or placed). */
  | { type: 'adminOpenGroup'; group: ChatGroup; replyTo?: ReplyTo }
  /** destroy_group: the group is dismissed, and its session ends. */
  | { type: 'adminDestroyGroup'; groupId: string; replyTo?: ReplyTo }
  /** send_stream_msg: a first chunk starts a streaming message, later ones (with its msgKey) append to it. */
  /** `robotOnly`: refused (141026) once the session has left the robot phase (a model's answer after a transfer). */
  | { type: 'adminStream'; sessionId: string; msgKey?: string; chunk: string; finish: boolean; robotOnly?: boolean; replyTo?: ReplyTo };
