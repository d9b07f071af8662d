/**
 * The 大模型 mode's model calls: a question the session actor asked (`llm` effect) goes to the app's OpenAI-compatible
 * chat-completions endpoint with `stream: true`, and the answer is written into the session's `src 31` message as it
 * arrives (`adminStream` with `robotOnly`). A session that left the robot meanwhile refuses the next piece: the call
 * is aborted and the message closed as it stands. A model that fails, times out or says nothing gives the refusal.
 */
import type { Logger } from 'pino';
import type { Address, Effect, ReplyTo, StoredMessage } from '../../actors/types';
import type { AppModel, LlmSettings } from '../../protocol/app-model';
import { deskPayload, FromRole, plainText, Src, type TimMsgElement } from '../../protocol/im';
import type { Reply } from '../runtime/runtime';
import { sseDeltas } from './sse';

export type LlmQuestion = Extract<Effect, { t: 'llm' }>;

/** A turn of the conversation as the model sees it. */
export interface Turn { role: 'user' | 'assistant'; content: string }

export interface LlmDeps {
  app(sdkAppId: number): AppModel | undefined;
  log: Logger;
  /** The session's stored messages with seqs from `fromSeq` up to (not including) `beforeSeq`. */
  earlier(conv: Address, sessionId: string, fromSeq: number, beforeSeq: number): StoredMessage[];
  /** A command to an actor that answers (`replyTo`). */
  call(to: Address, build: (replyTo: ReplyTo) => unknown): Promise<Reply>;
}

/** Pieces of the answer gather this long before they are written (each write is a stored edit and a push). */
const FLUSH_MS = 150;

/** What a write answers once the server is stopping: nothing more goes to the actors. */
const STOPPED: Reply = { ok: false, info: 'stopping' };

export class LlmResponder {
  /** The model calls under way, aborted when the server stops. */
  private readonly calls = new Set<AbortController>();
  private stopped = false;

  constructor(private readonly deps: LlmDeps) {}

  answer(from: Address, q: LlmQuestion): void {
    if (this.stopped) return;
    this.run(from, q).catch((err: unknown) => this.deps.log.error({ err, sessionId: q.sessionId }, 'model answer failed'));
  }

  /** Aborts the calls under way and takes no more (a stopping server's actors must not be written to). */
  stop(): void {
    this.stopped = true;
    for (const abort of this.calls) abort.abort();
  }

  private async run(from: Address, q: LlmQuestion): Promise<void> {
    const write = (chunk: string, finish: boolean, robotOnly = true): Promise<Reply> => this.stopped
      ? Promise.resolve(STOPPED)
      : this.deps.call(from, (replyTo) => ({ type: 'adminStream', sessionId: q.sessionId, msgKey: q.msgKey, chunk, finish, robotOnly, replyTo }));
    const llm = this.deps.app(q.app)?.llm;
    if (!llm) {
      await write('', true, false);
      return;
    }
    if (llm.knowledgeOnly && q.passages.length === 0) {
      await write(llm.refusal, true);
      return;
    }
    const abort = new AbortController();
    this.calls.add(abort);
    const timer = setTimeout(() => abort.abort(), llm.timeoutMs);
    let written = false;
    let pending = '';
    let lastWrite = Date.now();
    let left = false;
    // False once the session refuses (it left the robot, or the message is full): the message is then closed as it is.
    const flush = async (finish: boolean): Promise<boolean> => {
      const r = await write(pending, finish);
      if (r.ok) {
        written ||= pending.length > 0;
        pending = '';
        lastWrite = Date.now();
        return true;
      }
      left = true;
      abort.abort();
      await write('', true, false);
      return false;
    };
    try {
      const res = await fetch(`${llm.baseUrl.replace(/\/+$/, '')}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(llm.apiKey ? { authorization: `Bearer ${llm.apiKey}` } : {}) },
        body: JSON.stringify({ model: llm.model, stream: true, messages: messagesFor(llm, q, this.history(from, q)) }),
        signal: abort.signal,
      });
      if (!res.ok || !res.body) throw new Error(`the model answered HTTP ${res.status}`);
      for await (const delta of sseDeltas(res.body)) {
        pending += delta;
        if (Date.now() - lastWrite >= FLUSH_MS && !(await flush(false))) return;
      }
      if (!written && !pending.trim()) pending = llm.refusal;
      await flush(true);
    } catch (err) {
      if (left || this.stopped) return;
      this.deps.log.warn({ sessionId: q.sessionId, err: (err as Error).message }, 'no usable answer from the model; the refusal answers');
      // What was already written stays; with nothing written, the refusal.
      if (!written) pending = llm.refusal;
      await flush(true);
    } finally {
      clearTimeout(timer);
      this.calls.delete(abort);
    }
  }

  /** The session's last turns before the question (which is the message just before the answer). */
  private history(from: Address, q: LlmQuestion): Turn[] {
    const questionSeq = q.seq - 1;
    return this.deps.earlier(from, q.sessionId, Math.max(1, questionSeq - HISTORY_MESSAGES), questionSeq)
      .filter((m) => m.seq < questionSeq)
      .map((m) => ({ role: m.fromRole === FromRole.User ? 'user' as const : 'assistant' as const, content: textOf(m.body as TimMsgElement[]) }))
      .filter((turn) => turn.content.length > 0);
  }
}

/** Messages of the conversation the model sees before the question. */
const HISTORY_MESSAGES = 10;

/** A message's text for the model: its text elements, or a rich-text or streamed answer's text. */
function textOf(body: readonly TimMsgElement[]): string {
  const payload = deskPayload(body);
  if (!payload) return plainText(body);
  if (payload.src === Src.RichText && typeof payload.content === 'string') return payload.content;
  if (payload.src === Src.Stream && Array.isArray(payload.chunks)) return payload.chunks.filter((c): c is string => typeof c === 'string').join('');
  return '';
}

/**
 * The system prompt with the knowledge the model may use and, when it must keep to it, what to say otherwise; then
 * the conversation so far and the question.
 */
export function messagesFor(llm: LlmSettings, q: Pick<LlmQuestion, 'question' | 'passages'>, history: Turn[] = []): { role: 'system' | 'user' | 'assistant'; content: string }[] {
  const parts = [llm.prompt];
  if (q.passages.length > 0) parts.push(`Knowledge (answer from it when it applies):\n\n${q.passages.join('\n\n')}`);
  if (llm.knowledgeOnly) parts.push(`Answer only from the knowledge above. If it does not answer the question, reply exactly: ${llm.refusal}`);
  return [{ role: 'system', content: parts.join('\n\n') }, ...history, { role: 'user', content: q.question }];
}
