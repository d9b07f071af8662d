/**
 * Desk.SessionEventNotify: what a session turn reports to the app's backend, derived from the turn's events and
 * stored messages (product.md §2.5). Pure; the session actor appends these as `callback` effects.
 */
import type { AppModel } from '../protocol/app-model';
import type { SessionEvent, SessionState } from './session';
import { FromRole } from '../protocol/im';
import { chatGroupOf } from './address';
import type { Effect, StoredMessage } from './types';

export const SESSION_EVENT_COMMAND = 'Desk.SessionEventNotify';

type Body = Record<string, unknown>;

/** Every callback carries every field of the documented example; fields an event does not use are empty. */
const EMPTY_FIELDS = { MsgKey: '', MsgBody: [], CloudCustomData: '', SatisfactionSelected: 0, ForwardFromAgentId: '' } as const;

/**
 * The event of a message: the user's, the agent's, or the account's (robot answers, prompts, send_msg) — the
 * account speaks for the robot in the robot stage and for the service side in the human stage.
 */
function messageEvent(fromRole: StoredMessage['fromRole'], robotStage: boolean): string {
  if (fromRole === FromRole.User) return robotStage ? 'ChatBot.UserSendMsg' : 'Human.UserSendMsg';
  return fromRole === FromRole.System && robotStage ? 'ChatBot.RobotSendMsg' : 'Human.AgentSendMsg';
}

export function sessionNotifications(app: AppModel, before: SessionState, events: readonly SessionEvent[], effects: readonly Effect[]): Effect[] {
  const cb = app.callbacks;
  if (!cb?.url || (!cb.sessionEvents && !cb.thirdPartyBot)) return [];
  // With only the self-built AI switch on, the backend hears the user's robot-phase messages and nothing else.
  const wanted = (event: string): boolean => cb.sessionEvents || event === 'ChatBot.UserSendMsg';
  const stored = new Map<number, StoredMessage>();
  for (const f of effects) if (f.t === 'message') stored.set(f.message.seq, f.message);
  const out: Effect[] = [];
  const added = new Set<number>();
  // Walk the events with the session as it was at each, so a message is reported in the phase it arrived in.
  let cur = before.cur;
  let agentId = cur?.agentId ?? '';
  const groupId = chatGroupOf(before.userId)?.id;
  const base = (sessionId: string, event: string, at: number): Body => ({
    CallbackCommand: SESSION_EVENT_COMMAND, SessionId: sessionId, Event: event, EventTime: at, ChannelType: 'SDK',
    ClientUserId: before.userId, CustomerServiceId: before.csAccount, AgentId: agentId, ...EMPTY_FIELDS, IsContactUser: !!cur?.contact,
    ...(groupId !== undefined ? { GroupId: groupId } : {}),
  });
  // A message as the backend hears it; an edit (a streamed chunk, modify_msg) repeats its MsgKey with the new body.
  // A message of a session already ended is reported without the serving agent, in the robot stage unless an agent's.
  const message = (m: StoredMessage, at: number): void => {
    const current = cur?.sessionId === m.sessionId;
    const robotStage = !current || cur!.phase === 'Chatbot' || cur!.phase === 'Transferring';
    emit({
      ...base(m.sessionId, messageEvent(m.fromRole, robotStage), at), ...(current ? {} : { AgentId: '', IsContactUser: false }),
      MsgKey: m.msgKey, MsgBody: m.body, CloudCustomData: m.cloudCustomData ?? '',
      // As describe_chat_messages names the sender (an addition to the example's fields).
      FromAccount: m.from, FromAccountRole: m.fromRole,
    });
  };
  // A group chat exists for the backend once it opened: its session begins then, already transferring (it may never open).
  let opening = !!before.chatGroup && !before.chatGroup.open;
  const emit = (body: Body): void => {
    if (opening || !wanted(String(body.Event))) return;
    out.push({ t: 'callback', app: before.app, key: String(body.SessionId), command: SESSION_EVENT_COMMAND, body });
  };
  // A session opened for contact_user exists for the backend only once the contact succeeded (it may not).
  const contactOpens = events.some((e) => e.type === 'ContactRequested' && e.newSession);
  let contactFailedNew = false;
  for (const e of events) {
    switch (e.type) {
      case 'SessionBegin':
        cur = { sessionId: e.sessionId, phase: 'Chatbot', contact: contactOpens } as SessionState['cur'];
        agentId = '';
        if (!contactOpens) emit(base(e.sessionId, 'SessionBegin', e.at));
        break;
      case 'ContactSettled':
        if (e.ok && e.newSession) emit(base(e.sessionId, 'SessionBegin', e.at));
        contactFailedNew = !e.ok && e.newSession;
        break;
      case 'MessageAdded': {
        const m = stored.get(e.seq);
        added.add(e.seq);
        if (m) message(m, e.at);
        break;
      }
      case 'StreamChunk': {
        // The first chunk is the message itself (reported as added); each later one reports the message so far.
        const m = stored.get(e.seq);
        if (m && !added.has(e.seq)) message(m, e.at);
        break;
      }
      case 'MessageEdited': {
        const m = stored.get(e.seq);
        if (m) message(m, e.at);
        break;
      }
      case 'UserEntered':
        if (cb.thirdPartyBot) emit({ ...base(e.sessionId, 'ChatBot.UserSendMsg', e.at), MsgKey: '', MsgBody: e.body, CloudCustomData: '' });
        break;
      case 'ContactRequested':
        cur = { ...cur!, contact: true };
        break;
      case 'TransferringToHuman':
        cur = { ...cur!, phase: 'Transferring' };
        emit(base(e.sessionId, 'TransferringToHuman', e.at));
        break;
      case 'TransferringToHumanWait':
        cur = { ...cur!, phase: 'Queueing' };
        emit(base(e.sessionId, 'TransferringToHumanWait', e.at));
        break;
      case 'NoAgentOnline':
        cur = { ...cur!, phase: 'Chatbot' };
        emit(base(e.sessionId, 'NoAgentOnline', e.at));
        break;
      case 'Assigned':
        agentId = e.memberId;
        if (!e.manual) cur = { ...cur!, phase: 'Agent' };
        break;
      case 'TransferToHumanSuccess':
        agentId = e.memberId;
        cur = { ...cur!, phase: 'Agent' };
        emit(base(e.sessionId, 'TransferToHumanSuccess', e.at));
        break;
      case 'MemberAccessTimeout':
        emit(base(e.sessionId, 'MemberAccessTimeout', e.at));
        agentId = '';
        break;
      case 'AgentForward':
        agentId = e.to;
        emit({ ...base(e.sessionId, 'AgentForward', e.at), ForwardFromAgentId: e.from });
        break;
      case 'SatisfactionSelected': {
        // Usually after the end: the rated session's agent, not whoever serves now.
        const rated = before.ratings.find((r) => r.sessionId === e.sessionId);
        emit({ ...base(e.sessionId, 'SatisfactionSelected', e.at), AgentId: rated?.agentId ?? '', SatisfactionSelected: e.level });
        break;
      }
      case 'ChatGroupOpening':
        opening = true;
        break;
      case 'ChatGroupOpened':
        opening = false;
        emit(base(cur!.sessionId, 'SessionBegin', e.at));
        emit(base(cur!.sessionId, 'TransferringToHuman', e.at));
        break;
      case 'SessionEnded':
        if (contactFailedNew) break;
        // GAP-29: the specific end event, then SessionEnd, for every end.
        if (e.event !== 'SessionEnd') emit(base(e.sessionId, e.event, e.at));
        emit(base(e.sessionId, 'SessionEnd', e.at));
        cur = undefined;
        break;
      default:
        break;
    }
  }
  return out;
}
