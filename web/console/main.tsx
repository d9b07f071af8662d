/**
 * The admin console: an administrator member signs in (the server hands the page a UserSig of the app's admin
 * identifier) and the page calls the v4 REST API with it.
 */
import { render } from 'preact';
import { useState } from 'preact/hooks';
import '../lib/style.css';
import type { AdminCredentials } from '../lib/api';
import { t, type TextKey } from '../lib/i18n';
import { SignIn, useSavedLogin, type Login } from '../lib/sign-in';
import { LangSwitch } from '../lib/ui';
import { Analysis } from './analysis';
import { History } from './history';
import { Knowledge } from './knowledge';
import { Monitor } from './monitor';
import { Accounts, Groups, Members } from './people';
import { Settings } from './settings';

const SECTIONS: { key: TextKey; view: (p: { admin: AdminCredentials }) => preact.JSX.Element }[] = [
  { key: 'monitor', view: Monitor },
  { key: 'knowledge', view: Knowledge },
  { key: 'accounts', view: Accounts },
  { key: 'members', view: Members },
  { key: 'groups', view: Groups },
  { key: 'settings', view: Settings },
  { key: 'analysis', view: Analysis },
  { key: 'history', view: History },
];
const LOGIN_KEY = 'desk.console';

function Console({ login, onSignOut, onLang }: { login: Login; onSignOut: () => void; onLang: () => void }) {
  const initial = SECTIONS.findIndex((s) => s.key === location.hash.slice(1));
  const [current, setCurrent] = useState(Math.max(0, initial));
  const admin: AdminCredentials = { sdkAppId: login.sdkAppId, identifier: login.identifier, userSig: login.userSig };
  const View = SECTIONS[current]!.view;
  return (
    <div class="console">
      <header class="bar">
        <h1>{t('console')} · {login.sdkAppId}</h1>
        <span>{login.mail}</span>
        <LangSwitch onChange={onLang} />
        <button type="button" onClick={onSignOut}>{t('signOut')}</button>
      </header>
      <nav aria-label={t('console')}>
        {SECTIONS.map((s, i) => (
          <button type="button" key={s.key} aria-current={i === current ? 'page' : undefined}
            onClick={() => { setCurrent(i); history.replaceState(null, '', `#${s.key}`); }}>{t(s.key)}</button>
        ))}
      </nav>
      <main>
        <View key={current} admin={admin} />
      </main>
    </div>
  );
}

function App() {
  const [login, keep, forget] = useSavedLogin(LOGIN_KEY);
  const [, redraw] = useState(0);
  const lang = () => redraw((n) => n + 1);
  if (!login) return <SignIn purpose="console" title={t('console')} onLangChange={lang} onSignedIn={keep} />;
  return <Console login={login} onLang={lang} onSignOut={forget} />;
}

render(<App />, document.getElementById('app')!);
