/**
 * The JSON endpoints of the browser pages, `POST /web/v1/<command>`, which hand the pages their UserSigs. They take no
 * UserSig themselves; each answers the v4 envelope (HTTP 200), with desk_http_svc's codes for the body's faults.
 */
import type { TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import Validator from 'fastest-validator';
import type { Logger } from 'pino';
import { memberOf, type AppModel } from '../../protocol/app-model';
import { appSchema } from '../../protocol/app-schema';
import { ErrorCode } from '../../protocol/errors';
import { fail, FacadeCode, Service, type Envelope } from '../../protocol/rest/envelope';
import { genUserSig } from '../../protocol/usersig';
import type { SigVerifier } from '../auth/sigs';
import type { AppRegistry } from '../config/apps';
import type { Clock } from '../runtime/clock';
import { jsonObject, MAX_REQUEST_BYTES, receiveJson } from './body';

export interface WebDeps {
  apps: AppRegistry;
  clock: Clock;
  log: Logger;
}

export interface WebCommand {
  name: string;
  /** The body's schema (fastest-validator); `handle` gets only bodies that pass it. */
  schema: Record<string, unknown>;
  handle(body: Record<string, unknown>): Promise<Envelope> | Envelope;
}

/** An SdkAppId, as the config file takes it. */
export const sdkAppIdRule = appSchema.props.sdkAppId;

/** The refusal for an sdkappid this server does not serve. */
export const notDeskApp = (sdkAppId: number): Envelope => fail(ErrorCode.NotDeskApp, `sdkappid '${sdkAppId}' is not a desk app on this server`);

/** A UserSig for `identifier`, valid `validSec` from now, and when it expires (unix seconds). */
export function pageSig(app: AppModel, identifier: string, validSec: number, nowMs: number): { UserSig: string; ExpireTime: number; ValidSec: number } {
  const nowSec = Math.floor(nowMs / 1000);
  // ValidSec too: a browser whose clock is off times the sig from when it got it.
  return { UserSig: genUserSig(app.sdkAppId, app.secretKey, identifier, validSec, nowSec), ExpireTime: nowSec + validSec, ValidSec: validSec };
}

/** The body fields that sign a call as someone: `Identifier` and its `UserSig`. */
export const signedBy = { Identifier: { type: 'string', min: 1, max: 128 }, UserSig: { type: 'string', min: 1, max: 4096 } } as const;

/** The refusal when `UserSig` is not a valid sig of `identifier` for the app (undefined: it is). */
export function sigRefusal(deps: WebDeps & { sigs: SigVerifier }, app: AppModel, identifier: string, userSig: string): Envelope | undefined {
  const sig = deps.sigs.check(userSig, app.sdkAppId, identifier, app.secretKey, Math.floor(deps.clock.now() / 1000));
  return sig.ok ? undefined : fail(sig.code, sig.info);
}

/** The refusal unless `UserSig` is a valid sig of the app's administrator (undefined: it is). */
export function adminRefusal(deps: WebDeps & { sigs: SigVerifier }, app: AppModel, identifier: string, userSig: string): Envelope | undefined {
  const refused = sigRefusal(deps, app, identifier, userSig);
  if (refused) return refused;
  if (identifier !== app.adminIdentifier) return fail(FacadeCode.NotAdmin[Service.Desk], 'this needs the app administrator');
  // As the REST API: in a model stored before such clashes were refused, a member's sig must not pass as the admin's.
  return memberOf(app, identifier) ? fail(FacadeCode.NotAdmin[Service.Desk], 'the admin identifier is also a member; declare another adminIdentifier') : undefined;
}

const v = new Validator({ haltOnFirstError: true });

export function mountWebApi(app: TemplatedApp, log: Logger, commands: WebCommand[]): void {
  const byUrl = new Map(commands.map((c) => [`/web/v1/${c.name}`, { command: c, check: v.compile(c.schema) }]));
  app.post('/web/v1/*', (res, req) => {
    const url = req.getUrl();
    // A form on another site can post text/plain here without the browser asking first; it cannot post JSON.
    const json = /^application\/json\s*(;|$)/i.test(req.getHeader('content-type'));
    receiveJson(res, log, url, async (raw) => {
      const found = byUrl.get(url);
      if (!found) return fail(FacadeCode.UnknownCommand, `unknown API '${url}'`);
      if (!json) return fail(ErrorCode.BadParameter, 'Content-Type must be application/json');
      if (!raw) return fail(ErrorCode.BodyTooLong, `request body over ${MAX_REQUEST_BYTES} bytes`);
      const body = jsonObject(raw);
      if (typeof body === 'string') return fail(ErrorCode.ParseFailure, body);
      const checked = await found.check(body);
      if (checked !== true) return fail(ErrorCode.BadParameter, (checked as { message?: string }[])[0]?.message ?? 'illegal request parameter');
      return found.command.handle(body);
    });
  });
}
