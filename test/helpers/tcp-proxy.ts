/**
 * A loopback TCP relay in front of a server, so that a browser keeps one address while the server behind it
 * restarts on another port, and so that a test can cut every connection at once (a network drop).
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Sends new connections to another port. */
  retarget(port: number): void;
  /** Cuts every open connection (both sides see a reset). */
  drop(): void;
  /** Refuses new connections (reset at once) until `resume`: the network is down. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  let target = targetPort;
  let paused = false;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (paused) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const drop = (): void => { for (const s of open) s.resetAndDestroy(); };
  return {
    port: (server.address() as net.AddressInfo).port,
    retarget: (port) => { target = port; },
    drop,
    pause: () => { paused = true; },
    resume: () => { paused = false; },
    close: () => new Promise<void>((resolve) => { drop(); server.close(() => resolve()); }),
  };
}
