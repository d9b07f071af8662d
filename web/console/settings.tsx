/** Session settings the REST API changes: the satisfaction rating (switch, how it is offered, its texts). */
import { useState } from 'preact/hooks';
import { restCall, type AdminCredentials } from '../lib/api';
import { t } from '../lib/i18n';
import { Failure, useChange, useRest } from './use-rest';

export function Settings({ admin }: { admin: AdminCredentials }) {
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
