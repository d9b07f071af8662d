/** Server processes under test: Desk and the bare uWS relay baseline, each a child process measured from /proc. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const TICKS_PER_SEC = 100; // Linux USER_HZ

export interface ServerProc {
  kind: 'desk' | 'baseline';
  port: number;
  pid: number;
  child: ChildProcess;
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

/** What a server used from now on: its CPU time (µs) and the bytes it wrote to storage. */
export function meter(pid: number): () => { cpuUs: number; diskBytes: number } {
  const cpu0 = cpuMicros(pid);
  const disk0 = diskWriteBytes(pid);
  return () => ({ cpuUs: cpuMicros(pid) - cpu0, diskBytes: diskWriteBytes(pid) - disk0 });
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

async function scrape(port: number): Promise<Map<string, number>> {
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
    if (child.exitCode !== null) { cleanup(); resolve(); return; }
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
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await waitForPort(child, 'desk');
  return { kind: 'desk', port, pid: child.pid!, child, stop: stopper(child, () => fs.rmSync(dir, { recursive: true, force: true })) };
}

export async function startBaseline(): Promise<ServerProc> {
  const child = spawn(process.execPath, [path.join(__dirname, 'baseline-relay.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await waitForPort(child, 'baseline relay');
  return { kind: 'baseline', port, pid: child.pid!, child, stop: stopper(child, () => undefined) };
}
