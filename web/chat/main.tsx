/**
 * The user chat page (the product's no-development H5): opened with a signed link
 * (`/chat/?sdkappid=…&userid=…&usersig=…&account=…`) or, when the app allows it, a demo UserSig from the server.
 */
import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import '../lib/style.css';
import { webCall } from '../lib/api';
import { lastSeq, syncHistory } from '../lib/history';
import { t } from '../lib/i18n';
import { deskBody, deskPayload, mergeMessages, textBody, type ChatMessage, type MessageElement } from '../lib/messages';
import { DeskSocket, newRandom, type Credentials } from '../lib/socket';
import { Composer, ConnectionBadge, LangSwitch, MessageList, Toast, useConnection, useSocketTrouble, useToast } from '../lib/ui';

interface Entry { creds: Credentials; account: string }

const TYPING_SHOWN_MS = 4000;

async function entry(): Promise<Entry> {
  const q = new URLSearchParams(location.search);
  const sdkAppId = Number(q.get('sdkappid'));
  if (!Number.isInteger(sdkAppId) || sdkAppId <= 0) throw new Error(t('badLink'));
  const userSig = q.get('usersig');
  const userId = q.get('userid');
  if (userSig && userId) return { creds: { sdkAppId, identifier: userId, userSig, role: 'user' }, account: q.get('account') ?? '@customer_service_account' };
  // A demo visitor keeps one id in this browser while its sig is valid.
  const key = `desk.chat.demo.${sdkAppId}`;
  let demo = JSON.parse(localStorage.getItem(key) ?? 'null') as { UserId: string; UserSig: string; ExpireTime: number; CsAccount: string } | null;
  if (!demo || demo.ExpireTime * 1000 < Date.now() + 60_000) {
    try {
      const r = await webCall('demo_usersig', { SdkAppId: sdkAppId, ...(demo ? { UserId: demo.UserId } : {}) });
      demo = { UserId: r.UserId, UserSig: r.UserSig, ExpireTime: r.ExpireTime, CsAccount: r.CsAccount };
    } catch (err) {
      throw new Error((err as { code?: number }).code === 141004 ? t('demoOff') : String((err as Error).message));
    }
    localStorage.setItem(key, JSON.stringify(demo));
  }
  return { creds: { sdkAppId, identifier: demo.UserId, userSig: demo.UserSig, role: 'user' }, account: q.get('account') ?? demo.CsAccount };
}

function Chat({ creds, account }: Entry) {
  const socket = useMemo(() => new DeskSocket(creds), [creds]);
  const conn = useConnection(socket);
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [inSeat, setInSeat] = useState(false);
  const [ruleFlag, setRuleFlag] = useState(0);
  const [typingUntil, setTypingUntil] = useState(0);
  const [toast, showToast] = useToast();
  const fatal = useSocketTrouble(socket, showToast);
  const [, redraw] = useState(0);
  // How far the conversation was read: pushes may skip messages (while offline), reads never do.
  const synced = useRef(0);

  useEffect(() => {
    const catchUp = async () => {
      const earlier = await syncHistory(socket, { to: account }, synced.current);
      synced.current = Math.max(synced.current, lastSeq(earlier));
      setMessages((list) => mergeMessages(list, earlier));
    };
    const offs = [
      socket.on('open', async () => {
        try {
          await catchUp();
          // Entering the conversation (src 7) starts or continues the service flow and brings the flags.
          await socket.request('message.send', { to: account, random: newRandom(), body: deskBody({ src: '7' }) });
        } catch (err) {
          showToast((err as Error).message);
        }
      }),
      socket.on('message', (m) => {
        const msg = m as ChatMessage;
        if (msg.account !== account) return;
        if (!msg.transient) {
          setMessages((list) => mergeMessages(list, [msg]));
          return;
        }
        const p = deskPayload(msg.body);
        const src = p?.src as string | undefined;
        const content = p?.content ?? {};
        if (src === '26') setInSeat(content.content === 'inSeat');
        if (src === '23') setRuleFlag(Number(content.menuSendRuleFlag) || 0);
        if (src === '12') setTypingUntil(Date.now() + TYPING_SHOWN_MS);
      }),
      // The conversation moved to another server node: what it stored last may not have been pushed.
      socket.on('history.hint', (h) => {
        if (h.account === account && h.seq > synced.current) catchUp().catch((err: Error) => showToast(err.message));
      }),
      socket.on('message.edit', (e) => {
        if (e.account !== account) return;
        setMessages((list) => list.map((m) => (m.seq === e.seq && !m.pending ? { ...m, body: e.body } : m)));
      }),
    ];
    socket.connect();
    return () => { offs.forEach((off) => off()); socket.close(); };
  }, [socket, account]);

  useEffect(() => {
    if (typingUntil <= Date.now()) return;
    const timer = setTimeout(() => redraw((n) => n + 1), typingUntil - Date.now() + 10);
    return () => clearTimeout(timer);
  }, [typingUntil]);

  const send = async (body: MessageElement[], cloudCustomData?: string, random = newRandom()) => {
    const pending: ChatMessage = { sessionId: '', account, seq: 0, msgKey: '', from: creds.identifier, fromRole: 1, time: 0, body, pending: { random }, ...(cloudCustomData ? { cloudCustomData } : {}) };
    const transient = body[0]?.MsgType === 'TIMCustomElem';
    if (!transient) setMessages((list) => [...list.filter((m) => m.pending?.random !== random), pending]);
    try {
      const ack = await socket.request('message.send', { to: account, random, body, ...(cloudCustomData ? { cloudCustomData } : {}) });
      setMessages((list) => mergeMessages(list.filter((m) => m.pending?.random !== random),
        ack.transient ? [] : [{ ...pending, pending: undefined, sessionId: ack.sessionId, seq: ack.seq, msgKey: ack.msgKey, time: ack.time }]));
    } catch (err) {
      setMessages((list) => list.map((m) => (m.pending?.random === random ? { ...m, pending: { random, failed: true } } : m)));
      showToast((err as Error).message);
    }
  };
  const actions = {
    sendText: (text: string, cloudCustomData?: string) => void send(textBody(text), cloudCustomData),
    sendPayload: (payload: Record<string, unknown>) => void send(deskBody(payload)),
  };
  const failed = messages.filter((m) => m.pending?.failed);

  return (
    <div class="chat-page">
      <header class="bar">
        <h1>{t('chat')}</h1>
        <ConnectionBadge state={conn} />
        {inSeat && (ruleFlag & 4) !== 0 && <button type="button" onClick={() => actions.sendPayload({ src: '24' })}>{t('rate')}</button>}
        {inSeat && <button type="button" class="danger" onClick={() => actions.sendPayload({ src: '27' })}>{t('endChat')}</button>}
        <LangSwitch onChange={() => redraw((n) => n + 1)} />
      </header>
      {fatal && <p class="banner error" role="alert">{fatal}</p>}
      {inSeat && <p class="banner">{t('agentJoined')}</p>}
      <MessageList messages={messages} mineRole={1} actions={actions} typing={typingUntil > Date.now()} />
      {failed.length > 0 && (
        <div class="banner error">
          {t('failed')} <button type="button" onClick={() => failed.forEach((m) => void send(m.body, m.cloudCustomData, m.pending!.random))}>{t('retry')}</button>
        </div>
      )}
      <Composer id="chat-input" disabled={conn !== 'open'} onSend={(text) => actions.sendText(text)} />
      <Toast text={toast} />
    </div>
  );
}

function App() {
  const [state, setState] = useState<Entry | string>();
  useEffect(() => { entry().then(setState, (err: Error) => setState(err.message)); }, []);
  if (state === undefined) return <p class="center">{t('connecting')}</p>;
  if (typeof state === 'string') return <p class="center banner error" role="alert">{state}</p>;
  return <Chat {...state} />;
}

render(<App />, document.getElementById('app')!);
