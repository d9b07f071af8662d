/**
 * A real `nats-server` (Debian's package, with JetStream) on a random loopback port, its storage in a temp dir.
 * Missing, it fails the test with the command that installs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, type NatsConnection } from 'nats';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports';

export const NATS_MISSING = 'nats-server is not installed: run `sudo apt-get install -y nats-server haproxy` (Debian/Ubuntu; .ci/run does it), then run the tests again';

export interface NatsServer {
  url: string;
  /** Stops the server and removes its storage. */
  stop(): Promise<void>;
}

/** A Debian program: on the PATH, or in /usr/sbin (not on every user's PATH). */
export function sbinProgram(name: string): string | undefined {
  return [name, `/usr/sbin/${name}`].find((bin) => spawnSync(bin, ['-v'], { stdio: 'ignore' }).status === 0);
}

const natsBinary = (): string | undefined => sbinProgram('nats-server');

export interface NatsCluster {
  /** The servers' client URLs, comma-separated (as DESK_NATS_URL takes them). */
  urls: string;
  /** Kills one server at once (SIGKILL). */
  kill(i: number): void;
  stop(): Promise<void>;
}

/**
 * Three nats-servers forming one JetStream cluster on loopback, each run with `conf` (deploy/cluster/nats.conf)
 * and its settings in the environment, as the compose file runs them. Resolves once the cluster takes R3 writes.
 */
export async function startNatsCluster(conf: string): Promise<NatsCluster> {
  const bin = natsBinary();
  if (!bin) throw new Error(NATS_MISSING);
  const clientPorts = [await freePort(), await freePort(), await freePort()];
  const routePorts = [await freePort(), await freePort(), await freePort()];
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    })));
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-natsc-'));
      dirs.push(dir);
      const env = {
        ...process.env, NATS_NAME: `n${i + 1}`, NATS_HOST: '127.0.0.1', NATS_PORT: String(clientPorts[i]), NATS_CLUSTER: String(routePorts[i]), NATS_STORE: dir,
        NATS_ROUTE_1: `nats://127.0.0.1:${routePorts[0]}`, NATS_ROUTE_2: `nats://127.0.0.1:${routePorts[1]}`, NATS_ROUTE_3: `nats://127.0.0.1:${routePorts[2]}`,
      };
      const child = spawn(bin, ['-c', conf], { env, stdio: ['ignore', 'ignore', 'ignore'] });
      children.push(child);
    }
    const urls = clientPorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
    // Ready once JetStream has a cluster leader and takes a replicated write.
    const t0 = Date.now();
    for (;;) {
      try {
        const nc = await connect({ servers: urls, timeout: 1000 });
        try {
          const kv = await nc.jetstream().views.kv('desk-test-ready', { replicas: 3 });
          await kv.put('ready', 'yes');
          break;
        } finally {
          await nc.close();
        }
      } catch (err) {
        if (Date.now() - t0 > 30_000) throw new Error(`the NATS cluster did not form within 30 s: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    return { urls, kill: (i) => { children[i].kill('SIGKILL'); }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function startNats(): Promise<NatsServer> {
  const bin = natsBinary();
  if (!bin) throw new Error(NATS_MISSING);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-nats-'));
  // -p -1: a random free port, read back from the log.
  const child: ChildProcess = spawn(bin, ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start: ${log}`)), 15_000);
    const onData = (d: Buffer): void => {
      log += d;
      const port = /Listening for client connections on [^\s]*:(\d+)/.exec(log)?.[1];
      if (port && /Server is ready/.test(log)) {
        clearTimeout(timer);
        resolve(`nats://127.0.0.1:${port}`);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code}: ${log}`));
    });
  });
  return {
    url,
    stop: () => new Promise((resolve) => {
      const done = (): void => {
        fs.rmSync(dir, { recursive: true, force: true });
        resolve();
      };
      if (child.exitCode !== null) return done();
      child.once('exit', done);
      child.kill('SIGTERM');
    }),
  };
}

/**
 * One nats-server for a test file: started before its tests, stopped (with every connection made through `connect`)
 * after them.
 */
export function natsForTests(t: { before(fn: () => Promise<void>): void; teardown(fn: () => Promise<void>): void }): { url(): string; connect(): Promise<NatsConnection> } {
  let server: NatsServer | undefined;
  const conns: NatsConnection[] = [];
  t.before(async () => { server = await startNats(); });
  t.teardown(async () => {
    for (const nc of conns) await nc.close().catch(() => undefined);
    await server?.stop();
  });
  return {
    url: () => server!.url,
    connect: async () => {
      const nc = await connect({ servers: server!.url });
      conns.push(nc);
      return nc;
    },
  };
}
