/** Pieces the three pages share: the language switch, the connection badge, the message list and composer. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { currentLang, setLang, t } from './i18n';
import { MessageBoundary, MessageView, type ChatMessage, type MessageActions } from './messages';
import type { ConnectionState, DeskSocket } from './socket';

export function LangSwitch({ onChange }: { onChange: () => void }) {
  return (
    <label class="lang">
      <span class="sr-only">{t('language')}</span>
      <select value={currentLang()} onChange={(e) => { setLang((e.currentTarget as HTMLSelectElement).value as 'zh' | 'en'); onChange(); }}>
        <option value="zh">中文</option>
        <option value="en">English</option>
      </select>
    </label>
  );
}

/** Re-renders the caller when `socket` connects or drops. */
export function useConnection(socket: DeskSocket | undefined): ConnectionState {
  const [state, setState] = useState<ConnectionState>(socket?.state ?? 'closed');
  useEffect(() => socket?.on('state', (d) => setState(d.state)), [socket]);
  return state;
}

export function ConnectionBadge({ state }: { state: ConnectionState }) {
  const text = state === 'open' ? t('connected') : state === 'connecting' ? t('connecting') : t('disconnected');
  return <span class={`badge conn ${state}`} role="status">{text}</span>;
}

/** The messages of one conversation, kept scrolled to the newest while the reader is at the bottom. */
export function MessageList({ messages, mineRole, actions, labelOf, typing }: {
  messages: readonly ChatMessage[];
  mineRole: 1 | 2;
  actions: MessageActions;
  labelOf?: (m: ChatMessage) => string | undefined;
  typing?: boolean;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [messages, typing]);
  return (
    <div class="messages" ref={ref} role="log" aria-live="polite" tabIndex={0}
      onScroll={(e) => { const el = e.currentTarget; stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40; }}>
      <ol>
        {messages.map((m) => (
          <MessageBoundary key={m.pending ? `p${m.pending.random}` : m.seq}>
            <MessageView m={m} mine={m.fromRole === mineRole} actions={actions} label={labelOf?.(m)} />
          </MessageBoundary>
        ))}
        {typing && <li class="typing muted">{t('typing')}</li>}
      </ol>
    </div>
  );
}

/** A text box that sends on Enter (Shift+Enter: new line) and reports typing. */
export function Composer({ onSend, onTyping, disabled, id, extra }: {
  /** Resolving to false gives the text back to the box (it was not sent). */
  onSend: (text: string) => void | Promise<boolean>;
  onTyping?: () => void;
  disabled?: boolean;
  id: string;
  extra?: preact.ComponentChildren;
}) {
  const [text, setText] = useState('');
  const send = async () => {
    const s = text.trim();
    if (!s || disabled) return;
    setText('');
    if ((await onSend(s)) === false) setText((now) => now || s);
  };
  return (
    <form class="composer" onSubmit={(e) => { e.preventDefault(); void send(); }}>
      {extra}
      <label for={id} class="sr-only">{t('typeMessage')}</label>
      <textarea id={id} rows={2} value={text} placeholder={t('typeMessage')} disabled={disabled}
        onInput={(e) => { setText((e.currentTarget as HTMLTextAreaElement).value); onTyping?.(); }}
        onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); void send(); } }} />
      <button type="submit" disabled={disabled || !text.trim()}>{t('send')}</button>
    </form>
  );
}

/** A refused sign-in sig (expired, or signed with another key): the page must sign in again. */
const SIG_CODES = new Set([70001, 70003, 70009, 70013, 70014]);

/**
 * What went wrong on the socket: a refusal that ends it (close codes 4500–4999) is kept as a banner until the socket
 * opens again; other `error` frames without a request (a rate limit, a late reply) are shown for a moment. A refused
 * sig calls `onSigRefused` (the page goes back to its sign-in).
 */
export function useSocketTrouble(socket: DeskSocket, showToast: (s: string) => void, onSigRefused?: () => void): string | undefined {
  const [fatal, setFatal] = useState<string>();
  useEffect(() => {
    let refusal: string | undefined;
    const offs = [
      socket.on('open', () => setFatal(undefined)),
      socket.on('error', (e) => {
        refusal = `${e.info} (${e.code})`;
        if (SIG_CODES.has(e.code)) onSigRefused?.();
        else showToast(refusal);
      }),
      socket.on('fatal', (e) => setFatal(refusal ?? `${e.reason || t('error')} (${e.code})`)),
    ];
    return () => offs.forEach((off) => off());
  }, [socket]);
  return fatal;
}

/** Shows a failure for a few seconds. */
export function useToast(): [string | undefined, (s: string) => void] {
  const [msg, setMsg] = useState<string>();
  const timer = useRef<number | undefined>(undefined);
  return [msg, (s: string) => {
    setMsg(s);
    clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setMsg(undefined), 5000);
  }];
}

export function Toast({ text }: { text?: string }) {
  return text ? <div class="toast" role="alert">{text}</div> : null;
}
