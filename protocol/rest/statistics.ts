/** Request schemas of the statistics endpoints (rest-api.md §2.22–2.25, rest-api-extensions.md §5.1). */
import { paging } from './desk-session';

/** Longest range of one statistics call (days): the status trace's three months. */
export const MAX_RANGE_DAYS = 92;
/** Hourly session statistics cover at most this many days (a row per hour). */
export const MAX_HOURLY_DAYS = 7;

const seconds = { type: 'number', integer: true, min: 0, max: 4_102_444_800 } as const;
const ids = { type: 'array', optional: true, max: 1000, items: { type: 'string', min: 1, max: 128 } } as const;

/** Where sessions came from: the channel type (10 the app SDK, 4 web/H5, 2, 3 and 7 WeChat) and the channel's account. */
export interface ConversationSource { ChannelType?: number; ChannelId?: string }
/** The channel type of the app SDK, the only way sessions reach this server. */
export const SDK_CHANNEL_TYPE = 10;

export const agentStatistics = {
  $$strict: true, From: seconds, To: seconds, ...paging,
  // A newer field (rest-api-extensions.md §5.2): count only sessions from these sources.
  ConversationSources: {
    type: 'array', optional: true, max: 100,
    items: { type: 'object', strict: true, props: { ChannelType: { type: 'number', integer: true, optional: true }, ChannelId: { type: 'string', max: 64, optional: true } } },
  },
  // This server's addition: a row per agent per local day (the console's daily export) instead of one per agent.
  GroupByDay: { type: 'boolean', optional: true },
  // Typed String in the field table, an array in the example: both are taken.
  AgentIds: { type: 'multi', optional: true, rules: [ids, { type: 'string', min: 1, max: 128 }] },
} as const;
export const memberRealtime = { $$strict: true, ...paging, MemberIds: ids } as const;
export const receptionRealtime = { $$strict: true } as const;
export const sessionStatistics = {
  $$strict: true, From: seconds, To: seconds, GroupByHour: { type: 'boolean', optional: true },
  // This server's addition: one row for the whole range.
  Aggregate: { type: 'boolean', optional: true },
} as const;
export const memberStatusTrace = {
  $$strict: true, BeginTime: seconds, EndTime: seconds, Order: { type: 'enum', values: [1, 2] }, MemberID: { type: 'string', min: 1, max: 128 },
} as const;

const endStatuses = ['AgentEndedSession', 'UserEndedSession', 'UserTimeout', 'AgentTimeout', 'ChatbotReception', 'NoAgentsOnline', 'UserAbandonedDuringQueueing'];

/** Session history filters (this server's addition; product.md §8.4): by start time and the console's fields. */
const historyFilters = {
  StartTime: seconds, EndTime: seconds,
  SessionId: { type: 'string', min: 1, max: 64, optional: true },
  ClientUserId: { type: 'string', min: 1, max: 64, optional: true },
  CustomerServiceId: { type: 'string', min: 1, max: 64, optional: true },
  AgentId: { type: 'string', min: 1, max: 128, optional: true },
  AgentGroupId: { type: 'number', integer: true, min: 0, optional: true },
  EndStatus: { type: 'enum', values: endStatuses, optional: true },
  SatisfactionSelected: { type: 'number', integer: true, min: 1, max: 5, optional: true },
  Keyword: { type: 'string', min: 1, max: 100, optional: true },
} as const;

export const sessionHistory = {
  $$strict: true, ...historyFilters, ...paging,
} as const;

/** The export's query string: the same filters (numbers as text), the format, and whether transcripts come along. */
export const historyExport = {
  $$strict: 'remove',
  ...Object.fromEntries(Object.entries(historyFilters).map(([k, rule]) => [k, rule.type === 'number' ? { ...rule, convert: true } : rule])),
  Format: { type: 'enum', values: ['csv', 'jsonl'] },
  Transcripts: { type: 'enum', values: ['0', '1'], optional: true },
} as const;
