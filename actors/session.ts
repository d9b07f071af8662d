/**
 * Session actor: one per (app, customer-service account, user) conversation. It carries the current session
 * through the robot phase, transfer, queue, agent service and its end, keeps the conversation's message
 * sequence, its prompts and timers, and the rating cards it sent.
 */
import { accountOf, DEFAULT_ROBOT_ID, groupOf, knowledgeLanguage, memberOf, prompt, ReceptionMode, robotConfig, robotOf, taskFlowsOf, type AppModel, type CsAccount, type RobotConfig } from '../protocol/app-model';
import { ErrorCode } from '../protocol/errors';
import { MAX_BODY_BYTES, type ServerFrame, type SessionSummary } from '../protocol/frames';
import {
  custom, deskPayload, FromRole, plainText, ratingCard, RatingRuleBit, seatStatus, Src, text,
  type DeskCustomData, type RatingCardContent, type TimMsgElement,
} from '../protocol/im';
import { agentAddress, parseId, queueAddress, sessionAddress } from './address';
import type { AdminMsg, AssignAnswer, EnqueueRequest, SessionMsg, SessionRoutingMsg } from './messages';
import { Turn } from './turn';
import { matchesToHuman, replyBody, replySource, respond, startingFlow, welcomeCard, withDocuments, type RobotReply } from './robot';
import type { ActorDef, ChatGroup, Ctx, KnowledgeLibrary, Recipient, ReplyTo, StoredMessage } from './types';
import { ASSIGN_HUMAN, BEFORE_CONTACT_USER, INTERFACE_INVOCATION } from '../protocol/rest/callbacks';
import { nodeOf, type TaskFlow, type TaskNode } from '../protocol/task-flow';
import { afterBranch, afterCall, afterForm, branchBody, filler, formBody, formValues, pickedOption, startFlow, type SystemValues, type TaskEnd, type TaskRun, type TaskStep } from './task-flow';
import { sessionNotifications } from './session-notify';
import { withinWorkingHours } from './working-hours';

export const Phase = {
  Chatbot: 'Chatbot',
  Transferring: 'Transferring',
  Queueing: 'Queueing',
  Waiting: 'WaitingForAgentAnswering',
  Agent: 'Agent',
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

export const EndStatus = {
  AgentEnded: 'AgentEndedSession',
  UserEnded: 'UserEndedSession',
  UserTimeout: 'UserTimeout',
  AgentTimeout: 'AgentTimeout',
  ChatbotReception: 'ChatbotReception',
  NoAgentsOnline: 'NoAgentsOnline',
  UserAbandonedDuringQueueing: 'UserAbandonedDuringQueueing',
} as const;
export type EndStatus = (typeof EndStatus)[keyof typeof EndStatus];

/** The `Desk.SessionEventNotify` name of each kind of end. */
export type EndEvent = 'SessionUserEnd' | 'SessionAgentEnd' | 'SessionUserTimeoutEnd' | 'SessionAgentTimeoutEnd' | 'SessionPendingAutoFinishEnd' | 'SessionEnd';
export type CloseBy = 'client' | 'seat' | 'admin' | 'timer';

export const timerKeys = ['userReply', 'agentReply', 'accept', 'robotIdle', 'queueOffline', 'assignAnswer', 'queueTimeout', 'contactAnswer', 'taskCall', 'embedQuery'] as const;
export type TimerKey = (typeof timerKeys)[number];

export interface CurrentSession {
  sessionId: string;
  startedAt: number;
  phase: Phase;
  groupId: number;
  priority: number;
  agentId?: string;
  /** The agent's reservation of this session (see the agent actor's offer/release). */
  offerId?: string;
  suspended: boolean;
  /** mark_session's user-timeout switch. */
  userTimeoutOn: boolean;
  deadlines: Partial<Record<TimerKey, number>>;
  /** Arrival time in the queue, kept across re-offers. */
  enqueuedAt?: number;
  /** Members that let an offer of this session lapse. */
  exclude: string[];
  /** The session reached an agent at least once. */
  served: boolean;
  invitedRating: boolean;
  pendingForward?: { replyTo?: ReplyTo; by: string; groupId: number };
  /** How the current transfer was asked for; kept while it lasts, so a re-queue (after a lapse) honours it. */
  transferOpts?: { placeNow?: boolean; allowBusy?: boolean; agentIds?: string[]; endIfNoneOnline?: boolean; tipIfNoAgent: boolean; queueDeadlineAt?: number };
  /** A REST transfer_to_human waiting for the queue's answer; its QueueTimeout starts when the session is first queued. */
  pendingTransfer?: { replyTo?: ReplyTo; queueTimeoutSec?: number };
  /** Started by an agent contacting the user (IsContactUser), and the contact_user call waiting for its outcome. */
  contact?: boolean;
  pendingContact?: { replyTo?: ReplyTo; newSession: boolean; memberId?: string; asked?: boolean };
  /** Assignment strategy 1: the groups offered in a src 15 branch message, waiting for the user's choice. */
  choosingGroup?: { seq: number; msgKey: string; time: number; header: string; choices: { id: number; name: string }[]; opts?: Omit<TransferOptions, 'replyTo' | 'groupId'> };
  /** Waiting for the business server's assignment answer. */
  awaitingAssign?: boolean;
  /** Streaming messages not finished yet (send_stream_msg), by msgKey. */
  streams?: Record<string, { seq: number; time: number; chunks: string[] }>;
  /** A question the robot answers once its vector is known (matching by meaning). */
  pendingQuestion?: { seq: number; text: string };
  /** A task flow under way in the robot phase, and its waiting node's message (a branch or a form). */
  task?: TaskRun & { msg?: { seq: number; msgKey: string; time: number } };
  /** The fixed-button branches this session showed (`flowId:nodeId`, the last few): a click resumes only those. */
  buttons?: string[];
  /** mark_session's mark and star. */
  mark?: string;
  starred?: boolean;
}

export interface RatingRecord {
  sessionId: string;
  seq: number;
  msgKey: string;
  time: number;
  expireAt: number;
  card: RatingCardContent;
  agentId?: string;
  level?: number;
}

/** `from` is kept for a group chat's members (a user's own conversation has one sender). */
export interface RecentSend { random: number; seq: number; msgKey: string; sessionId: string; time: number; from?: string }

/** How long a send_msg retry with the same MsgRandom counts as the same message. */
const ADMIN_RETRY_WINDOW_MS = 60_000;

export interface SessionState {
  app: number;
  csAccount: string;
  userId: string;
  /** Last message sequence number of the conversation. */
  seq: number;
  /** Recent user sends, so a retried `random` is acknowledged again instead of stored twice. */
  recent: RecentSend[];
  /** The same for send_msg calls, kept apart so a chatty backend does not push out the user's. */
  recentAdmin?: RecentSend[];
  /** The same for agents' sends (a workbench sending again after a lost answer, or from another node). */
  recentAgent?: RecentSend[];
  cur?: CurrentSession;
  ratings: RatingRecord[];
  /** The user has no open socket (as far as the gateway last said). */
  userOffline?: boolean;
  /** A group chat's conversation: the group, kept once its opening transfer succeeded (`open`). */
  chatGroup?: { group: ChatGroup; open: boolean };
  /** The client's language, from its src 7 entry message (GAP-33); the robot answers from that language's knowledge. */
  language?: string;
}

export type SessionEvent =
  | { type: 'SessionBegin'; sessionId: string; at: number; groupId: number }
  | { type: 'MessageAdded'; sessionId: string; seq: number; msgKey: string; fromRole: 1 | 2 | 3; from: string; random: number; at: number }
  | {
    type: 'TransferringToHuman'; sessionId: string; at: number; groupId: number; priority: number; replyTo?: ReplyTo; tipIfNoAgent: boolean;
    endIfNoneOnline?: boolean; queueTimeoutSec?: number; placeNow?: boolean; allowBusy?: boolean; agentIds?: string[];
  }
  | { type: 'TransferAnswered'; sessionId: string }
  | { type: 'GroupsOffered'; sessionId: string; seq: number; msgKey: string; time: number; header: string; choices: { id: number; name: string }[]; opts?: Omit<TransferOptions, 'replyTo' | 'groupId'> }
  | { type: 'GroupChosen'; sessionId: string; groupId: number }
  | { type: 'ContactRequested'; sessionId: string; at: number; groupId: number; replyTo?: ReplyTo; newSession: boolean; memberId?: string; asked: boolean }
  | { type: 'ContactAnswered'; sessionId: string }
  | { type: 'ContactSettled'; sessionId: string; ok: boolean; newSession: boolean; at: number }
  /** Assignment strategy 2: the business server was asked; `awaitingAssign` until it answers or times out. */
  | { type: 'AssignAsked'; sessionId: string; at: number }
  | { type: 'AssignDecided'; sessionId: string; groupId: number; priority: number; agentIds?: string[]; denied: boolean; fallback: boolean }
  | { type: 'StreamChunk'; sessionId: string; msgKey: string; seq: number; time: number; chunk: string; finished: boolean; at: number }
  /** modify_msg replaced a stored message's body (reported to the backend as that message again). */
  | { type: 'MessageEdited'; sessionId: string; seq: number; msgKey: string; at: number }
  | { type: 'SessionMarked'; sessionId: string; mark?: string; starred?: boolean; userTimeoutOn?: boolean }
  | { type: 'TransferringToHumanWait'; sessionId: string; at: number; position: number }
  | { type: 'NoAgentOnline'; sessionId: string; at: number }
  | { type: 'Assigned'; sessionId: string; memberId: string; offerId: string; at: number; manual: boolean; why: string }
  | { type: 'TransferToHumanSuccess'; sessionId: string; memberId: string; at: number }
  | { type: 'MemberAccessTimeout'; sessionId: string; memberId: string; at: number; requeue: boolean }
  | { type: 'ForwardRequested'; sessionId: string; by: string; replyTo?: ReplyTo; groupId: number; memberId?: string }
  | { type: 'ForwardSettled'; sessionId: string }
  | { type: 'AgentForward'; sessionId: string; from: string; to: string; offerId: string; at: number; groupId: number }
  | { type: 'SuspendChanged'; sessionId: string; suspended: boolean; at: number }
  | { type: 'Deadline'; key: TimerKey; at?: number }
  | { type: 'RatingSent'; rating: RatingRecord; invited: boolean }
  | { type: 'SatisfactionSelected'; sessionId: string; level: number; at: number }
  /** `untraced`: a session opened only for a contact or a group chat that did not happen; it leaves no record. */
  | { type: 'SessionEnded'; sessionId: string; endStatus: EndStatus; event: EndEvent; closeBy: CloseBy; at: number; agentId?: string; untraced?: boolean }
  /** A request for a human refused before any transfer began (outside working hours): statistics count it. */
  | { type: 'TransferRefused'; sessionId: string; at: number; reason: 'outsideHours' }
  | { type: 'UserPresence'; online: boolean }
  /** src 7 arrived (not stored: it is an online-only signal); reported to a self-built AI backend. */
  | { type: 'UserEntered'; sessionId: string; at: number; body: unknown[] }
  | { type: 'ChatGroupOpening'; group: ChatGroup; at: number }
  | { type: 'ChatGroupOpened'; groupId: string; at: number }
  | { type: 'ChatGroupClosed'; groupId: string; at: number }
  | { type: 'LanguageSet'; language: string }
  /** A question waits for its vector before the robot answers it; `QuestionTaken` when it is answered. */
  | { type: 'QuestionWaiting'; sessionId: string; seq: number; text: string }
  | { type: 'QuestionTaken'; sessionId: string }
  /** A task flow started, moved on, or ended (`task` absent; `ended` says how). */
  | { type: 'TaskChanged'; sessionId: string; at: number; flowId: number; task?: CurrentSession['task']; ended?: TaskEnd; buttons?: string }
  /** The robot answered the question of message `questionSeq` with message `seq`: strategy, score, question (its source). */
  | { type: 'RobotAnswered'; sessionId: string; seq: number; questionSeq: number; at: number; source: ReturnType<typeof replySource> };

const RECENT_SENDS = 16;
const RECENT_SENDS_GROUP = 64;
const RATINGS_KEPT = 5;
/** Fixed-button branches a session remembers showing. */
const BUTTONS_KEPT = 20;
const DEFAULT_PRIORITY = 5;

function patchCur(s: SessionState, sessionId: string, patch: Partial<CurrentSession>): SessionState {
  if (!s.cur || s.cur.sessionId !== sessionId) return s;
  return { ...s, cur: { ...s.cur, ...patch } };
}

/** Appends to a list of recent sends, dropping the oldest past `kept`. */
function remember(list: RecentSend[], entry: RecentSend, kept: number): void {
  list.push(entry);
  if (list.length > kept) list.splice(0, list.length - kept);
}

/**
 * The events every message brings (MessageAdded, Deadline) update the state in place rather than copying it: the
 * runtime owns the state, and a turn that fails is reloaded from the store. The rest return a new state.
 */
function evolve(s: SessionState, e: SessionEvent): SessionState {
  switch (e.type) {
    case 'SessionBegin':
      return {
        ...s,
        cur: {
          sessionId: e.sessionId, startedAt: e.at, phase: Phase.Chatbot, groupId: e.groupId, priority: DEFAULT_PRIORITY,
          suspended: false, userTimeoutOn: true, deadlines: {}, exclude: [], served: false, invitedRating: false,
        },
      };
    case 'MessageAdded': {
      // The events of every message: updated in place (see `evolve`).
      s.seq = e.seq;
      // User sends, and apart from them agents' sends and send_msg calls (random ≠ 0), are remembered: a retry is
      // acknowledged, not stored again.
      const entry = (): RecentSend => ({ random: e.random, seq: e.seq, msgKey: e.msgKey, sessionId: e.sessionId, time: e.at, ...(e.from !== s.userId && e.fromRole === FromRole.User ? { from: e.from } : {}) });
      // A group chat's members share the list: it keeps more.
      if (e.fromRole === FromRole.User) remember(s.recent, entry(), s.chatGroup ? RECENT_SENDS_GROUP : RECENT_SENDS);
      else if (e.fromRole === FromRole.System && e.random !== 0) remember((s.recentAdmin ??= []), entry(), RECENT_SENDS);
      else if (e.fromRole === FromRole.Agent && e.random !== 0) remember((s.recentAgent ??= []), { ...entry(), from: e.from }, RECENT_SENDS);
      return s;
    }
    case 'TransferringToHuman':
      return patchCur(s, e.sessionId, {
        phase: Phase.Transferring, groupId: e.groupId, priority: e.priority, exclude: [], enqueuedAt: e.at,
        pendingTransfer: { replyTo: e.replyTo, queueTimeoutSec: e.queueTimeoutSec },
        transferOpts: {
          placeNow: e.placeNow, allowBusy: e.allowBusy, agentIds: e.agentIds, endIfNoneOnline: e.endIfNoneOnline, tipIfNoAgent: e.tipIfNoAgent,
          queueDeadlineAt: e.queueTimeoutSec ? e.at + e.queueTimeoutSec * 1000 : undefined,
        },
        choosingGroup: undefined, task: undefined,
      });
    case 'TransferAnswered':
      return patchCur(s, e.sessionId, { pendingTransfer: undefined });
    case 'GroupsOffered':
      return patchCur(s, e.sessionId, { choosingGroup: { seq: e.seq, msgKey: e.msgKey, time: e.time, header: e.header, choices: e.choices, opts: e.opts } });
    case 'GroupChosen':
      return patchCur(s, e.sessionId, { choosingGroup: undefined });
    case 'ContactRequested':
      return patchCur(s, e.sessionId, { contact: true, groupId: e.groupId, choosingGroup: undefined, pendingContact: { replyTo: e.replyTo, newSession: e.newSession, memberId: e.memberId, asked: e.asked } });
    case 'ContactAnswered':
      return s.cur?.pendingContact ? patchCur(s, e.sessionId, { pendingContact: { ...s.cur.pendingContact, asked: false } }) : s;
    case 'ContactSettled':
      return patchCur(s, e.sessionId, { pendingContact: undefined, contact: e.ok });
    case 'AssignAsked':
      return patchCur(s, e.sessionId, { awaitingAssign: true });
    case 'AssignDecided':
      return patchCur(s, e.sessionId, e.denied
        ? { awaitingAssign: false, phase: Phase.Chatbot, pendingTransfer: undefined }
        : { awaitingAssign: false, groupId: e.groupId, priority: e.priority });
    case 'StreamChunk': {
      const streams = { ...(s.cur?.streams ?? {}) };
      if (e.finished) delete streams[e.msgKey];
      else streams[e.msgKey] = { seq: e.seq, time: e.time, chunks: [...(Object.hasOwn(streams, e.msgKey) ? streams[e.msgKey].chunks : []), e.chunk] };
      return patchCur(s, e.sessionId, { streams });
    }
    case 'SessionMarked': {
      const patch: Partial<CurrentSession> = {};
      if (e.mark !== undefined) patch.mark = e.mark;
      if (e.starred !== undefined) patch.starred = e.starred;
      if (e.userTimeoutOn !== undefined) patch.userTimeoutOn = e.userTimeoutOn;
      return patchCur(s, e.sessionId, patch);
    }
    case 'TransferringToHumanWait':
      return patchCur(s, e.sessionId, { phase: Phase.Queueing });
    case 'NoAgentOnline':
      return patchCur(s, e.sessionId, { phase: Phase.Chatbot, agentId: undefined, enqueuedAt: undefined, transferOpts: undefined });
    case 'Assigned':
      return patchCur(s, e.sessionId, { phase: e.manual ? Phase.Waiting : Phase.Agent, agentId: e.memberId, offerId: e.offerId, served: s.cur!.served || !e.manual });
    case 'TransferToHumanSuccess':
      return patchCur(s, e.sessionId, { phase: Phase.Agent, agentId: e.memberId, served: true });
    case 'MemberAccessTimeout':
      return patchCur(s, e.sessionId, {
        phase: Phase.Queueing, agentId: undefined, offerId: undefined,
        exclude: e.requeue ? [...(s.cur?.exclude ?? []), e.memberId] : s.cur?.exclude ?? [],
        enqueuedAt: s.cur?.enqueuedAt ?? e.at,
      });
    case 'ForwardRequested':
      return patchCur(s, e.sessionId, { pendingForward: { replyTo: e.replyTo, by: e.by, groupId: e.groupId } });
    case 'ForwardSettled':
      return patchCur(s, e.sessionId, { pendingForward: undefined });
    case 'AgentForward':
      return patchCur(s, e.sessionId, { agentId: e.to, offerId: e.offerId, groupId: e.groupId, pendingForward: undefined, suspended: false });
    case 'SuspendChanged':
      return patchCur(s, e.sessionId, { suspended: e.suspended });
    case 'Deadline':
      // The reply deadlines change with nearly every message: updated in place.
      if (s.cur) {
        if (e.at === undefined) delete s.cur.deadlines[e.key];
        else s.cur.deadlines[e.key] = e.at;
      }
      return s;
    case 'RatingSent': {
      const ratings = [...s.ratings.filter((r) => r.sessionId !== e.rating.sessionId).slice(-(RATINGS_KEPT - 1)), e.rating];
      return { ...(e.invited ? patchCur(s, e.rating.sessionId, { invitedRating: true }) : s), ratings };
    }
    case 'SatisfactionSelected':
      return { ...s, ratings: s.ratings.map((r) => (r.sessionId === e.sessionId ? { ...r, level: e.level } : r)) };
    case 'SessionEnded':
      return s.cur?.sessionId === e.sessionId ? { ...s, cur: undefined } : s;
    case 'UserPresence':
      return { ...s, userOffline: !e.online };
    case 'UserEntered':
      return s;
    case 'ChatGroupOpening':
      return { ...s, chatGroup: { group: e.group, open: false } };
    case 'ChatGroupOpened':
      return s.chatGroup ? { ...s, chatGroup: { ...s.chatGroup, open: true } } : s;
    case 'ChatGroupClosed':
      return { ...s, chatGroup: undefined };
    case 'LanguageSet':
      return { ...s, language: e.language };
    case 'TaskChanged':
      return patchCur(s, e.sessionId, e.buttons ? { task: e.task, buttons: [...(s.cur?.buttons ?? []).filter((b) => b !== e.buttons).slice(1 - BUTTONS_KEPT), e.buttons] } : { task: e.task });
    case 'QuestionWaiting':
      return patchCur(s, e.sessionId, { pendingQuestion: { seq: e.seq, text: e.text } });
    case 'QuestionTaken':
      return patchCur(s, e.sessionId, { pendingQuestion: undefined });
    case 'RobotAnswered':
    case 'TransferRefused':
    case 'MessageEdited':
      return s;
  }
}

type T = Turn<SessionState, SessionEvent>;

/** What a turn needs besides the state: the clock, ids, and this conversation's configuration. */
interface Env { ctx: Ctx; app: AppModel; account: CsAccount; conv: string }

const userOf = (s: SessionState): Recipient => ({ role: 'user', app: s.app, id: s.userId });
/** A frame for the conversation's user, or for every member of its group chat. */
function pushUsers(t: T, frame: ServerFrame, exceptConn?: number): void {
  const g = t.state.chatGroup;
  if (!g) t.do({ t: 'push', to: userOf(t.state), frame, exceptConn });
  else for (const id of g.group.members) t.do({ t: 'push', to: { role: 'user', app: t.state.app, id }, frame, exceptConn });
}
/** A group chat's frames name the group, so a member's client can tell its conversations apart. */
const groupField = (s: SessionState): { group?: string } => (s.chatGroup ? { group: s.chatGroup.group.id } : {});
const agentOf = (s: SessionState, memberId: string): Recipient => ({ role: 'agent', app: s.app, id: memberId });

/**
 * Tells the conversation's user and its session's agent the last seq it stored (`history.hint`): a client that saw
 * less catches up with `history.sync`. After a takeover, the pushes of the turns the lost node made last are gone.
 */
function historyHint(t: T): void {
  const s = t.state;
  if (s.seq === 0) return;
  const data = { sessionId: s.cur?.sessionId ?? '', account: s.csAccount, ...groupField(s), seq: s.seq };
  pushUsers(t, { type: 'history.hint', data });
  if (s.cur?.agentId) t.do({ t: 'push', to: agentOf(s, s.cur.agentId), frame: { type: 'history.hint', data } });
}

function summary(s: SessionState, extra: Partial<SessionSummary> = {}): SessionSummary {
  const c = s.cur!;
  const g = s.chatGroup?.group;
  return {
    sessionId: c.sessionId, userId: s.userId, csAccount: s.csAccount, groupId: c.groupId, startedAt: c.startedAt,
    ...(g ? { chatGroup: { groupId: g.id, name: g.name, members: g.members } } : {}), ...extra,
  };
}

/** Frame of a stored message; users see agent and robot messages as coming from the account. `group`: a group chat's id. */
export function messageFrame(m: StoredMessage, account: string, forUser: boolean, group?: string): { type: 'message'; data: unknown } {
  const from = forUser && m.fromRole !== FromRole.User ? account : m.from;
  return {
    type: 'message',
    data: {
      sessionId: m.sessionId, account, ...(group !== undefined ? { group } : {}), seq: m.seq, msgKey: m.msgKey, from, fromRole: m.fromRole, time: m.time,
      body: m.body, ...(m.cloudCustomData !== undefined ? { cloudCustomData: m.cloudCustomData } : {}),
    },
  };
}

/** Stores a message of the current session and returns it. */
function addMessage(t: T, env: Env, fromRole: 1 | 2 | 3, from: string, body: unknown[], random: number, cloudCustomData?: string): StoredMessage {
  const s = t.state;
  const seq = s.seq + 1;
  const time = env.ctx.now;
  const msgKey = `${seq}_${random}_${Math.floor(time / 1000)}`;
  const sessionId = s.cur!.sessionId;
  const message: StoredMessage = { sessionId, seq, msgKey, from, fromRole, time, random, body, cloudCustomData };
  t.emit({ type: 'MessageAdded', sessionId, seq, msgKey, fromRole, from, random, at: time });
  t.do({ t: 'message', conv: env.conv, message });
  return message;
}

/** Delivers a stored message to the user (except the socket it came from) and to the session's agent. */
function deliver(t: T, env: Env, m: StoredMessage, exceptConn?: number, toAgent = true): void {
  const group = t.state.chatGroup?.group.id;
  const forUsers = messageFrame(m, t.state.csAccount, true, group);
  pushUsers(t, forUsers, m.fromRole === FromRole.User ? exceptConn : undefined);
  const agentId = t.state.cur?.agentId;
  if (toAgent && agentId) {
    // A user's message reads the same to both sides: one frame, which the gateway then encodes once.
    const frame = m.fromRole === FromRole.User ? forUsers : messageFrame(m, t.state.csAccount, false, group);
    t.do({ t: 'push', to: agentOf(t.state, agentId), frame, exceptConn: m.fromRole === FromRole.Agent ? exceptConn : undefined });
  }
}

/** A system or robot message from the account (fromRole 3). */
function system(t: T, env: Env, body: TimMsgElement[]): StoredMessage {
  const m = addMessage(t, env, FromRole.System, t.state.csAccount, body, 0);
  deliver(t, env, m);
  return m;
}

function systemText(t: T, env: Env, s: string): void {
  if (s) system(t, env, [text(s)]);
}

/** A transient flag message (src 12, 23, 26): pushed to the user's sockets, not stored. */
function flag(t: T, body: TimMsgElement[]): void {
  const s = t.state;
  pushUsers(t, { type: 'message', data: { sessionId: s.cur?.sessionId ?? '', account: s.csAccount, ...groupField(s), seq: 0, msgKey: '', from: s.csAccount, fromRole: FromRole.System, time: 0, body, transient: true } });
}

/**
 * Sets or clears a deadline. Clearing leaves the wake-up armed (a wake-up with no deadline due does nothing), so the
 * per-message churn of the reply timers writes no timer rows; `end` cancels them for real.
 */
function setDeadline(t: T, key: TimerKey, at: number | undefined): void {
  const cur = t.state.cur;
  if (!cur || cur.deadlines[key] === at) return;
  t.emit({ type: 'Deadline', key, at });
  if (at !== undefined) t.do({ t: 'timer', key, at });
}

function ok(t: T, replyTo: ReplyTo | undefined, data?: unknown): void {
  if (replyTo) t.do({ t: 'reply', replyTo, ok: true, data });
}

function ratingRules(app: AppModel): number {
  const s = app.session.satisfaction;
  if (!s.enabled) return 0;
  let bits = RatingRuleBit.UserRequest;
  if (s.invitationMethod !== 2) bits |= RatingRuleBit.AutoSend;
  if (s.invitationMethod !== 1) bits |= RatingRuleBit.AgentInvite;
  return bits;
}

function begin(t: T, env: Env, welcome = true): void {
  const sessionId = env.ctx.sessionId?.(env.conv) ?? env.ctx.newId();
  t.emit({ type: 'SessionBegin', sessionId, at: env.ctx.now, groupId: env.account.agentGroupId });
  t.do({ t: 'activeSession', app: t.state.app, userId: t.state.userId, csAccount: t.state.csAccount, sessionId });
  if (welcome) {
    systemText(t, env, prompt(env.app, env.account, 'welcome'));
    // The welcome card when the robot first serves the user (not with the robot off or a self-built one).
    const card = robotServes(env) ? welcomeCard(robot(t, env).config) : undefined;
    if (card) system(t, env, card);
  }
  // Also with the robot off: a session that cannot reach a human stays in this phase and must end some time.
  robotIdle(t, env);
}

const robotServes = (env: Env): boolean => !env.account.chatbotDisabled && !env.app.callbacks?.thirdPartyBot;

interface RobotHere {
  robotId: string; language: string; config: RobotConfig;
  /** Its enabled task flows (production: sessions run what is published). */
  flows: TaskFlow[];
  rank(library: KnowledgeLibrary, text: string, limit: number): ReturnType<NonNullable<Ctx['rank']>>;
}

/** The account's robot (the default one if its robot is gone) in the conversation's language. */
function robot(t: T, env: Env): RobotHere {
  const language = knowledgeLanguage(env.app, t.state.language);
  const robotId = robotOf(env.app, env.account.robotId) ? env.account.robotId : DEFAULT_ROBOT_ID;
  // The whole list goes to the ranking, which keeps an index per list.
  const all = taskFlowsOf(env.app, robotId, 'production');
  return {
    robotId, language, flows: all.filter((f) => f.enabled),
    config: robotConfig(env.app, robotId, language),
    rank: (library, text, limit) => env.ctx.rank?.({ app: t.state.app, robotId, language, library, text, limit, ...(library === 'task' ? { tasks: all } : {}) }) ?? [],
  };
}

/**
 * A user's text in the robot phase (product.md §4.3; the order is GAP-3's): a running task flow takes a branch pick or
 * a form first; then a human is asked for; then a task flow whose intent matches at least as well as the best FAQ
 * starts; otherwise the robot answers and records why. A text the running flow does not take leaves it.
 */
function robotTurn(t: T, env: Env, question: StoredMessage): void {
  const input = plainText(question.body as TimMsgElement[]);
  const r = robot(t, env);
  // A question still waiting for its vector is answered first, by words (it may hand the user over).
  answerWaiting(t, env, r);
  if (t.state.cur?.phase !== Phase.Chatbot) return;
  if (taskTakes(t, env, r, question, input)) return;
  // A flow waiting for its API call's answer goes on when it comes (the call has been made); one waiting for the user
  // is left.
  if (!t.state.cur.task?.call) leaveTask(t, env);
  if (input.trim() && env.ctx.awaitsMeaning?.(t.state.app, input) && !matchesToHuman(env.app.session.toHumanKeywords, input)) {
    const cur = t.state.cur;
    t.emit({ type: 'QuestionWaiting', sessionId: cur.sessionId, seq: question.seq, text: input });
    t.do({ t: 'embed', app: t.state.app, sessionId: cur.sessionId, seq: question.seq, text: input, robotId: r.robotId, language: r.language });
    // A backstop: the answer is normally told long before (the embedder's own timeout).
    setDeadline(t, 'embedQuery', env.ctx.now + (env.app.embeddings?.timeoutMs ?? 0) + EMBED_GRACE_MS);
    return;
  }
  robotReplies(t, env, r, question.seq, input);
}

/** How long past the embedder's timeout a question waits for the word that its vector is there. */
const EMBED_GRACE_MS = 2000;

/** The waiting question (if any) is answered with what is known now. */
function answerWaiting(t: T, env: Env, r?: RobotHere): void {
  const cur = t.state.cur;
  const p = cur?.pendingQuestion;
  if (!p) return;
  t.emit({ type: 'QuestionTaken', sessionId: cur.sessionId });
  setDeadline(t, 'embedQuery', undefined);
  if (cur.phase === Phase.Chatbot) robotReplies(t, env, r ?? robot(t, env), p.seq, p.text);
}

/** The robot's reply to a question (after the running flow declined it). */
function robotReplies(t: T, env: Env, r: RobotHere, questionSeq: number, input: string): void {
  const response = respond(r.config, env.app.session.toHumanKeywords, (library, limit) => (input ? r.rank(library, input, limit) : []), input);
  if (response.strategy === 'toHuman') {
    requestHuman(t, env);
    return;
  }
  const flowId = input.trim() && r.flows.length > 0 ? startingFlow(r.config, response, r.rank('task', input, 2)) : undefined;
  const flow = flowId !== undefined ? r.flows.find((f) => String(f.id) === flowId) : undefined;
  if (flow) {
    leaveTask(t, env);
    runTask(t, env, r, flow.id, startFlow(flow, 'production', systemValues(t)));
    return;
  }
  if (env.app.llm && input.trim()) {
    modelAnswers(t, env, r, input);
    return;
  }
  robotAnswers(t, env, r, withDocuments(response, (limit) => (input ? r.rank('document', input, limit) : [])), questionSeq, input);
}

/** How long an API-call node waits for the app backend's answer before its flow takes the error way. */
export const TASK_CALL_WAIT_MS = 10_000;

const systemValues = (t: T): SystemValues => ({ SystemClientUserID: t.state.userId, SystemSessionID: t.state.cur!.sessionId, SystemCustomerServiceID: t.state.csAccount });

/** A fixed button's click names its flow and node (`cloudCustomData` {"BranchOptionInfo": {taskID, nodeID}}). */
function branchInfo(cloudCustomData: string | undefined): { taskID: number; nodeID: string } | undefined {
  if (!cloudCustomData?.includes('BranchOptionInfo')) return undefined;
  try {
    const info = (JSON.parse(cloudCustomData) as { BranchOptionInfo?: { taskID?: unknown; nodeID?: unknown } } | null)?.BranchOptionInfo;
    return typeof info?.taskID === 'number' && typeof info.nodeID === 'string' ? { taskID: info.taskID, nodeID: info.nodeID } : undefined;
  } catch {
    return undefined;
  }
}

/** The running flow's definition (published, enabled) and the node it waits at, when both still exist. */
function waitingAt(r: RobotHere, task: TaskRun): { flow: TaskFlow; node: TaskNode } | undefined {
  const flow = r.flows.find((f) => f.id === task.flowId);
  const node = flow && nodeOf(flow, task.node);
  return node && { flow: flow!, node };
}

/**
 * The running flow's answer to the user: the option of its waiting branch (or of a fixed button clicked earlier, which
 * resumes its flow there), or its waiting form submitted.
 */
function taskTakes(t: T, env: Env, r: RobotHere, question: StoredMessage, input: string): boolean {
  const task = t.state.cur!.task;
  const info = branchInfo(question.cloudCustomData);
  // A click names its branch; only a branch this session showed is taken (a client cannot jump into a flow).
  if (info && !(task?.flowId === info.taskID && task.node === info.nodeID) && t.state.cur!.buttons?.includes(`${info.taskID}:${info.nodeID}`)) {
    const flow = r.flows.find((f) => f.id === info.taskID);
    const node = flow && nodeOf(flow, info.nodeID);
    const option = node?.kind === 'branch' && node.optionType === 1 ? pickedOption(node, input) : undefined;
    if (!flow || !option) return false;
    const vars = task?.flowId === flow.id ? task.vars : {};
    leaveTask(t, env);
    runTask(t, env, r, flow.id, afterBranch(flow, { env: 'production', vars }, option, systemValues(t)));
    return true;
  }
  const at = task ? waitingAt(r, task) : undefined;
  if (!task || !at) return false;
  const { flow, node } = at;
  if (node.kind === 'branch') {
    const option = pickedOption(node, input);
    if (!option) return false;
    // Quick options are spent once picked; fixed buttons stay as they are.
    if (node.optionType === 0) rewriteWaiting(t, env, task, branchBody(flow, task.env, node, filler(task.vars, systemValues(t)), 2, option.content));
    runTask(t, env, r, flow.id, afterBranch(flow, task, option, systemValues(t)));
    return true;
  }
  if (node.kind === 'form') {
    const payload = deskPayload(question.body as TimMsgElement[]);
    const values = payload?.src === Src.TaskForm ? formValues(node, payload.content) : undefined;
    if (!values || typeof values === 'string') return false;
    rewriteWaiting(t, env, task, formBody(flow, task.env, node, 2, values));
    runTask(t, env, r, flow.id, afterForm(flow, task, node, values, systemValues(t)));
    return true;
  }
  return false;
}

/** What is wrong with a src 33 answering the form the running flow waits at; undefined when none waits (an integrator's own form). */
function formProblem(t: T, env: Env, payload: DeskCustomData): string | undefined {
  const cur = t.state.cur;
  if (!cur?.task || cur.phase !== Phase.Chatbot) return undefined;
  const node = waitingAt(robot(t, env), cur.task)?.node;
  if (node?.kind !== 'form') return undefined;
  // The submission's own taskInfo, when it has one (the docs' submission carries none), must name this form.
  const info = payload.taskInfo as { taskID?: unknown; nodeID?: unknown } | undefined;
  if (info && typeof info === 'object' && (info.taskID !== cur.task.flowId || info.nodeID !== node.id)) return 'that form is no longer waiting for an answer';
  const values = formValues(node, payload.content);
  return typeof values === 'string' ? values : undefined;
}

/** A running flow the user walked away from ends; its branch or form shows it can no longer be answered. */
function leaveTask(t: T, env: Env): void {
  const cur = t.state.cur!;
  const task = cur.task;
  if (!task) return;
  const at = waitingAt(robot(t, env), task);
  if (at?.node.kind === 'branch' && at.node.optionType === 0) rewriteWaiting(t, env, task, branchBody(at.flow, task.env, at.node, filler(task.vars, systemValues(t)), 1));
  if (at?.node.kind === 'form') rewriteWaiting(t, env, task, formBody(at.flow, task.env, at.node, 1));
  if (task.call) setDeadline(t, 'taskCall', undefined);
  t.emit({ type: 'TaskChanged', sessionId: cur.sessionId, at: env.ctx.now, flowId: task.flowId, ended: 'left' });
}

function rewriteWaiting(t: T, env: Env, task: NonNullable<CurrentSession['task']>, body: TimMsgElement[]): void {
  if (!task.msg) return;
  rewrite(t, env, { sessionId: t.state.cur!.sessionId, seq: task.msg.seq, msgKey: task.msg.msgKey, from: t.state.csAccount, fromRole: FromRole.System, time: task.msg.time, random: 0, body });
}

/**
 * Carries out a step of a flow: its messages, then where it waits (asking the app backend for an API call), or how
 * it ended: a transfer asks for a human, a flow that broke off (failed call, no condition held, a node gone) says
 * the robot's fallback message.
 */
function runTask(t: T, env: Env, r: RobotHere, flowId: number, step: TaskStep): void {
  const cur = t.state.cur!;
  for (const body of step.say) system(t, env, body);
  let task: CurrentSession['task'];
  if (step.run) {
    const m = step.ask && system(t, env, step.ask);
    task = { ...step.run, ...(m ? { msg: { seq: m.seq, msgKey: m.msgKey, time: m.time } } : {}) };
  }
  const buttons = step.buttons && step.run ? `${flowId}:${step.run.node}` : undefined;
  if (step.call && task) {
    task.call = env.ctx.newId();
    t.do({ t: 'ask', app: t.state.app, url: step.call.url, command: INTERFACE_INVOCATION, reply: 'taskCallAnswer', sessionId: cur.sessionId, tag: task.call, timeoutMs: TASK_CALL_WAIT_MS, body: {
      CallbackCommand: INTERFACE_INVOCATION, Body: step.call.body, EventTime: env.ctx.now,
    } });
    setDeadline(t, 'taskCall', env.ctx.now + TASK_CALL_WAIT_MS);
  }
  t.emit({ type: 'TaskChanged', sessionId: cur.sessionId, at: env.ctx.now, flowId, task, ...(step.ended ? { ended: step.ended } : {}), ...(buttons ? { buttons } : {}) });
  if (step.ended && step.ended !== 'end' && step.ended !== 'transfer' && step.ended !== 'left') systemText(t, env, r.config.fallbackMsg);
  if (step.transfer) {
    // A group deleted since the flow was written: the account's own group instead.
    const groupId = step.transfer.groupId !== undefined && groupOf(env.app, step.transfer.groupId) ? step.transfer.groupId : undefined;
    requestHuman(t, env, groupId === undefined ? {} : { groupId });
    return;
  }
  robotIdle(t, env);
}

/** The app backend answered an API-call node (or did not in time: `ok` false); a late answer to an earlier call is ignored. */
function taskCallAnswered(t: T, env: Env, a: { ok: boolean; answer?: { Body?: Record<string, unknown> }; tag?: string }): void {
  const task = t.state.cur?.task;
  if (!task?.call || task.call !== a.tag || t.state.cur!.phase !== Phase.Chatbot) return;
  setDeadline(t, 'taskCall', undefined);
  const r = robot(t, env);
  const flow = r.flows.find((f) => f.id === task.flowId);
  runTask(t, env, r, task.flowId, flow ? afterCall(flow, task, a.ok, a.answer?.Body, systemValues(t)) : { say: [], vars: task.vars, ended: 'missing' });
}

/** FAQs the model may answer from: those at least this close to the question. */
const LLM_PASSAGE_SCORE = 0.3;
const LLM_PASSAGES = 3;

/**
 * The 大模型 mode: an empty `src 31` message now, which the model's answer fills as it streams (src/robot/llm.ts).
 */
function modelAnswers(t: T, env: Env, r: RobotHere, input: string): void {
  robotIdle(t, env);
  const m = system(t, env, [custom({ src: Src.Stream, chunks: [], isFinished: 0 })]);
  t.emit({ type: 'StreamChunk', sessionId: m.sessionId, msgKey: m.msgKey, seq: m.seq, time: m.time, chunk: '', finished: false, at: env.ctx.now });
  const passages = [
    ...r.rank('faq', input, LLM_PASSAGES).filter((q) => q.score >= LLM_PASSAGE_SCORE).map((q) => `Q: ${q.question}\nA: ${q.answer}`),
    ...r.rank('document', input, LLM_PASSAGES).filter((q) => q.score >= LLM_PASSAGE_SCORE).map((q) => `${q.question}: ${q.answer}`),
  ];
  t.do({ t: 'llm', app: t.state.app, sessionId: m.sessionId, msgKey: m.msgKey, seq: m.seq, question: input, passages });
}

function robotAnswers(t: T, env: Env, r: RobotHere, reply: RobotReply, questionSeq: number, input: string): void {
  robotIdle(t, env);
  const m = system(t, env, replyBody(r.config, reply));
  t.emit({ type: 'RobotAnswered', sessionId: m.sessionId, seq: m.seq, questionSeq, at: env.ctx.now, source: replySource(reply) });
  if (reply.strategy === 'fallback' && input.trim()) {
    t.do({ t: 'unanswered', app: t.state.app, robotId: r.robotId, language: r.language, question: input, sessionId: m.sessionId });
  }
}

function robotIdle(t: T, env: Env): void {
  const sec = env.app.session.robotIdleTimeoutSec;
  setDeadline(t, 'robotIdle', sec > 0 ? env.ctx.now + sec * 1000 : undefined);
}

/** T3: the session asks for a human. */
interface TransferOptions {
  groupId?: number;
  priority?: number;
  agentIds?: string[];
  /** Send the transfer-failed prompt when nobody is online (always in chat; on request over REST). */
  tipIfNoAgent?: boolean;
  /** Check the account's working hours (always in chat; on request over REST). */
  checkHours?: boolean;
  /** Send the non-working-hours prompt when outside them. */
  promptOutsideHours?: boolean;
  /** Never wait in the queue: place it now or fail (DisableQueuing). */
  placeNow?: boolean;
  allowBusy?: boolean;
  /** End the session when nobody is online (EndSessionWhenNoMemberOnline). */
  endIfNoneOnline?: boolean;
  /** Leave the queue after this long (QueueTimeout). */
  queueTimeoutSec?: number;
  /** Send the transferring prompt (a group chat still opening stays silent until it exists). */
  announce?: boolean;
  replyTo?: ReplyTo;
}

function requestHuman(t: T, env: Env, opts: TransferOptions = {}): void {
  const cur = t.state.cur!;
  leaveTask(t, env);
  if ((opts.checkHours ?? true) && !withinWorkingHours(env.account.workTime, env.ctx.now, env.app.session)) {
    t.emit({ type: 'TransferRefused', sessionId: cur.sessionId, at: env.ctx.now, reason: 'outsideHours' });
    if (opts.promptOutsideHours ?? true) systemText(t, env, prompt(env.app, env.account, 'nonWorkingHours'));
    robotIdle(t, env);
    t.refuse(opts.replyTo, ErrorCode.NotTransferable, 'outside working hours');
    return;
  }
  // Strategy 1 (GAP-19): the user picks a group from a src 15 branch message, unless the caller named one (or it is a group chat).
  const choices = env.account.assignmentStrategy === 1 && opts.groupId === undefined && opts.agentIds === undefined && !t.state.chatGroup
    ? (env.account.displayGroupsChoices ?? []).flatMap((id) => { const g = groupOf(env.app, id); return g ? [{ id, name: g.name }] : []; })
    : [];
  if (choices.length > 0) {
    const { replyTo: _replyTo, groupId: _groupId, ...rest } = opts;
    offerGroups(t, env, choices, rest);
    ok(t, opts.replyTo, { AgentId: '', IsInQueue: 0 });
    return;
  }
  const groupId = opts.groupId ?? env.account.agentGroupId;
  const priority = opts.priority ?? DEFAULT_PRIORITY;
  setDeadline(t, 'robotIdle', undefined);
  t.emit({
    type: 'TransferringToHuman', sessionId: cur.sessionId, at: env.ctx.now, groupId, priority, replyTo: opts.replyTo, tipIfNoAgent: opts.tipIfNoAgent ?? true,
    endIfNoneOnline: opts.endIfNoneOnline, queueTimeoutSec: opts.queueTimeoutSec, placeNow: opts.placeNow, allowBusy: opts.allowBusy, agentIds: opts.agentIds,
  });
  if (opts.announce ?? true) systemText(t, env, prompt(env.app, env.account, 'transferring'));
  const url = env.account.assignmentStrategy === 2 ? env.account.assignedByWebhookURL : undefined;
  // Strategy 2 decides unless the REST call already named a group or agents.
  if (url && opts.groupId === undefined && opts.agentIds === undefined) {
    t.emit({ type: 'AssignAsked', sessionId: cur.sessionId, at: env.ctx.now });
    t.do({ t: 'ask', app: t.state.app, url, command: ASSIGN_HUMAN, reply: 'assignAnswer', sessionId: cur.sessionId, body: {
      CallbackCommand: ASSIGN_HUMAN, SessionId: cur.sessionId, ClientUserId: t.state.userId, CustomerServiceId: t.state.csAccount, EventTime: env.ctx.now,
    } });
    setDeadline(t, 'assignAnswer', env.ctx.now + ASSIGN_WAIT_MS);
    return;
  }
  enqueue(t, env, groupId, priority, opts.agentIds, { placeNow: opts.placeNow, allowBusy: opts.allowBusy });
}

const DEFAULT_CHOOSE_GROUP_PROMPT = '请选择您想咨询的客服分组';

/** The src 15 branch message listing the groups, with the chosen one once there is one. */
function groupBranch(header: string, choices: { name: string }[], selected?: string): TimMsgElement[] {
  const items = choices.map((c) => ({ content: c.name, desc: '' }));
  return [custom({ src: Src.Branch, content: { header, items, tail: '', ...(selected !== undefined ? { selected: { content: selected } } : {}) } })];
}

/** Offers the groups; the transfer's options wait with the offer and apply to the chosen group. */
function offerGroups(t: T, env: Env, choices: { id: number; name: string }[], opts: Omit<TransferOptions, 'replyTo' | 'groupId'>): void {
  const header = env.account.chooseSkillGroupPrompt || DEFAULT_CHOOSE_GROUP_PROMPT;
  const m = system(t, env, groupBranch(header, choices));
  t.emit({ type: 'GroupsOffered', sessionId: m.sessionId, seq: m.seq, msgKey: m.msgKey, time: m.time, header, choices, opts });
  robotIdle(t, env);
}

/** The user's text names an offered group (exactly, as src 15 requires): the branch message shows it, and off it goes. */
function chooseGroup(t: T, env: Env, input: string): boolean {
  const offer = t.state.cur!.choosingGroup!;
  const chosen = offer.choices.find((c) => c.name === input.trim());
  if (!chosen) return false;
  const body = groupBranch(offer.header, offer.choices, chosen.name);
  rewrite(t, env, { sessionId: t.state.cur!.sessionId, seq: offer.seq, msgKey: offer.msgKey, from: t.state.csAccount, fromRole: FromRole.System, time: offer.time, random: 0, body });
  t.emit({ type: 'GroupChosen', sessionId: t.state.cur!.sessionId, groupId: chosen.id });
  requestHuman(t, env, { ...offer.opts, groupId: chosen.id });
  return true;
}

/** How long the session waits for the business server before the default strategy decides (GAP-18). */
export const ASSIGN_WAIT_MS = 10_000;

function enqueue(t: T, env: Env, groupId: number, priority: number, agentIds?: string[], how: Pick<EnqueueRequest, 'placeNow' | 'allowBusy' | 'forwardFrom'> = {}): void {
  t.do({ t: 'send', to: queueAddress(t.state.app, groupId), msg: { type: 'enqueue', sessionId: t.state.cur!.sessionId, conv: env.conv, priority, enqueuedAt: env.ctx.now, agentIds, exclude: [], ...how } });
}

/**
 * The business server's answer (or its absence). A usable answer picks the group, the agents and the priority;
 * `AgentTransferDenied: 1` keeps the session with the robot (GAP-17: with the transfer-failed prompt); no answer,
 * a failure or an unknown group falls back to the default strategy (GAP-18).
 */
function assignDecided(t: T, env: Env, a: { ok: boolean; answer?: AssignAnswer }): void {
  const cur = t.state.cur!;
  setDeadline(t, 'assignAnswer', undefined);
  const answer = a.ok ? a.answer : undefined;
  const groupOk = answer?.AgentGroupId === undefined || !!groupOf(env.app, answer.AgentGroupId);
  const usable = !!answer && groupOk;
  const denied = usable && answer!.AgentTransferDenied === 1;
  const groupId = usable && answer!.AgentGroupId !== undefined ? answer!.AgentGroupId : env.account.agentGroupId;
  const priority = usable && answer!.Priority !== undefined ? answer!.Priority : cur.priority;
  const agentIds = usable && answer!.AgentIdList?.length ? answer!.AgentIdList : undefined;
  const replyTo = cur.pendingTransfer?.replyTo;
  t.emit({ type: 'AssignDecided', sessionId: cur.sessionId, groupId, priority, agentIds, denied, fallback: !usable });
  if (denied && opening(t.state)) { groupOpenFailed(t, env, ErrorCode.NotTransferable); return; }
  if (denied) {
    t.refuse(replyTo, ErrorCode.NotTransferable, 'the business server denied the transfer');
    systemText(t, env, prompt(env.app, env.account, 'transferFailed'));
    robotIdle(t, env);
    return;
  }
  enqueue(t, env, groupId, priority, agentIds, { placeNow: cur.transferOpts?.placeNow, allowBusy: cur.transferOpts?.allowBusy });
}

/**
 * T4 (and a transfer that may not wait, or waited too long): back to the robot with the transfer-failed prompt (unless
 * a REST call asked for no tip), or ended when the call asked for that and nobody was online.
 */
function transferFailed(t: T, env: Env, code: number): void {
  if (opening(t.state)) { groupOpenFailed(t, env, code); return; }
  const cur = t.state.cur!;
  const pending = cur.pendingTransfer;
  // SendTipIfNoAgentOnline is about nobody being online; a transfer that could not wait or waited too long is always told.
  const tip = code === ErrorCode.NoAgentOnline ? cur.transferOpts?.tipIfNoAgent ?? true : true;
  if (pending) {
    t.refuse(pending.replyTo, code);
    t.emit({ type: 'TransferAnswered', sessionId: cur.sessionId });
  }
  if (cur.phase === Phase.Queueing) t.do({ t: 'send', to: queueAddress(t.state.app, cur.groupId), msg: { type: 'cancel', sessionId: cur.sessionId } });
  t.emit({ type: 'NoAgentOnline', sessionId: cur.sessionId, at: env.ctx.now });
  setDeadline(t, 'queueOffline', undefined);
  setDeadline(t, 'queueTimeout', undefined);
  if (tip) systemText(t, env, prompt(env.app, env.account, 'transferFailed'));
  if (cur.transferOpts?.endIfNoneOnline && code === ErrorCode.NoAgentOnline) end(t, env, EndStatus.NoAgentsOnline, 'SessionEnd', 'admin');
  else robotIdle(t, env);
}

/** Answers a REST transfer_to_human (or create_group, whose group now exists) once the queue has placed the session. */
function answerTransfer(t: T, env: Env, data: { AgentId: string; IsInQueue: 0 | 1 }): void {
  const cur = t.state.cur!;
  if (!cur.pendingTransfer) return;
  ok(t, cur.pendingTransfer.replyTo, data);
  t.emit({ type: 'TransferAnswered', sessionId: cur.sessionId });
  const g = t.state.chatGroup;
  if (g && !g.open) {
    t.emit({ type: 'ChatGroupOpened', groupId: g.group.id, at: env.ctx.now });
    t.do({ t: 'chatGroup', app: t.state.app, groupId: g.group.id, csAccount: t.state.csAccount, group: g.group });
    systemText(t, env, prompt(env.app, env.account, 'transferring'));
  }
}

const opening = (s: SessionState): boolean => !!s.chatGroup && !s.chatGroup.open;

/**
 * create_group (product.md §2.7): the group exists only if its account reaches human service at once, queued or
 * placed; no robot serves it, and no working hours apply (the call fails when nobody is online, GAP-50).
 */
function openGroup(t: T, env: Env, msg: Extract<AdminMsg, { type: 'adminOpenGroup' }>): void {
  if (t.state.chatGroup || t.state.cur) { t.refuse(msg.replyTo, ErrorCode.ChatGroupIdUsed); return; }
  t.emit({ type: 'ChatGroupOpening', group: msg.group, at: env.ctx.now });
  begin(t, env, false);
  requestHuman(t, env, { checkHours: false, tipIfNoAgent: false, endIfNoneOnline: true, announce: false, replyTo: msg.replyTo });
}

/** A group whose opening transfer failed is not kept: the caller is told, and the session closes without a trace. */
function groupOpenFailed(t: T, env: Env, code: number): void {
  const cur = t.state.cur!;
  const g = t.state.chatGroup!;
  t.refuse(cur.pendingTransfer?.replyTo, code);
  for (const key of timerKeys) t.do({ t: 'cancelTimer', key });
  closeUntraced(t, env);
  t.emit({ type: 'ChatGroupClosed', groupId: g.group.id, at: env.ctx.now });
}

/** Ends a session opened only for a contact or a group chat that did not happen: no record, no callback, no message. */
function closeUntraced(t: T, env: Env): void {
  t.emit({ type: 'SessionEnded', sessionId: t.state.cur!.sessionId, endStatus: EndStatus.NoAgentsOnline, event: 'SessionEnd', closeBy: 'admin', at: env.ctx.now, untraced: true });
  t.do({ t: 'activeSession', app: t.state.app, userId: t.state.userId, csAccount: t.state.csAccount, sessionId: null });
}

/** destroy_group: a session still open ends with it (T20, SessionEnd), and the GroupId is free again. */
function destroyGroup(t: T, env: Env, msg: Extract<AdminMsg, { type: 'adminDestroyGroup' }>): void {
  const g = t.state.chatGroup;
  if (!g?.open || g.group.id !== msg.groupId) { t.refuse(msg.replyTo, ErrorCode.ChatGroupNotFound); return; }
  const cur = t.state.cur;
  if (cur) {
    const waiting = cur.phase === Phase.Transferring || cur.phase === Phase.Queueing;
    end(t, env, waiting ? EndStatus.UserAbandonedDuringQueueing : EndStatus.AgentEnded, 'SessionEnd', 'admin');
  }
  t.emit({ type: 'ChatGroupClosed', groupId: g.group.id, at: env.ctx.now });
  t.do({ t: 'chatGroup', app: t.state.app, groupId: g.group.id, csAccount: t.state.csAccount, group: null });
  ok(t, msg.replyTo, {});
}

function requeue(t: T, env: Env): void {
  const cur = t.state.cur!;
  const o = cur.transferOpts;
  t.do({ t: 'send', to: queueAddress(t.state.app, cur.groupId), msg: {
    type: 'enqueue', sessionId: cur.sessionId, conv: env.conv, priority: cur.priority, enqueuedAt: cur.enqueuedAt ?? env.ctx.now, exclude: cur.exclude,
    agentIds: o?.agentIds, placeNow: o?.placeNow, allowBusy: o?.allowBusy,
  } });
  // A QueueTimeout keeps counting from when the session first queued.
  if (o?.queueDeadlineAt !== undefined && cur.deadlines.queueTimeout === undefined) setDeadline(t, 'queueTimeout', Math.max(o.queueDeadlineAt, env.ctx.now));
}

/** T7/T9: the agent serves the session from now on. */
function connect(t: T, env: Env, memberId: string): void {
  const cur = t.state.cur!;
  setDeadline(t, 'accept', undefined);
  t.emit({ type: 'TransferToHumanSuccess', sessionId: cur.sessionId, memberId, at: env.ctx.now });
  const nickname = memberOf(env.app, memberId)?.nickname ?? memberId;
  systemText(t, env, prompt(env.app, env.account, 'transferSuccess').split('${StaffNickName}').join(nickname));
  flag(t, [seatStatus(true)]);
  t.do({ t: 'push', to: agentOf(t.state, memberId), frame: { type: 'session.assigned', data: summary(t.state) } });
}

function sendRating(t: T, env: Env, invited: boolean): void {
  const sat = env.app.session.satisfaction;
  const cur = t.state.cur!;
  const expireAt = env.ctx.now + sat.validityHours * 3600_000;
  const card: RatingCardContent = {
    head: sat.invitationText, tail: sat.submissionText,
    menu: sat.levels.map((content, i) => ({ id: String(101 + i), content })), type: sat.displayType,
    sessionId: cur.sessionId, effectiveHour: sat.validityHours, expireTime: Math.floor(expireAt / 1000),
  };
  const m = system(t, env, [ratingCard(card)]);
  t.emit({ type: 'RatingSent', invited, rating: { sessionId: cur.sessionId, seq: m.seq, msgKey: m.msgKey, time: m.time, expireAt, card, agentId: cur.agentId } });
}

/** The prompt each kind of end sends (T13 covers a user ending while queued too). */
const endPrompt: Partial<Record<EndEvent, 'activeEnd' | 'timeoutEnd'>> = {
  SessionAgentEnd: 'activeEnd',
  SessionUserEnd: 'activeEnd',
  SessionUserTimeoutEnd: 'timeoutEnd',
};

const rated = (s: SessionState, sessionId: string): boolean => s.ratings.some((r) => r.sessionId === sessionId && r.level !== undefined);

/** Ends the current session: frees the agent or the queue place, tells everyone, offers the rating card. */
function end(t: T, env: Env, endStatus: EndStatus, event: EndEvent, closeBy: CloseBy): void {
  const cur = t.state.cur!;
  const agentId = cur.agentId;
  for (const key of Object.keys(cur.deadlines) as TimerKey[]) setDeadline(t, key, undefined);
  for (const key of timerKeys) t.do({ t: 'cancelTimer', key });
  if (cur.phase === Phase.Transferring || cur.phase === Phase.Queueing) {
    t.do({ t: 'send', to: queueAddress(t.state.app, cur.groupId), msg: { type: 'cancel', sessionId: cur.sessionId } });
  }
  if (cur.pendingForward) t.refuse(cur.pendingForward.replyTo, ErrorCode.SessionNotFound, 'the session ended before the transfer completed');
  if (cur.pendingTransfer) t.refuse(cur.pendingTransfer.replyTo, ErrorCode.SessionNotFound, 'the session ended before it reached a human');
  if (cur.pendingContact) {
    t.refuse(cur.pendingContact.replyTo, ErrorCode.SessionNotFound, 'the session ended before the contact was made');
    t.do({ t: 'send', to: queueAddress(t.state.app, cur.groupId), msg: { type: 'cancel', sessionId: cur.sessionId } });
  }
  const p = endPrompt[event];
  if (p) systemText(t, env, prompt(env.app, env.account, p));
  const timedOut = endStatus === EndStatus.UserTimeout || endStatus === EndStatus.AgentTimeout;
  system(t, env, [custom({ src: timedOut ? Src.TimeoutEnd : Src.SessionEnd })]);
  if (cur.served) {
    flag(t, [seatStatus(false)]);
    const sat = env.app.session.satisfaction;
    const wanted = sat.invitationMethod === 1 || (sat.invitationMethod === 3 && !cur.invitedRating);
    if (sat.enabled && wanted && !rated(t.state, cur.sessionId)) sendRating(t, env, false);
  }
  if (agentId) {
    t.do({ t: 'send', to: agentAddress(t.state.app, agentId), msg: { type: 'release', sessionId: cur.sessionId, offerId: cur.offerId, reason: 'end' } });
    t.do({ t: 'push', to: agentOf(t.state, agentId), frame: { type: 'session.ended', data: summary(t.state, { endStatus, closeBy }) } });
  }
  const group = groupOf(env.app, cur.groupId);
  // A group chat that never opened leaves no service record.
  if (!opening(t.state)) t.do({ t: 'record', app: t.state.app, sessionId: cur.sessionId, startedAt: cur.startedAt, fields: {
    SessionId: cur.sessionId, AgentGroupId: String(cur.groupId), AgentGroupName: group?.name ?? '', AgentId: agentId ?? '',
    ChannelType: 'SDK', ClientUserId: t.state.userId, ClientUserNickName: '', CustomerServiceId: t.state.csAccount,
    Duration: Math.round((env.ctx.now - cur.startedAt) / 1000), EndStatus: endStatus,
    SatisfactionSelected: t.state.ratings.find((r) => r.sessionId === cur.sessionId)?.level ?? 0,
    Timestamp: Math.floor(cur.startedAt / 1000),
  } });
  t.emit({ type: 'SessionEnded', sessionId: cur.sessionId, endStatus, event, closeBy, at: env.ctx.now, agentId });
  t.do({ t: 'activeSession', app: t.state.app, userId: t.state.userId, csAccount: t.state.csAccount, sessionId: null });
  if (opening(t.state)) t.emit({ type: 'ChatGroupClosed', groupId: t.state.chatGroup!.group.id, at: env.ctx.now });
}

/** The acknowledgement of a send retried with a `random` already stored: the first one's, marked duplicate. */
function retriedAck(t: T, random: number, dup: RecentSend): unknown {
  return { random, msgKey: dup.msgKey, sessionId: dup.sessionId, seq: dup.seq, time: dup.time, account: t.state.csAccount, duplicate: true };
}

function ackData(t: T, random: number, m?: StoredMessage): unknown {
  return m ? { random, msgKey: m.msgKey, sessionId: m.sessionId, seq: m.seq, time: m.time, account: t.state.csAccount }
    : { random, msgKey: '', sessionId: t.state.cur?.sessionId ?? '', seq: 0, time: 0, account: t.state.csAccount, transient: true };
}

function userEnd(t: T, env: Env, replyTo: ReplyTo | undefined, random: number): void {
  const cur = t.state.cur;
  if (!cur || cur.phase === Phase.Chatbot) { t.refuse(replyTo, ErrorCode.WrongState, 'no human session to end'); return; }
  const queued = cur.phase === Phase.Transferring || cur.phase === Phase.Queueing;
  end(t, env, queued ? EndStatus.UserAbandonedDuringQueueing : EndStatus.UserEnded, 'SessionUserEnd', 'client');
  ok(t, replyTo, { ...(ackData(t, random) as object), sessionId: cur.sessionId });
}

function rate(t: T, env: Env, payload: Record<string, unknown>, replyTo: ReplyTo | undefined, random: number): void {
  const sel = payload.menuSelected as { id?: unknown; sessionId?: unknown } | undefined;
  const level = sel && typeof sel.id === 'string' ? Number(sel.id) - 100 : NaN;
  if (!sel || typeof sel.sessionId !== 'string' || !(level >= 1 && level <= 5 && Number.isInteger(level))) {
    t.refuse(replyTo, ErrorCode.BadParameter, 'src 10 needs menuSelected {id: "101".."105", sessionId}');
    return;
  }
  const r = t.state.ratings.find((x) => x.sessionId === sel.sessionId);
  if (!r) { t.refuse(replyTo, ErrorCode.SessionNotFound, 'no rating card for this session'); return; }
  if (r.level !== undefined) {
    // The same choice again is a retry (its answer lost): acknowledged again, not applied twice.
    if (r.level === level) ok(t, replyTo, { ...(ackData(t, random) as object), duplicate: true });
    else t.refuse(replyTo, ErrorCode.WrongState, 'already rated');
    return;
  }
  if (env.ctx.now > r.expireAt) { t.refuse(replyTo, ErrorCode.WrongState, 'rating card expired'); return; }
  const card: RatingCardContent = { ...r.card, selected: r.card.menu[level - 1] };
  rewrite(t, env, { sessionId: r.sessionId, seq: r.seq, msgKey: r.msgKey, from: t.state.csAccount, fromRole: FromRole.System, time: r.time, random: 0, body: [ratingCard(card)] }, r.agentId);
  t.emit({ type: 'SatisfactionSelected', sessionId: r.sessionId, level, at: env.ctx.now });
  // A rating usually comes after the end: it completes the record already written.
  if (t.state.cur?.sessionId !== r.sessionId) t.do({ t: 'record', app: t.state.app, sessionId: r.sessionId, fields: { SatisfactionSelected: level } });
  ok(t, replyTo, ackData(t, random));
}

/**
 * A group chat takes messages from its members while its account serves it: not before it exists, not after the
 * agent ended the session (the account left the group, T20).
 */
function groupMayTake(t: T, msg: Extract<SessionMsg, { type: 'userSend' }>, payload: DeskCustomData | undefined): boolean {
  const g = t.state.chatGroup!;
  if (!g.open || msg.from === undefined || !g.group.members.includes(msg.from)) { t.refuse(msg.replyTo, ErrorCode.NotGroupMember); return false; }
  if (!t.state.cur) { t.refuse(msg.replyTo, ErrorCode.WrongState, 'the customer-service account has left this group'); return false; }
  if (payload?.src === Src.UserEnd) { t.refuse(msg.replyTo, ErrorCode.WrongState, 'a group chat ends when its agent ends it or the group is dismissed'); return false; }
  return true;
}

function userSend(t: T, env: Env, msg: Extract<SessionMsg, { type: 'userSend' }>): void {
  const payload = deskPayload(msg.body);
  if (t.state.chatGroup && !groupMayTake(t, msg, payload)) return;
  const from = msg.from ?? t.state.userId;
  const dup = t.state.recent.find((r) => r.random === msg.random && msg.random !== 0 && (r.from ?? t.state.userId) === from);
  if (dup) {
    ok(t, msg.replyTo, retriedAck(t, msg.random, dup));
    return;
  }
  switch (payload?.src) {
    case Src.StartFlow: {
      const language = typeof payload.language === 'string' ? payload.language.slice(0, 16) : undefined;
      if (language !== undefined && language !== t.state.language) t.emit({ type: 'LanguageSet', language });
      if (!t.state.cur) begin(t, env);
      if (env.app.callbacks?.thirdPartyBot && !t.state.chatGroup) t.emit({ type: 'UserEntered', sessionId: t.state.cur!.sessionId, at: env.ctx.now, body: msg.body });
      flag(t, [custom({ src: Src.RatingRules, content: { menuSendRuleFlag: ratingRules(env.app) } })]);
      flag(t, [seatStatus(t.state.cur!.phase === Phase.Agent)]);
      if (env.account.chatbotDisabled && t.state.cur!.phase === Phase.Chatbot && !t.state.cur!.pendingContact) requestHuman(t, env);
      ok(t, msg.replyTo, ackData(t, msg.random));
      return;
    }
    case Src.UserEnd:
      userEnd(t, env, msg.replyTo, msg.random);
      return;
    case Src.TaskForm: {
      const problem = formProblem(t, env, payload);
      if (problem) { t.refuse(msg.replyTo, ErrorCode.BadParameter, problem); return; }
      break;
    }
    case Src.RatingChoice:
      rate(t, env, payload, msg.replyTo, msg.random);
      return;
    case Src.RequestRating: {
      const cur = t.state.cur;
      if (!cur || cur.phase !== Phase.Agent || !env.app.session.satisfaction.enabled) { t.refuse(msg.replyTo, ErrorCode.WrongState, 'rating is available in human service only'); return; }
      if (rated(t.state, cur.sessionId)) { t.refuse(msg.replyTo, ErrorCode.WrongState, 'already rated'); return; }
      sendRating(t, env, false);
      ok(t, msg.replyTo, ackData(t, msg.random));
      return;
    }
  }
  if (!t.state.cur) begin(t, env);
  const m = addMessage(t, env, FromRole.User, from, msg.body, msg.random, msg.cloudCustomData);
  const cur = t.state.cur!;
  deliver(t, env, m, msg.conn, cur.phase === Phase.Agent || cur.phase === Phase.Waiting);
  ok(t, msg.replyTo, ackData(t, msg.random, m));
  switch (cur.phase) {
    case Phase.Chatbot:
      if (cur.pendingContact) break; // an agent is being found for this user already
      if (cur.choosingGroup && chooseGroup(t, env, plainText(msg.body))) break;
      if (env.account.chatbotDisabled) requestHuman(t, env);
      // Self-built AI: the backend answers (send_msg) and decides the handover (transfer_to_human).
      else if (env.app.callbacks?.thirdPartyBot) robotIdle(t, env);
      else robotTurn(t, env, m);
      break;
    case Phase.Agent: {
      setDeadline(t, 'userReply', undefined);
      const sec = env.app.session.agentReplyTimeoutSec;
      if (sec > 0 && !cur.suspended && cur.deadlines.agentReply === undefined) setDeadline(t, 'agentReply', env.ctx.now + sec * 1000);
      break;
    }
  }
}

function agentSend(t: T, env: Env, msg: Extract<SessionMsg, { type: 'agentSend' }>): void {
  // A retry is acknowledged as the first send was, even once the session has ended since (its answer was lost).
  const dup = msg.random !== 0 && (t.state.recentAgent ?? []).find((r) => r.random === msg.random && r.from === msg.memberId && r.sessionId === msg.sessionId);
  if (dup) {
    ok(t, msg.replyTo, retriedAck(t, msg.random, dup));
    return;
  }
  const cur = t.state.cur;
  if (!cur || cur.sessionId !== msg.sessionId || cur.agentId !== msg.memberId) { t.refuse(msg.replyTo, ErrorCode.SessionNotFound); return; }
  if (cur.phase !== Phase.Agent) { t.refuse(msg.replyTo, ErrorCode.WrongState, 'accept the session first'); return; }
  const m = addMessage(t, env, FromRole.Agent, msg.memberId, msg.body, msg.random, msg.cloudCustomData);
  deliver(t, env, m, msg.conn);
  ok(t, msg.replyTo, ackData(t, msg.random, m));
  setDeadline(t, 'agentReply', undefined);
  const sec = env.account.userTimeoutSec;
  if (sec > 0 && cur.userTimeoutOn && !cur.suspended) setDeadline(t, 'userReply', env.ctx.now + sec * 1000);
}

function agentAction(t: T, env: Env, msg: Extract<SessionMsg, { type: 'agentAction' }>): void {
  const cur = t.state.cur;
  if (!cur || cur.sessionId !== msg.sessionId || cur.agentId !== msg.memberId) { t.refuse(msg.replyTo, ErrorCode.SessionNotFound); return; }
  const inService = cur.phase === Phase.Agent;
  switch (msg.action) {
    case 'accept':
      if (cur.phase !== Phase.Waiting) { t.refuse(msg.replyTo, ErrorCode.WrongState, 'nothing to accept'); return; }
      connect(t, env, msg.memberId);
      break;
    case 'end':
      if (!inService) { t.refuse(msg.replyTo, ErrorCode.WrongState); return; }
      end(t, env, EndStatus.AgentEnded, 'SessionAgentEnd', 'seat');
      break;
    case 'invite_rating': {
      const sat = env.app.session.satisfaction;
      if (!inService || !sat.enabled || sat.invitationMethod === 1) { t.refuse(msg.replyTo, ErrorCode.WrongState, 'rating invitation is off or session not in service'); return; }
      if (rated(t.state, cur.sessionId)) { t.refuse(msg.replyTo, ErrorCode.WrongState, 'already rated'); return; }
      sendRating(t, env, true);
      break;
    }
    case 'typing':
      if (!inService) { t.refuse(msg.replyTo, ErrorCode.WrongState); return; }
      flag(t, [custom({ src: Src.AgentTyping })]);
      break;
    case 'suspend':
      if (!inService || cur.suspended) { t.refuse(msg.replyTo, ErrorCode.WrongState); return; }
      t.emit({ type: 'SuspendChanged', sessionId: cur.sessionId, suspended: true, at: env.ctx.now });
      setDeadline(t, 'userReply', undefined);
      setDeadline(t, 'agentReply', undefined);
      t.do({ t: 'send', to: agentAddress(t.state.app, msg.memberId), msg: { type: 'suspend', sessionId: cur.sessionId } });
      break;
    case 'unsuspend':
      if (!inService || !cur.suspended) { t.refuse(msg.replyTo, ErrorCode.WrongState); return; }
      // The agent decides (it owns the capacity) and answers the requester itself.
      t.do({ t: 'send', to: agentAddress(t.state.app, msg.memberId), msg: { type: 'unsuspend', sessionId: cur.sessionId, replyTo: msg.replyTo } });
      return;
    case 'transfer': {
      if (!inService) { t.refuse(msg.replyTo, ErrorCode.WrongState, 'session cannot be transferred in its current state'); return; }
      if (cur.pendingForward) { t.refuse(msg.replyTo, ErrorCode.WrongState, 'a transfer is already under way'); return; }
      if (msg.targetMemberId === msg.memberId) { t.refuse(msg.replyTo, ErrorCode.TransferToSelf); return; }
      const groupId = msg.groupId ?? env.account.agentGroupId;
      if (!groupOf(env.app, groupId)) { t.refuse(msg.replyTo, ErrorCode.GroupIllegal); return; }
      if (msg.targetMemberId !== undefined && !memberOf(env.app, msg.targetMemberId)) { t.refuse(msg.replyTo, ErrorCode.AgentOffline, 'no such member'); return; }
      t.emit({ type: 'ForwardRequested', sessionId: cur.sessionId, by: msg.memberId, replyTo: msg.replyTo, groupId, memberId: msg.targetMemberId });
      enqueue(t, env, groupId, 0, msg.targetMemberId ? [msg.targetMemberId] : undefined, { forwardFrom: msg.memberId, placeNow: true });
      return; // answered when the queue has placed it or failed
    }
  }
  ok(t, msg.replyTo, { sessionId: cur.sessionId });
}

/** The app admin's REST actions on the current session. */
function admin(t: T, env: Env, msg: AdminMsg): void {
  const cur = t.state.cur;
  switch (msg.type) {
    case 'adminSend': adminSend(t, env, msg); return;
    case 'adminEdit': adminEdit(t, env, msg); return;
    case 'adminStream': adminStream(t, env, msg); return;
    case 'adminContact': contactUser(t, env, msg); return;
    case 'adminOpenGroup': openGroup(t, env, msg); return;
    case 'adminDestroyGroup': destroyGroup(t, env, msg); return;
  }
  if (!cur || cur.sessionId !== msg.sessionId) { t.refuse(msg.replyTo, ErrorCode.SessionNotFound); return; }
  const onBehalf = (action: 'transfer' | 'suspend' | 'unsuspend', extra: { groupId?: number; targetMemberId?: string } = {}): void => {
    if (cur.phase !== Phase.Agent || !cur.agentId) { t.refuse(msg.replyTo, ErrorCode.WrongState, 'the session is not in human service'); return; }
    agentAction(t, env, { type: 'agentAction', action, memberId: cur.agentId, sessionId: cur.sessionId, replyTo: msg.replyTo, ...extra });
  };
  switch (msg.type) {
    case 'adminTransferToHuman':
      if (cur.phase !== Phase.Chatbot || cur.pendingContact) { t.refuse(msg.replyTo, ErrorCode.NotTransferable, 'the session is already with human service'); return; }
      if (msg.groupId !== undefined && !groupOf(env.app, msg.groupId)) { t.refuse(msg.replyTo, ErrorCode.BadParameter, `no group ${msg.groupId}`); return; }
      requestHuman(t, env, {
        groupId: msg.groupId, agentIds: msg.agentIds?.length ? msg.agentIds : undefined, tipIfNoAgent: msg.tipIfNoAgent,
        checkHours: msg.checkHours, promptOutsideHours: msg.promptOutsideHours, priority: msg.priority, placeNow: msg.disableQueuing,
        allowBusy: msg.allowBusy, endIfNoneOnline: msg.endIfNoneOnline, queueTimeoutSec: msg.queueTimeoutSec, replyTo: msg.replyTo,
      });
      return;
    case 'adminTransfer':
      onBehalf('transfer', { groupId: msg.groupId, targetMemberId: msg.memberId });
      return;
    case 'adminSuspend':
      onBehalf('suspend');
      return;
    case 'adminUnsuspend':
      onBehalf('unsuspend');
      return;
    case 'adminEnd':
      // A robot-only session ends as a robot reception; any other as ended by the service side (closeBy admin).
      if (cur.phase === Phase.Chatbot) end(t, env, EndStatus.ChatbotReception, 'SessionEnd', 'admin');
      else end(t, env, EndStatus.AgentEnded, 'SessionAgentEnd', 'admin');
      ok(t, msg.replyTo, { sessionId: msg.sessionId });
      return;
    case 'adminMark':
      t.emit({
        type: 'SessionMarked', sessionId: cur.sessionId, mark: msg.mark,
        starred: msg.star === undefined ? undefined : msg.star === 1,
        userTimeoutOn: msg.userTimeoutSwitch === undefined ? undefined : msg.userTimeoutSwitch === 1,
      });
      if (msg.userTimeoutSwitch === 0) setDeadline(t, 'userReply', undefined);
      ok(t, msg.replyTo, { sessionId: msg.sessionId });
      return;
  }
}

/**
 * T19, contact_user: an agent starts a human session with the user. GAP-47: allowed from the robot phase (the robot
 * session becomes the human one), refused when a human already serves or is being sought (141016); no welcome; the
 * agent is connected at once (manual reception does not apply to a session the agent asked for).
 */
function contactUser(t: T, env: Env, msg: Extract<AdminMsg, { type: 'adminContact' }>): void {
  const cur = t.state.cur;
  if (cur && (cur.phase !== Phase.Chatbot || cur.pendingContact || cur.awaitingAssign)) { t.refuse(msg.replyTo, ErrorCode.UserInHumanSession); return; }
  const groupId = msg.groupId ?? env.account.agentGroupId;
  if (!groupOf(env.app, groupId)) { t.refuse(msg.replyTo, ErrorCode.ContactGroupIllegal); return; }
  if (msg.memberId !== undefined && !memberOf(env.app, msg.memberId)) { t.refuse(msg.replyTo, ErrorCode.AgentOffline, 'no such member'); return; }
  const newSession = !cur;
  if (newSession) begin(t, env, false);
  const sessionId = t.state.cur!.sessionId;
  setDeadline(t, 'robotIdle', undefined);
  const url = env.account.contactCallback ? env.app.callbacks?.url : undefined;
  t.emit({ type: 'ContactRequested', sessionId, at: env.ctx.now, groupId, replyTo: msg.replyTo, newSession, memberId: msg.memberId, asked: !!url });
  if (url) {
    // The backend may refuse the contact first (rest-api-extensions.md §8.2).
    t.do({ t: 'ask', app: t.state.app, url, command: BEFORE_CONTACT_USER, reply: 'contactAnswer', sessionId, body: {
      CallbackCommand: BEFORE_CONTACT_USER, ClientUserId: t.state.userId, ChannelId: t.state.csAccount, ChannelType: 'SDK',
      GroupId: groupId, MemberId: msg.memberId ?? '', EventTime: env.ctx.now,
    } });
    setDeadline(t, 'contactAnswer', env.ctx.now + ASSIGN_WAIT_MS);
    return;
  }
  placeContact(t, env);
}

function placeContact(t: T, env: Env): void {
  const cur = t.state.cur!;
  const memberId = cur.pendingContact?.memberId;
  enqueue(t, env, cur.groupId, 0, memberId ? [memberId] : undefined, { placeNow: true });
}

/** The backend's word on a contact: a zero ErrorCode lets it go ahead; no answer follows the account's strategy. */
function contactAnswered(t: T, env: Env, a: { ok: boolean; answer?: { ErrorCode: number } }): void {
  setDeadline(t, 'contactAnswer', undefined);
  t.emit({ type: 'ContactAnswered', sessionId: t.state.cur!.sessionId });
  const allowed = a.ok ? a.answer!.ErrorCode === 0 : !env.account.contactCallbackTimeoutRefuses;
  if (allowed) placeContact(t, env);
  else contactFailed(t, env, ErrorCode.ContactRefused);
}

/** The contact could not be placed: the caller is told; a session opened only for it closes without a trace to the user. */
function contactFailed(t: T, env: Env, code: number): void {
  const cur = t.state.cur!;
  const pending = cur.pendingContact!;
  t.refuse(pending.replyTo, code === ErrorCode.AllAgentsBusy ? ErrorCode.AssignFailed : code);
  t.emit({ type: 'ContactSettled', sessionId: cur.sessionId, ok: false, newSession: pending.newSession, at: env.ctx.now });
  if (pending.newSession) closeUntraced(t, env);
  else robotIdle(t, env);
}

/** Rewrites a stored message and tells the user and the serving agent (`message.edit`). */
function rewrite(t: T, env: Env, m: StoredMessage, agentId = t.state.cur?.sessionId === m.sessionId ? t.state.cur.agentId : undefined): void {
  t.do({ t: 'message', conv: env.conv, message: m });
  const edit = { type: 'message.edit', data: { sessionId: m.sessionId, account: t.state.csAccount, ...groupField(t.state), seq: m.seq, msgKey: m.msgKey, body: m.body, ...(m.cloudCustomData !== undefined ? { cloudCustomData: m.cloudCustomData } : {}) } };
  pushUsers(t, edit);
  if (agentId) t.do({ t: 'push', to: agentOf(t.state, agentId), frame: edit });
}

/** modify_msg: messages of the service side (agent, robot, system) may be edited, not the user's own. */
function adminEdit(t: T, env: Env, msg: Extract<AdminMsg, { type: 'adminEdit' }>): void {
  const m = msg.message;
  if (m.sessionId !== msg.sessionId) { t.refuse(msg.replyTo, ErrorCode.BadParameter, 'MsgKey is not a message of this session'); return; }
  if (m.fromRole === FromRole.User) { t.refuse(msg.replyTo, ErrorCode.BadParameter, "a user's message cannot be edited"); return; }
  rewrite(t, env, { ...m, body: msg.body, cloudCustomData: msg.cloudCustomData ?? m.cloudCustomData });
  t.emit({ type: 'MessageEdited', sessionId: m.sessionId, seq: m.seq, msgKey: m.msgKey, at: env.ctx.now });
  ok(t, msg.replyTo, { msgKey: m.msgKey });
}

/** send_stream_msg: a src 31 message whose chunks grow until `finish` (GAP: rendered as the documented src 31). */
function adminStream(t: T, env: Env, msg: Extract<AdminMsg, { type: 'adminStream' }>): void {
  const cur = t.state.cur;
  if (!cur || cur.sessionId !== msg.sessionId) { t.refuse(msg.replyTo, ErrorCode.SessionNotFound); return; }
  const body = (chunks: string[], finished: boolean) => [custom({ src: Src.Stream, chunks, isFinished: finished ? 1 : 0 })];
  if (Buffer.byteLength(msg.chunk) > MAX_BODY_BYTES) { t.refuse(msg.replyTo, ErrorCode.BodyTooLong, 'Chunk exceeds 12 KB'); return; }
  if (msg.msgKey === undefined) {
    const m = addMessage(t, env, FromRole.System, t.state.csAccount, body([msg.chunk], msg.finish), 0);
    deliver(t, env, m);
    if (!msg.finish) t.emit({ type: 'StreamChunk', sessionId: cur.sessionId, msgKey: m.msgKey, seq: m.seq, time: m.time, chunk: msg.chunk, finished: false, at: env.ctx.now });
    ok(t, msg.replyTo, { msgKey: m.msgKey });
    return;
  }
  const stream = cur.streams && Object.hasOwn(cur.streams, msg.msgKey) ? cur.streams[msg.msgKey] : undefined;
  if (!stream) { t.refuse(msg.replyTo, ErrorCode.BadParameter, 'MsgKey names no unfinished streaming message of this session'); return; }
  if (msg.robotOnly && cur.phase !== Phase.Chatbot) { t.refuse(msg.replyTo, ErrorCode.WrongState, 'the session has left the robot'); return; }
  const chunks = [...stream.chunks, msg.chunk];
  if (chunks.reduce((n, c) => n + Buffer.byteLength(c), 0) > MAX_BODY_BYTES) { t.refuse(msg.replyTo, ErrorCode.BodyTooLong, 'the streaming message would exceed 12 KB'); return; }
  t.emit({ type: 'StreamChunk', sessionId: cur.sessionId, msgKey: msg.msgKey, seq: stream.seq, time: stream.time, chunk: msg.chunk, finished: msg.finish, at: env.ctx.now });
  rewrite(t, env, { sessionId: cur.sessionId, seq: stream.seq, msgKey: msg.msgKey, from: t.state.csAccount, fromRole: FromRole.System, time: stream.time, random: 0, body: body(chunks, msg.finish) });
  ok(t, msg.replyTo, { msgKey: msg.msgKey });
}

/** send_msg: a message from the account into the session, seen by the user and the serving agent. */
function adminSend(t: T, env: Env, msg: Extract<AdminMsg, { type: 'adminSend' }>): void {
  const cur = t.state.cur;
  if (!cur || (msg.sessionId !== undefined && cur.sessionId !== msg.sessionId)) { t.refuse(msg.replyTo, ErrorCode.SessionNotFound); return; }
  const dup = msg.random !== 0 && (t.state.recentAdmin ?? []).find((r) => r.random === msg.random && r.sessionId === cur.sessionId && env.ctx.now - r.time < ADMIN_RETRY_WINDOW_MS);
  if (dup) { ok(t, msg.replyTo, { sessionId: dup.sessionId, msgKey: dup.msgKey, seq: dup.seq, duplicate: true }); return; }
  const m = addMessage(t, env, FromRole.System, t.state.csAccount, msg.body, msg.random, msg.cloudCustomData);
  deliver(t, env, m);
  const sec = env.account.userTimeoutSec;
  if (cur.phase === Phase.Agent && !msg.excludeFromUserTimeout && sec > 0 && cur.userTimeoutOn && !cur.suspended) {
    setDeadline(t, 'userReply', env.ctx.now + sec * 1000);
  }
  ok(t, msg.replyTo, { sessionId: m.sessionId, msgKey: m.msgKey, seq: m.seq });
}

function assigned(t: T, env: Env, msg: Extract<SessionMsg, { type: 'assigned' }>): void {
  const cur = t.state.cur;
  const release = () => t.do({ t: 'send', to: agentAddress(t.state.app, msg.memberId), msg: { type: 'release', sessionId: msg.sessionId, offerId: msg.offerId, reason: 'stale' } });
  if (!cur || cur.sessionId !== msg.sessionId) { release(); return; }
  const manual = env.app.session.receptionMode === ReceptionMode.Manual;
  if (cur.pendingContact && msg.forwardFrom === undefined) {
    if (cur.pendingContact.asked) { release(); return; } // not placed yet: this answers something earlier
    const replyTo = cur.pendingContact.replyTo;
    t.emit({ type: 'ContactSettled', sessionId: cur.sessionId, ok: true, newSession: cur.pendingContact.newSession, at: env.ctx.now });
    t.emit({ type: 'Assigned', sessionId: cur.sessionId, memberId: msg.memberId, offerId: msg.offerId, at: env.ctx.now, manual: false, why: msg.why });
    connect(t, env, msg.memberId);
    ok(t, replyTo, { MemberId: msg.memberId });
    return;
  }
  if (msg.forwardFrom !== undefined) {
    if (cur.phase !== Phase.Agent || cur.agentId !== msg.forwardFrom) { release(); return; }
    const replyTo = cur.pendingForward?.replyTo;
    const groupId = cur.pendingForward?.groupId ?? cur.groupId;
    t.do({ t: 'send', to: agentAddress(t.state.app, msg.forwardFrom), msg: { type: 'release', sessionId: cur.sessionId, offerId: cur.offerId, reason: 'forward' } });
    t.do({ t: 'push', to: agentOf(t.state, msg.forwardFrom), frame: { type: 'session.transferred', data: { ...summary(t.state), to: msg.memberId, reason: 'forward' } } });
    t.emit({ type: 'AgentForward', sessionId: cur.sessionId, from: msg.forwardFrom, to: msg.memberId, offerId: msg.offerId, at: env.ctx.now, groupId });
    ok(t, replyTo, { sessionId: cur.sessionId, memberId: msg.memberId });
  } else if (cur.phase !== Phase.Transferring && cur.phase !== Phase.Queueing) {
    release();
    return;
  } else {
    answerTransfer(t, env, { AgentId: msg.memberId, IsInQueue: 0 });
  }
  if (manual) {
    const sec = env.app.session.acceptTimeoutSec;
    const deadline = sec > 0 ? env.ctx.now + sec * 1000 : undefined;
    t.emit({ type: 'Assigned', sessionId: cur.sessionId, memberId: msg.memberId, offerId: msg.offerId, at: env.ctx.now, manual: true, why: msg.why });
    setDeadline(t, 'accept', deadline);
    t.do({ t: 'push', to: agentOf(t.state, msg.memberId), frame: { type: 'session.offer', data: summary(t.state, { acceptDeadline: deadline, forwardFrom: msg.forwardFrom }) } });
  } else {
    t.emit({ type: 'Assigned', sessionId: cur.sessionId, memberId: msg.memberId, offerId: msg.offerId, at: env.ctx.now, manual: false, why: msg.why });
    connect(t, env, msg.memberId);
  }
}

/** T10 and revoked offers: the offered member loses the session, which goes back to the queue. */
function lapse(t: T, env: Env, memberId: string, timedOut: boolean): void {
  const cur = t.state.cur!;
  setDeadline(t, 'accept', undefined);
  t.do({ t: 'send', to: agentAddress(t.state.app, memberId), msg: { type: 'release', sessionId: cur.sessionId, offerId: cur.offerId, reason: timedOut ? 'acceptTimeout' : 'stale' } });
  t.emit({ type: 'MemberAccessTimeout', sessionId: cur.sessionId, memberId, at: env.ctx.now, requeue: timedOut });
  t.do({ t: 'push', to: agentOf(t.state, memberId), frame: { type: 'session.transferred', data: { ...summary(t.state), reason: timedOut ? 'acceptTimeout' : 'offline' } } });
  requeue(t, env);
  if (t.state.userOffline) queueOffline(t, env);
}

/** T17: a queued user without a socket has the grace period to come back. */
function queueOffline(t: T, env: Env): void {
  setDeadline(t, 'queueOffline', env.ctx.now + env.app.session.queueOfflineGraceSec * 1000);
}

function timer(t: T, env: Env, key: TimerKey): void {
  const cur = t.state.cur;
  const at = cur?.deadlines[key];
  if (!cur || at === undefined) return;
  if (env.ctx.now < at) {
    t.do({ t: 'timer', key, at }); // woken for an earlier deadline since moved: sleep until this one
    return;
  }
  t.emit({ type: 'Deadline', key, at: undefined });
  switch (key) {
    case 'userReply':
      if (cur.phase === Phase.Agent && !cur.suspended) end(t, env, EndStatus.UserTimeout, 'SessionUserTimeoutEnd', 'timer');
      break;
    case 'agentReply':
      if (cur.phase === Phase.Agent && !cur.suspended) end(t, env, EndStatus.AgentTimeout, 'SessionAgentTimeoutEnd', 'timer');
      break;
    case 'accept':
      if (cur.phase === Phase.Waiting && cur.agentId) lapse(t, env, cur.agentId, true);
      break;
    case 'robotIdle':
      if (cur.phase === Phase.Chatbot) end(t, env, EndStatus.ChatbotReception, 'SessionEnd', 'timer');
      break;
    case 'queueOffline':
      if (cur.phase === Phase.Queueing || cur.phase === Phase.Transferring) end(t, env, EndStatus.UserAbandonedDuringQueueing, 'SessionPendingAutoFinishEnd', 'timer');
      break;
    case 'assignAnswer':
      if (cur.awaitingAssign) assignDecided(t, env, { ok: false });
      break;
    case 'contactAnswer':
      if (cur.pendingContact?.asked) contactAnswered(t, env, { ok: false });
      break;
    case 'taskCall':
      if (cur.task?.call) taskCallAnswered(t, env, { ok: false, tag: cur.task.call });
      break;
    case 'embedQuery':
      answerWaiting(t, env);
      break;
    case 'queueTimeout':
      if (cur.phase === Phase.Queueing) transferFailed(t, env, ErrorCode.AllAgentsBusy);
      // While an agent decides, the limit waits: a lapse re-queues with it (see requeue).
      break;
  }
}

function routing(t: T, env: Env, msg: SessionRoutingMsg): void {
  const cur = t.state.cur;
  const current = cur && cur.sessionId === msg.sessionId;
  switch (msg.type) {
    case 'assigned':
      assigned(t, env, msg);
      return;
    case 'queued':
      if (current && cur.phase === Phase.Transferring) {
        const limitSec = cur.pendingTransfer?.queueTimeoutSec;
        if (limitSec) setDeadline(t, 'queueTimeout', cur.transferOpts?.queueDeadlineAt ?? env.ctx.now + limitSec * 1000);
        answerTransfer(t, env, { AgentId: '', IsInQueue: 1 });
        t.emit({ type: 'TransferringToHumanWait', sessionId: cur.sessionId, at: env.ctx.now, position: msg.position });
        systemText(t, env, prompt(env.app, env.account, 'queueing')
          .split('${QueuePosition}').join(String(msg.position)).split('${WaitNo}').join(String(msg.position - 1)));
      }
      return;
    case 'noAgentOnline':
      if (current && (cur.phase === Phase.Transferring || cur.phase === Phase.Queueing)) {
        transferFailed(t, env, ErrorCode.NoAgentOnline);
      }
      return;
    case 'forwardFailed':
      if (current && cur.phase === Phase.Transferring && !cur.pendingForward && !cur.pendingContact) {
        transferFailed(t, env, msg.code);
        return;
      }
      if (current && cur.pendingContact) {
        contactFailed(t, env, msg.code);
        return;
      }
      if (current && cur.pendingForward) {
        const replyTo = cur.pendingForward.replyTo;
        t.emit({ type: 'ForwardSettled', sessionId: cur.sessionId });
        t.refuse(replyTo, msg.code);
      }
      return;
    case 'offerRevoked':
      if (current && cur.phase === Phase.Waiting && cur.agentId === msg.memberId) lapse(t, env, msg.memberId, false);
      return;
    case 'agentReconnected':
      if (current && cur.phase === Phase.Waiting && cur.agentId === msg.memberId) {
        t.do({ t: 'push', to: agentOf(t.state, msg.memberId), frame: { type: 'session.offer', data: summary(t.state, { acceptDeadline: cur.deadlines.accept }) } });
      }
      return;
    case 'assignAnswer':
      if (current && cur.awaitingAssign) assignDecided(t, env, msg);
      return;
    case 'contactAnswer':
      if (current && cur.pendingContact?.asked) contactAnswered(t, env, msg);
      return;
    case 'taskCallAnswer':
      if (current) taskCallAnswered(t, env, msg);
      return;
    case 'questionEmbedded':
      if (current && cur.pendingQuestion?.seq === msg.seq) answerWaiting(t, env);
      return;
    case 'unsuspended':
      if (current && cur.agentId === msg.memberId && cur.suspended) t.emit({ type: 'SuspendChanged', sessionId: cur.sessionId, suspended: false, at: env.ctx.now });
      return;
  }
}

export const session: ActorDef<SessionState, SessionMsg, SessionEvent> = {
  kind: 'session',
  initial(id) {
    const [app, csAccount, userId] = parseId(id, 3);
    return { app: Number(app), csAccount, userId, seq: 0, recent: [], ratings: [] };
  },
  evolve,
  decide(state, msg, ctx) {
    const t = new Turn(state, evolve);
    const app = ctx.app(state.app);
    const account = app && accountOf(app, state.csAccount);
    if (!app || !account) {
      if ('replyTo' in msg) t.refuse(msg.replyTo, ErrorCode.BadParameter, `unknown customer-service account '${state.csAccount}'`);
      return t.done();
    }
    const env: Env = { ctx, app, account, conv: sessionAddress(state.app, state.csAccount, state.userId) };
    const decision = decideFor(t, env, msg);
    for (const f of sessionNotifications(app, state, decision.events, decision.effects)) decision.effects.push(f);
    return decision;
  },
};

/** The turn itself; `decide` adds the callbacks it implies. */
function decideFor(t: T, env: Env, msg: SessionMsg): ReturnType<T['done']> {
  switch (msg.type) {
    case 'userSend': userSend(t, env, msg); break;
    case 'agentSend': agentSend(t, env, msg); break;
    case 'agentAction': agentAction(t, env, msg); break;
    case '$timer': timer(t, env, msg.key as TimerKey); break;
    case 'userOffline': {
      if (t.state.chatGroup) break; // members come and go; a group chat never waits in the queue for one of them
      if (!t.state.userOffline) t.emit({ type: 'UserPresence', online: false });
      const cur = t.state.cur;
      if (cur && (cur.phase === Phase.Queueing || cur.phase === Phase.Transferring)) queueOffline(t, env);
      break;
    }
    case 'takenOver':
      historyHint(t);
      break;
    case 'userOnline':
      if (t.state.chatGroup) break;
      if (t.state.userOffline) t.emit({ type: 'UserPresence', online: true });
      setDeadline(t, 'queueOffline', undefined);
      break;
    case 'adminTransferToHuman':
    case 'adminTransfer':
    case 'adminEnd':
    case 'adminSuspend':
    case 'adminUnsuspend':
    case 'adminMark':
    case 'adminSend':
    case 'adminEdit':
    case 'adminStream':
    case 'adminContact':
    case 'adminOpenGroup':
    case 'adminDestroyGroup':
      admin(t, env, msg);
      break;
    default: routing(t, env, msg);
  }
  return t.done();
}
