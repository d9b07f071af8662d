/**
 * Error registry: every refusal the server gives, over WebSocket or REST, is one of these codes.
 * Codes follow the v4 registries (IM message layer, desk_http_svc 141xxx, UserSig 700xx) where one fits.
 */
export const ErrorCode = {
  /** Frame or body is not valid JSON / msgpack. */
  ParseFailure: 90001,
  /** MsgBody does not conform to TIMMsgElement. */
  BadMsgBody: 90002,
  /** MsgRandom missing or not an integer. */
  MsgRandom: 90005,
  /** MsgBody is not an array. */
  MsgBodyNotArray: 90007,
  /** Body longer than 12 KB. */
  BodyTooLong: 93000,
  /** UserID invalid or not allowed for the requested role. */
  BadIdentity: 20003,
  SigExpired: 70001,
  SigUndecodable: 70003,
  SigBadSignature: 70009,
  /** A page's sign-in with a wrong mail or a wrong password (never said which): a credential that does not check, like a bad sig. */
  WrongLogin: 70009,
  SigIdentifierMismatch: 70013,
  SigAppMismatch: 70014,
  /** The requested sdkappid is not served here. */
  NotDeskApp: 141000,
  NoAgentOnline: 141001,
  Internal: 141002,
  NotTransferable: 141003,
  BadParameter: 141004,
  SessionNotFound: 141005,
  /** SessionId malformed. */
  SessionIdIllegal: 141006,
  /** describe_chat_messages' own "session does not exist". */
  ChatSessionNotFound: 141010,
  /** Too many calls or frames; also a socket past the cap of sockets per user, member or address (close 4502). */
  RateLimited: 141009,
  AgentOffline: 141011,
  AgentAtLimit: 141012,
  AgentResting: 141013,
  GroupNoPermission: 141018,
  /** Group id does not exist. */
  GroupIllegal: 141020,
  /** contact_user: the user is already with (or waiting for) a human. */
  UserInHumanSession: 141016,
  /** contact_user: the contact is not allowed (the backend refused it). */
  ContactRefused: 141014,
  /** contact_user: assignment failed. */
  AssignFailed: 141017,
  /** contact_user's "skill group illegal". */
  ContactGroupIllegal: 141019,
  TransferToSelf: 141024,
  AllAgentsBusy: 141025,
  WrongState: 141026,
  // IM group codes (create_group, destroy_group, and sending to a group chat).
  /** A group field is illegal (type, name, member list, …). */
  ChatGroupBadParameter: 10004,
  /** More than 100 members in MemberList. */
  ChatGroupTooManyMembers: 10005,
  /** Not a member of the group. */
  NotGroupMember: 10007,
  /** The group does not exist (or was dismissed). */
  ChatGroupNotFound: 10010,
  /** The GroupId is already used by this app. */
  ChatGroupIdUsed: 10025,
  /** More initial members than the group's MaxMemberCount. */
  ChatGroupMemberLimit: 10038,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes a client may simply retry later. */
export const temporaryCodes: ReadonlySet<number> = new Set([ErrorCode.Internal, ErrorCode.RateLimited]);

export const defaultInfo: Readonly<Record<number, string>> = {
  [ErrorCode.ParseFailure]: 'frame is not valid JSON or msgpack',
  [ErrorCode.BadMsgBody]: 'body does not conform to TIMMsgElement[]',
  [ErrorCode.BodyTooLong]: 'message body exceeds 12 KB',
  [ErrorCode.MsgRandom]: 'MsgRandom missing or not an integer',
  [ErrorCode.MsgBodyNotArray]: 'MsgBody is not an array',
  [ErrorCode.SessionIdIllegal]: 'SessionId illegal',
  [ErrorCode.ChatSessionNotFound]: 'session does not exist',
  [ErrorCode.BadIdentity]: 'identifier is not allowed for this role',
  [ErrorCode.SigExpired]: 'UserSig expired',
  [ErrorCode.SigUndecodable]: 'UserSig cannot be decoded',
  [ErrorCode.SigBadSignature]: 'UserSig signature check failed',
  [ErrorCode.SigIdentifierMismatch]: 'UserSig identifier does not match',
  [ErrorCode.SigAppMismatch]: 'UserSig sdkappid does not match',
  [ErrorCode.NotDeskApp]: 'sdkappid is not a desk app on this server',
  [ErrorCode.NoAgentOnline]: 'no agent available online',
  [ErrorCode.Internal]: 'internal error, retry',
  [ErrorCode.NotTransferable]: 'this session cannot be transferred to human',
  [ErrorCode.BadParameter]: 'illegal request parameter',
  [ErrorCode.SessionNotFound]: 'session does not exist or has ended',
  [ErrorCode.RateLimited]: 'rate limited',
  [ErrorCode.AgentOffline]: 'agent not online',
  [ErrorCode.AgentAtLimit]: 'agent reached the maximum concurrent reception limit',
  [ErrorCode.AgentResting]: 'agent is on rest',
  [ErrorCode.GroupIllegal]: 'skill group does not exist',
  [ErrorCode.UserInHumanSession]: 'the user is already in a human session',
  [ErrorCode.AssignFailed]: 'agent assignment failed',
  [ErrorCode.ContactRefused]: 'contacting this user is not allowed',
  [ErrorCode.ContactGroupIllegal]: 'skill group illegal',
  [ErrorCode.GroupNoPermission]: 'group has no permission for this customer-service account',
  [ErrorCode.TransferToSelf]: 'cannot transfer to oneself',
  [ErrorCode.AllAgentsBusy]: 'transfer failed, all agents busy',
  [ErrorCode.WrongState]: 'not allowed in the session\'s current state',
  [ErrorCode.ChatGroupBadParameter]: 'illegal group parameter',
  [ErrorCode.ChatGroupTooManyMembers]: 'more than 100 members in MemberList',
  [ErrorCode.NotGroupMember]: 'not a member of this group',
  [ErrorCode.ChatGroupNotFound]: 'the group does not exist',
  [ErrorCode.ChatGroupIdUsed]: 'the GroupId is already used; dismiss that group or choose another id',
  [ErrorCode.ChatGroupMemberLimit]: 'more members than the group may hold',
};

/** WebSocket close codes: 4000–4499 reconnect, 4500–4999 do not. */
export const CloseCode = {
  Shutdown: 4000,
  SlowConsumer: 4008,
  RateLimited: 4029,
  Unauthorized: 4500,
  ProtocolViolation: 4501,
  /** Past the cap of sockets per user, member or address: reconnecting would be refused the same way. */
  TooManySockets: 4502,
} as const;
