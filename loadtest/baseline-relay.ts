/**
 * The baseline: a bare uWS relay. Two sockets joined by `?pair=N` are each other's peer; a frame from one is sent
 * to the other unchanged, inside the message handler. Desk is reported relative to this. For the REST scenario it
 * also answers any `POST /v4/...` with an OK envelope once the body is read.
 */
import uws from '@trufflesuite/uws-js-unofficial';

interface Side { pair: string; peer?: uws.WebSocket<Side> }
const waiting = new Map<string, uws.WebSocket<Side>>();

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
    ws.getUserData().peer?.send(msg, isBinary);
  },
  close: (ws) => {
    const me = ws.getUserData();
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
