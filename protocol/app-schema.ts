/** fastest-validator schemas of the app model, shared by the config file and (later) the REST layer. */
import { weekdays } from './app-model';

const text = (max: number) => ({ type: 'string', max, optional: true }) as const;
const hhmm = { type: 'string', pattern: /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/ } as const;

export const promptsSchema = {
  type: 'object', optional: true, strict: true,
  props: {
    welcome: text(2000), transferring: text(2000), transferSuccess: text(2000), transferFailed: text(2000),
    queueing: text(2000), timeoutEnd: text(2000), activeEnd: text(2000), nonWorkingHours: text(2000),
  },
} as const;

const periodsWithinOneDay = { type: 'array', max: 24, items: { type: 'object', strict: true, props: { Start: hhmm, End: hhmm } } } as const;

export const workTimeSchema = {
  type: 'object', optional: true, strict: true,
  props: {
    Type: { type: 'enum', values: [0, 1, 2] },
    Periods: {
      type: 'array', optional: true, max: 7,
      items: { type: 'object', strict: true, props: { Day: { type: 'enum', values: [...weekdays] }, PeriodsWithinOneDay: periodsWithinOneDay } },
    },
    LegalWorkTime: {
      type: 'array', optional: true, max: 10,
      items: { type: 'object', strict: true, props: { WorkTimeType: { type: 'number', integer: true, min: 0, max: 99 }, PeriodsWithinOneDay: periodsWithinOneDay } },
    },
  },
} as const;

const localDates = { type: 'array', optional: true, max: 1000, items: { type: 'string', pattern: /^\d{4}-\d{2}-\d{2}$/ } } as const;

/** A URL that `fetch` can post to (the validator's `url` rule lets through hosts like `a b.com`). */
export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** How long a member's mail (its identifier) may be. */
export const MAX_MAIL = 128;

/** A UserID usable as an actor address part: no '|' (the address separator) and no control characters. */
export const userIdSchema = { type: 'string', min: 1, max: 64, pattern: /^[^|\x00-\x1f]+$/ } as const;

/** An account's assignment strategy: 0 default, 1 the user picks a group, 2 the app backend decides. */
export const assignmentStrategySchema = { type: 'enum', values: [0, 1, 2], optional: true } as const;
/** The member groups a user may pick from (assignment strategy 1). */
export const groupChoicesSchema = { type: 'array', optional: true, max: 100, items: { type: 'number', integer: true, min: 0 } } as const;

export const memberSchema = {
  type: 'object', strict: true,
  props: {
    mail: { type: 'email', max: MAX_MAIL },
    nickname: { type: 'string', min: 1, max: 64 },
    password: { type: 'string', min: 8, max: 128, optional: true },
    passwordHash: { type: 'string', max: 512, optional: true },
    roles: { type: 'array', optional: true, items: { type: 'enum', values: ['admin', 'staff'] } },
    groupIds: { type: 'array', optional: true, max: 100, items: { type: 'number', integer: true, min: 0 } },
    receptionLimit: { type: 'number', integer: true, min: 0, max: 1000, optional: true },
    disabled: { type: 'boolean', optional: true },
  },
} as const;

export const groupSchema = {
  type: 'object', strict: true,
  props: { id: { type: 'number', integer: true, min: 0 }, name: { type: 'string', min: 1, max: 64 } },
} as const;

export const csAccountSchema = {
  type: 'object', strict: true,
  props: {
    userId: userIdSchema,
    nickname: { type: 'string', max: 64, optional: true },
    avatar: { type: 'string', max: 500, optional: true },
    isDefault: { type: 'boolean', optional: true },
    chatbotDisabled: { type: 'boolean', optional: true },
    agentGroupId: { type: 'number', integer: true, min: 0, optional: true },
    robotId: { type: 'string', max: 64, optional: true },
    prompts: promptsSchema,
    userTimeoutSec: { type: 'number', integer: true, min: 0, max: 86400 * 7, optional: true },
    workTime: workTimeSchema,
    assignmentStrategy: assignmentStrategySchema,
    chooseSkillGroupPrompt: { type: 'string', max: 2000, optional: true },
    displayGroupsChoices: groupChoicesSchema,
    assignedByWebhookURL: { type: 'url', optional: true },
  },
} as const;

export const sessionSettingsSchema = {
  type: 'object', optional: true, strict: true,
  props: {
    receptionMode: { type: 'enum', values: ['auto', 'manual'], optional: true },
    acceptTimeoutSec: { type: 'number', integer: true, min: 0, max: 3600, optional: true },
    restAfterAcceptTimeout: { type: 'boolean', optional: true },
    maxConcurrentPerAgent: { type: 'number', integer: true, min: 1, max: 1000, optional: true },
    toHumanKeywords: { type: 'array', max: 100, optional: true, items: { type: 'string', min: 1, max: 64 } },
    robotIdleTimeoutSec: { type: 'number', integer: true, min: 0, max: 86400 * 7, optional: true },
    agentReplyTimeoutSec: { type: 'number', integer: true, min: 0, max: 86400, optional: true },
    agentOfflineGraceSec: { type: 'number', integer: true, min: 0, max: 3600, optional: true },
    queueOfflineGraceSec: { type: 'number', integer: true, min: 0, max: 86400, optional: true },
    timeZone: { type: 'string', max: 64, optional: true },
    statutoryCalendar: { type: 'object', optional: true, strict: true, props: { holidays: localDates, workdays: localDates } },
    satisfaction: {
      type: 'object', optional: true, strict: true,
      props: {
        enabled: { type: 'boolean', optional: true },
        invitationMethod: { type: 'enum', values: [1, 2, 3], optional: true },
        invitationText: text(500),
        submissionText: text(500),
        levels: { type: 'array', length: 5, optional: true, items: { type: 'string', min: 1, max: 32 } },
        validityHours: { type: 'number', integer: true, min: 1, max: 24 * 30, optional: true },
        displayType: { type: 'enum', values: [1, 2], optional: true },
      },
    },
    prompts: promptsSchema,
  },
} as const;

/** Where a model is served (an OpenAI-compatible API), and the key to it. */
const modelProvider = {
  baseUrl: { type: 'url' },
  model: { type: 'string', min: 1, max: 200 },
  apiKey: { type: 'string', min: 1, max: 1000, optional: true },
} as const;

/** The LLM provider of an app (LlmSettings). */
export const llmSettingsSchema = {
  type: 'object', optional: true, strict: true,
  props: {
    ...modelProvider,
    prompt: { type: 'string', min: 1, max: 8000, optional: true },
    knowledgeOnly: { type: 'boolean', optional: true },
    refusal: { type: 'string', min: 1, max: 2000, optional: true },
    timeoutMs: { type: 'number', integer: true, min: 1000, max: 300_000, optional: true },
  },
} as const;

/** The embeddings provider of an app (EmbeddingSettings). */
export const embeddingSettingsSchema = {
  type: 'object', optional: true, strict: true,
  props: {
    ...modelProvider,
    timeoutMs: { type: 'number', integer: true, min: 100, max: 60_000, optional: true },
    scoreFrom: { type: 'number', min: -1, max: 1, optional: true },
    scoreTo: { type: 'number', min: -1, max: 1, optional: true },
    margin: { type: 'number', min: 0, max: 0.5, optional: true },
  },
} as const;

export const appSchema = {
  type: 'object', strict: true,
  props: {
    sdkAppId: { type: 'number', integer: true, min: 1, max: 4294967295 },
    secretKey: { type: 'string', min: 16, max: 256, optional: true },
    adminIdentifier: { ...userIdSchema, optional: true },
    groups: { type: 'array', optional: true, max: 1000, items: groupSchema },
    members: { type: 'array', optional: true, max: 10000, items: memberSchema },
    csAccounts: { type: 'array', optional: true, max: 200, items: csAccountSchema },
    session: sessionSettingsSchema,
    callbacks: {
      type: 'object', optional: true, strict: true,
      props: {
        url: { type: 'url' },
        sessionEvents: { type: 'boolean', optional: true },
        thirdPartyBot: { type: 'boolean', optional: true },
        memberEvents: { type: 'boolean', optional: true },
        token: { type: 'string', min: 16, max: 256 },
      },
    },
    web: { type: 'object', optional: true, strict: true, props: { demoUserSig: { type: 'boolean' } } },
    llm: llmSettingsSchema,
    embeddings: embeddingSettingsSchema,
  },
} as const;
