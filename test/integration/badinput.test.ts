/**
 * Bad input at the WebSocket door: refused identities (UserSig, app, role), invalid frames and their error codes,
 * the msgpack encoding, and the sockets the server closes — while it keeps serving everyone else.
 */
import t, { type Test } from 'tap';
import { Packr } from 'msgpackr';
import WebSocket from 'ws';
import { Encoding, type ServerFrame } from '../../protocol/frames';
import { genUserSig } from '../../protocol/usersig';
import { srcBody, TestClient, textBody } from '../helpers/client';
import { startTestServer, testApp } from '../helpers/server';
import { APP, CS, connect, dataOf, isText, KEY, nextRandom, rawConnect, roundTrip, seen, sleep, startsWith, toHuman } from './_support';

const ALICE = 'alice@desk.test';
const nowSec = () => Math.floor(Date.now() / 1000);
const packr = new Packr({ useRecords: false, mapsAsObjects: true });
type Err = { code: number; info: string; ref?: string | number };

async function refused(t: Test, port: number, query: Record<string, string>, code: number, close: number, what: string): Promise<void> {
  const r = await rawConnect(port, query);
  const err = r.frames.find((f) => f.type === 'error');
  t.ok(err, `${what}: an error frame`);
  t.equal(err && dataOf<Err>(err).code, code, `${what}: code ${code}`);
  t.equal(r.code, close, `${what}: closed with ${close}`);
  t.equal(r.frames.filter((f) => f.type !== 'error').length, 0, `${what}: nothing else is sent`);
}

const q = (identifier: string, usersig: string, role = 'user', sdkappid = String(APP)) => ({ sdkappid, identifier, usersig, role });

t.test('refused at connect: UserSig problems, unknown app, wrong roles', async (t) => {
  const s = await startTestServer(testApp([ALICE]));
  t.teardown(() => s.stop());
  const p = s.port;
  await refused(t, p, q('u1', genUserSig(APP, 'another-secret-key-0123456789ab', 'u1', 86400)), 70009, 4500, 'sig made with another key');
  await refused(t, p, q('u1', genUserSig(APP, KEY, 'u1', 60, nowSec() - 3600)), 70001, 4500, 'expired sig');
  await refused(t, p, q('u1', 'this-is-not-a-usersig'), 70003, 4500, 'garbage sig');
  await refused(t, p, q('u1', ''), 70003, 4500, 'empty sig');
  await refused(t, p, q('u1', Buffer.from('{"TLS.ver":"2.0"}').toString('base64')), 70003, 4500, 'base64 but not deflated');
  await refused(t, p, q('u1', genUserSig(APP + 1, KEY, 'u1', 86400)), 70014, 4500, 'sig of another sdkappid');
  await refused(t, p, q('u1', genUserSig(APP, KEY, 'u2', 86400)), 70013, 4500, 'sig of another identifier');
  await refused(t, p, q('u1', genUserSig(APP + 7, KEY, 'u1', 86400), 'user', String(APP + 7)), 141000, 4500, 'unknown sdkappid');
  await refused(t, p, q('u1', genUserSig(APP, KEY, 'u1', 86400), 'user', 'not-a-number'), 141000, 4500, 'non-numeric sdkappid');
  await refused(t, p, q('', genUserSig(APP, KEY, '', 86400)), 20003, 4500, 'empty identifier');
  await refused(t, p, q('u1', genUserSig(APP, KEY, 'u1', 86400), 'agent'), 20003, 4500, 'a user identity asking for the agent role');
  await refused(t, p, q(ALICE, genUserSig(APP, KEY, ALICE, 86400), 'user'), 20003, 4500, 'a member asking for the user role');
  await refused(t, p, q(CS, genUserSig(APP, KEY, CS, 86400), 'user'), 20003, 4500, 'the customer-service account as a user');
  await refused(t, p, q('administrator', genUserSig(APP, KEY, 'administrator', 86400), 'user'), 20003, 4500, 'the admin as a user');
  await refused(t, p, q('u1', genUserSig(APP, KEY, 'u1', 86400), 'admin'), 141004, 4501, 'an unknown role');

  // The server still serves good sockets, including the identities refused above with a proper sig and role.
  const alice = await connect(p, ALICE, 'agent');
  const u1 = await connect(p, 'u1', 'user');
  await toHuman(u1, alice);
  t.pass('a good user and agent still get through');
  await u1.close();
  await alice.close();
});

t.test('invalid frames get error replies with the right codes, and the ref is echoed', async (t) => {
  const s = await startTestServer(testApp([ALICE]));
  t.teardown(() => s.stop());
  const u = await connect(s.port, 'bi1', 'user');
  const alice = await connect(s.port, ALICE, 'agent');
  t.teardown(async () => { await u.close(); await alice.close(); });

  const rawErr = async (c: TestClient, raw: string | Buffer, what: string): Promise<Err> => {
    const mark = c.frames.length;
    c.sendRaw(raw);
    const f = await seen(c, (x) => x.type === 'error', what, mark);
    return dataOf<Err>(f);
  };
  const reqErr = async (c: TestClient, type: string, data: unknown): Promise<Err & { frame: ServerFrame }> => {
    const f = await c.request(type, data);
    t.equal(f.type, 'error', `${type} ${JSON.stringify(data).slice(0, 80)} → error`);
    t.equal(f.ref, dataOf<Err>(f).ref, 'ref in the frame and in data agree');
    return { ...dataOf<Err>(f), frame: f };
  };

  t.equal((await rawErr(u, '{"type": "ping", "data": {', 'truncated JSON')).code, 90001, 'malformed JSON → 90001');
  t.equal((await rawErr(u, 'hello', 'not JSON')).code, 90001, 'plain text → 90001');
  t.equal((await rawErr(u, '', 'empty frame')).code, 90001, 'empty text frame → 90001');
  t.equal((await rawErr(u, '[]', 'array')).code, 141004, 'an array is not a frame');
  t.equal((await rawErr(u, 'null', 'null')).code, 141004, 'null is not a frame');
  t.equal((await rawErr(u, '{"type":"ping"}', 'no data')).code, 141004, 'data is required');
  t.equal((await rawErr(u, '{"type":5,"data":{}}', 'numeric type')).code, 141004);
  t.equal((await rawErr(u, '{"type":"ping","ref":{"a":1},"data":{}}', 'object ref')).code, 141004, 'ref must be a string or integer');

  const unknown = await reqErr(u, 'no.such.type', {});
  t.equal(unknown.code, 141004, 'unknown type → 141004');
  t.equal(unknown.frame.ref, 'r1', 'ref echoed');
  t.equal((await reqErr(u, 'session.end', { sessionId: 'x' })).code, 141004, 'agent-only type from a user → 141004');
  t.equal((await reqErr(u, 'ping', { extra: 1 })).code, 141004, 'ping takes no fields');

  // Wrong field types.
  t.equal((await reqErr(u, 'message.send', { to: 123, random: 1, body: textBody('x') })).code, 141004, 'to as a number');
  t.equal((await reqErr(u, 'message.send', { to: CS, random: 'one', body: textBody('x') })).code, 141004, 'random as a string');
  t.equal((await reqErr(u, 'message.send', { to: CS, random: -1, body: textBody('x') })).code, 141004, 'negative random');
  t.equal((await reqErr(u, 'message.send', { to: CS, random: 2 ** 32, body: textBody('x') })).code, 141004, 'random over uint32');
  t.equal((await reqErr(u, 'message.send', { to: CS, random: 1.5, body: textBody('x') })).code, 141004, 'fractional random');
  t.equal((await reqErr(u, 'message.send', { to: CS, random: 1, body: 'hello' })).code, 90007, 'body as a string → 90007 (not an array), as on REST');
  t.equal((await reqErr(u, 'message.send', { to: CS, random: 1, body: [] })).code, 90002, 'empty body → 90002');
  t.equal((await reqErr(u, 'message.send', { to: CS, random: 1, body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 5 } }] })).code, 90002, 'Text as a number → 90002');
  t.equal((await reqErr(u, 'message.send', { to: CS, random: 1, body: [{ MsgType: 'TIMCustomElem', MsgContent: {} }] })).code, 90002, 'custom element without Data → 90002');
  t.equal((await reqErr(u, 'message.send', { to: CS, random: 1, body: [{ MsgType: 'TIMBogusElem', MsgContent: {} }] })).code, 90002, 'unknown element type → 90002');
  t.equal((await reqErr(u, 'message.send', { to: CS, random: 1, body: textBody('x'), extra: true })).code, 141004, 'unknown field');
  t.equal((await reqErr(u, 'message.send', { to: 'nobody', random: 1, body: textBody('x') })).code, 141004, 'not a customer-service account');
  t.equal((await reqErr(u, 'message.send', { to: CS, random: 1, body: textBody('x'), cloudCustomData: 7 })).code, 141004, 'cloudCustomData as a number');
  t.equal((await reqErr(u, 'history.sync', { to: CS, afterSeq: 'zero' })).code, 141004, 'afterSeq as a string');
  t.equal((await reqErr(u, 'history.sync', { to: CS, afterSeq: -1 })).code, 141004, 'negative afterSeq');
  t.equal((await reqErr(u, 'history.sync', { afterSeq: 0 })).code, 141004, 'history.sync without to or sessionId');
  t.equal((await reqErr(u, 'history.sync', { sessionId: 'someone-elses', afterSeq: 0 })).code, 141005, 'unknown session');
  t.equal((await reqErr(alice, 'agent.status', { status: 'sleeping' })).code, 141004, 'unknown status');
  t.equal((await reqErr(alice, 'agent.status', { status: 'rest', reason: 'x'.repeat(65) })).code, 141004, 'rest reason too long');
  t.equal((await reqErr(alice, 'session.transfer', { sessionId: 's', groupId: 'one' })).code, 141004, 'groupId as a string');
  t.equal((await reqErr(alice, 'session.end', { sessionId: '' })).code, 141004, 'empty sessionId');
  t.equal((await reqErr(alice, 'session.end', { sessionId: 'no-such-session' })).code, 141005, 'unknown sessionId → 141005');
  t.equal((await reqErr(alice, 'message.send', { to: CS, random: 1, body: textBody('x') })).code, 141004, 'agents address sessions, not accounts');

  // Size: 12 KB of body in bytes.
  const big = await reqErr(u, 'message.send', { to: CS, random: 1, body: textBody('x'.repeat(13 * 1024)) });
  t.equal(big.code, 93000, 'a 13 KB body → 93000');
  const cjk = await reqErr(u, 'message.send', { to: CS, random: 2, body: textBody('字'.repeat(4500)) });
  t.equal(cjk.code, 93000, '4500 CJK characters are 13.5 KB of UTF-8 → 93000');
  const fits = await u.request('message.send', { to: CS, random: nextRandom(), body: textBody('y'.repeat(11 * 1024)) });
  t.equal(fits.type, 'message.ack', 'an 11 KB body is accepted');

  // After all that the socket is still usable (fewer than the tolerated number of invalid frames).
  await roundTrip(u, alice);
  t.pass('sockets still open');
});

t.test('msgpack binary frames work end to end and get msgpack replies; the reply follows the encoding of the last frame', async (t) => {
  const s = await startTestServer(testApp([ALICE]));
  t.teardown(() => s.stop());
  const alice = await connect(s.port, ALICE, 'agent', Encoding.Msgpack);
  const u = await connect(s.port, 'mp1', 'user', Encoding.Msgpack);
  t.teardown(async () => { await u.close(); await alice.close(); });
  const wire: { c: string; binary: boolean; type: string }[] = [];
  for (const [name, c] of [['user', u], ['agent', alice]] as const) {
    c.ws.on('message', (data, binary) => wire.push({ c: name, binary, type: (binary ? packr.unpack(data as Buffer) : JSON.parse(data.toString())).type }));
  }
  // The server learns a socket's encoding from its frames, so each client speaks first (a ping).
  // (Pushes that reach a socket before its first frame, e.g. agent.state on connect, are JSON.)
  await roundTrip(u, alice);
  wire.length = 0;
  const ack = await u.request('message.send', { to: CS, random: nextRandom(), body: srcBody('7') });
  t.equal(ack.type, 'message.ack');
  await seen(u, isText('您好请问有什么可以帮助您的?'), 'welcome over msgpack');
  const { sessionId } = await toHuman(u, alice);
  await alice.request('message.send', { sessionId, random: 1, body: textBody('packed hello') });
  await seen(u, isText('packed hello'));
  await u.request('message.send', { to: CS, random: nextRandom(), body: textBody('packed reply') });
  await seen(alice, isText('packed reply'));
  t.ok(wire.length > 5);
  t.same(wire.filter((w) => !w.binary), [], 'every frame to msgpack clients is binary');

  // Truncated msgpack → 90001, in msgpack.
  const mark = u.frames.length;
  u.ws.send(Buffer.from([0x82, 0xa4]));
  const err = await seen(u, (f) => f.type === 'error', 'error for invalid msgpack', mark);
  t.equal(dataOf<Err>(err).code, 90001);
  t.ok(wire[wire.length - 1].binary, 'the error came as msgpack');

  // Mixed: a JSON frame on the same socket gets a JSON reply.
  const before = wire.length;
  u.ws.send(JSON.stringify({ type: 'ping', ref: 'json-ping', data: {} }));
  await seen(u, (f) => f.ref === 'json-ping', 'pong to a JSON ping');
  t.notOk(wire.slice(before).find((w) => w.type === 'pong')!.binary, 'a JSON frame is answered in JSON');
});

t.test('a socket that keeps sending invalid frames is closed with 4501 while other clients are served', async (t) => {
  const s = await startTestServer(testApp([ALICE]));
  t.teardown(() => s.stop());
  const alice = await connect(s.port, ALICE, 'agent');
  const good = await connect(s.port, 'good-user', 'user');
  const bad = await connect(s.port, 'bad-user', 'user');
  t.teardown(async () => { await good.close(); await alice.close(); });

  const spam = (async () => {
    for (let i = 0; i < 200 && bad.ws.readyState === WebSocket.OPEN; i++) {
      bad.sendRaw(i % 2 ? '{{{' : JSON.stringify({ type: 'bogus', ref: i, data: {} }));
      if (i % 10 === 0) await sleep(1);
    }
    await bad.closed;
  })();
  const conversation = (async () => {
    const { sessionId } = await toHuman(good, alice);
    for (let i = 0; i < 5; i++) {
      await good.request('message.send', { to: CS, random: nextRandom(), body: textBody(`m${i}`) });
      await alice.request('message.send', { sessionId, random: 100 + i, body: textBody(`a${i}`) });
    }
    await seen(good, isText('a4'));
    await seen(alice, isText('m4'));
  })();
  await Promise.all([spam, conversation]);
  t.equal(bad.closeCode, 4501, 'closed as a protocol violation');
  const errors = bad.frames.filter((f) => f.type === 'error');
  t.equal(errors.length, 50, 'each invalid frame was answered until the limit (50)');
  t.ok(errors.every((f) => [90001, 141004].includes(dataOf<Err>(f).code)));
  t.pass('the other clients completed a conversation meanwhile');

  // It may reconnect (4501 is the client's fault, not a ban) and behave.
  const again = await connect(s.port, 'bad-user', 'user');
  t.equal((await again.request('ping', {})).type, 'pong');
  await again.close();
});

t.test('rate limit: a flood beyond the burst gets 141009 and the socket is closed with 4029', async (t) => {
  const s = await startTestServer(testApp([ALICE]), { limits: { framesPerSec: 5, burst: 10 } });
  t.teardown(() => s.stop());
  const flood = await connect(s.port, 'flooder', 'user');
  const calm = await connect(s.port, 'calm', 'user');
  for (let i = 0; i < 60 && flood.ws.readyState === WebSocket.OPEN; i++) flood.send('ping', {}, `p${i}`);
  await flood.closed;
  const pongs = flood.frames.filter((f) => f.type === 'pong').length;
  const limited = flood.frames.filter((f) => f.type === 'error' && dataOf<Err>(f).code === 141009).length;
  t.ok(pongs >= 10 && pongs <= 12, `about the burst is served (${pongs})`);
  t.ok(limited > 0, `then rate-limit errors (${limited})`);
  t.equal(flood.closeCode, 4029, 'closed with 4029 (reconnect later)');
  t.equal((await calm.request('ping', {})).type, 'pong', 'other sockets are unaffected');
  await calm.close();
});

t.test('a frame beyond the 64 KB frame limit is refused (error frame or closed socket) and affects that socket only', async (t) => {
  const s = await startTestServer(testApp([ALICE]));
  t.teardown(() => s.stop());
  const big = await connect(s.port, 'huge', 'user');
  const other = await connect(s.port, 'other', 'user');
  big.sendRaw(JSON.stringify({ type: 'message.send', ref: 'h', data: { to: CS, random: 1, body: textBody('z'.repeat(70 * 1024)) } }));
  await Promise.race([big.closed, seen(big, (f) => f.type === 'error', 'error for the oversized frame').catch(() => undefined), sleep(3000)]);
  const err = big.frames.find((f) => f.type === 'error');
  t.ok(big.closeCode !== undefined || err !== undefined, `refused (${err ? `error ${dataOf<Err>(err).code}` : `closed ${big.closeCode}`})`);
  if (err) t.equal(dataOf<Err>(err).code, 93000, 'too long → 93000');
  t.notOk(big.frames.some((f) => f.type === 'message.ack'), 'nothing was accepted');
  t.equal((await other.request('ping', {})).type, 'pong', 'the server still serves others');
  const back = big.closeCode === undefined ? big : await connect(s.port, 'huge', 'user');
  t.equal((await back.request('message.send', { to: CS, random: nextRandom(), body: srcBody('7') })).type, 'message.ack');
  await seen(back, startsWith('您好'));
  await back.close();
  await big.close();
  await other.close();
});

t.test('a refused socket cannot send anything: frames after refusal are ignored', async (t) => {
  const s = await startTestServer(testApp([ALICE]));
  t.teardown(() => s.stop());
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/v4/ws?${new URLSearchParams(q('sneaky', 'garbage'))}`);
  ws.on('error', () => undefined);
  const got: string[] = [];
  ws.on('message', (d) => got.push(d.toString()));
  await new Promise<void>((r) => ws.on('open', () => r()));
  ws.send(JSON.stringify({ type: 'message.send', ref: 'x', data: { to: CS, random: 1, body: srcBody('7') } }));
  await new Promise<void>((r) => ws.on('close', () => r()));
  t.notOk(got.some((g) => g.includes('message.ack')), 'no ack for a refused socket');
  const hist = await connect(s.port, 'sneaky', 'user');
  const h = await hist.request('history.sync', { to: CS, afterSeq: 0 });
  t.same(dataOf<{ messages: unknown[] }>(h).messages, [], 'nothing was stored for it');
  await hist.close();
});


t.test('a member mail up to 128 characters connects as an agent; a UserID stops at 64', async (t) => {
  const long = `agent@${'d'.repeat(50)}.${'e'.repeat(40)}.test`;
  const s = await startTestServer(testApp([long]));
  t.teardown(() => s.stop());
  const agent = await connect(s.port, long, 'agent');
  const u1 = await connect(s.port, 'u1', 'user');
  await toHuman(u1, agent);
  t.pass('the long mail signs in and serves');
  await refused(t, s.port, q('u'.repeat(65), genUserSig(APP, KEY, 'u'.repeat(65), 86400)), 20003, 4500, 'a 65-character UserID');
  await u1.close();
  await agent.close();
});

t.test('identifiers and account names that are Object.prototype keys are not members or accounts', async (t) => {
  // members / csAccounts are plain objects: a lookup by 'constructor' or '__proto__' finds Object.prototype's.
  const s = await startTestServer(testApp([ALICE]));
  t.teardown(() => s.stop());
  for (const id of ['constructor', '__proto__', 'toString']) {
    const sig = genUserSig(APP, KEY, id, 86400);
    const asAgent = await rawConnect(s.port, q(id, sig, 'agent'), 500);
    const err = asAgent.frames.find((f) => f.type === 'error');
    t.equal(err && dataOf<Err>(err).code, 20003, `'${id}' is not a member: the agent role is refused`);
    t.equal(asAgent.code, 4500, `'${id}' as agent: closed with 4500`);
    const asUser = await rawConnect(s.port, q(id, sig, 'user'), 300);
    t.equal(asUser.frames.length, 0, `'${id}' is an ordinary UserID: not refused as a user`);
  }
  const u = await connect(s.port, 'proto-user', 'user');
  for (const to of ['constructor', '__proto__', 'hasOwnProperty']) {
    const r = await u.request('message.send', { to, random: nextRandom(), body: textBody('hi') });
    t.equal(dataOf<Err>(r).code, 141004, `message.send to '${to}': not a customer-service account (141004)`);
    const h = await u.request('history.sync', { to, afterSeq: 0 });
    t.equal(h.type, 'error', `history.sync to '${to}' is refused`);
  }
  await u.close();
});
