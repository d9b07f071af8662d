/**
 * The stateless HTTP facade: `POST /v4/<service>/<command>?sdkappid&identifier&usersig&random&contenttype=json`.
 * Each request is authenticated (the app's admin identifier, a valid UserSig), validated against the endpoint's
 * schema, turned into one actor command or one read, and answered with the v4 envelope, always with HTTP 200.
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import Validator from 'fastest-validator';
import type { Logger } from 'pino';
import type { Address, ReplyTo } from '../../actors/types';
import { memberOf, type AppModel } from '../../protocol/app-model';
import { defaultInfo, ErrorCode } from '../../protocol/errors';
import { plainDataProblem } from '../../protocol/plain-data';
import { fail, FacadeCode, ok, Service, type Envelope } from '../../protocol/rest/envelope';
import { knownFields, requestShape, type FieldShape } from '../../protocol/rest/request-fields';
import type { SigVerifier } from '../auth/sigs';
import type { KnowledgeBase } from '../knowledge/knowledge-base';
import type { StatsProjection } from '../stats/projection';
import type { AppRegistry } from '../config/apps';
import type { Clock } from '../runtime/clock';
import type { Reply, Runtime } from '../runtime/runtime';
import type { Store } from '../store/store';
import { jsonObject, MAX_REQUEST_BYTES, receiveJson } from './body';
import { RateBuckets } from './rate';

/** How long a request waits for its actor before answering "internal error, retry". */
const CALL_TIMEOUT_MS = 5000;

export class RestError extends Error {
  constructor(readonly code: number, info: string) {
    super(info);
  }
}

export interface RestContext {
  service: Service;
  app: AppModel;
  body: Record<string, unknown>;
  now: number;
  deps: FacadeDeps;
  /** Sends one command carrying a reply address to an actor and waits for its answer. */
  call(to: Address, build: (replyTo: ReplyTo) => unknown): Promise<Reply>;
  /** Replaces the app's model; resolves once it is stored (new decisions use it at once). */
  saveApp(model: AppModel): Promise<void>;
}

export interface Endpoint {
  service: Service;
  command: string;
  /** The request schema (fastest-validator); it also names the fields taken from a body (see request-fields.ts). */
  schema: Record<string, unknown>;
  handle(ctx: RestContext): Promise<Envelope> | Envelope;
  /** Calls per second per app the endpoint takes (where the spec gives a number). */
  ratePerSec?: number;
  /** How long its actor call may take (default 5 s). */
  callTimeoutMs?: number;
}

export interface FacadeDeps {
  runtime: Runtime;
  store: Store;
  apps: AppRegistry;
  clock: Clock;
  log: Logger;
  sigs: SigVerifier;
  knowledge: KnowledgeBase;
  /** Absent when the server runs without statistics. */
  stats?: StatsProjection;
  /** Closes the sockets of a user or member (a member forced offline). */
  closeSockets?(role: 'user' | 'agent', app: number, id: string, code: number, reason: string): void;
  /** In a cluster: app changes are written to the models the nodes share (src/cluster/cluster-apps.ts). */
  sharedApps?: { revisionOf(sdkAppId: number): number; save(model: AppModel, basedOn: number): Promise<boolean> };
  /** In a cluster: a knowledge change readies category ids first, and shares its rows once committed. */
  sharedKnowledge?: { ready(sdkAppId: number): Promise<void>; share(): Promise<void>; robotAdded(sdkAppId: number, robotId: string): Promise<void>; readonly maxRowBytes: number };
  /** Asks the app's backend and waits for its checked answer (a task flow's dry run calls its API nodes). */
  askBackend?(a: { app: number; url: string; command: string; body: Record<string, unknown>; tag: string; timeoutMs: number }): Promise<{ ok: boolean; answer?: unknown }>;
}

/** An endpoint of `service`; `options` adds its documented rate or a longer actor-call timeout. */
export function endpoint(service: Service, command: string, schema: Record<string, unknown>, handle: Endpoint['handle'], options: Pick<Endpoint, 'ratePerSec' | 'callTimeoutMs'> = {}): Endpoint {
  return { service, command, schema, handle, ...options };
}

/** An endpoint of `desk_http_svc`. */
export const desk = (command: string, schema: Record<string, unknown>, handle: Endpoint['handle'], options: Pick<Endpoint, 'callTimeoutMs'> = {}): Endpoint =>
  endpoint(Service.Desk, command, schema, handle, options);

/** The generic "illegal request parameter" refusal. */
export const bad = (info: string): RestError => new RestError(ErrorCode.BadParameter, info);

interface Compiled { endpoint: Endpoint; shape: FieldShape; check: (v: unknown) => true | { message?: string }[] | Promise<unknown> }

const v = new Validator({ haltOnFirstError: true });

export class HttpFacade {
  private readonly endpoints = new Map<string, Compiled>();
  /** Per app and endpoint, for endpoints with a documented rate. */
  private readonly buckets: RateBuckets;

  constructor(private readonly deps: FacadeDeps) {
    this.buckets = new RateBuckets(deps.clock);
  }

  register(...endpoints: Endpoint[]): void {
    for (const e of endpoints) {
      this.endpoints.set(`${e.service}/${e.command}`, { endpoint: e, shape: requestShape(e.schema), check: v.compile(e.schema) });
    }
  }

  mount(app: TemplatedApp): void {
    app.post('/v4/*', (res, req) => this.receive(res, req));
  }

  private receive(res: HttpResponse, req: HttpRequest): void {
    const url = req.getUrl();
    const query = req.getQuery() ?? '';
    receiveJson(res, this.deps.log, url, (raw) => this.answer(url, query, raw));
  }

  /** Authenticates, validates and runs one request; every outcome is an envelope. */
  async answer(url: string, query: string, raw: Buffer | undefined): Promise<Envelope> {
    const [, v4, service, command, ...rest] = url.split('/');
    const found = v4 === 'v4' && rest.length === 0 ? this.endpoints.get(`${service}/${command}`) : undefined;
    if (!found) return fail(FacadeCode.UnknownCommand, `unknown API '${url}'`);
    const svc = found.endpoint.service;
    const q = new URLSearchParams(query);
    const admin = this.admin(q, svc);
    if ('ActionStatus' in admin) return admin;
    const { app } = admin;
    const rate = found.endpoint.ratePerSec;
    if (rate !== undefined && !this.buckets.take(`${app.sdkAppId}|${url}`, rate)) return fail(FacadeCode.RateLimited[svc], `at most ${rate} calls per second`);
    const random = q.get('random');
    if (random !== null && !(/^\d{1,10}$/.test(random) && Number(random) <= 4294967295)) return fail(FacadeCode.BadParameter[svc], 'random must be a 32-bit unsigned integer');
    const contentType = q.get('contenttype');
    if (contentType !== null && contentType.toLowerCase() !== 'json') return fail(FacadeCode.BadParameter[svc], 'contenttype must be json');
    if (!raw) return fail(svc === Service.Desk ? ErrorCode.BodyTooLong : FacadeCode.BadParameter[svc], `request body over ${MAX_REQUEST_BYTES} bytes`);
    const parsed = jsonObject(raw);
    if (typeof parsed === 'string') return fail(FacadeCode.JsonParse[svc], parsed);
    const shape = plainDataProblem(parsed, 'request body');
    if (shape) return fail(FacadeCode.BadParameter[svc], shape);
    const known = knownFields(parsed, found.shape);
    if (typeof known === 'string') return fail(FacadeCode.BadParameter[svc], known);
    // Fields newer than this server (or misspelt) are ignored; the log says which.
    if (known.ignored.length > 0) this.deps.log.debug({ endpoint: `${service}/${command}`, fields: known.ignored.slice(0, 20) }, 'unknown request fields ignored');
    const body = known.body;
    let checked: ReturnType<Compiled['check']>;
    try {
      checked = found.check(body);
    } catch {
      return fail(FacadeCode.BadParameter[svc], 'request body could not be validated');
    }
    if (checked !== true) return fail(FacadeCode.BadParameter[svc], (checked as { message?: string }[])[0]?.message ?? 'illegal request parameter');
    // The model this request reads is the one a change it makes is based on.
    const basedOn = this.deps.sharedApps?.revisionOf(app.sdkAppId);
    try {
      return await found.endpoint.handle({
        service: svc, app, body, now: this.deps.clock.now(), deps: this.deps,
        call: (to, build) => this.call(to, build, found.endpoint.callTimeoutMs ?? CALL_TIMEOUT_MS),
        saveApp: async (model) => {
          if (!(await saveAppModel(this.deps, model, basedOn))) throw new RestError(FacadeCode.Internal[svc], 'the app was changed on another node meanwhile; retry');
        },
      });
    } catch (err) {
      if (err instanceof RestError) return fail(err.code, err.message);
      this.deps.log.error({ err, url }, 'rest handler failed');
      return fail(FacadeCode.Internal[svc], 'internal error, retry');
    }
  }

  /** The app whose administrator signed the query (sdkappid, identifier, usersig), or the refusal. */
  admin(q: URLSearchParams, svc: Service): { app: AppModel } | Envelope {
    const app = this.deps.apps.get(Number(q.get('sdkappid')));
    if (!app || !/^\d+$/.test(q.get('sdkappid') ?? '')) return fail(FacadeCode.NotDeskApp[svc], `sdkappid '${q.get('sdkappid') ?? ''}' is not a desk app on this server`);
    const identifier = q.get('identifier') ?? '';
    const sig = this.deps.sigs.check(q.get('usersig') ?? '', app.sdkAppId, identifier, app.secretKey, Math.floor(this.deps.clock.now() / 1000));
    if (!sig.ok) return fail(sig.code, sig.info);
    if (identifier !== app.adminIdentifier) return fail(FacadeCode.NotAdmin[svc], 'this API needs the app administrator');
    // A model stored before such clashes were refused: the member's sig must not pass as the admin's.
    if (memberOf(app, identifier)) return fail(FacadeCode.NotAdmin[svc], 'the admin identifier is also a member; declare another adminIdentifier');
    return { app };
  }

  private call(to: Address, build: (replyTo: ReplyTo) => unknown, timeoutMs: number): Promise<Reply> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Reply>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, code: ErrorCode.Internal, info: 'timed out, retry' }), timeoutMs);
    });
    return Promise.race([this.deps.runtime.call(to, build), timeout]).finally(() => clearTimeout(timer));
  }
}

/**
 * Replaces an app's model (in a cluster, the shared one, unless another node changed it since revision `basedOn`:
 * then false) and resolves once it is stored.
 */
export async function saveAppModel(deps: Pick<FacadeDeps, 'apps' | 'store' | 'sharedApps'>, model: AppModel, basedOn: number | undefined): Promise<boolean> {
  const shared = deps.sharedApps;
  if (shared && !(await shared.save(model, basedOn!))) return false;
  if (!shared) deps.apps.put(model);
  await deps.store.commit();
  return true;
}

/** The reply's data as envelope fields, or the refusal as a RestError (codes translated where the API differs). */
export function replied(r: Reply, codes: Readonly<Record<number, number>> = {}): Record<string, unknown> {
  if (!r.ok) {
    const code = r.code ?? ErrorCode.Internal;
    const mapped = codes[code] ?? code;
    throw new RestError(mapped, r.info ?? defaultInfo[mapped] ?? 'failed');
  }
  return (r.data ?? {}) as Record<string, unknown>;
}

export { ok };
