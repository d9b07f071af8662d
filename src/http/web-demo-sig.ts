/**
 * `POST /web/v1/demo_usersig`: a UserSig for any user, so that the chat page works without a business backend that
 * signs its users. Only for apps whose model turns it on (`web.demoUserSig`): whoever can reach the server can then
 * chat as any user id, which is fine for a demo and not for production.
 */
import { randomBytes } from 'node:crypto';
import Validator from 'fastest-validator';
import { defaultAccountOf, serviceSideId } from '../../protocol/app-model';
import { userIdSchema } from '../../protocol/app-schema';
import { ErrorCode } from '../../protocol/errors';
import { fail, ok, type Envelope } from '../../protocol/rest/envelope';
import { RateBuckets } from './rate';
import { notDeskApp, pageSig, sdkAppIdRule, type WebCommand, type WebDeps } from './web-api';

const DEMO_SIG_SEC = 24 * 3600;
const DEMO_SIGS_PER_SEC = 20;

/** The rules of the WebSocket's user identifiers; a UserId that breaks them is refused as the socket would refuse it. */
const userIdCheck = new Validator().compile({ UserId: userIdSchema });

interface DemoBody { SdkAppId: number; UserId?: string }

export function demoSigCommand(deps: WebDeps): WebCommand {
  const buckets = new RateBuckets(deps.clock);
  return {
    name: 'demo_usersig',
    schema: { SdkAppId: sdkAppIdRule, UserId: { type: 'string', optional: true } },
    handle(body): Envelope {
      const { SdkAppId, UserId } = body as unknown as DemoBody;
      const app = deps.apps.get(SdkAppId);
      if (!app) return notDeskApp(SdkAppId);
      if (!app.web?.demoUserSig) return fail(ErrorCode.BadParameter, 'demo UserSigs are off for this app');
      if (!buckets.take(String(SdkAppId), DEMO_SIGS_PER_SEC)) return fail(ErrorCode.RateLimited, `at most ${DEMO_SIGS_PER_SEC} demo UserSigs per second`);
      const userId = UserId ?? `guest-${randomBytes(6).toString('hex')}`;
      if (userIdCheck({ UserId: userId }) !== true) return fail(ErrorCode.BadIdentity, 'UserId must be 1–64 characters without | or control characters');
      if (serviceSideId(app, userId)) return fail(ErrorCode.BadIdentity, 'members, customer-service accounts and the admin cannot be users');
      return ok({ ...pageSig(app, userId, DEMO_SIG_SEC, deps.clock.now()), UserId: userId, SdkAppId, CsAccount: defaultAccountOf(app)?.userId ?? '' });
    },
  };
}
