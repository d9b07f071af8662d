/**
 * The apps this server serves: loaded from the store, overlaid with what the config file declares, and a
 * default app created on first start. Each model is frozen; a change replaces the whole object.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import {
  accountOf, DEFAULT_CS_ACCOUNT, defaultEmbeddingSettings, defaultLlmSettings, DEFAULT_GROUP_ID, defaultCsAccount, defaultSessionSettings, memberOf, workTimeOf,
  type AppModel, type CsAccount, type Member, type SessionSettings,
} from '../../protocol/app-model';
import { isHttpUrl } from '../../protocol/app-schema';
import type { Store } from '../store/store';
import type { DeclaredApp, ServerConfig } from './config';
import { ConfigError, shown } from './config';
import { generatedKey, syncKeyFile } from './keys';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64')}$${scryptSync(password, salt, 32).toString('base64')}`;
}

/** The salt and digest of a hash of hashPassword's, if it is one. */
function scryptParts(hash: string | undefined): { salt: Buffer; expected: Buffer } | undefined {
  const [kind, salt, digest] = (hash ?? '').split('$');
  if (kind !== 'scrypt' || !salt || !digest) return undefined;
  return { salt: Buffer.from(salt, 'base64'), expected: Buffer.from(digest, 'base64') };
}

const sameDigest = (expected: Buffer, actual: Buffer): boolean => expected.length === actual.length && timingSafeEqual(expected, actual);

/** hashPassword off the event loop. */
export async function hashPasswordAsync(password: string): Promise<string> {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64')}$${(await scryptAsync(password, salt, 32)).toString('base64')}`;
}

/** True when `hash` (hashPassword's) is of `password`. */
export function passwordMatches(password: string, hash: string | undefined): boolean {
  const parts = scryptParts(hash);
  return !!parts && sameDigest(parts.expected, scryptSync(password, parts.salt, parts.expected.length || 32));
}

/** passwordMatches off the event loop: scrypt takes tens of milliseconds, which a login must not stall the server for. */
export async function passwordMatchesAsync(password: string, hash: string | undefined): Promise<boolean> {
  const parts = scryptParts(hash);
  return !!parts && sameDigest(parts.expected, await scryptAsync(password, parts.salt, parts.expected.length || 32));
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
      // A password the stored hash already matches keeps that hash: a file applied again changes nothing.
      passwordHash: m.password ? (passwordMatches(m.password, prev?.passwordHash) ? prev!.passwordHash : hashPassword(m.password)) : m.passwordHash ?? prev?.passwordHash ?? '',
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
  if (decl.web) app.web = { demoUserSig: decl.web.demoUserSig };
  if (decl.llm) app.llm = { ...defaultLlmSettings, ...decl.llm };
  if (decl.embeddings) app.embeddings = { ...defaultEmbeddingSettings, ...decl.embeddings };
  validateReferences(app);
  return app;
}

/** The app with its session settings changed by `patch` (as a config file's `session` would), or a ConfigError. */
export function withSessionSettings(app: AppModel, patch: Record<string, unknown>): AppModel {
  return checkedApp({ ...app, session: mergeSession(app.session, patch) });
}

/** `app` when its references hold (groups, accounts, identifiers, URLs, time zone), else a ConfigError. */
export function checkedApp(app: AppModel): AppModel {
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
  const defaults = Object.values(app.csAccounts).filter((a) => a.isDefault);
  if (defaults.length === 0) throw new ConfigError(`app ${app.sdkAppId}: no default customer-service account`);
  if (defaults.length > 1) throw new ConfigError(`app ${app.sdkAppId}: csAccounts: more than one default account (isDefault): ${defaults.map((a) => shown(a.userId)).join(', ')}`);
  // One UserID, one role: a member's sig must not be the admin's, nor let an agent speak as an account.
  const admin = app.adminIdentifier;
  if (memberOf(app, admin)) throw new ConfigError(`app ${app.sdkAppId}: adminIdentifier ${shown(admin)} is also a member's mail; that agent's UserSig would be an admin sig`);
  if (accountOf(app, admin)) throw new ConfigError(`app ${app.sdkAppId}: adminIdentifier ${shown(admin)} is also a customer-service account`);
  for (const a of Object.values(app.csAccounts)) {
    if (memberOf(app, a.userId)) throw new ConfigError(`app ${app.sdkAppId}: csAccounts.userId ${shown(a.userId)} is also a member's mail`);
  }
  if (app.embeddings && app.embeddings.scoreFrom >= app.embeddings.scoreTo) throw new ConfigError(`app ${app.sdkAppId}: embeddings.scoreFrom must be below scoreTo`);
  for (const url of [app.callbacks?.url, app.llm?.baseUrl, app.embeddings?.baseUrl, ...Object.values(app.csAccounts).map((a) => a.assignedByWebhookURL)]) {
    if (url !== undefined && !isHttpUrl(url)) throw new ConfigError(`app ${app.sdkAppId}: '${url}' is not a usable http(s) URL`);
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: app.session.timeZone });
  } catch {
    throw new ConfigError(`app ${app.sdkAppId}: unknown time zone ${app.session.timeZone}`);
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

  /**
   * Applies the config file's apps and creates the default app when none exists; key files that held another key
   * than the one in force now hold it (`rewrittenKeyFiles`).
   */
  bootstrap(cfg: ServerConfig): { created?: AppModel; keyFile?: string; rewrittenKeyFiles: string[] } {
    for (const decl of cfg.apps) {
      const existing = this.apps.get(decl.sdkAppId);
      this.put(buildApp(decl, existing, existing?.secretKey ?? decl.secretKey ?? generatedKey(cfg.dataDir, decl.sdkAppId).key));
    }
    let created: AppModel | undefined;
    let keyFile: string | undefined;
    if (this.apps.size === 0) {
      const { key, file } = cfg.defaultApp.secretKey ? { key: cfg.defaultApp.secretKey, file: undefined } : generatedKey(cfg.dataDir, cfg.defaultApp.sdkAppId);
      created = buildApp({ sdkAppId: cfg.defaultApp.sdkAppId, adminIdentifier: cfg.defaultApp.adminIdentifier }, undefined, key);
      keyFile = file;
      this.put(created);
    }
    const rewrittenKeyFiles = this.all().map((a) => syncKeyFile(cfg.dataDir, a)).filter((f): f is string => f !== undefined);
    return { created, keyFile, rewrittenKeyFiles };
  }
}
