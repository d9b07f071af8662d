/** Session settings: reception (mode, accept timeout, load per agent, to-human keywords) and the satisfaction rating. */
import { useEffect, useState } from 'preact/hooks';
import { restCall, webCall, type AdminCredentials } from '../lib/api';
import { t } from '../lib/i18n';
import { Failure, useChange, useRest } from './use-rest';

export function Settings({ admin }: { admin: AdminCredentials }) {
  return (
    <>
      <Reception admin={admin} />
      <Satisfaction admin={admin} />
      <LanguageModel admin={admin} />
    </>
  );
}

interface Reception { receptionMode: 'auto' | 'manual'; acceptTimeoutSec: number; maxConcurrentPerAgent: number; toHumanKeywords: string[]; agentReplyTimeoutSec: number }

function Reception({ admin }: { admin: AdminCredentials }) {
  const signed = { SdkAppId: admin.sdkAppId, Identifier: admin.identifier, UserSig: admin.userSig };
  const [current, setCurrent] = useState<Reception>();
  const [error, run] = useChange();
  const [note, setNote] = useState<string>();
  useEffect(() => { void run(async () => setCurrent((await webCall('session_settings', signed)).Settings)); }, []);
  const save = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const Settings = {
      receptionMode: String(f.get('mode')), acceptTimeoutSec: Number(f.get('acceptTimeout')), maxConcurrentPerAgent: Number(f.get('maxConcurrent')),
      agentReplyTimeoutSec: Number(f.get('agentReplyTimeout')), toHumanKeywords: String(f.get('keywords')).split(/[,，]/).map((k) => k.trim()).filter(Boolean),
    };
    if (await run(async () => setCurrent((await webCall('session_settings', { ...signed, Settings })).Settings))) setNote(t('saved'));
  };
  return (
    <section aria-labelledby="reception">
      <h2 id="reception">{t('settings')}</h2>
      <Failure error={error} />
      {current && (
        <form onSubmit={save} key={JSON.stringify(current)}>
          <label>{t('receptionMode')}
            <select name="mode" defaultValue={current.receptionMode}>
              <option value="auto">{t('auto')}</option>
              <option value="manual">{t('manual')}</option>
            </select>
          </label>
          <label>{t('acceptTimeout')}<input name="acceptTimeout" type="number" min={0} max={3600} required defaultValue={String(current.acceptTimeoutSec)} /></label>
          <label>{t('maxConcurrent')}<input name="maxConcurrent" type="number" min={1} max={1000} required defaultValue={String(current.maxConcurrentPerAgent)} /></label>
          <label>{t('agentReplyTimeout')}<input name="agentReplyTimeout" type="number" min={0} max={86400} required defaultValue={String(current.agentReplyTimeoutSec)} /></label>
          <label>{t('keywords')}<input name="keywords" defaultValue={current.toHumanKeywords.join(', ')} /></label>
          <div class="row"><button type="submit" class="primary">{t('save')}</button>{note && <span role="status" class="muted">{note}</span>}</div>
        </form>
      )}
    </section>
  );
}

function Satisfaction({ admin }: { admin: AdminCredentials }) {
  const current = useRest(admin, 'desk_http_svc/get_satisfaction_settings');
  const [error, run] = useChange();
  const [note, setNote] = useState<string>();
  const d = current.data?.Data;
  const save = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const saved = await run(() => restCall(admin, 'desk_http_svc/update_satisfaction_settings', {
      SatisfactionEnabled: f.get('enabled') ? 1 : 0,
      InvitationMethod: Number(f.get('method')),
      // The API takes the whole content: the levels and validity stay as they are.
      SatisfactionContent: { ...d?.SatisfactionContent, RatingInvitationMessage: String(f.get('invitation')), SubmissionMessage: String(f.get('submission')) },
    }));
    if (saved) {
      setNote(t('saved'));
      current.reload();
    }
  };
  return (
    <section aria-labelledby="settings">
      <h2 id="settings">{t('satisfaction')}</h2>
      <Failure error={error ?? current.error} />
      {d && (
        <form onSubmit={save} key={JSON.stringify(d)}>
          <label class="row"><input type="checkbox" name="enabled" defaultChecked={d.SatisfactionEnabled === 1} /> {t('on')}</label>
          <label>{t('inviteRating')}
            <select name="method" defaultValue={String(d.InvitationMethod)}>
              <option value="1">1 · auto</option>
              <option value="2">2 · agent</option>
              <option value="3">3 · both</option>
            </select>
          </label>
          <label>{t('ratingCard')}<input name="invitation" maxLength={500} defaultValue={d.SatisfactionContent?.RatingInvitationMessage} /></label>
          <label>{t('submitted')}<input name="submission" maxLength={500} defaultValue={d.SatisfactionContent?.SubmissionMessage} /></label>
          <div class="row"><button type="submit" class="primary">{t('save')}</button>{note && <span role="status" class="muted">{note}</span>}</div>
        </form>
      )}
    </section>
  );
}

interface LlmShown { baseUrl: string; model: string; prompt: string; knowledgeOnly: boolean; refusal: string; timeoutMs: number; ApiKeySet: boolean }

/** The robot's language-model provider (大模型 mode): set, change, or turn off (the FAQs answer again). */
function LanguageModel({ admin }: { admin: AdminCredentials }) {
  const signed = { SdkAppId: admin.sdkAppId, Identifier: admin.identifier, UserSig: admin.userSig };
  const [current, setCurrent] = useState<LlmShown | null>();
  const [error, run] = useChange();
  const [note, setNote] = useState<string>();
  const answer = async (body: Record<string, unknown>) => setCurrent((await webCall('llm_settings', { ...signed, ...body })).Settings);
  useEffect(() => { void run(() => answer({})); }, []);
  const save = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const key = String(f.get('apiKey'));
    const Settings = {
      baseUrl: String(f.get('baseUrl')), model: String(f.get('model')), prompt: String(f.get('prompt')), refusal: String(f.get('refusal')),
      knowledgeOnly: f.get('knowledgeOnly') === 'on', timeoutMs: Number(f.get('timeoutSec')) * 1000, ...(key ? { apiKey: key } : {}),
    };
    if (await run(() => answer({ Settings }))) setNote(t('saved'));
  };
  if (current === undefined) return <Failure error={error} />;
  return (
    <section aria-labelledby="llm">
      <h2 id="llm">{t('languageModel')}</h2>
      <p class="muted">{t('languageModelHelp')}</p>
      <Failure error={error} />
      <form onSubmit={save} key={JSON.stringify(current)}>
        <label>{t('baseUrl')}<input name="baseUrl" type="url" required placeholder="https://api.example.com/v1" defaultValue={current?.baseUrl} /></label>
        <label>{t('model')}<input name="model" required maxLength={200} defaultValue={current?.model} /></label>
        <label>{t('apiKey')}<input name="apiKey" type="password" autoComplete="off" maxLength={1000} placeholder={current?.ApiKeySet ? t('apiKeyKept') : ''} /></label>
        <label>{t('prompt')}<textarea name="prompt" rows={3} required maxLength={8000} defaultValue={current?.prompt ?? ''} /></label>
        <label class="row"><input type="checkbox" name="knowledgeOnly" defaultChecked={current?.knowledgeOnly} /> {t('knowledgeOnly')}</label>
        <label>{t('refusal')}<input name="refusal" required maxLength={2000} defaultValue={current?.refusal ?? ''} /></label>
        <label>{t('timeoutSec')}<input name="timeoutSec" type="number" min={1} max={300} required defaultValue={String((current?.timeoutMs ?? 20_000) / 1000)} /></label>
        <div class="row">
          <button type="submit" class="primary">{t('save')}</button>
          {current && <button type="button" onClick={() => void run(() => answer({ Off: true })).then((done) => done && setNote(t('saved')))}>{t('turnOff')}</button>}
          {note && <span role="status" class="muted">{note}</span>}
        </div>
      </form>
    </section>
  );
}
