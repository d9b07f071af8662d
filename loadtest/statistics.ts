/**
 * What Desk's statistics say of a run, asked of every node: sessions started, accepted and rated, and the agents'
 * and users' messages in their receptions. In a cluster each node answers for the whole cluster (it folds every
 * partition's log), so the nodes must agree, and agree with what the clients did.
 */
import { genUserSig } from '../protocol/usersig';
import { KEY, SDKAPPID, sleep } from './scenarios/common';

export interface RunStatistics { sessions: number; accepted: number; rated: number; agent_msgs: number; user_msgs: number }

async function call(port: number, path: string, body: object): Promise<Record<string, unknown>> {
  const q = new URLSearchParams({ sdkappid: String(SDKAPPID), identifier: 'administrator', usersig: genUserSig(SDKAPPID, KEY, 'administrator', 86400), random: String(Math.floor(Math.random() * 1e9)), contenttype: 'json' });
  const res = await fetch(`http://127.0.0.1:${port}/v4/${path}?${q}`, { method: 'POST', body: JSON.stringify(body) });
  const out = (await res.json()) as Record<string, unknown>;
  if (out.ErrorCode !== 0) throw new Error(`${path}: ${JSON.stringify(out)}`);
  return out;
}

/** One node's figures for sessions started in [fromMs, toMs]. */
export async function statisticsOn(port: number, fromMs: number, toMs: number): Promise<RunStatistics> {
  const range = { From: Math.floor(fromMs / 1000), To: Math.ceil(toMs / 1000) };
  const s = ((await call(port, 'desk_http_svc/describe_session_statistics', { ...range, Aggregate: true })).Data as Record<string, number>[])[0] ?? {};
  const agents: Record<string, number>[] = [];
  for (let offset = 0; ; offset += 100) {
    const page = await call(port, 'desk_http_svc/describe_agent_statistics', { ...range, Offset: offset, Limit: 100 });
    agents.push(...(page.Data as Record<string, number>[]));
    if (agents.length >= (page.TotalCount as number)) break;
  }
  const sum = (k: string): number => agents.reduce((n, a) => n + (a[k] ?? 0), 0);
  return { sessions: s.TotalSessionCnt ?? 0, accepted: s.AgentAcceptCnt ?? 0, rated: s.SatisfactionSelectedCnt ?? 0, agent_msgs: sum('AgentMsgCnt'), user_msgs: sum('UserMsgCnt') };
}

/**
 * Every node's figures, asked until they agree (a cluster's lag behind the logs) or `waitMs` passes: the figures,
 * and whether every node gave them.
 */
export async function runStatistics(ports: number[], fromMs: number, toMs: number, waitMs = 10_000): Promise<RunStatistics & { nodes_agree: boolean }> {
  const until = Date.now() + waitMs;
  for (;;) {
    const each = await Promise.all(ports.map((p) => statisticsOn(p, fromMs, toMs)));
    const agree = each.every((x) => JSON.stringify(x) === JSON.stringify(each[0]));
    if (agree || Date.now() > until) return { ...each[0], nodes_agree: agree };
    await sleep(250);
  }
}
