/**
 * The runtime's reader of a page of a conversation's history (run on the node that holds the conversation): for
 * `history.sync` and for the session history's transcripts.
 */
import Validator from 'fastest-validator';
import type { HistoryPage, HistoryQuery, Store } from './store';

export const HISTORY_READER = 'history';

const checkHistoryQuery = new Validator({ haltOnFirstError: true }).compile({
  $$root: true,
  type: 'object',
  strict: true,
  props: {
    conv: { type: 'string', min: 9, max: 512, pattern: /^session:/ },
    sessionId: { type: 'string', optional: true, min: 1, max: 64 },
    afterSeq: { type: 'number', integer: true, min: 0 },
    limit: { type: 'number', integer: true, min: 1, max: 1000 },
  },
});

/** The history reader (RuntimeOptions.readers): its queries may come from other nodes, so they are checked first. */
export function historyReader(store: Store): (query: unknown) => HistoryPage {
  return (query) => {
    if (checkHistoryQuery(query) !== true) throw new Error('malformed history query');
    return store.historyPage(query as HistoryQuery);
  };
}
