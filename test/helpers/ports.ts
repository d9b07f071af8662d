/** Loopback ports for tests that must name one before starting what listens on it. */
import net from 'node:net';

/** A free TCP port on loopback (free when asked: bound and released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
