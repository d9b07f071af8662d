/** What the openim_console_http_svc endpoints share: their rate, the language and robot a call names, knowledge changes. */
import { DEFAULT_ROBOT_ID, languagesOf, robotOf, type AppModel, type Robot } from '../../protocol/app-model';
import { Service } from '../../protocol/rest/envelope';
import { KnowledgeCode, KnowledgeError, type KnowledgeBase } from '../knowledge/knowledge-base';
import { endpoint, RestError, type Endpoint, type RestContext } from './facade';

/** The documented limit of the console endpoints. */
const RATE_PER_SEC = 5;
export const UNSUPPORTED_LANGUAGE = -50051;

export function consoleEndpoint(command: string, s: Record<string, unknown>, handle: Endpoint['handle']): Endpoint {
  return endpoint(Service.Console, command, s, handle, { ratePerSec: RATE_PER_SEC });
}

/** The app with one of its robots replaced (the default robot written out, if it was implicit). */
export function withRobot(app: AppModel, robot: Robot): AppModel {
  const robots = { ...(app.robots ?? {}) };
  if (!robots[DEFAULT_ROBOT_ID]) robots[DEFAULT_ROBOT_ID] = robotOf(app, DEFAULT_ROBOT_ID)!;
  robots[robot.id] = robot;
  return { ...app, robots };
}

/** The call's LanguageTag ('' when none), which must have been added. */
export function language(ctx: RestContext): string {
  const tag = (ctx.body.LanguageTag as string | undefined) ?? '';
  if (!languagesOf(ctx.app).includes(tag)) throw new RestError(UNSUPPORTED_LANGUAGE, `language '${tag}' has not been added`);
  return tag;
}

/** The robot a call acts on: its RobotId (this server's addition), else the default robot. */
export function robotIdOf(ctx: RestContext): string {
  const id = (ctx.body.RobotId as string | undefined) ?? DEFAULT_ROBOT_ID;
  if (!robotOf(ctx.app, id)) throw new RestError(KnowledgeCode.ResourceInvalid, `no robot '${id}'`);
  return id;
}

/**
 * Runs a change to the knowledge and waits until it is stored; its refusals become the documented codes (`codes`
 * translates them for an endpoint whose page lists fewer).
 */
export async function knowledgeChange<T>(ctx: RestContext, fn: (kb: KnowledgeBase, robotId: string) => T, codes: Readonly<Record<number, number>> = {}): Promise<T> {
  const robotId = robotIdOf(ctx);
  await ctx.deps.sharedKnowledge?.ready(ctx.app.sdkAppId);
  let out: T;
  try {
    out = fn(ctx.deps.knowledge, robotId);
  } catch (err) {
    if (err instanceof KnowledgeError) throw new RestError(codes[err.code] ?? err.code, err.message);
    throw err;
  }
  await ctx.deps.store.commit();
  await ctx.deps.sharedKnowledge?.share();
  return out;
}
