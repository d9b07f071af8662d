/** The realtime monitor: reception now (sessions queueing and served, agents by status) and each agent today. */
import { useEffect, useState } from 'preact/hooks';
import type { AdminCredentials } from '../lib/api';
import { t, type TextKey } from '../lib/i18n';
import { ChartView } from './chart';
import { Failure, Table, useRest } from './use-rest';

const REFRESH_MS = 3000;
const STATUS: TextKey[] = ['offline', 'free', 'busy', 'rest'];
/** The samples the live chart keeps: the last few minutes. */
const SAMPLES = 60;

interface Sample { at: string; serving: number; queueing: number; free: number }

export function Monitor({ admin }: { admin: AdminCredentials }) {
  const reception = useRest(admin, 'desk_http_svc/describe_reception_realtime_statistics', {}, REFRESH_MS);
  const members = useRest(admin, 'desk_http_svc/describe_member_realtime_statistics', { Limit: 100 }, REFRESH_MS);
  const d = reception.data?.Data ?? {};
  // Each refresh adds a point to the live chart.
  const [samples, setSamples] = useState<Sample[]>([]);
  useEffect(() => {
    if (!reception.data) return;
    setSamples((list) => [...list, { at: new Date().toLocaleTimeString(), serving: d.CurrentAgentAcceptCnt ?? 0, queueing: d.CurrentQueueCnt ?? 0, free: d.FreeAgentCnt ?? 0 }].slice(-SAMPLES));
  }, [reception.data]);
  const tiles: [TextKey, number | undefined][] = [
    ['transferring', d.CurrentTransferAgentCnt], ['serving', d.CurrentAgentAcceptCnt], ['queueing', d.CurrentQueueCnt],
    ['agentsFree', d.FreeAgentCnt], ['agentsBusy', d.BusyAgentCnt], ['agentsRest', d.RestAgentCnt],
  ];
  return (
    <>
      <section aria-labelledby="monitor-now">
        <h2 id="monitor-now">{t('monitor')}</h2>
        <Failure error={reception.error} />
        <div class="tiles">
          {tiles.map(([k, v]) => <div class="tile" key={k} data-tile={k}><span class="muted">{t(k)}</span><strong>{v ?? '–'}</strong></div>)}
        </div>
        <ChartView type="line" title={t('monitor')} labels={samples.map((x) => x.at)} series={[
          { label: t('serving'), values: samples.map((x) => x.serving), color: '#2e7d32' },
          { label: t('queueing'), values: samples.map((x) => x.queueing), color: '#c62828' },
          { label: t('agentsFree'), values: samples.map((x) => x.free), color: '#1558c7' },
        ]} />
      </section>
      <section aria-labelledby="monitor-agents">
        <h2 id="monitor-agents">{t('members')}</h2>
        <Failure error={members.error} />
        <Table caption={t('members')} rows={(members.data?.Data ?? []) as Record<string, any>[]} columns={[
          [t('mail'), (r) => r.MemberId],
          [t('nickname'), (r) => r.MemberNickName],
          [t('status'), (r) => t(STATUS[r.MemberStatus] ?? 'offline')],
          [t('inService'), (r) => r.CurrentAcceptCnt],
          [t('sessionsReceived'), (r) => r.TotalSessionCnt],
        ]} />
      </section>
    </>
  );
}
