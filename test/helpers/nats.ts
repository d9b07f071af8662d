/**
 * A real `nats-server` (Debian's package, with JetStream) on a random loopback port, its storage in a temp dir.
 * Missing, it fails the test with the command that installs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, type NatsConnection } from 'nats';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const NATS_MISSING = 'nats-server is not installed: run `sudo apt-get install -y nats-server` (Debian/Ubuntu; .ci/run does it), then run the tests again';

export interface NatsServer {
  url: string;
  /** Stops the server and removes its storage. */
  stop(): Promise<void>;
}

/** The nats-server to run: on the PATH, or where Debian puts it (/usr/sbin, not on every user's PATH). */
function natsBinary(): string | undefined {
  return ['nats-server', '/usr/sbin/nats-server'].find((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0);
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
