/**
 * The customer-service account endpoints' wire form (rest-api.md §2.31–2.34) and its mapping to the app model.
 * The wire names prompts by purpose (`EndPrompt`, `NotWorkTimePrompt`, …); the model by the console's names.
 */
import { workTimeOf, type CsAccount, type Prompts } from '../app-model';
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

const multilingualFields = {
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
  ...Object.fromEntries(Object.keys(multilingualFields).map((k) => [k, languageMap])),
};

const required = ['IMAgentNick', 'IMAgentAvatarUrl', ...Object.keys(promptFields), 'ChatbotDisabled', 'AgentGroupId', 'UserTimeout', 'WorkTimeConfig'];

export const addImAgent = {
  $$strict: true,
  ...configFields,
  ...Object.fromEntries(required.map((k) => [k, { ...(configFields as Record<string, object>)[k], optional: false }])),
};
export const updateImAgent = { $$strict: true, ...configFields, IMAgentUserID: { ...configFields.IMAgentUserID, optional: false } };
export const deleteImAgent = { $$strict: true, IMAgentUserID: { type: 'string', min: 1, max: 64 } } as const;
export const getImAgentList = { $$strict: true } as const;

/** The account with the wire fields of `body` applied (a partial update). */
export function applyAccountFields(base: CsAccount, body: Record<string, unknown>): CsAccount {
  const a: CsAccount = { ...base, prompts: { ...base.prompts }, multilingual: { ...(base.multilingual ?? {}) } };
  const has = (k: string): boolean => body[k] !== undefined;
  if (has('IMAgentNick')) a.nickname = body.IMAgentNick as string;
  if (has('IMAgentAvatarUrl')) a.avatar = body.IMAgentAvatarUrl as string;
  for (const [wire, name] of Object.entries(promptFields)) if (has(wire)) a.prompts[name] = body[wire] as string;
  for (const [wire, name] of Object.entries(multilingualFields)) if (has(wire)) a.multilingual![name] = body[wire] as Record<string, string>;
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
  for (const [wire, name] of Object.entries(multilingualFields)) if (a.multilingual?.[name]) out[wire] = a.multilingual[name];
  return out;
}
