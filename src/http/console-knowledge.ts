/**
 * openim_console_http_svc knowledge-base endpoints (rest-api.md §2.4–2.21), the same set for the FAQ library and
 * the chitchat library, and QA optimisation (product.md §4.7). See protocol/rest/knowledge.ts for the fields this
 * server adds (RobotId, Environment).
 */
import { answerBody, AnswerType } from '../../actors/robot';
import { MAX_BODY_BYTES } from '../../protocol/frames';
import { ok } from '../../protocol/rest/envelope';
import * as schema from '../../protocol/rest/knowledge';
import { clusterQuestions } from '../knowledge/clusters';
import { normalize } from '../knowledge/features';
import {
  KnowledgeCode, KnowledgeError, MenuType, QuestionStatus,
  type Environment, type KnowledgeBase, type Library, type Question,
} from '../knowledge/knowledge-base';
import { consoleEndpoint, knowledgeChange as change, language, robotIdOf } from './console-common';
import { RestError, type Endpoint, type RestContext } from './facade';

const DAY_MS = 86_400_000;

const knowledgeOf = (ctx: RestContext): KnowledgeBase => ctx.deps.knowledge;

/** Writes go to test only, or to both environments (production's set-and-publish); reads come from one. */
const writeEnvs = (ctx: RestContext): Environment[] => (ctx.body.Environment === 'test' ? ['test'] : ['test', 'production']);
const readEnv = (ctx: RestContext): Environment => (ctx.body.Environment === 'test' ? 'test' : 'production');

const bad = (info: string): KnowledgeError => new KnowledgeError(KnowledgeCode.BadParameter, info);
/** The add pages list only -7, -14 and -20: an unknown category or parent is an illegal parameter there. */
const addCodes = { [KnowledgeCode.ResourceInvalid]: KnowledgeCode.BadParameter };

/** An answer goes out as one message: at most 10,000 bytes, and its message (escaped, as rich text) within 12 KB. */
function checkAnswer(answer: string | undefined): void {
  if (answer === undefined) return;
  if (Buffer.byteLength(answer) > schema.KnowledgeLimits.answerBytes || Buffer.byteLength(JSON.stringify(answerBody({ answer, answerType: AnswerType.RichText }))) > MAX_BODY_BYTES) {
    throw new RestError(KnowledgeCode.BadParameter, `Answer exceeds ${schema.KnowledgeLimits.answerBytes} bytes, or its message 12 KB`);
  }
}

function questionFields(q: Question): Record<string, unknown> {
  return {
    StandardQuestionId: q.id, StandardQuestion: q.question, Status: q.status, CategoryId: q.categoryId,
    Answer: q.answer, AnswerType: q.answerType, QuestionType: q.questionType, SimilarQuestions: q.similar,
  };
}

/** The nine endpoints of one library. */
function libraryEndpoints(library: Library): Endpoint[] {
  const name = library === 'faq' ? 'faq' : 'chitchat';
  return [
    consoleEndpoint(`del_${name}_category`, schema.deleteCategory, async (ctx) => {
      await change(ctx, (kb, robotId) => kb.deleteCategory(ctx.app.sdkAppId, robotId, writeEnvs(ctx), library, ctx.body.CategoryId as number));
      return ok();
    }),

    consoleEndpoint(`batch_set_${name}`, schema.batchSetStatus, async (ctx) => {
      const ids = [...new Set(ctx.body.StandardQuestionIds as string[])];
      const status = ctx.body.Status as 4 | 5 | 6;
      await change(ctx, (kb, robotId) => {
        const envs = writeEnvs(ctx);
        // All or nothing: every id is checked before any is changed.
        for (const id of ids) {
          const q = kb.question(ctx.app.sdkAppId, robotId, envs[envs.length - 1], library, id);
          if (!q) throw new KnowledgeError(KnowledgeCode.ResourceInvalid, `no ${library} question ${id}`);
          if (status === QuestionStatus.Deleted && q.questionType === 1) throw new KnowledgeError(KnowledgeCode.PresetCategory, `${id} is a system preset question: disable it instead`);
        }
        for (const id of ids) {
          if (status === QuestionStatus.Deleted) kb.deleteQuestion(ctx.app.sdkAppId, robotId, envs, library, id);
          else kb.updateQuestion(ctx.app.sdkAppId, robotId, envs, library, id, { status }, ctx.now);
        }
      });
      return ok();
    }),

    consoleEndpoint(`update_${name}_category`, schema.updateCategory, async (ctx) => {
      const id = ctx.body.CategoryId as number;
      await change(ctx, (kb, robotId) => {
        const c = kb.category(ctx.app.sdkAppId, robotId, readEnv(ctx), library, id);
        if (c && c.menuType !== MenuType.Normal) throw new KnowledgeError(KnowledgeCode.PresetCategory, 'a system category cannot be renamed');
        kb.updateCategory(ctx.app.sdkAppId, robotId, writeEnvs(ctx), library, id, ctx.body.Title as string);
      });
      // The chitchat page's example answers with the CategoryId; the FAQ page's does not.
      return ok(library === 'chitchat' ? { CategoryId: id } : {});
    }),

    consoleEndpoint(`update_${name}_similar`, schema.updateSimilar, async (ctx) => {
      const similar = [...new Set(ctx.body.SimilarQuestions as string[])];
      await change(ctx, (kb, robotId) => kb.updateQuestion(ctx.app.sdkAppId, robotId, writeEnvs(ctx), library, ctx.body.StandardQuestionId as string, { similar }, ctx.now));
      return ok();
    }),

    consoleEndpoint(`update_${name}`, schema.updateQuestion, async (ctx) => {
      const b = ctx.body as { StandardQuestionId: string; Question?: string; Answer?: string; AnswerType?: 0 | 2; CategoryId?: number };
      checkAnswer(b.Answer);
      await change(ctx, (kb, robotId) => {
        const patch: Partial<Question> = {};
        if (b.Question) patch.question = b.Question;
        if (b.Answer) patch.answer = b.Answer;
        if (b.AnswerType !== undefined) patch.answerType = b.AnswerType;
        if (b.CategoryId) patch.categoryId = b.CategoryId;
        const existing = kb.question(ctx.app.sdkAppId, robotId, readEnv(ctx), library, b.StandardQuestionId);
        if (existing?.questionType === 1 && (patch.question !== undefined || patch.categoryId !== undefined)) throw bad('a system preset question keeps its question and category; its answer may change');
        if (patch.categoryId !== undefined) checkCategoryTakesQuestions(kb, ctx, robotId, library, patch.categoryId);
        kb.updateQuestion(ctx.app.sdkAppId, robotId, writeEnvs(ctx), library, b.StandardQuestionId, patch, ctx.now);
      });
      return ok();
    }),

    consoleEndpoint(`add_${name}_category`, schema.addCategory, async (ctx) => {
      const id = await change(ctx, (kb, robotId) => kb.addCategory(ctx.app.sdkAppId, robotId, writeEnvs(ctx), library, ctx.body.Title as string, (ctx.body.ParentId as number | undefined) ?? 0), addCodes);
      return ok({ CategoryId: id });
    }),

    consoleEndpoint(`add_${name}`, schema.addQuestion, async (ctx) => {
      await addQuestion(ctx, library);
      return ok();
    }),

    consoleEndpoint(`desc_${name}_category`, schema.listCategories, (ctx) => {
      const list = knowledgeOf(ctx).categories(ctx.app.sdkAppId, robotIdOf(ctx), readEnv(ctx), library)
        .sort((a, b) => a.id - b.id)
        .map((c) => ({ CategoryId: c.id, ParentId: c.parentId, Title: c.title, MenuType: c.menuType, Status: 1 }));
      return ok({ Total: list.length, List: list });
    }),

    consoleEndpoint(`list_${name}`, schema.listQuestions, (ctx) => {
      const b = ctx.body as { PageIndex: number; PageSize: number; Question?: string; CategoryId?: number; Status?: 4 | 5; LanguageTag?: string };
      const tag = language(ctx);
      const kb = knowledgeOf(ctx);
      const robotId = robotIdOf(ctx);
      const env = readEnv(ctx);
      const categories = b.CategoryId ? categoryAndChildren(kb, ctx.app.sdkAppId, robotId, env, library, b.CategoryId) : undefined;
      const keyword = b.Question?.toLowerCase();
      const matched = kb.questions(ctx.app.sdkAppId, robotId, env, library)
        .filter((q) => q.language === tag && (b.Status === undefined || q.status === b.Status)
          && (!keyword || q.question.toLowerCase().includes(keyword)) && (!categories || categories.has(q.categoryId)))
        .sort((x, y) => y.updatedAt - x.updatedAt || (x.id < y.id ? -1 : 1));
      return ok({
        AllQuestionCount: matched.reduce((n, q) => n + 1 + q.similar.length, 0),
        StandardQuestionCount: matched.length,
        QuestionList: matched.slice((b.PageIndex - 1) * b.PageSize, b.PageIndex * b.PageSize).map(questionFields),
      });
    }),
  ];
}

/** A category filter takes in its sub-categories; "all categories" takes everything. */
function categoryAndChildren(kb: KnowledgeBase, app: number, robotId: string, env: Environment, library: Library, id: number): Set<number> | undefined {
  const all = kb.categories(app, robotId, env, library);
  const c = all.find((x) => x.id === id);
  if (c?.menuType === MenuType.All) return undefined;
  return new Set([id, ...all.filter((x) => x.parentId === id).map((x) => x.id)]);
}

/** Questions go into real categories, not into the virtual "all categories". */
function checkCategoryTakesQuestions(kb: KnowledgeBase, ctx: RestContext, robotId: string, library: Library, categoryId: number): void {
  const c = kb.category(ctx.app.sdkAppId, robotId, readEnv(ctx), library, categoryId);
  if (c?.menuType === MenuType.All) throw bad('"all categories" holds no questions of its own: pick a category');
}

async function addQuestion(ctx: RestContext, library: Library, similar: string[] = []): Promise<string> {
  const b = ctx.body as { CategoryId: number; Question: string; Answer: string; AnswerType?: 0 | 2; SimilarQuestions?: string[] };
  checkAnswer(b.Answer);
  const tag = language(ctx);
  return change(ctx, (kb, robotId) => {
    checkCategoryTakesQuestions(kb, ctx, robotId, library, b.CategoryId);
    const all = [...new Set([...(b.SimilarQuestions ?? []), ...similar])].filter((s) => s !== b.Question);
    return kb.addQuestion(ctx.app.sdkAppId, robotId, writeEnvs(ctx), {
      library, categoryId: b.CategoryId, question: b.Question, similar: all, answer: b.Answer, answerType: b.AnswerType ?? 0, language: tag,
    }, ctx.now);
  }, addCodes);
}

export const consoleKnowledgeEndpoints: Endpoint[] = [
  ...libraryEndpoints('faq'),
  ...libraryEndpoints('chitchat'),

  consoleEndpoint('desk_robot_unanswered_clusters', schema.unansweredClusters, (ctx) => {
    // Unix seconds, both ends included; by default the last 30 days.
    const endTime = ctx.body.EndTime as number | undefined;
    const startTime = ctx.body.StartTime as number | undefined;
    const end = endTime !== undefined ? endTime * 1000 + 999 : ctx.now;
    const start = startTime !== undefined ? startTime * 1000 : end - 30 * DAY_MS;
    if (start > end) throw new RestError(KnowledgeCode.BadParameter, 'StartTime is after EndTime');
    if (end - start > schema.MAX_CLUSTER_DAYS * DAY_MS) throw new RestError(KnowledgeCode.BadParameter, `the range is at most ${schema.MAX_CLUSTER_DAYS} days`);
    const tag = language(ctx);
    const kb = knowledgeOf(ctx);
    const robotId = robotIdOf(ctx);
    const asked = kb.unanswered(ctx.app.sdkAppId, robotId, start, end).filter((u) => u.language === tag).map((u) => u.question);
    // A phrasing already made a question or similar question of an FAQ (in test, where edits land) shows as added.
    const known = new Set(kb.questions(ctx.app.sdkAppId, robotId, 'test', 'faq').filter((q) => q.language === tag).flatMap((q) => [q.question, ...q.similar]).map(normalize));
    const clusters = clusterQuestions(asked);
    return ok({
      Total: clusters.length,
      Clusters: clusters.map((c) => ({
        Center: c.center, Count: c.count,
        Questions: c.questions.map((q) => ({ Question: q.question, Count: q.count, Added: known.has(normalize(q.question)) ? 1 : 0 })),
      })),
    });
  }),

  consoleEndpoint('desk_robot_optimize', schema.optimize, async (ctx) => {
    const b = ctx.body as { Questions: string[]; StandardQuestionId?: string; CategoryId?: number; Question?: string; Answer?: string };
    if (b.StandardQuestionId !== undefined) {
      if (b.CategoryId !== undefined || b.Question !== undefined || b.Answer !== undefined) throw new RestError(KnowledgeCode.BadParameter, 'give StandardQuestionId, or CategoryId, Question and Answer for a new FAQ');
      await change(ctx, (kb, robotId) => {
        kb.updateQuestion(ctx.app.sdkAppId, robotId, writeEnvs(ctx), 'faq', b.StandardQuestionId!, (q) => ({
          similar: [...new Set([...q.similar, ...b.Questions])].filter((s) => s !== q.question).slice(0, schema.KnowledgeLimits.similar),
        }), ctx.now);
      });
      return ok({ StandardQuestionId: b.StandardQuestionId });
    }
    if (b.CategoryId === undefined || b.Question === undefined || b.Answer === undefined) throw new RestError(KnowledgeCode.BadParameter, 'a new FAQ needs CategoryId, Question and Answer');
    return ok({ StandardQuestionId: await addQuestion(ctx, 'faq', b.Questions) });
  }),
];
