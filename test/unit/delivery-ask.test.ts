/**
 * A question to the app's backend (`ask`): every way it can go wrong is answered `ok: false` — a reply cut off or
 * stalled mid-body (once a crash of the process), a refused connection, a malformed or loosely-typed envelope — and a
 * good reply, with its tag, is answered `ok: true`. Each request of an ask carries its own idempotency key.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import t from 'tap';
import { INTERFACE_INVOCATION } from '../../protocol/rest/callbacks';
import type { AppRegistry } from '../../src/config/apps';
import { CallbackDelivery, type Outbox } from '../../src/callbacks/delivery';
import { realClock } from '../../src/runtime/clock';

type Answer = { ok: boolean; answer?: unknown; tag?: string };

async function backend(handle: (res: http.ServerResponse) => void): Promise<{ url: string; keys: string[]; close(): Promise<void> }> {
  const keys: string[] = [];
  const server = http.createServer((req, res) => {
    keys.push(String(req.headers['x-desk-idempotency-key']));
    req.resume();
    req.on('end', () => handle(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/call`, keys,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

const delivery = new CallbackDelivery({} as Outbox, { get: () => undefined } as unknown as AppRegistry, realClock, pino({ level: 'silent' }));
const ask = (url: string, tag: string, timeoutMs = 300): Promise<Answer> => new Promise((resolve) => {
  delivery.ask('session|1', { app: 1, url, command: INTERFACE_INVOCATION, reply: 'taskCallAnswer', sessionId: 's1', tag, timeoutMs, body: { CallbackCommand: INTERFACE_INVOCATION, Body: {}, EventTime: 1 } },
    (_to, msg) => resolve(msg as Answer));
});

t.test('a reply that stalls mid-body, or is cut off, is no answer (and no crash)', async (t) => {
  const stalls = await backend((res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.write('{"ActionStatus":"OK",'); });
  t.teardown(() => stalls.close());
  t.match(await ask(stalls.url, 'a'), { ok: false, tag: 'a' }, 'timed out while the body was arriving');
  const cut = await backend((res) => { res.writeHead(200, { 'content-length': '100' }); res.write('{"Action'); res.destroy(); });
  t.teardown(() => cut.close());
  t.match(await ask(cut.url, 'b'), { ok: false }, 'cut off');
  t.match(await ask('http://127.0.0.1:9/x', 'c'), { ok: false }, 'nobody listening');
});

t.test('only an OK envelope whose codes are the very values counts; Body keys may be long', async (t) => {
  let reply: unknown;
  const b = await backend((res) => res.end(JSON.stringify(reply)));
  t.teardown(() => b.close());
  for (const bad of [{ ActionStatus: ['OK'], ErrorCode: [] }, { ActionStatus: 'OK', ErrorCode: '' }, { ActionStatus: 'OK', ErrorCode: false }, { ActionStatus: 'FAIL', ErrorCode: 1 }]) {
    reply = bad;
    t.match(await ask(b.url, 'x'), { ok: false }, JSON.stringify(bad));
  }
  reply = { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', Body: { ['k'.repeat(100)]: 1, status: 'ok' } };
  t.match(await ask(b.url, 'y'), { ok: true, tag: 'y', answer: { Body: { status: 'ok' } } });
  t.not(b.keys.at(-1), b.keys.at(-2), 'each ask its own idempotency key');
});
