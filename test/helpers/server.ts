/** Starts a real server in this process on a loopback port, with its data in a temp dir. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig, type DeclaredApp } from '../../src/config/config';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server';
import { TestClient } from './client';

export const APP = 1400000001;
export const KEY = 'test-secret-key-0123456789abcdef';
export const CS = '@customer_service_account';

export interface TestServer extends RunningServer {
  dataDir: string;
  user(id: string): Promise<TestClient>;
  agent(mail: string): Promise<TestClient>;
  stop(): Promise<void>;
}

/** An app with a default group (1) and the given members in it. */
export function testApp(members: string[] = ['alice@desk.test', 'bob@desk.test'], session: Record<string, unknown> = {}, extra: Partial<DeclaredApp> = {}): DeclaredApp {
  return {
    sdkAppId: APP, secretKey: KEY, adminIdentifier: 'administrator',
    groups: [{ id: 1, name: 'Default' }, { id: 2, name: 'VIP' }],
    members: members.map((mail) => ({ mail, nickname: mail.split('@')[0], groupIds: [1] })),
    session,
    ...extra,
  };
}

/** `flags`: more command-line flags (e.g. `--statistics off`). */
export async function startTestServer(app: DeclaredApp = testApp(), opts: ServerOptions & { dataDir?: string; flags?: string[] } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'desk-test-'));
  const file = path.join(dataDir, 'config.json');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ apps: [app] }));
  const cfg = loadConfig(['--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--config', file, ...(opts.flags ?? [])], {});
  const server = await startServer(cfg, { log: pino({ level: process.env.DESK_TEST_LOG ?? 'silent' }), ...opts });
  const clients: TestClient[] = [];
  const connect = async (identity: string, role: 'user' | 'agent') => {
    const c = await TestClient.connect({ port: server.port, sdkAppId: app.sdkAppId, key: app.secretKey!, identity, role });
    clients.push(c);
    return c;
  };
  return {
    ...server,
    dataDir,
    user: (id) => connect(id, 'user'),
    agent: (mail) => connect(mail, 'agent'),
    async stop() {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    },
  };
}
