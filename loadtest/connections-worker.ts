/**
 * Opens idle user sessions for the connections scenario in its own process (each process may hold at most 20,000
 * open files). Prints `{"open":N}` lines as it goes and `{"done":N,"failed":F}` at the end; holds the sockets
 * until it is told to stop.
 */
import { Encoding } from '../protocol/frames';
import { LoadSocket, src } from './client';
import { CS } from './proc';

const args = JSON.parse(process.argv[2]) as { port: number; sdkAppId: number; key: string; count: number; first: number; sources: number };
const target = { kind: 'desk' as const, port: args.port, sdkAppId: args.sdkAppId, key: args.key, encoding: Encoding.Json };
const sockets: LoadSocket[] = [];
let failed = 0;

async function openOne(i: number): Promise<void> {
  try {
    const s = await LoadSocket.desk(target, `idle-${i}`, 'user', `127.0.0.${2 + (i % args.sources)}`);
    const welcomed = s.waitFor((f) => f.type === 'message', 30_000);
    s.send('message.send', { to: CS, random: 1, body: src('7') });
    await welcomed;
    sockets.push(s);
  } catch {
    failed++;
  }
}

async function main(): Promise<void> {
  const batch = 200;
  for (let k = 0; k < args.count; k += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, args.count - k) }, (_, j) => openOne(args.first + k + j)));
    process.stdout.write(JSON.stringify({ open: sockets.length, failed }) + '\n');
    if (failed > 50) break;
  }
  process.stdout.write(JSON.stringify({ done: sockets.length, failed }) + '\n');
}

process.on('SIGTERM', () => {
  for (const s of sockets) s.close();
  process.exit(0);
});
void main();
