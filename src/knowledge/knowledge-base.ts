/**
 * The robots' knowledge (product.md §4.4, §4.8): per app, robot and environment (test, production), the FAQ and
 * chitchat libraries with their categories and standard questions. Kept in memory per robot once loaded, written
 * through the store's commits, and matched by a Matcher per (environment, language, library), rebuilt after a change
 * on the next question.
 */
import { randomBytes } from 'node:crypto';
import { zonedParts } from '../../protocol/time-zone';
import type { Database } from 'lmdb';
import type { KnowledgeLibrary, RankedQuestion, RankRequest } from '../../actors/types';
import type { Store } from '../store/store';
import { features, type Features } from './features';
import { DocumentLibrary, type RobotDocument } from './documents';
import { Matcher, meaningOf } from './matcher';
import { blendByMeaning, type Blend, type SemanticVectors } from './semantic';
import { intentsOf, TaskIntents } from './task-intents';
import type { TaskFlow } from '../../protocol/task-flow';
import { presetCategories, presetChitchat, toHumanPhrases } from './presets';

export type Environment = 'test' | 'production';
export type Library = Exclude<KnowledgeLibrary, 'toHuman' | 'document' | 'task'>;
export const environments: readonly Environment[] = ['test', 'production'];

/** Question status: 4 enabled, 5 disabled (6, "deleted", removes it). */
export const QuestionStatus = { Enabled: 4, Disabled: 5, Deleted: 6 } as const;
/** Category menu types: 0 normal, 1 the virtual "all categories", 2 system preset. */
export const MenuType = { Normal: 0, All: 1, Preset: 2 } as const;

export interface Category { id: number; library: Library; parentId: number; title: string; menuType: 0 | 1 | 2 }
export interface Question {
  id: string;
  library: Library;
  categoryId: number;
  question: string;
  similar: string[];
  answer: string;
  answerType: 0 | 2;
  status: 4 | 5;
  /** 0 normal, 1 system preset. */
  questionType: 0 | 1;
  language: string;
  updatedAt: number;
}
export interface PublishRecord { version: string; note: string; publishedAt: number }
export type QuestionPatch = Partial<Pick<Question, 'question' | 'similar' | 'answer' | 'answerType' | 'categoryId' | 'status'>>;
export interface Unanswered { question: string; language: string; sessionId: string; at: number }

/** The refusals of the knowledge-base endpoints (rest-api.md §2.4–2.21). */
export class KnowledgeError extends Error {
  constructor(readonly code: number, info: string) {
    super(info);
  }
}
export const KnowledgeCode = { BadParameter: -7, ResourceInvalid: -50003, PresetCategory: -50011, LanguageHasQuestions: -50056 } as const;

interface Library_ { categories: Map<number, Category>; questions: Map<string, Question> }
type Env_ = Record<Library, Library_>;
/** `stored`: the robot has rows (a robot never loaded with `load` has no presets). */
interface Loaded { envs: Record<Environment, Env_>; versions: PublishRecord[]; stored: boolean }

/** A row's key: app, robot, environment (or 'versions'), kind (`<library>:c`, `<library>:q`, 'v'), id. */
export type KbKey = [number, string, string, string, number | string];
/** A row written (value undefined: removed). */
export interface KbRow { key: KbKey; value: unknown }

/** Questions changed since an index was built, past which it is rebuilt: at least this many, or this share of it. */
const MIN_DELTA = 50;
const DELTA_SHARE = 0.02;

interface Index { main: Matcher; delta?: Matcher; changed: Set<string>; deltaStale: boolean }

export class KnowledgeBase {
  private readonly rows: Database<unknown, KbKey>;
  private readonly unansweredRows: Database<Unanswered, [number, string, number, number]>;
  private readonly loaded = new Map<string, Loaded>();
  private readonly indexes = new Map<string, Index>();
  private toHuman?: Matcher;
  private readonly taskIntents = new TaskIntents();
  /** Matching by meaning, for apps with embeddings configured. */
  semantic?: SemanticVectors;
  private lastQuery?: { text: string; features: Features };
  private unansweredSeq = 0;
  /** The last category id handed out per app (the stored one is read from committed data only). */
  private readonly issued = new Map<number, number>();
  /** The robots' documents (document QA), ranked as the library `document`. */
  readonly documents: DocumentLibrary;
  /**
   * In a cluster: where category ids come from (ids unique in the cluster); the rows this node writes are kept for
   * the other nodes (`unshared`).
   */
  shared?: { categoryId(app: number): number };
  /**
   * In a cluster, the rows of this node's changes until they are in the shared bucket, committed with the change,
   * numbered in order: a node stopped or crashed before it could share them shares them as it starts again.
   */
  private readonly unsharedRows: Database<KbRow, number>;
  private lastUnshared: number;

  constructor(private readonly store: Store) {
    this.documents = new DocumentLibrary(store);
    this.documents.onWrite = (app, robotId, id, doc) => this.keepForCluster({ key: [app, robotId, DOCUMENTS, 'd', id], value: doc });
    this.rows = store.table('knowledge');
    this.unansweredRows = store.table('unanswered');
    this.unsharedRows = store.table('knowledge-unshared');
    this.lastUnshared = [...this.unsharedRows.getKeys({ reverse: true, limit: 1 })][0] ?? 0;
    // Keys are (time, n): counting on from the rows kept, a restart cannot reuse a key even on a clock set back.
    this.unansweredSeq = this.unansweredRows.getCount();
  }

  /**
   * Loads a robot's knowledge, creating a new robot's presets; the caller commits. The server loads every robot at
   * start and each robot added, so presets are written once, with a commit, and ids shown are the ids kept.
   */
  load(app: number, robotId: string): void {
    if (this.robot(app, robotId).stored) return;
    this.seed(app, robotId);
    this.robot(app, robotId).stored = true;
  }

  // ── reading ────────────────────────────────────────────────────────────────────────────────────
  categories(app: number, robotId: string, env: Environment, library: Library): Category[] {
    return [...this.lib(app, robotId, env, library).categories.values()];
  }

  category(app: number, robotId: string, env: Environment, library: Library, id: number): Category | undefined {
    return this.lib(app, robotId, env, library).categories.get(id);
  }

  questions(app: number, robotId: string, env: Environment, library: Library): Question[] {
    return [...this.lib(app, robotId, env, library).questions.values()];
  }

  question(app: number, robotId: string, env: Environment, library: Library, id: string): Question | undefined {
    return this.lib(app, robotId, env, library).questions.get(id);
  }

  /** Whether any robot of the app has questions in a language (a language with questions cannot be deleted). */
  languageInUse(app: number, robotIds: string[], language: string): boolean {
    return robotIds.some((r) => environments.some((env) => (['faq', 'chitchat'] as const).some((l) => this.questions(app, r, env, l).some((q) => q.language === language))));
  }

  versions(app: number, robotId: string): PublishRecord[] {
    return this.robot(app, robotId).versions;
  }

  /**
   * Builds, before any user waits for it, what the first question to a robot would: the segmenter's dictionary and the
   * production indexes of its default language (about 0.2 s of CPU at start instead of in someone's conversation).
   */
  warmUp(app: number, robotId: string): void {
    for (const library of ['faq', 'chitchat'] as const) this.rank({ app, robotId, language: '', library, text: '你好', limit: 1 });
  }

  /**
   * The robot's knowledge ranked against a question; only enabled questions of the language answer. A library's
   * index is built once; questions changed since are left out of it and ranked by a small index of their own, with
   * the same weights, until enough have changed to rebuild (a rebuild of a large library takes a second).
   */
  rank(r: RankRequest): RankedQuestion[] {
    const query = this.queryFeatures(r.text);
    if (r.library === 'toHuman') {
      this.toHuman ??= new Matcher(toHumanPhrases.map((text) => ({ questionId: 'toHuman', text })));
      return this.toHuman.rankFeatures(query, 1).map((m) => ({ id: m.questionId, question: m.matched, answer: '', answerType: 0, score: m.score, matched: m.matched }));
    }
    const byMeaning = this.blendFor(r.app, r.text);
    if (r.library === 'document') return this.documents.rank(r.app, r.robotId, query, r.limit, byMeaning);
    if (r.library === 'task') return this.taskIntents.rank(r.tasks ?? [], query, r.limit, byMeaning);
    const env: Environment = r.test ? 'test' : 'production';
    const lib = this.lib(r.app, r.robotId, env, r.library);
    const answers = (q: Question): boolean => q.status === QuestionStatus.Enabled && q.language === r.language;
    const docs = (qs: Iterable<Question>) => [...qs].filter(answers).flatMap((q) => [q.question, ...q.similar].map((text) => ({ questionId: q.id, text })));
    const key = `${r.app}|${r.robotId}|${env}|${r.library}|${r.language}`;
    let idx = this.indexes.get(key);
    // A small index is rebuilt at once (cheap, and a delta weighs its words by the index it sits beside: an empty one
    // would weigh them all 0); a large one after enough changes.
    if (!idx || (idx.changed.size > 0 && idx.main.questions < MIN_DELTA) || idx.changed.size > Math.max(MIN_DELTA, idx.main.questions * DELTA_SHARE)) {
      this.indexes.set(key, (idx = { main: new Matcher(docs(lib.questions.values())), changed: new Set(), deltaStale: false }));
    }
    if (idx.deltaStale) {
      const changed = [...idx.changed].flatMap((id) => lib.questions.get(id) ?? []);
      idx.delta = changed.length > 0 ? new Matcher(docs(changed), idx.main) : undefined;
      idx.deltaStale = false;
    }
    let hits = idx.main.rankFeatures(query, r.limit, idx.changed);
    if (idx.delta) hits.push(...idx.delta.rankFeatures(query, r.limit));
    if (byMeaning) hits = byMeaning(hits, [...lib.questions.values()].filter(answers).map((q) => ({ id: q.id, phrasings: [q.question, ...q.similar] })));
    return hits.sort((a, b) => b.score - a.score).slice(0, r.limit).flatMap((hit) => {
      const q = lib.questions.get(hit.questionId);
      return q ? [{ id: q.id, question: q.question, answer: q.answer, answerType: q.answerType, score: hit.score, matched: hit.matched, ...meaningOf(hit) }] : [];
    });
  }

  /**
   * When the question's vector is known: word scores blended with meaning (blendByMeaning), phrasings without a vector
   * yet asked for.
   */
  private blendFor(app: number, text: string): Blend | undefined {
    const semantic = this.semantic;
    const query = semantic?.vectorOf(app, text);
    if (!semantic || !query) return undefined;
    return (hits, questions) => {
      const missing: string[] = [];
      const vectorOf = (s: string): Float32Array | undefined => {
        const v = semantic.vectorOf(app, s);
        if (!v) missing.push(s);
        return v;
      };
      const blended = blendByMeaning(hits, questions, query, vectorOf, semantic.settingsOf(app)!);
      semantic.want(app, missing);
      return blended;
    };
  }

  /**
   * The vectors of the FAQ and chitchat phrasings a robot answers from in a language, of its task flows' intents and
   * of its documents' passages, asked for those without.
   */
  wantMeaning(app: number, robotId: string, language: string, env: Environment = 'production', flows: readonly TaskFlow[] = []): void {
    if (!this.semantic) return;
    this.semantic.want(app, flows.filter((f) => f.enabled).flatMap(intentsOf));
    this.semantic.want(app, this.documents.passages(app, robotId).map((p) => p.text));
    for (const library of ['faq', 'chitchat'] as const) {
      const qs = [...this.lib(app, robotId, env, library).questions.values()].filter((q) => q.status === QuestionStatus.Enabled && q.language === language);
      this.semantic.want(app, qs.flatMap((q) => [q.question, ...q.similar]));
    }
  }

  /** A question of this app should wait for its vector before it is ranked (see SemanticVectors.awaits). */
  awaitsMeaning(app: number, text: string): boolean {
    return this.semantic?.awaits(app, text) ?? false;
  }

  /** A robot turn ranks one text against several libraries: its features are worked out once. */
  private queryFeatures(text: string): Features {
    if (this.lastQuery?.text !== text) this.lastQuery = { text, features: features(text) };
    return this.lastQuery.features;
  }

  // ── writing ────────────────────────────────────────────────────────────────────────────────────
  addCategory(app: number, robotId: string, envs: readonly Environment[], library: Library, title: string, parentId: number): number {
    for (const env of envs) this.checkParent(app, robotId, env, library, parentId);
    const id = this.nextCategoryId(app);
    for (const env of envs) this.putCategory(app, robotId, env, { id, library, parentId, title, menuType: MenuType.Normal });
    return id;
  }

  updateCategory(app: number, robotId: string, envs: readonly Environment[], library: Library, id: number, title: string): void {
    // Every environment written must have it before any changes.
    const found = envs.map((env) => [env, this.existingCategory(app, robotId, env, library, id)] as const);
    for (const [env, c] of found) this.putCategory(app, robotId, env, { ...c, title });
  }

  /** Deletes a category with its sub-categories and all their questions; preset categories stay. */
  deleteCategory(app: number, robotId: string, envs: readonly Environment[], library: Library, id: number): void {
    for (const env of envs) {
      const c = this.existingCategory(app, robotId, env, library, id);
      if (c.menuType !== MenuType.Normal) throw new KnowledgeError(KnowledgeCode.PresetCategory, 'a system preset category cannot be deleted');
    }
    for (const env of envs) {
      const lib = this.lib(app, robotId, env, library);
      const doomed = new Set([id, ...[...lib.categories.values()].filter((c) => c.parentId === id).map((c) => c.id)]);
      for (const q of [...lib.questions.values()]) if (doomed.has(q.categoryId)) this.removeQuestion(app, robotId, env, q);
      for (const cid of doomed) {
        lib.categories.delete(cid);
        this.writeRow([app, robotId, env, `${library}:c`, cid], undefined);
      }
    }
  }

  addQuestion(app: number, robotId: string, envs: readonly Environment[], q: Omit<Question, 'id' | 'updatedAt' | 'status' | 'questionType'>, now: number): string {
    for (const env of envs) this.existingCategory(app, robotId, env, q.library, q.categoryId);
    const id = `${app}-${robotId}-${randomBytes(12).toString('base64url')}`;
    for (const env of envs) this.putQuestion(app, robotId, env, { ...q, id, status: QuestionStatus.Enabled, questionType: 0, updatedAt: now });
    return id;
  }

  /**
   * Changes fields of a question in every environment that has it; production (when written) must have it. A
   * function patch is worked out from each environment's own copy (so test's unpublished edits stay).
   */
  updateQuestion(app: number, robotId: string, envs: readonly Environment[], library: Library, id: string, patch: QuestionPatch | ((q: Question) => QuestionPatch), now: number): void {
    const targets = this.targets(app, robotId, envs, library, id).map(([env, q]) => [env, q, typeof patch === 'function' ? patch(q) : patch] as const);
    for (const [env, , p] of targets) if (p.categoryId !== undefined) this.existingCategory(app, robotId, env, library, p.categoryId);
    for (const [env, q, p] of targets) this.putQuestion(app, robotId, env, { ...q, ...p, updatedAt: now });
  }

  deleteQuestion(app: number, robotId: string, envs: readonly Environment[], library: Library, id: string): void {
    for (const [env, q] of this.targets(app, robotId, envs, library, id)) this.removeQuestion(app, robotId, env, q);
  }

  /** Publishing: production becomes a copy of test, and a version is recorded. */
  publish(app: number, robotId: string, note: string, now: number, timeZone: string): PublishRecord {
    const r = this.robot(app, robotId);
    // Only the rows that differ are written: other nodes of a cluster apply them one by one, and see production whole
    // meanwhile (but for what changes).
    for (const library of ['faq', 'chitchat'] as const) {
      const prod = r.envs.production[library];
      const test = r.envs.test[library];
      for (const c of [...prod.categories.values()]) {
        if (test.categories.has(c.id)) continue;
        prod.categories.delete(c.id);
        this.writeRow([app, robotId, 'production', `${library}:c`, c.id], undefined);
      }
      for (const q of [...prod.questions.values()]) if (!test.questions.has(q.id)) this.removeQuestion(app, robotId, 'production', q);
      for (const c of test.categories.values()) if (!sameRow(prod.categories.get(c.id), c)) this.putCategory(app, robotId, 'production', c);
      for (const q of test.questions.values()) if (!sameRow(prod.questions.get(q.id), q)) this.putQuestion(app, robotId, 'production', q);
    }
    // Production is replaced as a whole: its indexes are built anew.
    for (const k of [...this.indexes.keys()]) if (k.startsWith(`${app}|${robotId}|production|`)) this.indexes.delete(k);
    const record: PublishRecord = { version: versionOf(now, timeZone), note, publishedAt: now };
    r.versions.push(record);
    // Keyed by the version (unique by its random digits); loading sorts by time.
    this.writeRow([app, robotId, 'versions', 'v', record.version], record);
    return record;
  }

  /** Whether test differs from production (the console's "unpublished changes" banner). */
  unpublished(app: number, robotId: string): boolean {
    const r = this.robot(app, robotId);
    return (['faq', 'chitchat'] as const).some((l) => !sameLibrary(r.envs.test[l], r.envs.production[l]));
  }

  /** `n`: the row's number among those of its time (given: a question folded from the logs, folded again the same). */
  recordUnanswered(app: number, robotId: string, u: Unanswered, given?: number): void {
    const n = given ?? ++this.unansweredSeq;
    this.store.write(() => this.unansweredRows.putSync([app, robotId, u.at, n], u));
  }

  /** Unanswered questions asked in [from, to] (ms), oldest first. */
  unanswered(app: number, robotId: string, from: number, to: number): Unanswered[] {
    return [...this.unansweredRows.getRange({ start: [app, robotId, from], end: [app, robotId, to, Number.MAX_SAFE_INTEGER] }).map((e) => e.value)];
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────────────
  private robot(app: number, robotId: string): Loaded {
    const key = `${app}|${robotId}`;
    let r = this.loaded.get(key);
    if (r) return r;
    const empty = (): Env_ => ({ faq: { categories: new Map(), questions: new Map() }, chitchat: { categories: new Map(), questions: new Map() } });
    r = { envs: { test: empty(), production: empty() }, versions: [], stored: false };
    this.loaded.set(key, r);
    let any = false;
    for (const { key: k, value } of this.ownRows(app, robotId)) {
      any = true;
      place(r, k, value);
    }
    r.versions.sort((a, b) => a.publishedAt - b.publishedAt);
    r.stored = any;
    return r;
  }

  /** A new robot's libraries: the "all categories" entries, the preset FAQ category and the preset chitchat. */
  private seed(app: number, robotId: string): void {
    const categories = presetCategories(() => this.nextCategoryId(app));
    for (const env of environments) for (const c of categories) this.putCategory(app, robotId, env, c);
    const preset = this.lib(app, robotId, 'test', 'chitchat');
    const byTitle = new Map([...preset.categories.values()].map((c) => [c.title, c.id]));
    for (const p of presetChitchat) {
      const id = `${app}-${robotId}-preset-${p.key}`;
      const q: Question = {
        id, library: 'chitchat', categoryId: byTitle.get(p.category)!, question: p.question, similar: p.similar, answer: p.answer,
        answerType: 0, status: QuestionStatus.Enabled, questionType: 1, language: '', updatedAt: 0,
      };
      for (const env of environments) this.putQuestion(app, robotId, env, q);
    }
  }

  private lib(app: number, robotId: string, env: Environment, library: Library): Library_ {
    return this.robot(app, robotId).envs[env][library];
  }

  /** The highest category id this node handed out for an app. */
  categoryIdsIssued(app: number): number {
    return Math.max(this.store.getMeta<number>(`kb-category-seq:${app}`) ?? 0, this.issued.get(app) ?? 0, 10_000);
  }

  /** Category ids count up per app, across robots and environments (the same category has one id in both). */
  private nextCategoryId(app: number): number {
    if (this.shared) return this.shared.categoryId(app);
    const key = `kb-category-seq:${app}`;
    const id = this.categoryIdsIssued(app) + 1;
    this.issued.set(app, id);
    this.store.putMeta(key, id);
    return id;
  }

  private checkParent(app: number, robotId: string, env: Environment, library: Library, parentId: number): void {
    if (parentId === 0) return;
    const parent = this.existingCategory(app, robotId, env, library, parentId);
    // Two levels at most, and nothing goes under "all categories".
    if (parent.parentId !== 0 || parent.menuType === MenuType.All) throw new KnowledgeError(KnowledgeCode.BadParameter, 'categories have two levels at most: ParentId must be a top-level category');
  }

  private existingCategory(app: number, robotId: string, env: Environment, library: Library, id: number): Category {
    const c = this.lib(app, robotId, env, library).categories.get(id);
    if (!c) throw new KnowledgeError(KnowledgeCode.ResourceInvalid, `no ${library} category ${id}`);
    return c;
  }

  /** The environments holding question `id`: those written to that have it; the last one named (production, when written) must. */
  private targets(app: number, robotId: string, envs: readonly Environment[], library: Library, id: string): [Environment, Question][] {
    const out: [Environment, Question][] = [];
    for (const env of envs) {
      const q = this.lib(app, robotId, env, library).questions.get(id);
      if (q) out.push([env, q]);
    }
    if (!out.some(([env]) => env === envs[envs.length - 1])) throw new KnowledgeError(KnowledgeCode.ResourceInvalid, `no ${library} question ${id}`);
    return out;
  }

  private putCategory(app: number, robotId: string, env: Environment, c: Category): void {
    this.lib(app, robotId, env, c.library).categories.set(c.id, c);
    this.writeRow([app, robotId, env, `${c.library}:c`, c.id], c);
  }

  private putQuestion(app: number, robotId: string, env: Environment, q: Question): void {
    this.lib(app, robotId, env, q.library).questions.set(q.id, q);
    this.writeRow([app, robotId, env, `${q.library}:q`, q.id], q);
    this.changed(app, robotId, env, q);
  }

  private removeQuestion(app: number, robotId: string, env: Environment, q: Question): void {
    this.lib(app, robotId, env, q.library).questions.delete(q.id);
    this.writeRow([app, robotId, env, `${q.library}:q`, q.id], undefined);
    this.changed(app, robotId, env, q);
  }

  /** A row of this node's change: written at the next commit, and kept for the other nodes in a cluster. */
  private writeRow(key: KbKey, value: unknown): void {
    this.storeRow(key, value);
    this.keepForCluster({ key, value });
  }

  /** In a cluster, a row for the other nodes, kept (at the next commit) until `sharedThrough` says it is shared. */
  keepForCluster(row: KbRow): void {
    if (!this.shared) return;
    const n = ++this.lastUnshared;
    // A removed row is kept as null: the table's encoding keeps no undefined.
    this.store.write(() => this.unsharedRows.putSync(n, { key: row.key, value: row.value ?? null }));
  }

  private storeRow(key: KbKey, value: unknown): void {
    this.store.write(() => (value === undefined ? this.rows.removeSync(key) : this.rows.putSync(key, value)));
  }

  // ── in a cluster ───────────────────────────────────────────────────────────────────────────────
  /**
   * The rows kept for the other nodes (committed, in order), and the number of the last: to pass to `sharedThrough`
   * once they are in the bucket.
   */
  unshared(): { rows: KbRow[]; through: number } {
    let through = 0;
    const rows = [...this.unsharedRows.getRange()].map(({ key, value }): KbRow => {
      through = key;
      return { key: value.key, value: value.value ?? undefined };
    });
    return { rows, through };
  }

  /** The number of the last row kept for the other nodes (committed or not). */
  get unsharedMark(): number {
    return this.lastUnshared;
  }

  /** The rows kept up to `through` are in the shared bucket: no longer kept here. */
  async sharedThrough(through: number): Promise<void> {
    for (const n of this.unsharedRows.getKeys({ end: through + 1 })) this.store.write(() => this.unsharedRows.removeSync(n));
    await this.store.commit();
  }

  /** Every row this node holds of a robot, its documents too (a node bringing its knowledge into a cluster that has none of it). */
  robotRows(app: number, robotId: string): KbRow[] {
    return [
      ...this.ownRows(app, robotId),
      ...this.documents.stored(app, robotId).map((d): KbRow => ({ key: [app, robotId, DOCUMENTS, 'd', d.id], value: d })),
    ];
  }

  private ownRows(app: number, robotId: string): KbRow[] {
    return [...this.rows.getRange({ start: [app, robotId], end: [app, robotId, '\uffff'] })].map(({ key, value }) => ({ key, value }));
  }

  /** Drops what this node holds of a robot: the cluster's rows of it replace them. */
  forgetRobot(app: number, robotId: string): void {
    this.documents.forget(app, robotId);
    for (const { key } of this.ownRows(app, robotId)) this.store.write(() => this.rows.removeSync(key));
    this.loaded.delete(`${app}|${robotId}`);
    for (const k of [...this.indexes.keys()]) if (k.startsWith(`${app}|${robotId}|`)) this.indexes.delete(k);
  }

  /** Commits the rows written or applied so far (what a robot read from the table afterwards holds). */
  async commit(): Promise<void> {
    await this.store.commit();
  }

  /** A robot whose presets another node writes: not seeded here. */
  markStored(app: number, robotId: string): void {
    this.robot(app, robotId).stored = true;
  }

  /**
   * A row another node wrote: made here, in the table and in memory (its indexes rank the question anew), and not
   * kept as this node's change. False for a row this node cannot take (left out).
   */
  applyRow(key: KbKey, value: unknown): boolean {
    const [app, robotId, env, kind, id] = key;
    if (env === DOCUMENTS) {
      if (value !== undefined && !isDocument(value)) return false;
      this.documents.apply(app, robotId, String(id), value);
      return true;
    }
    if (!rowFits(key, value)) return false;
    this.storeRow(key, value);
    // Held in memory from now on: the table's rows are read before this one's write is committed.
    const r = this.robot(app, robotId);
    r.stored = true;
    place(r, key, value);
    if (env === 'versions') r.versions.sort((a, b) => a.publishedAt - b.publishedAt);
    else if (kind.endsWith(':q')) this.changed(app, robotId, env as Environment, { id: id as string, library: kind.split(':')[0] as Library });
    return true;
  }

  /** The library's indexes (every language: a question may have moved between them) rank this question anew. */
  private changed(app: number, robotId: string, env: Environment, q: Pick<Question, 'id' | 'library'>): void {
    const prefix = `${app}|${robotId}|${env}|${q.library}|`;
    for (const [k, idx] of this.indexes) {
      if (!k.startsWith(prefix)) continue;
      idx.changed.add(q.id);
      idx.deltaStale = true;
    }
  }
}

/** A row put in a robot held in memory (value undefined: taken out). */
function place(r: Loaded, key: KbKey, value: unknown): void {
  const [, , env, kind, id] = key;
  if (env === 'versions') {
    const v = value as PublishRecord | undefined;
    if (v && !r.versions.some((x) => x.version === v.version)) r.versions.push(v);
    return;
  }
  const [library, what] = kind.split(':') as [Library, 'c' | 'q'];
  const lib = r.envs[env as Environment][library];
  const rows = (what === 'c' ? lib.categories : lib.questions) as Map<number | string, unknown>;
  if (value === undefined) rows.delete(id);
  else rows.set(id, value);
}

/** Two rows alike (plain data, written by this module in one field order). */
const sameRow = (a: unknown, b: unknown): boolean => a !== undefined && JSON.stringify(a) === JSON.stringify(b);

/** The "environment" of a shared row that is a robot's document (DocumentLibrary keeps them, not the knowledge table). */
const DOCUMENTS = 'documents';

/** A row another node shared, as this node's rows are: its key names a place, and its value has what is read of it. */
function rowFits(key: KbKey, value: unknown): boolean {
  const [, , env, kind, id] = key;
  const s = (x: unknown): boolean => typeof x === 'string';
  if (env === 'versions') {
    const v = value as Partial<PublishRecord> | undefined;
    return kind === 'v' && (v === undefined || (s(v.version) && v.version === id && s(v.note) && typeof v.publishedAt === 'number'));
  }
  const [library, what] = kind.split(':');
  if (!environments.includes(env as Environment) || (library !== 'faq' && library !== 'chitchat') || (what !== 'c' && what !== 'q')) return false;
  if (value === undefined) return true;
  if (what === 'c') {
    const c = value as Partial<Category>;
    return c.id === id && c.library === library && typeof c.parentId === 'number' && s(c.title) && typeof c.menuType === 'number';
  }
  const q = value as Partial<Question>;
  return q.id === id && q.library === library && typeof q.categoryId === 'number' && s(q.question) && Array.isArray(q.similar) && q.similar.every(s)
    && s(q.answer) && typeof q.answerType === 'number' && typeof q.status === 'number' && typeof q.questionType === 'number' && s(q.language) && typeof q.updatedAt === 'number';
}

/** A document as another node shared it: the fields ranking reads. */
function isDocument(v: unknown): v is RobotDocument {
  const d = v as Partial<RobotDocument>;
  return typeof d.id === 'string' && typeof d.name === 'string' && typeof d.addedAt === 'number' && typeof d.size === 'number'
    && Array.isArray(d.passages) && d.passages.every((p) => typeof p === 'string');
}

/** `V` + year, month and day (not zero-padded), HHmmss in the app's time zone, and 8 random digits, as the console's records show. */
function versionOf(now: number, timeZone: string): string {
  const p = zonedParts(now, timeZone);
  const digits = String(Math.floor(Math.random() * 1e8)).padStart(8, '0');
  return `V${p.year}${Number(p.month)}${Number(p.day)}${p.hour}${p.minute}${p.second}${digits}`;
}

function sameLibrary(a: Library_, b: Library_): boolean {
  if (a.categories.size !== b.categories.size || a.questions.size !== b.questions.size) return false;
  for (const [id, c] of a.categories) if (JSON.stringify(c) !== JSON.stringify(b.categories.get(id))) return false;
  for (const [id, q] of a.questions) if (JSON.stringify(q) !== JSON.stringify(b.questions.get(id))) return false;
  return true;
}
