/**
 * Request schemas of the knowledge-base endpoints (rest-api.md §2.4–2.21), the robot publishing and online-test
 * endpoints, and QA optimisation. Every one also takes two fields of this server's own: `RobotId` (default: the
 * default robot, as the documented APIs take none) and `Environment` (`production`, the default, writes both
 * environments as the console's set-and-publish does and reads production; `test` writes and reads test only).
 */

/** Limits the docs do not publish. */
export const KnowledgeLimits = {
  title: 100,
  question: 500,
  /** Bytes: an answer goes out as one message, and message bodies stop at 12 KB. */
  answerBytes: 10_000,
  similar: 200,
  batch: 1000,
  pageSize: 1000,
} as const;

/** This server's additions: which robot (default: the default robot), and which environment (default: production). */
export const extensions = {
  RobotId: { type: 'string', min: 1, max: 64, optional: true },
  Environment: { type: 'enum', values: ['test', 'production'], optional: true },
} as const;
const categoryId = { type: 'number', integer: true, min: 1 } as const;
const questionId = { type: 'string', min: 1, max: 200 } as const;
const questionText = { type: 'string', min: 1, max: KnowledgeLimits.question } as const;
const similarList = { type: 'array', max: KnowledgeLimits.similar, items: questionText } as const;
const answerType = { type: 'enum', values: [0, 2] } as const;
export const languageTag = { type: 'string', max: 16, optional: true } as const;
const answer = { type: 'string', min: 1, max: KnowledgeLimits.answerBytes } as const;

export const deleteCategory = { $$strict: true, ...extensions, CategoryId: categoryId } as const;
export const batchSetStatus = {
  $$strict: true, ...extensions,
  StandardQuestionIds: { type: 'array', min: 1, max: KnowledgeLimits.batch, items: questionId },
  Status: { type: 'enum', values: [4, 5, 6] },
} as const;
export const updateCategory = { $$strict: true, ...extensions, CategoryId: categoryId, Title: { type: 'string', min: 1, max: KnowledgeLimits.title } } as const;
export const updateSimilar = { $$strict: true, ...extensions, StandardQuestionId: questionId, SimilarQuestions: similarList } as const;
/** "May be empty if not modifying": an omitted or empty field (and CategoryId 0) leaves it as it is. */
export const updateQuestion = {
  $$strict: true, ...extensions,
  StandardQuestionId: questionId,
  Question: { type: 'string', max: KnowledgeLimits.question, optional: true },
  Answer: { type: 'string', max: KnowledgeLimits.answerBytes, optional: true },
  AnswerType: { ...answerType, optional: true },
  CategoryId: { type: 'number', integer: true, min: 0, optional: true },
} as const;
export const addCategory = {
  $$strict: true, ...extensions,
  Title: { type: 'string', min: 1, max: KnowledgeLimits.title },
  ParentId: { type: 'number', integer: true, min: 0, optional: true },
} as const;
export const addQuestion = {
  $$strict: true, ...extensions,
  CategoryId: categoryId,
  Question: questionText,
  Answer: answer,
  AnswerType: { ...answerType, optional: true },
  SimilarQuestions: { ...similarList, optional: true },
  // Documented for add_faq; taken for add_chitchat too (this server keeps chitchat per language as well).
  LanguageTag: languageTag,
} as const;
export const listCategories = { $$strict: true, ...extensions } as const;
export const listQuestions = {
  $$strict: true, ...extensions,
  PageIndex: { type: 'number', integer: true, min: 1 },
  PageSize: { type: 'number', integer: true, min: 1, max: KnowledgeLimits.pageSize },
  Question: { type: 'string', max: KnowledgeLimits.question, optional: true },
  CategoryId: { type: 'number', integer: true, min: 0, optional: true },
  Status: { type: 'enum', values: [4, 5], optional: true },
  LanguageTag: languageTag,
} as const;

export const publish = { $$strict: true, RobotId: extensions.RobotId, Note: { type: 'string', max: 200, optional: true } } as const;
export const publishRecords = {
  $$strict: true, RobotId: extensions.RobotId,
  PageIndex: { type: 'number', integer: true, min: 1, optional: true },
  PageSize: { type: 'number', integer: true, min: 1, max: 100, optional: true },
} as const;
export const onlineTest = { $$strict: true, RobotId: extensions.RobotId, Question: questionText, LanguageTag: languageTag } as const;

/** Unanswered questions are clustered over a range of at most this many days (30 by default). */
export const MAX_CLUSTER_DAYS = 90;
export const unansweredClusters = {
  $$strict: true, RobotId: extensions.RobotId,
  StartTime: { type: 'number', integer: true, min: 0, optional: true },
  EndTime: { type: 'number', integer: true, min: 0, optional: true },
  LanguageTag: languageTag,
} as const;
/** Turn phrasings of a cluster into a new FAQ (CategoryId, Question, Answer) or into similar questions of one (StandardQuestionId). */
export const optimize = {
  $$strict: true, ...extensions,
  Questions: { type: 'array', min: 1, max: KnowledgeLimits.similar, items: questionText },
  StandardQuestionId: { ...questionId, optional: true },
  CategoryId: { ...categoryId, optional: true },
  Question: { ...questionText, optional: true },
  Answer: { ...answer, optional: true },
  AnswerType: { ...answerType, optional: true },
  LanguageTag: languageTag,
} as const;
