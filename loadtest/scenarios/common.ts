/** What every scenario shares: options, the summary it reports, Desk setup, and the paced probe pump. */
import { Encoding, type ServerFrame } from '../../protocol/frames';
import { LoadSocket, frameText, src, text, type Target } from '../client';
import { CS, meter, startBaseline, startCluster, startDesk, type ServerProc } from '../proc';
import { parseProbe, PROBE_BASE, probeText, Tracker } from '../stats';

export interface Options {
  users: number;
  agents: number;
  /** Offered probe messages per second, all sockets together. */
  rate: number;
  durationSec: number;
  /** Traffic at the offered rate before the measured window, left out of every figure (the JIT compiler warms up). */
  warmupSec: number;
  /** Probe text size in bytes. */
  size: number;
  /** Chat: messages each way per conversation. */
  messages: number;
  fsync: 'always' | 'batch' | 'none';
  encoding: Encoding;
  baseline: boolean;
  /** How the durable acked relay (relay's second baseline) stores: a write-ahead file as Desk does, or LMDB. */
  probeStore: 'file' | 'lmdb';
  cpuProf: boolean;
  progress: (done: number, total: number) => void;
  /** Connections scenario target. */
  connections: number;
  /** Cluster nodes (relay, chat): 0 runs one server without NATS. */
  nodes: number;
  /**
   * Chat on a cluster: one node is stopped a third of the way through, killed (SIGKILL, a lost machine) or drained
   * (SIGTERM, a rolling restart's step); its clients go on at the others.
   */
  kill: false | 'SIGKILL' | 'SIGTERM';
}

export const defaults: Options = {
  users: 100, agents: 10, rate: 5000, durationSec: 10, warmupSec: 2, size: 100, messages: 5, fsync: 'always',
  encoding: Encoding.Json, baseline: true, probeStore: 'file', cpuProf: false, progress: () => undefined, connections: 20_000, nodes: 0, kill: false,
};

/** What every run counts. */
export interface Counts {
  messages: number;
  sent: number;
  acked: number;
  lost: number;
  duplicates: number;
  mps: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
}

export interface Summary extends Counts {
  scenario: string;
  fsync: string;
  server_cpu_us_per_msg: number;
  /** Bytes the server wrote to storage per message (event log, indexes, snapshots, fsync'd pages). */
  server_disk_bytes_per_msg?: number;
  baseline_cpu_us_per_msg: number | null;
  baseline_p99_ms?: number;
  ratio: number | null;
  /** relay: the durable acked relay (baseline-relay.ts `--durable`), the floor storage and acks set, in the same run. */
  probe_cpu_us_per_msg?: number;
  probe_p99_ms?: number;
  /** Desk's CPU per message over the durable acked relay's. */
  ratio_to_probe?: number;
  baseline?: RunResult;
  probe?: RunResult;
  extra?: Record<string, unknown>;
  histogram?: { le: number; n: number }[];
  timeline?: number[];
  skipped?: string;
}

export interface RunResult extends Counts {
  cpu_us_per_msg: number;
  disk_bytes_per_msg: number;
  histogram: { le: number; n: number }[];
  timeline: number[];
}

export const SDKAPPID = 1400000001;
export const KEY = 'loadtest-secret-key-0123456789abcdef';
export const agentName = (i: number): string => `agent${i}@load.test`;
export const userName = (i: number): string => `lt-user-${i}`;

export const now = (): number => performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Desk under test: one server, or with `nodes` a cluster whose clients spread over its nodes. */
export async function desk(o: Options, session: Record<string, unknown>, nodes = 0, leaseTtlMs?: number): Promise<{ proc: ServerProc; target: Target }> {
  const d = {
    sdkAppId: SDKAPPID, key: KEY, fsync: o.fsync, cpuProf: o.cpuProf,
    members: Array.from({ length: o.agents }, (_, i) => agentName(i)),
    session: { satisfaction: { enabled: true }, ...session },
  };
  const proc = nodes > 0 ? await startCluster(d, nodes, leaseTtlMs) : await startDesk(d);
  return { proc, target: { kind: 'desk', port: proc.port, ports: proc.ports, sdkAppId: SDKAPPID, key: KEY, encoding: o.encoding } };
}

/** One user ↔ agent conversation the pump drives. */
export interface Pair {
  a: LoadSocket;
  b: LoadSocket;
  /** Sends a probe from side a (user) or b (agent). */
  send(side: 'a' | 'b', id: number, body: unknown[]): void;
}

/** Routes probe deliveries and acks of a socket to the tracker. */
export function track(s: LoadSocket, tracker: Tracker, onOther?: (f: ServerFrame) => void): void {
  s.onFrame = (f) => {
    if (f.type === 'message.ack') tracker.ack((f.data as { random: number }).random);
    else {
      const p = parseProbe(frameText(f));
      if (p) tracker.deliver(p.id, p.sentMs, now());
      else onOther?.(f);
    }
  };
}

/** Waits until `done()` or the time runs out. */
export async function until(done: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) return false;
    await sleep(10);
  }
  return true;
}

let nextProbeId = PROBE_BASE;

/** Runs the pairs at the offered rate for the warm-up time, counting nothing; the sockets are then tracked by `tracker`. */
export async function warmUp(pairs: Pair[], o: Options, sockets: LoadSocket[], pid: number | number[], acks: boolean, tracker: Tracker): Promise<void> {
  if (o.warmupSec > 0) {
    const discarded = new Tracker(now());
    for (const s of sockets) track(s, discarded);
    await pump(pairs, { ...o, durationSec: o.warmupSec, progress: () => undefined }, discarded, pid, acks);
  }
  for (const s of sockets) track(s, tracker);
}

/**
 * Sends probes over the pairs at the offered rate for the duration (alternating direction), waits for them to be
 * delivered, and measures the server's CPU over the whole window.
 */
export async function pump(pairs: Pair[], o: Options, tracker: Tracker, pid: number | number[], acks: boolean, total = Math.round(o.rate * o.durationSec)): Promise<RunResult> {
  const started = now();
  const used = meter(pid);
  const ids: number[] = [];
  let sent = 0;
  let turn = 0;
  const tickMs = 5;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.ceil(((now() - started) / 1000) * o.rate));
      while (sent < due) {
        const pair = pairs[turn % pairs.length];
        const side = Math.floor(turn / pairs.length) % 2 === 0 ? 'a' : 'b';
        turn++;
        const id = nextProbeId++;
        ids.push(id);
        pair.send(side, id, text(probeText(id, now(), o.size)));
        tracker.send();
        sent++;
      }
      o.progress(sent, total);
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, tickMs);
  });
  const expected = () => (acks ? tracker.acked.size : sent);
  // Done when every acknowledged probe arrived and acks stopped coming (probes sent on a dropped socket never are).
  await until(() => tracker.delivered.size >= expected() && (!acks || tracker.acked.size >= sent || now() - tracker.lastAckAt > 1000), 15_000);
  const elapsed = (now() - started) / 1000;
  return result(tracker, used(), elapsed, { sent, lost: tracker.lost(acks ? tracker.acked : ids) });
}

/** A run's counts, latency and server costs per delivered message. */
export function result(tracker: Tracker, used: { cpuUs: number; diskBytes: number }, elapsedSec: number, o: { sent?: number; lost?: number } = {}): RunResult {
  const messages = tracker.delivered.size;
  return {
    messages, sent: o.sent ?? tracker.sent, acked: tracker.acked.size, lost: o.lost ?? tracker.lost(tracker.acked), duplicates: tracker.duplicates,
    mps: messages / elapsedSec, p50_ms: tracker.percentileMs(50), p95_ms: tracker.percentileMs(95), p99_ms: tracker.percentileMs(99),
    cpu_us_per_msg: messages ? used.cpuUs / messages : 0, disk_bytes_per_msg: messages ? used.diskBytes / messages : 0,
    histogram: tracker.buckets(), timeline: tracker.timeline,
  };
}

/** The default transfer-failed prompt's start. */
const NO_AGENT_ONLINE = '抱歉，当前无客服在线';
/** Randoms a user's requests for a human may use (1 is its src 7; probes start at PROBE_BASE). */
const ASK_AGAIN_LIMIT = 50;

/**
 * On a cluster an agent's arrival reaches its group's queue over NATS, and a user asking first is told nobody is
 * online: like a person, the user asks again a moment later. Returns the way to see a frame (true when it was that
 * answer); `random` is the last random the user's requests for a human used.
 */
export function askingAgain(u: { send(type: string, data: unknown): void }, random: number): (f: ServerFrame) => boolean {
  return (f) => {
    if (f.type !== 'message' || !frameText(f)?.startsWith(NO_AGENT_ONLINE)) return false;
    if (random < ASK_AGAIN_LIMIT) {
      const next = ++random;
      setTimeout(() => u.send('message.send', { to: CS, random: next, body: text('转人工') }), 200);
    }
    return true;
  };
}

/** Brings `users` users into service with the agents: src 7, then the to-human keyword, until assigned. */
export async function inService(target: Target, o: Options, session: { onAssigned?: (userId: string) => void } = {}): Promise<{ pairs: Pair[]; users: LoadSocket[]; agents: LoadSocket[]; sessions: Map<string, { sessionId: string; agent: LoadSocket }> }> {
  const agents: LoadSocket[] = [];
  const sessions = new Map<string, { sessionId: string; agent: LoadSocket }>();
  for (let i = 0; i < o.agents; i++) {
    const s = await LoadSocket.desk(target, agentName(i), 'agent');
    s.onFrame = (f) => {
      if (f.type === 'session.assigned') {
        const d = f.data as { userId: string; sessionId: string };
        sessions.set(d.userId, { sessionId: d.sessionId, agent: s });
        session.onAssigned?.(d.userId);
      }
    };
    agents.push(s);
  }
  const users: LoadSocket[] = [];
  let noAgent = 0;
  for (let start = 0; start < o.users; start += 200) {
    const batch = await Promise.all(Array.from({ length: Math.min(200, o.users - start) }, (_, k) => LoadSocket.desk(target, userName(start + k), 'user')));
    for (const u of batch) {
      const toldNobody = askingAgain(u, 2);
      u.onFrame = (f) => { if (toldNobody(f)) noAgent++; };
      u.send('message.send', { to: CS, random: 1, body: src('7') });
      u.send('message.send', { to: CS, random: 2, body: text('转人工') });
    }
    users.push(...batch);
  }
  if (!(await until(() => sessions.size >= o.users, 60_000))) throw new Error(`only ${sessions.size} of ${o.users} users reached an agent (told nobody was online ${noAgent} times)`);
  for (const u of users) u.onFrame = () => undefined;
  const pairs = users.map((u, i) => {
    const s = sessions.get(userName(i))!;
    return {
      a: u, b: s.agent,
      send(side: 'a' | 'b', id: number, body: unknown[]) {
        if (side === 'a') u.send('message.send', { to: CS, random: id, body });
        else s.agent.send('message.send', { sessionId: s.sessionId, random: id, body });
      },
    };
  });
  return { pairs, users, agents, sessions };
}

/**
 * The same probes over the bare uWS relay: pairs of sockets, same sizes, rate and client code. `warmupSec`: the
 * warm-up the Desk run had, so both are measured warm or both cold. `durable`: over the durable acked relay instead
 * (stored as `o.probeStore` and `o.fsync` say, acknowledged), counted as Desk is: acknowledged probes only.
 */
export async function baselineRun(o: Options, pairCount: number, total: number, rate: number, warmupSec = 0, durable = false): Promise<RunResult> {
  const proc = await startBaseline(durable ? { fsync: o.fsync, store: o.probeStore } : undefined);
  try {
    const target: Target = { kind: 'baseline', port: proc.port, sdkAppId: 0, key: '', encoding: o.encoding };
    const tracker = new Tracker(now());
    const pairs: Pair[] = [];
    for (let i = 0; i < pairCount; i++) {
      const a = await LoadSocket.baseline(target, i);
      const b = await LoadSocket.baseline(target, i);
      const send = (s: LoadSocket) => (id: number, body: unknown[]) => s.send('message.send', { to: CS, random: id, body });
      const sa = send(a);
      const sb = send(b);
      pairs.push({ a, b, send: (side, id, body) => (side === 'a' ? sa(id, body) : sb(id, body)) });
    }
    await sleep(100);
    await warmUp(pairs, { ...o, rate, warmupSec }, pairs.flatMap((p) => [p.a, p.b]), proc.pid, durable, tracker);
    const r = await pump(pairs, { ...o, rate, progress: () => undefined }, tracker, proc.pid, durable, total);
    for (const p of pairs) { p.a.close(); p.b.close(); }
    return r;
  } finally {
    await proc.stop();
  }
}

/** A summary from a Desk run and its baseline. */
export function summarize(scenario: string, o: Options, r: RunResult, base: RunResult | undefined, extra?: Record<string, unknown>, probe?: RunResult): Summary {
  return {
    scenario, fsync: o.fsync, messages: r.messages, sent: r.sent, acked: r.acked, lost: r.lost, duplicates: r.duplicates,
    mps: round(r.mps), p50_ms: round(r.p50_ms), p95_ms: round(r.p95_ms), p99_ms: round(r.p99_ms),
    server_cpu_us_per_msg: round(r.cpu_us_per_msg),
    server_disk_bytes_per_msg: Math.round(r.disk_bytes_per_msg),
    baseline_cpu_us_per_msg: base ? round(base.cpu_us_per_msg) : null,
    ...(base ? { baseline_p99_ms: round(base.p99_ms) } : {}),
    ratio: base && base.cpu_us_per_msg > 0 ? round(r.cpu_us_per_msg / base.cpu_us_per_msg) : null,
    ...(probe ? { probe_cpu_us_per_msg: round(probe.cpu_us_per_msg), probe_p99_ms: round(probe.p99_ms) } : {}),
    ...(probe && probe.cpu_us_per_msg > 0 ? { ratio_to_probe: round(r.cpu_us_per_msg / probe.cpu_us_per_msg) } : {}),
    baseline: base, ...(probe ? { probe } : {}), extra, histogram: r.histogram, timeline: r.timeline,
  };
}

export const round = (x: number): number => Math.round(x * 100) / 100;
