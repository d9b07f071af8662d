/**
 * A server that stops lets go of everything: an idle keep-alive HTTP connection is closed (it would hold the port and
 * reach a stopped server), and the same process can listen on the same port again.
 */
import net from 'node:net';
import t from 'tap';
import { freePort } from '../helpers/ports';
import { startTestServer } from '../helpers/server';

/** Opens a connection, makes one keep-alive request, and resolves when its answer is read; `closed` when the server ends it. */
async function idleKeepAlive(port: number): Promise<{ closed: Promise<void> }> {
  const socket = net.connect(port, '127.0.0.1');
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
  const answered = new Promise<void>((resolve) => socket.on('data', (d) => { if (String(d).includes('ok')) resolve(); }));
  socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
  await answered;
  return { closed };
}

t.test('close() ends idle keep-alive connections and frees the port', async (t) => {
  const port = await freePort();
  const s = await startTestServer(undefined, { flags: ['--port', String(port)] });
  const idle = await idleKeepAlive(port);
  const dataDir = s.dataDir;
  await s.stop();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([idle.closed.then(() => 'closed'), new Promise((resolve) => { timer = setTimeout(() => resolve('still open'), 3000); })]);
  clearTimeout(timer);
  t.equal(outcome, 'closed', 'the idle connection was closed by the server');
  const again = await startTestServer(undefined, { dataDir, flags: ['--port', String(port)] });
  t.teardown(() => again.stop());
  t.equal(again.port, port, 'the same port, in the same process');
});
