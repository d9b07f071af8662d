/** Session analysis: sessions, transfers to human and human receptions per day over the last two weeks, as a chart. */
import { useMemo } from 'preact/hooks';
import type { AdminCredentials } from '../lib/api';
import { t } from '../lib/i18n';
import { ChartView } from './chart';
import { Failure, Table, useRest } from './use-rest';

const DAYS = 14;

export function Analysis({ admin }: { admin: AdminCredentials }) {
  const range = useMemo(() => {
    const to = Math.floor(Date.now() / 1000);
    return { From: to - DAYS * 86_400, To: to };
  }, []);
  const stats = useRest(admin, 'desk_http_svc/describe_session_statistics', range);
  const rows = (stats.data?.Data ?? []) as Record<string, any>[];
  return (
    <section aria-labelledby="analysis">
      <h2 id="analysis">{t('sessionsToday')}</h2>
      <Failure error={stats.error} />
      <ChartView type="bar" title={t('sessionsToday')} labels={rows.map((r) => r.Time)} series={[
        { label: t('session'), values: rows.map((r) => r.TotalSessionCnt), color: '#1558c7' },
        { label: t('transferring'), values: rows.map((r) => r.TransferAgentSessionCnt), color: '#f5a623' },
        { label: t('serving'), values: rows.map((r) => r.AgentAcceptCnt), color: '#2e7d32' },
      ]} />
      <Table caption={t('analysis')} rows={rows} columns={[
        ['Time', (r) => r.Time],
        [t('session'), (r) => r.TotalSessionCnt],
        [t('transferring'), (r) => r.TransferAgentSessionCnt],
        [t('serving'), (r) => r.AgentAcceptCnt],
        [t('satisfaction'), (r) => r.SatisfactionSelectedCnt],
        [`${t('queueing')} (s)`, (r) => r.AvgQueueTime],
      ]} />
    </section>
  );
}
