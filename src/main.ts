/** `npm start`: runs the server on embedded defaults (or what DESK_CONFIG / DESK_… / flags say). */
import pino from 'pino';
import { ConfigError, loadConfig } from './config/config';
import { startServer } from './server';

async function main(): Promise<void> {
  const cfg = loadConfig(process.argv.slice(2), process.env);
  const log = pino({ level: cfg.logLevel });
  const server = await startServer(cfg, { log });
  log.info({ port: server.port, dataDir: cfg.dataDir, fsync: cfg.fsync }, 'desk listening');
  const app = server.apps.all()[0];
  const created = server.created;
  const lines = [
    `Desk is listening on ${cfg.host}:${server.port} (HTTP and WebSocket).`,
    `  WebSocket: ws://127.0.0.1:${server.port}/v4/ws?sdkappid=<id>&identifier=<UserID>&usersig=<UserSig>&role=user|agent`,
    `  Apps: ${server.apps.all().map((a) => `${a.sdkAppId} (admin ${a.adminIdentifier})`).join(', ')}`,
  ];
  if (created) {
    lines.push(`  Created the default app ${created.sdkAppId}; admin identifier '${created.adminIdentifier}'.`);
    lines.push(created.keyFile ? `  Its secret key is in ${created.keyFile}.` : '  Its secret key is DESK_SECRET_KEY.');
  }
  if (app) {
    lines.push('  Make a UserSig (valid 1 day) with:');
    lines.push(`    node -e "console.log(require('./dist/protocol/usersig').genUserSig(${app.sdkAppId}, process.argv[1], process.argv[2], 86400))" "$(cat ${created?.keyFile ?? '<key file>'})" <UserID>`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    server.close().then(() => process.exit(0), (err) => { log.error({ err }, 'shutdown failed'); process.exit(1); });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  if (err instanceof ConfigError) process.stderr.write(`desk: ${err.message}\n`);
  else process.stderr.write(`desk: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
