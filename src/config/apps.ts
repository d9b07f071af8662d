/**
 * The apps this server serves: loaded from the store, overlaid with what the config file declares, and a
 * default app created on first start. Each model is frozen; a change replaces the whole object.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_CS_ACCOUNT, DEFAULT_GROUP_ID, defaultCsAccount, defaultSessionSettings, workTimeOf,
  type AppModel, type CsAccount, type Member, type SessionSettings,
} from '../../protocol/app-model';
import { isHttpUrl } from '../../protocol/app-schema';
import type { Store } from '../store/store';
import type { DeclaredApp, ServerConfig } from './config';
import { ConfigError } from './config';

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64')}$${scryptSync(password, salt, 32).toString('base64')}`;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

function mergeSession(base: SessionSettings, patch: Record<string, unknown> | undefined): SessionSettings {
  if (!patch) return base;
  const p = patch as Partial<SessionSettings>;
  return {
    ...base, ...p,
    satisfaction: { ...base.satisfaction, ...(p.satisfaction ?? {}) },
    prompts: { ...base.prompts, ...(p.prompts ?? {}) },
  };
}

/** Builds an app model from a declaration on top of what exists (the declaration wins for what it names). */
export function buildApp(decl: DeclaredApp, existing: AppModel | undefined, secretKey: string): AppModel {
  const app: AppModel = existing ? structuredClone(existing) : {
    sdkAppId: decl.sdkAppId, secretKey, adminIdentifier: 'administrator',
    members: {}, groups: { [DEFAULT_GROUP_ID]: { id: DEFAULT_GROUP_ID, name: 'Default' } },
    csAccounts: { [DEFAULT_CS_ACCOUNT]: defaultCsAccount(DEFAULT_CS_ACCOUNT, true) },
    session: defaultSessionSettings(),
  };
  app.secretKey = decl.secretKey ?? app.secretKey ?? secretKey;
  if (decl.adminIdentifier) app.adminIdentifier = decl.adminIdentifier;
  for (const g of decl.groups ?? []) app.groups[String(g.id)] = { id: g.id, name: g.name };
  for (const m of decl.members ?? []) {
    const prev = app.members[m.mail];
    // Fields only the REST API sets (limit switch, avatar, forced offline, creation time) survive a re-applied file.
    const member: Member = {
      ...prev,
      mail: m.mail, nickname: m.nickname,
      passwordHash: m.password ? hashPassword(m.password) : m.passwordHash ?? prev?.passwordHash ?? '',
      roles: m.roles ?? prev?.roles ?? ['staff'],
      groupIds: m.groupIds ?? prev?.groupIds ?? [DEFAULT_GROUP_ID],
      receptionLimit: m.receptionLimit ?? prev?.receptionLimit ?? 0,
      disabled: m.disabled ?? false,
    };
    app.members[m.mail] = member;
  }
  for (const raw of decl.csAccounts ?? []) {
    const a = raw as Partial<CsAccount> & { userId: string };
    const base = app.csAccounts[a.userId] ?? defaultCsAccount(a.userId, false);
    const workTime = a.workTime ? workTimeOf(a.workTime) : base.workTime;
    app.csAccounts[a.userId] = { ...base, ...a, prompts: { ...base.prompts, ...(a.prompts ?? {}) }, workTime };
  }
  app.session = mergeSession(app.session, decl.session);
  if (decl.callbacks) {
    const c = decl.callbacks;
    app.callbacks = { url: c.url, sessionEvents: c.sessionEvents ?? true, thirdPartyBot: c.thirdPartyBot ?? false, memberEvents: c.memberEvents ?? false, token: c.token };
  }
  validateReferences(app);
  return app;
}

function validateReferences(app: AppModel): void {
  for (const m of Object.values(app.members)) {
    for (const g of m.groupIds) if (!app.groups[String(g)]) throw new ConfigError(`app ${app.sdkAppId}: member ${m.mail} names unknown group ${g}`);
  }
  for (const a of Object.values(app.csAccounts)) {
    if (!app.groups[String(a.agentGroupId)]) throw new ConfigError(`app ${app.sdkAppId}: account ${a.userId} is bound to unknown group ${a.agentGroupId}`);
  }
  if (!Object.values(app.csAccounts).some((a) => a.isDefault)) throw new ConfigError(`app ${app.sdkAppId}: no default customer-service account`);
  for (const url of [app.callbacks?.url, ...Object.values(app.csAccounts).map((a) => a.assignedByWebhookURL)]) {
    if (url !== undefined && !isHttpUrl(url)) throw new ConfigError(`app ${app.sdkAppId}: '${url}' is not a usable http(s) URL`);
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: app.session.timeZone });
  } catch {
    throw new ConfigError(`app ${app.sdkAppId}: unknown time zone ${app.session.timeZone}`);
  }
}

/** Where the generated key of an app is kept. */
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

export class AppRegistry {
  private readonly apps = new Map<number, AppModel>();

  constructor(private readonly store: Store) {
    for (const a of store.apps()) this.apps.set(a.sdkAppId, deepFreeze(a));
  }

  get = (sdkAppId: number): AppModel | undefined => this.apps.get(sdkAppId);

  all(): AppModel[] {
    return [...this.apps.values()];
  }

  /** Replaces an app's model and stores it. */
  put(model: AppModel): void {
    const frozen = deepFreeze(structuredClone(model));
    this.apps.set(model.sdkAppId, frozen);
    this.store.putApp(frozen);
  }

  /** Applies the config file's apps and creates the default app when none exists. */
  bootstrap(cfg: ServerConfig): { created?: AppModel; keyFile?: string } {
    for (const decl of cfg.apps) {
      const existing = this.apps.get(decl.sdkAppId);
      this.put(buildApp(decl, existing, existing?.secretKey ?? decl.secretKey ?? generatedKey(cfg.dataDir, decl.sdkAppId).key));
    }
    if (this.apps.size > 0) return {};
    const { key, file } = cfg.defaultApp.secretKey ? { key: cfg.defaultApp.secretKey, file: undefined } : generatedKey(cfg.dataDir, cfg.defaultApp.sdkAppId);
    const created = buildApp({ sdkAppId: cfg.defaultApp.sdkAppId, adminIdentifier: cfg.defaultApp.adminIdentifier }, undefined, key);
    this.put(created);
    return { created, keyFile: file };
  }
}
