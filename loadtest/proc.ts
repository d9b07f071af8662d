/** Server processes under test: Desk and the bare uWS relay baseline, each a child process measured from /proc. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'nats';
import { checkPartitionLogs, type LogCheck } from '../src/cluster/log-check';
import { PartitionLogs } from '../src/cluster/partition-log';
import { DEFAULT_PARTITIONS, partitionOf, placement } from '../src/cluster/partitions';
import { startNats } from '../test/helpers/nats';

const TICKS_PER_SEC = 100; // Linux USER_HZ

export interface ServerProc {
  kind: 'desk' | 'baseline';
  port: number;
  pid: number;
  /** Every process of the server: one, or the nodes of a cluster (`port`/`pid` are the first node's). */
  pids: number[];
  ports: number[];
  child: ChildProcess;
  /** A cluster's nats-server. */
  natsUrl?: string;
  /** A cluster: stops node `i`, killed as a lost machine (SIGKILL) or drained (SIGTERM); its port leaves `alive`. */
  kill?(i: number, signal?: 'SIGKILL' | 'SIGTERM'): void;
  /** The ports of the nodes not killed. */
  alive(): number[];
  stop(): Promise<void>;
}

/**
 * CPU time a process has used, in microseconds: the sum of its threads' on-CPU nanoseconds from
 * /proc/<pid>/task/<tid>/schedstat (user + system, exact), falling back to /proc/<pid>/stat's ticks (10 ms
 * steps, too coarse for short runs) where schedstat is missing.
 */
export function cpuMicros(pid: number): number {
  try {
    let ns = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    if (ns > 0) return ns / 1000;
  } catch {
    // a thread ended while being read, or no schedstat: use the ticks
  }
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SEC) * 1e6;
}

/** Bytes a process has caused to be written to storage (its own writes and fsyncs), from /proc/<pid>/io. */
export function diskWriteBytes(pid: number): number {
  const m = /^write_bytes:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/**
 * What a server (all its processes) used from now on: CPU time (µs) and the bytes written to storage. A process
 * that is gone (a node killed) counts what it had used when last read.
 */
export function meter(pids: number | readonly number[]): () => { cpuUs: number; diskBytes: number } {
  const list = typeof pids === 'number' ? [pids] : pids;
  const last = new Map<string, number>();
  const read = (what: string, pid: number, f: (pid: number) => number): number => {
    const key = `${what}${pid}`;
    try {
      last.set(key, f(pid));
    } catch {
      // gone: its last reading stands
    }
    return last.get(key) ?? 0;
  };
  const cpu = (): number => list.reduce((sum, pid) => sum + read('cpu', pid, cpuMicros), 0);
  const disk = (): number => list.reduce((sum, pid) => sum + read('disk', pid, diskWriteBytes), 0);
  const cpu0 = cpu();
  const disk0 = disk();
  return () => ({ cpuUs: cpu() - cpu0, diskBytes: disk() - disk0 });
}

/** A Desk server's own figures over a run (from its /metrics): slow commits, event-loop stalls, garbage collection. */
export interface ServerFigures {
  commits: number;
  /** Share of commits (turn end to durable) that took over 50 ms, in percent. */
  commits_over_50ms_pct: number;
  /** The longest event-loop delay during the run. */
  eventloop_lag_max_ms: number;
  /** Time in garbage collection per second of the run. */
  gc_ms_per_s: number;
}

export async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) ([-+0-9.eE]+|NaN)$/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

/**
 * Starts measuring a Desk server's figures; the returned function reads them for the time since. (Reading the
 * metrics resets the event-loop delay histogram, so the stalls are those of the run.)
 */
export async function serverFigures(port: number): Promise<() => Promise<ServerFigures>> {
  const before = await scrape(port);
  const started = performance.now();
  return async () => {
    const after = await scrape(port);
    const diff = (k: string): number => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    const commits = diff('desk_commit_seconds_count');
    const within50 = diff('desk_commit_seconds_bucket{le="0.05"}');
    let gcSeconds = 0;
    for (const k of after.keys()) if (k.startsWith('nodejs_gc_duration_seconds_sum')) gcSeconds += diff(k);
    const seconds = (performance.now() - started) / 1000;
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    return {
      commits,
      commits_over_50ms_pct: commits > 0 ? r2((100 * (commits - within50)) / commits) : 0,
      eventloop_lag_max_ms: r2((after.get('nodejs_eventloop_lag_max_seconds') ?? 0) * 1000),
      gc_ms_per_s: r2((gcSeconds * 1000) / seconds),
    };
  };
}

/** Resident memory of a process in bytes. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const distRoot = path.resolve(__dirname, '..');

function waitForPort(child: ChildProcess, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start in time: ${err || out}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /"port":(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${err || out}`));
    });
  });
}

function stopper(child: ChildProcess, cleanup: () => void): () => Promise<void> {
  return () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { cleanup(); resolve(); return; }
    child.once('exit', () => { cleanup(); resolve(); });
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

export interface DeskOptions {
  sdkAppId: number;
  key: string;
  members: string[];
  session?: Record<string, unknown>;
  fsync: 'always' | 'batch' | 'none';
  cpuProf?: boolean;
  /** Extra environment (cluster mode). */
  env?: Record<string, string>;
}

export const CS = '@customer_service_account';

/** Starts Desk (dist/src/main.js) on a loopback port with its data in a fresh temp dir. */
export async function startDesk(o: DeskOptions): Promise<ServerProc> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-load-'));
  const config = {
    apps: [{
      sdkAppId: o.sdkAppId, secretKey: o.key, adminIdentifier: 'administrator',
      groups: [{ id: 1, name: 'Default' }],
      members: o.members.map((mail) => ({ mail, nickname: mail.split('@')[0], groupIds: [1] })),
      session: o.session ?? {},
    }],
  };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const args = [...(o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve('loadtest/results')}`] : []),
    path.join(distRoot, 'src/main.js'), '--port', '0', '--host', '127.0.0.1', '--data-dir', dir, '--config', path.join(dir, 'config.json'), '--fsync', o.fsync, '--log-level', 'info'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
  const port = await waitForPort(child, 'desk');
  return { kind: 'desk', port, pid: child.pid!, pids: [child.pid!], ports: [port], child, alive: () => [port], stop: stopper(child, () => fs.rmSync(dir, { recursive: true, force: true })) };
}

/**
 * A cluster of `nodes` Desk processes over a nats-server of its own (all on loopback), once every partition is held
 * by the node placement names. `leaseTtlMs`: how long a lost node's partitions wait before others take them over.
 */
export async function startCluster(o: DeskOptions, nodes: number, leaseTtlMs = 15_000): Promise<ServerProc> {
  const nats = await startNats();
  const procs: ServerProc[] = [];
  const stop = async (): Promise<void> => {
    for (const p of procs) await p.stop();
    await nats.stop();
  };
  try {
    const ids = Array.from({ length: nodes }, (_, i) => `node-${i}`);
    // By default a measurement, not a failover test: leases long enough that a node starved of CPU by the load
    // generator (two cores for everything) keeps its partitions (one that moved would be taken over, at a cost).
    for (const id of ids) procs.push(await startDesk({ ...o, env: { ...o.env, DESK_NATS_URL: nats.url, DESK_NODE_ID: id, DESK_LEASE_TTL_MS: String(leaseTtlMs) } }));
    const want = placement(ids, DEFAULT_PARTITIONS);
    const expected = ids.map((id) => want.filter((owner) => owner === id).length);
    const settled = async (): Promise<boolean> => (await Promise.all(procs.map((p) => scrape(p.port)))).every((m, i) => m.get('desk_cluster_partitions_owned') === expected[i]);
    const t0 = Date.now();
    while (!(await settled())) {
      if (Date.now() - t0 > 30_000) throw new Error(`the cluster's partitions did not settle (${expected.join('/')}) within 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const killed = new Set<number>();
  return {
    kind: 'desk', port: procs[0].port, pid: procs[0].pid, pids: procs.map((p) => p.pid), ports: procs.map((p) => p.port), child: procs[0].child, natsUrl: nats.url, stop,
    kill(i, signal = 'SIGKILL') {
      killed.add(procs[i].port);
      procs[i].child.kill(signal);
    },
    alive: () => procs.map((p) => p.port).filter((port) => !killed.has(port)),
  };
}

/**
 * The bare relay; with `durable`, the durable acked relay, storing in a fresh temp dir (`store`: a write-ahead file,
 * or LMDB) and flushed as `fsync` says.
 */
export async function startBaseline(durable?: { fsync: string; store: 'file' | 'lmdb' }): Promise<ServerProc> {
  const dir = durable && fs.mkdtempSync(path.join(os.tmpdir(), 'desk-probe-'));
  const args = dir ? ['--durable', dir, '--fsync', durable.fsync, '--store', durable.store] : [];
  const child = spawn(process.execPath, [path.join(__dirname, 'baseline-relay.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const cleanup = (): void => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); };
  const port = await waitForPort(child, 'baseline relay').catch((err: unknown) => { cleanup(); throw err; });
  return { kind: 'baseline', port, pid: child.pid!, pids: [child.pid!], ports: [port], child, alive: () => [port], stop: stopper(child, cleanup) };
}

/** A cluster's figures over a run: each node's CPU per delivered message, and the hops between nodes per message. */
export interface ClusterRun {
  nodes: number;
  per_node_cpu_us_per_msg: number[];
  hops_per_msg: { command: number; reply: number; push: number };
  /** The partition logs read back after the run (log-check.ts): every acknowledged turn there once, in order. */
  log?: LogCheck;
}

const HOP_KINDS = ['command', 'reply', 'push'] as const;

/** The hops counted by the nodes; a node that is gone counts what it had when last read (`last`, per port). */
async function hopTotals(ports: number[], last: Map<number, Map<string, number>>): Promise<Record<(typeof HOP_KINDS)[number], number>> {
  const out = { command: 0, reply: 0, push: 0 };
  const read = await Promise.all(ports.map((port) => scrape(port).then((m) => { last.set(port, m); return m; }, () => last.get(port) ?? new Map<string, number>())));
  for (const m of read) for (const k of HOP_KINDS) out[k] += m.get(`desk_cluster_hops_total{kind="${k}"}`) ?? 0;
  return out;
}

/** Starts counting a cluster's per-node CPU and hops; the returned function gives them per delivered message. */
export async function hopCounter(proc: ServerProc): Promise<(messages: number) => Promise<ClusterRun>> {
  const meters = proc.pids.map((pid) => meter(pid));
  const last = new Map<number, Map<string, number>>();
  const before = await hopTotals(proc.ports, last);
  return async (messages) => {
    const after = await hopTotals(proc.ports, last);
    const per = (x: number): number => (messages > 0 ? Math.round((x / messages) * 100) / 100 : 0);
    return {
      nodes: proc.pids.length,
      per_node_cpu_us_per_msg: meters.map((m) => per(m().cpuUs)),
      hops_per_msg: { command: per(after.command - before.command), reply: per(after.reply - before.reply), push: per(after.push - before.push) },
      ...(proc.natsUrl ? { log: await readLogs(proc.natsUrl) } : {}),
    };
  };
}

async function readLogs(url: string): Promise<LogCheck> {
  const nc = await connect({ servers: url });
  try {
    return await checkPartitionLogs(await PartitionLogs.open(nc), DEFAULT_PARTITIONS, (a) => partitionOf(a, DEFAULT_PARTITIONS));
  } finally {
    await nc.close();
  }
}

/**
 * A cluster run's report: with the same traffic's CPU per message on a one-node cluster, what one hop between nodes
 * costs (the CPU the cluster spent beyond the one node, over the hops per message).
 */
export function clusterFigures(run: ClusterRun, oneNodeCpuUsPerMsg?: number): ClusterRun & { total_cpu_us_per_msg: number; one_node_cpu_us_per_msg?: number; hop_cost_us?: number } {
  const total = Math.round(run.per_node_cpu_us_per_msg.reduce((a, b) => a + b, 0) * 100) / 100;
  const hops = run.hops_per_msg.command + run.hops_per_msg.reply + run.hops_per_msg.push;
  if (oneNodeCpuUsPerMsg === undefined || hops === 0) return { ...run, total_cpu_us_per_msg: total };
  const one = Math.round(oneNodeCpuUsPerMsg * 100) / 100;
  return { ...run, total_cpu_us_per_msg: total, one_node_cpu_us_per_msg: one, hop_cost_us: Math.round(((total - one) / hops) * 100) / 100 };
}
