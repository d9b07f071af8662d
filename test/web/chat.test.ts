/**
 * The user chat page in a real browser: signed links and demo sign-in, every Desk `src` message rendered (and
 * answered where it asks for an answer), markup in rich text kept inert, reconnecting with history, keyboard use,
 * both UI languages, and no serious accessibility faults.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { genUserSig } from '../../protocol/usersig';
import { CS, KEY, startTestServer, testApp, type TestServer } from '../helpers/server';
import { PHONE, DESKTOP, accessibilityFaults, closeBrowser, framePath, person, screenshot, watchErrors } from '../helpers/browser';
import { rest } from '../contract/rest-client';
import { tcpProxy } from '../helpers/tcp-proxy';
import { fakeBackend } from '../helpers/fake-backend';
import fs from 'node:fs';
import path from 'node:path';

let server: TestServer;
const errors: string[] = [];

t.before(async () => {
  server = await startTestServer(testApp(['alice@desk.test'], {}, { web: { demoUserSig: true } }));
});
t.teardown(async () => {
  await closeBrowser();
  await server?.stop();
});

const api = () => ({ port: server.port, sdkAppId: server.apps.all()[0]!.sdkAppId, key: KEY, admin: 'administrator' });
const signedLink = (userId: string, extra = '') =>
  `http://127.0.0.1:${server.port}/chat/?sdkappid=${api().sdkAppId}&userid=${userId}&usersig=${encodeURIComponent(genUserSig(api().sdkAppId, KEY, userId, 3600))}${extra}`;

async function open(url: string, viewport = PHONE, locale = 'zh-CN'): Promise<Page> {
  const page = await (await person(viewport, locale)).newPage();
  watchErrors(page, errors);
  await page.goto(url);
  return page;
}

const custom = (payload: Record<string, unknown>) => [{ MsgType: 'TIMCustomElem', MsgContent: { Data: JSON.stringify({ customerServicePlugin: 0, ...payload }) } }];

async function sessionOf(userId: string): Promise<string> {
  for (let i = 0; i < 150; i++) {
    const r = await rest(api(), 'desk_http_svc/get_session_state', { ClientUserId: userId, CustomerServiceId: CS }) as { SessionId?: string };
    if (r.SessionId) return r.SessionId;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no session for ${userId}`);
}

let random = 1;
async function fromAccount(sessionId: string, body: unknown): Promise<void> {
  const r = await rest(api(), 'desk_http_svc/send_msg', { SessionId: sessionId, MsgRandom: random++, MsgBody: body });
  if (r.ActionStatus !== 'OK') throw new Error(JSON.stringify(r));
}

t.test('a signed link opens the conversation; every src message renders and answers', async (t) => {
  const user = await open(signedLink('visitor-1'));
  await user.getByText('您好请问有什么可以帮助您的?').waitFor();
  const sessionId = await sessionOf('visitor-1');

  await fromAccount(sessionId, custom({ src: '29', subtype: 'welcome_msg', content: { title: '猜你想问', content: '', items: [{ content: '怎么退货' }, { content: '运费多少' }] } }));
  await fromAccount(sessionId, custom({ src: '30', content: '**加粗** 与 [链接](https://example.com)\n\n<img src=x onerror="window.__owned=1"><script>window.__owned=2</script><form><input type="password"></form><div style="position:fixed;inset:0">cover</div>' }));
  await fromAccount(sessionId, custom({ src: '32', status: 0, optionType: 1, taskInfo: { taskID: 7, nodeID: 'n1', env: 'production' }, content: { header: '请选择业务', items: [{ content: '查订单', desc: '' }, { content: '开发票', desc: '' }], tail: '' } }));
  await fromAccount(sessionId, custom({ src: '33', content: { tip: '请填写联系方式', nodeStatus: 0, inputVariables: [{ type: 'string', name: '手机号', formType: 0, isRequired: 1, variableValue: '' }, { type: 'string', name: '时段', formType: 1, chooseItemList: ['上午', '下午'], isRequired: 0, variableValue: '' }] } }));
  await fromAccount(sessionId, custom({ src: '22', content: { header: '无线耳机', desc: '¥199', pic: 'javascript:alert(1)', url: 'https://shop.example/item/1' } }));
  await fromAccount(sessionId, custom({ src: '28', content: { guide: '您的订单', name: '订单 A-1', desc: '已发货', pic: '', customField: [{ name: '物流', value: '顺丰' }] } }));
  await fromAccount(sessionId, custom({ src: '29', subtype: 'clarify_msg', content: { title: '您是不是想问：', content: '您是不是想问：', items: [{ content: '如何开发票' }] } }));

  await user.getByText('猜你想问').waitFor();
  await user.locator('.markdown strong').filter({ hasText: '加粗' }).waitFor();
  t.equal(await user.locator('.markdown a').getAttribute('href'), 'https://example.com', 'markdown links render');
  t.equal(await user.locator('.markdown script').count(), 0, 'no script element comes through');
  t.equal(await user.evaluate(() => (window as unknown as { __owned?: number }).__owned), undefined, 'markup in rich text does not run');
  t.equal(await user.locator('.markdown form, .markdown input, .markdown [style], .markdown [onerror]').count(), 0, 'no handlers, forms or styled boxes survive the sanitizer');
  t.equal(await user.locator('.markdown a').getAttribute('target'), '_blank', 'links open apart from the chat');
  await user.getByText('请选择业务').waitFor();
  await user.getByText('请填写联系方式').waitFor();
  t.equal(await user.locator('.card.product').getAttribute('href'), 'https://shop.example/item/1', 'a product card links to its page');
  t.equal(await user.locator('.card.product img').count(), 0, 'a javascript: picture is not shown');
  await user.getByText('顺丰').waitFor();
  await user.getByRole('button', { name: '如何开发票' }).waitFor();
  await screenshot(user, 'chat-src-messages-phone');

  // Answers: a clarify item is asked as a question, a fixed branch button carries BranchOptionInfo, a form is sent as src 33.
  await user.getByRole('button', { name: '运费多少', exact: true }).click();
  await user.getByRole('button', { name: '开发票', exact: true }).click();
  await user.getByLabel(/手机号/).fill('13800000000');
  await user.getByLabel(/时段/).selectOption('上午');
  await user.getByRole('button', { name: '提交' }).click();
  // The same user's other socket reads what the page sent.
  const reader = await server.user('visitor-1');
  type Sent = { body: { MsgContent: { Text?: string; Data?: string } }[]; cloudCustomData?: string; fromRole: number };
  let mine: Sent[] = [];
  for (let i = 0; i < 150; i++) {
    const h = await reader.request('history.sync', { to: CS, afterSeq: 0, limit: 200 });
    mine = ((h.data as { messages: Sent[] }).messages).filter((m) => m.fromRole === 1);
    if (mine.some((m) => m.body[0]?.MsgContent.Data?.includes('13800000000'))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(mine.some((m) => m.body[0]?.MsgContent.Text === '运费多少'), 'the clarify item was sent as a text');
  const branch = mine.find((m) => m.body[0]?.MsgContent.Text === '开发票');
  t.same(JSON.parse(branch?.cloudCustomData ?? '{}'), { BranchOptionInfo: { taskID: 7, nodeID: 'n1', env: 'production' } }, 'a fixed branch button resumes its node');
  const form = mine.find((m) => m.body[0]?.MsgContent.Data?.includes('13800000000'));
  t.match(JSON.parse(form!.body[0]!.MsgContent.Data!), { src: '33', content: { inputVariables: [{ name: '手机号', variableValue: '13800000000' }, { name: '时段', variableValue: '上午' }] } }, 'the form went as src 33 with its values');
  await user.context().close();
});

t.test('a task flow on the page: an option tapped, a form filled, the backend\'s answer shown', async (t) => {
  const backend = await fakeBackend();
  t.teardown(() => backend.close());
  backend.answer = (body) => ({ ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', Body: { status: body.Body.orderId === 'A1' ? '运输中' : '?', eta: '明天' } });
  const flow = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../test/fixtures/task-flow-order.json'), 'utf8'));
  flow.nodes = flow.nodes.map((n: { kind: string }) => (n.kind === 'api' ? { ...n, url: backend.url } : n));
  t.match(await rest(api(), 'openim_console_http_svc/desk_robot_task_flow_add', { TaskFlow: flow }), { ActionStatus: 'OK' });
  t.teardown(() => rest(api(), 'openim_console_http_svc/desk_robot_task_flow_delete', { TaskFlowId: 1 }));

  const user = await open(signedLink('visitor-flow'));
  await user.getByText('您好请问有什么可以帮助您的?').waitFor();
  await user.getByLabel('输入消息').fill('我想查一下我的订单');
  await user.getByLabel('输入消息').press('Enter');
  await user.getByRole('button', { name: '查物流', exact: true }).click();
  await user.getByLabel(/订单号/).fill('A1');
  await user.getByRole('button', { name: '提交' }).click();
  await user.getByText('订单 A1 状态：运输中，预计 明天 送达。').waitFor();
  await user.getByText('感谢咨询，再见！').waitFor();
  t.equal(backend.calls.length, 1, 'the backend was asked once');
  t.match(backend.calls[0]!.body.Body, { orderId: 'A1', SystemClientUserID: 'visitor-flow' });
  await screenshot(user, 'chat-task-flow-phone');
  await user.context().close();
});

t.test('reopening the page shows what arrived while it was closed', async (t) => {
  let user = await open(signedLink('visitor-2'));
  await user.getByLabel('输入消息').fill('第一条');
  await user.getByLabel('输入消息').press('Enter');
  await user.locator('.msg.mine').filter({ hasText: '第一条' }).locator('.meta').filter({ hasNotText: '发送中' }).waitFor();
  const sessionId = await sessionOf('visitor-2');
  await user.context().close();
  await fromAccount(sessionId, [{ MsgType: 'TIMTextElem', MsgContent: { Text: '您离开时的回复' } }]);
  user = await open(signedLink('visitor-2'));
  await user.getByText('您离开时的回复').waitFor();
  t.equal(await user.getByText('第一条').count(), 1, 'earlier messages come back once');
  await user.context().close();
});

t.test("pushes lost on the way (a server node lost): the conversation's hint of how far it stored brings them in", async (t) => {
  const ctx = await person(PHONE, 'zh-CN');
  const frames = await framePath(ctx);
  const user = await ctx.newPage();
  watchErrors(user, errors);
  await user.goto(signedLink('visitor-hint'));
  await user.getByLabel('输入消息').fill('我的包裹呢');
  await user.getByLabel('输入消息').press('Enter');
  await user.locator('.msg.mine').filter({ hasText: '我的包裹呢' }).locator('.meta').filter({ hasNotText: '发送中' }).waitFor();
  const sessionId = await sessionOf('visitor-hint');

  frames.lose((f) => f.type === 'message');
  await fromAccount(sessionId, [{ MsgType: 'TIMTextElem', MsgContent: { Text: '没送出去的回复' } }]);
  for (let i = 0; i < 100 && frames.lost.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  frames.lose(undefined);
  const seq = (frames.lost[0]?.data as { seq?: number } | undefined)?.seq;
  t.ok(seq, 'the reply was pushed, and lost');
  await new Promise((r) => setTimeout(r, 300));
  t.equal(await user.getByText('没送出去的回复').count(), 0, 'the page has not got it');

  frames.push({ type: 'history.hint', data: { sessionId, account: 'another-account', seq } });
  await new Promise((r) => setTimeout(r, 300));
  t.equal(await user.getByText('没送出去的回复').count(), 0, "another conversation's hint changes nothing");
  frames.push({ type: 'history.hint', data: { sessionId, account: CS, seq } });
  await user.getByText('没送出去的回复').waitFor();
  t.equal(await user.getByText('我的包裹呢').count(), 1, 'what the page had is not shown twice');
  await ctx.close();
});

t.test('the server restarting: the page reconnects and goes on', async (t) => {
  // The page talks to a relay that stays put while the server behind it restarts.
  const proxy = await tcpProxy(server.port);
  t.teardown(() => proxy.close());
  const user = await open(signedLink('visitor-3').replace(`:${server.port}/`, `:${proxy.port}/`));
  await user.getByText('已连接').waitFor();
  await server.stop();
  proxy.drop();
  await user.getByText('正在重连…').waitFor();
  server = await startTestServer(testApp(['alice@desk.test'], {}, { web: { demoUserSig: true } }), { dataDir: server.dataDir });
  proxy.retarget(server.port);
  await user.getByText('已连接').waitFor({ timeout: 30_000 });
  await user.getByLabel('输入消息').fill('重连后');
  await user.getByLabel('输入消息').press('Enter');
  await user.locator('.msg.mine').filter({ hasText: '重连后' }).locator('.meta').filter({ hasNotText: '发送中' }).waitFor();
  t.equal(await user.getByText('您好请问有什么可以帮助您的?').count(), 1, 'the history is not shown twice');
  await user.context().close();
});

t.test('demo sign-in, keyboard only, English, accessibility', async (t) => {
  const user = await open(`http://127.0.0.1:${server.port}/chat/?sdkappid=${api().sdkAppId}&lang=en`, DESKTOP, 'en-US');
  await user.getByText('Connected').waitFor();
  t.equal(await user.locator('html').getAttribute('lang'), 'en', 'the page says its language');
  await user.keyboard.press('Tab');
  for (let i = 0; i < 6 && !(await user.evaluate(() => document.activeElement?.tagName === 'TEXTAREA')); i++) await user.keyboard.press('Tab');
  t.ok(await user.evaluate(() => document.activeElement?.tagName === 'TEXTAREA'), 'the message box is reached by Tab');
  await user.keyboard.type('hello by keyboard');
  await user.keyboard.press('Enter');
  await user.locator('.msg.mine').filter({ hasText: 'hello by keyboard' }).waitFor();
  t.same(await accessibilityFaults(user), [], 'no serious accessibility faults on the chat page');
  await screenshot(user, 'chat-english-desktop');
  await user.context().close();

  // A link without a sig, for an app this server does not serve, says what is wrong.
  const closed = await open(`http://127.0.0.1:${server.port}/chat/?sdkappid=1400000999`, PHONE);
  await closed.getByRole('alert').waitFor();
  t.match(await closed.getByRole('alert').innerText(), /1400000999|SDKAppID|sdkappid/i, 'an unknown app is named in the error');
  await closed.context().close();
  t.same(errors, [], 'no page threw');
});
