import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { sign } from '../../src/callbacks/delivery';
import { srcBody, textBody, textOf } from '../helpers/client';
import { APP, CS, KEY, startTestServer, testApp, type TestServer } from '../helpers/server';
import { rest } from './rest-client';

const TOKEN = 'callback-token-0123456789';

interface Received { query: URLSearchParams; headers: http.IncomingHttpHeaders; raw: string; body: Record<string, unknown> }

/** A local backend: answers per `mode`, records what it accepted. */
async function receiver(port = 0) {
  const got: Received[] = [];
  let mode: 'ok' | 'fail' | 'hang' = 'ok';
  let failNext = 0;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      if (mode === 'hang') return;
      if (mode === 'fail' || failNext > 0) {
        failNext = Math.max(0, failNext - 1);
        res.writeHead(500).end();
        return;
      }
      got.push({ query: new URL(req.url!, 'http://x').searchParams, headers: req.headers, raw, body: JSON.parse(raw) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}');
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    got, server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/desk-callback`,
    port: (server.address() as AddressInfo).port,
    set(m: typeof mode) { mode = m; },
    failTimes(n: number) { failNext = n; },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const events = (got: Received[], sessionId?: string) => got.filter((g) => !sessionId || g.body.SessionId === sessionId).map((g) => g.body.Event as string);

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function appWith(url: string, extra: Record<string, unknown> = {}) {
  return testApp(undefined, {}, { callbacks: { url, sessionEvents: true, token: TOKEN, ...extra } as never });
}

t.test('Desk.SessionEventNotify: every event of a session, in order, signed, with the documented fields', async (t) => {
  const rx = await receiver();
  const s = await startTestServer(appWith(rx.url));
  t.teardown(async () => { await s.stop(); await rx.close(); });
  const agent = await s.agent('alice@desk.test');
  const user = await s.user('u1');
  const ack = await user.request('message.send', { to: CS, random: 1, body: srcBody('7') });
  const sessionId = (ack.data as { sessionId: string }).sessionId;
  await user.request('message.send', { to: CS, random: 2, body: textBody('hello') });
  await user.request('message.send', { to: CS, random: 3, body: textBody('人工') });
  await agent.next((f) => f.type === 'session.assigned');
  await agent.request('message.send', { sessionId, random: 4, body: textBody('hi there') });
  await user.request('message.send', { to: CS, random: 5, body: textBody('thanks') });
  await agent.request('session.end', { sessionId });
  await user.next((f) => f.type === 'message' && (f.data as { body: { MsgContent: { Data?: string } }[] }).body[0].MsgContent.Data?.includes('"src":"9"') === true);
  await user.request('message.send', { to: CS, random: 6, body: srcBody('10', { menuSelected: { id: '104', content: '满意', sessionId } }) });
  await until(() => events(rx.got).includes('SatisfactionSelected'));

  // The account's own messages (prompts, the robot) are reported in both stages; the rest in order:
  const seen = events(rx.got.filter((g) => g.body.FromAccountRole !== 3), sessionId);
  const order = ['SessionBegin', 'ChatBot.UserSendMsg', 'ChatBot.UserSendMsg', 'TransferringToHuman', 'TransferToHumanSuccess', 'Human.AgentSendMsg', 'Human.UserSendMsg', 'SessionAgentEnd', 'SessionEnd', 'SatisfactionSelected'];
  t.same(seen.filter((e) => order.includes(e)), order, 'key events in order');
  t.ok(events(rx.got, sessionId).includes('ChatBot.RobotSendMsg'), 'robot-phase replies reported');
  const hello = rx.got.find((g) => g.body.Event === 'ChatBot.UserSendMsg')!;
  t.match(hello.body, { CallbackCommand: 'Desk.SessionEventNotify', SessionId: sessionId, ChannelType: 'SDK', ClientUserId: 'u1', CustomerServiceId: CS, MsgBody: textBody('hello'), IsContactUser: false, MsgKey: /^\d+_2_/ });
  t.ok(typeof hello.body.EventTime === 'number' && (hello.body.EventTime as number) > 1e12, 'EventTime in ms');
  t.match(rx.got.find((g) => g.body.Event === 'Human.AgentSendMsg' && g.body.FromAccountRole === 2)!.body, { AgentId: 'alice@desk.test', MsgBody: textBody('hi there'), FromAccount: 'alice@desk.test' });
  t.match(rx.got.find((g) => g.body.Event === 'SatisfactionSelected')!.body, { SatisfactionSelected: 4 });
  for (const g of rx.got) {
    t.equal(g.query.get('SdkAppid'), String(APP));
    t.equal(g.query.get('CallbackCommand'), 'Desk.SessionEventNotify');
    t.equal(g.headers['x-desk-signature'], sign(TOKEN, Number(g.headers['x-desk-timestamp']), g.raw), 'signed with the callback token');
  }
  t.equal(new Set(rx.got.map((g) => g.headers['x-desk-idempotency-key'])).size, rx.got.length, 'one idempotency key per callback');
});

t.test('Desk.SessionEventNotify reports every message of the human phase too: prompts, send_msg, each streamed chunk, modify_msg edits, with every field of the example', async (t) => {
  const rx = await receiver();
  const s = await startTestServer(appWith(rx.url));
  t.teardown(async () => { await s.stop(); await rx.close(); });
  const api = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  const agent = await s.agent('alice@desk.test');
  const user = await s.user('u1');
  const ack = await user.request('message.send', { to: CS, random: 1, body: textBody('人工') });
  const sessionId = (ack.data as { sessionId: string }).sessionId;
  await agent.next((f) => f.type === 'session.assigned');
  const first = await rest(api, 'desk_http_svc/send_stream_msg', { SessionId: sessionId, Chunk: 'Hel' });
  const streamKey = first.MsgKey as string;
  await rest(api, 'desk_http_svc/send_stream_msg', { SessionId: sessionId, MsgKey: streamKey, Chunk: 'lo', Finish: 1 });
  // send_msg answers no MsgKey (as documented): the backend learns it from the callback, and edits with it.
  await rest(api, 'desk_http_svc/send_msg', { SessionId: sessionId, MsgRandom: 7, MsgBody: textBody('from the backend'), CloudCustomData: 'cd' });
  const byBody = (text: string) => rx.got.find((g) => JSON.stringify(g.body.MsgBody) === JSON.stringify(textBody(text)));
  await until(() => !!byBody('from the backend'));
  const sent = byBody('from the backend')!.body;
  t.match(await rest(api, 'desk_http_svc/modify_msg', { SessionId: sessionId, MsgKey: sent.MsgKey, MsgBody: textBody('edited'), CloudCustomData: 'cd2' }), { ErrorCode: 0 });
  await until(() => !!byBody('edited'));

  const human = rx.got.filter((g) => g.body.Event === 'Human.AgentSendMsg').map((g) => g.body);
  t.ok(human.some((b) => /转接人工成功|为您服务/.test(JSON.stringify(b.MsgBody))), 'the transfer-success prompt');
  t.match(human.find((b) => b.MsgKey === sent.MsgKey), { AgentId: 'alice@desk.test', MsgBody: textBody('from the backend'), CloudCustomData: 'cd', FromAccount: CS, FromAccountRole: 3 }, 'a send_msg message');
  const chunks = human.filter((b) => b.MsgKey === streamKey).map((b) => JSON.parse((b.MsgBody as { MsgContent: { Data: string } }[])[0].MsgContent.Data));
  t.match(chunks, [{ src: '31', chunks: ['Hel'], isFinished: 0 }, { src: '31', chunks: ['Hel', 'lo'], isFinished: 1 }], 'each streamed chunk, with the message so far');
  t.match(human.filter((b) => b.MsgKey === sent.MsgKey).map((b) => [b.MsgBody, b.CloudCustomData]), [[textBody('from the backend'), 'cd'], [textBody('edited'), 'cd2']], 'the edit, under the same MsgKey');
  const fields = ['CallbackCommand', 'SessionId', 'Event', 'EventTime', 'ChannelType', 'ClientUserId', 'CustomerServiceId', 'AgentId', 'MsgKey', 'MsgBody', 'CloudCustomData', 'IsContactUser', 'SatisfactionSelected', 'ForwardFromAgentId'];
  for (const g of rx.got) t.same(fields.filter((f) => !(f in g.body)), [], `every field of the example in ${String(g.body.Event)}`);
  t.match(rx.got.find((g) => g.body.Event === 'SessionBegin')!.body, { MsgKey: '', MsgBody: [], CloudCustomData: '', SatisfactionSelected: 0, ForwardFromAgentId: '' });
});

t.test('a failing or hanging receiver gets retries; order per session holds; a hopeless one is set aside and counted', async (t) => {
  const rx = await receiver();
  const s = await startTestServer(appWith(rx.url), { delivery: { baseDelayMs: 30, timeoutMs: 300, maxAttempts: 4 } });
  t.teardown(async () => { await s.stop(); await rx.close(); });
  rx.failTimes(2);
  const user = await s.user('u1');
  await user.request('message.send', { to: CS, random: 1, body: srcBody('7') });
  await user.request('message.send', { to: CS, random: 2, body: textBody('one') });
  await until(() => events(rx.got).filter((e) => e === 'ChatBot.UserSendMsg').length === 1);
  t.same(events(rx.got).slice(0, 2), ['SessionBegin', 'ChatBot.RobotSendMsg'], 'the refused first callback came first once accepted');

  rx.set('hang');
  await user.request('message.send', { to: CS, random: 3, body: textBody('two') });
  await new Promise((r) => setTimeout(r, 400));
  rx.set('ok');
  await until(() => rx.got.some((g) => JSON.stringify(g.body.MsgBody) === JSON.stringify(textBody('two'))));
  t.pass('delivered after a timed-out attempt');

  rx.set('fail');
  await user.request('message.send', { to: CS, random: 4, body: textBody('three') });
  await until(() => s.store.failedCallbackCount() > 0, 5000);
  rx.set('ok');
  const metrics = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
  t.match(metrics, /desk_callbacks_failed [1-9]/, 'counted in metrics');
  t.match(metrics, /desk_callbacks_total\{outcome="retried"\} [1-9]/);
});

t.test('callbacks pending at a crash are delivered after the restart', async (t) => {
  const rx = await receiver();
  const port = rx.port;
  await rx.close(); // the backend is down
  let s: TestServer = await startTestServer(appWith(`http://127.0.0.1:${port}/desk-callback`), { delivery: { baseDelayMs: 60_000 } });
  const dataDir = s.dataDir;
  const user = await s.user('u1');
  const ack = await user.request('message.send', { to: CS, random: 1, body: srcBody('7') });
  const sessionId = (ack.data as { sessionId: string }).sessionId;
  await user.request('message.send', { to: CS, random: 2, body: textBody('are you there?') });
  await new Promise((r) => setTimeout(r, 100));
  await s.stop();
  const up = await receiver(port);
  s = await startTestServer(appWith(`http://127.0.0.1:${port}/desk-callback`), { dataDir });
  t.teardown(async () => { await s.stop(); await up.close(); });
  await until(() => events(up.got, sessionId).includes('ChatBot.UserSendMsg'));
  t.same(events(up.got, sessionId).slice(0, 2), ['SessionBegin', 'ChatBot.RobotSendMsg'], 'in their original order');
});

t.test('self-built AI: the robot stays quiet, the backend hears user messages (src 7 too) and answers through send_msg', async (t) => {
  const rx = await receiver();
  const s = await startTestServer(appWith(rx.url, { sessionEvents: false, thirdPartyBot: true }));
  t.teardown(async () => { await s.stop(); await rx.close(); });
  const user = await s.user('u1');
  const ack = await user.request('message.send', { to: CS, random: 1, body: srcBody('7') });
  const sessionId = (ack.data as { sessionId: string }).sessionId;
  await user.request('message.send', { to: CS, random: 2, body: textBody('how do I get a refund?') });
  await until(() => rx.got.length === 2);
  t.same(events(rx.got), ['ChatBot.UserSendMsg', 'ChatBot.UserSendMsg'], 'only the user messages');
  t.match(rx.got[0].body.MsgBody, srcBody('7'), 'the entry message is forwarded');
  t.notOk(user.texts().some((x) => x.startsWith('抱歉，我还没有学会')), 'no built-in robot answer');
  const api = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  await rest(api, 'desk_http_svc/send_msg', { SessionId: sessionId, MsgRandom: 9, MsgBody: textBody('Refunds take 3 days.') });
  await user.next((f) => textOf(f) === 'Refunds take 3 days.');
  t.pass('the backend answers through send_msg');
});

t.test('a session an agent started by contact_user reports IsContactUser', async (t) => {
  const rx = await receiver();
  const s = await startTestServer(appWith(rx.url));
  t.teardown(async () => { await s.stop(); await rx.close(); });
  const agent = await s.agent('alice@desk.test');
  await agent.next((f) => f.type === 'agent.state');
  const api = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  t.match(await rest(api, 'desk_http_svc/contact_user', { IMAgentUserId: CS, ClientUserId: 'u9' }), { ErrorCode: 0, MemberId: 'alice@desk.test' });
  await until(() => events(rx.got).includes('TransferToHumanSuccess'));
  t.match(rx.got.find((g) => g.body.Event === 'TransferToHumanSuccess')!.body, { IsContactUser: true, AgentId: 'alice@desk.test', ClientUserId: 'u9' });
});

t.test('Member.EventNotify reports every status change of a member, when switched on', async (t) => {
  const rx = await receiver();
  const s = await startTestServer(appWith(rx.url, { sessionEvents: false, memberEvents: true }));
  t.teardown(async () => { await s.stop(); await rx.close(); });
  const agent = await s.agent('alice@desk.test');
  await agent.next((f) => f.type === 'agent.state');
  await agent.request('agent.status', { status: 'rest', reason: 'lunch' });
  await agent.request('agent.status', { status: 'busy' });
  await agent.request('agent.status', { status: 'offline' });
  await until(() => rx.got.length === 4);
  t.same(rx.got.map((g) => [g.body.Status, g.body.RestReason]), [['ready', ''], ['rest', 'lunch'], ['notReady', ''], ['offline', '']]);
  t.match(rx.got[0].body, { CallbackCommand: 'Member.EventNotify', Event: 'Member.StatusChange', MemberId: 'alice@desk.test', ClientInfo: [{ ClientType: 'Web', IsConnected: true }] });
  t.equal(rx.got[0].query.get('RequestID'), rx.got[0].headers['x-desk-idempotency-key'], 'RequestID for de-duplication');
});

t.test('Desk.CallbackBeforeIMContactUser: the backend lets a contact go ahead, refuses it, or its silence follows the strategy', async (t) => {
  const rx = await receiver();
  let code = 0;
  rx.server.removeAllListeners('request');
  const asked: Record<string, unknown>[] = [];
  let hang = false;
  rx.server.on('request', (req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      asked.push(JSON.parse(raw));
      if (hang) return;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ActionStatus: code ? 'FAIL' : 'OK', ErrorCode: code, ErrorInfo: '' }));
    });
  });
  const s = await startTestServer(appWith(rx.url, { sessionEvents: false }), { delivery: { timeoutMs: 300 } });
  t.teardown(async () => { await s.stop(); await rx.close(); });
  const api = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  t.match(await rest(api, 'desk_http_svc/update_im_agent', { IMAgentUserID: CS, CallbackSwitchBeforeIMContactUser: 1 }), { ErrorCode: 0 });
  const agent = await s.agent('alice@desk.test');
  await agent.next((f) => f.type === 'agent.state');

  code = 1;
  t.match(await rest(api, 'desk_http_svc/contact_user', { IMAgentUserId: CS, ClientUserId: 'u1', MemberId: 'alice@desk.test' }), { ErrorCode: 141014 }, 'refused by the backend');
  t.match(asked[0], { CallbackCommand: 'Desk.CallbackBeforeIMContactUser', ClientUserId: 'u1', ChannelId: CS, ChannelType: 'SDK', GroupId: 1, MemberId: 'alice@desk.test' });
  code = 0;
  t.match(await rest(api, 'desk_http_svc/contact_user', { IMAgentUserId: CS, ClientUserId: 'u2' }), { ErrorCode: 0, MemberId: 'alice@desk.test' }, 'allowed');
  hang = true;
  t.match(await rest(api, 'desk_http_svc/contact_user', { IMAgentUserId: CS, ClientUserId: 'u3' }), { ErrorCode: 0 }, 'no answer, strategy 0: allowed');
  t.match(await rest(api, 'desk_http_svc/update_im_agent', { IMAgentUserID: CS, ContactUserCallbackTimeoutStrategy: 1 }), { ErrorCode: 0 });
  t.match(await rest(api, 'desk_http_svc/contact_user', { IMAgentUserId: CS, ClientUserId: 'u4' }), { ErrorCode: 141014 }, 'no answer, strategy 1: refused');
});
