/** Session history: the sessions started in a date range, and their export as CSV (with transcripts). */
import { useState } from 'preact/hooks';
import { adminQuery, type AdminCredentials } from '../lib/api';
import { t } from '../lib/i18n';
import { Failure, Table, useRest } from './use-rest';

/** A date input's value for a day of the browser's time zone. */
const day = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
const seconds = (s: string, end: boolean) => Math.floor(new Date(`${s}T${end ? '23:59:59' : '00:00:00'}`).getTime() / 1000);

export function History({ admin }: { admin: AdminCredentials }) {
  const [from, setFrom] = useState(day(new Date(Date.now() - 7 * 86_400_000)));
  const [to, setTo] = useState(day(new Date()));
  const range = { StartTime: seconds(from, false), EndTime: seconds(to, true) };
  const list = useRest(admin, 'desk_http_svc/describe_session_history', { ...range, Limit: 100 });
  const exportUrl = `/v4/desk_export/session_history?${adminQuery(admin, { Format: 'csv', Transcripts: '1', StartTime: String(range.StartTime), EndTime: String(range.EndTime) })}`;
  return (
    <section aria-labelledby="history">
      <h2 id="history">{t('history')}</h2>
      <div class="row">
        <label>{t('from')}<input type="date" value={from} onChange={(e) => setFrom((e.currentTarget as HTMLInputElement).value)} /></label>
        <label>{t('to')}<input type="date" value={to} onChange={(e) => setTo((e.currentTarget as HTMLInputElement).value)} /></label>
        <a class="button" href={exportUrl} download="sessions.csv">{t('export')}</a>
      </div>
      <Failure error={list.error} />
      <Table caption={t('history')} rows={(list.data?.Sessions ?? []) as Record<string, any>[]} columns={[
        [t('started'), (r) => new Date(r.Timestamp * 1000).toLocaleString()],
        [t('user'), (r) => r.ClientUserId],
        [t('account'), (r) => r.CustomerServiceId],
        [t('agent'), (r) => r.AgentId],
        [t('endStatus'), (r) => r.EndStatus],
        [t('satisfaction'), (r) => r.SatisfactionSelected || ''],
        [t('duration'), (r) => r.Duration],
      ]} />
    </section>
  );
}
