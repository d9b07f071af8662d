/**
 * The figures of product.md §8 and the four statistics endpoints (rest-api.md §2.22–2.25), computed from the
 * projection's facts. Times in the answers are seconds; averages are rounded to whole seconds.
 */
import type { AgentStatus } from '../../protocol/frames';
import { SDK_CHANNEL_TYPE, type ConversationSource } from '../../protocol/rest/statistics';
import { zonedParts } from '../../protocol/time-zone';
import type { Reception, SessionFacts } from './facts';
import type { StatsProjection } from './projection';

const SEC = 1000;
const THIRTY_SECONDS = 30 * SEC;

/** A share, 0–1 to four places (0 when there is nothing to share). */
const rate = (part: number, whole: number): number => (whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 10_000);

const avg = (values: number[]): number => (values.length === 0 ? 0 : Math.round(values.reduce((a, b) => a + b, 0) / values.length / SEC));

/** How far a time zone's wall clock is ahead of UTC at an instant (ms). */
function offsetAt(ms: number, timeZone: string): number {
  const p = zonedParts(ms, timeZone);
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second)) - (ms - (((ms % SEC) + SEC) % SEC));
}

/** The instant a local calendar day begins (a day past the month's end rolls over, as Date.UTC does). */
function midnight(year: number, month: number, day: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  // Twice: the offset at the guess may differ from the offset at midnight on a day the clocks change.
  const t = wall - offsetAt(wall - offsetAt(wall, timeZone), timeZone);
  const date = new Date(wall).toISOString().slice(0, 10);
  if (dayOf(t, timeZone) >= date) return t;
  // Where clocks jump forward at midnight, the day begins at the jump: the first second of that date.
  let lo = t;
  let hi = t + 3 * 3_600_000;
  while (hi - lo > SEC) {
    const mid = lo + Math.floor((hi - lo) / 2 / SEC) * SEC;
    if (dayOf(mid, timeZone) >= date) hi = mid;
    else lo = mid;
  }
  return hi;
}

export const dayOf = (ms: number, timeZone: string): string => { const p = zonedParts(ms, timeZone); return `${p.year}-${p.month}-${p.day}`; };
/** `YYYY-MM-DD HH:mm:ss` in a time zone. */
export const localTime = (ms: number, timeZone: string): string => { const p = zonedParts(ms, timeZone); return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`; };
const hourOf = (ms: number, timeZone: string): string => `${zonedParts(ms, timeZone).hour}:00`;

/** The start of the local day holding `ms` (days are 23 or 25 hours long where clocks change). */
export function startOfDay(ms: number, timeZone: string): number {
  const p = zonedParts(ms, timeZone);
  return midnight(Number(p.year), Number(p.month), Number(p.day), timeZone);
}

function nextDay(ms: number, timeZone: string): number {
  const p = zonedParts(ms, timeZone);
  return midnight(Number(p.year), Number(p.month), Number(p.day) + 1, timeZone);
}

/** A session's response average (ms) over all its receptions, if it had any response. */
function sessionResponse(f: SessionFacts): number | undefined {
  const sum = f.receptions.reduce((n, r) => n + r.respSum, 0);
  const cnt = f.receptions.reduce((n, r) => n + r.respCnt, 0);
  return cnt > 0 ? sum / cnt : undefined;
}

const receptionResponse = (r: Reception): number | undefined => (r.respCnt > 0 ? r.respSum / r.respCnt : undefined);

/** Session analysis figures of a set of sessions (§8.2; describe_session_statistics' fields). */
export function sessionFigures(list: SessionFacts[]): Record<string, number> {
  const accepted = list.filter((f) => f.acceptedAt !== undefined);
  const rated = list.filter((f) => f.level !== undefined);
  const stars = (n: number) => rated.filter((f) => f.level === n).length;
  const firstReplies = accepted.flatMap((f) => {
    const first = Math.min(...f.receptions.map((r) => r.firstReplyAt ?? Infinity));
    return Number.isFinite(first) ? [first - f.acceptedAt!] : [];
  });
  return {
    TotalSessionCnt: list.length,
    TransferAgentSessionCnt: list.filter((f) => f.requestedAt !== undefined).length,
    AgentAcceptCnt: accepted.length,
    EffectiveSessionCnt: list.filter((f) => f.requestedAt !== undefined && f.userMsgsAfterRequest > 0 && f.agentMsgs > 0).length,
    SatisfactionSelectedCnt: rated.length,
    OneStarSelectedCnt: stars(1), TwoStarSelectedCnt: stars(2), ThreeStarSelectedCnt: stars(3), FourStarSelectedCnt: stars(4), FiveStarSelectedCnt: stars(5),
    AvgFirstRespTime: avg(firstReplies),
    AvgRespTime: avg(accepted.flatMap((f) => { const r = sessionResponse(f); return r !== undefined ? [r] : []; })),
    AvgAcceptTime: avg(accepted.filter((f) => f.endedAt !== undefined).map((f) => f.endedAt! - f.acceptedAt!)),
    AvgQueueTime: avg(accepted.map((f) => f.queueMs ?? 0)),
  };
}

/** Sessions started in [from, to] (ms), oldest first. */
export function sessionsStarted(p: StatsProjection, app: number, from: number, to: number): SessionFacts[] {
  const out: SessionFacts[] = [];
  for (const { key } of p.tables.byStart.getRange({ start: [app, from], end: [app, to, '\uffff'] })) {
    const f = p.facts(app, key[2]);
    if (f) out.push(f);
  }
  return out;
}

/**
 * describe_session_statistics: per day (`YYYY-MM-DD`) or per hour (`HH:00`, or `YYYY-MM-DD HH:00` over several
 * days) of session start, or (`aggregate`) one row for the range, `Time` `<first day>~<last day>`.
 */
export function sessionStatistics(p: StatsProjection, app: number, from: number, to: number, by: 'day' | 'hour' | 'range', timeZone: string): Record<string, unknown>[] {
  const oneDay = dayOf(from, timeZone) === dayOf(to, timeZone);
  const range = `${dayOf(from, timeZone)}~${dayOf(to, timeZone)}`;
  const label = (ms: number): string => (by === 'range' ? range : by === 'day' ? dayOf(ms, timeZone) : oneDay ? hourOf(ms, timeZone) : `${dayOf(ms, timeZone)} ${hourOf(ms, timeZone)}`);
  const groups = new Map<string, SessionFacts[]>();
  for (const f of sessionsStarted(p, app, from, to)) {
    const k = label(f.startedAt);
    const list = groups.get(k);
    if (list) list.push(f);
    else groups.set(k, [f]);
  }
  return [...groups].map(([Time, list]) => ({ Time, ...sessionFigures(list) }));
}

/** One agent's receptions that started in [from, to], with their sessions. */
function receptionsOf(p: StatsProjection, app: number, agentId: string, from: number, to: number): { r: Reception; f: SessionFacts }[] {
  const seen = new Set<string>();
  const out: { r: Reception; f: SessionFacts }[] = [];
  for (const { key } of p.tables.byAgent.getRange({ start: [app, agentId, from], end: [app, agentId, to, '\uffff'] })) {
    if (seen.has(key[3])) continue;
    seen.add(key[3]);
    const f = p.facts(app, key[3]);
    if (!f) continue;
    for (const r of f.receptions) if (r.agentId === agentId && r.start >= from && r.start <= to) out.push({ r, f });
  }
  return out;
}

/** Reception figures of one agent (§8.3 and describe_member_realtime_statistics share them). */
export function receptionFigures(agentId: string, list: { r: Reception; f: SessionFacts }[]): Record<string, number> {
  const sessions = new Set(list.map((x) => x.f.sessionId));
  const firstReplies = list.flatMap(({ r }) => (r.firstReplyAt !== undefined ? [r.firstReplyAt - r.start] : []));
  const responses = list.flatMap(({ r }) => { const v = receptionResponse(r); return v !== undefined ? [v] : []; });
  const ended = list.filter(({ r }) => r.end !== undefined);
  const ratedSessions = [...new Map(list.filter(({ f }) => f.level !== undefined && f.ratedAgent === agentId).map(({ f }) => [f.sessionId, f])).values()];
  const agentMsgs = list.reduce((n, { r }) => n + r.agentMsgs, 0);
  const userMsgs = list.reduce((n, { r }) => n + r.userMsgs, 0);
  return {
    TotalSessionCnt: sessions.size,
    TransferSessionCnt: list.filter(({ r }) => r.forwardedOut).length,
    EffectiveSessionCnt: list.filter(({ r }) => r.agentMsgs > 0 && r.userMsgs > 0).length,
    AgentEndCnt: list.filter(({ r }) => r.endedByAgent).length,
    ServeUserCnt: new Set(list.map(({ f }) => f.userId)).size,
    TotalAcceptTime: Math.round(ended.reduce((n, { r }) => n + (r.end! - r.start), 0) / SEC),
    TotalMsgCnt: agentMsgs + userMsgs,
    AgentMsgCnt: agentMsgs,
    UserMsgCnt: userMsgs,
    NotRespSessionCnt: list.filter(({ r }) => r.agentMsgs === 0 && r.userMsgs > 0).length,
    AvgFirstRespTime: avg(firstReplies),
    FirstRespUnder30sCnt: firstReplies.filter((v) => v <= THIRTY_SECONDS).length,
    AvgRespTime: avg(responses),
    AvgRespUnder30sCnt: responses.filter((v) => v <= THIRTY_SECONDS).length,
    AvgAcceptTime: avg(ended.map(({ r }) => r.end! - r.start)),
    SatisfactionSelectedCnt: ratedSessions.length,
    SatisfiedCnt: ratedSessions.filter((f) => f.level! >= 4).length,
    // The console's rates (§8.3), this server's additions to the API rows.
    NotRespSessionRate: rate(list.filter(({ r }) => r.agentMsgs === 0 && r.userMsgs > 0).length, list.length),
    FirstRespUnder30sRate: rate(firstReplies.filter((v) => v <= THIRTY_SECONDS).length, list.length),
    AvgRespUnder30sRate: rate(responses.filter((v) => v <= THIRTY_SECONDS).length, list.length),
    SatisfactionRate: rate(ratedSessions.filter((f) => f.level! >= 4).length, ratedSessions.length),
  };
}

/** Time in each status within [from, to], first login and last logout (§8.3). */
export function statusFigures(p: StatsProjection, app: number, agentId: string, from: number, to: number): Record<string, number> {
  const before = [...p.tables.status.getRange({ start: [app, agentId, from], end: [app, agentId, -1], reverse: true, limit: 1 })][0];
  let status = before?.value.status ?? 'offline';
  let cursor = from;
  const time: Record<string, number> = { free: 0, busy: 0, rest: 0, offline: 0 };
  let firstLogin = 0;
  let lastLogout = 0;
  for (const { value } of p.tables.status.getRange({ start: [app, agentId, from], end: [app, agentId, to, Number.MAX_SAFE_INTEGER] })) {
    time[status] += value.at - cursor;
    cursor = value.at;
    status = value.status;
    if (value.login && !firstLogin) firstLogin = Math.floor(value.at / SEC);
    if (value.status === 'offline') lastLogout = Math.floor(value.at / SEC);
  }
  if (to > cursor) time[status] += to - cursor;
  const online = time.free + time.busy + time.rest;
  return {
    FirstLoginTimestamp: firstLogin, LastLogoutTimestamp: lastLogout,
    FreeTime: Math.round(time.free / SEC), BusyTime: Math.round(time.busy / SEC), RestTime: Math.round(time.rest / SEC),
    FreeTimeRate: rate(time.free, online), BusyTimeRate: rate(time.busy, online), RestTimeRate: rate(time.rest, online),
  };
}

/**
 * describe_agent_statistics: one row per agent over [from, to]; status time runs to `now` at the latest. With
 * `sources`, receptions count only for sessions from one of them (status time is the agent's, whatever the source).
 */
export function agentStatistics(p: StatsProjection, app: number, agents: { id: string; nickname: string }[], from: number, to: number, now: number, sources?: ConversationSource[]): Record<string, unknown>[] {
  const counted = (f: SessionFacts): boolean => !sources?.length || sources.some((s) => (s.ChannelType ?? SDK_CHANNEL_TYPE) === SDK_CHANNEL_TYPE && (s.ChannelId ?? f.csAccount) === f.csAccount);
  return agents.map((a) => ({
    AgentId: a.id, AgentNickName: a.nickname,
    ...statusFigures(p, app, a.id, from, Math.min(to, now)),
    ...receptionFigures(a.id, receptionsOf(p, app, a.id, from, to).filter(({ f }) => counted(f))),
  }));
}

/** The local days [start, end] (ms) that [from, to] covers, each cut to the range. */
export function daysOf(from: number, to: number, timeZone: string): { day: string; start: number; end: number }[] {
  const out: { day: string; start: number; end: number }[] = [];
  let start = from;
  while (start <= to) {
    const next = nextDay(start, timeZone);
    out.push({ day: dayOf(start, timeZone), start, end: Math.min(to, next - 1) });
    if (next <= start) break; // never loop, whatever a time zone does
    start = next;
  }
  return out;
}

const memberStatusCode: Record<AgentStatus, number> = { offline: 0, free: 1, busy: 2, rest: 3 };

/** describe_member_realtime_statistics: each agent's status now and today's receptions (from local midnight). */
export function memberRealtime(p: StatsProjection, app: number, agents: { id: string; nickname: string; status: AgentStatus }[], now: number, timeZone: string): Record<string, unknown>[] {
  const today = startOfDay(now, timeZone);
  const current = new Map<string, number>();
  for (const f of p.openSessions(app)) {
    const r = f.receptions[f.receptions.length - 1];
    if (f.phase === 'agent' && r && r.end === undefined) current.set(r.agentId, (current.get(r.agentId) ?? 0) + 1);
  }
  return agents.map((a) => {
    const figures = receptionFigures(a.id, receptionsOf(p, app, a.id, today, now));
    return {
      MemberId: a.id, MemberNickName: a.nickname, MemberStatus: memberStatusCode[a.status], CurrentAcceptCnt: current.get(a.id) ?? 0,
      TotalSessionCnt: figures.TotalSessionCnt, AvgFirstRespTime: figures.AvgFirstRespTime, AvgRespTime: figures.AvgRespTime, AvgAcceptTime: figures.AvgAcceptTime,
    };
  });
}

/**
 * Today's figures of the realtime monitor (§8.1), from local midnight: sessions that asked for a human today,
 * sessions newly accepted today and, over those, the averages and ratings (kept as sums, see today.ts).
 */
export function todayFigures(p: StatsProjection, app: number, now: number, timeZone: string): Record<string, number> {
  const x = p.today.figures(app, startOfDay(now, timeZone), now);
  const mean = (sum: number, cnt: number): number => (cnt === 0 ? 0 : Math.round(sum / cnt / SEC));
  const names = ['One', 'Two', 'Three', 'Four', 'Five'];
  return {
    TransferAgentSessionCnt: x.requested, AgentAcceptCnt: x.accepted,
    AvgFirstRespTime: mean(x.firstSum, x.firstCnt), AvgRespTime: mean(x.respSum, x.respCnt),
    AvgQueueTime: mean(x.queueSum, x.accepted), AvgAcceptTime: mean(x.durSum, x.durCnt),
    SatisfactionSelectedCnt: x.rated,
    ...Object.fromEntries(names.map((n, i) => [`${n}StarSelectedCnt`, x.stars[i]])),
    // The share of each level among today's ratings.
    ...Object.fromEntries(names.map((n, i) => [`${n}StarRate`, rate(x.stars[i], x.rated)])),
  };
}

/** describe_reception_realtime_statistics: sessions waiting for or with a human now, agents by status now. */
export function receptionRealtime(p: StatsProjection, app: number, statuses: AgentStatus[]): Record<string, number> {
  let waiting = 0;
  let served = 0;
  for (const f of p.openSessions(app)) {
    if (f.phase === 'waiting') waiting++;
    else if (f.phase === 'agent') served++;
  }
  const count = (s: AgentStatus) => statuses.filter((x) => x === s).length;
  return {
    CurrentTransferAgentCnt: waiting + served, CurrentAgentAcceptCnt: served, CurrentQueueCnt: waiting,
    FreeAgentCnt: count('free'), RestAgentCnt: count('rest'), BusyAgentCnt: count('busy'),
    OnlineAgentCnt: count('free') + count('rest') + count('busy'),
  };
}
