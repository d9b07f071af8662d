/** What the app's backend may answer to the callbacks Desk sends (rest-api.md §3). */

/** ChatBot.OnAssignHuman's reply: an OK envelope and, optionally, the decision. */
export const assignHumanReply = {
  $$root: true,
  type: 'object',
  props: {
    ActionStatus: { type: 'equal', value: 'OK' },
    ErrorCode: { type: 'equal', value: 0 },
    ErrorInfo: { type: 'string', optional: true, max: 1000 },
    AgentGroupId: { type: 'number', integer: true, min: 0, optional: true },
    AgentIdList: { type: 'array', optional: true, max: 100, items: { type: 'string', min: 1, max: 128 } },
    Priority: { type: 'number', integer: true, min: 0, max: 9, optional: true },
    AgentTransferDenied: { type: 'enum', values: [0, 1], optional: true },
  },
} as const;
