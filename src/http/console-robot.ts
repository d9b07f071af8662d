/**
 * openim_console_http_svc robot configuration, languages and robots (rest-api.md §2.2–2.3, 2.28–2.30, 2.48). They
 * act on the default robot (the APIs take no RobotId, GAP-35) and write the app model.
 */
import { randomBytes } from 'node:crypto';
import {
  DEFAULT_ROBOT_ID, defaultRobotConfig, languagesOf, MAX_LANGUAGES, robotConfig, robotOf, type AppModel, type Robot,
} from '../../protocol/app-model';
import { ok, Service } from '../../protocol/rest/envelope';
import * as schema from '../../protocol/rest/robot';
import { endpoint, RestError, type Endpoint, type RestContext } from './facade';

const Code = { BadParameter: -7, UnsupportedLanguage: -50051, TooManyLanguages: -50052, DefaultLanguage: -50055 } as const;
/** The documented limit of the console endpoints. */
const RATE_PER_SEC = 5;
/** Robots an app may have (the advanced edition's number). */
const MAX_ROBOTS = 3;

function consoleEndpoint(command: string, s: Record<string, unknown>, handle: Endpoint['handle']): Endpoint {
  return endpoint(Service.Console, command, s, handle, { ratePerSec: RATE_PER_SEC });
}

function language(ctx: RestContext): string {
  const tag = (ctx.body.LanguageTag as string | undefined) ?? '';
  if (!languagesOf(ctx.app).includes(tag)) throw new RestError(Code.UnsupportedLanguage, `language '${tag}' has not been added`);
  return tag;
}

function withRobot(app: AppModel, robot: Robot): AppModel {
  const robots = { ...(app.robots ?? {}) };
  if (!robots[DEFAULT_ROBOT_ID]) robots[DEFAULT_ROBOT_ID] = robotOf(app, DEFAULT_ROBOT_ID)!;
  robots[robot.id] = robot;
  return { ...app, robots };
}

export const consoleRobotEndpoints: Endpoint[] = [
  consoleEndpoint('desc_robot_config', schema.descRobotConfig, (ctx) => ok(schema.robotConfigFields(robotConfig(ctx.app, DEFAULT_ROBOT_ID, language(ctx))))),

  consoleEndpoint('update_robot_config', schema.updateRobotConfig, async (ctx) => {
    const tag = language(ctx);
    const robot = robotOf(ctx.app, DEFAULT_ROBOT_ID)!;
    const next = schema.applyRobotConfig(robotConfig(ctx.app, DEFAULT_ROBOT_ID, tag), ctx.body);
    // The direct-answer threshold is also the top of the clarify band (product.md Appendix A.2).
    if (next.clarifyReaches >= next.directAnsweringReaches) throw new RestError(Code.BadParameter, 'ClarifyReaches must be below DirectAnsweringReaches');
    await ctx.saveApp(withRobot(ctx.app, { ...robot, config: { ...robot.config, [tag]: next } }));
    return ok();
  }),

  consoleEndpoint('robot_add_language', schema.languageOnly, async (ctx) => {
    const tag = ctx.body.LanguageTag as string;
    if (!schema.isLanguageTag(tag)) throw new RestError(Code.UnsupportedLanguage, `unsupported language '${tag}'`);
    const languages = languagesOf(ctx.app);
    if (languages.includes(tag)) throw new RestError(Code.BadParameter, `language '${tag}' is already added`);
    if (languages.length >= MAX_LANGUAGES) throw new RestError(Code.TooManyLanguages, `at most ${MAX_LANGUAGES} languages, the default one included`);
    await ctx.saveApp({ ...ctx.app, languages: [...languages, tag] });
    return ok();
  }),

  consoleEndpoint('robot_get_language_list', schema.noFields, (ctx) => ok({
    Languages: languagesOf(ctx.app).map((tag) => ({ LanguageTag: tag, IsDefault: tag === '' ? 1 : 0 })),
  })),

  consoleEndpoint('robot_del_language', schema.languageOnly, async (ctx) => {
    const tag = ctx.body.LanguageTag as string;
    if (tag === '') throw new RestError(Code.DefaultLanguage, 'the default language cannot be deleted');
    const languages = languagesOf(ctx.app);
    if (!languages.includes(tag)) throw new RestError(Code.UnsupportedLanguage, `language '${tag}' has not been added`);
    const robots = Object.fromEntries(Object.entries(ctx.app.robots ?? {}).map(([id, r]) => {
      const config = { ...r.config };
      delete config[tag];
      return [id, { ...r, config }];
    }));
    await ctx.saveApp({ ...ctx.app, languages: languages.filter((l) => l !== tag), robots });
    return ok();
  }),

  consoleEndpoint('desk_add_robot', schema.addRobot, async (ctx) => {
    const existing = Object.keys(ctx.app.robots ?? { [DEFAULT_ROBOT_ID]: true });
    if (existing.length >= MAX_ROBOTS) throw new RestError(Code.BadParameter, `at most ${MAX_ROBOTS} robots`);
    const id = `@RBT#${Math.floor(ctx.now / 1000)}${randomBytes(4).toString('hex')}`;
    await ctx.saveApp(withRobot(ctx.app, { id, nickname: ctx.body.RobotNickName as string, config: { '': { ...defaultRobotConfig } } }));
    return ok({ RobotId: id });
  }),
];
