/**
 * The baselines. A bare uWS relay: two sockets joined by `?pair=N` are each other's peer; a frame from one is sent
 * to the other unchanged, inside the message handler. Desk is reported relative to this. For the REST scenario it
 * also answers any `POST /v4/...` with an OK envelope once the body is read.
 *
 * With `--durable <dir> [--store file|lmdb] [--fsync always|batch|none]` (file and always unless said), the durable
 * acked relay instead: each frame is decoded for its `random`, the frames of one event-loop turn are stored together
 * (`file`: appended to a file whose fdatasync is shared by the turns written meanwhile, as Desk's write-ahead file
 * is; `lmdb`: one put, as PERFORMANCE-NOTES probed; no sync with `none`), and once stored each frame goes to its peer
 * and a `message.ack` to its sender, corked per socket. It is what storage and acks cost with no product logic at
 * all: the floor a durable server stands on.
 */
import uws from '@trufflesuite/uws-js-unofficial';
import { open } from 'lmdb';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeRaw, encodeFrame, Encoding } from '../protocol/frames';

const { values: args } = parseArgs({ options: { durable: { type: 'string' }, fsync: { type: 'string' }, store: { type: 'string' } } });

type Relay = (ws: uws.WebSocket<Side>, msg: ArrayBuffer, isBinary: boolean) => void;

interface Side { pair: string; peer?: uws.WebSocket<Side>; closed?: boolean }
const waiting = new Map<string, uws.WebSocket<Side>>();

/** A frame waiting for its turn's commit (`side`: its sender's data, which outlives a closed socket). */
interface Held { from: uws.WebSocket<Side>; side: Side; bytes: Buffer; isBinary: boolean; random: unknown }

/** Stores one turn's frames; resolves once they are durable (as `--fsync` says). */
type Put = (bytes: Buffer) => Promise<unknown>;

/** One LMDB put per turn, as PERFORMANCE-NOTES probed (lmdb-js fsyncs each commit it makes). */
function lmdbPut(dir: string, fsync: string): Put {
  const db = open<Buffer, number>({ path: dir, noSync: fsync === 'none', encoding: 'binary' });
  let key = 0;
  return (bytes) => db.put(++key, bytes);
}

/** An append to a file per turn, then an fdatasync shared by every turn written while the last one ran (Desk's write-ahead file). */
function filePut(dir: string, fsync: string): Put {
  const fd = fs.openSync(path.join(dir, 'turns.log'), 'a');
  let unsynced: (() => void)[] = [];
  let syncing = false;
  const sync = (): void => {
    syncing = true;
    const done = unsynced;
    unsynced = [];
    fs.fdatasync(fd, (err) => {
      if (err) fail(err);
      for (const r of done) r();
      syncing = false;
      if (unsynced.length > 0) sync();
    });
  };
  return (bytes) => {
    fs.writeSync(fd, bytes);
    if (fsync === 'none') return Promise.resolve();
    return new Promise<void>((resolve) => {
      unsynced.push(resolve);
      if (!syncing) sync();
    });
  };
}

function fail(err: unknown): never {
  process.stderr.write(`durable relay: ${String(err)}\n`);
  process.exit(1);
}

function durableRelay(put: Put): Relay {
  let turn: Held[] = [];
  // Each socket's frames of a commit leave corked together, in one write.
  const out = new Map<uws.WebSocket<Side>, [frame: string | Buffer, isBinary: boolean][]>();
  const queue = (ws: uws.WebSocket<Side> | undefined, frame: string | Buffer, isBinary: boolean): void => {
    if (!ws) return;
    const list = out.get(ws);
    if (list) list.push([frame, isBinary]);
    else out.set(ws, [[frame, isBinary]]);
  };
  const release = (held: Held[]): void => {
    for (const h of held) {
      // A socket that closed is no peer any more (see close), and a closed sender is skipped: uWS throws on either.
      queue(h.side.peer, h.bytes, h.isBinary);
      queue(h.side.closed ? undefined : h.from, encodeFrame({ type: 'message.ack', data: { random: h.random } }, h.isBinary ? Encoding.Msgpack : Encoding.Json), h.isBinary);
    }
    for (const [ws, frames] of out) ws.cork(() => { for (const [f, b] of frames) ws.send(f, b); });
    out.clear();
  };
  const commit = (): void => {
    const held = turn;
    turn = [];
    put(Buffer.concat(held.map((h) => h.bytes))).then(() => release(held), fail);
  };
  return (ws, msg, isBinary) => {
    // uWS reuses the message's memory once the handler returns.
    const bytes = Buffer.from(msg.slice(0));
    const random = (decodeRaw(bytes, isBinary) as { data?: { random?: unknown } } | undefined)?.data?.random;
    if (turn.length === 0) setImmediate(commit);
    turn.push({ from: ws, side: ws.getUserData(), bytes, isBinary, random });
  };
}

const stores: Record<string, (dir: string, fsync: string) => Put> = { file: filePut, lmdb: lmdbPut };
const store = Object.hasOwn(stores, args.store ?? 'file') ? stores[args.store ?? 'file'] : fail('--store must be file or lmdb');
const durable = args.durable ? durableRelay(store(args.durable, args.fsync ?? 'always')) : undefined;

const app = uws.App().ws<Side>('/relay', {
  maxPayloadLength: 64 * 1024,
  idleTimeout: 120,
  upgrade: (res, req, ctx) => {
    res.upgrade({ pair: req.getQuery('pair') ?? '' }, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), ctx);
  },
  open: (ws) => {
    const me = ws.getUserData();
    const other = waiting.get(me.pair);
    if (other) {
      waiting.delete(me.pair);
      me.peer = other;
      other.getUserData().peer = ws;
    } else waiting.set(me.pair, ws);
  },
  message: (ws, msg, isBinary) => {
    if (durable) durable(ws, msg, isBinary);
    else ws.getUserData().peer?.send(msg, isBinary);
  },
  close: (ws) => {
    const me = ws.getUserData();
    me.closed = true;
    if (waiting.get(me.pair) === ws) waiting.delete(me.pair);
    const peer = me.peer;
    if (peer) peer.getUserData().peer = undefined;
  },
});

const okEnvelope = JSON.stringify({ ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
app.post('/v4/*', (res) => {
  let aborted = false;
  res.onAborted(() => { aborted = true; });
  res.onData((_chunk, isLast) => {
    if (isLast && !aborted) res.cork(() => res.writeHeader('content-type', 'application/json').end(okEnvelope));
  });
});

app.listen('127.0.0.1', 0, (s) => {
  if (!s) process.exit(1);
  process.stdout.write(JSON.stringify({ msg: 'baseline relay listening', port: uws.us_socket_local_port(s) }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
