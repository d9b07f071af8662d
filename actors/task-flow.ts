/**
 * Walking a standard task flow (product.md §4.6): from a node, through the nodes that do not wait (replies,
 * variables, conditions), to the next one that does (branch options, a form, an API call) or to the flow's end
 * (an end node, a transfer, a dead end). Pure: the session sends what a step says and makes the call it asks for;
 * the REST dry run (src/http/console-task-flows.ts) walks the same way.
 */
import { custom, Src, text, type TimMsgElement } from '../protocol/im';
import {
  nodeOf, systemVariables, TaskFlowLimits, type BranchNode, type Condition, type FormNode, type TaskEnvironment, type TaskFlow, type TaskNode,
} from '../protocol/task-flow';

/** A flow waiting at a node: a branch or form for the user, or an API call's answer (`call` tells calls apart). */
export interface TaskRun {
  flowId: number;
  env: TaskEnvironment;
  node: string;
  vars: Record<string, string>;
  call?: string;
}

export type SystemValues = Record<(typeof systemVariables)[number], string>;
/** What a test run (online test, dry run) has for a user, session and account. */
export const testSystemValues: SystemValues = Object.freeze({ SystemClientUserID: 'test-user', SystemSessionID: 'test-session', SystemCustomerServiceID: 'test-account' });

/** How a flow ended: its end, a transfer, a dead end (no condition held, a node gone, too long), a failed call, or the user went elsewhere. */
export type TaskEnd = 'end' | 'transfer' | 'noMatch' | 'failed' | 'tooLong' | 'missing' | 'left';

export interface TaskStep {
  /** Messages for the user, in order. */
  say: TimMsgElement[][];
  /** The waiting node's own message (src 32 or src 33), sent after `say`. */
  ask?: TimMsgElement[];
  /** The flow waits at fixed buttons (a click may come back to them later). */
  buttons?: true;
  /** Where the flow waits now; absent when it ended. */
  run?: TaskRun;
  /** The flow's variables after the step (also when it ended). */
  vars: Record<string, string>;
  /** The API call to make now (`run` waits at its node). */
  call?: { url: string; body: Record<string, string> };
  /** The flow hands the user to a human: the account's strategy, or this group. */
  transfer?: { groupId?: number };
  ended?: TaskEnd;
}

/** Nodes walked for one input at most: a definition cannot loop without waiting, this bounds it anyway. */
const MAX_STEPS = 100;

/** Starts a flow at its first node. */
export function startFlow(flow: TaskFlow, env: TaskEnvironment, sys: SystemValues): TaskStep {
  return walk(flow, env, {}, flow.start, sys, []);
}

/** The option of a waiting branch the user's text picks (exactly, as src 15 and src 32 pick), if any. */
export function pickedOption(node: BranchNode, input: string): BranchNode['options'][number] | undefined {
  const s = input.trim();
  return node.options.find((o) => o.content === s);
}

/** Goes on from a branch after the user picked `option`. */
export function afterBranch(flow: TaskFlow, run: Pick<TaskRun, 'env' | 'vars'>, option: BranchNode['options'][number], sys: SystemValues): TaskStep {
  return option.next ? walk(flow, run.env, { ...run.vars }, option.next, sys, []) : { say: [], vars: run.vars, ended: 'end' };
}

/** Goes on from a form with the values it was submitted with (see `formValues`). */
export function afterForm(flow: TaskFlow, run: TaskRun, node: FormNode, values: Record<string, string>, sys: SystemValues): TaskStep {
  const vars = { ...run.vars };
  for (const f of node.fields) setVar(vars, f.variable ?? f.name, values[f.name] ?? '');
  return node.next ? walk(flow, run.env, vars, node.next, sys, []) : { say: [], vars, ended: 'end' };
}

/** Goes on from an API call: its reply's `Body` fills the output variables; a failure goes to `onError`. */
export function afterCall(flow: TaskFlow, run: TaskRun, ok: boolean, body: Record<string, unknown> | undefined, sys: SystemValues): TaskStep {
  const node = nodeOf(flow, run.node);
  if (node?.kind !== 'api') return { say: [], vars: run.vars, ended: 'missing' };
  const vars = { ...run.vars };
  if (!ok) return node.onError ? walk(flow, run.env, vars, node.onError, sys, []) : { say: [], vars, ended: 'failed' };
  for (const o of node.outputs) {
    if (body && Object.hasOwn(body, o.field)) setVar(vars, o.variable, valueText(body[o.field]));
  }
  return node.next ? walk(flow, run.env, vars, node.next, sys, []) : { say: [], vars, ended: 'end' };
}

/**
 * A submitted form's values by field name, or what is wrong with them: only this form's fields (a copy of another
 * form is not taken for it), required fields filled, a choice one of its options, values no longer than a variable
 * holds.
 */
export function formValues(node: FormNode, content: unknown): Record<string, string> | string {
  const list = (content as { inputVariables?: unknown } | undefined)?.inputVariables;
  if (!Array.isArray(list)) return 'src 33 needs content.inputVariables, a list of {name, variableValue}';
  const given = new Map<string, string>();
  for (const item of list) {
    const name = (item as { name?: unknown } | null)?.name;
    const value = (item as { variableValue?: unknown } | null)?.variableValue;
    if (typeof name !== 'string' || typeof value !== 'string') continue;
    if (!node.fields.some((f) => f.name === name)) return `'${name.slice(0, 64)}' is not a field of the form waiting`;
    given.set(name, value.trim());
  }
  const values: Record<string, string> = {};
  for (const f of node.fields) {
    const value = given.get(f.name) ?? '';
    if (f.required && !value) return `'${f.name}' is required`;
    if (value.length > TaskFlowLimits.value) return `'${f.name}' is longer than ${TaskFlowLimits.value} characters`;
    if (value && f.formType === 1 && !f.options!.includes(value)) return `'${f.name}' must be one of: ${f.options!.join(', ')}`;
    values[f.name] = value;
  }
  return values;
}

function walk(flow: TaskFlow, env: TaskEnvironment, vars: Record<string, string>, from: string, sys: SystemValues, say: TimMsgElement[][]): TaskStep {
  let id = from;
  for (let steps = 0; steps < MAX_STEPS; steps++) {
    const node = nodeOf(flow, id);
    if (!node) return { say, vars, ended: 'missing' };
    const fill = filler(vars, sys);
    let next: string | undefined;
    switch (node.kind) {
      case 'reply':
        say.push(node.markdown ? [custom({ src: Src.RichText, content: fill(node.markdown) })] : [text(fill(node.text ?? ''))]);
        next = node.next;
        break;
      case 'variables':
        for (const s of node.set) setVar(vars, s.variable, fill(s.value));
        next = node.next;
        break;
      case 'condition': {
        const group = node.groups.find((g) => (g.join === 'and' ? g.conditions.every : g.conditions.some).call(g.conditions, (c: Condition) => holds(c, lookup(vars, sys, c.variable), fill(c.value ?? ''))));
        if (!group) {
          if (!node.otherwise) return { say, vars, ended: 'noMatch' };
          next = node.otherwise;
        } else next = group.next;
        break;
      }
      case 'branch':
        return { say, vars, ask: branchBody(flow, env, node, fill, 0), run: { flowId: flow.id, env, node: node.id, vars }, ...(node.optionType === 1 ? { buttons: true as const } : {}) };
      case 'form':
        return { say, vars, ask: formBody(flow, env, node, 0), run: { flowId: flow.id, env, node: node.id, vars } };
      case 'api': {
        const body: Record<string, string> = {};
        for (const p of node.inputs) body[p.name] = p.source === 'fixed' ? fill(p.value) : lookup(vars, sys, p.value);
        return { say, vars, call: { url: node.url, body }, run: { flowId: flow.id, env, node: node.id, vars } };
      }
      case 'transfer':
        return { say, vars, transfer: node.groupId === undefined ? {} : { groupId: node.groupId }, ended: 'transfer' };
      case 'end':
        if (node.text) say.push([text(fill(node.text))]);
        return { say, vars, ended: 'end' };
    }
    if (next === undefined) return { say, vars, ended: 'end' };
    id = next;
  }
  return { say, vars, ended: 'tooLong' };
}

/** Fills a template's `${name}` with the variable's value ('' for one not set), at most MAX_FILLED_BYTES of it. */
export const filler = (vars: Record<string, string>, sys: SystemValues) => (s: string): string =>
  bounded(s.replace(/\$\{([^}]{1,64})\}/g, (_, name: string) => lookup(vars, sys, name.trim())));

/**
 * What a filled template may grow to, in UTF-8 bytes of its JSON string (as a message carries it, quotes and
 * backslashes escaped): an FAQ answer's limit, a message body stopping at 12 KB.
 */
export const MAX_FILLED_BYTES = 10_000;

const jsonBytes = (s: string): number => Buffer.byteLength(JSON.stringify(s));

/** The longest start of `s` within MAX_FILLED_BYTES, cut between characters (never inside a surrogate pair). */
function bounded(s: string): string {
  if (jsonBytes(s) <= MAX_FILLED_BYTES) return s;
  const chars = Array.from(s);
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (jsonBytes(chars.slice(0, mid).join('')) <= MAX_FILLED_BYTES) lo = mid;
    else hi = mid - 1;
  }
  return chars.slice(0, lo).join('');
}

function lookup(vars: Record<string, string>, sys: SystemValues, name: string): string {
  if (Object.hasOwn(vars, name)) return vars[name]!;
  return Object.hasOwn(sys, name) ? sys[name as keyof SystemValues] : '';
}

/** Sets a variable; a run holds at most TaskFlowLimits.variables of them, each at most TaskFlowLimits.value long. */
function setVar(vars: Record<string, string>, name: string, value: string): void {
  if (!Object.hasOwn(vars, name) && Object.keys(vars).length >= TaskFlowLimits.variables) return;
  vars[name] = value.slice(0, TaskFlowLimits.value);
}

/** A reply's value as a variable holds it: text as it is, anything else as JSON. */
function valueText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function holds(c: Condition, value: string, expected: string): boolean {
  switch (c.operator) {
    case 'equals': return value.trim() === expected.trim();
    case 'notEquals': return value.trim() !== expected.trim();
    case 'contains': return value.includes(expected);
    case 'notContains': return !value.includes(expected);
    case 'isEmpty': return value.trim() === '';
    case 'isNotEmpty': return value.trim() !== '';
    case 'greaterThan':
    case 'lessThan': {
      // Numbers only: a text compared as a number holds no condition.
      const a = value.trim() === '' ? NaN : Number(value);
      const b = expected.trim() === '' ? NaN : Number(expected);
      if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
      return c.operator === 'greaterThan' ? a > b : a < b;
    }
  }
}

const taskInfo = (flow: TaskFlow, env: TaskEnvironment, node: TaskNode) => ({ taskID: flow.id, nodeID: node.id, env });

/**
 * The src 32 message of a branch node (L5897-5927). `status` 0 selectable, 1 no longer, 2 picked (`selected`, this
 * server's addition as in src 15, says which).
 */
export function branchBody(flow: TaskFlow, env: TaskEnvironment, node: BranchNode, fill: (s: string) => string, status: 0 | 1 | 2, selected?: string): TimMsgElement[] {
  return [custom({
    src: Src.TaskBranch, status, optionType: node.optionType, taskInfo: taskInfo(flow, env, node),
    content: { header: fill(node.header), items: node.options.map((o) => ({ content: o.content, desc: o.desc ?? '' })), tail: node.tail ?? '', ...(selected !== undefined ? { selected: { content: selected } } : {}) },
  })];
}

/** The src 33 message of a form node (L5975-6027): `nodeStatus` 0 editable, 1 closed unsubmitted, 2 submitted (with its values). */
export function formBody(flow: TaskFlow, env: TaskEnvironment, node: FormNode, nodeStatus: 0 | 1 | 2, values: Record<string, string> = {}): TimMsgElement[] {
  return [custom({
    src: Src.TaskForm, taskInfo: taskInfo(flow, env, node),
    content: {
      tip: node.tip,
      inputVariables: node.fields.map((f) => ({
        type: 'string', name: f.name, formType: f.formType, ...(f.placeholder !== undefined ? { placeholder: f.placeholder } : {}),
        ...(f.formType === 1 ? { chooseItemList: f.options } : {}), isRequired: f.required ? 1 : 0, variableValue: values[f.name] ?? '',
      })),
      nodeStatus,
    },
  })];
}
