import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { library, runRobotMatch } from '../../loadtest/robot-match';
import type { EvalSet } from '../../src/knowledge/evaluate';
import { burst } from '../../loadtest/scenarios/burst';
import { chat } from '../../loadtest/scenarios/chat';
import { baselineRun, defaults, type Options, type Summary } from '../../loadtest/scenarios/common';
import { connections } from '../../loadtest/scenarios/connections';
import { reconnect } from '../../loadtest/scenarios/reconnect';
import { relay } from '../../loadtest/scenarios/relay';
import { rest } from '../../loadtest/scenarios/rest';
import { runTakeover } from '../../loadtest/takeover';
import { main } from '../../loadtest/cli';

const tiny: Options = { ...defaults, users: 6, agents: 2, rate: 300, durationSec: 1, warmupSec: 1, messages: 2, fsync: 'none', connections: 50 };

function consistent(t: Test, s: Summary, expected: number): void {
  t.equal(s.lost, 0, `${s.scenario}: nothing acknowledged was lost`);
  t.equal(s.sent, expected, `${s.scenario}: every probe was sent`);
  t.equal(s.acked, s.sent, `${s.scenario}: every probe was acknowledged`);
  t.equal(s.messages, s.sent, `${s.scenario}: messages counted equal messages sent`);
  t.ok(s.server_cpu_us_per_msg > 0, `${s.scenario}: server CPU per message measured`);
}

t.test('relay at a tiny size, with its baseline', async (t) => {
  const s = await relay(tiny);
  consistent(t, s, 300);
  t.equal(s.baseline?.sent, 300, 'the warm-up traffic is left out of the counts, the baseline\'s too');
  t.ok(s.baseline && s.baseline.messages === s.baseline.sent && s.baseline.lost === 0, 'baseline relayed every probe');
  t.ok(s.ratio !== null && s.ratio > 0, 'ratio reported');
  const probe = s.probe;
  t.ok(probe && probe.sent === 300 && probe.acked === probe.sent && probe.messages === probe.sent && probe.lost === 0,
    'the durable acked relay stored, acknowledged and relayed every probe');
  t.ok(s.probe_cpu_us_per_msg! > 0 && s.ratio_to_probe! > 0, 'Desk reported against the durable acked relay too');
  const server = s.extra?.server as { commits: number; commits_over_50ms_pct: number; eventloop_lag_max_ms: number; gc_ms_per_s: number };
  t.ok(server.commits > 0 && server.eventloop_lag_max_ms > 0 && server.gc_ms_per_s >= 0 && server.commits_over_50ms_pct >= 0, "the server's own figures over the run");
});

t.test('the durable acked relay, fsync\'d, in a write-ahead file and in LMDB: every probe stored, acknowledged and relayed', async (t) => {
  for (const probeStore of ['file', 'lmdb'] as const) {
    const r = await baselineRun({ ...tiny, fsync: 'always', probeStore }, tiny.users, 200, tiny.rate, 0, true);
    t.same([r.sent, r.acked, r.messages, r.lost], [200, 200, 200, 0], probeStore);
    t.ok(r.cpu_us_per_msg > 0, `${probeStore}: its CPU measured`);
  }
});

t.test('chat at a tiny size: whole path, K probes each way per conversation', async (t) => {
  const s = await chat({ ...tiny, baseline: false });
  consistent(t, s, tiny.users * tiny.messages * 2);
  t.equal(s.extra?.finished, tiny.users, 'every conversation finished');
  t.equal(s.extra?.rated, tiny.users, 'every user rated');
  t.ok(Number(s.extra?.assignment_p50_ms) > 0, 'assignment latency measured');
  const each = tiny.users * tiny.messages;
  t.same(s.extra?.statistics, { sessions: tiny.users, accepted: tiny.users, rated: tiny.users, agent_msgs: each, user_msgs: each, nodes_agree: true }, "the server's statistics count the run's sessions, ratings and messages");
});

t.test('relay and chat on a cluster of two nodes (a nats-server of their own): per-node CPU, hops and their cost', async (t) => {
  type Cluster = {
    nodes: number; per_node_cpu_us_per_msg: number[]; hops_per_msg: { command: number; reply: number; push: number }; one_node_cpu_us_per_msg: number; hop_cost_us: number;
    log: { turns: number; actors: number; restarts: number; problems: string[] };
  };
  const r = await relay({ ...tiny, nodes: 2, baseline: false });
  consistent(t, r, 300);
  const rc = r.extra?.cluster as Cluster;
  t.equal(rc.nodes, 2);
  t.ok(rc.per_node_cpu_us_per_msg.length === 2 && rc.per_node_cpu_us_per_msg.every((x) => x > 0), 'both nodes worked');
  t.ok(rc.hops_per_msg.command > 0 && rc.hops_per_msg.push > 0, 'messages and pushes crossed between the nodes');
  t.ok(rc.one_node_cpu_us_per_msg > 0 && Number.isFinite(rc.hop_cost_us), 'a one-node run of the same traffic gives the cost of a hop');
  t.ok(rc.log.turns >= 300 && rc.log.actors > 0, `the partition logs hold the run's turns (${rc.log.turns} turns of ${rc.log.actors} actors)`);
  t.equal(rc.log.restarts, 0, 'no actor started again without its state where its partition moved (the nodes joining)');
  t.same(rc.log.problems, [], "each actor's turns are in its partition's log once each, in order");
  const c = await chat({ ...tiny, nodes: 2, baseline: false });
  consistent(t, c, tiny.users * tiny.messages * 2);
  t.equal(c.extra?.rated, tiny.users, `every conversation went the whole way across the nodes${c.extra?.unfinished ? ` (unfinished, by step: ${JSON.stringify(c.extra.unfinished)})` : ''}`);
  t.ok((c.extra?.cluster as Cluster).hops_per_msg.command > 0, 'with hops between the nodes');
  t.same((c.extra?.cluster as Cluster).log.problems, [], "the chat's partition logs too");
  const each = tiny.users * tiny.messages;
  t.same(c.extra?.statistics, { sessions: tiny.users, accepted: tiny.users, rated: tiny.users, agent_msgs: each, user_msgs: each, nodes_agree: true }, 'each node counts the whole run, as one node does');
  await t.rejects(main(['burst', '--nodes', '2']), /--nodes applies to relay and chat/);
});

t.test('burst at a tiny size: drained in arrival order', async (t) => {
  const s = await burst({ ...tiny, users: 12, baseline: false });
  t.equal(s.extra?.assigned, 12, 'everyone was served');
  t.equal(s.extra?.order_inversions, 0, 'queue served in arrival order');
  t.equal(s.lost, 0);
});

t.test('reconnect at a tiny size: no acknowledged message lost across drops', async (t) => {
  const s = await reconnect({ ...tiny, rate: 200, durationSec: 2, baseline: false });
  t.equal(s.lost, 0, 'nothing acknowledged lost');
  t.ok(Number(s.extra?.drops) > 0, 'sockets were dropped');
  // A probe stored just before its sender's socket dropped is delivered without its ack ever arriving.
  t.ok(s.messages >= s.acked && s.messages <= s.sent, 'every acknowledged probe delivered, each counted once (duplicates recognised)');
});

t.test('connections at a tiny size', async (t) => {
  const s = await connections(tiny);
  t.equal(s.extra?.open, 50);
  t.ok(Number(s.extra?.rss_bytes_per_connection) !== 0, 'RSS per connection reported');
});

t.test('rest at a tiny size: every OK send_msg reaches its user; the read endpoint answers', async (t) => {
  const s = await rest({ ...tiny, durationSec: 2 });
  t.equal(s.lost, 0, 'every acknowledged send delivered');
  t.ok(s.acked > 0 && s.extra?.send_msg_errors === 0, 'sends acknowledged, none refused');
  t.ok(Number(s.extra?.read_rps) > 0 && s.extra?.read_errors === 0, 'get_session_state answered');
  t.ok(s.ratio !== null && s.ratio > 0, 'compared with the bare HTTP responder');
});

t.test('takeover at a tiny size: a partition log read as a takeover reads it, imported, against the consumer baseline', async (t) => {
  const r = await runTakeover(400);
  t.same([r.messages, r.records], [400, 20], 'records of 20 turns each');
  t.ok(r.readS > 0 && r.importS > 0 && r.baselineReadS > 0, 'each step timed');
  t.ok(r.ratio > 0 && r.messagesPerS > 0);
});

t.test('the CLI refuses bad options and runs a scenario end to end', async (t) => {
  await t.rejects(main(['relay', '--users', '0']), /--users must be an integer/);
  await t.rejects(main(['nope']), /unknown scenario/);
  await t.rejects(main(['relay', '--probe-store', 'redis']), /--probe-store must be file or lmdb/);
  t.equal(await main(['relay', '--users', '2', '--agents', '1', '--rate', '50', '--duration', '1', '--no-baseline', '--json', '--no-report']), 0);
});

t.test('robot-match at a tiny size: a library, ranked timings, and the baseline', async (t) => {
  const set = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../test/fixtures/robot-eval.json'), 'utf8')) as EvalSet;
  const r = runRobotMatch(200, 300, set);
  t.equal(r.questions, 200);
  t.ok(r.documents >= 600, 'each question and its similar ones (and all of them together) are documents');
  t.ok(r.rank.p50us > 0 && r.rank.p99us >= r.rank.p50us, 'rank timings measured');
  // Timings on a shared machine are noisy (a pause in the baseline can round the ratio to 0): only their presence is checked.
  t.ok(r.features.p99us > 0 && Number.isFinite(r.ratioP99) && r.ratioP99 >= 0, 'baseline and ratio reported');
  const again = library(200);
  t.same(again, library(200), 'the generated library is the same every run (seeded)');
});
