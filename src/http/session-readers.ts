/**
 * What REST calls naming a session read of it, as runtime readers: run on the node that holds the conversation (in
 * a cluster, maybe not the node answering the call). Queries may come from other nodes, so each is checked first.
 */
import Validator from 'fastest-validator';
import type { CurrentSession, SessionState } from '../../actors/session';
import type { StoredMessage } from '../../actors/types';
import type { Runtime } from '../runtime/runtime';
import type { Store } from '../store/store';

export const SESSION_STATE_READER = 'sessionState';
export const SESSION_MESSAGES_READER = 'sessionMessages';
export const MESSAGE_READER = 'message';

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
const checkMessage = v.compile({ $$root: true, type: 'object', strict: true, props: { conv, seq: { type: 'number', integer: true, min: 1 } } });

function checked<Q>(check: (q: unknown) => true | unknown, query: unknown): Q {
  if (check(query) !== true) throw new Error('malformed session query');
  return query as Q;
}

export interface SessionMessagesPage { total: number; messages: StoredMessage[] }

/** The current session of a conversation, as get_session_state reports it. */
export type SessionStateView = Pick<CurrentSession, 'sessionId' | 'phase' | 'agentId'> | undefined;

export function sessionReaders(store: Store, runtime: () => Runtime): Record<string, (query: unknown) => unknown> {
  return {
    [SESSION_STATE_READER]: (query): SessionStateView => {
      const cur = runtime().peek<SessionState>(checked<{ conv: string }>(checkConv, query).conv).cur;
      return cur && { sessionId: cur.sessionId, phase: cur.phase, agentId: cur.agentId };
    },
    // A page (the whole session may not fit in one message between nodes), and the session's message count.
    [SESSION_MESSAGES_READER]: (query): SessionMessagesPage => {
      const q = checked<{ conv: string; sessionId: string; offset: number; limit: number; newestFirst: boolean }>(checkSession, query);
      const all = [...store.sessionMessages(q.conv, q.sessionId)];
      if (q.newestFirst) all.reverse();
      return { total: all.length, messages: all.slice(q.offset, q.offset + q.limit) };
    },
    [MESSAGE_READER]: (query): StoredMessage | undefined => {
      const q = checked<{ conv: string; seq: number }>(checkMessage, query);
      return store.getMessage(q.conv, q.seq);
    },
  };
}
