/**
 * What REST calls naming a session read of it, as runtime readers: run on the node that holds the conversation (in
 * a cluster, maybe not the node answering the call). Queries may come from other nodes, so each is checked first.
 */
import Validator from 'fastest-validator';
import type { CurrentSession, SessionState } from '../../actors/session';
import type { StoredMessage } from '../../actors/types';
import type { Runtime } from '../runtime/runtime';
import { HISTORY_READER } from '../store/history-reader';
import type { HistoryPage, Store } from '../store/store';
import { sessionAddress } from '../../actors/address';
import type { SessionFacts } from '../stats/facts';
import { mentionedIn, type Transcripts } from '../stats/history';
import { readOn } from './actor-readers';

export const SESSION_STATE_READER = 'sessionState';
export const SESSION_MESSAGES_READER = 'sessionMessages';
export const MESSAGE_READER = 'message';
export const MENTIONS_READER = 'mentions';
/** Messages a transcript read brings at a time: at most 24 KiB each (body and custom data), a page fits in a NATS message. */
const TRANSCRIPT_PAGE = 32;

const v = new Validator({ haltOnFirstError: true });
const conv = { type: 'string', min: 9, max: 512, pattern: /^session:/ } as const;
const checkConv = v.compile({ $$root: true, type: 'object', strict: true, props: { conv } });
const checkSession = v.compile({
  $$root: true,
  type: 'object',
  strict: true,
  props: {
    conv, sessionId: { type: 'string', min: 1, max: 64 }, offset: { type: 'number', integer: true, min: 0 },
    limit: { type: 'number', integer: true, min: 1, max: 1000 }, newestFirst: 'boolean',
  },
});
const seqs = { firstSeq: { type: 'number', integer: true, min: 1 }, lastSeq: { type: 'number', integer: true, min: 1 } } as const;
const checkMentions = v.compile({
  $$root: true, type: 'object', strict: true, props: { conv, sessionId: { type: 'string', min: 1, max: 64 }, ...seqs, keyword: { type: 'string', min: 1, max: 100 } },
});
const checkMessage = v.compile({ $$root: true, type: 'object', strict: true, props: { conv, seq: { type: 'number', integer: true, min: 1 } } });

function checked<Q>(check: (q: unknown) => true | unknown, query: unknown): Q {
  if (check(query) !== true) throw new Error('malformed session query');
  return query as Q;
}

interface TranscriptQuery { conv: string; sessionId: string; firstSeq: number; lastSeq: number }
export interface SessionMessagesPage { total: number; messages: StoredMessage[] }

/** The current session of a conversation, as get_session_state reports it. */
export type SessionStateView = Pick<CurrentSession, 'sessionId' | 'phase' | 'agentId' | 'groupId'> | undefined;

export function sessionReaders(store: Store, runtime: () => Runtime): Record<string, (query: unknown) => unknown> {
  return {
    [SESSION_STATE_READER]: (query): SessionStateView => {
      const cur = runtime().peek<SessionState>(checked<{ conv: string }>(checkConv, query).conv).cur;
      return cur && { sessionId: cur.sessionId, phase: cur.phase, agentId: cur.agentId, groupId: cur.groupId };
    },
    // A page (the whole session may not fit in one message between nodes), and the session's message count.
    [SESSION_MESSAGES_READER]: (query): SessionMessagesPage => {
      const q = checked<{ conv: string; sessionId: string; offset: number; limit: number; newestFirst: boolean }>(checkSession, query);
      const all = [...store.sessionMessages(q.conv, q.sessionId)];
      if (q.newestFirst) all.reverse();
      return { total: all.length, messages: all.slice(q.offset, q.offset + q.limit) };
    },
    [MENTIONS_READER]: (query): boolean => {
      const q = checked<TranscriptQuery & { keyword: string }>(checkMentions, query);
      return mentionedIn(store.sessionMessages(q.conv, q.sessionId, q.firstSeq, q.lastSeq), q.keyword);
    },
    [MESSAGE_READER]: (query): StoredMessage | undefined => {
      const q = checked<{ conv: string; seq: number }>(checkMessage, query);
      return store.getMessage(q.conv, q.seq);
    },
  };
}

/** Transcripts read where their conversations are held (Runtime.read): a failed read is an error to retry. */
export function transcriptsAt(runtime: Runtime): Transcripts {
  const read = <T>(f: SessionFacts, name: string, query: Record<string, unknown>): Promise<T> =>
    readOn<T>(runtime, sessionAddress(f.app, f.csAccount, f.userId), name, { sessionId: f.sessionId, ...query });
  return {
    // The session's messages from `firstSeq` through `lastSeq`, a page of its history at a time (HISTORY_READER).
    async *messages(f) {
      if (f.firstSeq === undefined) return;
      for (let after = f.firstSeq - 1; ;) {
        const page = await read<HistoryPage>(f, HISTORY_READER, { afterSeq: after, limit: TRANSCRIPT_PAGE });
        const messages = page.messages.filter((m) => f.lastSeq === undefined || m.seq <= f.lastSeq);
        yield* messages;
        if (!page.more || messages.length < page.messages.length || messages.length === 0) return;
        after = messages[messages.length - 1].seq;
      }
    },
    mentions: async (f, keyword) => f.firstSeq !== undefined && read<boolean>(f, MENTIONS_READER, { firstSeq: f.firstSeq, lastSeq: f.lastSeq, keyword }),
  };
}
