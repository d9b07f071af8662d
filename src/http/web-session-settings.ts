/**
 * `POST /web/v1/session_settings`: the app's session settings (reception mode, accept timeout, limits, to-human
 * keywords, timeouts, prompts: the config file's `session`) for the console, which the REST API does not carry;
 * with `Settings` the administrator changes them, checked as the config file's are.
 */
import { sessionSettingsSchema } from '../../protocol/app-schema';
import { ErrorCode } from '../../protocol/errors';
import { fail, ok, type Envelope } from '../../protocol/rest/envelope';
import type { SigVerifier } from '../auth/sigs';
import { withSessionSettings } from '../config/apps';
import { ConfigError } from '../config/config';
import type { Store } from '../store/store';
import { saveAppModel, type FacadeDeps } from './facade';
import { adminRefusal, notDeskApp, sdkAppIdRule, signedBy, type WebCommand, type WebDeps } from './web-api';

interface SettingsBody { SdkAppId: number; Identifier: string; UserSig: string; Settings?: Record<string, unknown> }

export function sessionSettingsCommand(deps: WebDeps & { sigs: SigVerifier; store: Store; sharedApps?: FacadeDeps['sharedApps'] }): WebCommand {
  return {
    name: 'session_settings',
    schema: { SdkAppId: sdkAppIdRule, ...signedBy, Settings: sessionSettingsSchema },
    async handle(body): Promise<Envelope> {
      const b = body as unknown as SettingsBody;
      const app = deps.apps.get(b.SdkAppId);
      if (!app) return notDeskApp(b.SdkAppId);
      const refused = adminRefusal(deps, app, b.Identifier, b.UserSig);
      if (refused) return refused;
      if (!b.Settings) return ok({ Settings: app.session });
      const basedOn = deps.sharedApps?.revisionOf(app.sdkAppId);
      let next;
      try {
        next = withSessionSettings(app, b.Settings);
      } catch (err) {
        if (err instanceof ConfigError) return fail(ErrorCode.BadParameter, err.message);
        throw err;
      }
      if (!(await saveAppModel(deps, next, basedOn))) return fail(ErrorCode.Internal, 'the app was changed on another node meanwhile; retry');
      return ok({ Settings: next.session });
    },
  };
}
