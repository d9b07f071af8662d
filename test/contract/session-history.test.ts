import http from 'node:http';
import t from 'tap';
import { sessionAddress } from '../../actors/address';
import { srcBody, textBody, type TestClient } from '../helpers/client';
import { APP, CS, KEY, startTestServer, testApp, type TestServer } from '../helpers/server';
import { adminSig, rest, type RestTarget } from './rest-client';

const A = 'alice@desk.test';
const api = (s: TestServer): RestTarget => ({ port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' });
const history = (s: TestServer, body: Record<string, unknown>) => rest(api(s), 'desk_http_svc/describe_session_history', body);
const now = () => Math.floor(Date.now() / 1000);

/** GET the export; `slow` reads it in small sips, so the server has to wait for the reader. */
function download(s: TestServer, params: Record<string, string>, slow = false): Promise<{ status: number; type: string; body: string }> {
  const q = new URLSearchParams({ sdkappid: String(APP), identifier: 'administrator', usersig: adminSig(api(s)), ...params });
  return new Promise((resolve, reject) => {
    http.get(`http://127.0.0.1:${s.port}/v4/desk_export/session_history?${q}`, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        if (slow) { res.pause(); setTimeout(() => res.resume(), 1); }
      });
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') }));
    }).on('error', reject);
  });
}

async function served(s: TestServer, agent: TestClient, userId: string, lines: string[], level?: number): Promise<string> {
  const user = await s.user(userId);
  await user.request('message.send', { to: CS, random: 1, body: textBody('人工') });
  const assigned = await agent.next((f) => f.type === 'session.assigned' && (f.data as { userId: string }).userId === userId);
  const sessionId = (assigned.data as { sessionId: string }).sessionId;
  let r = 2;
  for (const text of lines) await user.request('message.send', { to: CS, random: r++, body: textBody(text) });
  await agent.request('message.send', { sessionId, random: 99, body: textBody('noted') });
  await agent.request('session.end', { sessionId });
  if (level) {
    await user.next((f) => JSON.stringify(f.data).includes('\\"src\\":\\"9\\"'));
    await user.request('message.send', { to: CS, random: r, body: srcBody('10', { menuSelected: { id: String(100 + level), sessionId } }) });
  }
  return sessionId;
}

t.test('session history: filters, keyword in the content, paging; exports as CSV with a BOM and as JSON lines', async (t) => {
  const s = await startTestServer(testApp([A]));
  t.teardown(() => s.stop());
  const from = now() - 60;
  const alice = await s.agent(A);
  await alice.next((f) => f.type === 'agent.state');
  const s1 = await served(s, alice, 'u1', ['where is my parcel?'], 5);
  const robotOnly = await s.user('u2');
  await robotOnly.request('message.send', { to: CS, random: 1, body: textBody('hello robot') });
  const s3 = await served(s, alice, 'u3', ['我要开发票', 'name "Li, Lei"', '=SUM(A1)']);
  await s.runtime.idle();
  const range = { StartTime: from, EndTime: now() + 60 };

  const all = await history(s, range);
  t.match(all, { ActionStatus: 'OK', TotalCount: 3 });
  t.match((all.Sessions as unknown[])[0], {
    SessionId: s1, ClientUserId: 'u1', CustomerServiceId: CS, ChannelType: 'SDK', AgentId: A, AgentIds: [A], AgentGroupName: 'Default',
    EndStatus: 'AgentEndedSession', SatisfactionSelected: 5,
  });
  const ids = async (body: Record<string, unknown>) => ((await history(s, { ...range, ...body })).Sessions as { SessionId: string }[]).map((x) => x.SessionId);
  t.same(await ids({ ClientUserId: 'u1' }), [s1], 'by user');
  t.same(await ids({ AgentId: A }), [s1, s3], 'by agent');
  t.same(await ids({ SatisfactionSelected: 5 }), [s1], 'by rating');
  t.same(await ids({ EndStatus: 'AgentEndedSession' }), [s1, s3], 'by end status');
  t.same(await ids({ Keyword: 'PARCEL' }), [s1], 'by a word in the content, in any case');
  t.same(await ids({ Keyword: '发票' }), [s3], 'Chinese too');
  t.same(await ids({ SessionId: s3 }), [s3]);
  t.match(await history(s, { ...range, Limit: 1, Offset: 1 }), { TotalCount: 3, Sessions: [{ ClientUserId: 'u2', EndStatus: '' }] }, 'paging; an open session has no end status');
  t.match(await history(s, { StartTime: 100, EndTime: 50 }), { ErrorCode: 141004 });
  t.match(await history(s, { ...range, EndStatus: 'Whatever' }), { ErrorCode: 141004 });

  const csv = await download(s, { Format: 'csv', StartTime: String(range.StartTime), EndTime: String(range.EndTime) });
  t.equal(csv.status, 200);
  t.match(csv.type, /text\/csv; charset=utf-8/);
  t.ok(csv.body.startsWith('\ufeffSessionId,StartTime,ClientUserId'), 'a BOM, then the header');
  const rows = csv.body.trim().split('\r\n');
  t.equal(rows.length, 4, 'a header and three sessions');
  t.match(rows[1], new RegExp(`^${s1},\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2},u1,`));

  const withTexts = await download(s, { Format: 'csv', StartTime: String(range.StartTime), EndTime: String(range.EndTime), ClientUserId: 'u3', Transcripts: '1' });
  t.ok(withTexts.body.includes(',我要开发票\r\n'), 'message rows carry the text');
  t.ok(withTexts.body.includes('"name ""Li, Lei"""'), 'quotes and commas escaped');
  t.ok(withTexts.body.includes(",'=SUM(A1)\r\n"), 'a formula is not left for a spreadsheet to run');

  const jsonl = await download(s, { Format: 'jsonl', StartTime: String(range.StartTime), EndTime: String(range.EndTime), Transcripts: '1' });
  t.match(jsonl.type, /application\/x-ndjson/);
  const lines = jsonl.body.trim().split('\n').map((l) => JSON.parse(l) as { SessionId: string; Messages: { Text: string; FromAccountRole: number }[] });
  t.same(lines.map((l) => l.SessionId).filter((id) => id === s1 || id === s3), [s1, s3]);
  t.ok(lines[0].Messages.some((m) => m.Text === 'where is my parcel?' && m.FromAccountRole === 1), 'the transcript, robot and human phases together');

  // A transcript that cannot be read (in a cluster: its node lost) cuts the export off: the client sees it incomplete.
  const historyPage = s.store.historyPage;
  s.store.historyPage = () => { throw new Error('unreadable'); };
  const q0 = new URLSearchParams({ sdkappid: String(APP), identifier: 'administrator', usersig: adminSig(api(s)), Format: 'jsonl', Transcripts: '1', StartTime: String(range.StartTime), EndTime: String(range.EndTime) });
  const cut = await new Promise<{ status: number; complete: boolean }>((resolve) => {
    http.get(`http://127.0.0.1:${s.port}/v4/desk_export/session_history?${q0}`, (res) => {
      res.on('error', () => undefined);
      res.on('close', () => resolve({ status: res.statusCode!, complete: res.complete }));
      res.resume();
    }).on('error', () => resolve({ status: 0, complete: false }));
  });
  s.store.historyPage = historyPage;
  t.notOk(cut.complete, `an export whose transcript could not be read is not ended as if whole (status ${cut.status})`);
  t.equal((await download(s, { Format: 'jsonl', StartTime: String(range.StartTime), EndTime: String(range.EndTime), Transcripts: '1' })).body, jsonl.body, 'and the next one is whole');

  t.match(await download(s, { Format: 'xml', StartTime: '0', EndTime: '1' }), { status: 400 });
  const q = new URLSearchParams({ sdkappid: String(APP), identifier: 'someone', usersig: adminSig(api(s), 'someone'), Format: 'csv', StartTime: '0', EndTime: '1' });
  const denied = await new Promise<number>((resolve) => http.get(`http://127.0.0.1:${s.port}/v4/desk_export/session_history?${q}`, (res) => { res.resume(); resolve(res.statusCode!); }));
  t.equal(denied, 403, 'the admin only');
});

t.test('a large export streams to a slow reader, every record once', async (t) => {
  const s = await startTestServer(testApp([A]));
  t.teardown(() => s.stop());
  const start = Date.now() - 3_600_000;
  const N = 3000;
  // Sessions written through the projection directly: the export reads them like any others.
  for (let i = 0; i < N; i++) {
    const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    s.stats!.apply(sessionAddress(APP, CS, `bulk-${i}`), [
      { type: 'SessionBegin', sessionId: id, at: start + i, groupId: 1 },
      { type: 'SessionEnded', sessionId: id, endStatus: 'ChatbotReception', event: 'SessionEnd', closeBy: 'timer', at: start + i + 1000 },
    ], 1);
  }
  await s.store.commit();
  const out = await download(s, { Format: 'jsonl', StartTime: String(Math.floor(start / 1000) - 1), EndTime: String(now()) }, true);
  const got = out.body.trim().split('\n').map((l) => (JSON.parse(l) as { ClientUserId: string }).ClientUserId);
  t.equal(got.length, N);
  t.equal(new Set(got).size, N, 'each once');
  t.equal(got[N - 1], `bulk-${N - 1}`, 'in start order');

  // A client that goes away mid-export: the server lets go and keeps serving.
  const q = new URLSearchParams({ sdkappid: String(APP), identifier: 'administrator', usersig: adminSig(api(s)), Format: 'csv', StartTime: String(Math.floor(start / 1000) - 1), EndTime: String(now()) });
  await new Promise<void>((resolve) => {
    const req = http.get(`http://127.0.0.1:${s.port}/v4/desk_export/session_history?${q}`, (res) => {
      res.once('data', () => { req.destroy(); resolve(); });
    });
    req.on('error', () => resolve());
  });
  await new Promise((r) => setTimeout(r, 50));
  t.match(await history(s, { StartTime: Math.floor(start / 1000) - 1, EndTime: now(), Limit: 1 }), { ActionStatus: 'OK', TotalCount: N }, 'still serving');
});
