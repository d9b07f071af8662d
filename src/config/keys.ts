/**
 * Apps' secret keys outside the app model: the key file the operator reads a key from, where the key in force comes
 * from, and keys that are public because the repository publishes them.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AppModel } from '../../protocol/app-model';
import type { ServerConfig } from './config';

/** Secret keys published in this repository (config/desk.example.json, the README): anyone can sign with them. */
export const PUBLISHED_KEYS: ReadonlySet<string> = new Set(['replace-me-with-a-long-random-secret-key-0123456789abcdef']);

/** Where the key of an app is kept for the operator. */
export const keyFileOf = (dataDir: string, sdkAppId: number): string => path.resolve(dataDir, `secret-key-${sdkAppId}`);

/** A key generated once for an app that was given none, kept in the data dir so the operator can read it. */
export function generatedKey(dataDir: string, sdkAppId: number): { key: string; file: string } {
  const file = keyFileOf(dataDir, sdkAppId);
  try {
    return { key: fs.readFileSync(file, 'utf8').trim(), file };
  } catch {
    const key = randomBytes(32).toString('hex');
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, key + '\n', { mode: 0o600 });
    return { key, file };
  }
}

/**
 * Makes an app's key file, where there is one, hold the key in force (a key declared later in the config file
 * replaces the generated one), so whatever reads the file signs with the right key. Returns the file if rewritten.
 */
export function syncKeyFile(dataDir: string, app: AppModel): string | undefined {
  const file = keyFileOf(dataDir, app.sdkAppId);
  let held: string;
  try {
    held = fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  if (held === app.secretKey) return undefined;
  fs.writeFileSync(file, app.secretKey + '\n', { mode: 0o600 });
  return file;
}

/** Where the key in force of an app comes from; `keyFile` is set when the key file holds it too. */
export type KeySource = { from: 'configFile'; file: string; index: number; keyFile?: string }
  | { from: 'environment'; keyFile?: string }
  | { from: 'keyFile'; keyFile: string }
  | { from: 'store' };

export function keySourceOf(cfg: Readonly<ServerConfig>, app: AppModel): KeySource {
  const file = keyFileOf(cfg.dataDir, app.sdkAppId);
  const keyFile = fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim() === app.secretKey ? file : undefined;
  const index = cfg.apps.findIndex((a) => a.sdkAppId === app.sdkAppId && a.secretKey !== undefined);
  if (index >= 0 && cfg.configFile) return { from: 'configFile', file: path.resolve(cfg.configFile), index, keyFile };
  if (app.sdkAppId === cfg.defaultApp.sdkAppId && cfg.defaultApp.secretKey === app.secretKey) return { from: 'environment', keyFile };
  return keyFile ? { from: 'keyFile', keyFile } : { from: 'store' };
}

/** A host only this machine can reach. */
export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host);

/** The warning an app's published key deserves, louder when the server is reachable from other machines. */
export function publishedKeyWarning(app: AppModel, host: string, port: number): { loud: boolean; text: string } | undefined {
  if (!PUBLISHED_KEYS.has(app.secretKey)) return undefined;
  const published = `app ${app.sdkAppId} uses the secret key published in config/desk.example.json`;
  if (isLoopback(host)) return { loud: false, text: `${published}: anyone can sign its UserSigs, the admin's included. Set your own secretKey.` };
  return {
    loud: true,
    text: `${published}, and this server listens on ${host}:${port}: anyone who can reach it can sign UserSigs for any UserID, the admin's included, and use the whole REST API. Set your own secretKey now.`,
  };
}
