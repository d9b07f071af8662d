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
  const conv = sessionAddress(f.app, f.csAccount, f.userId);
  let after = f.firstSeq - 1;
  for (;;) {
    const page = store.messagesAfter(conv, after, 200);
    for (const m of page) {
      if (m.seq > f.lastSeq!) return;
      if (m.sessionId === f.sessionId) yield m;
    }
    if (page.length < 200) return;
    after = page[page.length - 1].seq;
  }
}

function mentions(store: Store, f: SessionFacts, keyword: string): boolean {
  for (const m of transcript(store, f)) if (plainText(m.body as TimMsgElement[]).toLowerCase().includes(keyword)) return true;
  return false;
}

/** Sessions matching a filter, oldest first. */
export function* sessions(p: StatsProjection, store: Store, app: number, q: HistoryFilter): Generator<SessionFacts> {
  const keyword = q.keyword?.toLowerCase();
  for (const { key } of p.tables.byStart.getRange({ start: [app, q.from], end: [app, q.to, '\uffff'] })) {
    const f = p.facts(app, key[2]);
    if (!f) continue;
    if (q.sessionId !== undefined && f.sessionId !== q.sessionId) continue;
    if (q.userId !== undefined && f.userId !== q.userId) continue;
    if (q.csAccount !== undefined && f.csAccount !== q.csAccount) continue;
    if (q.agentId !== undefined && !f.receptions.some((r) => r.agentId === q.agentId)) continue;
    if (q.groupId !== undefined && f.groupId !== q.groupId) continue;
    if (q.endStatus !== undefined && f.endStatus !== q.endStatus) continue;
    if (q.level !== undefined && f.level !== q.level) continue;
    if (keyword && !mentions(store, f, keyword)) continue;
    yield f;
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
