/** The sign-in form of the workbench and the console: SDKAppID, member mail and password. */
import { useEffect, useState } from 'preact/hooks';
import { tabStore, webCall } from './api';
import { t } from './i18n';
import { LangSwitch } from './ui';

/** A signed-in page's credentials: a UserSig for `identifier` (the member, or the app admin on the console). */
/** `expiresAt`: when the sig runs out by this browser's clock (from its validity, so a wrong clock does not matter). */
export interface Login { sdkAppId: number; identifier: string; userSig: string; expiresAt: number; nickname: string; mail: string }

export function SignIn({ purpose, title, onSignedIn, onLangChange }: {
  purpose: 'workbench' | 'console';
  title: string;
  onSignedIn: (l: Login) => void;
  onLangChange: () => void;
}) {
  const q = new URLSearchParams(location.search);
  const [sdkAppId, setSdkAppId] = useState(q.get('sdkappid') ?? localStorage.getItem('desk.sdkappid') ?? '');
  const [mail, setMail] = useState(localStorage.getItem(`desk.mail.${purpose}`) ?? '');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const r = await webCall('login', { SdkAppId: Number(sdkAppId), Mail: mail, Password: password, ...(purpose === 'console' ? { Console: true } : {}) });
      localStorage.setItem('desk.sdkappid', sdkAppId);
      localStorage.setItem(`desk.mail.${purpose}`, mail);
      onSignedIn({ sdkAppId: Number(sdkAppId), identifier: r.Identifier, userSig: r.UserSig, expiresAt: Date.now() + r.ValidSec * 1000, nickname: r.Nickname ?? '', mail });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="signin" onSubmit={submit}>
      <div class="row"><h1 style="margin-right:auto">{title}</h1><LangSwitch onChange={onLangChange} /></div>
      <label>{t('sdkAppId')}<input name="sdkappid" inputMode="numeric" required pattern="[0-9]+" value={sdkAppId} onInput={(e) => setSdkAppId((e.currentTarget as HTMLInputElement).value)} /></label>
      <label>{t('mail')}<input name="mail" type="email" autoComplete="username" required maxLength={64} value={mail} onInput={(e) => setMail((e.currentTarget as HTMLInputElement).value)} /></label>
      <label>{t('password')}<input name="password" type="password" autoComplete="current-password" required maxLength={128} value={password} onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)} /></label>
      {error && <p class="banner error" role="alert">{error}</p>}
      <button type="submit" class="primary" disabled={busy}>{busy ? t('signingIn') : t('signIn')}</button>
    </form>
  );
}

/** The page's sign-in, kept for the browser tab while its UserSig is valid: [login, keep one, forget it]. */
export function useSavedLogin(key: string): [Login | undefined, (l: Login) => void, () => void] {
  const [login, setLogin] = useState<Login | undefined>(() => {
    const saved = tabStore.get<Login>(key);
    return saved && saved.expiresAt > Date.now() ? saved : undefined;
  });
  const forget = (): void => { tabStore.remove(key); setLogin(undefined); };
  // Back to the sign-in when the sig runs out.
  useEffect(() => {
    if (!login) return;
    const timer = setTimeout(forget, Math.max(0, login.expiresAt - Date.now()));
    return () => clearTimeout(timer);
  }, [login]);
  return [login, (l) => { tabStore.set(key, l); setLogin(l); }, forget];
}
