/** desk_http_svc session and message endpoints (rest-api.md §2.35–2.45). */
import { sessionAddress } from '../../actors/address';
import { ASSIGN_WAIT_MS, Phase, messageFrame } from '../../actors/session';
import { accountOf, memberOf } from '../../protocol/app-model';
import { ErrorCode } from '../../protocol/errors';
import { checkMessageBody } from '../../protocol/message-body';
import type { TimMsgElement } from '../../protocol/im';
import * as schema from '../../protocol/rest/desk-session';
import { ok } from '../../protocol/rest/envelope';
import type { SessionIndex } from '../store/store';
import type { StoredMessage } from '../../actors/types';
import { readAt } from './actor-readers';
import { MESSAGE_READER, SESSION_MESSAGES_READER, SESSION_STATE_READER, type SessionMessagesPage, type SessionStateView } from './session-readers';
import { desk, RestError, replied, type Endpoint, type RestContext } from './facade';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The session a `SessionId` names in this app (on this node, or in a cluster on the node holding it), or the documented refusal. */
async function sessionOf(ctx: RestContext, notFound: number = ErrorCode.SessionNotFound): Promise<SessionIndex> {
  const id = String(ctx.body.SessionId);
  if (!UUID.test(id)) throw new RestError(ErrorCode.SessionIdIllegal, 'SessionId is not a session id');
  const idx = await ctx.deps.runtime.lookupSession(id);
  if (!idx || idx.app !== ctx.app.sdkAppId) throw new RestError(notFound, 'session does not exist');
  return idx;
}

/** The externally visible state (GAP: a transfer under way reports as queueing). */
function currentState(phase: Phase | undefined): string {
  if (!phase) return 'NotInSession';
  return phase === Phase.Transferring ? Phase.Queueing : phase;
}


/** A command to the session named by `SessionId`, answered with an empty OK. */
function sessionCommand(command: string, type: string): Endpoint {
  return desk(command, schema.sessionOnly, async (ctx) => {
    replied(await ctx.call((await sessionOf(ctx)).conv, (replyTo) => ({ type, sessionId: ctx.body.SessionId, replyTo })));
    return ok();
  });
}

/** MsgRandom and MsgBody with the IM message-layer codes. */
function messageBody(body: Record<string, unknown>): { random: number; elements: TimMsgElement[] } {
  const random = body.MsgRandom;
  if (typeof random !== 'number' || !Number.isInteger(random) || random < 0 || random > 4294967295) throw new RestError(ErrorCode.MsgRandom, 'MsgRandom missing or not a 32-bit unsigned integer');
  return { random, elements: elementsOf(body) };
}

/** MsgBody checked as a TIMMsgElement array of at most 12 KB. */
function elementsOf(body: Record<string, unknown>): TimMsgElement[] {
  const checked = checkMessageBody(body.MsgBody);
  if (!checked.ok) throw new RestError(checked.code, checked.info);
  return checked.body;
}

const busyCodes: Record<number, number> = {
  [ErrorCode.AgentOffline]: ErrorCode.NoAgentOnline,
  [ErrorCode.AgentAtLimit]: ErrorCode.AllAgentsBusy,
  [ErrorCode.AgentResting]: ErrorCode.AllAgentsBusy,
};
// A transfer that may not wait (DisableQueuing) fails in the transfer's codes: nobody online, or all busy.
const placeNowCodes = { ...busyCodes, [ErrorCode.GroupNoPermission]: ErrorCode.BadParameter };
// Forward refusals in transfer_session's own codes (rest-api.md §2.36).
const transferCodes = { ...busyCodes, [ErrorCode.GroupNoPermission]: ErrorCode.GroupIllegal };

// Calls that may wait for the app backend (OnAssignHuman, BeforeIMContactUser) outlast its whole answer window.
export const waitsForBackend = { callTimeoutMs: ASSIGN_WAIT_MS + 5000 };

export const deskSessionEndpoints: Endpoint[] = [
  desk('transfer_to_human', schema.transferToHuman, async (ctx) => {
    const b = ctx.body;
    const idx = await sessionOf(ctx);
    const r = replied(await ctx.call(idx.conv, (replyTo) => ({
      type: 'adminTransferToHuman', sessionId: b.SessionId, agentIds: b.AgentIdList, groupId: b.AgentGroupId,
      tipIfNoAgent: b.SendTipIfNoAgentOnline === 1, checkHours: b.CheckIfDuringWorkingHours === 1,
      promptOutsideHours: b.SendPromptNotDuringWorkingHours === 1, priority: b.Priority, disableQueuing: b.DisableQueuing === 1,
      allowBusy: b.AllowAssignBusyMember === 1, endIfNoneOnline: b.EndSessionWhenNoMemberOnline === 1, queueTimeoutSec: b.QueueTimeout, replyTo,
    })), placeNowCodes);
    return ok({ AgentId: r.AgentId ?? '', IsInQueue: r.IsInQueue ?? 0 });
  }, waitsForBackend),

  desk('transfer_session', schema.transferSession, async (ctx) => {
    const idx = await sessionOf(ctx);
    replied(await ctx.call(idx.conv, (replyTo) => ({ type: 'adminTransfer', sessionId: ctx.body.SessionId, groupId: ctx.body.GroupId, memberId: ctx.body.MemberId, replyTo })), transferCodes);
    return ok();
  }),

  sessionCommand('end_session', 'adminEnd'),
  sessionCommand('suspend_session', 'adminSuspend'),
  sessionCommand('unsuspend_session', 'adminUnsuspend'),
  desk('mark_session', schema.markSession, async (ctx) => {
    if (typeof ctx.body.Mark === 'string' && Buffer.byteLength(ctx.body.Mark) > schema.MAX_MARK_BYTES) throw new RestError(ErrorCode.BadParameter, 'Mark exceeds 200 bytes');
    const b = ctx.body;
    replied(await ctx.call((await sessionOf(ctx)).conv, (replyTo) => ({ type: 'adminMark', sessionId: b.SessionId, mark: b.Mark, star: b.StarStatus, userTimeoutSwitch: b.UserTimeoutSwitch, replyTo })));
    return ok();
  }),

  desk('get_session_state', schema.getSessionState, async (ctx) => {
    const b = ctx.body;
    if (b.SessionId !== undefined) {
      const idx = await sessionOf(ctx);
      const cur = await readAt<SessionStateView>(ctx, idx.conv, SESSION_STATE_READER, {});
      const live = cur?.sessionId === b.SessionId ? cur : undefined;
      return ok({ SessionId: b.SessionId, CurrentState: currentState(live?.phase), AgentId: live?.agentId && live.phase !== Phase.Queueing ? live.agentId : '' });
    }
    if (typeof b.ClientUserId !== 'string' || typeof b.CustomerServiceId !== 'string') throw new RestError(ErrorCode.BadParameter, 'give SessionId, or ClientUserId and CustomerServiceId');
    if (!accountOf(ctx.app, b.CustomerServiceId)) throw new RestError(ErrorCode.BadParameter, `'${b.CustomerServiceId}' is not a customer-service account`);
    const cur = await readAt<SessionStateView>(ctx, sessionAddress(ctx.app.sdkAppId, b.CustomerServiceId, b.ClientUserId), SESSION_STATE_READER, {});
    return ok({ SessionId: cur?.sessionId ?? '', CurrentState: currentState(cur?.phase), AgentId: cur?.agentId ?? '' });
  }),

  desk('describe_chat_messages', schema.describeChatMessages, async (ctx) => {
    const idx = await sessionOf(ctx, ErrorCode.ChatSessionNotFound);
    const found = await readAt<SessionMessagesPage>(ctx, idx.conv, SESSION_MESSAGES_READER, {
      sessionId: String(ctx.body.SessionId), offset: Number(ctx.body.Offset ?? 0), limit: Number(ctx.body.Limit ?? 20), newestFirst: (ctx.body.Order ?? 2) === 2,
    });
    return ok({
      Messages: found.messages.map((m) => {
        const f = messageFrame(m, idx.csAccount, false).data as { from: string };
        return { FromAccount: f.from, FromAccountRole: m.fromRole, MsgBody: m.body, Timestamp: m.time };
      }),
      TotalCount: found.total,
    });
  }),

  desk('send_msg', schema.sendMsg, async (ctx) => {
    const b = ctx.body;
    const { random, elements } = messageBody(b);
    let conv: string;
    if (b.SessionId !== undefined) conv = (await sessionOf(ctx)).conv;
    else if (typeof b.FromAccount === 'string' && typeof b.ToAccount === 'string') {
      if (!accountOf(ctx.app, b.FromAccount)) throw new RestError(ErrorCode.BadParameter, 'FromAccount must be a customer-service account');
      conv = sessionAddress(ctx.app.sdkAppId, b.FromAccount, b.ToAccount);
    } else throw new RestError(ErrorCode.BadParameter, 'give SessionId, or FromAccount and ToAccount');
    replied(await ctx.call(conv, (replyTo) => ({
      type: 'adminSend', sessionId: b.SessionId, random, body: elements, cloudCustomData: b.CloudCustomData,
      excludeFromUserTimeout: b.ExcludeFromUserRespTimeout === 1, replyTo,
    })));
    return ok();
  }),

  desk('contact_user', schema.contactUser, async (ctx) => {
    const b = ctx.body as { IMAgentUserId: string; ClientUserId: string; GroupId?: number; MemberId?: string };
    if (!accountOf(ctx.app, b.IMAgentUserId)) throw new RestError(ErrorCode.BadParameter, `'${b.IMAgentUserId}' is not a customer-service account`);
    if (memberOf(ctx.app, b.ClientUserId) || accountOf(ctx.app, b.ClientUserId)) throw new RestError(ErrorCode.BadParameter, 'ClientUserId must be a user, not a member or an account');
    const r = replied(await ctx.call(sessionAddress(ctx.app.sdkAppId, b.IMAgentUserId, b.ClientUserId), (replyTo) => ({ type: 'adminContact', groupId: b.GroupId, memberId: b.MemberId, replyTo })), {
      [ErrorCode.GroupNoPermission]: ErrorCode.GroupNoPermission, [ErrorCode.GroupIllegal]: ErrorCode.ContactGroupIllegal,
    });
    return ok({ MemberId: r.MemberId });
  }, waitsForBackend),

  desk('describe_im_cdr_list', schema.describeImCdrList, (ctx) => {
    const b = ctx.body as { StartTimestamp: number; EndTimestamp: number; Limit?: number; Offset?: number; ClientUserId?: string };
    if (b.EndTimestamp < b.StartTimestamp) throw new RestError(ErrorCode.BadParameter, 'EndTimestamp is before StartTimestamp');
    const found = ctx.deps.store.recordsBetween(ctx.app.sdkAppId, b.StartTimestamp, b.EndTimestamp, b.ClientUserId);
    const fields = ['SessionId', 'AgentGroupId', 'AgentGroupName', 'AgentId', 'ChannelType', 'ClientUserId', 'ClientUserNickName', 'Duration', 'EndStatus', 'SatisfactionSelected', 'Timestamp'];
    return ok({
      TotalCount: found.total,
      IMCdrList: found.page(b.Offset ?? 0, b.Limit ?? 20).map((r) => Object.fromEntries(fields.map((f) => [f, r[f]]))),
    });
  }),

  desk('modify_msg', schema.modifyMsg, async (ctx) => {
    const elements = elementsOf(ctx.body);
    const idx = await sessionOf(ctx);
    const key = String(ctx.body.MsgKey);
    const seq = Number(/^(\d+)_/.exec(key)?.[1]);
    const message = Number.isSafeInteger(seq) && seq > 0 ? await readAt<StoredMessage | undefined>(ctx, idx.conv, MESSAGE_READER, { seq }) : undefined;
    if (!message || message.msgKey !== key) throw new RestError(ErrorCode.BadParameter, 'MsgKey names no message of this session');
    replied(await ctx.call(idx.conv, (replyTo) => ({ type: 'adminEdit', sessionId: ctx.body.SessionId, message, body: elements, cloudCustomData: ctx.body.CloudCustomData, replyTo })));
    return ok();
  }),

  desk('send_stream_msg', schema.sendStreamMsg, async (ctx) => {
    const idx = await sessionOf(ctx);
    const r = replied(await ctx.call(idx.conv, (replyTo) => ({ type: 'adminStream', sessionId: ctx.body.SessionId, msgKey: ctx.body.MsgKey, chunk: ctx.body.Chunk, finish: ctx.body.Finish === 1, replyTo })));
    return ok({ MsgKey: r.msgKey });
  }),

];
