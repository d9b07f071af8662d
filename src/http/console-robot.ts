/**
 * openim_console_http_svc robot configuration, languages and robots (rest-api.md §2.2–2.3, 2.28–2.30, 2.48), and
 * this server's robot publishing and online test (product.md §4.8). The documented APIs take no RobotId and act on
 * the default robot (GAP-35); `RobotId` names another. `Environment: "test"` edits or reads the test configuration;
 * otherwise an edit sets both environments (the console's set-and-publish) and a read shows production.
 */
import { randomBytes } from 'node:crypto';
import { replyBody, replySource, respond, startingFlow, withDocuments } from '../../actors/robot';
import { startFlow, testSystemValues } from '../../actors/task-flow';
import type { KnowledgeLibrary } from '../../actors/types';
import {
  defaultRobotConfig, languagesOf, MAX_LANGUAGES, robotConfig, robotIdsOf, robotOf, taskFlowsOf,
} from '../../protocol/app-model';
import { ok } from '../../protocol/rest/envelope';
import * as schema from '../../protocol/rest/robot';
import * as knowledgeSchema from '../../protocol/rest/knowledge';
import { KnowledgeCode } from '../knowledge/knowledge-base';
import { consoleEndpoint, language, robotIdOf, UNSUPPORTED_LANGUAGE, withRobot } from './console-common';
import { RestError, type Endpoint } from './facade';

const Code = { BadParameter: -7, UnsupportedLanguage: UNSUPPORTED_LANGUAGE, TooManyLanguages: -50052, DefaultLanguage: -50055, LanguageHasQuestions: KnowledgeCode.LanguageHasQuestions } as const;
/** Robots an app may have (the advanced edition's number). */
const MAX_ROBOTS = 3;
/** Candidates the online test lists besides its answer. */
const TEST_CANDIDATES = 5;

export const consoleRobotEndpoints: Endpoint[] = [
  consoleEndpoint('desc_robot_config', schema.descRobotConfig, (ctx) => ok(schema.robotConfigFields(robotConfig(ctx.app, robotIdOf(ctx), language(ctx), ctx.body.Environment === 'test')))),

  consoleEndpoint('update_robot_config', schema.updateRobotConfig, async (ctx) => {
    const tag = language(ctx);
    const robotId = robotIdOf(ctx);
    const robot = robotOf(ctx.app, robotId)!;
    const testNext = schema.applyRobotConfig(robotConfig(ctx.app, robotId, tag, true), ctx.body);
    const prodNext = schema.applyRobotConfig(robotConfig(ctx.app, robotId, tag), ctx.body);
    // The direct-answer threshold is also the top of the clarify band (product.md Appendix A.2).
    for (const next of [testNext, prodNext]) {
      if (next.clarifyReaches >= next.directAnsweringReaches) throw new RestError(Code.BadParameter, 'ClarifyReaches must be below DirectAnsweringReaches');
    }
    const testOnly = ctx.body.Environment === 'test';
    await ctx.saveApp(withRobot(ctx.app, {
      ...robot,
      config: testOnly ? robot.config : { ...robot.config, [tag]: prodNext },
      // Test keeps its own copy only while it differs from production.
      testConfig: testOnly || robot.testConfig?.[tag] ? { ...robot.testConfig, [tag]: testNext } : robot.testConfig,
    }));
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
    if (ctx.deps.knowledge.languageInUse(ctx.app.sdkAppId, robotIdsOf(ctx.app), tag)) {
      throw new RestError(Code.LanguageHasQuestions, `language '${tag}' still has questions`);
    }
    const robots = Object.fromEntries(Object.entries(ctx.app.robots ?? {}).map(([id, r]) => {
      const config = { ...r.config };
      const testConfig = { ...r.testConfig };
      delete config[tag];
      delete testConfig[tag];
      return [id, { ...r, config, testConfig }];
    }));
    await ctx.saveApp({ ...ctx.app, languages: languages.filter((l) => l !== tag), robots });
    return ok();
  }),

  consoleEndpoint('desk_add_robot', schema.addRobot, async (ctx) => {
    const existing = robotIdsOf(ctx.app);
    if (existing.length >= MAX_ROBOTS) throw new RestError(Code.BadParameter, `at most ${MAX_ROBOTS} robots`);
    const id = `@RBT#${Math.floor(ctx.now / 1000)}${randomBytes(4).toString('hex')}`;
    // Its libraries and presets are written in the same commit as the robot.
    await ctx.deps.sharedKnowledge?.robotAdded(ctx.app.sdkAppId, id);
    ctx.deps.knowledge.load(ctx.app.sdkAppId, id);
    await ctx.saveApp(withRobot(ctx.app, { id, nickname: ctx.body.RobotNickName as string, config: { '': { ...defaultRobotConfig } } }));
    await ctx.deps.sharedKnowledge?.share();
    return ok({ RobotId: id });
  }),

  consoleEndpoint('desk_robot_publish', knowledgeSchema.publish, async (ctx) => {
    const robotId = robotIdOf(ctx);
    const { testConfig, testTaskFlows, ...robot } = robotOf(ctx.app, robotId)!;
    const record = ctx.deps.knowledge.publish(ctx.app.sdkAppId, robotId, (ctx.body.Note as string | undefined) ?? '', ctx.now, ctx.app.session.timeZone);
    // One commit carries the knowledge copied and the configuration and task flows published.
    await ctx.saveApp(withRobot(ctx.app, { ...robot, config: { ...robot.config, ...testConfig }, ...(testTaskFlows ? { taskFlows: testTaskFlows } : {}) }));
    await ctx.deps.sharedKnowledge?.share();
    return ok({ Version: record.version, PublishTime: Math.floor(record.publishedAt / 1000) });
  }),

  consoleEndpoint('desk_robot_publish_records', knowledgeSchema.publishRecords, (ctx) => {
    const all = [...ctx.deps.knowledge.versions(ctx.app.sdkAppId, robotIdOf(ctx))].reverse();
    const size = (ctx.body.PageSize as number | undefined) ?? 20;
    const index = (ctx.body.PageIndex as number | undefined) ?? 1;
    return ok({
      Total: all.length,
      List: all.slice((index - 1) * size, index * size).map((r) => ({ Version: r.version, Note: r.note || '-', PublishTime: Math.floor(r.publishedAt / 1000), Status: '已发布' })),
    });
  }),

  consoleEndpoint('desk_robot_publish_status', knowledgeSchema.publishRecords, (ctx) => {
    const robotId = robotIdOf(ctx);
    const robot = robotOf(ctx.app, robotId)!;
    const configChanged = Object.keys(robot.testConfig ?? {}).length > 0 || robot.testTaskFlows !== undefined;
    return ok({ Unpublished: configChanged || ctx.deps.knowledge.unpublished(ctx.app.sdkAppId, robotId) ? 1 : 0 });
  }),

  // The online test: the test environment answers as it would in a session, and says why.
  consoleEndpoint('desk_robot_online_test', knowledgeSchema.onlineTest, async (ctx) => {
    const robotId = robotIdOf(ctx);
    const tag = language(ctx);
    const input = ctx.body.Question as string;
    // Matching by meaning, as a session would (the question's vector, and the phrasings' asked for meanwhile).
    if (ctx.deps.knowledge.awaitsMeaning(ctx.app.sdkAppId, input)) {
      ctx.deps.knowledge.wantMeaning(ctx.app.sdkAppId, robotId, tag, 'test', taskFlowsOf(ctx.app, robotId, 'test'));
      await ctx.deps.knowledge.semantic?.query(ctx.app.sdkAppId, input);
    }
    const config = robotConfig(ctx.app, robotId, tag, true);
    const rank = (library: KnowledgeLibrary, limit: number) => ctx.deps.knowledge.rank({ app: ctx.app.sdkAppId, robotId, language: tag, library, text: input, limit, test: true });
    const candidates = rank('faq', TEST_CANDIDATES).map((q) => ({ StandardQuestionId: q.id, StandardQuestion: q.question, Matched: q.matched, Score: round(q.score) }));
    const response = respond(config, ctx.app.session.toHumanKeywords, rank, input);
    if (response.strategy === 'toHuman') return ok({ Strategy: 'toHuman', Score: round(response.score), MsgBody: [], Source: {}, Candidates: candidates });
    // A task flow of test whose intent matches starts, as it would in a session.
    const flows = taskFlowsOf(ctx.app, robotId, 'test');
    const intents = ctx.deps.knowledge.rank({ app: ctx.app.sdkAppId, robotId, language: tag, library: 'task', text: input, limit: 2, tasks: flows });
    const intent = intents[0];
    const flow = flows.find((f) => f.id === Number(startingFlow(config, response, intents)));
    if (flow && intent) {
      const step = startFlow(flow, 'test', testSystemValues);
      const bodies = [...step.say, ...(step.ask ? [step.ask] : [])];
      return ok({
        Strategy: 'task', Score: round(intent.score), MsgBody: bodies[0] ?? [], MsgBodies: bodies,
        Source: { TaskFlowId: flow.id, TaskFlowName: flow.name, Matched: intent.matched, Score: round(intent.score) }, Candidates: candidates,
      });
    }
    const reply = withDocuments(response, (limit) => rank('document', limit));
    const src = replySource(reply);
    return ok({
      Strategy: reply.strategy, Score: round(reply.score), MsgBody: replyBody(config, reply),
      Source: { StandardQuestionId: src.questionId ?? '', StandardQuestion: src.question ?? '', Matched: src.matched ?? '', Score: round(src.score), ClarifyQuestionIds: src.candidates ?? [] },
      Candidates: candidates,
    });
  }),
];

const round = (n: number): number => Math.round(n * 1000) / 1000;
