/**
 * desk_http_svc statistics (rest-api.md §2.22–2.25) and the member status trace (rest-api-extensions.md §5.1),
 * answered from the statistics projection.
 */
import { agentAddress } from '../../actors/address';
import { memberOf, type AppModel } from '../../protocol/app-model';
import { ErrorCode } from '../../protocol/errors';
import type { AgentStatus } from '../../protocol/frames';
import { ok } from '../../protocol/rest/envelope';
import * as schema from '../../protocol/rest/statistics';
import type { StatsProjection } from '../stats/projection';
import { agentStatistics, daysOf, memberRealtime, receptionRealtime, sessionStatistics, todayFigures } from '../stats/queries';
import { AGENT_STATUS_READER, readAt } from './actor-readers';
import { desk, RestError, type Endpoint, type FacadeDeps, type RestContext } from './facade';

const DAY_S = 86_400;

/** [From, To] (unix seconds, both included) in ms, checked: in order and at most `maxDays` long. */
export function range(from: number, to: number, maxDays: number): [number, number] {
  if (to < from) throw new RestError(ErrorCode.BadParameter, 'the end is before the start');
  if (to - from > maxDays * DAY_S) throw new RestError(ErrorCode.BadParameter, `a range of at most ${maxDays} days`);
  return [from * 1000, to * 1000 + 999];
}

/** The members asked for (unknown ones left out), or all of them, by id. */
function membersOf(app: AppModel, wanted: string[] | string | undefined): { id: string; nickname: string }[] {
  const ids = wanted === undefined ? Object.keys(app.members).sort() : (Array.isArray(wanted) ? wanted : [wanted]).filter((id) => memberOf(app, id));
  return [...new Set(ids)].map((id) => ({ id, nickname: memberOf(app, id)!.nickname }));
}

/** The projection, or 141002 when the server runs without statistics (`--statistics off`). */
export function statsOf(deps: FacadeDeps): StatsProjection {
  if (!deps.stats) throw new RestError(ErrorCode.Internal, 'statistics are off on this server');
  return deps.stats;
}

/** A member's status, from the node that holds its agent actor. */
const statusOf = (ctx: RestContext, memberId: string): Promise<AgentStatus> => readAt<AgentStatus>(ctx, agentAddress(ctx.app.sdkAppId, memberId), AGENT_STATUS_READER);

/** The rows the call's Offset and Limit (default 100) select. */
function pageOf<T>(ctx: RestContext, rows: T[]): T[] {
  const offset = (ctx.body.Offset as number | undefined) ?? 0;
  return rows.slice(offset, offset + ((ctx.body.Limit as number | undefined) ?? 100));
}

const traceStatus: Record<string, string> = { free: 'STATUS_FREE', busy: 'STATUS_NOT_READY', rest: 'STATUS_REST', offline: 'STATUS_OFFLINE' };

export const deskStatisticsEndpoints: Endpoint[] = [
  desk('describe_agent_statistics', schema.agentStatistics, (ctx) => {
    const [from, to] = range(ctx.body.From as number, ctx.body.To as number, schema.MAX_RANGE_DAYS);
    const agents = membersOf(ctx.app, ctx.body.AgentIds as string[] | string | undefined);
    const sources = ctx.body.ConversationSources as schema.ConversationSource[] | undefined;
    if (ctx.body.GroupByDay === true) {
      // A row per agent per day: the rows are (agent, day) pairs, paged as such.
      const days = daysOf(from, to, ctx.app.session.timeZone);
      const rows = agents.flatMap((a) => days.map((d) => ({ a, d })));
      return ok({
        TotalCount: rows.length,
        Data: pageOf(ctx, rows).map(({ a, d }) => ({ Time: d.day, ...agentStatistics(statsOf(ctx.deps), ctx.app.sdkAppId, [a], d.start, d.end, ctx.now, sources)[0] })),
      });
    }
    return ok({ TotalCount: agents.length, Data: agentStatistics(statsOf(ctx.deps), ctx.app.sdkAppId, pageOf(ctx, agents), from, to, ctx.now, sources) });
  }),

  desk('describe_member_realtime_statistics', schema.memberRealtime, async (ctx) => {
    const agents = membersOf(ctx.app, ctx.body.MemberIds as string[] | undefined);
    const page = await Promise.all(pageOf(ctx, agents).map(async (a) => ({ ...a, status: await statusOf(ctx, a.id) })));
    return ok({ TotalCount: agents.length, Data: memberRealtime(statsOf(ctx.deps), ctx.app.sdkAppId, page, ctx.now, ctx.app.session.timeZone) });
  }),

  desk('describe_reception_realtime_statistics', schema.receptionRealtime, async (ctx) => {
    const statuses = await Promise.all(Object.keys(ctx.app.members).map((m) => statusOf(ctx, m)));
    return ok({
      Data: {
        ...receptionRealtime(statsOf(ctx.deps), ctx.app.sdkAppId, statuses),
        // The monitor's other figures (§8.1), this server's addition: today so far.
        Today: todayFigures(statsOf(ctx.deps), ctx.app.sdkAppId, ctx.now, ctx.app.session.timeZone),
      },
    });
  }),

  desk('describe_session_statistics', schema.sessionStatistics, (ctx) => {
    const byHour = ctx.body.GroupByHour === true;
    if (byHour && ctx.body.Aggregate === true) throw new RestError(ErrorCode.BadParameter, 'GroupByHour or Aggregate, not both');
    const [from, to] = range(ctx.body.From as number, ctx.body.To as number, byHour ? schema.MAX_HOURLY_DAYS : schema.MAX_RANGE_DAYS);
    const data = sessionStatistics(statsOf(ctx.deps), ctx.app.sdkAppId, from, to, byHour ? 'hour' : ctx.body.Aggregate === true ? 'range' : 'day', ctx.app.session.timeZone);
    return ok({ TotalCount: data.length, Data: data });
  }),

  desk('describe_member_status_trace', schema.memberStatusTrace, (ctx) => {
    const id = ctx.body.MemberID as string;
    const member = memberOf(ctx.app, id);
    if (!member) throw new RestError(ErrorCode.BadParameter, `no member '${id}'`);
    const [from, to] = range(ctx.body.BeginTime as number, ctx.body.EndTime as number, schema.MAX_RANGE_DAYS);
    const rows = [...statsOf(ctx.deps).tables.status.getRange({ start: [ctx.app.sdkAppId, id, from], end: [ctx.app.sdkAppId, id, to, Number.MAX_SAFE_INTEGER] })].map((e) => e.value);
    if (ctx.body.Order === 2) rows.reverse();
    return ok({
      Nick: member.nickname,
      // Members connect from the web workbench only on this server.
      StatusList: rows.map((r) => ({ Timestamp: Math.floor(r.at / 1000), Status: traceStatus[r.status], Clients: r.status === 'offline' ? [] : [{ ClientType: 'Web' }] })),
    });
  }),
];
