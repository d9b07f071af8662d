/** Prometheus metrics: connections, sessions by state, queue lengths, messages, commit latency. */
import client from 'prom-client';
import { queueAddress, sessionAddress } from '../actors/address';
import type { QueueState } from '../actors/queue';
import type { SessionState } from '../actors/session';
import type { DeliveryMetrics } from './callbacks/delivery';
import type { AppRegistry } from './config/apps';
import type { ClusterCounts } from './cluster/node';
import type { Runtime, RuntimeMetrics } from './runtime/runtime';
import type { Store } from './store/store';

export class Metrics implements RuntimeMetrics, DeliveryMetrics {
  readonly registry = new client.Registry();
  private readonly connections = new client.Gauge({ name: 'desk_connections', help: 'Open WebSocket connections', labelNames: ['role'], registers: [this.registry] });
  private readonly messages = new client.Counter({ name: 'desk_messages_total', help: 'Messages stored', registers: [this.registry] });
  private readonly handled = new client.Counter({ name: 'desk_actor_messages_total', help: 'Actor messages handled', registers: [this.registry] });
  private readonly failures = new client.Counter({ name: 'desk_actor_failures_total', help: 'Actor restarts after a throw', labelNames: ['kind'], registers: [this.registry] });
  private readonly callbacks = new client.Counter({ name: 'desk_callbacks_total', help: 'Callback deliveries by outcome', labelNames: ['outcome'], registers: [this.registry] });
  private readonly commitLatency = new client.Histogram({
    name: 'desk_commit_seconds', help: 'Time from the end of a turn to its commit', registers: [this.registry],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
  });
  private readonly checkpointLatency = new client.Histogram({
    name: 'desk_checkpoint_seconds', help: 'Time a checkpoint took, from its start to its last commit (checkpoints with something to write)', registers: [this.registry],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry });
    for (const role of ['user', 'agent']) this.connections.set({ role }, 0);
  }

  /** Gauges read from actor state at scrape time. */
  attach(runtime: Runtime, store: Store, apps: AppRegistry): void {
    new client.Gauge({
      name: 'desk_sessions', help: 'Active sessions by state (on a cluster node: those it serves)', labelNames: ['state'], registers: [this.registry],
      collect() {
        const counts: Record<string, number> = { Chatbot: 0, Transferring: 0, Queueing: 0, WaitingForAgentAnswering: 0, Agent: 0 };
        for (const a of store.allActiveSessions()) {
          const conv = sessionAddress(a.app, a.csAccount, a.userId);
          // A cluster node counts the sessions it serves: the cluster's figure is the sum over its nodes.
          if (!runtime.isLocal(conv)) continue;
          const s = runtime.peek<SessionState>(conv);
          if (s.cur) counts[s.cur.phase]++;
        }
        this.reset();
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new client.Gauge({
      name: 'desk_queue_length', help: 'Sessions waiting per group (on a cluster node: the groups whose queue it serves)', labelNames: ['app', 'group'], registers: [this.registry],
      collect() {
        this.reset();
        for (const app of apps.all()) {
          for (const g of Object.values(app.groups)) {
            const queue = queueAddress(app.sdkAppId, g.id);
            if (!runtime.isLocal(queue)) continue;
            const q = runtime.peek<QueueState>(queue);
            this.set({ app: String(app.sdkAppId), group: String(g.id) }, q.waiting.length);
          }
        }
      },
    });
    new client.Gauge({ name: 'desk_actors_in_memory', help: 'Actors in memory', registers: [this.registry], collect() { this.set(runtime.activeActors()); } });
    new client.Gauge({ name: 'desk_callbacks_failed', help: 'Callbacks set aside after their last attempt (kept in the store)', registers: [this.registry], collect() { this.set(store.failedCallbackCount()); } });
  }

  /** A cluster node's figures: partitions held, lease changes, and the hops between nodes (cross-node traffic). */
  attachCluster(node: {
    ownedPartitions(): number[]; counts: ClusterCounts; onTakeover?: (seconds: number) => void; replicator: { givenUp: number; onAppend?: (seconds: number) => void };
    standby: { turns: number; catchUps: number };
  }, pushes: { delivered: number }): void {
    const takeover = new client.Histogram({
      name: 'desk_cluster_takeover_seconds', help: 'Time from gaining partitions to serving them: their logs claimed, read and imported',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30], registers: [this.registry],
    });
    node.onTakeover = (seconds) => takeover.observe(seconds);
    new client.Counter({
      name: 'desk_cluster_imported_turns_total', help: "Turns imported from partition logs at takeovers (other nodes' turns)",
      registers: [this.registry], collect() { this.reset(); this.inc(node.counts.importedTurns); },
    });
    new client.Counter({
      name: 'desk_cluster_standby_turns_total', help: 'Turns taken in from the logs of partitions this node is next in line for, as their owners write them',
      registers: [this.registry], collect() { this.reset(); this.inc(node.standby.turns); },
    });
    new client.Counter({
      name: 'desk_cluster_standby_reads_total', help: 'Reads of records missing here of partitions this node is next in line for (one joining, a gap)',
      registers: [this.registry], collect() { this.reset(); this.inc(node.standby.catchUps); },
    });
    const append = new client.Histogram({
      name: 'desk_cluster_log_append_seconds', help: "Time for JetStream to acknowledge a transaction's record for one partition log",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1], registers: [this.registry],
    });
    node.replicator.onAppend = (seconds) => append.observe(seconds);
    new client.Counter({
      name: 'desk_cluster_log_given_up_total', help: 'Partition log records given up because another node claimed the log (their requests answered "retry")',
      registers: [this.registry], collect() { this.reset(); this.inc(node.replicator.givenUp); },
    });
    new client.Gauge({ name: 'desk_cluster_partitions_owned', help: 'Partitions this node serves: their lease held and their log taken over', registers: [this.registry], collect() { this.set(node.ownedPartitions().length); } });
    new client.Counter({ name: 'desk_cluster_lease_changes_total', help: 'Partitions gained or lost by this node', registers: [this.registry], collect() { this.reset(); this.inc(node.counts.leaseChanges); } });
    new client.Counter({
      name: 'desk_cluster_hops_total', help: 'Messages between nodes: to actors on other nodes (command), replies to requests of other nodes (reply), pushes for sockets here (push)',
      labelNames: ['kind'], registers: [this.registry],
      collect() {
        this.reset();
        this.inc({ kind: 'command' }, node.counts.forwarded);
        this.inc({ kind: 'reply' }, node.counts.replies);
        this.inc({ kind: 'push' }, pushes.delivered);
      },
    });
  }

  connection(role: string, delta: number): void {
    this.connections.inc({ role }, delta);
  }
  turn(n: number): void {
    if (n > 0) this.handled.inc(n);
  }
  commit(seconds: number): void {
    this.commitLatency.observe(seconds);
  }
  checkpoint(seconds: number): void {
    this.checkpointLatency.observe(seconds);
  }
  actorFailure(kind: string): void {
    this.failures.inc({ kind });
  }
  message(): void {
    this.messages.inc();
  }
  callbackDelivered(): void {
    this.callbacks.inc({ outcome: 'delivered' });
  }
  callbackRetried(): void {
    this.callbacks.inc({ outcome: 'retried' });
  }
  callbackFailed(): void {
    this.callbacks.inc({ outcome: 'failed' });
  }
}
