/** Wires the store, the apps, the actor runtime, the WebSocket gateway and the plain HTTP routes together. */
import type { HttpResponse, us_listen_socket } from '@trufflesuite/uws-js-unofficial';
import pino, { type Logger } from 'pino';
import { agentAddress, sessionAddress } from '../actors/address';
import { agent } from '../actors/agent';
import { queue } from '../actors/queue';
import { session } from '../actors/session';
import { robotIdsOf, taskFlowsOf } from '../protocol/app-model';
import { SigVerifier } from './auth/sigs';
import { CallbackDelivery, type DeliveryOptions } from './callbacks/delivery';
import { AppRegistry } from './config/apps';
import type { ServerConfig } from './config/config';
import { publishedKeyWarning } from './config/keys';
import { demoSignInWarning } from './banner';
import { Gateway, defaultLimits, nodeTag, type GatewayLimits } from './gateway/ws';
import { HISTORY_READER, historyReader } from './store/history-reader';
import { HttpFacade, type FacadeDeps } from './http/facade';
import { restEndpoints } from './http/endpoints';
import { mountHistoryExport } from './http/session-history';
import { mountDocumentUpload } from './http/document-upload';
import { actorReaders } from './http/actor-readers';
import { sessionReaders } from './http/session-readers';
import { mountWebApi } from './http/web-api';
import { demoSigCommand } from './http/web-demo-sig';
import { passwordCommands } from './http/web-login';
import { agentContextCommand } from './http/web-agent-context';
import { settingsCommands } from './http/web-settings';
import { mountWebPages } from './http/web-pages';
import { KnowledgeBase } from './knowledge/knowledge-base';
import { LlmResponder } from './llm/responder';
import { StatsProjection } from './stats/projection';
import { LogFollower } from './cluster/log-follower';
import { Metrics } from './metrics';
import { realClock, type Clock } from './runtime/clock';
import { SemanticVectors } from './knowledge/semantic';
import { Runtime } from './runtime/runtime';
import { joinCluster, type ClusterMember } from './cluster/member';
import { Store } from './store/store';
import { DataDirLock } from './store/data-dir-lock';
import { listenExclusive, nativeUws } from './uws';

export interface ServerOptions {
  clock?: Clock;
  log?: Logger;
  newId?: () => string;
  limits?: Partial<GatewayLimits>;
  delivery?: Partial<DeliveryOptions>;
  /** The folder of the built web pages (default: dist/web). */
  webDir?: string;
}

export interface RunningServer {
  port: number;
  apps: AppRegistry;
  runtime: Runtime;
  store: Store;
  /** The statistics projection (absent with `--statistics off`). */
  stats?: StatsProjection;
  created?: { sdkAppId: number; adminIdentifier: string; keyFile?: string };
  close(): Promise<void>;
}

/** The gateway's limits: its defaults, the configured connection caps, then what the caller sets. */
export function gatewayLimitsOf(cfg: Readonly<ServerConfig>, overrides: Partial<GatewayLimits> = {}): GatewayLimits {
  return { ...defaultLimits, socketsPerIdentity: cfg.maxSocketsPerUser, socketsPerIp: cfg.maxSocketsPerIp, ...overrides };
}

/** Starts a server on the data dir, which it holds alone until close(); a busy data dir or port refuses the start. */
export async function startServer(cfg: Readonly<ServerConfig>, opts: ServerOptions = {}): Promise<RunningServer> {
  const log = opts.log ?? pino({ level: cfg.logLevel });
  // Before LMDB opens: a second server must not touch the data at all.
  const lock = await DataDirLock.acquire(cfg.dataDir, cfg);
  for (const warning of lock.warnings) log.warn({ dataDir: lock.dataDir }, warning);
  let store: Store | undefined;
  try {
    store = new Store(cfg.dataDir, cfg.fsync, { commitIntervalMs: cfg.commitIntervalMs });
    return await serve(cfg, opts, log, lock, store);
  } catch (err) {
    await store?.close();
    await lock.release();
    throw err;
  }
}

async function serve(cfg: Readonly<ServerConfig>, opts: ServerOptions, log: Logger, lock: DataDirLock, store: Store): Promise<RunningServer> {
  const uws = nativeUws();
  const clock = opts.clock ?? realClock;
  const apps = new AppRegistry(store);
  const knowledge = new KnowledgeBase(store);
  const semantic = new SemanticVectors({ app: (id) => apps.get(id), log, now: () => clock.now() });
  knowledge.semantic = semantic;
  const boot = apps.bootstrap(cfg);
  for (const keyFile of boot.rewrittenKeyFiles) log.warn({ keyFile }, `key file ${keyFile} held another key than the app's key in force; it now holds the key in force`);
  // The "today" sums start from the sessions of the last two days.
  const stats = cfg.statistics ? new StatsProjection(store, undefined, { apps: apps.all().map((a) => a.sdkAppId), since: clock.now() - 2 * 86_400_000 }) : undefined;
  // The statistics tables hold what the last checkpoint wrote: the turns after it are folded again. A cluster node's
  // statistics fold the partition logs instead (LogFollower).
  for (const turn of store.takeReplayedTurns()) if (!cfg.nats) stats?.apply(turn.a, turn.es, turn.n);
  const metrics = new Metrics();
  let gateway: Gateway | undefined;
  let delivery: CallbackDelivery | undefined;
  // Cluster mode: this node's partitions, and pushes for sockets on other nodes (docs/cluster.md).
  const cluster: ClusterMember | undefined = cfg.nats && await joinCluster(cfg, clock, log, apps, (to, frame, exceptConn) => gateway?.push(to, frame, exceptConn), knowledge,
    (to, code, reason) => gateway?.closeRecipient(to.role, to.app, to.id, code, reason));
  if (cluster) store.replicateTo(cluster.node.replicator);
  const follower = cluster && new LogFollower(store, stats, log, undefined, knowledge);
  const models = new LlmResponder({
    app: apps.get, log, call: (to, build) => runtime.call(to, build),
    earlier: (conv, sessionId, fromSeq, beforeSeq) => store.historyPage({ conv, sessionId, afterSeq: fromSeq - 1, limit: Math.max(0, beforeSeq - fromSeq) }).messages,
  });
  const runtime: Runtime = new Runtime({
    store, clock, log, apps: apps.get, metrics, newId: opts.newId, knowledge, checkpointEveryMs: cfg.checkpointEveryMs, project: stats && !follower ? (a, es, n) => stats.apply(a, es, n) : undefined,
    defs: [session, agent, queue], placement: cluster?.node, readers: { [HISTORY_READER]: historyReader(store), ...sessionReaders(store, (): Runtime => runtime), ...actorReaders((): Runtime => runtime) },
    outlet: {
      push: (to, frame, exceptConn) => {
        gateway?.push(to, frame, exceptConn);
        cluster?.pushes.push(to, frame, exceptConn);
      },
      reply: (...a) => gateway?.reply(...a),
      beginBatch: () => gateway?.beginBatch(),
      endBatch: () => gateway?.endBatch(),
      callback: (id, entry) => delivery?.add(id, entry),
      ask: (from, a) => delivery?.ask(from, a, (to, msg) => runtime.tell(to, msg)),
      llm: (from, q) => models.answer(from, q),
      embed: (from, q) => {
        const model = apps.get(q.app);
        knowledge.wantMeaning(q.app, q.robotId, q.language, 'production', model ? taskFlowsOf(model, q.robotId, 'production') : []);
        void semantic.query(q.app, q.text).then(() => runtime.tell(from, { type: 'questionEmbedded', sessionId: q.sessionId, seq: q.seq }));
      },
    },
  });
  const sigs = new SigVerifier();
  gateway = new Gateway(runtime, store, apps, clock, log, metrics, sigs, gatewayLimitsOf(cfg, opts.limits), cluster?.pushes);
  metrics.attach(runtime, store, apps);
  if (cluster) metrics.attachCluster(cluster.node, cluster.pushes);
  // (A cluster node took its robots' knowledge from the cluster, or brought it there, as it joined.)
  if (!cluster) for (const a of apps.all()) for (const robotId of robotIdsOf(a)) knowledge.load(a.sdkAppId, robotId);
  for (const a of apps.all()) for (const robotId of robotIdsOf(a)) knowledge.warmUp(a.sdkAppId, robotId);
  // The robots' documents answer from the first question on.
  await Promise.all(apps.all().flatMap((a) => robotIdsOf(a).map((robotId) => knowledge.documents.ready(a.sdkAppId, robotId))));
  await store.commit();

  delivery = new CallbackDelivery({ pendingCallbacks: () => store.pendingCallbacks(), settled: (...a) => runtime.callbackSettled(...a) }, apps, clock, log, metrics, opts.delivery);
  runtime.start();
  if (cluster) {
    // The conversations of partitions taken over are told to hint their clients to catch up: the pushes of the last
    // turns their previous node made may have gone with it.
    cluster.node.onServed = (partitions) => {
      const taken = new Set(partitions);
      for (const a of store.allActiveSessions()) {
        const conv = sessionAddress(a.app, a.csAccount, a.userId);
        if (taken.has(cluster.node.partitionOf(conv))) runtime.tell(conv, { type: 'takenOver' });
      }
    };
    cluster.node.attach(runtime);
  }
  // A cluster node delivers the callbacks of the partitions it takes over, as their logs leave them, and those from
  // before it ran in a cluster.
  delivery.start(cluster !== undefined);
  if (follower) follower.start(cluster!.node.logs, (r) => cluster!.node.followed(r));
  // No socket survives a restart: members start their offline grace, queued users their offline grace. A cluster
  // node's own sockets alone are gone: members keep those on other nodes, and users' sessions, which cannot tell
  // where their users' sockets were, are left as they are (as when a node is lost).
  const node = cluster && nodeTag(cluster.pushes.nodeId);
  for (const app of apps.all()) for (const m of Object.keys(app.members)) runtime.tell(agentAddress(app.sdkAppId, m), { type: 'presenceReset', node });
  if (!cluster) for (const a of store.allActiveSessions()) runtime.tell(sessionAddress(a.app, a.csAccount, a.userId), { type: 'userOffline' });

  let ready = false;
  const app = uws.App();
  gateway.mount(app);
  const plain = (res: HttpResponse, status: string, body: string, type = 'text/plain'): void => {
    res.cork(() => res.writeStatus(status).writeHeader('content-type', type).end(body));
  };
  const deps: FacadeDeps = {
    runtime, store, apps, clock, log, sigs, knowledge, stats, closeSockets: (role, app, id, code, reason) => {
      gateway!.closeRecipient(role, app, id, code, reason);
      cluster?.pushes.closeEverywhere({ role, app, id }, code, reason);
    }, sharedApps: cluster?.apps, sharedKnowledge: cluster?.knowledge,
    askBackend: (a) => new Promise((resolve) => {
      if (!delivery) resolve({ ok: false });
      else delivery.ask('', { ...a, reply: 'answer', sessionId: '' }, (_to, msg) => resolve(msg as { ok: boolean; answer?: unknown }));
    }),
  };
  const facade = new HttpFacade(deps);
  facade.register(...restEndpoints);
  facade.mount(app);
  mountHistoryExport(app, facade, deps);
  mountDocumentUpload(app, facade, deps);
  mountWebPages(app, opts.webDir);
  mountWebApi(app, log, [...passwordCommands(deps), demoSigCommand(deps), agentContextCommand(deps), ...settingsCommands(deps)]);
  app.get('/healthz', (res) => plain(res, '200 OK', 'ok\n'));
  app.get('/readyz', (res) => plain(res, ready ? '200 OK' : '503 Service Unavailable', ready ? 'ready\n' : 'starting\n'));
  app.get('/metrics', (res) => {
    let aborted = false;
    res.onAborted(() => { aborted = true; });
    metrics.registry.metrics().then(
      (body) => { if (!aborted) plain(res, '200 OK', body, metrics.registry.contentType); },
      (err) => { log.error({ err }, 'metrics failed'); if (!aborted) plain(res, '500 Internal Server Error', 'metrics failed\n'); },
    );
  });
  app.any('/*', (res) => plain(res, '404 Not Found', 'not found\n'));

  const stopServing = async (): Promise<void> => {
    // Frames already taken in are answered before the sockets close: no acknowledgement is lost to a restart.
    gateway!.stopIntake();
    // Nor are commands from other nodes taken any more (they wait for the partitions' next owner).
    await cluster?.node.stopTaking();
    // Nor are models' answers written any more (their sessions keep what was written).
    models.stop();
    semantic.stop();
    await runtime.idle();
    gateway!.shutdown();
    // A clean stop leaves nothing for the next start to read again.
    await runtime.checkpoint();
    runtime.stop();
    delivery!.stop();
    await follower?.stop();
    await cluster?.leave();
  };
  let listenSocket: us_listen_socket;
  try {
    listenSocket = await listenExclusive(app, cfg.host, cfg.port);
  } catch (err) {
    await stopServing();
    throw err;
  }
  const port = uws.us_socket_local_port(listenSocket as never);
  lock.listening(port);
  for (const a of apps.all()) {
    const warning = publishedKeyWarning(a, cfg.host, port);
    if (warning) log[warning.loud ? 'error' : 'warn']({ sdkAppId: a.sdkAppId, host: cfg.host, port }, warning.text);
    if (a.web?.demoUserSig) log.warn({ sdkAppId: a.sdkAppId }, demoSignInWarning(a.sdkAppId));
  }
  let closed = false;
  // A cluster node is ready once it has joined, caught up on the partitions that move to it while their owners still
  // serve them (meanwhile what its sockets and REST calls ask goes to those owners); the balancer waits for it.
  ready = !cluster;
  void cluster?.node.join().then(() => { ready = !closed; }, (err: unknown) => log.error({ err }, 'joining the cluster failed'));
  return {
    port, apps, runtime, store, stats,
    created: boot.created && { sdkAppId: boot.created.sdkAppId, adminIdentifier: boot.created.adminIdentifier, keyFile: boot.keyFile },
    async close() {
      if (closed) return;
      closed = true;
      ready = false;
      uws.us_listen_socket_close(listenSocket);
      // A cluster node first gives its partitions to the others, its sockets still served meanwhile.
      if (cluster) await cluster.node.handOver(Math.max(2 * cfg.leaseTtlMs, 5000)).catch((err: unknown) => log.warn({ err }, 'handing the partitions over failed; they go when the node leaves'));
      await stopServing();
      // Every request has its answer by now: what is left open (idle keep-alive connections) is closed, so that it
      // neither holds the port nor reaches a stopped server. The binding has the call, its types do not.
      (app as unknown as { close(): void }).close();
      await store.close();
      await lock.release();
    },
  };
}
