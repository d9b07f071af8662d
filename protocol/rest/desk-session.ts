/** Request schemas (fastest-validator) of the desk_http_svc session and message endpoints (rest-api.md §2.35–2.45). */
import { MAX_BODY_BYTES } from '../frames';

const sessionId = { type: 'string', min: 1, max: 64 } as const;
const userId = { type: 'string', min: 1, max: 64 } as const;
const flag = { type: 'enum', values: [0, 1], optional: true } as const;

export const transferToHuman = {
  $$strict: true,
  SessionId: sessionId,
  AgentIdList: { type: 'array', optional: true, max: 100, items: { type: 'string', min: 1, max: 128 } },
  AgentGroupId: { type: 'number', integer: true, min: 0, optional: true },
  SendTipIfNoAgentOnline: flag,
  CheckIfDuringWorkingHours: flag,
  SendPromptNotDuringWorkingHours: flag,
  // Newer fields (rest-api-extensions.md §6.5).
  EndSessionWhenNoMemberOnline: flag,
  DisableQueuing: flag,
  AllowAssignBusyMember: flag,
  Priority: { type: 'number', integer: true, min: 0, max: 9, optional: true },
  QueueTimeout: { type: 'number', integer: true, min: 1, max: 86400, optional: true },
} as const;

export const transferSession = {
  $$strict: true,
  SessionId: sessionId,
  GroupId: { type: 'number', integer: true, min: 0, optional: true },
  MemberId: { type: 'string', min: 1, max: 128, optional: true },
} as const;

export const sessionOnly = { $$strict: true, SessionId: sessionId } as const;

export const getSessionState = {
  $$strict: true,
  SessionId: { ...sessionId, optional: true },
  ClientUserId: { ...userId, optional: true },
  CustomerServiceId: { ...userId, optional: true },
} as const;

export const markSession = {
  $$strict: true,
  SessionId: sessionId,
  // 200 bytes, checked as bytes by the handler; this bounds the characters.
  Mark: { type: 'string', max: 200, optional: true },
  StarStatus: flag,
  UserTimeoutSwitch: flag,
} as const;
export const MAX_MARK_BYTES = 200;

/** Limit (1–100) and Offset, as the paged desk_http_svc lists take them. */
export const paging = {
  Limit: { type: 'number', integer: true, min: 1, max: 100, optional: true },
  Offset: { type: 'number', integer: true, min: 0, optional: true },
} as const;

export const describeChatMessages = {
  $$strict: true,
  SessionId: sessionId,
  ...paging,
  Order: { type: 'enum', values: [1, 2], optional: true },
} as const;

/** send_msg's non-body fields; MsgRandom and MsgBody get the IM message codes (90005, 90007, 90002, 93000). */
export const sendMsg = {
  $$strict: true,
  SessionId: { ...sessionId, optional: true },
  FromAccount: { ...userId, optional: true },
  ToAccount: { ...userId, optional: true },
  MsgRandom: { type: 'any', optional: true },
  MsgBody: { type: 'any', optional: true },
  CloudCustomData: { type: 'string', max: MAX_BODY_BYTES, optional: true },
  ExcludeFromUserRespTimeout: flag,
} as const;

export const contactUser = {
  $$strict: true,
  IMAgentUserId: userId,
  ClientUserId: userId,
  GroupId: { type: 'number', integer: true, min: 0, optional: true },
  MemberId: { type: 'string', min: 1, max: 128, optional: true },
} as const;

export const describeImCdrList = {
  $$strict: true,
  StartTimestamp: { type: 'number', integer: true, min: 0 },
  EndTimestamp: { type: 'number', integer: true, min: 0 },
  ...paging,
  ClientUserId: { ...userId, optional: true },
} as const;

export const modifyMsg = {
  $$strict: true,
  SessionId: sessionId,
  MsgKey: { type: 'string', min: 1, max: 128 },
  MsgBody: { type: 'any', optional: true },
  CloudCustomData: { type: 'string', max: MAX_BODY_BYTES, optional: true },
} as const;

export const sendStreamMsg = {
  $$strict: true,
  SessionId: sessionId,
  Chunk: { type: 'string', min: 1, max: MAX_BODY_BYTES },
  MsgKey: { type: 'string', min: 1, max: 128, optional: true },
  Finish: flag,
} as const;

