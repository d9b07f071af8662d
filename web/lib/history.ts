/** Reads a conversation (users: by account) or a session (agents: by sessionId) after a seq, page by page. */
import type { ChatMessage } from './messages';
import type { DeskSocket } from './socket';

/** At most this many pages per read (40,000 messages); the next read goes on from where this one stopped. */
const MAX_PAGES = 200;

export async function syncHistory(socket: DeskSocket, query: { to?: string; sessionId?: string }, afterSeq: number): Promise<ChatMessage[]> {
  const out: ChatMessage[] = [];
  let after = afterSeq;
  for (let page = 0; page < MAX_PAGES; page++) {
    const h = await socket.request('history.sync', { ...query, afterSeq: after, limit: 200 });
    const messages = (h.messages ?? []) as ChatMessage[];
    out.push(...messages);
    if (!h.more || messages.length === 0) break;
    after = messages[messages.length - 1]!.seq;
  }
  return out;
}

/** The highest stored seq of a list (0 when none). */
export function lastSeq(list: readonly ChatMessage[]): number {
  let s = 0;
  for (const m of list) if (!m.pending && m.seq > s) s = m.seq;
  return s;
}
