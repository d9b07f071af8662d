/**
 * The customer-service account endpoints' wire form (rest-api.md §2.31–2.34) and its mapping to the app model.
 * The wire names prompts by purpose (`EndPrompt`, `NotWorkTimePrompt`, …); the model by the console's names.
 */
import { DEFAULT_LANGUAGE, workTimeOf, type CsAccount, type LanguageSettings, type Prompts } from '../app-model';
import { accountSatisfaction, mergeSatisfaction } from './satisfaction';
import { assignmentStrategySchema, groupChoicesSchema, userIdSchema, workTimeSchema } from '../app-schema';

/** Wire prompt field → model prompt name. */
export const promptFields = {
  WelcomeMessage: 'welcome',
  TransferToHumanPrompt: 'transferring',
  TransferToHumanSuccessPrompt: 'transferSuccess',
  TransferToHumanFailPrompt: 'transferFailed',
  QueueingPrompt: 'queueing',
  EndPrompt: 'activeEnd',
  TimeoutEndPrompt: 'timeoutEnd',
  NotWorkTimePrompt: 'nonWorkingHours',
} as const satisfies Record<string, keyof Prompts>;

const multilingualPromptFields = {
  ...Object.fromEntries(Object.entries(promptFields).map(([k, v]) => [`${k}Multilingual`, v])),
  ChooseSkillGroupPromptMultilingual: 'chooseSkillGroup',
} as Record<string, keyof Prompts | 'chooseSkillGroup'>;

const text = { type: 'string', max: 2000 } as const;
const languageMap = { type: 'record', optional: true, key: { type: 'string', max: 16 }, value: text } as const;
/** Every field of the configuration object, all optional (update_im_agent); add_im_agent's required ones below. */
const configFields = {
  IMAgentUserID: { ...userIdSchema, optional: true },
  IMAgentNick: { type: 'string', max: 64, optional: true },
  IMAgentAvatarUrl: { type: 'string', max: 500, optional: true },
  ...Object.fromEntries(Object.keys(promptFields).map((k) => [k, { ...text, optional: true }])),
  ChatbotDisabled: { type: 'enum', values: [0, 1], optional: true },
  AgentGroupId: { type: 'number', integer: true, min: 0, optional: true },
  UserTimeout: { type: 'number', integer: true, min: 0, max: 7 * 86400, optional: true },
  WorkTimeConfig: workTimeSchema,
  AssignmentStrategy: assignmentStrategySchema,
  ChooseSkillGroupPrompt: { ...text, optional: true },
  DisplayGroupsChoices: groupChoicesSchema,
  AssignedByWebhookURL: { type: 'url', optional: true },
  RobotId: { type: 'string', max: 64, optional: true },
  // Newer fields (rest-api-extensions.md §6.4): timeout strategy 0 lets the contact go ahead, 1 refuses it.
  CallbackSwitchBeforeIMContactUser: { type: 'enum', values: [0, 1], optional: true },
  ContactUserCallbackTimeoutStrategy: { type: 'enum', values: [0, 1], optional: true },
  GroupChatMode: { type: 'number', integer: true, min: 0, max: 99, optional: true },
  ...Object.fromEntries(Object.keys(multilingualPromptFields).map((k) => [k, languageMap])),
};

/** The given fields of the configuration, required. */
const requiredFields = (names: string[]) => Object.fromEntries(names.map((k) => [k, { ...(configFields as Record<string, object>)[k], optional: false }]));
const pickFields = (names: readonly string[]) => Object.fromEntries(names.map((k) => [k, (configFields as Record<string, object>)[k]]));

export const addImAgent = {
  $$strict: true,
  ...configFields,
  ...requiredFields(['IMAgentNick', 'IMAgentAvatarUrl', ...Object.keys(promptFields), 'ChatbotDisabled', 'AgentGroupId', 'UserTimeout', 'WorkTimeConfig']),
};
export const updateImAgent = { $$strict: true, ...configFields, ...requiredFields(['IMAgentUserID']) };
export const deleteImAgent = { $$strict: true, IMAgentUserID: { type: 'string', min: 1, max: 64 } } as const;
export const getImAgentList = { $$strict: true } as const;

/**
 * The multilingual form (rest-api-extensions.md §6.1–6.3): the account-wide fields at the top, everything a language
 * may set in `MultilingualSettings[<language tag>]`. The default language `""` holds the account's own settings (the
 * plain form's fields); another language's prompts are the plain form's `…Multilingual` maps.
 */
const accountWide = ['IMAgentUserID', 'IMAgentNick', 'IMAgentAvatarUrl', 'ChatbotDisabled', 'AgentGroupId', 'RobotId', 'GroupChatMode', 'CallbackSwitchBeforeIMContactUser', 'ContactUserCallbackTimeoutStrategy'] as const;
/** A language's fields, and the model field of each that is not a prompt. */
const languageModelFields = {
  UserTimeout: 'userTimeoutSec', WorkTimeConfig: 'workTime', AssignmentStrategy: 'assignmentStrategy', DisplayGroupsChoices: 'displayGroupsChoices', AssignedByWebhookURL: 'assignedByWebhookURL',
} as const satisfies Record<string, keyof LanguageSettings>;
/** A language's prompts, and their names in the account's `multilingual` maps. */
const languagePromptFields: Record<string, keyof Prompts | 'chooseSkillGroup'> = { ...promptFields, ChooseSkillGroupPrompt: 'chooseSkillGroup' };
const languageWire = [...Object.keys(languagePromptFields), ...Object.keys(languageModelFields)];
const multilingualFields = {
  ...pickFields(accountWide),
  MultilingualSettings: {
    type: 'record', optional: true, key: { type: 'string', max: 16 },
    value: { type: 'object', strict: true, props: { ...pickFields(languageWire), Satisfaction: accountSatisfaction } },
  },
};
export const addImAgentMultilingual = { $$strict: true, ...multilingualFields, ...requiredFields(['IMAgentNick', 'IMAgentAvatarUrl', 'ChatbotDisabled', 'AgentGroupId']) };
export const updateImAgentMultilingual = { $$strict: true, ...multilingualFields, ...requiredFields(['IMAgentUserID']) };
export const getImAgentListMultilingual = { $$strict: true, IMAgentUserIDList: { type: 'array', optional: true, max: 1000, items: { type: 'string', min: 1, max: 64 } } } as const;

/** The account with the multilingual form's fields of `body` applied (a partial update, language by language). */
export function applyMultilingualFields(base: CsAccount, body: Record<string, unknown>): CsAccount {
  let a = applyAccountFields(base, body);
  for (const [lang, given] of Object.entries((body.MultilingualSettings ?? {}) as Record<string, Record<string, unknown>>)) {
    if (lang !== DEFAULT_LANGUAGE) a = applyLanguage(a, lang, given);
    else a = applyAccountFields(a, given);
    if (given.Satisfaction !== undefined) {
      const prev = a.languageSettings?.[lang];
      a = { ...a, languageSettings: { ...a.languageSettings, [lang]: { ...prev, satisfaction: mergeSatisfaction(prev?.satisfaction, given.Satisfaction as Record<string, unknown>) } } };
    }
  }
  return a;
}

/** A language other than the default: its prompts go to the `…Multilingual` maps, the rest to its own settings. */
function applyLanguage(a: CsAccount, lang: string, given: Record<string, unknown>): CsAccount {
  const multilingual = { ...a.multilingual };
  for (const [wire, name] of Object.entries(languagePromptFields)) if (given[wire] !== undefined) multilingual[name] = { ...multilingual[name], [lang]: given[wire] as string };
  // The plain form's fields applied to the account give the model values; they are then filed under the language.
  const applied = applyAccountFields(a, given);
  const settings: LanguageSettings = { ...a.languageSettings?.[lang] };
  for (const [wire, field] of Object.entries(languageModelFields)) if (given[wire] !== undefined) Object.assign(settings, { [field]: applied[field] });
  return { ...a, multilingual, languageSettings: { ...a.languageSettings, [lang]: settings } };
}

/** The account in the multilingual form; `prompt` gives the effective text of each of its own prompts. */
export function multilingualAccountFields(a: CsAccount, prompt: (name: keyof Prompts) => string): Record<string, unknown> {
  const own = accountFields(a, prompt);
  const pick = (fields: Record<string, unknown>, names: readonly string[]) => Object.fromEntries(names.filter((k) => fields[k] !== undefined).map((k) => [k, fields[k]]));
  const satisfaction = (lang: string) => (a.languageSettings?.[lang]?.satisfaction ? { Satisfaction: a.languageSettings[lang].satisfaction } : {});
  const langs = new Set([...Object.values(a.multilingual ?? {}).flatMap((m) => Object.keys(m)), ...Object.keys(a.languageSettings ?? {})]);
  langs.delete(DEFAULT_LANGUAGE);
  const settings: Record<string, Record<string, unknown>> = { [DEFAULT_LANGUAGE]: { ...pick(own, languageWire), ...satisfaction(DEFAULT_LANGUAGE) } };
  for (const lang of langs) {
    const ls = a.languageSettings?.[lang] ?? {};
    const shown = accountFields({ ...a, ...ls }, prompt);
    settings[lang] = {
      ...Object.fromEntries(Object.entries(languagePromptFields).flatMap(([wire, name]) => (a.multilingual?.[name]?.[lang] !== undefined ? [[wire, a.multilingual[name]![lang]]] : []))),
      ...pick(shown, Object.entries(languageModelFields).filter(([, field]) => ls[field] !== undefined).map(([wire]) => wire)),
      ...satisfaction(lang),
    };
  }
  return { ...pick(own, accountWide), MultilingualSettings: settings };
}

/** The account with the wire fields of `body` applied (a partial update). */
export function applyAccountFields(base: CsAccount, body: Record<string, unknown>): CsAccount {
  const a: CsAccount = { ...base, prompts: { ...base.prompts }, multilingual: { ...(base.multilingual ?? {}) } };
  const has = (k: string): boolean => body[k] !== undefined;
  if (has('IMAgentNick')) a.nickname = body.IMAgentNick as string;
  if (has('IMAgentAvatarUrl')) a.avatar = body.IMAgentAvatarUrl as string;
  for (const [wire, name] of Object.entries(promptFields)) if (has(wire)) a.prompts[name] = body[wire] as string;
  for (const [wire, name] of Object.entries(multilingualPromptFields)) if (has(wire)) a.multilingual![name] = body[wire] as Record<string, string>;
  if (has('ChatbotDisabled')) a.chatbotDisabled = body.ChatbotDisabled === 1;
  if (has('AgentGroupId')) a.agentGroupId = body.AgentGroupId as number;
  if (has('UserTimeout')) a.userTimeoutSec = body.UserTimeout as number;
  if (has('WorkTimeConfig')) a.workTime = workTimeOf(body.WorkTimeConfig as CsAccount['workTime']);
  if (has('AssignmentStrategy')) a.assignmentStrategy = body.AssignmentStrategy as 0 | 1 | 2;
  if (has('ChooseSkillGroupPrompt')) a.chooseSkillGroupPrompt = body.ChooseSkillGroupPrompt as string;
  if (has('DisplayGroupsChoices')) a.displayGroupsChoices = body.DisplayGroupsChoices as number[];
  if (has('AssignedByWebhookURL')) a.assignedByWebhookURL = body.AssignedByWebhookURL as string;
  if (has('RobotId')) a.robotId = body.RobotId as string;
  if (has('CallbackSwitchBeforeIMContactUser')) a.contactCallback = body.CallbackSwitchBeforeIMContactUser === 1;
  if (has('ContactUserCallbackTimeoutStrategy')) a.contactCallbackTimeoutRefuses = body.ContactUserCallbackTimeoutStrategy === 1;
  if (has('GroupChatMode')) a.groupChatMode = body.GroupChatMode as number;
  return a;
}

/** The account as get_im_agent_list shows it; `prompt` gives the effective text of each prompt. */
export function accountFields(a: CsAccount, prompt: (name: keyof Prompts) => string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    IMAgentUserID: a.userId, IMAgentNick: a.nickname, IMAgentAvatarUrl: a.avatar,
    ChatbotDisabled: a.chatbotDisabled ? 1 : 0, AgentGroupId: a.agentGroupId, UserTimeout: a.userTimeoutSec,
    WorkTimeConfig: a.workTime, AssignmentStrategy: a.assignmentStrategy ?? 0, RobotId: a.robotId, IsDefault: a.isDefault ? 1 : 0,
    CallbackSwitchBeforeIMContactUser: a.contactCallback ? 1 : 0, ContactUserCallbackTimeoutStrategy: a.contactCallbackTimeoutRefuses ? 1 : 0,
    GroupChatMode: a.groupChatMode ?? 0,
  };
  for (const [wire, name] of Object.entries(promptFields)) out[wire] = prompt(name);
  if (a.chooseSkillGroupPrompt !== undefined) out.ChooseSkillGroupPrompt = a.chooseSkillGroupPrompt;
  if (a.displayGroupsChoices !== undefined) out.DisplayGroupsChoices = a.displayGroupsChoices;
  if (a.assignedByWebhookURL !== undefined) out.AssignedByWebhookURL = a.assignedByWebhookURL;
  for (const [wire, name] of Object.entries(multilingualPromptFields)) if (a.multilingual?.[name]) out[wire] = a.multilingual[name];
  return out;
}
