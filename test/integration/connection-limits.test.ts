/**
 * Sockets per user/member and per peer address are capped (close 4502), and a socket closed for breaking a limit —
 * or by a shutdown — first gets the replies to the frames it sent before: an accepted message is acknowledged.
 */
import fs from 'node:fs';
import t from 'tap';
import WebSocket from 'ws';
import { TestClient, textBody } from '../helpers/client';
import { startTestServer, testApp } from '../helpers/server';
import { APP, connect, CS, dataOf, fullHistory, KEY, nextRandom, sleep, spawnServer, tempDir, waitUntil, writeConfig } from './_support';

/** Opens a user socket from a given loopback source address; resolves with how it ended or that it stayed open. */
function openFrom(port: number, identity: string, localAddress: string): Promise<{ ws: WebSocket; first?: { type: string; data: { code: number } }; code?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(TestClient.url({ port, sdkAppId: APP, key: KEY, identity, role: 'user' }), { localAddress });
    let first: { type: string; data: { code: number } } | undefined;
    ws.on('message', (d) => { first ??= JSON.parse(d.toString()); });
    ws.on('error', () => undefined);
    ws.on('close', (code) => resolve({ ws, first, code }));
    // An accepted socket stays open: give a refusal time to arrive.
    ws.on('open', () => setTimeout(() => { if (ws.readyState === WebSocket.OPEN) resolve({ ws, first }); }, 150));
  });
}

t.test('a user may hold at most socketsPerIdentity sockets: the next is refused with 141009 and close 4502', async (t) => {
  const srv = await startTestServer(testApp(), { limits: { socketsPerIdentity: 3 } });
  t.teardown(() => srv.stop());
  const held = [await srv.user('capped'), await srv.user('capped'), await srv.user('capped')];
  const refused = await openFrom(srv.port, 'capped', '127.0.0.1');
  t.equal(refused.code, 4502, 'the fourth socket is closed with 4502 (do not reconnect)');
  t.equal(refused.first?.type, 'error');
  t.equal(refused.first?.data.code, 141009);
  t.ok(held.every((c) => c.ws.readyState === WebSocket.OPEN), 'the sockets already open keep serving');
  const other = await openFrom(srv.port, 'someone-else', '127.0.0.1');
  t.equal(other.ws.readyState, WebSocket.OPEN, 'another user is not affected');
  other.ws.close();
  await held[0].close();
  await waitUntil(async () => {
    const again = await openFrom(srv.port, 'capped', '127.0.0.1');
    again.ws.close();
    return again.code === undefined;
  }, 3000, 'a socket once one was closed');
  t.pass('after one closes, a new socket is accepted');
  const ack = await held[1].request('message.send', { to: CS, random: nextRandom(), body: textBody('still here') });
  t.equal(ack.type, 'message.ack', 'a held socket still sends');
});

t.test('sockets from one peer address are capped by socketsPerIp; another address is not affected', async (t) => {
  const srv = await startTestServer(testApp(), { limits: { socketsPerIp: 4 } });
  t.teardown(() => srv.stop());
  const held = [];
  for (let i = 0; i < 4; i++) held.push(await openFrom(srv.port, `ip-user-${i}`, '127.0.0.1'));
  t.ok(held.every((h) => h.code === undefined), 'four sockets from 127.0.0.1 are accepted');
  const fifth = await openFrom(srv.port, 'ip-user-5', '127.0.0.1');
  t.equal(fifth.code, 4502, 'the fifth from 127.0.0.1 is refused');
  t.match(JSON.stringify(fifth.first), /127\.0\.0\.1/, 'the refusal names the address');
  const elsewhere = await openFrom(srv.port, 'ip-user-6', '127.0.0.2');
  t.equal(elsewhere.code, undefined, 'a socket from 127.0.0.2 is accepted');
  for (const h of [...held, elsewhere]) h.ws.close();
});

t.test('the default caps: 16 sockets per user, none per address', async (t) => {
  const srv = await startTestServer();
  t.teardown(() => srv.stop());
  const held = [];
  for (let i = 0; i < 16; i++) held.push(await openFrom(srv.port, 'many-tabs', '127.0.0.1'));
  t.ok(held.every((h) => h.code === undefined), '16 sockets of one user are accepted');
  t.equal((await openFrom(srv.port, 'many-tabs', '127.0.0.1')).code, 4502, 'the 17th is refused');
  for (const h of held) h.ws.close();
});

t.test('a socket closed for its frame rate still gets the acks of the messages accepted before', async (t) => {
  // fsync on (the default): commits take long enough for the close to come before them.
  const srv = await startTestServer(testApp(), { limits: { framesPerSec: 1, burst: 5 } });
  t.teardown(() => srv.stop());
  const u = await srv.user('flooder');
  const randoms = Array.from({ length: 5 }, () => nextRandom());
  for (const random of randoms) u.send('message.send', { to: CS, random, body: textBody(`m${random}`) });
  for (let i = 0; i < 10; i++) u.send('ping', {});
  await u.closed;
  t.equal(u.closeCode, 4029, 'closed as rate limited');
  const acked = u.frames.filter((f) => f.type === 'message.ack').map((f) => dataOf<{ random: number }>(f).random);
  t.same(acked.sort(), [...randoms].sort(), 'each of the five accepted messages was acknowledged before the close');
  const reader = await srv.user('flooder');
  const stored = await fullHistory(reader, { to: CS });
  t.same(stored.filter((m) => m.fromRole === 1).map((m) => (m.body[0] as { MsgContent: { Text: string } }).MsgContent.Text), randoms.map((r) => `m${r}`), 'and stored');
});

t.test('on SIGTERM every message.send taken in is answered before the sockets close, and every acked message survives', async (t) => {
  const dir = tempDir('desk-drain-');
  const configFile = writeConfig(dir, testApp());
  let srv = await spawnServer({ script: 'main', dataDir: dir, configFile });
  t.teardown(async () => {
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const users = await Promise.all(Array.from({ length: 4 }, (_, i) => connect(srv.port, `drain-${i}`, 'user')));
  const sent = new Map<TestClient, Set<string>>();
  for (const u of users) sent.set(u, new Set());
  // Keep sending while the server is told to stop.
  let stop = false;
  const senders = users.map(async (u) => {
    while (!stop && u.ws.readyState === WebSocket.OPEN) {
      sent.get(u)!.add(String(u.send('message.send', { to: CS, random: nextRandom(), body: textBody('drain') })));
      await sleep(1);
    }
  });
  await sleep(150);
  srv.proc.kill('SIGTERM');
  await Promise.all(users.map((u) => u.closed));
  stop = true;
  await Promise.all(senders);
  await srv.exited;
  let accepted = 0;
  for (const u of users) {
    t.equal(u.closeCode, 4000, 'closed with 4000 (reconnect)');
    const replies = new Map(u.frames.filter((f) => f.ref !== undefined).map((f) => [String(f.ref), f]));
    // A socket delivers frames in order: every frame before the last one answered reached the server, and must
    // have been answered (frames still in flight when the socket closed never reached it).
    const order = [...sent.get(u)!];
    let lastAnswered = order.length - 1;
    while (lastAnswered >= 0 && !replies.has(order[lastAnswered])) lastAnswered--;
    const gaps = order.slice(0, lastAnswered + 1).filter((ref) => !replies.has(ref));
    t.same(gaps, [], `no frame taken in is left unanswered (${lastAnswered + 1} of ${order.length} answered)`);
    accepted += [...replies.values()].filter((f) => f.type === 'message.ack').length;
  }
  t.ok(accepted > 0, `messages were acknowledged (${accepted})`);
  srv = await spawnServer({ script: 'main', dataDir: dir, configFile });
  let stored = 0;
  for (let i = 0; i < users.length; i++) {
    const reader = await connect(srv.port, `drain-${i}`, 'user');
    stored += (await fullHistory(reader, { to: CS })).filter((m) => m.fromRole === 1).length;
    await reader.close();
  }
  t.equal(stored, accepted, 'every acknowledged message is stored, and nothing unacknowledged was');
});
