/** A conversation's messages as both pages show them: text, Desk `src` payloads (docs/protocol.md), and other elements. */
import DOMPurify from 'dompurify';
import { marked } from 'marked';
import { Component, type ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { t } from './i18n';

export interface MessageElement { MsgType: string; MsgContent: Record<string, any> }
export interface ChatMessage {
  sessionId: string;
  account: string;
  seq: number;
  msgKey: string;
  from: string;
  fromRole: 1 | 2 | 3;
  time: number;
  body: MessageElement[];
  cloudCustomData?: string;
  transient?: boolean;
  /** The page's own: a message sent and not yet acknowledged (`random` is its retry key), or one that failed. */
  pending?: { random: number; failed?: boolean };
}

/** The Desk payload of a body (`{"customerServicePlugin":0,"src":…}` in a custom element), if it is one. */
export function deskPayload(body: readonly MessageElement[]): Record<string, any> | undefined {
  const first = body[0];
  if (!first || first.MsgType !== 'TIMCustomElem' || typeof first.MsgContent?.Data !== 'string') return undefined;
  try {
    const d = JSON.parse(first.MsgContent.Data) as Record<string, any>;
    return d && d.customerServicePlugin === 0 && typeof d.src === 'string' ? d : undefined;
  } catch {
    return undefined;
  }
}

/** A body carrying one Desk payload. */
export function deskBody(payload: Record<string, unknown>): MessageElement[] {
  return [{ MsgType: 'TIMCustomElem', MsgContent: { Data: JSON.stringify({ customerServicePlugin: 0, ...payload }) } }];
}

export function textBody(text: string): MessageElement[] {
  return [{ MsgType: 'TIMTextElem', MsgContent: { Text: text } }];
}

/** A short plain-text line for lists and notifications. */
export function summary(m: ChatMessage): string {
  const p = deskPayload(m.body);
  if (p) return p.src === '30' ? String(p.content ?? '').slice(0, 80) : p.content?.title ?? p.content?.header ?? p.content?.tip ?? `[${p.src}]`;
  return m.body.map((e) => (e.MsgType === 'TIMTextElem' ? e.MsgContent.Text : `[${e.MsgType.replace(/^TIM|Elem$/g, '')}]`)).join(' ');
}

/** Inserts or replaces by `seq` (the page's pending ones by their `random`), keeping seq order. */
export function mergeMessages(list: readonly ChatMessage[], incoming: readonly ChatMessage[]): ChatMessage[] {
  const bySeq = new Map<number, ChatMessage>();
  const pending: ChatMessage[] = [];
  for (const m of [...list, ...incoming]) {
    if (m.pending) pending.push(m);
    else if (m.seq > 0) bySeq.set(m.seq, m);
  }
  return [...[...bySeq.values()].sort((a, b) => a.seq - b.seq), ...pending];
}

export interface MessageActions {
  /** Sends a text as the user (a clarify item, a branch option); absent on the agent's side. */
  sendText?(text: string, cloudCustomData?: string): void;
  sendPayload?(payload: Record<string, unknown>): void;
}

/**
 * What rich text may hold: text formatting, links, pictures and tables. No forms, buttons, inputs or styles: an
 * answer must not be able to draw a fake sign-in box or cover the page.
 */
const MARKDOWN_TAGS = ['p', 'br', 'hr', 'strong', 'b', 'em', 'i', 'del', 's', 'code', 'pre', 'blockquote', 'a', 'img', 'ul', 'ol', 'li',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'thead', 'tbody', 'tr', 'th', 'td'];
const MARKDOWN_ATTRS = ['href', 'src', 'alt', 'title'];
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

function Markdown({ text }: { text: string }) {
  const html = DOMPurify.sanitize(marked.parse(text, { async: false }) as string, { ALLOWED_TAGS: MARKDOWN_TAGS, ALLOWED_ATTR: MARKDOWN_ATTRS });
  return <div class="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
}

function Choices({ items, act, disabled }: { items: { content: string; desc?: string }[]; act?: (text: string) => void; disabled?: boolean }) {
  return (
    <ul class="choices">
      {items.map((it) => (
        <li key={String(it.content)}>
          <button type="button" class="choice" disabled={disabled || !act} onClick={() => act?.(String(it.content))} title={typeof it.desc === 'string' ? it.desc : undefined}>{String(it.content)}</button>
        </li>
      ))}
    </ul>
  );
}

function RatingCard({ p, actions }: { p: Record<string, any>; actions: MessageActions }) {
  const menu = p.menuContent ?? {};
  const selected = menu.selected as { id: string; content: string } | undefined;
  return (
    <div class="card rating">
      <p>{menu.head || t('ratingCard')}</p>
      <div class="stars" role="group" aria-label={t('ratingCard')}>
        {listOf<{ id: string; content: string }>(menu.menu).map((o, i) => (
          <button type="button" key={o.id} class={selected && o.id <= selected.id ? 'star on' : 'star'} disabled={!!selected || !actions.sendPayload}
            aria-label={o.content} title={o.content}
            onClick={() => actions.sendPayload?.({ src: '10', menuSelected: { id: o.id, content: o.content, sessionId: menu.sessionId } })}>
            {menu.type === 2 ? i + 1 : '★'}
          </button>
        ))}
      </div>
      {selected && <p class="muted">{t('rated', { r: selected.content })}{menu.tail ? ` · ${menu.tail}` : ''}</p>}
    </div>
  );
}

function FormCard({ p, actions }: { p: Record<string, any>; actions: MessageActions }) {
  const c = p.content ?? {};
  const fields = listOf<{ name: string; formType: 0 | 1; placeholder?: string; chooseItemList?: unknown; isRequired: 0 | 1; variableValue?: string }>(c.inputVariables);
  const done = c.nodeStatus !== undefined && c.nodeStatus !== 0;
  const submit = (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget as HTMLFormElement);
    actions.sendPayload?.({ src: '33', content: { inputVariables: fields.map((f) => ({ name: f.name, isRequired: f.isRequired, variableValue: String(data.get(f.name) ?? '') })) } });
  };
  return (
    <form class="card form" onSubmit={submit}>
      <p>{c.tip}</p>
      {fields.map((f) => (
        <label key={f.name}>
          {f.name}{f.isRequired ? ' *' : ''}
          {f.formType === 1
            // Nothing chosen at first: an optional choice may stay empty, a required one must be made.
            ? (
              <select name={f.name} required={!!f.isRequired} disabled={done} defaultValue={f.variableValue ?? ''}>
                <option value="">{f.placeholder ?? '—'}</option>
                {(Array.isArray(f.chooseItemList) ? f.chooseItemList : []).map((o) => <option key={String(o)}>{String(o)}</option>)}
              </select>
            )
            : <input name={f.name} required={!!f.isRequired} placeholder={f.placeholder} defaultValue={f.variableValue} disabled={done} />}
        </label>
      ))}
      <button type="submit" disabled={done || !actions.sendPayload}>{done ? t('submitted') : t('submit')}</button>
    </form>
  );
}

function Payload({ p, m, actions, fromOther }: { p: Record<string, any>; m: ChatMessage; actions: MessageActions; fromOther: boolean }) {
  const c = p.content ?? {};
  switch (p.src) {
    case '9':
      return <RatingCard p={p} actions={actions} />;
    case '15':
    case '21':
    case '32': {
      const taskInfo = p.taskInfo;
      const fixed = p.src === '32' && p.optionType === 1;
      const chosen = c.selected?.content ?? (p.status === 2 ? '' : undefined);
      return (
        <div class="card branch">
          {c.header && <p>{c.header}</p>}
          <Choices items={listOf(c.items)} disabled={chosen !== undefined || p.status === 1}
            act={actions.sendText && ((text) => actions.sendText!(text, fixed ? JSON.stringify({ BranchOptionInfo: taskInfo }) : undefined))} />
          {c.tail && <p class="muted">{c.tail}</p>}
        </div>
      );
    }
    case '19':
      return <p class="notice">{t('sessionEnded')}</p>;
    case '20':
      return <p class="notice">{t('sessionTimedOut')}</p>;
    case '22': {
      const pic = safeUrl(c.pic);
      return (
        <a class="card product" href={safeUrl(c.url)} target="_blank" rel="noopener noreferrer">
          {pic && <Picture url={pic} held={fromOther && m.fromRole === 1} />}
          <strong>{c.header}</strong>
          <span>{c.desc}</span>
        </a>
      );
    }
    case '28':
      return (
        <div class="card order">
          <p>{c.guide}</p>
          <strong>{c.name}</strong>
          <span>{c.desc}</span>
          <dl>{listOf<{ name: unknown; value: unknown }>(c.customField).map((f, i) => [<dt key={`t${i}`}>{String(f.name)}</dt>, <dd key={`d${i}`}>{String(f.value)}</dd>])}</dl>
        </div>
      );
    case '29':
      return (
        <div class="card welcome">
          {c.title && <p><strong>{c.title}</strong></p>}
          {c.content && <p>{c.content}</p>}
          {listOf(c.items).length > 0 && <p class="muted">{t('chooseOne')}</p>}
          <Choices items={listOf(c.items)} act={actions.sendText} />
        </div>
      );
    case '30':
      return <Markdown text={String(c ?? '')} />;
    case '31':
      return <Markdown text={(p.chunks ?? []).join('')} />;
    case '33':
      return <FormCard p={p} actions={actions} />;
    default:
      return <p class="muted">[{m.body[0]?.MsgContent?.Data ?? p.src}]</p>;
  }
}

/** The objects of a payload's list field; anything else (a string, null entries) is left out. */
function listOf<T>(v: unknown): T[] {
  return Array.isArray(v) ? (v.filter((x) => x !== null && typeof x === 'object') as T[]) : [];
}

/** Only http(s) links and pictures are followed (a `javascript:` URL in a card must not run). */
function safeUrl(u: unknown): string | undefined {
  return typeof u === 'string' && /^https?:\/\//i.test(u) ? u : undefined;
}

/**
 * A picture; one a user sent is loaded only when asked for (loading it tells its host the viewer's address, and the
 * viewer of a user's message is an agent).
 */
function Picture({ url, held, cls }: { url: string; held: boolean; cls?: string }) {
  const [shown, setShown] = useState(!held);
  return shown ? <img class={cls} src={url} alt="" /> : <button type="button" class="choice" onClick={() => setShown(true)}>{t('showPicture')}</button>;
}

function Element({ e, fromUser }: { e: MessageElement; fromUser: boolean }) {
  const c = e.MsgContent ?? {};
  switch (e.MsgType) {
    case 'TIMTextElem':
      return <p class="text">{String(c.Text ?? '')}</p>;
    case 'TIMImageElem': {
      const url = safeUrl(c.ImageInfoArray?.[0]?.URL);
      return url ? <Picture cls="image" url={url} held={fromUser} /> : <p class="muted">[image]</p>;
    }
    case 'TIMFileElem':
      return <a href={safeUrl(c.Url)} target="_blank" rel="noopener noreferrer">{c.FileName ?? 'file'}</a>;
    case 'TIMFaceElem':
      return <p class="text">[{String(c.Data ?? c.Index ?? 'face')}]</p>;
    case 'TIMLocationElem':
      return <p class="text">📍 {String(c.Desc ?? `${c.Latitude}, ${c.Longitude}`)}</p>;
    case 'TIMCustomElem':
      return <p class="muted">{String(c.Desc || c.Data || '[custom]')}</p>;
    default:
      return <p class="muted">[{e.MsgType}]</p>;
  }
}

/**
 * The Desk payloads a user may send (cards, orders, form answers). Anything else from a user is shown as its text:
 * a user must not be able to draw rich text, rating cards or "session ended" notices on the agent's screen.
 */
const USER_PAYLOADS = new Set(['22', '28', '33']);

function FormAnswer({ p }: { p: Record<string, any> }) {
  const values = listOf<{ name: unknown; variableValue: unknown }>(p.content?.inputVariables);
  return <dl class="card answer">{values.map((v, i) => [<dt key={`t${i}`}>{String(v.name)}</dt>, <dd key={`d${i}`}>{String(v.variableValue)}</dd>])}</dl>;
}

/** A message whose content cannot be drawn is shown as such; the rest of the page goes on. */
export class MessageBoundary extends Component<{ children: ComponentChildren }, { failed: boolean }> {
  override state = { failed: false };
  override componentDidCatch(): void {
    this.setState({ failed: true });
  }
  override render() {
    return this.state.failed ? <li class="msg theirs muted">{t('unreadable')}</li> : this.props.children;
  }
}

/** One message as a bubble: on the viewer's side when `mine`. */
export function MessageView({ m, mine, actions, label }: { m: ChatMessage; mine: boolean; actions: MessageActions; label?: string }) {
  const payload = deskPayload(m.body);
  const p = payload && (m.fromRole !== 1 || USER_PAYLOADS.has(payload.src)) ? payload : undefined;
  const wide = p && ['9', '19', '20', '29', '32', '33'].includes(p.src);
  const cls = ['msg', mine ? 'mine' : 'theirs', m.fromRole === 3 ? 'system' : '', wide ? 'wide' : '', m.pending ? 'pending' : ''].join(' ');
  return (
    <li class={cls} data-seq={m.seq || undefined}>
      {label && <span class="who">{label}</span>}
      <div class="bubble">
        {p && m.fromRole === 1 && p.src === '33' ? <FormAnswer p={p} /> : p ? <Payload p={p} m={m} actions={actions} fromOther={!mine} /> : m.body.map((e, i) => <Element key={i} e={e} fromUser={m.fromRole === 1 && !mine} />)}
      </div>
      <span class="meta">
        {m.pending ? (m.pending.failed ? t('failed') : t('sending')) : m.time ? new Date(m.time).toLocaleTimeString() : ''}
      </span>
    </li>
  );
}
