/**
 * Request schemas of the task-flow endpoints (this server's additions to openim_console_http_svc, like the
 * documents'). The definition itself (`TaskFlow`) is checked by checkTaskFlow (protocol/task-flow.ts), which says
 * what is wrong in an operator's words.
 */
import { TaskFlowLimits } from '../task-flow';
import { extensions } from './knowledge';

const flowId = { type: 'number', integer: true, min: 1 } as const;
const definition = { type: 'object' } as const;

export const addTaskFlow = { $$strict: true, ...extensions, TaskFlow: definition } as const;
export const updateTaskFlow = { $$strict: true, ...extensions, TaskFlowId: flowId, TaskFlow: definition } as const;
export const enableTaskFlow = { $$strict: true, ...extensions, TaskFlowId: flowId, Enabled: { type: 'enum', values: [0, 1] } } as const;
export const oneTaskFlow = { $$strict: true, ...extensions, TaskFlowId: flowId } as const;
export const listTaskFlows = { $$strict: true, ...extensions } as const;

/** The inputs a dry run may be given, one per wait of the flow. */
export const MAX_TEST_INPUTS = 50;

/**
 * A dry run of a flow (the test environment's by default): the user's inputs in order — a text (a branch pick) or
 * a form's values — and, optionally, the API calls' replies in order instead of calling the URLs.
 */
export const testTaskFlow = {
  $$strict: true, ...extensions,
  TaskFlowId: flowId,
  Inputs: {
    type: 'array', max: MAX_TEST_INPUTS,
    items: {
      type: 'object', strict: true,
      props: {
        Text: { type: 'string', max: TaskFlowLimits.value, optional: true },
        Form: { type: 'array', optional: true, max: TaskFlowLimits.fields, items: { type: 'object', strict: true, props: { name: { type: 'string', max: TaskFlowLimits.option }, variableValue: { type: 'string', max: TaskFlowLimits.value } } } },
      },
    },
  },
  ApiReplies: {
    type: 'array', optional: true, max: MAX_TEST_INPUTS,
    items: { type: 'object', strict: true, props: { Failed: { type: 'enum', values: [0, 1], optional: true }, Body: { type: 'record', optional: true, key: { type: 'string', max: 64 }, value: { type: 'any' } } } },
  },
} as const;
