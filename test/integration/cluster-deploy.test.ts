/**
 * The operator kit as it runs (deploy/cluster): three nats-servers on its nats.conf forming a JetStream cluster,
 * three Desk nodes keeping three copies of their buckets, HAProxy on its haproxy.cfg in front — all on loopback.
 * Clients and integrators use the one port; a NATS server lost under traffic changes nothing they see.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { textBody, textOf, type TestClient } from '../helpers/client';
import { ErrorCode } from '../../protocol/errors';
import { connect as natsConnect } from 'nats';
import { checkPartitionLogs, type LogCheck } from '../../src/cluster/log-check';
import { PartitionLogs } from '../../src/cluster/partition-log';
import { DEFAULT_PARTITIONS, partitionOf, placement } from '../../src/cluster/partitions';
import { sbinProgram, startNatsCluster, type NatsCluster } from '../helpers/nats';
import { freePort } from '../helpers/ports';
import { KEY, testApp } from '../helpers/server';
import { rest } from '../contract/rest-client';
import { APP, CS, connect, connectAgent, dataOf, httpGet, nextRandom, sleep, spawnServer, tempDir, toHuman, waitUntil, writeConfig, type ChildServer } from './_support';

const kit = path.resolve(__dirname, '../../../deploy/cluster');
export const HAPROXY_MISSING = 'haproxy is not installed: run `sudo apt-get install -y haproxy` (Debian/Ubuntu; .ci/run does it), then run the tests again';

/** HAProxy's log (the nodes' health changes), printed when the test fails. */
let log = '';

async function startHaproxy(backends: number[]): Promise<{ port: number; startedAt: number; stop(): Promise<void> }> {
  const bin = sbinProgram('haproxy');
  if (!bin) throw new Error(HAPROXY_MISSING);
  const port = await freePort();
  const env = {
    ...process.env, LB_HOST: '127.0.0.1', LB_PORT: String(port), LB_MAXCONN: '2000',
    DESK_1: `127.0.0.1:${backends[0]}`, DESK_2: `127.0.0.1:${backends[1]}`, DESK_3: `127.0.0.1:${backends[2]}`,
  };
  const startedAt = Date.now();
  const child: ChildProcess = spawn(bin, ['-db', '-f', path.join(kit, 'haproxy.cfg')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  child.stdout!.on('data', (d) => { log += d; });
  const stop = (): Promise<void> => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  try {
    // Up once it forwards a request (its servers count as up until their health checks say otherwise).
    await waitUntil(async () => {
      const r = await httpGet(port, '/readyz', 500).catch(() => undefined);
      return r?.status === 200;
    }, 15_000, `haproxy on ${port} (${err.slice(-500)})`);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, startedAt, stop };
}

t.test('three nodes behind HAProxy over a three-server NATS cluster: one port serves everything; messages survive the loss of a NATS server', async (t) => {
  const nats: NatsCluster = await startNatsCluster(path.join(kit, 'nats.conf'));
  t.teardown(() => nats.stop());
  const config = writeConfig(tempDir(), testApp(['alice@desk.test']));
  const nodes: ChildServer[] = [];
  t.teardown(async () => { for (const n of nodes) await n.stop(); });
  const ids = ['desk1', 'desk2', 'desk3'];
  const placed = placement(ids, DEFAULT_PARTITIONS);
  const expected = ids.map((id) => placed.filter((o) => o === id).length);
  for (const id of ids) {
    nodes.push(await spawnServer({ script: 'main', dataDir: tempDir(), configFile: config, env: { DESK_NATS_URL: nats.urls, DESK_NATS_REPLICAS: '3', DESK_LEASE_TTL_MS: '15000', DESK_NODE_ID: id } }));
  }
  const lb = await startHaproxy(nodes.map((n) => n.port));
  t.teardown(() => lb.stop());
  t.teardown(() => {
    if (t.counts.fail === 0) return;
    t.comment(`haproxy log:\n${log.slice(-3000)}`);
    for (const n of nodes) t.comment(`node log:\n${n.stdout().split('\n').filter((l) => !l.includes('"level":30')).slice(-15).join('\n').slice(0, 4000)}`);
  });
  let owned: number[] = [];
  const ownedAsPlaced = async (): Promise<boolean> => {
    owned = await Promise.all(nodes.map(async (n) => Number(/^desk_cluster_partitions_owned (\d+)/m.exec((await httpGet(n.port, '/metrics')).body)?.[1] ?? -1)));
    return owned.every((k, i) => k === expected[i]);
  };
  await waitUntil(ownedAsPlaced, 60_000, 'every partition owned as placed').catch((e: Error) => {
    throw new Error(`${e.message}: owned ${owned.join('/')}, placed ${expected.join('/')}`);
  });

  const agent = await connectAgent(lb.port, 'alice@desk.test');
  const users = await Promise.all([1, 2, 3].map((i) => connect(lb.port, `deploy-user-${i}`, 'user')));
  t.teardown(() => { for (const c of [agent, ...users]) c.close(); });
  const sessions: string[] = [];
  for (const u of users) sessions.push((await toHuman(u, agent)).sessionId);
  t.pass('three users reached the agent through the load balancer');

  // `waitMs`: how long a message may take. Acknowledgements wait for the partition logs in JetStream, so after a
  // NATS server is lost they wait for its streams' new leaders.
  // A message answered "retry" is sent again with the same `random`, as clients do (the server takes it once).
  let retried = 0;
  const send = async (c: TestClient, data: Record<string, unknown>, waitMs: number): Promise<void> => {
    const until = Date.now() + waitMs;
    for (;;) {
      const ack = await c.request('message.send', data, Math.max(1, until - Date.now()));
      if (ack.type === 'message.ack') return;
      if (ack.type !== 'error' || dataOf<{ code: number }>(ack).code !== ErrorCode.Internal || Date.now() > until) throw new Error(`not acknowledged: ${JSON.stringify(ack)}`);
      retried++;
      await sleep(200);
    }
  };
  // `waitMs`: how long a message may take. Acknowledgements wait for the partition logs in JetStream, so after a
  // NATS server is lost they wait for its streams' new leaders.
  const exchange = async (round: string, waitMs = 5000): Promise<void> => {
    for (const [i, u] of users.entries()) {
      await send(u, { to: CS, random: nextRandom(), body: textBody(`${round} from user ${i}`) }, waitMs);
      await agent.next((f) => textOf(f) === `${round} from user ${i}`, waitMs, `${round} at the agent`);
      await send(agent, { sessionId: sessions[i], random: nextRandom(), body: textBody(`${round} to user ${i}`) }, waitMs);
      await u.next((f) => textOf(f) === `${round} to user ${i}`, waitMs, `${round} at user ${i}`);
    }
  };
  await exchange('before');
  const api = { port: lb.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  t.match(await rest(api, 'desk_http_svc/send_msg', { SessionId: sessions[0], MsgRandom: nextRandom(), MsgBody: textBody('REST through the balancer') }), { ActionStatus: 'OK' });
  await users[0].next((f) => textOf(f) === 'REST through the balancer', 5000, 'the REST message');
  t.pass('messages both ways and REST, all through the one port');

  // A NATS server dies: the nodes connected to it reconnect to another, and messages keep flowing.
  nats.kill(0);
  const killedAt = Date.now();
  await exchange('after', 30_000);
  t.pass(`after a NATS server was killed, every message still arrives (the six took ${Date.now() - killedAt} ms; ${retried} sends answered "retry" and sent again)`);
  t.ok(nodes.every((n) => n.alive()), 'no node stopped');

  // The shared buckets come back once JetStream has elected new leaders for them (a few seconds here): until then
  // changes are answered "retry" (docs/cluster.md). How long it took is reported.
  const t0 = Date.now();
  let created = false;
  let last = '';
  while (!created && Date.now() - t0 < 30_000) {
    const r = await rest(api, 'desk_http_svc/create_members', { MemberList: [{ MemberMail: 'bob@desk.test' }] }).catch((e: Error) => ({ ActionStatus: `unreachable: ${e.message}` }));
    last = JSON.stringify(r);
    created = r.ActionStatus === 'OK' || JSON.stringify(await rest(api, 'desk_http_svc/get_member_list', { PageSize: 100, PageNum: 0 }).catch(() => ({}))).includes('bob@desk.test');
    if (!created) await sleep(500);
  }
  t.ok(created, `the shared app models take changes again after the loss (${created ? `${Date.now() - t0} ms` : `not within 30 s; last answer ${last}`})`);

  // The balancer's health checks pass: a check that fails takes a node out within inter (2 s) + timeout (5 s).
  await sleep(Math.max(0, lb.startedAt + 8000 - Date.now()));
  t.notMatch(log, /is DOWN/, 'the balancer never took a node out of service');

  // What a node taking a partition over would read: every turn once, in order, despite the appends asked again.
  const nc = await natsConnect({ servers: nats.urls.split(',') });
  t.teardown(() => nc.close());
  // Read once JetStream answers again (its log stream may still be electing a leader after the loss).
  let check: LogCheck | undefined;
  for (const until = Date.now() + 30_000; !check;) {
    check = await PartitionLogs.open(nc).then((logs) => checkPartitionLogs(logs, DEFAULT_PARTITIONS, (a) => partitionOf(a, DEFAULT_PARTITIONS))).catch((err: Error) => {
      if (Date.now() > until) throw err;
      return undefined;
    });
    if (!check) await sleep(500);
  }
  t.ok(check.turns > 0, `the partition logs hold ${check.turns} turns of ${check.actors} actors`);
  t.equal(check.restarts, 0, 'no actor started again without its state where its partition moved (the nodes joining)');
  t.same(check.problems, [], "each actor's turns are in its partition's log once each, in order");
});
