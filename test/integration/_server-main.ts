/**
 * A server process for tests that need options main.js has no flag for (gateway limits).
 * Usage: node _server-main.js '{"dataDir":…,"configFile":…,"limits":{…},"logLevel":"warn"}'
 * Logs go to stderr; one JSON line {"msg":"desk listening","port":…} goes to stdout.
 */
import pino from 'pino';
import { loadConfig } from '../../src/config/config';
import { startServer } from '../../src/server';

async function run(): Promise<void> {
  const o = JSON.parse(process.argv[2] ?? '{}') as { dataDir: string; configFile: string; limits?: Record<string, number>; logLevel?: string };
  const cfg = loadConfig(['--port', '0', '--host', '127.0.0.1', '--data-dir', o.dataDir, '--config', o.configFile], {});
  const log = pino({ level: o.logLevel ?? 'warn' }, pino.destination(2));
  const server = await startServer(cfg, { log, limits: o.limits });
  process.stdout.write(JSON.stringify({ msg: 'desk listening', port: server.port }) + '\n');
  process.once('SIGTERM', () => {
    server.close().then(() => process.exit(0), () => process.exit(1));
  });
}

if (process.argv[2] === undefined) {
  // Run without options (say, by `tap <dir>`): not a test, so say so in TAP and leave.
  process.stdout.write('1..0 # SKIP server process used by fuzz.test, not a test\n');
} else run().catch((err) => {
  process.stderr.write(`server-main: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
