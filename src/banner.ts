/** What `npm start` prints once listening: where to connect, each app's key in force and where it comes from. */
import path from 'node:path';
import type { AppModel } from '../protocol/app-model';
import type { ServerConfig } from './config/config';
import { keySourceOf, publishedKeyWarning, type KeySource } from './config/keys';

/** Says where the key comes from, and the shell word that yields it for the UserSig command. */
function keyText(source: KeySource): { from: string; arg: string } {
  const keyFile = source.from === 'store' ? undefined : source.keyFile;
  const also = keyFile ? `, also in ${keyFile}` : '';
  const arg = keyFile ? `"$(cat ${keyFile})"` : source.from === 'environment' ? '"$DESK_SECRET_KEY"' : '<secret key>';
  switch (source.from) {
    case 'configFile': return { from: `from the config file ${source.file} (apps[${source.index}].secretKey)${also}`, arg };
    case 'environment': return { from: `from DESK_SECRET_KEY${also}`, arg };
    case 'keyFile': return { from: `in ${source.keyFile}`, arg };
    case 'store': return { from: 'stored in the data dir (set by an earlier config file or DESK_SECRET_KEY)', arg };
  }
}

export function startBanner(cfg: Readonly<ServerConfig>, server: { port: number; apps: AppModel[]; created?: { sdkAppId: number; adminIdentifier: string } }): string[] {
  const sigModule = path.resolve(__dirname, '../protocol/usersig.js');
  const lines = [
    `Desk is listening on ${cfg.host}:${server.port} (HTTP and WebSocket).`,
    `  WebSocket: ws://127.0.0.1:${server.port}/v4/ws?sdkappid=<id>&identifier=<UserID>&usersig=<UserSig>&role=user|agent`,
    `  Pages: http://127.0.0.1:${server.port}/desk/ (agents), /chat/?sdkappid=<id> (users), /console/ (administrators)`,
  ];
  if (server.created) lines.push(`  Created the default app ${server.created.sdkAppId}; admin identifier '${server.created.adminIdentifier}'.`);
  for (const app of server.apps) {
    const key = keyText(keySourceOf(cfg, app));
    lines.push(`  App ${app.sdkAppId}: admin identifier '${app.adminIdentifier}'; secret key ${key.from}.`);
    lines.push(`    UserSig for <UserID>, valid 1 day: node -e "console.log(require(process.argv[1]).genUserSig(${app.sdkAppId}, process.argv[2], process.argv[3], 86400))" ${sigModule} ${key.arg} <UserID>`);
  }
  for (const app of server.apps) {
    const warning = publishedKeyWarning(app, cfg.host, server.port);
    if (warning) lines.push(`  ${warning.loud ? '!! WARNING' : 'Warning'}: ${warning.text}`);
    if (app.web?.demoUserSig) lines.push(`  Warning: ${demoSignInWarning(app.sdkAppId)}`);
  }
  return lines;
}

/** What an app with demo sign-in on allows (said at every start: a config without `web` keeps it on). */
export function demoSignInWarning(sdkAppId: number): string {
  return `app ${sdkAppId} lets anyone get a UserSig for any user id from /web/v1/demo_usersig (web.demoUserSig), and so read that user's conversations: for demos only. Declare "web": { "demoUserSig": false } to turn it off.`;
}
