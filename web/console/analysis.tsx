/** Session analysis: sessions, transfers to human and human receptions per day over the last two weeks, as a chart. */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { useEffect, useMemo, useRef } from 'preact/hooks';
import type { AdminCredentials } from '../lib/api';
import { t } from '../lib/i18n';
import { Failure, Table, useRest } from './use-rest';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

const DAYS = 14;

export function Analysis({ admin }: { admin: AdminCredentials }) {
  const range = useMemo(() => {
    const to = Math.floor(Date.now() / 1000);
    return { From: to - DAYS * 86_400, To: to };
  }, []);
  const stats = useRest(admin, 'desk_http_svc/describe_session_statistics', range);
  const rows = (stats.data?.Data ?? []) as Record<string, any>[];
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current || rows.length === 0) return;
    const chart = new Chart(canvas.current, {
      type: 'bar',
      data: {
        labels: rows.map((r) => r.Time),
        datasets: [
          { label: t('session'), data: rows.map((r) => r.TotalSessionCnt), backgroundColor: '#1f6feb' },
          { label: t('transferring'), data: rows.map((r) => r.TransferAgentSessionCnt), backgroundColor: '#f5a623' },
          { label: t('serving'), data: rows.map((r) => r.AgentAcceptCnt), backgroundColor: '#2e7d32' },
        ],
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    return () => chart.destroy();
  }, [rows]);
  return (
    <section aria-labelledby="analysis">
      <h2 id="analysis">{t('sessionsToday')}</h2>
      <Failure error={stats.error} />
      <div class="chart"><canvas ref={canvas} role="img" aria-label={t('sessionsToday')} /></div>
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
