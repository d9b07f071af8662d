/** The member changes its own password (the current one is asked for again). */
import { useState } from 'preact/hooks';
import { webCall } from '../lib/api';
import { t } from '../lib/i18n';
import type { Login } from '../lib/sign-in';

export function PasswordChange({ login }: { login: Login }) {
  const [result, setResult] = useState<{ ok: boolean; text: string }>();
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    try {
      await webCall('set_password', { SdkAppId: login.sdkAppId, Mail: login.mail, Password: String(f.get('current')), NewPassword: String(f.get('next')) });
      form.reset();
      setResult({ ok: true, text: t('saved') });
    } catch (err) {
      setResult({ ok: false, text: (err as Error).message });
    }
  };
  return (
    <details class="password">
      <summary>{t('changePassword')}</summary>
      <form class="dialog" onSubmit={submit}>
        <label>{t('currentPassword')}<input name="current" type="password" autoComplete="current-password" required maxLength={128} /></label>
        <label>{t('newPassword')}<input name="next" type="password" autoComplete="new-password" required minLength={8} maxLength={128} /></label>
        <button type="submit">{t('save')}</button>
        {result && <p class={result.ok ? 'muted' : 'banner error'} role={result.ok ? 'status' : 'alert'}>{result.text}</p>}
      </form>
    </details>
  );
}
