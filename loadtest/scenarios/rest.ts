/**
 * rest: autocannon against the v4 REST API — `send_msg` into sessions in service (every OK must reach its user)
 * and `get_session_state` — next to a bare uWS HTTP responder driven the same way.
 */
import autocannon from 'autocannon';
import { genUserSig } from '../../protocol/usersig';
import { meter, startBaseline, type ServerProc } from '../proc';
import { parseProbe, probeText, PROBE_BASE, Tracker } from '../stats';
import { frameText } from '../client';
import { desk, inService, KEY, now, round, SDKAPPID, sleep, until, type Options, type Summary } from './common';

interface Load { requests: number; oks: number; errors: number; rps: number; p50_ms: number; p99_ms: number; cpu_us_per_req: number; disk_bytes_per_req: number }

async function hammer(proc: ServerProc, o: Options, path: string, body: (i: number) => object): Promise<Load> {
  const q = new URLSearchParams({ sdkappid: String(SDKAPPID), identifier: 'administrator', usersig: genUserSig(SDKAPPID, KEY, 'administrator', 86400), random: '1', contenttype: 'json' });
  let i = 0;
  let oks = 0;
  let errors = 0;
  const used = meter(proc.pid);
  const result = await autocannon({
    url: `http://127.0.0.1:${proc.port}/v4/${path}?${q}`,
    connections: 20,
    duration: Math.max(1, Math.round(o.durationSec / 2)),
    requests: [{
      method: 'POST',
      setupRequest: (req: Record<string, unknown>) => ({ ...req, body: JSON.stringify(body(i++)) }) as never,
      onResponse: (status: number, text: string) => {
        if (status === 200 && text.includes('"ErrorCode":0')) oks++;
        else errors++;
      },
    }] as never,
  });
  const { cpuUs, diskBytes } = used();
  const requests = result.requests.total;
  return {
    requests, oks, errors, rps: round(result.requests.average), p50_ms: result.latency.p50, p99_ms: result.latency.p99,
    cpu_us_per_req: requests ? round(cpuUs / requests) : 0, disk_bytes_per_req: requests ? Math.round(diskBytes / requests) : 0,
  };
}

export async function rest(o: Options): Promise<Summary> {
  const { proc, target } = await desk(o, { maxConcurrentPerAgent: Math.ceil(o.users / o.agents) + 1 });
  const tracker = new Tracker(now());
  let send: Load;
  let read: Load;
  try {
    const { users, sessions } = await inService(target, o);
    const sessionIds = users.map((_, k) => sessions.get(`lt-user-${k}`)!.sessionId);
    for (const u of users) u.onFrame = (f) => { const p = parseProbe(frameText(f)); if (p) tracker.deliver(p.id, p.sentMs, now()); };
    send = await hammer(proc, o, 'desk_http_svc/send_msg', (n) => {
      tracker.send();
      return { SessionId: sessionIds[n % sessionIds.length], MsgRandom: PROBE_BASE + n, MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: { Text: probeText(PROBE_BASE + n, now(), o.size) } }] };
    });
    // Responses are not matched to requests, so every acknowledged (OK) send must show up as a distinct delivery.
    await until(() => tracker.delivered.size >= send.oks, 10_000);
    read = await hammer(proc, o, 'desk_http_svc/get_session_state', (n) => ({ SessionId: sessionIds[n % sessionIds.length] }));
    for (const u of users) u.close();
  } finally {
    await proc.stop();
  }
  let base: Load | undefined;
  if (o.baseline) {
    const b = await startBaseline();
    try {
      await sleep(100);
      base = await hammer(b, o, 'desk_http_svc/send_msg', (n) => ({ SessionId: 'x', MsgRandom: n, MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: { Text: probeText(n, 0, o.size) } }] }));
    } finally {
      await b.stop();
    }
  }
  return {
    scenario: 'rest', fsync: o.fsync, messages: tracker.delivered.size, sent: send.requests, acked: send.oks,
    lost: Math.max(0, send.oks - tracker.delivered.size), duplicates: tracker.duplicates, mps: send.rps,
    p50_ms: send.p50_ms, p95_ms: 0, p99_ms: send.p99_ms,
    server_cpu_us_per_msg: send.cpu_us_per_req, server_disk_bytes_per_msg: send.disk_bytes_per_req, baseline_cpu_us_per_msg: base?.cpu_us_per_req ?? null,
    ratio: base && base.cpu_us_per_req > 0 ? round(send.cpu_us_per_req / base.cpu_us_per_req) : null,
    extra: {
      send_msg_errors: send.errors, delivery_p50_ms: round(tracker.percentileMs(50)), delivery_p99_ms: round(tracker.percentileMs(99)),
      read_rps: read.rps, read_p50_ms: read.p50_ms, read_p99_ms: read.p99_ms, read_errors: read.errors, read_cpu_us_per_req: read.cpu_us_per_req,
      baseline_rps: base?.rps ?? null,
    },
  };
}
