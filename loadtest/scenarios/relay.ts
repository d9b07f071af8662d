/** relay: sessions already in service; users and agents exchange probes at the offered rate. */
import { clusterFigures, hopCounter, serverFigures, type ClusterRun } from '../proc';
import { Tracker } from '../stats';
import { baselineRun, desk, inService, now, pump, summarize, warmUp, type Options, type RunResult, type Summary } from './common';

interface RelayRun { r: RunResult; server: unknown; cluster?: ClusterRun }

/** One run against Desk: `nodes` 0 is one server; otherwise a cluster of that many nodes. */
async function run(o: Options, nodes: number): Promise<RelayRun> {
  const { proc, target } = await desk(o, { maxConcurrentPerAgent: Math.ceil(o.users / o.agents) + 1 }, nodes);
  try {
    const { pairs, users, agents } = await inService(target, o);
    const tracker = new Tracker(now());
    await warmUp(pairs, o, [...users, ...agents], proc.pids, true, tracker);
    const figures = await serverFigures(proc.port);
    const hops = nodes > 0 ? await hopCounter(proc) : undefined;
    const r = await pump(pairs, o, tracker, proc.pids, true);
    const server = await figures();
    const cluster = hops && await hops(r.messages);
    for (const s of [...users, ...agents]) s.close();
    return { r, server, cluster };
  } finally {
    await proc.stop();
  }
}

export async function relay(o: Options): Promise<Summary> {
  const main = await run(o, o.nodes);
  const base = o.baseline ? await baselineRun(o, o.users, main.r.sent, o.rate, o.warmupSec) : undefined;
  const probe = o.baseline ? await baselineRun(o, o.users, main.r.sent, o.rate, o.warmupSec, true) : undefined;
  // What the hops between nodes cost: the same traffic on a one-node cluster, where every hop stays inside a node.
  const one = o.nodes > 1 ? await run(o, 1) : undefined;
  const cluster = main.cluster && clusterFigures(main.cluster, one?.r.cpu_us_per_msg);
  return summarize('relay', o, main.r, base, { server: main.server, ...(cluster ? { cluster } : {}) }, probe);
}
