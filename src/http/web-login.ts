/**
 * `POST /web/v1/login`: a member signs in to the workbench with mail and password and gets a UserSig of its own
 * (12 hours); with `Console: true` an administrator gets the app admin's UserSig (2 hours), for the console's calls
 * to the v4 REST API. `POST /web/v1/set_password` changes a member's password.
 */
import { randomBytes } from 'node:crypto';
import { memberOf, type AppModel, type Member } from '../../protocol/app-model';
import { MAX_MAIL } from '../../protocol/app-schema';
import { ErrorCode } from '../../protocol/errors';
import { fail, FacadeCode, ok, Service, type Envelope } from '../../protocol/rest/envelope';
import { hashPasswordAsync, passwordMatchesAsync } from '../config/apps';
import type { SigVerifier } from '../auth/sigs';
import type { Store } from '../store/store';
import { saveAppModel, type FacadeDeps } from './facade';
import { LoginThrottle } from './login-throttle';
import { adminRefusal, notDeskApp, pageSig, sdkAppIdRule, signedBy, type WebCommand, type WebDeps } from './web-api';

const WORKBENCH_SIG_SEC = 12 * 3600;
const CONSOLE_SIG_SEC = 2 * 3600;
/** As the config file's member passwords. */
const MIN_PASSWORD = 8;

/**
 * What a password is checked against when the mail names no member with one: a hash nothing matches, so that the
 * time taken does not tell a wrong mail from a wrong password.
 */
const NO_MEMBER_HASH = `scrypt$${randomBytes(16).toString('base64')}$${randomBytes(32).toString('base64')}`;

interface LoginBody { SdkAppId: number; Mail: string; Password: string; Console?: boolean }
interface PasswordBody { SdkAppId: number; Mail: string; NewPassword: string; Password?: string; Identifier?: string; UserSig?: string }

/** As long as a member's mail may be. */
const mailRule = { type: 'string', min: 1, max: MAX_MAIL } as const;
const passwordRule = { type: 'string', min: 1, max: 128 } as const;

/**
 * The member a mail and password name, or the refusal. Failures count against the mail (LoginThrottle), and a wrong
 * mail takes as long as a wrong password.
 */
async function signedInMember(deps: WebDeps, throttle: LoginThrottle, sdkAppId: number, mail: string, password: string): Promise<{ app: AppModel; member: Member } | Envelope> {
  if (!deps.apps.get(sdkAppId)) return notDeskApp(sdkAppId);
  const key = `${sdkAppId}|${mail}`;
  const wait = throttle.waitSec(key);
  if (wait > 0) return fail(ErrorCode.RateLimited, `too many failed logins; try again in ${wait} s`);
  // Counted before the check, so that guesses sent together count too; a success clears it.
  throttle.failed(key);
  const hash = memberOf(deps.apps.get(sdkAppId)!, mail)?.passwordHash;
  const matches = await passwordMatchesAsync(password, hash || NO_MEMBER_HASH);
  // The model as it is now: the member may have changed while the password was checked.
  const app = deps.apps.get(sdkAppId);
  const member = app && memberOf(app, mail);
  if (!app || !member || !matches || member.passwordHash !== hash) return fail(ErrorCode.WrongLogin, 'wrong mail or password');
  throttle.succeeded(key);
  // Said only to whoever knows the password.
  if (member.disabled) return fail(ErrorCode.BadIdentity, 'this member is disabled');
  if (member.kickOff) return fail(ErrorCode.BadIdentity, 'this member was forced offline; an administrator must restore it first');
  return { app, member };
}

/**
 * `login`, and `set_password`: a member changes its own password (giving the current one), or the app's
 * administrator (its UserSig) sets any member's, e.g. for a member added on the console.
 */
export function passwordCommands(deps: WebDeps & { sigs: SigVerifier; store: Store; sharedApps?: FacadeDeps['sharedApps'] }): WebCommand[] {
  const throttle = new LoginThrottle(deps.clock);
  const login: WebCommand = {
    name: 'login',
    schema: { SdkAppId: sdkAppIdRule, Mail: mailRule, Password: passwordRule, Console: { type: 'boolean', optional: true } },
    async handle(body): Promise<Envelope> {
      const { SdkAppId, Mail, Password, Console } = body as unknown as LoginBody;
      const found = await signedInMember(deps, throttle, SdkAppId, Mail, Password);
      if ('ActionStatus' in found) return found;
      const { app, member } = found;
      const who = { Nickname: member.nickname, Roles: member.roles, SdkAppId };
      if (!Console) return ok({ ...pageSig(app, Mail, WORKBENCH_SIG_SEC, deps.clock.now()), Identifier: Mail, ...who });
      if (!member.roles.some((r) => r === 'admin' || r === 'superAdmin')) return fail(FacadeCode.NotAdmin[Service.Desk], 'this member is not an administrator');
      return ok({ ...pageSig(app, app.adminIdentifier, CONSOLE_SIG_SEC, deps.clock.now()), Identifier: app.adminIdentifier, Mail, ...who });
    },
  };
  const setPassword: WebCommand = {
    name: 'set_password',
    schema: {
      SdkAppId: sdkAppIdRule, Mail: mailRule, NewPassword: { type: 'string', min: MIN_PASSWORD, max: 128 },
      Password: { ...passwordRule, optional: true }, Identifier: { ...signedBy.Identifier, optional: true }, UserSig: { ...signedBy.UserSig, optional: true },
    },
    async handle(body): Promise<Envelope> {
      const b = body as unknown as PasswordBody;
      let app = deps.apps.get(b.SdkAppId);
      if (!app) return notDeskApp(b.SdkAppId);
      if (b.Password !== undefined) {
        const found = await signedInMember(deps, throttle, b.SdkAppId, b.Mail, b.Password);
        if ('ActionStatus' in found) return found;
      } else {
        if (b.UserSig === undefined || b.Identifier === undefined) return fail(ErrorCode.BadParameter, 'give the current Password, or the administrator\'s Identifier and UserSig');
        const refused = adminRefusal(deps, app, b.Identifier, b.UserSig);
        if (refused) return refused;
      }
      const basedOn = deps.sharedApps?.revisionOf(b.SdkAppId);
      const hash = await hashPasswordAsync(b.NewPassword);
      app = deps.apps.get(b.SdkAppId)!;
      const member = memberOf(app, b.Mail);
      if (!member) return fail(ErrorCode.AgentOffline, `no member '${b.Mail}'`);
      const saved = await saveAppModel(deps, { ...app, members: { ...app.members, [member.mail]: { ...member, passwordHash: hash } } }, basedOn);
      return saved ? ok() : fail(ErrorCode.Internal, 'the app was changed on another node meanwhile; retry');
    },
  };
  return [login, setPassword];
}
