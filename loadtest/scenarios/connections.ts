/**
 * connections: opens as many idle user sessions as it can up to the target, from several loopback source
 * addresses and worker processes, and reports the server's resident memory per connection.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { rssBytes } from '../proc';
import { desk, KEY, SDKAPPID, sleep, type Options, type Summary } from './common';

/** Sockets one worker holds: under the 20,000 open-file limit of a process, with room for its own files. */
const PER_WORKER = 9_000;

export async function connections(o: Options): Promise<Summary> {
  const { proc } = await desk(o, {});
  const workers: ReturnType<typeof spawn>[] = [];
  let open = 0;
  let failed = 0;
  let rssBefore = 0;
  let rssAfter = 0;
  try {
    await sleep(300);
    rssBefore = rssBytes(proc.pid);
    // The server itself may hold at most 20,000 open files; leave it a margin for its own.
    const target = Math.min(o.connections, 19_900);
    const counts = new Map<number, number>();
    const fails = new Map<number, number>();
    const finished: Promise<void>[] = [];
    for (let first = 0, w = 0; first < target; first += PER_WORKER, w++) {
      const count = Math.min(PER_WORKER, target - first);
      const child = spawn(process.execPath, [path.join(__dirname, '../connections-worker.js'), JSON.stringify({ port: proc.port, sdkAppId: SDKAPPID, key: KEY, count, first, sources: 8 })], { stdio: ['ignore', 'pipe', 'inherit'] });
      workers.push(child);
      finished.push(new Promise((resolve) => {
        let buf = '';
        child.stdout!.on('data', (d: Buffer) => {
          buf += d;
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = JSON.parse(buf.slice(0, nl)) as { open?: number; done?: number; failed: number };
            buf = buf.slice(nl + 1);
            counts.set(w, line.open ?? line.done ?? 0);
            fails.set(w, line.failed);
            o.progress([...counts.values()].reduce((a, b) => a + b, 0), target);
            if (line.done !== undefined) resolve();
          }
        });
        child.once('exit', () => resolve());
      }));
    }
    await Promise.all(finished);
    open = [...counts.values()].reduce((a, b) => a + b, 0);
    failed = [...fails.values()].reduce((a, b) => a + b, 0);
    await sleep(500);
    rssAfter = rssBytes(proc.pid);
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await proc.stop();
  }
  const perConn = open ? (rssAfter - rssBefore) / open : 0;
  return {
    scenario: 'connections', fsync: o.fsync, messages: 0, sent: 0, acked: 0, lost: 0, duplicates: 0, mps: 0, p50_ms: 0, p95_ms: 0, p99_ms: 0,
    server_cpu_us_per_msg: 0, baseline_cpu_us_per_msg: null, ratio: null,
    extra: { target: o.connections, open, failed, rss_before_mb: Math.round(rssBefore / 1048576), rss_after_mb: Math.round(rssAfter / 1048576), rss_bytes_per_connection: Math.round(perConn) },
  };
}
