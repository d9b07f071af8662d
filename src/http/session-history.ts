/**
 * Session history (product.md §8.4), this server's additions: `desk_http_svc/describe_session_history` pages
 * through the filtered sessions, and `GET /v4/desk_export/session_history` streams them, with their transcripts if
 * asked, as CSV (UTF-8 with a BOM, so spreadsheet programs read Chinese right) or JSON lines. The export reads the
 * store lazily and writes as fast as the client reads, so a million records are never held in memory.
 */
import type { HttpResponse, TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import Validator from 'fastest-validator';
import type { AppModel } from '../../protocol/app-model';
import { ErrorCode } from '../../protocol/errors';
import { fail, FacadeCode, ok, Service, type Envelope } from '../../protocol/rest/envelope';
import * as schema from '../../protocol/rest/statistics';
import { historyRecord, sessions, transcriptLine, type HistoryFilter } from '../stats/history';
import { localTime } from '../stats/queries';
import { range, statsOf } from './desk-statistics';
import { desk, RestError, type Endpoint, type FacadeDeps, type HttpFacade } from './facade';
import { transcriptsAt } from './session-readers';

/** Bytes gathered before a chunk is written out, and the most lines (or empty steps) produced in one turn. */
const CHUNK = 64 * 1024;
const STEPS_PER_TURN = 200;
/** Sessions one describe_session_history call may look at (a keyword reads each transcript): past it, narrow the range or export. */
const MAX_EXAMINED = 200_000;
const MAX_EXAMINED_KEYWORD = 20_000;

/** The filter of a request's fields; a range over 92 days, or backwards, is refused. */
function filterOf(b: Record<string, unknown>): HistoryFilter {
  const [from, to] = range(b.StartTime as number, b.EndTime as number, schema.MAX_RANGE_DAYS);
  return {
    from, to,
    sessionId: b.SessionId as string | undefined, userId: b.ClientUserId as string | undefined, csAccount: b.CustomerServiceId as string | undefined,
    agentId: b.AgentId as string | undefined, groupId: b.AgentGroupId as number | undefined, endStatus: b.EndStatus as string | undefined,
    level: b.SatisfactionSelected as number | undefined, keyword: b.Keyword as string | undefined,
  };
}

export const sessionHistoryEndpoints: Endpoint[] = [
  desk('describe_session_history', schema.sessionHistory, async (ctx) => {
    const offset = (ctx.body.Offset as number | undefined) ?? 0;
    const limit = (ctx.body.Limit as number | undefined) ?? 20;
    const page: Record<string, unknown>[] = [];
    let total = 0;
    const progress = { examined: 0 };
    const cap = ctx.body.Keyword === undefined ? MAX_EXAMINED : MAX_EXAMINED_KEYWORD;
    for await (const f of sessions(statsOf(ctx.deps), transcriptsAt(ctx.deps.runtime), ctx.app.sdkAppId, filterOf(ctx.body), progress)) {
      if (progress.examined > cap) throw new RestError(ErrorCode.BadParameter, `more than ${cap} sessions to look at: narrow the range, or use the export`);
      if (!f) continue;
      if (total >= offset && page.length < limit) page.push(historyRecord(ctx.app, f, ctx.now));
      total++;
    }
    return ok({ TotalCount: total, Sessions: page });
  }),
];

/** A CSV cell: quoted when it must be, and a leading =, +, - or @ defused so a spreadsheet does not run it. */
function cell(v: unknown): string {
  let s = v === undefined || v === null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
const csvRow = (cells: unknown[]): string => `${cells.map(cell).join(',')}\r\n`;

const SESSION_COLUMNS = ['SessionId', 'StartTime', 'ClientUserId', 'ClientUserNickName', 'CustomerServiceId', 'ChannelType', 'AgentId', 'AgentIds', 'AgentGroupName', 'EndStatus', 'SatisfactionSelected', 'Duration'];
const MESSAGE_COLUMNS = ['Seq', 'MessageTime', 'FromAccountRole', 'FromAccount', 'Text'];

/** The lines of an export, one session (or, for a CSV with transcripts, one message) at a time. */
async function* exportLines(deps: FacadeDeps, app: AppModel, f: HistoryFilter, format: 'csv' | 'jsonl', withTranscripts: boolean): AsyncGenerator<string> {
  const transcripts = transcriptsAt(deps.runtime);
  const tz = app.session.timeZone;
  const now = deps.clock.now();
  if (format === 'csv') yield `\ufeff${csvRow(withTranscripts ? [...SESSION_COLUMNS, ...MESSAGE_COLUMNS] : SESSION_COLUMNS)}`;
  for await (const s of sessions(statsOf(deps), transcripts, app.sdkAppId, f)) {
    if (!s) { yield ''; continue; } // sessions looked at without a match: a step all the same
    const r = historyRecord(app, s, now);
    if (format === 'jsonl') {
      const messages: Record<string, unknown>[] = [];
      if (withTranscripts) for await (const m of transcripts.messages(s)) messages.push(transcriptLine(m));
      yield `${JSON.stringify(withTranscripts ? { ...r, Messages: messages } : r)}\n`;
      continue;
    }
    const row = SESSION_COLUMNS.map((c) => (c === 'StartTime' ? localTime(s.startedAt, tz) : c === 'AgentIds' ? (r.AgentIds as string[]).join(' ') : r[c]));
    if (!withTranscripts) { yield csvRow(row); continue; }
    for await (const m of transcripts.messages(s)) {
      const l = transcriptLine(m);
      yield csvRow([...row, l.Seq, localTime(m.time, tz), l.FromAccountRole, l.FromAccount, l.Text]);
    }
  }
}

const exportCheck = new Validator({ haltOnFirstError: true }).compile(schema.historyExport);

/** `GET /v4/desk_export/session_history?sdkappid&identifier&usersig&Format=csv|jsonl&StartTime&EndTime&…`. */
export function mountHistoryExport(app: TemplatedApp, facade: HttpFacade, deps: FacadeDeps): void {
  app.get('/v4/desk_export/session_history', (res, req) => {
    const q = new URLSearchParams(req.getQuery() ?? '');
    let aborted = false;
    let lines: AsyncGenerator<string> | undefined;
    // An abandoned export must let go of its reader at once.
    res.onAborted(() => { aborted = true; void lines?.return(undefined); });
    const refuse = (status: string, envelope: Envelope): void => {
      res.cork(() => res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify(envelope)));
    };
    const admin = facade.admin(q, Service.Desk);
    if ('ActionStatus' in admin) { refuse('403 Forbidden', admin); return; }
    const params: Record<string, unknown> = Object.fromEntries(q);
    try {
      const checked = exportCheck(params);
      if (checked !== true) throw new RestError(FacadeCode.BadParameter[Service.Desk], (checked as { message?: string }[])[0]?.message ?? 'illegal parameter');
      statsOf(deps);
      lines = exportLines(deps, admin.app, filterOf(params), params.Format as 'csv' | 'jsonl', params.Transcripts === '1');
    } catch (err) {
      if (err instanceof RestError) { refuse('400 Bad Request', fail(err.code, err.message)); return; }
      throw err;
    }
    const csv = params.Format === 'csv';
    res.cork(() => res.writeStatus('200 OK')
      .writeHeader('content-type', csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .writeHeader('content-disposition', `attachment; filename="session-history.${csv ? 'csv' : 'jsonl'}"`));
    pump(res, lines!, () => aborted, deps);
  });
}

/**
 * Writes chunk after chunk, one per turn of the event loop, waiting whenever the client falls behind. An export that
 * fails halfway (a transcript unreadable: its node lost) is cut off, not ended, so the client cannot take it as whole.
 */
function pump(res: HttpResponse, lines: AsyncGenerator<string>, aborted: () => boolean, deps: FacadeDeps): void {
  const step = async (): Promise<void> => {
    let chunk = '';
    let done = false;
    try {
      for (let steps = 0; steps < STEPS_PER_TURN && chunk.length < CHUNK; steps++) {
        const next = await lines.next();
        if (next.done) { done = true; break; }
        chunk += next.value;
      }
    } catch (err) {
      deps.log.error({ err }, 'session history export failed');
      void lines.return(undefined);
      if (!aborted()) res.close();
      return;
    }
    if (aborted()) return;
    let writable = true;
    res.cork(() => {
      if (chunk) writable = res.write(chunk);
      if (done) res.end();
    });
    if (done) return;
    if (writable) setImmediate(next);
    else res.onWritable(() => { setImmediate(next); return true; });
  };
  const next = (): void => { if (!aborted()) void step(); };
  next();
}
