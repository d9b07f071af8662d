/**
 * The app model: what an app is configured with. The config file declares it, the REST layer writes it,
 * the actors read it (frozen) from their context.
 */
import type { TaskEnvironment, TaskFlow } from './task-flow';

export const ReceptionMode = { Auto: 'auto', Manual: 'manual' } as const;
export type ReceptionMode = (typeof ReceptionMode)[keyof typeof ReceptionMode];

export interface WorkTimePeriod { Start: string; End: string }
export interface WorkTimeConfig {
  /** 0 off, 1 by weekday (`Periods`), 2 by the statutory calendar (`LegalWorkTime`). */
  Type: 0 | 1 | 2;
  Periods: { Day: Weekday; PeriodsWithinOneDay: WorkTimePeriod[] }[];
  /** Type 2: the hours of each kind of statutory day (see `StatutoryDay`). */
  LegalWorkTime?: { WorkTimeType: number; PeriodsWithinOneDay: WorkTimePeriod[] }[];
}
/** A working-hours plan as declared or sent, with its weekly list always present. */
export function workTimeOf(w: Omit<WorkTimeConfig, 'Periods'> & { Periods?: WorkTimeConfig['Periods'] }): WorkTimeConfig {
  return { Type: w.Type, Periods: w.Periods ?? [], ...(w.LegalWorkTime ? { LegalWorkTime: w.LegalWorkTime } : {}) };
}
/** The kinds of day of the statutory calendar (`WorkTimeType`): a working day, or a weekend or public holiday. */
export const StatutoryDay = { Workday: 1, RestDay: 2 } as const;
/**
 * The statutory calendar's exceptions to "Monday to Friday work" (local dates `YYYY-MM-DD`): public holidays, and the
 * weekend days made working days around them. They change every year, so the operator lists them.
 */
export interface StatutoryCalendar { holidays?: string[]; workdays?: string[] }
export const weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;
export type Weekday = (typeof weekdays)[number];

/** Per-account prompts; every field falls back to the app default prompts. */
export interface Prompts {
  welcome: string;
  transferring: string;
  transferSuccess: string;
  transferFailed: string;
  queueing: string;
  timeoutEnd: string;
  activeEnd: string;
  nonWorkingHours: string;
}

export interface Member {
  /** The member's account: an e-mail, also its IM UserID on the workbench. */
  mail: string;
  nickname: string;
  /** scrypt hash `scrypt$<salt b64>$<hash b64>`; empty when the member logs in by UserSig only. */
  passwordHash: string;
  /** Built-in roles; `superAdmin` holds every permission and cannot be modified (the product's super administrator). */
  roles: ('admin' | 'staff' | 'superAdmin')[];
  groupIds: number[];
  /** Per-member reception limit; used when `receptionLimitEnabled` (or, when that is unset, when above 0). */
  receptionLimit: number;
  receptionLimitEnabled?: boolean;
  disabled: boolean;
  avatar?: string;
  /** Forced offline: may not connect until restored (force_member_offline / restore_member_online). */
  kickOff?: boolean;
  /** When the member was created (ms), for the member lists' order. */
  createdAt?: number;
}

export interface Group {
  id: number;
  name: string;
  /** Reception limit of members of this group whose own limit is off (the largest of their groups applies). */
  receptionLimit?: number;
}

export interface CsAccount {
  userId: string;
  nickname: string;
  avatar: string;
  isDefault: boolean;
  chatbotDisabled: boolean;
  agentGroupId: number;
  robotId: string;
  prompts: Partial<Prompts>;
  /** User reply timeout in seconds; 0 disables it. */
  userTimeoutSec: number;
  workTime: WorkTimeConfig;
  /** 0 automatic, 1 the user chooses a group, 2 the business server decides (ChatBot.OnAssignHuman). */
  assignmentStrategy?: 0 | 1 | 2;
  chooseSkillGroupPrompt?: string;
  displayGroupsChoices?: number[];
  assignedByWebhookURL?: string;
  /** Desk.CallbackBeforeIMContactUser on for this account, and whether a missing answer refuses the contact. */
  contactCallback?: boolean;
  contactCallbackTimeoutRefuses?: boolean;
  /** GroupChatMode as given (the value's meaning is not published; nothing reads it). */
  groupChatMode?: number;
  /** Prompts per language tag, by prompt name (plus the choose-group prompt). */
  multilingual?: Partial<Record<keyof Prompts | 'chooseSkillGroup', Record<string, string>>>;
  /** The multilingual form's other settings per language tag ('' is the account's own, above). */
  languageSettings?: Record<string, LanguageSettings>;
}

/**
 * What one language of an account sets besides its prompts (add_im_agent_multilingual): stored and listed; a session
 * follows the account's own settings whatever its user's language.
 */
export interface LanguageSettings extends Partial<Pick<CsAccount, 'userTimeoutSec' | 'workTime' | 'assignmentStrategy' | 'displayGroupsChoices' | 'assignedByWebhookURL'>> {
  /** The language's rating settings, as given (the wire's `Satisfaction`). */
  satisfaction?: Record<string, unknown>;
}

/** How many customer-service accounts an app may have (the advanced edition's channel-account limit). */
export const MAX_CS_ACCOUNTS = 200;

export interface SatisfactionConfig {
  enabled: boolean;
  /** 1 auto-send after end, 2 agent invite, 3 both (auto-send only if the agent did not invite). */
  invitationMethod: 1 | 2 | 3;
  invitationText: string;
  submissionText: string;
  /** Labels of the five levels, worst first. */
  levels: [string, string, string, string, string];
  validityHours: number;
  /** 1 stars, 2 numbers. */
  displayType: 1 | 2;
  /** Texts per language tag (the wire's SatisfactionContentMultilingual, stored as given). */
  multilingual?: Record<string, Record<string, unknown>>;
}

export interface SessionSettings {
  receptionMode: ReceptionMode;
  /** Manual-accept timeout; 0 = no timeout. */
  acceptTimeoutSec: number;
  restAfterAcceptTimeout: boolean;
  maxConcurrentPerAgent: number;
  toHumanKeywords: string[];
  /** A robot-only session ends (ChatbotReception) after this much user silence. */
  robotIdleTimeoutSec: number;
  /** Agent reply timeout; 0 = off. */
  agentReplyTimeoutSec: number;
  /** How long an agent with no open socket stays online before going offline. */
  agentOfflineGraceSec: number;
  /** How long a queued user may be offline before the session ends (T17). */
  queueOfflineGraceSec: number;
  /** Time zone of working hours. */
  timeZone: string;
  /** Public holidays and working weekend days, for working hours of Type 2. */
  statutoryCalendar?: StatutoryCalendar;
  satisfaction: SatisfactionConfig;
  prompts: Prompts;
}

export interface AppModel {
  sdkAppId: number;
  secretKey: string;
  adminIdentifier: string;
  members: Record<string, Member>;
  groups: Record<string, Group>;
  csAccounts: Record<string, CsAccount>;
  session: SessionSettings;
  callbacks?: CallbackSettings;
  /** Robots by id (the default one always exists), and the knowledge-base languages ('' is the default). */
  robots?: Record<string, Robot>;
  languages?: string[];
  quickReplies?: QuickReplies;
  /** The id the next member group gets (ids are never reused). */
  nextGroupId?: number;
  /** Custom roles by id (ids from 1000; the built-in ones are 1, 5 and 7). */
  customRoles?: Record<string, CustomRole>;
  web?: WebSettings;
  /** The robot answers through a large language model (the product's 大模型 mode) instead of matching FAQs. */
  llm?: LlmSettings;
  /** The robot also matches questions by meaning, with an embeddings model (paraphrases that share no words). */
  embeddings?: EmbeddingSettings;
}

/**
 * An OpenAI-compatible embeddings provider (`POST <baseUrl>/embeddings`). A question's and each FAQ phrasing's
 * vectors are compared by cosine; `scoreFrom`..`scoreTo` of cosine map onto 0..1 of the robot's scores.
 */
export interface EmbeddingSettings {
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** How long a question waits for its vector before the robot answers by words alone. */
  timeoutMs: number;
  scoreFrom: number;
  scoreTo: number;
  /** How far (in score) a question matched by meaning must lead the runner-up to be answered directly. */
  margin: number;
}

export const defaultEmbeddingSettings = { timeoutMs: 3000, scoreFrom: 0.5, scoreTo: 0.9, margin: 0.05 } as const;

/**
 * An OpenAI-compatible chat-completions provider (`POST <baseUrl>/chat/completions`, streamed) and its guardrails.
 * The answer streams to the user as a `src 31` message.
 */
export interface LlmSettings {
  /** e.g. `https://api.openai.com/v1`, or a local server's. */
  baseUrl: string;
  model: string;
  /** Sent as `Authorization: Bearer …` when set. */
  apiKey?: string;
  /** The system prompt: who the robot is and how it answers. */
  prompt: string;
  /** Answer only from the robot's knowledge: with no FAQ close enough, the refusal, without asking the model. */
  knowledgeOnly: boolean;
  /** What the user gets when the model may not or cannot answer (refused, failed, timed out). */
  refusal: string;
  /** How long the model may take to start answering, and to finish. */
  timeoutMs: number;
}

export const defaultLlmSettings = { prompt: '你是客服助手，请简洁、礼貌地回答用户的问题。', knowledgeOnly: false, refusal: '抱歉，这个问题我暂时无法回答，您可以输入“转人工”联系人工客服。', timeoutMs: 20_000 } as const;

/** What the server's web pages may do for this app. */
export interface WebSettings {
  /** The chat page may ask for a UserSig for any user (POST /web/v1/demo_usersig): a demo, not for production. */
  demoUserSig: boolean;
}

export interface CustomRole {
  id: number;
  name: string;
  /** Only `CHAT_WORKBENCH` exists. */
  permissions: string[];
  members: string[];
  /** Member groups the role sees in the workbench (transfer targets). */
  memberGroupIds: number[];
}

export const FIRST_CUSTOM_ROLE_ID = 1000;

/** Quick replies: shared groups with a visibility scope, and members' personal replies. */
export interface QuickReplies {
  groups: Record<string, QuickReplyGroup>;
  replies: Record<string, QuickReply>;
  /** By member mail, then reply id. */
  personal: Record<string, Record<string, QuickReply>>;
}
export interface QuickReplyGroup { id: string; name: string; scopeType: 'all' | 'groups' | 'members'; scopeList: (string | number)[] }
export interface QuickReply { id: string; groupId: string; title: string; content: string }

/** Quick-reply groups an app may have (rest-api-extensions.md §4.1). */
export const MAX_QUICK_REPLY_GROUPS = 100;

/** The robot's base configuration (desc/update_robot_config), per language. */
export interface RobotConfig {
  welcomeCardEnable: boolean;
  welcomeCardTitle: string;
  welcomeCardQuestions: string[];
  toAgentEnable: boolean;
  directAnsweringReaches: number;
  chitchatEnable: boolean;
  chitchatReaches: number;
  clarifyEnable: boolean;
  clarifyReaches: number;
  clarifyMessage: string;
  clarifyNumber: number;
  fallbackMsg: string;
}

export interface Robot {
  id: string;
  nickname: string;
  /** Production configuration by language tag; a language without its own uses the default language's. */
  config: Record<string, RobotConfig>;
  /** The test environment's configuration, where it differs from production (edited, not yet published). */
  testConfig?: Record<string, RobotConfig>;
  /** Task flows sessions run (production). */
  taskFlows?: TaskFlow[];
  /** The test environment's task flows, while they differ from production (edited, not yet published). */
  testTaskFlows?: TaskFlow[];
  /** The id the next task flow gets (ids are never reused: a session or a button may still name a deleted one). */
  nextTaskFlowId?: number;
}

/** A robot's task flows in an environment (test: production's until edited). */
export function taskFlowsOf(app: AppModel, robotId: string, env: TaskEnvironment): TaskFlow[] {
  const r = robotOf(app, robotId);
  return (env === 'test' ? r?.testTaskFlows ?? r?.taskFlows : r?.taskFlows) ?? [];
}

export const defaultRobotConfig: Readonly<RobotConfig> = Object.freeze({
  welcomeCardEnable: false,
  welcomeCardTitle: '猜你想问',
  welcomeCardQuestions: [],
  toAgentEnable: true,
  directAnsweringReaches: 0.8,
  chitchatEnable: false,
  chitchatReaches: 0.8,
  clarifyEnable: false,
  clarifyReaches: 0.6,
  clarifyMessage: '您可能想问:',
  clarifyNumber: 5,
  fallbackMsg: '抱歉，我还没有学会这个问题，请换种问法或尝试询问我其他问题。',
});

export const LANGUAGE_TAGS = ['id', 'zh', 'zh-TW', 'en', 'vi', 'ja', 'fil'] as const;
/** Languages an app may have, the default one included (rest-api.md §2.28, advanced edition). */
export const MAX_LANGUAGES = 5;

/** A robot of the app (the default robot exists even in models stored before robots were). */
export function robotOf(app: AppModel, id: string): Robot | undefined {
  if (app.robots && Object.hasOwn(app.robots, id)) return app.robots[id];
  return id === DEFAULT_ROBOT_ID ? { id, nickname: 'Default robot', config: {} } : undefined;
}

/** The ids of an app's robots (the default robot's, in models stored before robots were). */
export const robotIdsOf = (app: AppModel): string[] => Object.keys(app.robots ?? { [DEFAULT_ROBOT_ID]: true });

/** The configuration a robot answers with in a language. */
export function robotConfig(app: AppModel, robotId: string, language = '', test = false): RobotConfig {
  const r = robotOf(app, robotId) ?? robotOf(app, DEFAULT_ROBOT_ID)!;
  const config = test && r.testConfig ? { ...r.config, ...r.testConfig } : r.config;
  return config[language] ?? config[''] ?? defaultRobotConfig;
}

/** The tag of an app's default language. */
export const DEFAULT_LANGUAGE = '';
export const languagesOf = (app: AppModel): string[] => app.languages ?? [DEFAULT_LANGUAGE];

/**
 * The knowledge language for a client's language (GAP-33: the client names it in its src 7 entry message): an added
 * language matched case-insensitively, UIKit spellings (`zh_tw`) included, by its base (`en-US` → `en`) if need be;
 * otherwise the default language ''.
 */
export function knowledgeLanguage(app: AppModel, requested: string | undefined): string {
  if (!requested) return '';
  const want = requested.replace(/_/g, '-').toLowerCase();
  const added = languagesOf(app).filter((l) => l !== '');
  return added.find((l) => l.toLowerCase() === want) ?? added.find((l) => l.toLowerCase() === want.split('-')[0]) ?? '';
}

/** Developer settings: where the app's backend receives callbacks. */
export interface CallbackSettings {
  url: string;
  /** Desk.SessionEventNotify on (the console's switch). */
  sessionEvents: boolean;
  /** Self-built AI: the robot does not answer; user messages reach the backend, which replies with send_msg. */
  thirdPartyBot: boolean;
  /** Member.EventNotify on: every change of a member's status. */
  memberEvents?: boolean;
  /** Key of the HMAC-SHA256 signature over each callback body. */
  token: string;
}

export const DEFAULT_CS_ACCOUNT = '@customer_service_account';
export const DEFAULT_ROBOT_ID = '@RBT#DeskDefaultRobot';
export const DEFAULT_GROUP_ID = 1;

export const defaultPrompts: Readonly<Prompts> = Object.freeze({
  welcome: '您好请问有什么可以帮助您的?',
  transferring: '正在为您转接，请稍候',
  transferSuccess: '转接人工成功，客服${StaffNickName}为您服务',
  transferFailed: '抱歉，当前无客服在线，请稍后再试',
  queueing: '您的问题我们已经收到。当前咨询人数较多，您目前排在第${QueuePosition}位，前面还有${WaitNo}人，感谢您的耐心等待',
  timeoutEnd: '由于您长时间未回复，本次服务已自动结束，感谢您的支持',
  activeEnd: '本次服务已结束，感谢您的支持',
  nonWorkingHours: '当前无客服在线，请您于工作时间咨询',
});

export function defaultSessionSettings(): SessionSettings {
  return {
    receptionMode: ReceptionMode.Auto,
    acceptTimeoutSec: 60,
    restAfterAcceptTimeout: false,
    maxConcurrentPerAgent: 5,
    toHumanKeywords: ['人工', '转人工', '人工客服', 'human', 'agent'],
    robotIdleTimeoutSec: 1800,
    agentReplyTimeoutSec: 0,
    agentOfflineGraceSec: 60,
    queueOfflineGraceSec: 60,
    timeZone: 'Asia/Shanghai',
    satisfaction: {
      enabled: true,
      invitationMethod: 3,
      invitationText: '请对本次服务进行评价',
      submissionText: '感谢您的评价',
      levels: ['非常不满意', '不满意', '一般', '满意', '非常满意'],
      validityHours: 12,
      displayType: 1,
    },
    prompts: { ...defaultPrompts },
  };
}

export function defaultCsAccount(userId: string, isDefault: boolean): CsAccount {
  return {
    userId, nickname: isDefault ? '智能客服' : userId, avatar: '', isDefault,
    chatbotDisabled: false, agentGroupId: DEFAULT_GROUP_ID, robotId: DEFAULT_ROBOT_ID,
    prompts: {}, userTimeoutSec: 600, workTime: { Type: 0, Periods: [] },
  };
}

/** The prompt an account uses: its own override, else the app default. */
export function prompt(app: AppModel, account: CsAccount, name: keyof Prompts): string {
  return account.prompts[name] ?? app.session.prompts[name];
}

/** A member who may work now: not disabled, not forced offline. */
export const memberActive = (m: Member | undefined): m is Member => !!m && !m.disabled && !m.kickOff;

/** Effective reception limit of a member. */
export function receptionLimit(app: AppModel, member: Member): number {
  if (member.receptionLimitEnabled ?? member.receptionLimit > 0) return member.receptionLimit;
  // The largest limit of the member's groups; a group without its own limit has the app's.
  let limit = 0;
  for (const g of member.groupIds) limit = Math.max(limit, groupOf(app, g)?.receptionLimit ?? app.session.maxConcurrentPerAgent);
  return limit > 0 ? limit : app.session.maxConcurrentPerAgent;
}

// Lookups by ids that come from outside: own properties only, so 'constructor' or '__proto__' name nothing.
export const memberOf = (app: AppModel, id: string): Member | undefined => (Object.hasOwn(app.members, id) ? app.members[id] : undefined);
export const accountOf = (app: AppModel, id: string): CsAccount | undefined => (Object.hasOwn(app.csAccounts, id) ? app.csAccounts[id] : undefined);
export const groupOf = (app: AppModel, id: number): Group | undefined => (Object.hasOwn(app.groups, String(id)) ? app.groups[String(id)] : undefined);

/** A UserID of the service side — a member, a customer-service account, the admin — which no user may take. */
export const serviceSideId = (app: AppModel, id: string): boolean => !!memberOf(app, id) || !!accountOf(app, id) || id === app.adminIdentifier;

/** The account users reach when they name none: the one marked default (the first, in a model that marks none). */
export const defaultAccountOf = (app: AppModel): CsAccount | undefined => {
  const accounts = Object.values(app.csAccounts);
  return accounts.find((a) => a.isDefault) ?? accounts[0];
};
