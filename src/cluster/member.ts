/** A server joining its cluster: the NATS connection, its partitions (ClusterNode) and its pushes (PushRouter). */
import { connect, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { Recipient } from '../../actors/types';
import type { ServerFrame } from '../../protocol/frames';
import { PushRouter } from '../bus/push-router';
import type { ServerConfig } from '../config/config';
import type { Clock } from '../runtime/clock';
import { StartRefused } from '../start-refused';
import { buildApp, type AppRegistry } from '../config/apps';
import type { AppModel } from '../../protocol/app-model';
import { ClusterApps } from './cluster-apps';
import { ClusterKnowledge } from './cluster-knowledge';
import { SharedKnowledge } from './shared-knowledge';
import type { KnowledgeBase } from '../knowledge/knowledge-base';
import { robotIdsOf } from '../../protocol/app-model';
import { ClusterNode } from './node';
import { SharedApps } from './shared-apps';

export interface ClusterMember {
  node: ClusterNode;
  pushes: PushRouter;
  /** The app models, shared with the other nodes. */
  apps: ClusterApps;
  /** The robots' knowledge, shared with the other nodes. */
  knowledge: ClusterKnowledge;
  /** Gives up this node's partitions and closes the connection. */
  leave(): Promise<void>;
}

export async function joinCluster(
  cfg: Readonly<ServerConfig>,
  clock: Clock,
  log: Logger,
  apps: AppRegistry,
  deliver: (to: Recipient, frame: ServerFrame, exceptConn?: number) => void,
  knowledgeBase: KnowledgeBase,
  closeHere?: (to: Recipient, code: number, reason: string) => void,
): Promise<ClusterMember> {
  const nodeId = cfg.nodeId!;
  let nc: NatsConnection;
  try {
    // noEcho: a node delivers its own pushes itself; hearing them back from NATS would only cost it.
    nc = await connect({ servers: cfg.nats, name: `desk ${nodeId}`, maxReconnectAttempts: -1, noEcho: true });
  } catch (err) {
    throw new StartRefused(`cannot reach NATS at ${cfg.nats!.join(',')}: ${(err as Error).message}`);
  }
  try {
    const node = await ClusterNode.start({ nc, nodeId, clock, log, leaseTtlMs: cfg.leaseTtlMs, replicas: cfg.natsReplicas });
    const pushes = new PushRouter(nc, nodeId, deliver, closeHere);
    const declared = (model: AppModel): AppModel | undefined => {
      const decl = cfg.apps.find((d) => d.sdkAppId === model.sdkAppId);
      return decl && buildApp(decl, model, model.secretKey);
    };
    const shared = await ClusterApps.start(await SharedApps.open(nc, { replicas: cfg.natsReplicas }), apps, log, declared);
    const knowledge = await ClusterKnowledge.start(await SharedKnowledge.open(nc, { replicas: cfg.natsReplicas }), knowledgeBase,
      apps.all().map((a) => ({ sdkAppId: a.sdkAppId, robotIds: robotIdsOf(a) })), log, { node: nodeId, now: () => clock.now() });
    log.warn({ node: nodeId, stream: node.logs.stream },
      'the partition logs keep the whole history: give JetStream the room, and set no limits on the stream (docs/cluster.md)');
    let left = false;
    return {
      node,
      pushes,
      apps: shared,
      knowledge,
      async leave() {
        if (left) return;
        left = true;
        shared.stop();
        knowledge.stop();
        await node.leave();
        pushes.close();
        await nc.drain();
      },
    };
  } catch (err) {
    await nc.close();
    throw err;
  }
}
