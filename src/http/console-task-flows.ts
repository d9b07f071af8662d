/**
 * The robot's task flows (product.md §4.6; this server's additions to openim_console_http_svc): add, update,
 * enable or disable, read, list and delete a flow, and run one dry with scripted inputs. Like the knowledge base,
 * a write goes to both environments unless it names `Environment: "test"`; desk_robot_publish makes production a
 * copy of test. Sessions run production's enabled flows.
 */
import { randomUUID } from 'node:crypto';
import { TASK_CALL_WAIT_MS } from '../../actors/session';
import { afterBranch, afterCall, afterForm, formValues, pickedOption, startFlow, testSystemValues, type TaskRun, type TaskStep } from '../../actors/task-flow';
import { robotOf, taskFlowsOf, type Robot } from '../../protocol/app-model';
import { INTERFACE_INVOCATION } from '../../protocol/rest/callbacks';
import { ok } from '../../protocol/rest/envelope';
import * as schema from '../../protocol/rest/task-flow';
import { checkTaskFlow, nodeOf, TaskFlowLimits, type TaskEnvironment, type TaskFlow, type TaskFlowDraft } from '../../protocol/task-flow';
import { KnowledgeCode } from '../knowledge/knowledge-base';
import { consoleEndpoint, robotIdOf, withRobot } from './console-common';
import { RestError, type Endpoint, type RestContext } from './facade';

const envOf = (ctx: RestContext): TaskEnvironment => (ctx.body.Environment === 'test' ? 'test' : 'production');

/** The definition in the body, checked; every problem is listed in the error. */
function draftOf(ctx: RestContext): TaskFlowDraft {
  const problems = checkTaskFlow(ctx.body.TaskFlow);
  if (problems.length > 0) throw new RestError(KnowledgeCode.BadParameter, `TaskFlow: ${problems.slice(0, 10).join('; ')}`);
  return ctx.body.TaskFlow as TaskFlowDraft;
}

/**
 * Writes the robot's flows: test only (`Environment: "test"`), or both environments, each changed from its own list
 * (so test's unpublished edits stay). Test keeps its own list only while it differs from production.
 */
async function writeFlows(ctx: RestContext, change: (flows: TaskFlow[], env: TaskEnvironment) => TaskFlow[], patch: Partial<Robot> = {}): Promise<void> {
  const robotId = robotIdOf(ctx);
  const robot: Robot = robotOf(ctx.app, robotId)!;
  const test = change(taskFlowsOf(ctx.app, robotId, 'test'), 'test');
  const production = envOf(ctx) === 'test' ? robot.taskFlows : change(robot.taskFlows ?? [], 'production');
  const { testTaskFlows: _old, ...rest } = robot;
  const same = JSON.stringify(test) === JSON.stringify(production ?? []);
  await ctx.saveApp(withRobot(ctx.app, { ...rest, ...patch, ...(production ? { taskFlows: production } : {}), ...(same ? {} : { testTaskFlows: test }) }));
}

function flowIn(flows: readonly TaskFlow[], id: number, env: TaskEnvironment): TaskFlow {
  const flow = flows.find((f) => f.id === id);
  if (!flow) throw new RestError(KnowledgeCode.ResourceInvalid, `no task flow ${id} in ${env}`);
  return flow;
}

const replaced = (flows: TaskFlow[], id: number, env: TaskEnvironment, patch: (f: TaskFlow) => TaskFlow): TaskFlow[] => {
  const flow = flowIn(flows, id, env);
  return flows.map((f) => (f === flow ? patch(f) : f));
};

function summary(f: TaskFlow): Record<string, unknown> {
  return { TaskFlowId: f.id, Name: f.name, Enabled: f.enabled ? 1 : 0, Intents: f.intents.length, Nodes: f.nodes.length, UpdateTime: Math.floor((f.updatedAt ?? 0) / 1000) };
}

export const taskFlowEndpoints: Endpoint[] = [
  consoleEndpoint('desk_robot_task_flow_add', schema.addTaskFlow, async (ctx) => {
    const draft = draftOf(ctx);
    const robotId = robotIdOf(ctx);
    const everyId = [...taskFlowsOf(ctx.app, robotId, 'test'), ...taskFlowsOf(ctx.app, robotId, 'production')].map((f) => f.id);
    const id = Math.max((robotOf(ctx.app, robotId)!.nextTaskFlowId ?? 1) - 1, ...everyId) + 1;
    const flow: TaskFlow = { ...draft, id, enabled: draft.enabled ?? true, updatedAt: ctx.now };
    await writeFlows(ctx, (flows) => {
      if (flows.length >= TaskFlowLimits.flows) throw new RestError(KnowledgeCode.BadParameter, `a robot has at most ${TaskFlowLimits.flows} task flows`);
      return [...flows, flow];
    }, { nextTaskFlowId: id + 1 });
    return ok({ TaskFlowId: id });
  }),

  consoleEndpoint('desk_robot_task_flow_update', schema.updateTaskFlow, async (ctx) => {
    const draft = draftOf(ctx);
    const id = ctx.body.TaskFlowId as number;
    await writeFlows(ctx, (flows, env) => replaced(flows, id, env, (f) => ({ ...draft, id, enabled: draft.enabled ?? f.enabled, updatedAt: ctx.now })));
    return ok();
  }),

  consoleEndpoint('desk_robot_task_flow_enable', schema.enableTaskFlow, async (ctx) => {
    const id = ctx.body.TaskFlowId as number;
    await writeFlows(ctx, (flows, env) => replaced(flows, id, env, (f) => ({ ...f, enabled: ctx.body.Enabled === 1, updatedAt: ctx.now })));
    return ok();
  }),

  consoleEndpoint('desk_robot_task_flow_delete', schema.oneTaskFlow, async (ctx) => {
    const id = ctx.body.TaskFlowId as number;
    await writeFlows(ctx, (flows, env) => flows.filter((f) => f !== flowIn(flows, id, env)));
    return ok();
  }),

  consoleEndpoint('desk_robot_task_flow_get', schema.oneTaskFlow, (ctx) => {
    const env = envOf(ctx);
    // The definition as update takes it back: its id and time are fields of the answer.
    const { updatedAt, id, ...flow } = flowIn(taskFlowsOf(ctx.app, robotIdOf(ctx), env), ctx.body.TaskFlowId as number, env);
    return ok({ TaskFlowId: id, TaskFlow: flow, UpdateTime: Math.floor((updatedAt ?? 0) / 1000) });
  }),

  consoleEndpoint('desk_robot_task_flow_list', schema.listTaskFlows, (ctx) => {
    const flows = taskFlowsOf(ctx.app, robotIdOf(ctx), envOf(ctx));
    return ok({ Total: flows.length, TaskFlows: flows.map(summary) });
  }),

  consoleEndpoint('desk_robot_task_flow_test', schema.testTaskFlow, async (ctx) => {
    const env: TaskEnvironment = ctx.body.Environment === 'production' ? 'production' : 'test';
    const flow = flowIn(taskFlowsOf(ctx.app, robotIdOf(ctx), env), ctx.body.TaskFlowId as number, env);
    return ok(await dryRun(ctx, flow, env));
  }),
];

type TestInput = { Text?: string; Form?: { name: string; variableValue: string }[] };
type ApiReply = { Failed?: 0 | 1; Body?: Record<string, unknown> };

/**
 * Walks a flow as a session would, with the inputs given, calling its API nodes (or taking `ApiReplies` in their
 * place), and says what each step sent, where it waited, what it called and how it ended.
 */
async function dryRun(ctx: RestContext, flow: TaskFlow, env: TaskEnvironment): Promise<Record<string, unknown>> {
  const inputs = [...(ctx.body.Inputs as TestInput[])];
  const replies = ctx.body.ApiReplies as ApiReply[] | undefined;
  const sys = testSystemValues;
  const steps: Record<string, unknown>[] = [];
  const waitingAt = (run: TaskRun | undefined) => {
    const node = run && nodeOf(flow, run.node);
    return node ? { WaitingAt: { NodeId: node.id, Kind: node.kind } } : {};
  };
  const record = (step: TaskStep, input?: TestInput): void => {
    steps.push({
      ...(input ? { Input: input } : {}),
      MsgBodies: [...step.say, ...(step.ask ? [step.ask] : [])],
      ...waitingAt(step.run),
      ...(step.call ? { Call: { Url: step.call.url, Body: step.call.body } } : {}),
      ...(step.transfer ? { Transfer: { GroupId: step.transfer.groupId ?? null } } : {}),
      ...(step.ended ? { Ended: step.ended } : {}),
      Variables: step.vars,
    });
  };
  let step = startFlow(flow, env, sys);
  record(step);
  // Each pass takes an input or an API reply; a flow cannot call without waiting in a loop (checkTaskFlow).
  for (let pass = 0; pass < schema.MAX_TEST_INPUTS * 4; pass++) {
    const run = step.run;
    const node = run && nodeOf(flow, run.node);
    if (!run || !node) break;
    if (node.kind === 'api') {
      const reply = replies ? replies.shift() : await called(ctx, step.call!);
      steps[steps.length - 1]!.CallReply = reply ?? { Failed: 1 };
      step = afterCall(flow, run, !!reply && reply.Failed !== 1, reply?.Body, sys);
      record(step);
      continue;
    }
    const input = inputs.shift();
    if (!input) break;
    if (node.kind === 'branch') {
      const option = input.Text !== undefined ? pickedOption(node, input.Text) : undefined;
      step = option ? afterBranch(flow, run, option, sys) : { say: [], vars: run.vars, ended: 'left' };
    } else if (node.kind === 'form') {
      const values = input.Form ? formValues(node, { inputVariables: input.Form }) : undefined;
      if (typeof values === 'string') {
        // A session refuses such a form, and the flow still waits for it.
        steps.push({ Input: input, Refused: values, MsgBodies: [], ...waitingAt(run), Variables: run.vars });
        continue;
      }
      step = values ? afterForm(flow, run, node, values, sys) : { say: [], vars: run.vars, ended: 'left' };
    }
    record(step, input);
  }
  const last = steps[steps.length - 1]!;
  return { Steps: steps, Ended: last.Ended ?? '', WaitingAt: last.WaitingAt ?? null, Variables: last.Variables };
}

/** One real call of an API node, as a session would make it; undefined when it gave no usable answer. */
async function called(ctx: RestContext, call: NonNullable<TaskStep['call']>): Promise<ApiReply | undefined> {
  const answer = await ctx.deps.askBackend?.({
    app: ctx.app.sdkAppId, url: call.url, command: INTERFACE_INVOCATION, tag: randomUUID(), timeoutMs: TASK_CALL_WAIT_MS,
    body: { CallbackCommand: INTERFACE_INVOCATION, Body: call.body, EventTime: ctx.now },
  });
  return answer?.ok ? { Body: (answer.answer as { Body?: Record<string, unknown> } | undefined)?.Body ?? {} } : undefined;
}
