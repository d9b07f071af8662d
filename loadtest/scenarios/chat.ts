/**
 * chat: users go through the whole path — session start, robot, transfer, queue, assignment, K probes each way,
 * end, rating — against fewer agents than users.
 *
 * With `kill` (a cluster): once a third of the conversations are assigned, one node is killed (SIGKILL), or drained
 * (SIGTERM: it hands its partitions over, then closes its sockets). Its clients connect to another node and resume
 * with `history.sync`, sending again what was not answered (ResumingClient).
 * Reported: acknowledged messages lost, sessions assigned to two agents, the most sessions an agent held at once
 * against its limit, the survivors' takeovers and their time.
 */
import * as hdr from 'hdr-histogram-js';
import { frameText, src, srcOf, text } from '../client';
import { clusterFigures, CS, hopCounter, meter, scrape, type ClusterRun, type ServerProc } from '../proc';
import { ResumingClient } from '../resume';
import { runStatistics, type RunStatistics } from '../statistics';
import { parseProbe, probeText, Tracker } from '../stats';
import { DEFAULT_PARTITIONS } from '../../src/cluster/partitions';
import { agentName, askingAgain, baselineRun, desk, now, result, round, sleep, summarize, until, userName, type Options, type RunResult, type Summary } from './common';

let probeId = 1_000_000_000;

/** Leases of a run with a node killed: its partitions are taken over this long after it is gone. */
const KILL_LEASE_TTL_MS = 3000;
/** The node killed: not the first, whose port the run's other figures read. */
const KILLED = 1;
/** A message's `fromRole` when a user sent it. */
const USER = 1;

/**
 * A run with a node killed: which, when, the clients' reconnections, how long until every partition was served
 * again (the lease running out, then the takeovers), the takeovers and their time from lease gained to served.
 */
interface KillRun {
  node: string;
  signal: 'SIGKILL' | 'SIGTERM';
  at_s: number;
  reconnects: number;
  all_served_after_s: number | null;
  /** Partitions taken over by the nodes left, and the mean time from lease gained to partition served. */
  takeovers: number;
  takeover_mean_s: number;
}

/**
 * `unfinished`: when the run timed out, how many conversations stopped at each step. `doubleAssigned`: sessions
 * told to two different agents; `maxHeld`: the most sessions one agent held at once (assigned, not yet ended by it).
 */
interface ChatRun {
  r: RunResult; finished: number; rated: number; limit: number; assignment: hdr.Histogram; cluster?: ClusterRun; unfinished?: Record<string, number>;
  doubleAssigned: number; maxHeld: number; kill?: KillRun; statistics?: RunStatistics & { nodes_agree: boolean };
}

export async function chat(o: Options): Promise<Summary> {
  if (o.kill && o.nodes < 2) throw new Error('--kill and --drain need a cluster of at least two nodes (--nodes)');
  const { r, finished, rated, limit, assignment, cluster, unfinished, doubleAssigned, maxHeld, kill, statistics } = await run(o, o.nodes);
  const base = o.baseline ? await baselineRun(o, Math.min(o.users, 100), r.sent, Math.max(100, Math.round(r.mps))) : undefined;
  // What the hops between nodes cost: the same conversations on a one-node cluster (not with a node killed).
  const one = o.nodes > 1 && !o.kill ? await run(o, 1) : undefined;
  const pct = (p: number) => (assignment.totalCount ? round(assignment.getValueAtPercentile(p) / 1000) : 0);
  return summarize('chat', o, r, base, {
    conversations: o.users, finished, rated, agents: o.agents, limit_per_agent: limit, ...(unfinished ? { unfinished } : {}),
    double_assigned: doubleAssigned, max_sessions_per_agent: maxHeld,
    // The whole path (start, robot, transfer, queue, prompts, end, rating) per conversation, next to per message.
    server_cpu_ms_per_conversation: finished ? round((r.cpu_us_per_msg * r.messages) / finished / 1000) : 0,
    assignment_p50_ms: pct(50), assignment_p95_ms: pct(95), assignment_p99_ms: pct(99),
    ...(cluster ? { cluster: clusterFigures(cluster, one?.r.cpu_us_per_msg) } : {}),
    ...(kill ? { kill } : {}),
    // What the server's statistics counted of the run, asked of every node left.
    ...(statistics ? { statistics } : {}),
  });
}

/** Takeovers counted by the nodes on `ports`: how many, and their seconds in all. */
async function takeovers(ports: number[]): Promise<{ count: number; seconds: number }> {
  const out = { count: 0, seconds: 0 };
  for (const m of await Promise.all(ports.map(scrape))) {
    out.count += m.get('desk_cluster_takeover_seconds_count') ?? 0;
    out.seconds += m.get('desk_cluster_takeover_seconds_sum') ?? 0;
  }
  return out;
}

/** One run against Desk: `nodes` 0 is one server; otherwise a cluster of that many nodes. */
async function run(o: Options, nodes: number): Promise<ChatRun> {
  const limit = Math.max(1, Math.ceil(o.users / o.agents / 2));
  const killing = o.kill !== false && nodes > 1 ? o.kill : undefined;
  const { proc, target } = await desk(o, { maxConcurrentPerAgent: limit }, nodes, killing ? KILL_LEASE_TTL_MS : undefined);
  const alive = (): number[] => proc.alive();
  const tracker = new Tracker(now());
  const assignment = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  const requestedAt = new Map<string, number>();
  let finished = 0;
  let rated = 0;
  let r: RunResult;
  const started = now();
  const startedAt = Date.now();
  let statistics: ChatRun['statistics'];
  const used = meter(proc.pids);
  const hops = nodes > 0 ? await hopCounter(proc) : undefined;
  let cluster: ClusterRun | undefined;
  let unfinished: Record<string, number> | undefined;
  const clients: ResumingClient[] = [];
  // Who was told of each session, and what each agent holds (assigned, not yet ended by it).
  const agentsOf = new Map<string, Set<number>>();
  let doubleAssigned = 0;
  const held = Array.from({ length: o.agents }, () => new Set<string>());
  let maxHeld = 0;
  let killed: { at: number; before: { count: number; seconds: number }; served?: number } | undefined;
  let kill: KillRun | undefined;
  const killNow = async (): Promise<void> => {
    // Counted before and after over the nodes that stay.
    const k: NonNullable<typeof killed> = { at: now(), before: await takeovers(proc.ports.filter((_, i) => i !== KILLED)) };
    killed = k;
    proc.kill!(KILLED, killing);
    const served = async (): Promise<number> => (await Promise.all(proc.alive().map(scrape))).reduce((n, m) => n + (m.get('desk_cluster_partitions_owned') ?? 0), 0);
    while (now() - k.at < 60_000 && (await served().catch(() => 0)) < DEFAULT_PARTITIONS) await sleep(100);
    if (now() - k.at < 60_000) k.served = now();
  };
  let assigned = 0;
  try {
    /** Probes each session's agent answered. */
    const replies = new Map<string, number>();
    const assign = (agent: number, sessionId: string): boolean => {
      let told = agentsOf.get(sessionId);
      if (!told) agentsOf.set(sessionId, (told = new Set()));
      if (told.has(agent)) return false;
      told.add(agent);
      if (told.size > 1) doubleAssigned++;
      held[agent].add(sessionId);
      maxHeld = Math.max(maxHeld, held[agent].size);
      if (killing && ++assigned === Math.ceil(o.users / 3)) void killNow();
      return true;
    };
    for (let i = 0; i < o.agents; i++) {
      const a = await ResumingClient.open(target, agentName(i), 'agent', alive);
      clients.push(a);
      a.onFrame = (f) => {
        if (f.type === 'message.ack') { tracker.ack((f.data as { random: number }).random); return; }
        if (f.type === 'session.assigned') {
          const d = f.data as { userId: string; sessionId: string };
          if (!assign(i, d.sessionId)) return;
          const t0 = requestedAt.get(d.userId);
          if (t0 !== undefined) assignment.recordValue(Math.max(1, Math.round((now() - t0) * 1000)));
          return;
        }
        // A member connecting again is told what it holds (one assigned while it was away among them).
        if (f.type === 'agent.state') {
          for (const { sessionId } of (f.data as { sessions: { sessionId: string }[] }).sessions) assign(i, sessionId);
          return;
        }
        const p = f.type === 'message' && (f.data as { fromRole: number }).fromRole === USER ? parseProbe(frameText(f)) : undefined;
        if (!p) return;
        const first = !tracker.delivered.has(p.id);
        tracker.deliver(p.id, p.sentMs, now());
        if (!first) return;
        const sessionId = (f.data as { sessionId: string }).sessionId;
        const n = (replies.get(sessionId) ?? 0) + 1;
        replies.set(sessionId, n);
        const id = probeId++;
        a.send('message.send', { sessionId, random: id, body: text(probeText(id, now(), o.size)) });
        tracker.send();
        if (n >= o.messages) {
          held[i].delete(sessionId);
          a.send('session.end', { sessionId });
        }
      };
    }
    // Where each conversation is, to say where unfinished ones stopped.
    const steps: string[] = [];
    const conversation = async (i: number): Promise<void> => {
      const u = await ResumingClient.open(target, userName(i), 'user', alive);
      clients.push(u);
      let sent = 0;
      const mine: number[] = [];
      let step: 'welcome' | 'robot' | 'human' | 'talk' | 'rate' | 'done' = 'welcome';
      // Randoms 1–4 are the steps' own; asking again for a human uses 5 on.
      const toldNobody = askingAgain(u, 4);
      const sendProbe = () => {
        const id = probeId++;
        mine.push(id);
        sent++;
        tracker.send();
        u.send('message.send', { to: CS, random: id, body: text(probeText(id, now(), o.size)) });
      };
      await new Promise<void>((resolve) => {
        const rate = () => { step = 'done'; rated++; resolve(); };
        u.onFrame = (f) => {
          steps[i] = step;
          if (f.type === 'message.ack') {
            const random = (f.data as { random: number }).random;
            tracker.ack(random);
            // The rating stored (its echo may have gone with a lost node).
            if (random === 4 && step === 'rate') rate();
            return;
          }
          if (f.type === 'message.edit' && step === 'rate') { rate(); return; }
          // Its own messages come back with the history it catches up on.
          if (f.type !== 'message' || (f.data as { fromRole: number }).fromRole === USER) return;
          const t = frameText(f);
          const p = parseProbe(t);
          if (p) {
            const first = !tracker.delivered.has(p.id);
            tracker.deliver(p.id, p.sentMs, now());
            if (first && sent < o.messages) sendProbe();
            return;
          }
          if (step === 'welcome' && t) { step = 'robot'; u.send('message.send', { to: CS, random: 2, body: text('hello') }); return; }
          if (step === 'robot' && t && t.startsWith('抱歉')) {
            step = 'human';
            requestedAt.set(userName(i), now());
            u.send('message.send', { to: CS, random: 3, body: text('转人工') });
            return;
          }
          if (step === 'human' && t && t.startsWith('转接人工成功')) { step = 'talk'; sendProbe(); return; }
          if (step === 'human' && toldNobody(f)) return;
          if (srcOf(f) === '9' && step !== 'rate') {
            step = 'rate';
            const card = JSON.parse((f.data as { body: { MsgContent: { Data: string } }[] }).body[0].MsgContent.Data);
            u.send('message.send', { to: CS, random: 4, body: src('10', { menuSelected: { id: '105', content: '非常满意', sessionId: card.menuContent.sessionId } }) });
          }
        };
        u.send('message.send', { to: CS, random: 1, body: src('7') });
      });
      // On a cluster an acknowledgement (a reply from the session's node) may come after the pushes that followed it
      // (by recipient interest): the socket stays open until its own probes are acknowledged.
      await until(() => mine.every((id) => tracker.acked.has(id)), 10_000);
      steps[i] = 'finished';
      finished++;
      o.progress(finished, o.users);
      u.close();
    };
    const all: Promise<void>[] = [];
    for (let i = 0; i < o.users; i++) all.push(conversation(i));
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      Promise.all(all).then(() => true),
      new Promise<boolean>((res) => { timer = setTimeout(() => res(false), Math.max(60_000, o.durationSec * 1000 * 6)); }),
    ]);
    clearTimeout(timer);
    // The agents' last acknowledgements may still be on their way (their sockets stay open until the end).
    await until(() => tracker.acked.size >= tracker.sent, 10_000);
    await until(() => tracker.delivered.size >= tracker.acked.size, 10_000);
    r = result(tracker, used(), (now() - started) / 1000);
    if (!done) {
      r.lost += (o.users - finished) * o.messages * 2;
      const at: Record<string, number> = {};
      for (let i = 0; i < o.users; i++) if (steps[i] !== 'finished') at[steps[i] ?? 'connecting'] = (at[steps[i] ?? 'connecting'] ?? 0) + 1;
      unfinished = at;
    }
    cluster = hops && await hops(r.messages);
    statistics = await runStatistics(alive(), startedAt - 60_000, Date.now() + 60_000);
  } finally {
    for (const c of clients) c.close();
    if (killed) {
      const after = await takeovers(proc.alive());
      const count = after.count - killed.before.count;
      kill = {
        node: `node-${KILLED}`, signal: killing!, at_s: round((killed.at - started) / 1000), reconnects: clients.reduce((n, c) => n + c.reconnects, 0),
        all_served_after_s: killed.served === undefined ? null : round((killed.served - killed.at) / 1000),
        takeovers: count, takeover_mean_s: count > 0 ? round((after.seconds - killed.before.seconds) / count) : 0,
      };
    }
    await proc.stop();
  }
  return { r, finished, rated, limit, assignment, cluster, unfinished, doubleAssigned, maxHeld, kill, statistics };
}
