/**
 * One server per data dir. Two servers on one LMDB environment each run their own actors on the same sessions and
 * split the connections between them, so acknowledged messages get lost; the second must refuse to start.
 *
 * The lock is a listening unix socket, which the kernel releases when its process dies, however it dies:
 * - on Linux, an abstract socket named after the data dir's real path (no file, so nothing stale and no race);
 * - everywhere, a socket file in the data dir, which also reaches a holder in another network namespace sharing the
 *   directory (two containers on one volume), and is the only lock where abstract sockets do not exist (macOS).
 *   A socket file nobody answers on is left by a killed holder: it is removed and bound again.
 * Next to them, `desk.lock` records who holds the dir (pid, host name, address, start time) for the refusal message.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { StartRefused } from '../start-refused';

export class DataDirInUse extends StartRefused {}

/** Who holds a data dir, as `desk.lock` records it. */
export interface LockHolder {
  pid: number;
  hostname: string;
  /** The script the process runs (a server, or a tool such as the statistics rebuild). */
  command: string;
  startedAt: string;
  /** Where a server listens; its port is 0 until it does. */
  host?: string;
  port?: number;
}

const INFO_FILE = 'desk.lock';
const SOCKET_FILE = 'desk.lock.sock';
/** Longest socket path every platform binds as given (macOS: 104 bytes with the NUL; Linux truncates silently past 107). */
const MAX_SOCKET_PATH = 103;

function listen(p: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    // A holder only needs to answer: whoever connects is told nothing and let go.
    const server = net.createServer((c) => c.destroy());
    server.once('error', reject);
    server.listen({ path: p, exclusive: true }, () => {
      server.off('error', reject);
      // The lock must not keep the process alive.
      resolve(server.unref());
    });
  });
}

/** Whether a process listens on the socket file (refused or missing: nobody does; anything else: assume someone). */
function answered(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ path: p });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT'));
  });
}

/** Binds the socket file, taking it over from a dead holder; undefined when a live holder has it. */
async function bindSocketFile(p: string): Promise<net.Server | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await listen(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      // In use again after a takeover: another starter bound it in between.
      if (attempt > 0 || await answered(p)) return undefined;
      fs.rmSync(p, { force: true });
    }
  }
}

export class DataDirLock {
  private released = false;

  private constructor(
    readonly dataDir: string,
    private readonly holder: LockHolder,
    private readonly servers: net.Server[],
    /** What the lock could not do but did without (logged by the caller). */
    readonly warnings: string[],
  ) {}

  /**
   * Locks `dataDir` (created if missing) for a server about to listen on host:port (or a tool, without), or throws
   * DataDirInUse naming the holder. `abstract` is for tests of the socket-file lock alone, as on platforms without
   * abstract sockets.
   */
  static async acquire(dataDir: string, listening?: { host: string; port: number }, abstract = process.platform === 'linux'): Promise<DataDirLock> {
    fs.mkdirSync(dataDir, { recursive: true });
    const dir = fs.realpathSync(dataDir);
    const id = createHash('sha256').update(dir).digest('hex').slice(0, 32);
    const servers: net.Server[] = [];
    const warnings: string[] = [];
    const refuse = async (): Promise<never> => {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      throw new DataDirInUse(inUseMessage(dir));
    };
    if (abstract) {
      try {
        servers.push(await listen(`\0desk-data-dir-${id}`));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') return refuse();
        throw err;
      }
    }
    const inDir = path.join(dir, SOCKET_FILE);
    const socketFile = Buffer.byteLength(inDir) <= MAX_SOCKET_PATH ? inDir : path.join(os.tmpdir(), `desk-data-dir-${id}.sock`);
    try {
      const server = await bindSocketFile(socketFile);
      if (!server) return refuse();
      servers.push(server);
    } catch (err) {
      // Some file systems hold no sockets; on Linux the abstract socket still locks the dir on this machine.
      if (!abstract) throw new StartRefused(`cannot lock data dir ${dir}: cannot create ${socketFile} (${(err as Error).message})`);
      warnings.push(`cannot create ${socketFile} (${(err as Error).message}): a server in another network namespace (container) on this data dir would not be noticed`);
    }
    const holder: LockHolder = {
      pid: process.pid, hostname: os.hostname(), command: path.basename(process.argv[1] ?? process.argv0), startedAt: new Date().toISOString(),
      host: listening?.host, port: listening?.port,
    };
    const lock = new DataDirLock(dir, holder, servers, warnings);
    try {
      lock.record();
    } catch (err) {
      await lock.release();
      throw err;
    }
    return lock;
  }

  /** Records the port the server listens on (known only then when it asked for port 0). */
  listening(port: number): void {
    this.holder.port = port;
    this.record();
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    fs.rmSync(path.join(this.dataDir, INFO_FILE), { force: true });
    // Closing a socket file's server removes the file too.
    await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))));
  }

  private record(): void {
    const file = path.join(this.dataDir, INFO_FILE);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.holder) + '\n');
    fs.renameSync(tmp, file);
  }
}

function inUseMessage(dir: string): string {
  let h: LockHolder | undefined;
  try {
    h = JSON.parse(fs.readFileSync(path.join(dir, INFO_FILE), 'utf8')) as LockHolder;
  } catch {
    // Unreadable or not written yet: the refusal says less.
  }
  const doing = (x: LockHolder): string => (x.host === undefined ? x.command : x.port ? `port ${x.port} on ${x.host}` : 'not listening yet');
  const who = h ? `pid ${h.pid} on ${h.hostname} (${doing(h)}, started ${h.startedAt})` : `another process (${path.join(dir, INFO_FILE)} does not say which)`;
  return `data dir ${dir} is in use by ${who}; stop it first or choose another --data-dir`;
}
