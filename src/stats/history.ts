/**
 * Session history (product.md §8.4): sessions by start time with the console's filters, their records, and their
 * transcripts (robot and human phases are one session's messages). Read lazily, so an export streams.
 */
import { sessionAddress } from '../../actors/address';
import type { StoredMessage } from '../../actors/types';
import { groupOf, type AppModel } from '../../protocol/app-model';
import { plainText, type TimMsgElement } from '../../protocol/im';
import type { Store } from '../store/store';
import type { SessionFacts } from './facts';
import type { StatsProjection } from './projection';

export interface HistoryFilter {
  /** Session start, ms, both included. */
  from: number;
  to: number;
  sessionId?: string;
  userId?: string;
  /** The customer-service account the user consulted (the console's "source"). */
  csAccount?: string;
  /** An agent who received the session. */
  agentId?: string;
  groupId?: number;
  endStatus?: string;
  level?: number;
  /** Text in any message of the session (case-insensitive). */
  keyword?: string;
}

/** A session's messages, oldest first. */
export function* transcript(store: Store, f: SessionFacts): Generator<StoredMessage> {
  if (f.firstSeq === undefined) return;
  yield* store.sessionMessages(sessionAddress(f.app, f.csAccount, f.userId), f.sessionId, f.firstSeq, f.lastSeq);
}

function mentions(store: Store, f: SessionFacts, keyword: string): boolean {
  for (const m of transcript(store, f)) if (plainText(m.body as TimMsgElement[]).toLowerCase().includes(keyword)) return true;
  return false;
}

/** Index rows read at a time: no read transaction stays open between them (a paused export would pin one). */
const BATCH = 500;
/** Sessions looked at without a match between two empty yields (each one, when a keyword reads transcripts). */
const HEARTBEAT = 20;

function matches(store: Store, f: SessionFacts, q: HistoryFilter, keyword: string | undefined): boolean {
  return (q.sessionId === undefined || f.sessionId === q.sessionId)
    && (q.userId === undefined || f.userId === q.userId)
    && (q.csAccount === undefined || f.csAccount === q.csAccount)
    && (q.agentId === undefined || f.receptions.some((r) => r.agentId === q.agentId))
    && (q.groupId === undefined || f.groupId === q.groupId)
    && (q.endStatus === undefined || f.endStatus === q.endStatus)
    && (q.level === undefined || f.level === q.level)
    && (!keyword || mentions(store, f, keyword));
}

/**
 * Sessions matching a filter, oldest first. Every `HEARTBEAT` sessions looked at without a match it yields `undefined`,
 * so a caller can bound the work it does at a time; `progress.examined` counts the sessions looked at.
 */
export function* sessions(p: StatsProjection, store: Store, app: number, q: HistoryFilter, progress = { examined: 0 }): Generator<SessionFacts | undefined> {
  const keyword = q.keyword?.toLowerCase();
  if (q.sessionId !== undefined) {
    // One session by its id: looked up, not searched for.
    const f = p.facts(app, q.sessionId);
    progress.examined++;
    if (f && f.startedAt >= q.from && f.startedAt <= q.to && matches(store, f, q, keyword)) yield f;
    return;
  }
  let start: [number, number, string] = [app, q.from, ''];
  let sinceYield = 0;
  for (;;) {
    const rows = [...p.tables.byStart.getRange({ start, end: [app, q.to, '\uffff'], limit: BATCH + 1 })];
    const fresh = rows.filter((r) => r.key[1] !== start[1] || r.key[2] !== start[2]).slice(0, BATCH);
    for (const { key } of fresh) {
      progress.examined++;
      const f = p.facts(app, key[2]);
      if (f && matches(store, f, q, keyword)) {
        sinceYield = 0;
        yield f;
      } else if (++sinceYield >= (keyword ? 1 : HEARTBEAT)) {
        sinceYield = 0;
        yield undefined;
      }
    }
    if (fresh.length < BATCH) return;
    start = fresh[fresh.length - 1].key;
  }
}

/** A session as the history lists it: the console's columns, in the API's field names (describe_im_cdr_list). */
export function historyRecord(app: AppModel, f: SessionFacts, now: number): Record<string, unknown> {
  const agents = [...new Set(f.receptions.map((r) => r.agentId))];
  return {
    SessionId: f.sessionId, Timestamp: Math.floor(f.startedAt / 1000), ClientUserId: f.userId, ClientUserNickName: '',
    CustomerServiceId: f.csAccount, ChannelType: 'SDK', AgentId: agents[agents.length - 1] ?? '', AgentIds: agents,
    AgentGroupId: f.groupId, AgentGroupName: groupOf(app, f.groupId)?.name ?? '', EndStatus: f.endStatus ?? '',
    SatisfactionSelected: f.level ?? 0, Duration: Math.round(((f.endedAt ?? now) - f.startedAt) / 1000),
  };
}

/** A message as the transcript shows it (describe_chat_messages' fields, with its text). */
export function transcriptLine(m: StoredMessage): Record<string, unknown> {
  return { Seq: m.seq, MsgKey: m.msgKey, Timestamp: m.time, FromAccount: m.from, FromAccountRole: m.fromRole, Text: plainText(m.body as TimMsgElement[]), MsgBody: m.body };
}
