/**
 * `POST /web/v1/login`: a member signs in to the workbench with mail and password and gets a UserSig of its own
 * (12 hours); with `Console: true` an administrator gets the app admin's UserSig (2 hours), for the console's calls
 * to the v4 REST API.
 */
import { randomBytes } from 'node:crypto';
import { memberOf } from '../../protocol/app-model';
import { ErrorCode } from '../../protocol/errors';
import { fail, FacadeCode, ok, Service, type Envelope } from '../../protocol/rest/envelope';
import { passwordMatchesAsync } from '../config/apps';
import { LoginThrottle } from './login-throttle';
import { notDeskApp, pageSig, sdkAppIdRule, type WebCommand, type WebDeps } from './web-api';

const WORKBENCH_SIG_SEC = 12 * 3600;
const CONSOLE_SIG_SEC = 2 * 3600;

/**
 * What a password is checked against when the mail names no member with one: a hash nothing matches, so that the
 * time taken does not tell a wrong mail from a wrong password.
 */
const NO_MEMBER_HASH = `scrypt$${randomBytes(16).toString('base64')}$${randomBytes(32).toString('base64')}`;

interface LoginBody { SdkAppId: number; Mail: string; Password: string; Console?: boolean }

export function loginCommand(deps: WebDeps): WebCommand {
  const throttle = new LoginThrottle(deps.clock);
  return {
    name: 'login',
    schema: {
      SdkAppId: sdkAppIdRule,
      Mail: { type: 'string', min: 1, max: 64 },
      Password: { type: 'string', min: 1, max: 128 },
      Console: { type: 'boolean', optional: true },
    },
    async handle(body): Promise<Envelope> {
      const { SdkAppId, Mail, Password, Console } = body as unknown as LoginBody;
      const asked = deps.apps.get(SdkAppId);
      if (!asked) return notDeskApp(SdkAppId);
      const key = `${SdkAppId}|${Mail}`;
      const wait = throttle.waitSec(key);
      if (wait > 0) return fail(ErrorCode.RateLimited, `too many failed logins; try again in ${wait} s`);
      const hash = memberOf(asked, Mail)?.passwordHash;
      const matches = await passwordMatchesAsync(Password, hash || NO_MEMBER_HASH);
      // The model as it is now: the member may have changed while the password was checked.
      const app = deps.apps.get(SdkAppId);
      const member = app && memberOf(app, Mail);
      if (!app || !member || !matches || member.passwordHash !== hash) {
        throttle.failed(key);
        return fail(ErrorCode.WrongLogin, 'wrong mail or password');
      }
      throttle.succeeded(key);
      // Said only to whoever knows the password.
      if (member.disabled) return fail(ErrorCode.BadIdentity, 'this member is disabled');
      if (member.kickOff) return fail(ErrorCode.BadIdentity, 'this member was forced offline; an administrator must restore it first');
      const who = { Nickname: member.nickname, Roles: member.roles, SdkAppId };
      if (!Console) return ok({ ...pageSig(app, Mail, WORKBENCH_SIG_SEC, deps.clock.now()), Identifier: Mail, ...who });
      if (!member.roles.some((r) => r === 'admin' || r === 'superAdmin')) return fail(FacadeCode.NotAdmin[Service.Desk], 'this member is not an administrator');
      return ok({ ...pageSig(app, app.adminIdentifier, CONSOLE_SIG_SEC, deps.clock.now()), Identifier: app.adminIdentifier, Mail, ...who });
    },
  };
}
