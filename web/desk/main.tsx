/**
 * The agent workbench: sign in with the member's mail and password, set a status, take offered sessions, serve
 * several side by side (robot-phase history included), transfer, suspend, end, invite a rating.
 */
import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import '../lib/style.css';
import { lastSeq, syncHistory } from '../lib/history';
import { t } from '../lib/i18n';
import { mergeMessages, summary, textBody, type ChatMessage } from '../lib/messages';
import { DeskSocket, newRandom, type Credentials } from '../lib/socket';
import { Composer, ConnectionBadge, LangSwitch, MessageList, Toast, useConnection, useSocketTrouble, useToast } from '../lib/ui';
import { useAgentContext, type AgentContext } from './context';
import { alertNewSession, enableNotifications } from './notify';
import { PasswordChange } from './password';
import { SignIn, useSavedLogin, type Login } from '../lib/sign-in';

type Phase = 'offer' | 'serving' | 'transferred' | 'ended';
interface SessionView {
  sessionId: string;
  userId: string;
  csAccount: string;
  groupId?: number;
  phase: Phase;
  acceptDeadline?: number;
  suspended: boolean;
  messages: ChatMessage[];
  unread: number;
  note?: string;
}
type Status = 'free' | 'busy' | 'rest' | 'offline';

const TYPING_EVERY_MS = 3000;
const LOGIN_KEY = 'desk.agent';

function Workbench({ login, onSignOut }: { login: Login; onSignOut: () => void }) {
  const creds: Credentials = useMemo(() => ({ sdkAppId: login.sdkAppId, identifier: login.identifier, userSig: login.userSig, role: 'agent' }), [login]);
  const socket = useMemo(() => new DeskSocket(creds), [creds]);
  const conn = useConnection(socket);
  const context = useAgentContext(login);
  const [status, setStatus] = useState<{ status: Status; reason?: string }>({ status: 'offline' });
  const [sessions, setSessions] = useState<Record<string, SessionView>>({});
  const [open, setOpen] = useState<string[]>([]);
  const [toast, showToast] = useToast();
  const fatal = useSocketTrouble(socket, showToast, onSignOut);
  const [leaving, setLeaving] = useState(false);
  const [, redraw] = useState(0);
  const openRef = useRef(open);
  openRef.current = open;
  const current = useRef(sessions);
  current.current = sessions;
  const known = useRef(new Set<string>());

  // A session is made known by an offer, an assignment or agent.state (`summaryOf`); other pushes for a session the
  // page does not know (a rating after a reload, say) are not sessions to show.
  const update = (id: string, change: (s: SessionView) => Partial<SessionView>, summaryOf?: Record<string, any>) =>
    setSessions((all) => {
      if (!all[id] && !summaryOf) return all;
      const base: SessionView = all[id] ?? {
        sessionId: id, userId: summaryOf?.userId ?? '', csAccount: summaryOf?.csAccount ?? '', groupId: summaryOf?.groupId,
        phase: 'serving', suspended: false, messages: [], unread: 0,
      };
      return { ...all, [id]: { ...base, ...change(base) } };
    });

  // How far each session's history was read: pushes may skip messages (while offline), reads never do.
  const synced = useRef(new Map<string, number>());
  const loadHistory = async (id: string) => {
    try {
      const earlier = await syncHistory(socket, { sessionId: id }, synced.current.get(id) ?? 0);
      synced.current.set(id, Math.max(synced.current.get(id) ?? 0, lastSeq(earlier)));
      update(id, (s) => ({ messages: mergeMessages(s.messages, earlier) }));
    } catch (err) {
      showToast((err as Error).message);
    }
  };
  const show = (id: string) => {
    setOpen((o) => (o.includes(id) ? o : [...o.slice(-2), id]));
    update(id, () => ({ unread: 0 }));
  };

  useEffect(() => {
    const arrived = (phase: Phase) => (d: Record<string, any>) => {
      const isNew = !known.current.has(d.sessionId) || (phase === 'offer' && current.current[d.sessionId]?.phase !== 'offer' && current.current[d.sessionId]?.phase !== 'serving');
      known.current.add(d.sessionId);
      update(d.sessionId, () => ({ phase, acceptDeadline: d.acceptDeadline, userId: d.userId, csAccount: d.csAccount, groupId: d.groupId, note: undefined }), d);
      void loadHistory(d.sessionId);
      if (isNew) alertNewSession(d.userId);
      if (phase === 'serving') show(d.sessionId);
    };
    const offs = [
      socket.on('agent.state', (d) => {
        setStatus({ status: d.status, reason: d.reason });
        // What the member holds now: in service, unless the session.offer that follows says it waits for an accept.
        const held = new Set<string>();
        for (const s of d.sessions ?? []) {
          held.add(s.sessionId);
          known.current.add(s.sessionId);
          update(s.sessionId, () => ({ phase: 'serving', suspended: !!s.suspended, userId: s.userId, csAccount: s.csAccount }), s);
          void loadHistory(s.sessionId);
        }
        // Sessions that ended or moved while the page was away.
        for (const v of Object.values(current.current)) {
          if ((v.phase === 'offer' || v.phase === 'serving') && !held.has(v.sessionId)) update(v.sessionId, () => ({ phase: 'ended', note: t('noLongerYours') }));
        }
      }),
      socket.on('agent.status', (d) => setStatus({ status: d.status, reason: d.reason })),
      socket.on('session.offer', arrived('offer')),
      socket.on('session.assigned', arrived('serving')),
      socket.on('session.transferred', (d) => update(d.sessionId, () => ({ phase: 'transferred', note: d.to ? t('transferredAway', { to: d.to }) : d.reason }))),
      socket.on('session.ended', (d) => update(d.sessionId, () => ({ phase: 'ended', note: `${t('sessionEnded')} · ${d.endStatus}` }))),
      socket.on('message', (m) => {
        const msg = m as ChatMessage;
        if (!msg.sessionId || msg.transient) return;
        update(msg.sessionId, (s) => ({ messages: mergeMessages(s.messages, [msg]), unread: openRef.current.includes(msg.sessionId) ? 0 : s.unread + 1 }));
      }),
      // A session moved to another server node: what it stored last may not have been pushed.
      socket.on('history.hint', (h) => {
        if (known.current.has(h.sessionId) && h.seq > (synced.current.get(h.sessionId) ?? 0)) void loadHistory(h.sessionId);
      }),
      socket.on('message.edit', (e) => update(e.sessionId, (s) => ({ messages: s.messages.map((m) => (m.seq === e.seq && !m.pending ? { ...m, body: e.body } : m)) }))),
    ];
    socket.connect();
    return () => { offs.forEach((off) => off()); socket.close(); };
  }, [socket]);

  // Offer countdowns tick.
  useEffect(() => {
    const timer = setInterval(() => redraw((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, []);

  const act = async (type: string, data: Record<string, unknown>) => {
    try {
      return await socket.request(type, data);
    } catch (err) {
      showToast(`${(err as Error).message}`);
      return undefined;
    }
  };
  const setMyStatus = async (next: Status, reason?: string) => {
    const r = await act('agent.status', { status: next, ...(reason ? { reason } : {}) });
    if (r) setStatus({ status: r.status, reason: r.reason });
  };

  const list = Object.values(sessions);
  const offers = list.filter((s) => s.phase === 'offer');
  const serving = list.filter((s) => s.phase === 'serving');
  const done = list.filter((s) => s.phase === 'ended' || s.phase === 'transferred');

  return (
    <div class="desk">
      <header class="bar">
        <h1>{t('workbench')}</h1>
        <span>{login.nickname || login.identifier}</span>
        <ConnectionBadge state={conn} />
        <StatusSwitch status={status} onChange={setMyStatus} />
        <button type="button" onClick={() => void enableNotifications()}>{t('notifications')}</button>
        <LangSwitch onChange={() => redraw((n) => n + 1)} />
        <button type="button" disabled={leaving} title={t('signOutOffline')} onClick={async () => {
          setLeaving(true);
          // Offline first (on every device of the member), but not waiting long for it.
          await Promise.race([act('agent.status', { status: 'offline' }), new Promise((r) => setTimeout(r, 2000))]);
          onSignOut();
        }}>{t('signOut')}</button>
      </header>
      <aside class="sessions" aria-label={t('inService')}>
        {fatal && <p class="banner error" role="alert">{fatal}</p>}
        {offers.length > 0 && (
          <section aria-label={t('offers')}>
            <h2>{t('offers')}</h2>
            <ul>
              {offers.map((s) => (
                <li key={s.sessionId} class="offer">
                  <strong>{s.userId}</strong>
                  <span class="line">{summary(s.messages[s.messages.length - 1] ?? emptyMessage)}</span>
                  {s.acceptDeadline && <span class="muted">{t('acceptIn', { s: Math.max(0, Math.ceil((s.acceptDeadline - Date.now()) / 1000)) })}</span>}
                  <div class="row">
                    <button type="button" class="primary" onClick={async () => { if (await act('session.accept', { sessionId: s.sessionId })) show(s.sessionId); }}>{t('accept')}</button>
                    <button type="button" onClick={() => show(s.sessionId)}>{t('view')}</button>
                  </div>
                </li>
              ))}
            </ul>
          </section>
        )}
        <SessionList title={t('inService')} items={serving} open={open} onOpen={show} />
        {done.length > 0 && <SessionList title={t('ended')} items={done} open={open} onOpen={show} />}
        {list.length === 0 && <p class="muted">{t('noSessions')}</p>}
        <PasswordChange login={login} />
      </aside>
      <main class="panes">
        {open.map((id) => sessions[id]).filter(Boolean).map((s) => (
          <Pane key={s!.sessionId} s={s!} me={login.identifier} socket={socket} context={context} act={act}
            onSent={(m) => update(s!.sessionId, (v) => ({ messages: mergeMessages(v.messages, [m]) }))}
            onSuspended={(suspended) => update(s!.sessionId, () => ({ suspended }))}
            onClose={() => setOpen((o) => o.filter((x) => x !== s!.sessionId))} />
        ))}
      </main>
      <Toast text={toast} />
    </div>
  );
}

const emptyMessage: ChatMessage = { sessionId: '', account: '', seq: 0, msgKey: '', from: '', fromRole: 3, time: 0, body: [] };

function StatusSwitch({ status, onChange }: { status: { status: Status; reason?: string }; onChange: (s: Status, reason?: string) => void }) {
  const [reason, setReason] = useState(status.reason ?? '');
  return (
    <span class="row status">
      <label>
        <span class="sr-only">{t('status')}</span>
        <select aria-label={t('status')} value={status.status} onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value as Status, reason || undefined)}>
          {(['free', 'busy', 'rest', 'offline'] as const).map((s) => <option key={s} value={s}>{t(s)}</option>)}
        </select>
      </label>
      {status.status === 'rest' && (
        <input aria-label={t('restReason')} placeholder={t('restReason')} maxLength={64} value={reason}
          onInput={(e) => setReason((e.currentTarget as HTMLInputElement).value)}
          onChange={(e) => onChange('rest', (e.currentTarget as HTMLInputElement).value || undefined)} />
      )}
    </span>
  );
}

function SessionList({ title, items, open, onOpen }: { title: string; items: SessionView[]; open: string[]; onOpen: (id: string) => void }) {
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      <ul>
        {items.map((s) => (
          <li key={s.sessionId}>
            <button type="button" class={`session-item${open.includes(s.sessionId) ? ' selected' : ''}`} onClick={() => onOpen(s.sessionId)}>
              <strong>{s.userId}{s.suspended ? ` · ${t('suspended')}` : ''}</strong>
              <span class="line">{s.note ?? summary(s.messages[s.messages.length - 1] ?? emptyMessage)}</span>
              {s.unread > 0 && <span class="unread">{s.unread}</span>}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Pane({ s, me, socket, context, act, onSent, onSuspended, onClose }: {
  s: SessionView;
  me: string;
  socket: DeskSocket;
  context: AgentContext | undefined;
  act: (type: string, data: Record<string, unknown>) => Promise<Record<string, any> | undefined>;
  onSent: (m: ChatMessage) => void;
  onSuspended: (suspended: boolean) => void;
  onClose: () => void;
}) {
  const [transferring, setTransferring] = useState(false);
  const lastTyping = useRef(0);
  const serving = s.phase === 'serving';
  const id = s.sessionId;
  const send = async (text: string): Promise<boolean> => {
    const ack = await act('message.send', { sessionId: id, random: newRandom(), body: textBody(text) });
    if (ack) onSent({ sessionId: id, account: s.csAccount, seq: ack.seq, msgKey: ack.msgKey, from: me, fromRole: 2, time: ack.time, body: textBody(text) });
    return !!ack;
  };
  const typing = () => {
    if (!serving || Date.now() - lastTyping.current < TYPING_EVERY_MS) return;
    lastTyping.current = Date.now();
    socket.request('typing', { sessionId: id }).catch(() => undefined);
  };
  const labelOf = (m: ChatMessage) => (m.fromRole === 1 ? s.userId : m.fromRole === 2 ? m.from : t('robotPhase'));
  return (
    <section class="pane" aria-label={`${t('session')} ${s.userId}`}>
      <header>
        <h2>{s.userId} <span class="muted">· {s.csAccount}</span></h2>
        {s.note && <span class="badge">{s.note}</span>}
        <button type="button" aria-label={t('close')} onClick={onClose}>×</button>
      </header>
      <MessageList messages={s.messages} mineRole={2} actions={{}} labelOf={labelOf} />
      {serving && (
        <div class="tools">
          <button type="button" onClick={() => setTransferring((v) => !v)} aria-expanded={transferring}>{t('transfer')}</button>
          {s.suspended
            ? <button type="button" onClick={async () => { if (await act('session.unsuspend', { sessionId: id })) onSuspended(false); }}>{t('unsuspend')}</button>
            : <button type="button" onClick={async () => { if (await act('session.suspend', { sessionId: id })) onSuspended(true); }}>{t('suspend')}</button>}
          <button type="button" onClick={() => void act('session.invite_rating', { sessionId: id })}>{t('inviteRating')}</button>
          <button type="button" class="danger" onClick={() => void act('session.end', { sessionId: id })}>{t('end')}</button>
        </div>
      )}
      {serving && transferring && <TransferDialog context={context} groupId={s.groupId} onCancel={() => setTransferring(false)}
        onTransfer={async (target) => { if (await act('session.transfer', { sessionId: id, ...target })) setTransferring(false); }} />}
      {serving && (
        <Composer id={`input-${id}`} onSend={send} onTyping={typing}
          extra={context && context.quickReplies.length > 0 && (
            <label>
              <span class="sr-only">{t('quickReplies')}</span>
              <select aria-label={t('quickReplies')} value="" onChange={(e) => { const v = (e.currentTarget as HTMLSelectElement).value; if (v) void send(v); }}>
                <option value="">{t('quickReplies')}</option>
                {context.quickReplies.map((q) => <option key={q.id} value={q.content}>{q.title}</option>)}
              </select>
            </label>
          )} />
      )}
    </section>
  );
}

function TransferDialog({ context, groupId, onCancel, onTransfer }: {
  context: AgentContext | undefined;
  groupId?: number;
  onCancel: () => void;
  onTransfer: (target: { groupId?: number; memberId?: string }) => void;
}) {
  // No group chosen: the server takes the group bound to the session's account.
  const [group, setGroup] = useState('');
  const [member, setMember] = useState('');
  const shown = group === '' ? groupId : Number(group);
  const members = context?.members.filter((m) => shown === undefined || m.groupIds.includes(shown)) ?? [];
  return (
    <form class="dialog" onSubmit={(e) => { e.preventDefault(); onTransfer({ ...(group ? { groupId: Number(group) } : {}), ...(member ? { memberId: member } : {}) }); }}>
      <strong>{t('transferTo')}</strong>
      <div class="row">
        <label>{t('group')}
          {context
            ? <select value={group} onChange={(e) => { setGroup((e.currentTarget as HTMLSelectElement).value); setMember(''); }}>
                <option value="">{t('accountGroup')}</option>
                {context.groups.map((g) => <option key={g.id} value={g.id}>{g.name}</option>)}
              </select>
            : <input inputMode="numeric" value={group} onInput={(e) => setGroup((e.currentTarget as HTMLInputElement).value)} />}
        </label>
        <label>{t('member')}
          <select value={member} onChange={(e) => setMember((e.currentTarget as HTMLSelectElement).value)}>
            <option value="">{t('anyMember')}</option>
            {members.map((m) => <option key={m.mail} value={m.mail}>{m.nickname || m.mail}</option>)}
          </select>
        </label>
      </div>
      <div class="row">
        <button type="submit" class="primary">{t('transfer')}</button>
        <button type="button" onClick={onCancel}>{t('cancel')}</button>
      </div>
    </form>
  );
}

function App() {
  const [login, keep, forget] = useSavedLogin(LOGIN_KEY);
  const [, redraw] = useState(0);
  if (!login) return <SignIn purpose="workbench" title={t('workbench')} onLangChange={() => redraw((n) => n + 1)} onSignedIn={keep} />;
  return <Workbench login={login} onSignOut={forget} />;
}

render(<App />, document.getElementById('app')!);
