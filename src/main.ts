/** `npm start`: runs the server on embedded defaults (or what DESK_CONFIG / DESK_… / flags say). */
import pino from 'pino';
import { startBanner } from './banner';
import { loadConfig } from './config/config';
import { startServer } from './server';
import { StartRefused } from './start-refused';

async function main(): Promise<void> {
  const cfg = loadConfig(process.argv.slice(2), process.env);
  const log = pino({ level: cfg.logLevel });
  const server = await startServer(cfg, { log });
  log.info({ port: server.port, dataDir: cfg.dataDir, fsync: cfg.fsync }, 'desk listening');
  process.stdout.write(startBanner(cfg, { port: server.port, apps: server.apps.all(), created: server.created }).join('\n') + '\n');
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    server.close().then(() => process.exit(0), (err) => { log.error({ err }, 'shutdown failed'); process.exit(1); });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  if (err instanceof StartRefused) process.stderr.write(`desk: ${err.message}\n`);
  else process.stderr.write(`desk: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
