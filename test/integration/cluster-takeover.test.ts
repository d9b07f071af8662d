/**
 * Partitions moving with their state: three Desk processes over a real nats-server.
 * - One killed (SIGKILL) while it holds a user's session with an agent and a robot session waiting on its idle timer.
 *   The other nodes take its partitions over from their logs in JetStream, having kept those they are next in line for
 *   current as c wrote them (so the takeover reads only the last records): the served session goes on with the same
 *   agent, every acknowledged message is in its history, and the robot session's timer fires once, on its new node.
 * - One stopped (SIGTERM) and started again on its data dir, as a rolling restart does: the session moves away and
 *   back, and goes on each time; the node back reads only what the others wrote meanwhile (where its last checkpoint
 *   left the partitions is kept with it), and catches up on its partitions before it takes their leases. Then
 *   again on an empty data dir (a machine replaced): it reads its partitions whole before it takes them, so their
 *   takeover reads only what came after.
 */
import t, { type Test } from 'tap';
import { DEFAULT_PARTITIONS } from '../../src/cluster/partitions';
import { PartitionLogs } from '../../src/cluster/partition-log';
import { NatsLeaseStore } from '../../src/cluster/nats-lease-store';
import { checkPartitionLogs } from '../../src/cluster/log-check';
import { partitionOf, placement } from '../../src/cluster/partitions';
import { KEY } from '../helpers/server';
import { sessionAddress } from '../../actors/address';
import { plainPackr } from '../../src/store/store';
import { decodeRecord } from '../../src/store/turn-log';
import { rest } from '../contract/rest-client';
import { srcOf, textBody, textOf, type TestClient } from '../helpers/client';
import { natsForTests } from '../helpers/nats';
import type { ServerFrame } from '../../protocol/frames';
import { APP, CS, connect, connectAgent, dataOf, fullHistory, nextRandom, seen, sleep, textsOf, toHuman, waitUntil, type ChildServer } from './_support';
import { cluster, metric, NODES, userOn } from './_cluster';

const nats = natsForTests(t);
/** The rolling restart's own JetStream: a cluster started over another run's partition logs is not what it tests. */
const natsOfRestart = natsForTests(t);

/** Sends until acknowledged: a message sent while its partition moves is answered "retry", and sent again as is. */
async function sendAcked(c: TestClient, data: Record<string, unknown>, timeoutMs = 20_000): Promise<ServerFrame> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const f = await c.request('message.send', data, 15_000);
    if (f.type === 'message.ack' || Date.now() > until) return f;
    await sleep(250);
  }
}

/** The partition logs hold every turn once, in order, and no actor started again without its state. */
async function logsWhole(t: Test, on = nats): Promise<void> {
  const check = await checkPartitionLogs(await PartitionLogs.open(await on.connect()), DEFAULT_PARTITIONS, (x) => partitionOf(x));
  t.same(check.problems, [], `the partition logs: ${check.records} records, ${check.turns} turns, each once, in order`);
  t.same(check.restarted, [], 'no actor started again without its state');
}

/** A user's message sent and seen by the agent, then the agent's answer sent and seen by the user; both acknowledged. */
async function exchange(t: Test, user: TestClient, agent: TestClient, sessionId: string, u: string, r: string): Promise<void> {
  const ack = await sendAcked(user, { to: CS, random: nextRandom(), body: textBody(u) });
  t.equal(dataOf<{ sessionId?: string }>(ack).sessionId, sessionId, `"${u}" acknowledged in the session`);
  const got = await agent.next((f) => textOf(f) === u, 10_000, u);
  t.equal(dataOf<{ sessionId: string }>(got).sessionId, sessionId, `"${u}" reaches the agent in it`);
  t.equal((await sendAcked(agent, { sessionId, random: nextRandom(), body: textBody(r) })).type, 'message.ack', `"${r}" acknowledged`);
  await user.next((f) => textOf(f) === r, 10_000, r);
}

interface Figures { sessions: number; accepted: number; agentMsgs: number; userMsgs: number }

/** What a node's statistics say of the last hour's sessions and of alice's receptions in it. */
async function figuresOn(port: number): Promise<Figures> {
  const api = { port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  const now = Math.floor(Date.now() / 1000);
  const range = { From: now - 3600, To: now + 60 };
  const s = await rest(api, 'desk_http_svc/describe_session_statistics', { ...range, Aggregate: true }) as { Data: { TotalSessionCnt: number; AgentAcceptCnt: number }[] };
  const a = await rest(api, 'desk_http_svc/describe_agent_statistics', { ...range, AgentIds: ['alice@desk.test'] }) as { Data: { AgentMsgCnt: number; UserMsgCnt: number }[] };
  return { sessions: s.Data[0]?.TotalSessionCnt ?? 0, accepted: s.Data[0]?.AgentAcceptCnt ?? 0, agentMsgs: a.Data[0].AgentMsgCnt, userMsgs: a.Data[0].UserMsgCnt };
}

/**
 * Every node's statistics count the whole cluster's turns, from the partition logs (those of a node lost or
 * restarted among them, once), as one node serving the same traffic would: `want`.
 */
async function statisticsAgree(t: Test, servers: { name: string; port: number }[], want: Figures): Promise<void> {
  for (const s of servers) {
    let last: Figures | undefined;
    await waitUntil(async () => JSON.stringify(last = await figuresOn(s.port)) === JSON.stringify(want), 15_000, `${s.name}'s statistics`).catch(() => undefined);
    t.same(last, want, `${s.name}'s statistics count the cluster's sessions and messages: ${JSON.stringify(want)}`);
  }
}

t.test("a node killed: the sessions it held go on at the other nodes, from their partitions' logs", async (t) => {
  const [a, b, c] = await cluster(t, nats, { robotIdleTimeoutSec: 10 });
  const agent = await connectAgent(a.port, 'alice@desk.test');
  const user = await connect(b.port, userOn('c', 'served'), 'user');
  const idle = await connect(a.port, userOn('c', 'idle'), 'user');
  t.teardown(() => { for (const x of [agent, user, idle]) x.close(); });

  const { sessionId } = await toHuman(user, agent);
  const acked: string[] = [];
  for (let i = 1; i <= 5; i++) {
    await exchange(t, user, agent, sessionId, `user says ${i}`, `agent says ${i}`);
    acked.push(`user says ${i}`, `agent says ${i}`);
  }
  // A robot session on c: its idle timer (10 s) is due after c is gone.
  t.equal((await idle.request('message.send', { to: CS, random: nextRandom(), body: textBody('hello robot') })).type, 'message.ack');

  const both = async (name: string): Promise<number> => (await metric(a, name)) + (await metric(b, name));
  // The turns of the served conversation's partition, all in its log: what a takeover from the log alone imports.
  const servedConv = sessionAddress(APP, CS, userOn('c', 'served'));
  let servedTurns = 0;
  for await (const r of (await PartitionLogs.open(await nats.connect())).read(partitionOf(servedConv))) servedTurns += [...decodeRecord(plainPackr(), Buffer.from(r.record))].length;
  // a and b, each next in line for some of c's partitions, keep them current as c writes them.
  await waitUntil(async () => (await both('desk_cluster_standby_turns_total')) >= servedTurns, 10_000, "c's turns taken in by a and b");
  const importedBefore = await both('desk_cluster_imported_turns_total');
  c.proc.kill('SIGKILL');
  const killed = Date.now();
  await c.exited;
  await waitUntil(async () => (await metric(a, 'desk_cluster_partitions_owned')) + (await metric(b, 'desk_cluster_partitions_owned')) === DEFAULT_PARTITIONS, 30_000, "c's partitions served by a and b");
  const tookMs = Date.now() - killed;
  const imported = await both('desk_cluster_imported_turns_total') - importedBefore;
  t.ok(imported < servedTurns, `a and b took c's partitions over ${tookMs} ms after the kill (lease 1.5 s), importing ${imported} turns from their logs: `
    + `only what they had not taken in yet (the served conversation's partition alone holds ${servedTurns})`);
  // The pushes of c's last turns may have gone with it: alice and the user are told up to where to catch up.
  const lastSeq = Math.max(...(await fullHistory(user, { to: CS })).map((m) => m.seq));
  for (const [who, client] of [['alice', agent], ['the user', user]] as const) {
    const hint = await client.next((f) => f.type === 'history.hint', 10_000, `${who}'s history.hint`);
    t.match(hint.data, { sessionId, account: CS, seq: lastSeq }, `${who} is told the session's last seq (history.hint), to catch up from`);
  }

  // The session goes on where it was: with alice, its messages numbered on from the last one.
  const api = { port: a.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  t.match(await rest(api, 'desk_http_svc/get_session_state', { SessionId: sessionId }), { ActionStatus: 'OK', CurrentState: 'Agent', AgentId: 'alice@desk.test' }, "the session taken over is still alice's");
  // The next messages are acknowledged in the same session and reach alice, and her answer the user.
  await exchange(t, user, agent, sessionId, 'are you still there', 'yes, still here');
  acked.push('are you still there', 'yes, still here');

  await statisticsAgree(t, [{ name: 'a', port: a.port }, { name: 'b', port: b.port }], { sessions: 2, accepted: 1, agentMsgs: 6, userMsgs: 6 });

  const history = await fullHistory(user, { to: CS });
  const texts = textsOf(history).filter((x) => acked.includes(x));
  t.same(texts, acked, 'every acknowledged message is in the history, in order, once');
  const seqs = history.map((m) => m.seq);
  t.same(seqs, [...seqs].sort((x, y) => x - y).filter((s, i, l) => l.indexOf(s) === i), 'message numbers rise without a repeat');

  // The robot session's idle timer was armed again by its new node, and fires there once.
  const ended = (f: ServerFrame): boolean => srcOf(f) === '19';
  await seen(idle, ended, "the robot session's end at its idle timeout", 0, 20_000);
  await sleep(1500);
  t.equal(idle.frames.filter(ended).length, 1, 'the user is told once');
  const idleConv = sessionAddress(APP, CS, userOn('c', 'idle'));
  const ends: unknown[] = [];
  for await (const r of (await PartitionLogs.open(await nats.connect())).read(partitionOf(idleConv))) {
    for (const turn of decodeRecord(plainPackr(), Buffer.from(r.record))) {
      if (turn.a === idleConv) ends.push(...turn.es.filter((e) => (e as { type?: string }).type === 'SessionEnded'));
    }
  }
  t.match(ends, [{ endStatus: 'ChatbotReception', closeBy: 'timer' }], 'the idle timer fired once: one end in the log, by the timer');
  t.equal(ends.length, 1);

  // The actors of c's partitions numbered on in their logs, not started again.
  await logsWhole(t);
});

t.test('a rolling restart: a node stopped (SIGTERM) and started again on its data; the session it held goes on each time', async (t) => {
  const servers = await cluster(t, natsOfRestart);
  const [a, b] = servers;
  const agent = await connectAgent(a.port, 'alice@desk.test');
  const userId = userOn('c', 'rolled');
  const user = await connect(b.port, userId, 'user');
  t.teardown(() => { agent.close(); user.close(); });
  const { sessionId } = await toHuman(user, agent);
  const said: string[] = [];
  const talk = async (step: string): Promise<void> => {
    await exchange(t, user, agent, sessionId, `user ${step}`, `agent ${step}`);
    said.push(`user ${step}`, `agent ${step}`);
  };
  for (const n of [1, 2, 3]) await talk(`before, ${n}`);

  // Where the logs end as c stops (once it has taken in what it follows): what is written after is what it misses.
  await sleep(300);
  const logs = await PartitionLogs.open(await natsOfRestart.connect());
  const ofC = placement(NODES, DEFAULT_PARTITIONS).flatMap((owner, p) => (owner === 'c' ? [p] : []));
  const everyPartition = Array.from({ length: DEFAULT_PARTITIONS }, (_, p) => p);
  const ends = await Promise.all(everyPartition.map((p) => logs.lastSequence(p)));

  // c hands its partitions to a and b before it stops serving, while its talk goes on.
  const stopped = servers[2].stop();
  const during = talk('while c stops');
  await stopped;
  const leases = await (await NatsLeaseStore.open(await natsOfRestart.connect())).list('p.');
  const holders = [...leases.values()].filter((e) => e.value.until > Date.now() - 1000).map((e) => e.value.node);
  t.same([holders.length, holders.filter((n) => n === 'a' || n === 'b').length], [DEFAULT_PARTITIONS, DEFAULT_PARTITIONS], 'once c has stopped, a and b hold every lease: c handed them over before it left');
  t.match(servers[2].stdout(), /partitions handed over/, 'c says so');
  await during;
  await waitUntil(async () => (await metric(a, 'desk_cluster_partitions_owned')) + (await metric(b, 'desk_cluster_partitions_owned')) === DEFAULT_PARTITIONS, 20_000, "c's partitions served by a and b");
  await talk('while c is away');

  /** The turns in the partitions' logs (after the positions `from`, when given). */
  const turnsIn = async (partitions: number[], from?: number[]): Promise<number> => {
    let n = 0;
    for (const p of partitions) for (const r of (await logs.recordsOf(p, from?.[p] ?? 0)).records) n += decodeRecord(plainPackr(), r).length;
    return n;
  };
  /** What node c took in from the logs since it started: as it caught up before joining, and as it took its partitions over. */
  const takenIn = async (c: ChildServer): Promise<{ caughtUp: number; tookOver: number }> => {
    const line = c.stdout().split('\n').find((l) => l.includes('caught up on the partitions joining moves here'));
    return { caughtUp: line ? (JSON.parse(line) as { turns: number }).turns : -1, tookOver: await metric(c, 'desk_cluster_imported_turns_total') };
  };

  let c = await servers.respawn(2);
  const whole = await turnsIn(ofC);
  const missed = await turnsIn(everyPartition, ends);
  const back = await takenIn(c);
  t.ok(back.caughtUp >= 0 && back.caughtUp + back.tookOver <= missed && missed < whole,
    `c back reads only what was written while it was away: ${back.caughtUp} turns as it caught up, ${back.tookOver} as it took its partitions over (${missed} written meanwhile; its partitions hold ${whole})`);
  await talk('after c is back');

  // c again, on an empty data dir: it holds nothing, and reads its partitions whole, but before it takes them.
  await servers[2].stop();
  await talk('while c is replaced');
  c = await servers.respawn(2, true);
  const replaced = await takenIn(c);
  const wholeNow = await turnsIn(ofC);
  t.ok(replaced.caughtUp > 0 && replaced.tookOver < wholeNow,
    `c on an empty data dir caught up on ${replaced.caughtUp} turns before it joined; its takeovers imported ${replaced.tookOver} (its partitions hold ${wholeNow})`);
  await talk('after c is replaced');

  const api = { port: a.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  t.match(await rest(api, 'desk_http_svc/get_session_state', { SessionId: sessionId }), { CurrentState: 'Agent', AgentId: 'alice@desk.test' }, "the session is still alice's");
  t.same(textsOf(await fullHistory(user, { to: CS })).filter((x) => said.includes(x)), said, 'every acknowledged message is in the history, in order, once');
  const counted = await Promise.all(servers.map((s) => metric(s, 'desk_sessions', '{state="Agent"}')));
  t.same(counted, [0, 0, 1], 'the session is counted once, by the node that serves it (not also by those that held it meanwhile)');
  await statisticsAgree(t, servers.map((s, i) => ({ name: 'abc'[i], port: s.port })), { sessions: 1, accepted: 1, agentMsgs: 8, userMsgs: 8 });
  await logsWhole(t, natsOfRestart);
});
