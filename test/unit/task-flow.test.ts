/**
 * Task flows: the definition check, and a session walking a flow — started by its intent, a branch picked, a form
 * refused then accepted, the API call asked with the documented body, its answer (or its absence) deciding the way,
 * a transfer to the flow's group; a user who walks away; a fixed button clicked later; what is not published.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { SessionEvent } from '../../actors/session';
import { TASK_CALL_WAIT_MS } from '../../actors/session';
import { filler, MAX_FILLED_BYTES, testSystemValues } from '../../actors/task-flow';
import { DEFAULT_ROBOT_ID } from '../../protocol/app-model';
import { ErrorCode } from '../../protocol/errors';
import { INTERFACE_INVOCATION } from '../../protocol/rest/callbacks';
import { checkTaskFlow, type TaskFlow, type TaskFlowDraft } from '../../protocol/task-flow';
import { TaskIntents } from '../../src/knowledge/task-intents';
import { payloadOf, Sim, srcBody, srcOf, textBody, type SimOptions } from '../helpers/sim';

const draft = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../test/fixtures/task-flow-order.json'), 'utf8')) as TaskFlowDraft;
const FLOW: TaskFlow = { ...draft, id: 7, enabled: true };
const CAROL = 'carol@desk.test';

t.test('checkTaskFlow: a sound definition passes; each kind of mistake is named', async (t) => {
  t.same(checkTaskFlow(draft), [], 'the fixture is sound');
  const withNodes = (f: (nodes: any[]) => void): unknown => {
    const copy = structuredClone(draft) as any;
    f(copy.nodes);
    return copy;
  };
  t.match(checkTaskFlow(null), ['the task flow must be a JSON object']);
  t.match(checkTaskFlow({ ...draft, intents: [] }).join(), /intents/);
  t.match(checkTaskFlow({ ...draft, intents: Array(21).fill('x') }).join(), /intents/, 'at most 20 phrasings');
  t.match(checkTaskFlow({ ...draft, start: 'nowhere' }), ["start: no node 'nowhere'"]);
  t.match(checkTaskFlow(withNodes((n) => n.push({ kind: 'pause', id: 'p' }))).join(), /kind must be one of/);
  t.match(checkTaskFlow(withNodes((n) => n.push({ kind: 'end', id: 'greet' }))).join(), /'greet' is used twice/);
  t.match(checkTaskFlow(withNodes((n) => { n[0].next = 'gone'; })).join(), /node 'greet': no node 'gone'/);
  t.match(checkTaskFlow(withNodes((n) => { n[3].url = 'ftp://x'; })).join(), /url must start with http/);
  t.match(checkTaskFlow(withNodes((n) => { n[3].inputs[0].value = 'SystemPassword'; })).join(), /not a system variable/);
  t.match(checkTaskFlow(withNodes((n) => { delete n[2].fields[1].options; })).join(), /choice field '问题类型' has no options/);
  t.match(checkTaskFlow(withNodes((n) => { n[1].options = Array.from({ length: 21 }, (_, i) => ({ content: `o${i}` })); })).join(), /options/, 'at most 20 options');
  t.match(checkTaskFlow(withNodes((n) => { n[1].options[1].content = '查物流'; })).join(), /options must differ/);
  t.match(checkTaskFlow(withNodes((n) => { n[2].extra = 1; })).join(), /extra/, 'unknown fields are refused');
  t.match(checkTaskFlow(withNodes((n) => { n[5].next = 'check'; n[4].otherwise = 'report'; })).join(), /'check' → 'report' → 'check' loop without waiting/, 'a loop that never waits');
  t.same(checkTaskFlow(withNodes((n) => { n[9] = { kind: 'reply', id: 'bye', text: 'again', next: 'menu' }; })), [], 'a loop through a branch waits for the user, and is allowed');
});

/** A robot whose only knowledge is its task flows. */
function simWith(flows: TaskFlow[], o: SimOptions = {}): Sim {
  const intents = new TaskIntents();
  const sim = new Sim({
    members: ['alice@desk.test', { mail: CAROL, groupIds: [2] }],
    rank: (r) => (r.library === 'task' ? intents.rank(r.tasks ?? [], r.text, r.limit) : []),
    ...o,
  });
  sim.app.robots = { [DEFAULT_ROBOT_ID]: { id: DEFAULT_ROBOT_ID, nickname: 'robot', config: {}, taskFlows: flows } };
  return sim;
}

const taskEvents = (sim: Sim) => sim.trace.flatMap((s) => s.events as SessionEvent[]).filter((e): e is Extract<SessionEvent, { type: 'TaskChanged' }> => e.type === 'TaskChanged');
const lastOf = (sim: Sim, src: string) => sim.seen('user', 'u1').filter((f) => srcOf(f) === src).map((f) => payloadOf(f)!).at(-1);

function submit(sim: Sim, values: Record<string, string>) {
  return sim.userSend('u1', srcBody('33', { content: { inputVariables: Object.entries(values).map(([name, variableValue]) => ({ name, isRequired: 1, variableValue })) } }));
}

/** u1 has asked for the order flow and picked "查物流": the form waits. */
function atForm(o: SimOptions = {}): Sim {
  const sim = simWith([FLOW], o);
  sim.connect(CAROL);
  sim.enter('u1');
  sim.say('u1', '我想查一下我的订单');
  sim.say('u1', '查物流');
  return sim;
}

t.test('a flow from intent to transfer: branch, form, API call, condition, transfer to its group', async (t) => {
  const sim = simWith([FLOW]);
  sim.connect(CAROL);
  sim.enter('u1');
  sim.say('u1', '我想查一下我的订单');
  t.ok(sim.texts('u1').includes('好的，我来帮您查询订单。'), 'the reply node');
  const branch = lastOf(sim, '32')!;
  t.match(branch, { status: 0, optionType: 0, taskInfo: { taskID: 7, nodeID: 'menu', env: 'production' }, content: { header: '请选择要办理的业务', items: [{ content: '查物流' }, { content: '人工' }, { content: '不用了' }] } }, 'src 32 with the options');
  t.match(sim.session('u1').cur!.task, { flowId: 7, node: 'menu' });

  sim.say('u1', '查物流');
  t.match(lastOf(sim, '32'), { status: 2, content: { selected: { content: '查物流' } } }, 'the quick options show the pick and can no longer be picked');
  const form = lastOf(sim, '33')!;
  t.match(form, { taskInfo: { nodeID: 'order-form' }, content: { tip: '请填写订单信息', nodeStatus: 0, inputVariables: [{ name: '订单号', formType: 0, isRequired: 1, placeholder: '请输入订单号' }, { name: '问题类型', formType: 1, chooseItemList: ['未发货', '已发货'], isRequired: 0 }] } }, 'src 33 with the fields');

  const stored = sim.stored.length;
  t.match(submit(sim, { 订单号: '' }), { ok: false, code: ErrorCode.BadParameter, info: /'订单号' is required/ }, 'a required field left empty is refused');
  t.match(submit(sim, { 订单号: 'A1', 问题类型: '丢了' }), { ok: false, info: /must be one of: 未发货, 已发货/ }, 'a choice not offered is refused');
  t.equal(sim.stored.length, stored, 'a refused form is not stored');
  t.equal(sim.asks.length, 0);

  t.match(submit(sim, { 订单号: 'A100', 问题类型: '已发货' }), { ok: true });
  t.match(lastOf(sim, '33'), { content: { nodeStatus: 2, inputVariables: [{ variableValue: 'A100' }, { variableValue: '已发货' }] } }, 'the form shows what was submitted');
  t.equal(sim.asks.length, 1, 'the API node asks the backend');
  const { ask } = sim.asks[0]!;
  t.match(ask, {
    url: 'http://127.0.0.1:9/order', command: INTERFACE_INVOCATION, reply: 'taskCallAnswer',
    body: { CallbackCommand: INTERFACE_INVOCATION, Body: { SystemClientUserID: 'u1', SystemSessionID: sim.sid('u1'), orderId: 'A100', channel: 'desk' }, EventTime: sim.now },
  }, 'system, custom and fixed inputs');
  t.equal(sim.timerAt(sim.conv('u1'), 'taskCall'), sim.now + TASK_CALL_WAIT_MS, 'and waits a bounded time');

  sim.tell(sim.conv('u1'), { type: 'taskCallAnswer', sessionId: sim.sid('u1'), ok: true, answer: { Body: { status: 'delayed' } }, tag: 'stale' });
  sim.run();
  t.match(sim.session('u1').cur!.task, { node: 'lookup' }, 'an answer to another call is ignored');

  sim.tell(sim.conv('u1'), { type: 'taskCallAnswer', sessionId: sim.sid('u1'), ok: true, answer: { Body: { status: 'delayed', eta: '周五', other: 1 } }, tag: ask.tag });
  sim.run();
  t.ok(sim.texts('u1').includes('订单 A100 延误了，为您转人工处理。'), 'the output variable decides the condition and fills the reply');
  t.equal(sim.session('u1').cur!.task, undefined, 'the flow has ended');
  t.equal(sim.session('u1').cur!.agentId, CAROL, 'transferred to the flow\'s group (carol is its only member)');
  t.equal(sim.session('u1').cur!.groupId, 2);
  t.same(taskEvents(sim).map((e) => e.ended ?? e.task?.node), ['menu', 'order-form', 'lookup', 'transfer']);
  t.equal(sim.timerAt(sim.conv('u1'), 'taskCall'), undefined);
});

t.test('the call answered: the otherwise branch, templates filled, the end node', async (t) => {
  const sim = atForm();
  submit(sim, { 订单号: 'B7' });
  sim.tell(sim.conv('u1'), { type: 'taskCallAnswer', sessionId: sim.sid('u1'), ok: true, answer: { Body: { status: '运输中', eta: 3 } }, tag: sim.asks[0]!.ask.tag });
  sim.run();
  t.same(sim.texts('u1').slice(-2), ['订单 B7 状态：运输中，预计 3 送达。', '感谢咨询，再见！'], 'numbers kept as text');
  t.equal(sim.phase('u1'), 'Chatbot', 'still with the robot');
  t.equal(sim.session('u1').cur!.task, undefined);
});

t.test('a call that is not answered in time takes the error way; a late answer changes nothing', async (t) => {
  const sim = atForm();
  submit(sim, { 订单号: 'C1' });
  const tag = sim.asks[0]!.ask.tag;
  sim.advance(TASK_CALL_WAIT_MS);
  t.ok(sim.texts('u1').includes('查询服务暂时不可用。'), 'onError');
  t.equal(sim.session('u1').cur!.agentId, CAROL, 'and on to a human');
  const texts = sim.texts('u1').length;
  sim.tell(sim.conv('u1'), { type: 'taskCallAnswer', sessionId: sim.sid('u1'), ok: true, answer: { Body: { status: 'ok' } }, tag });
  sim.run();
  t.equal(sim.texts('u1').length, texts, 'the late answer is ignored');
});

t.test('a failed call with no error way ends the flow with the fallback message', async (t) => {
  const flow: TaskFlow = { ...FLOW, nodes: FLOW.nodes.map((n) => (n.kind === 'api' ? { ...n, onError: undefined } : n)) };
  const sim = simWith([flow]);
  sim.enter('u1');
  sim.say('u1', '查订单');
  sim.say('u1', '查物流');
  submit(sim, { 订单号: 'D1' });
  sim.tell(sim.conv('u1'), { type: 'taskCallAnswer', sessionId: sim.sid('u1'), ok: false, tag: sim.asks[0]!.ask.tag });
  sim.run();
  t.match(sim.texts('u1').at(-1), /还没有学会/, 'the robot\'s fallback');
  t.equal(sim.session('u1').cur!.task, undefined);
  t.equal(sim.phase('u1'), 'Chatbot');
});

t.test('a reply filled with long variables stays within a message\'s size', async (t) => {
  const flow: TaskFlow = {
    id: 8, name: 'echo', enabled: true, intents: ['echo'], start: 'set',
    nodes: [
      { kind: 'variables', id: 'set', set: [{ variable: 'a', value: '字'.repeat(1000) }], next: 'say' },
      { kind: 'reply', id: 'say', text: '${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}' },
    ],
  };
  const { id: _id, ...draft } = flow;
  t.same(checkTaskFlow(draft), [], 'a definition that may be written');
  const sim = simWith([flow]);
  sim.enter('u1');
  sim.say('u1', 'echo');
  const said = sim.texts('u1').at(-1)!;
  const size = Buffer.byteLength(JSON.stringify(said));
  t.ok(said.startsWith('字字字') && size <= MAX_FILLED_BYTES && size > MAX_FILLED_BYTES - 10, `cut to ${size} bytes of JSON`);
  const fill = filler({ a: `${'"\\'.repeat(3000)}${'😀'.repeat(600)}` }, testSystemValues);
  const escaped = fill('${a}${a}');
  t.ok(Buffer.byteLength(JSON.stringify(escaped)) <= MAX_FILLED_BYTES, 'quotes and backslashes count as a message carries them');
  const emoji = filler({ a: 'a'.repeat(8001) + '😀'.repeat(600) }, testSystemValues)('${a}');
  t.notMatch(emoji, /[\ud800-\udbff]$/, 'never cut inside a surrogate pair');
});

t.test('a user who walks away: the branch or form closes, and the text is answered as any other', async (t) => {
  const sim = simWith([FLOW]);
  sim.enter('u1');
  sim.say('u1', '查订单');
  sim.say('u1', '你们几点下班');
  t.match(lastOf(sim, '32'), { status: 1 }, 'quick options can no longer be picked');
  t.match(sim.texts('u1').at(-1), /还没有学会/, 'the text answered by the robot');
  t.equal(sim.session('u1').cur!.task, undefined);
  sim.say('u1', '查物流');
  t.equal(lastOf(sim, '33'), undefined, 'a late pick starts nothing');

  const form = atForm();
  form.say('u1', '算了');
  t.match(lastOf(form, '33'), { content: { nodeStatus: 1 } }, 'a form not submitted closes (L1306)');
  t.match(submit(form, { 订单号: 'E1' }), { ok: true }, 'a src 33 with no form waiting is an ordinary message');
  t.equal(form.asks.length, 0);
});

t.test('fixed buttons stay, and a click later resumes the flow at their node', async (t) => {
  const flow: TaskFlow = { ...FLOW, nodes: FLOW.nodes.map((n) => (n.kind === 'branch' ? { ...n, optionType: 1 as const } : n)) };
  const sim = simWith([flow]);
  sim.enter('u1');
  sim.say('u1', '查订单');
  sim.say('u1', '今天天气如何');
  t.match(lastOf(sim, '32'), { status: 0, optionType: 1 }, 'fixed buttons stay selectable');
  let random = 9000;
  const click = (text: string, info: unknown) => sim.call(sim.conv('u1'), (replyTo) => ({ type: 'userSend', random: ++random, body: textBody(text), cloudCustomData: JSON.stringify(info), conn: 1, replyTo }));
  click('不用了', { BranchOptionInfo: { taskID: 7, nodeID: 'menu', env: 'production' } });
  t.equal(sim.texts('u1').at(-1), '感谢咨询，再见！', 'the click resumed the flow at the branch');
  click('不用了', { BranchOptionInfo: { taskID: 99, nodeID: 'menu', env: 'production' } });
  t.match(sim.texts('u1').at(-1), /还没有学会/, 'a click naming no flow is an ordinary text');
});

t.test('a form answers only the form waiting: a copy of an earlier one, or one naming another, is refused', async (t) => {
  const sim = atForm();
  t.match(submit(sim, { 订单号: 'A1', 手机: '123' }), { ok: false, info: /'手机' is not a field of the form waiting/ });
  const stale = sim.userSend('u1', srcBody('33', { taskInfo: { taskID: 7, nodeID: 'menu', env: 'production' }, content: { inputVariables: [{ name: '订单号', variableValue: 'A1' }] } }));
  t.match(stale, { ok: false, info: /no longer waiting/ }, 'taskInfo naming another node');
  t.match(sim.session('u1').cur!.task, { node: 'order-form' }, 'the form still waits');
});

t.test('while the API call is out, what the user writes is answered and the flow goes on when the answer comes', async (t) => {
  const sim = atForm();
  submit(sim, { 订单号: 'B1' });
  const tag = sim.asks[0]!.ask.tag;
  sim.say('u1', '好的谢谢');
  t.match(sim.texts('u1').at(-1), /还没有学会/, 'answered as usual');
  t.match(sim.session('u1').cur!.task, { node: 'lookup', call: tag }, 'the flow still waits for its call');
  sim.tell(sim.conv('u1'), { type: 'taskCallAnswer', sessionId: sim.sid('u1'), ok: true, answer: { Body: { status: '运输中', eta: '明天' } }, tag });
  sim.run();
  t.same(sim.texts('u1').slice(-2), ['订单 B1 状态：运输中，预计 明天 送达。', '感谢咨询，再见！']);
});

t.test('a fixed button\'s click is taken only for a branch this session showed', async (t) => {
  const flow: TaskFlow = { ...FLOW, nodes: FLOW.nodes.map((n) => (n.kind === 'branch' ? { ...n, optionType: 1 as const } : n)) };
  const sim = simWith([flow]);
  sim.enter('u1');
  sim.call(sim.conv('u1'), (replyTo) => ({ type: 'userSend', random: 77, body: textBody('不用了'), cloudCustomData: JSON.stringify({ BranchOptionInfo: { taskID: 7, nodeID: 'menu', env: 'production' } }), conn: 1, replyTo }));
  t.match(sim.texts('u1').at(-1), /还没有学会/, 'a forged click is an ordinary text');
  t.equal(sim.session('u1').cur!.task, undefined);
});

t.test('a flow starts only when enabled and published, and only when its intent matches as well as the FAQ', async (t) => {
  const disabled = simWith([{ ...FLOW, enabled: false }]);
  disabled.enter('u1');
  disabled.say('u1', '查订单');
  t.equal(lastOf(disabled, '32'), undefined, 'a disabled flow does not start');

  const unpublished = simWith([]);
  unpublished.app.robots![DEFAULT_ROBOT_ID]!.testTaskFlows = [FLOW];
  unpublished.enter('u1');
  unpublished.say('u1', '查订单');
  t.equal(lastOf(unpublished, '32'), undefined, 'a flow only in test does not start in sessions');

  const faq = simWith([FLOW], {
    rank: (r) => (r.library === 'faq' ? [{ id: 'q1', question: '查订单', answer: 'FAQ answer', answerType: 0, score: 1, matched: '查订单' }]
      : r.library === 'task' ? [{ id: '7', question: '订单查询', answer: '', answerType: 0, score: 0.9, matched: '查订单' }] : []),
  });
  faq.enter('u1');
  faq.say('u1', '查订单');
  t.equal(faq.texts('u1').at(-1), 'FAQ answer', 'an FAQ that matches better answers instead');

  const human = simWith([FLOW]);
  human.connect('alice@desk.test');
  human.enter('u1');
  human.say('u1', '查订单');
  human.say('u1', '转人工');
  t.match(lastOf(human, '32'), { status: 1 }, 'asking for a human leaves the flow');
  t.equal(human.session('u1').cur!.agentId, 'alice@desk.test');
});
