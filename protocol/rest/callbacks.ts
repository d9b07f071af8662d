/** What the app's backend may answer to the callbacks Desk asks and waits for (rest-api.md §3, extensions §8). */

/** A reply that says yes: `OK` and error code 0. */
const okEnvelope = {
  ActionStatus: { type: 'equal', value: 'OK', strict: true },
  ErrorCode: { type: 'equal', value: 0, strict: true },
  ErrorInfo: { type: 'string', optional: true, max: 1000 },
} as const;

/** ChatBot.OnAssignHuman's reply: an OK envelope and, optionally, the decision. */
export const assignHumanReply = {
  $$root: true,
  type: 'object',
  props: {
    ...okEnvelope,
    AgentGroupId: { type: 'number', integer: true, min: 0, optional: true },
    AgentIdList: { type: 'array', optional: true, max: 100, items: { type: 'string', min: 1, max: 128 } },
    Priority: { type: 'number', integer: true, min: 0, max: 9, optional: true },
    AgentTransferDenied: { type: 'enum', values: [0, 1], optional: true },
  },
} as const;

/**
 * Chatbot.InterfaceInvocation's reply: an OK envelope and, optionally, `Body`, the variables it sets (GAP 47: the
 * docs show strings; other values are kept as text).
 */
export const interfaceInvocationReply = {
  $$root: true,
  type: 'object',
  props: {
    ...okEnvelope,
    Body: { type: 'record', optional: true, key: { type: 'string' }, value: { type: 'any' } },
  },
} as const;

/** Desk.CallbackBeforeIMContactUser's reply: an envelope; a non-zero ErrorCode refuses the contact. */
export const envelopeReply = {
  $$root: true,
  type: 'object',
  props: {
    ActionStatus: { type: 'string', max: 16 },
    ErrorCode: { type: 'number', integer: true },
    ErrorInfo: { type: 'string', optional: true, max: 1000 },
  },
} as const;

export const ASSIGN_HUMAN = 'ChatBot.OnAssignHuman';
/** A task flow's API-call node (rest-api.md §3.3; lower-case "b" as the docs spell it). */
export const INTERFACE_INVOCATION = 'Chatbot.InterfaceInvocation';
export const BEFORE_CONTACT_USER = 'Desk.CallbackBeforeIMContactUser';

/** The reply each asking callback must have to count as an answer. */
export const replySchemas: Record<string, object> = { [ASSIGN_HUMAN]: assignHumanReply, [BEFORE_CONTACT_USER]: envelopeReply, [INTERFACE_INVOCATION]: interfaceInvocationReply };
