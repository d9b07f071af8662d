/** `npm start`: runs the server on embedded defaults (or what DESK_CONFIG / DESK_… / flags say). */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { keyFileOf } from './config/apps';
import { loadConfig } from './config/config';
import { startServer } from './server';
import { StartRefused } from './start-refused';

async function main(): Promise<void> {
  const cfg = loadConfig(process.argv.slice(2), process.env);
  const log = pino({ level: cfg.logLevel });
  const server = await startServer(cfg, { log });
  log.info({ port: server.port, dataDir: cfg.dataDir, fsync: cfg.fsync }, 'desk listening');
  const sigModule = path.resolve(__dirname, '../protocol/usersig.js');
  const lines = [
    `Desk is listening on ${cfg.host}:${server.port} (HTTP and WebSocket).`,
    `  WebSocket: ws://127.0.0.1:${server.port}/v4/ws?sdkappid=<id>&identifier=<UserID>&usersig=<UserSig>&role=user|agent`,
  ];
  if (server.created) lines.push(`  Created the default app ${server.created.sdkAppId}; admin identifier '${server.created.adminIdentifier}'.`);
  for (const app of server.apps.all()) {
    const keyFile = keyFileOf(cfg.dataDir, app.sdkAppId);
    const hasKeyFile = fs.existsSync(keyFile);
    const keyArg = hasKeyFile ? `"$(cat ${keyFile})"` : '<secret key>';
    lines.push(`  App ${app.sdkAppId}: admin identifier '${app.adminIdentifier}'; secret key ${hasKeyFile ? `in ${keyFile}` : 'as configured (DESK_SECRET_KEY or the config file)'}.`);
    lines.push(`    UserSig for <UserID>, valid 1 day: node -e "console.log(require(process.argv[1]).genUserSig(${app.sdkAppId}, process.argv[2], process.argv[3], 86400))" ${sigModule} ${keyArg} <UserID>`);
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
  if (err instanceof StartRefused) process.stderr.write(`desk: ${err.message}\n`);
  else process.stderr.write(`desk: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
