/**
 * Standard task flows (标准任务流, product.md §4.6): the definition an operator writes, its limits, and the check
 * that a definition can run. The robot starts a flow when a user's text matches one of its intents, and walks its
 * nodes: replies, branch options (src 32), forms (src 33), conditions, variables, API calls
 * (`Chatbot.InterfaceInvocation`), a transfer to a human, an end. The walk itself is actors/task-flow.ts.
 */
import Validator from 'fastest-validator';
import { isHttpUrl } from './app-schema';

export type TaskEnvironment = 'test' | 'production';

/** A value written into a message or a variable: `${name}` stands for a variable's value ('' when it has none). */
export type Template = string;

export interface ReplyNode { kind: 'reply'; id: string; name?: string; text?: Template; markdown?: Template; next?: string }
export interface BranchOption { content: string; desc?: string; next?: string }
/** `optionType` 0: quick options, gone once one is picked; 1: fixed buttons, which stay and resume the flow here. */
export interface BranchNode { kind: 'branch'; id: string; name?: string; header: Template; tail?: string; optionType: 0 | 1; options: BranchOption[] }
export interface FormField {
  name: string;
  /** 0 a text input, 1 a choice among `options`. */
  formType: 0 | 1;
  placeholder?: string;
  options?: string[];
  required: boolean;
  /** The variable the value is saved to (添加到变量); by default the field's name. */
  variable?: string;
}
export interface FormNode { kind: 'form'; id: string; name?: string; tip: string; fields: FormField[]; next?: string }
export const conditionOperators = ['equals', 'notEquals', 'contains', 'notContains', 'isEmpty', 'isNotEmpty', 'greaterThan', 'lessThan'] as const;
export type ConditionOperator = (typeof conditionOperators)[number];
export interface Condition { variable: string; operator: ConditionOperator; value?: Template }
/** Conditions of a group hold all (`and`) or any (`or`); the first group that holds picks its `next`. */
export interface ConditionGroup { join: 'and' | 'or'; conditions: Condition[]; next?: string }
export interface ConditionNode { kind: 'condition'; id: string; name?: string; groups: ConditionGroup[]; otherwise?: string }
export interface VariablesNode { kind: 'variables'; id: string; name?: string; set: { variable: string; value: Template }[]; next?: string }
/** An input parameter: a system variable, a custom variable, or a fixed value (product.md §4.6). */
export interface ApiInput { name: string; source: 'system' | 'variable' | 'fixed'; value: string }
/** An output parameter: the reply's `Body[field]` goes into `variable`. */
export interface ApiOutput { field: string; variable: string }
export interface ApiNode {
  kind: 'api'; id: string; name?: string; url: string; inputs: ApiInput[]; outputs: ApiOutput[];
  next?: string;
  /** Where a failed or unanswered call goes; without it the flow ends with the robot's fallback message. */
  onError?: string;
}
/** To a human: the account's own strategy, or a named member group. */
export interface TransferNode { kind: 'transfer'; id: string; name?: string; groupId?: number }
export interface EndNode { kind: 'end'; id: string; name?: string; text?: Template }
export type TaskNode = ReplyNode | BranchNode | FormNode | ConditionNode | VariablesNode | ApiNode | TransferNode | EndNode;
export type TaskNodeKind = TaskNode['kind'];

export interface TaskFlow {
  /** The integer task-flow id (taskID in src 32). */
  id: number;
  name: string;
  enabled: boolean;
  /** The start node's user phrasings (问法): a close match starts the flow. */
  intents: string[];
  description?: string;
  /** The first node after the start. */
  start: string;
  nodes: TaskNode[];
  updatedAt?: number;
}

/** The product's limits (L1290-1324), and this server's where the docs give none. */
export const TaskFlowLimits = {
  /** Per robot: the advanced edition's number (L1209). */
  flows: 50,
  name: 100,
  intents: 20,
  intent: 200,
  description: 1000,
  nodes: 100,
  nodeId: 64,
  text: 2000,
  options: 20,
  option: 200,
  guide: 200,
  fields: 10,
  groups: 10,
  conditions: 10,
  variable: 64,
  parameters: 20,
  url: 2000,
  /** A variable's value, and what a user may type into a form field. */
  value: 1000,
  /** Variables a run holds. */
  variables: 50,
} as const;

/** The system variables an API call may send (the two of the docs' example, and the account). */
export const systemVariables = ['SystemClientUserID', 'SystemSessionID', 'SystemCustomerServiceID'] as const;

const v = new Validator({ haltOnFirstError: false });
const L = TaskFlowLimits;
const nodeRef = { type: 'string', min: 1, max: L.nodeId, optional: true } as const;
const variableName = { type: 'string', min: 1, max: L.variable, pattern: /^[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff.-]*$/ } as const;
const shell = { id: { type: 'string', min: 1, max: L.nodeId, pattern: /^[^\x00-\x1f]+$/ }, name: { type: 'string', max: L.name, optional: true } } as const;
const template = (max: number = L.text) => ({ type: 'string', max }) as const;

const nodeChecks: Record<TaskNodeKind, ReturnType<typeof v.compile>> = {
  reply: v.compile({ $$strict: true, kind: 'string', ...shell, text: { ...template(), optional: true }, markdown: { ...template(), optional: true }, next: nodeRef }),
  branch: v.compile({
    $$strict: true, kind: 'string', ...shell,
    header: template(L.option), tail: { type: 'string', max: L.option, optional: true }, optionType: { type: 'enum', values: [0, 1] },
    options: { type: 'array', min: 1, max: L.options, items: { type: 'object', strict: true, props: { content: { type: 'string', min: 1, max: L.option }, desc: { type: 'string', max: L.option, optional: true }, next: nodeRef } } },
  }),
  form: v.compile({
    $$strict: true, kind: 'string', ...shell,
    tip: { type: 'string', min: 1, max: L.guide },
    fields: {
      type: 'array', min: 1, max: L.fields,
      items: {
        type: 'object', strict: true,
        props: {
          name: { type: 'string', min: 1, max: L.option }, formType: { type: 'enum', values: [0, 1] }, placeholder: { type: 'string', max: L.option, optional: true },
          options: { type: 'array', optional: true, min: 1, max: L.options, items: { type: 'string', min: 1, max: L.option } },
          required: 'boolean', variable: { ...variableName, optional: true },
        },
      },
    },
    next: nodeRef,
  }),
  condition: v.compile({
    $$strict: true, kind: 'string', ...shell,
    groups: {
      type: 'array', min: 1, max: L.groups,
      items: {
        type: 'object', strict: true,
        props: {
          join: { type: 'enum', values: ['and', 'or'] },
          conditions: { type: 'array', min: 1, max: L.conditions, items: { type: 'object', strict: true, props: { variable: variableName, operator: { type: 'enum', values: [...conditionOperators] }, value: { ...template(L.value), optional: true } } } },
          next: nodeRef,
        },
      },
    },
    otherwise: nodeRef,
  }),
  variables: v.compile({
    $$strict: true, kind: 'string', ...shell,
    set: { type: 'array', min: 1, max: L.parameters, items: { type: 'object', strict: true, props: { variable: variableName, value: template(L.value) } } },
    next: nodeRef,
  }),
  api: v.compile({
    $$strict: true, kind: 'string', ...shell,
    url: { type: 'string', min: 1, max: L.url },
    inputs: { type: 'array', max: L.parameters, items: { type: 'object', strict: true, props: { name: variableName, source: { type: 'enum', values: ['system', 'variable', 'fixed'] }, value: { type: 'string', max: L.value } } } },
    outputs: { type: 'array', max: L.parameters, items: { type: 'object', strict: true, props: { field: { type: 'string', min: 1, max: L.variable }, variable: variableName } } },
    next: nodeRef, onError: nodeRef,
  }),
  transfer: v.compile({ $$strict: true, kind: 'string', ...shell, groupId: { type: 'number', integer: true, min: 0, optional: true } }),
  end: v.compile({ $$strict: true, kind: 'string', ...shell, text: { ...template(), optional: true } }),
};

export const taskNodeKinds = Object.keys(nodeChecks) as TaskNodeKind[];

const checkShell = v.compile({
  $$strict: true,
  name: { type: 'string', min: 1, max: L.name },
  enabled: { type: 'boolean', optional: true },
  intents: { type: 'array', min: 1, max: L.intents, items: { type: 'string', min: 1, max: L.intent } },
  description: { type: 'string', max: L.description, optional: true },
  start: { type: 'string', min: 1, max: L.nodeId },
  nodes: { type: 'array', min: 1, max: L.nodes, items: { type: 'object' } },
});

/** A definition as written (REST, console): what `checkTaskFlow` reads before the server gives it an id. */
export type TaskFlowDraft = Omit<TaskFlow, 'id' | 'enabled' | 'updatedAt'> & { enabled?: boolean };

type Problems = string[];
const problemsOf = (where: string, r: true | { field: string; message?: string }[] | Promise<unknown>): Problems =>
  r === true || r instanceof Promise ? [] : r.map((e) => `${where}${e.message ?? e.field}`);

/** Where each node can go next. */
export function successors(n: TaskNode): string[] {
  switch (n.kind) {
    case 'reply': case 'form': case 'variables':
      return n.next ? [n.next] : [];
    case 'branch':
      return n.options.flatMap((o) => (o.next ? [o.next] : []));
    case 'condition':
      return [...n.groups.flatMap((g) => (g.next ? [g.next] : [])), ...(n.otherwise ? [n.otherwise] : [])];
    case 'api':
      return [...(n.next ? [n.next] : []), ...(n.onError ? [n.onError] : [])];
    case 'transfer': case 'end':
      return [];
  }
}

/** Nodes that wait for the user: a cycle must pass one, or the flow would run (and call its APIs) forever. */
const waits = (n: TaskNode): boolean => n.kind === 'branch' || n.kind === 'form';

/**
 * The problems that keep a definition from running, in words an operator can act on ([] when there are none):
 * the shape and limits, each node against its kind, node ids unique, every reference to a node that exists, the
 * start node among them, URLs that can be called, choice fields with options, and no loop that never waits.
 */
export function checkTaskFlow(input: unknown): Problems {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return ['the task flow must be a JSON object'];
  const problems = problemsOf('', checkShell(input));
  if (problems.length > 0) return problems;
  const flow = input as TaskFlowDraft;
  const ids = new Set<string>();
  flow.nodes.forEach((raw, i) => {
    const kind = (raw as { kind?: unknown }).kind;
    const check = typeof kind === 'string' && Object.hasOwn(nodeChecks, kind) ? nodeChecks[kind as TaskNodeKind] : undefined;
    if (!check) { problems.push(`nodes[${i}]: kind must be one of ${taskNodeKinds.join(', ')}`); return; }
    const found = problemsOf(`nodes[${i}] (${kind}): `, check(raw));
    problems.push(...found);
    if (found.length > 0) return;
    const n = raw as TaskNode;
    if (ids.has(n.id)) problems.push(`nodes[${i}]: the id '${n.id}' is used twice`);
    ids.add(n.id);
    if (n.kind === 'api' && !isHttpUrl(n.url)) problems.push(`node '${n.id}': url must start with http:// or https://`);
    if (n.kind === 'api') {
      for (const p of n.inputs) {
        if (p.source === 'system' && !(systemVariables as readonly string[]).includes(p.value)) problems.push(`node '${n.id}': '${p.value}' is not a system variable (${systemVariables.join(', ')})`);
      }
    }
    if (n.kind === 'form') {
      for (const f of n.fields) if (f.formType === 1 && !f.options?.length) problems.push(`node '${n.id}': the choice field '${f.name}' has no options`);
      if (new Set(n.fields.map((f) => f.name)).size !== n.fields.length) problems.push(`node '${n.id}': field names must differ`);
    }
    if (n.kind === 'branch' && new Set(n.options.map((o) => o.content)).size !== n.options.length) problems.push(`node '${n.id}': options must differ`);
    if (n.kind === 'reply' && !n.text && !n.markdown) problems.push(`node '${n.id}': a reply needs text or markdown`);
  });
  if (problems.length > 0) return problems;
  const nodes = flow.nodes as TaskNode[];
  if (!ids.has(flow.start)) problems.push(`start: no node '${flow.start}'`);
  for (const n of nodes) for (const to of successors(n)) if (!ids.has(to)) problems.push(`node '${n.id}': no node '${to}' to go to`);
  if (problems.length > 0) return problems;
  const loop = loopWithoutWait(nodes);
  if (loop) problems.push(`nodes ${loop.map((id) => `'${id}'`).join(' → ')} loop without waiting for the user`);
  return problems;
}

/** A cycle made only of nodes that do not wait, if there is one (depth-first search over those nodes). */
function loopWithoutWait(nodes: readonly TaskNode[]): string[] | undefined {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const n = byId.get(id)!;
    if (waits(n)) return undefined;
    if (state.get(id) === 2) return undefined;
    if (state.get(id) === 1) return [...path.slice(path.indexOf(id)), id];
    state.set(id, 1);
    path.push(id);
    for (const to of successors(n)) {
      const found = visit(to);
      if (found) return found;
    }
    path.pop();
    state.set(id, 2);
    return undefined;
  };
  for (const n of nodes) {
    const found = visit(n.id);
    if (found) return found;
  }
  return undefined;
}

/** The node of a flow with this id. */
export const nodeOf = (flow: TaskFlow, id: string): TaskNode | undefined => flow.nodes.find((n) => n.id === id);
