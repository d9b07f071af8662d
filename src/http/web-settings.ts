/**
 * The console's settings the v4 API does not carry, read and changed with the administrator's sig:
 *
 * - `POST /web/v1/session_settings`: the app's session settings (the config file's `session`: reception mode, accept
 *   timeout, limits, to-human keywords, timeouts, prompts);
 * - `POST /web/v1/llm_settings`: the robot's language-model provider (the config file's `llm`), or `Off` to answer
 *   from the FAQs again. Its key is never answered: `ApiKeySet` says whether there is one, and a change without
 *   `apiKey` keeps it.
 *
 * A change is checked as the config file is, stored before the answer (in a cluster, in the shared model), and
 * governs the next decision at once.
 */
import { defaultLlmSettings, type AppModel } from '../../protocol/app-model';
import { llmSettingsSchema, sessionSettingsSchema } from '../../protocol/app-schema';
import { ErrorCode } from '../../protocol/errors';
import { fail, ok, type Envelope } from '../../protocol/rest/envelope';
import type { SigVerifier } from '../auth/sigs';
import { checkedApp, withSessionSettings } from '../config/apps';
import { ConfigError } from '../config/config';
import type { Store } from '../store/store';
import { saveAppModel, type FacadeDeps } from './facade';
import { adminRefusal, notDeskApp, sdkAppIdRule, signedBy, type WebCommand, type WebDeps } from './web-api';

type SettingsDeps = WebDeps & { sigs: SigVerifier; store: Store; sharedApps?: FacadeDeps['sharedApps'] };
interface SettingsBody { SdkAppId: number; Identifier: string; UserSig: string; Settings?: Record<string, unknown>; Off?: boolean }

interface Settings {
  name: string;
  /** The rule of `Settings` (a change). */
  rule: Record<string, unknown>;
  /** What the page is told. */
  read(app: AppModel): unknown;
  /** The app with the change made (a ConfigError when the result is not a valid app). */
  change(app: AppModel, body: SettingsBody): AppModel;
}

function settingsCommand(deps: SettingsDeps, s: Settings): WebCommand {
  return {
    name: s.name,
    schema: { SdkAppId: sdkAppIdRule, ...signedBy, Settings: s.rule, Off: { type: 'boolean', optional: true } },
    async handle(body): Promise<Envelope> {
      const b = body as unknown as SettingsBody;
      const app = deps.apps.get(b.SdkAppId);
      if (!app) return notDeskApp(b.SdkAppId);
      const refused = adminRefusal(deps, app, b.Identifier, b.UserSig);
      if (refused) return refused;
      if (!b.Settings && !b.Off) return ok({ Settings: s.read(app) });
      const basedOn = deps.sharedApps?.revisionOf(app.sdkAppId);
      let next: AppModel;
      try {
        next = s.change(app, b);
      } catch (err) {
        if (err instanceof ConfigError) return fail(ErrorCode.BadParameter, err.message);
        throw err;
      }
      if (!(await saveAppModel(deps, next, basedOn))) return fail(ErrorCode.Internal, 'the app was changed on another node meanwhile; retry');
      return ok({ Settings: s.read(next) });
    },
  };
}

export function settingsCommands(deps: SettingsDeps): WebCommand[] {
  return [
    settingsCommand(deps, {
      name: 'session_settings', rule: sessionSettingsSchema,
      read: (app) => app.session,
      change: (app, b) => (b.Settings ? withSessionSettings(app, b.Settings) : app),
    }),
    settingsCommand(deps, {
      name: 'llm_settings', rule: llmSettingsSchema,
      read: (app) => {
        if (!app.llm) return null;
        const { apiKey, ...shown } = app.llm;
        return { ...shown, ApiKeySet: apiKey !== undefined };
      },
      change: (app, b) => {
        if (b.Off) {
          const { llm: _off, ...rest } = app;
          return rest;
        }
        return checkedApp({ ...app, llm: { ...defaultLlmSettings, ...app.llm, ...(b.Settings as object) } as AppModel['llm'] });
      },
    }),
  ];
}
