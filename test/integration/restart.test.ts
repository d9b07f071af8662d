/**
 * Durability across a crash: the server runs as a child process, takes traffic, is SIGKILLed mid-traffic and
 * restarted on the same data dir. Every acknowledged message must be there, in seq order without gaps; the session
 * in service, the queued user and a pending timer must all survive.
 */
import fs from 'node:fs';
import t, { type Test } from 'tap';
import type { DeclaredApp } from '../../src/config/config';
import { ManualClock } from '../../src/runtime/clock';
import { srcBody, textBody, type TestClient } from '../helpers/client';
import { startTestServer, testApp } from '../helpers/server';
import { rest } from '../contract/rest-client';
import {
  APP, connect, connectAgent, CS, dataOf, fullHistory, isText, nextRandom, PROMPT, roundTrip, seen, settle, sleep, spawnServer, srcsOf,
  KEY, startsWith, tempDir, textsOf, toHuman, waitUntil, writeConfig, type ChildServer,
} from './_support';

const ALICE = 'alice@desk.test';
const BOB = 'bob@desk.test';

type Ack = { random: number; msgKey: string; sessionId: string; seq: number; time: number };

/** Alice serves the default account (group 1), Bob the 'short' account (group 2, user timeout 3 s); one session each at a time. */
const app = testApp([ALICE], { maxConcurrentPerAgent: 1 }, {
  members: [
    { mail: ALICE, nickname: 'alice', groupIds: [1] },
    { mail: BOB, nickname: 'bob', groupIds: [2] },
  ],
  csAccounts: [{ userId: 'short', agentGroupId: 2, userTimeoutSec: 3 }],
});

/** A server process on a fresh data dir, and a way to start another on that dir once it died; all stopped, the dir removed, at the end. */
async function crashable(t: Test, prefix: string, declared: DeclaredApp, env?: Record<string, string>): Promise<{ dir: string; first: ChildServer; restart(): Promise<ChildServer> }> {
  const dir = tempDir(prefix);
  const configFile = writeConfig(dir, declared);
  const servers = [await spawnServer({ script: 'main', dataDir: dir, configFile, env })];
  t.teardown(async () => {
    for (const s of servers) await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const restart = async (): Promise<ChildServer> => {
    const s = await spawnServer({ script: 'main', dataDir: dir, configFile });
    servers.push(s);
    return s;
  };
  return { dir, first: servers[0], restart };
}

const acksOf = (c: TestClient): Ack[] => c.frames.filter((f) => f.type === 'message.ack').map((f) => dataOf<Ack>(f));

t.test('SIGKILL mid-traffic, restart on the same data dir: acknowledged messages, the session, the queue and a timer survive', async (t) => {
  const { first, restart } = await crashable(t, 'desk-restart-', app);

  // Before: alice serves u1, u2 waits in the queue, bob serves u3 on the 'short' account.
  const alice = await connectAgent(first.port, ALICE);
  const bob = await connectAgent(first.port, BOB);
  const u1 = await connect(first.port, 'r-u1', 'user');
  const { sessionId: s1 } = await toHuman(u1, alice);
  const u2 = await connect(first.port, 'r-u2', 'user');
  await u2.request('message.send', { to: CS, random: nextRandom(), body: srcBody('7') });
  const u2ack = await u2.request('message.send', { to: CS, random: nextRandom(), body: textBody('转人工') });
  const s2 = dataOf<Ack>(u2ack).sessionId;
  t.equal((await seen(u2, startsWith('您的问题我们已经收到'), 'queue prompt')).type, 'message', 'u2 is queued');

  // Traffic: both sides of s1 send concurrently, ~180 messages/s each (under the 200/s socket limit).
  let stop = false;
  let userSent = 0;
  let agentSent = 0;
  const userLoop = (async () => {
    while (!stop) {
      for (let k = 0; k < 2; k++) u1.send('message.send', { to: CS, random: nextRandom(), body: textBody(`u${userSent++}`) });
      await sleep(10);
    }
  })();
  const agentLoop = (async () => {
    while (!stop) {
      for (let k = 0; k < 2; k++) alice.send('message.send', { sessionId: s1, random: nextRandom(), body: textBody(`a${agentSent++}`) });
      await sleep(10);
    }
  })();
  await sleep(800);

  // A timer that must fire after the restart: bob's message starts u3's 3 s reply timeout.
  const u3 = await connect(first.port, 'r-u3', 'user');
  const { sessionId: s3 } = await toHuman(u3, bob, 'short');
  const bobAck = dataOf<Ack>(await bob.request('message.send', { sessionId: s3, random: nextRandom(), body: textBody('please answer within 3 s') }));
  await sleep(300);
  first.proc.kill('SIGKILL');
  const exit = await first.exited;
  stop = true;
  await Promise.all([userLoop, agentLoop]);
  t.equal(exit.signal, 'SIGKILL', 'killed');
  t.notOk(u3.texts().includes(PROMPT.timeoutEnd), 'the 3 s timeout had not fired before the kill');
  await Promise.all([u1.closed, alice.closed]);

  const acked = [...acksOf(u1), ...acksOf(alice)].filter((a) => a.sessionId === s1 && a.seq > 0);
  t.comment(`sent ${userSent} user + ${agentSent} agent messages; ${acked.length} acknowledged before the kill`);
  t.ok(acked.length > 100, 'plenty of acknowledged traffic');

  // After: same data dir, a new process.
  const second = await restart();
  const pending = Date.now() < bobAck.time + 3000;
  t.comment(pending ? 'the restarted server came up before the 3 s timer was due: it was still pending' : 'the restart took longer than 3 s: the timer was already due at start');
  const u1b = await connect(second.port, 'r-u1', 'user');
  const aliceB = await connectAgent(second.port, ALICE);
  const u2b = await connect(second.port, 'r-u2', 'user');
  const u3b = await connect(second.port, 'r-u3', 'user');
  const bobB = await connectAgent(second.port, BOB);
  t.teardown(async () => { for (const c of [u1b, aliceB, u2b, u3b, bobB]) await c.close(); });

  // Every acknowledged message is there, in seq order, with no gaps.
  const hist = await fullHistory(u1b, { to: CS });
  const seqs = hist.map((m) => m.seq);
  t.same(seqs, seqs.map((_, i) => i + 1), `history seqs run 1..${seqs.length} without gaps`);
  const byKey = new Map(hist.map((m) => [m.msgKey, m]));
  const missing = acked.filter((a) => !byKey.has(a.msgKey));
  t.same(missing, [], 'every acknowledged message survived the crash');
  t.ok(acked.every((a) => byKey.get(a.msgKey)?.seq === a.seq), 'with the seq it was acknowledged with');
  const agentView = await fullHistory(aliceB, { sessionId: s1 });
  t.same(agentView.map((m) => m.msgKey), hist.filter((m) => m.sessionId === s1).map((m) => m.msgKey), 'the agent reads the same session history');

  // The session is still in service with alice.
  const state = aliceB.frames.find((f) => f.type === 'agent.state');
  if (state) t.ok(JSON.stringify(state.data).includes(s1), 'agent.state after restart lists the session');
  const ack = await aliceB.request('message.send', { sessionId: s1, random: nextRandom(), body: textBody('back after the crash') });
  t.equal(ack.type, 'message.ack', 'alice can still send in the session');
  t.equal(dataOf<Ack>(ack).seq, seqs.length + 1, 'the sequence continues after the last stored message');
  const got = await seen(u1b, isText('back after the crash'), 'u1 receives it');
  t.equal(dataOf<{ fromRole: number }>(got).fromRole, 2);
  await u1b.request('message.send', { to: CS, random: nextRandom(), body: textBody('glad you are back') });
  await seen(aliceB, isText('glad you are back'), 'and alice receives u1');

  // The queued user is still queued and is served when alice's slot frees.
  const u2hist = await fullHistory(u2b, { to: CS });
  t.notOk(textsOf(u2hist.filter((m) => m.sessionId === s2)).some((x) => x.startsWith('转接人工成功')), 'u2 was not served meanwhile');
  const end = await aliceB.request('session.end', { sessionId: s1 });
  t.equal(end.type, 'session.end.ok');
  const success = await seen(u2b, startsWith('转接人工成功'), 'u2 is served once the slot frees');
  t.equal(dataOf<{ sessionId: string }>(success).sessionId, s2);
  await seen(aliceB, (f) => f.type === 'session.assigned' && dataOf<{ sessionId: string }>(f).sessionId === s2, 'alice gets u2');

  // The pending 3 s timer fired after the restart.
  let h3: Awaited<ReturnType<typeof fullHistory>> = [];
  await waitUntil(async () => {
    h3 = await fullHistory(u3b, { to: 'short' });
    return srcsOf(h3.filter((m) => m.sessionId === s3)).includes('20');
  }, 10_000, "u3's user-reply timeout");
  const timeoutPrompt = h3.find((m) => m.sessionId === s3 && textsOf([m]).includes(PROMPT.timeoutEnd));
  t.ok(timeoutPrompt, 'timeout prompt stored');
  t.ok(timeoutPrompt && timeoutPrompt.time >= bobAck.time + 3000, 'fired no earlier than 3 s after the agent message');
  const late = await bobB.request('message.send', { sessionId: s3, random: nextRandom(), body: textBody('too late') });
  t.equal(dataOf<{ code: number }>(late).code, 141005, 'the timed-out session is over');

  t.ok(second.alive(), 'the restarted server is up');
});

t.test('restart (in process, manual clock): a queued user who reconnects keeps the place beyond queueOfflineGraceSec', async (t) => {
  const dir = tempDir('desk-restart-q-');
  const clock = new ManualClock();
  const cfgApp = testApp([ALICE], { maxConcurrentPerAgent: 1, queueOfflineGraceSec: 60 });
  const a = await startTestServer(cfgApp, { clock, dataDir: dir });
  const alice = await a.agent(ALICE);
  const u1 = await a.user('rq-u1');
  const { sessionId: s1 } = await toHuman(u1, alice);
  const u2 = await a.user('rq-u2');
  await u2.request('message.send', { to: CS, random: nextRandom(), body: srcBody('7') });
  const s2 = dataOf<Ack>(await u2.request('message.send', { to: CS, random: nextRandom(), body: textBody('转人工') })).sessionId;
  await seen(u2, startsWith('您的问题我们已经收到'));
  await a.stop();

  const b = await startTestServer(cfgApp, { clock, dataDir: dir });
  t.teardown(() => b.stop());
  const aliceB = await b.agent(ALICE);
  const u2b = await b.user('rq-u2');
  await settle(b);
  await roundTrip(u2b, aliceB);
  clock.advance(61_000);
  await settle(b);

  const mark = aliceB.frames.length;
  const end = await aliceB.request('session.end', { sessionId: s1 });
  t.equal(end.type, 'session.end.ok', 'the session in service survived the restart');
  const next = await seen(aliceB, (f) => f.type === 'session.assigned', 'the queued session is assigned', mark).catch(() => undefined);
  t.equal(next && dataOf<{ sessionId: string }>(next).sessionId, s2, 'the reconnected queued user is served');
  const h = await fullHistory(u2b, { to: CS });
  t.notOk(srcsOf(h.filter((m) => m.sessionId === s2)).includes('19'), 'and its session was not ended as abandoned');
});

t.test('SIGKILL with no checkpoint since start: the statistics after the restart equal those before it, and a rebuild from the log equals them', async (t) => {
  // No checkpoint before the kill: every figure after the restart comes from the turns read again.
  const { dir, first, restart } = await crashable(t, 'desk-restart-stats-', testApp([ALICE], { maxConcurrentPerAgent: 5, satisfaction: { enabled: true } }), { DESK_CHECKPOINT_EVERY_MS: '600000' });
  const alice = await connectAgent(first.port, ALICE);
  await alice.request('agent.status', { status: 'free' });
  const from = Math.floor(Date.now() / 1000) - 60;
  for (let i = 0; i < 3; i++) {
    const u = await connect(first.port, `st-u${i}`, 'user');
    const { sessionId } = await toHuman(u, alice);
    for (let k = 0; k < 3; k++) {
      await u.request('message.send', { to: CS, random: nextRandom(), body: textBody(`q${k}`) });
      await alice.request('message.send', { sessionId, random: nextRandom(), body: textBody(`a${k}`) });
    }
    if (i < 2) await alice.request('session.end', { sessionId });
  }
  const api = { port: first.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  const to = Math.floor(Date.now() / 1000) + 60;
  const figures = async (port: number) => {
    const target = { ...api, port };
    const sessions = await rest(target, 'desk_http_svc/describe_session_statistics', { From: from, To: to, Aggregate: true });
    const agents = await rest(target, 'desk_http_svc/describe_agent_statistics', { From: from, To: to, AgentIds: [ALICE] });
    const history = await rest(target, 'desk_http_svc/describe_session_history', { StartTime: from, EndTime: to });
    // Status times grow while the agent stays free (the restart's downtime too): the counts are what must match.
    const counts = (agents.Data as Record<string, unknown>[]).map((a) => Object.fromEntries(Object.entries(a).filter(([k]) => !/^(Free|Busy|Rest)Time/.test(k))));
    return { sessions: sessions.Data, agents: counts, history: (history.SessionList ?? history.Data) };
  };
  const before = await figures(first.port);
  t.match(before.sessions, [{ TotalSessionCnt: 3 }], 'three sessions counted before the kill');
  first.proc.kill('SIGKILL');
  await first.exited;

  const second = await restart();
  const after = await figures(second.port);
  t.same(after, before, 'session, agent and history figures are the same after the restart');
  await second.stop();

  const rebuilt = await runRebuild(dir);
  t.match(rebuilt, /sessions: 0 rows differ/);
  t.notMatch(rebuilt, /: [1-9]\d* rows differ/, `the rebuild from the log equals the live tables:\n${rebuilt}`);
});

/** Runs `npm run stats:rebuild`'s script on a stopped server's data dir and returns what it printed. */
async function runRebuild(dir: string): Promise<string> {
  const { execFile } = await import('node:child_process');
  const script = require.resolve('../../src/stats/rebuild.js');
  return new Promise((resolve, reject) => execFile(process.execPath, [script, '--data-dir', dir], (err, stdout, stderr) => (err ? reject(new Error(stderr || String(err))) : resolve(stdout))));
}
