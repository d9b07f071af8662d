/**
 * uWebSockets.js from `@trufflesuite/uws-js-unofficial`. On a Node version without a bundled binary the package
 * silently falls back to a slow pure-JS server; Desk refuses to run on it. Desk listens on its port alone.
 */
import uws, { type TemplatedApp, type us_listen_socket } from '@trufflesuite/uws-js-unofficial';
import net from 'node:net';
import { StartRefused } from './start-refused';

/**
 * uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT: without it the port is bound with SO_REUSEPORT, and a second server on it
 * starts silently and takes half of the connections.
 */
const EXCLUSIVE_PORT = 1;
type ListenWithOptions = (host: string, port: number, options: number, cb: (s: us_listen_socket | false) => void) => void;

export function nativeUws(): typeof uws {
  if (typeof (uws as unknown as { getParts?: unknown }).getParts !== 'function') {
    throw new Error(
      `the native uWebSockets.js binary did not load (Node ${process.versions.node}, ABI ${process.versions.modules}); `
      + 'the package fell back to its pure-JS build, which Desk does not run on. Use Node.js 20 on linux/darwin x64 or arm64, '
      + 'and do not set UWS_USE_FALLBACK.',
    );
  }
  return uws;
}

/** Listens on host:port unless another socket is bound there; the refusal says why. */
export async function listenExclusive(app: TemplatedApp, host: string, port: number): Promise<us_listen_socket> {
  // The typings lack the (host, port, options, cb) form the binding accepts.
  const socket = await new Promise<us_listen_socket | false>((resolve) => (app.listen as unknown as ListenWithOptions).call(app, host, port, EXCLUSIVE_PORT, resolve));
  if (socket) return socket;
  throw new StartRefused(await whyNotListening(host, port));
}

/** uWS gives no reason for a failed listen: a plain bind of the same address tells it. */
function whyNotListening(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'
      ? `port ${port} on ${host} is already in use; stop what listens there or choose another --port`
      : `cannot listen on ${host}:${port}: ${err.message}`));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(`cannot listen on ${host}:${port}`)));
  });
}
