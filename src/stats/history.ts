/**
 * Session history (product.md §8.4): sessions by start time with the console's filters, their records, and their
 * transcripts (robot and human phases are one session's messages). Read lazily, so an export streams.
 */
import { sessionAddress } from '../../actors/address';
import type { StoredMessage } from '../../actors/types';
import { groupOf, type AppModel } from '../../protocol/app-model';
import { plainText, type TimMsgElement } from '../../protocol/im';
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

/**
 * A session's transcript, read where its conversation is held (in a cluster, maybe another node: the answering
 * node's store has only the conversations it served).
 */
export interface Transcripts {
  /** The session's messages, oldest first. */
  messages(f: SessionFacts): AsyncIterable<StoredMessage>;
  /** True when a message of the session holds `keyword` (lower case), case aside. */
  mentions(f: SessionFacts, keyword: string): Promise<boolean>;
}

/** True when one of `messages` holds `keyword` (lower case), case aside. */
export function mentionedIn(messages: Iterable<StoredMessage>, keyword: string): boolean {
  for (const m of messages) if (plainText(m.body as TimMsgElement[]).toLowerCase().includes(keyword)) return true;
  return false;
}

/** Index rows read at a time: no read transaction stays open between them (a paused export would pin one). */
const BATCH = 500;
/** Sessions looked at without a match between two empty yields. */
const HEARTBEAT = 20;
/** Transcripts searched for a keyword at once (each may be a read at another node). */
const SEARCHED_AT_ONCE = 16;

function matches(f: SessionFacts, q: HistoryFilter): boolean {
  return (q.sessionId === undefined || f.sessionId === q.sessionId)
    && (q.userId === undefined || f.userId === q.userId)
    && (q.csAccount === undefined || f.csAccount === q.csAccount)
    && (q.agentId === undefined || f.receptions.some((r) => r.agentId === q.agentId))
    && (q.groupId === undefined || f.groupId === q.groupId)
    && (q.endStatus === undefined || f.endStatus === q.endStatus)
    && (q.level === undefined || f.level === q.level);
}

/** Sessions matching a filter but for its keyword, oldest first, with an `undefined` every `HEARTBEAT` misses. */
function* candidates(p: StatsProjection, app: number, q: HistoryFilter, progress: { examined: number }): Generator<SessionFacts | undefined> {
  if (q.sessionId !== undefined) {
    // One session by its id: looked up, not searched for.
    const f = p.facts(app, q.sessionId);
    progress.examined++;
    if (f && f.startedAt >= q.from && f.startedAt <= q.to && matches(f, q)) yield f;
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
      if (f && matches(f, q)) {
        sinceYield = 0;
        yield f;
      } else if (++sinceYield >= HEARTBEAT) {
        sinceYield = 0;
        yield undefined;
      }
    }
    if (fresh.length < BATCH) return;
    start = fresh[fresh.length - 1].key;
  }
}

/**
 * Sessions matching a filter, oldest first. It yields `undefined` for sessions looked at without a match (every
 * `HEARTBEAT` of them, or each one whose transcript was searched), so a caller can bound the work it does at a time;
 * `progress.examined` counts the sessions looked at.
 */
export async function* sessions(p: StatsProjection, transcripts: Transcripts, app: number, q: HistoryFilter, progress = { examined: 0 }): AsyncGenerator<SessionFacts | undefined> {
  const keyword = q.keyword?.toLowerCase();
  if (!keyword) {
    yield* candidates(p, app, q, progress);
    return;
  }
  // Searched a few at a time, each found in order.
  let searching: { f: SessionFacts; found: Promise<boolean> }[] = [];
  async function* found(): AsyncGenerator<SessionFacts | undefined> {
    const batch = searching;
    searching = [];
    for (const s of batch) yield (await s.found) ? s.f : undefined;
  }
  for (const f of candidates(p, app, q, progress)) {
    if (f === undefined) { yield undefined; continue; }
    const search = transcripts.mentions(f, keyword);
    // Settled at once, so a batch given up halfway (a failed read) leaves no rejection unhandled.
    search.catch(() => undefined);
    searching.push({ f, found: search });
    if (searching.length >= SEARCHED_AT_ONCE) yield* found();
  }
  yield* found();
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
