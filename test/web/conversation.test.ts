/**
 * The pages in a real browser against the real server: an admin adds an FAQ on the console, a user on the chat
 * page gets it from the robot, asks for a human, the agent accepts on the workbench (seeing the robot phase), they
 * talk, the console's monitor shows the session, the agent ends it and the user rates it. Screenshots of each page
 * at desktop and phone widths are saved under test-results/screenshots.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { CS, startTestServer, testApp, type TestServer } from '../helpers/server';
import { DESKTOP, PHONE, drawn, closeBrowser, person, screenshot, watchErrors } from '../helpers/browser';

const AGENT = 'alice@desk.test';
const ADMIN = 'boss@desk.test';
const FAQ_QUESTION = '如何申请退款';
const FAQ_ANSWER = '在订单详情页点击“申请退款”，1-3 个工作日内原路退回。';

let server: TestServer;
const errors: string[] = [];

t.before(async () => {
  server = await startTestServer(testApp([], { receptionMode: 'manual', acceptTimeoutSec: 120 }, {
    members: [
      { mail: AGENT, nickname: 'Alice', password: 'alice-password-1', groupIds: [1] },
      { mail: ADMIN, nickname: 'Boss', password: 'boss-password-1', roles: ['admin'], groupIds: [] },
    ],
    web: { demoUserSig: true },
  }));
});
t.teardown(async () => {
  await closeBrowser();
  await server?.stop();
});

const base = () => `http://127.0.0.1:${server.port}`;

async function open(url: string, viewport = DESKTOP, locale = 'zh-CN'): Promise<Page> {
  const ctx = await person(viewport, locale);
  const page = await ctx.newPage();
  watchErrors(page, errors);
  await page.goto(url);
  return page;
}

async function signIn(page: Page, mail: string, password: string): Promise<void> {
  await page.getByLabel(/SDKAppID/).fill(String(server.apps.all()[0]!.sdkAppId));
  await page.getByLabel(/^(邮箱|Mail)$/).fill(mail);
  await page.getByLabel(/^(密码|Password)$/).fill(password);
  await page.getByRole('button', { name: /^(登录|Sign in)$/ }).click();
}

/** Takes the page's screenshot at desktop and phone widths, then puts the desktop size back. */
async function bothWidths(page: Page, name: string, back = DESKTOP): Promise<void> {
  await page.setViewportSize(DESKTOP);
  await screenshot(page, `${name}-desktop`);
  await page.setViewportSize(PHONE);
  await screenshot(page, `${name}-phone`);
  await page.setViewportSize(back);
}

t.test('a whole conversation through the three pages', async (t) => {
  // The admin adds an FAQ (English UI).
  const admin = await open(`${base()}/console/`, DESKTOP, 'en-US');
  await signIn(admin, ADMIN, 'boss-password-1');
  await admin.getByRole('button', { name: 'Robot knowledge' }).click();
  await admin.getByLabel('Question', { exact: true }).first().fill(FAQ_QUESTION);
  await admin.getByLabel('Answer', { exact: true }).fill(FAQ_ANSWER);
  await admin.getByRole('button', { name: 'Add', exact: true }).click();
  await admin.getByRole('cell', { name: FAQ_QUESTION }).waitFor();
  t.pass('the console lists the new FAQ');
  await bothWidths(admin, 'console-knowledge');

  // The agent signs in on the workbench: its first socket makes it free.
  const agent = await open(`${base()}/desk/`);
  await signIn(agent, AGENT, 'alice-password-1');
  await agent.getByText('已连接').waitFor();
  // The status comes with agent.state, just after the socket opens.
  await agent.waitForFunction(() => (document.querySelector('select[aria-label="状态"]') as HTMLSelectElement | null)?.value === 'free', undefined, { timeout: 10_000 }).catch(() => undefined);
  t.equal(await agent.getByLabel('状态').inputValue(), 'free', 'the agent is free once connected');

  // The user opens the chat page (phone, demo sign-in): the robot welcomes, then answers the FAQ.
  const user = await open(`${base()}/chat/?sdkappid=${server.apps.all()[0]!.sdkAppId}`, PHONE);
  await user.getByText('您好请问有什么可以帮助您的?').first().waitFor();
  await user.getByLabel('输入消息').fill(FAQ_QUESTION);
  await user.getByLabel('输入消息').press('Enter');
  await user.getByText(FAQ_ANSWER).waitFor();
  t.pass("the user's next question gets the new FAQ's answer");

  // To a human: the offer reaches the agent with its countdown, and accepting shows the robot phase.
  await user.getByLabel('输入消息').fill('转人工');
  await user.getByRole('button', { name: '发送' }).click();
  await agent.getByRole('button', { name: '接入' }).waitFor();
  t.match(await agent.locator('.offer').innerText(), /请在 \d+ 秒内接入/, 'the offer shows the accept countdown');
  await agent.getByRole('button', { name: '接入' }).click();
  const pane = agent.locator('.pane');
  await pane.getByText(FAQ_ANSWER).waitFor();
  t.pass("the agent's pane holds the robot phase");
  await user.getByText('人工客服为您服务').waitFor();

  // They talk both ways; typing reaches the user.
  await pane.getByLabel('输入消息').fill('您好，我是 Alice，请问订单号是多少？');
  await pane.getByRole('button', { name: '发送' }).click();
  await user.getByText('您好，我是 Alice，请问订单号是多少？').waitFor();
  await user.getByLabel('输入消息').fill('订单号 20261204');
  await user.getByLabel('输入消息').press('Enter');
  await pane.getByText('订单号 20261204').waitFor();
  await pane.getByLabel('输入消息').pressSequentially('好的');
  await user.getByText('对方正在输入…').waitFor();
  t.pass('messages and typing go both ways');
  await bothWidths(agent, 'desk-serving');
  await user.setViewportSize(DESKTOP);
  await screenshot(user, 'chat-desktop');
  await user.setViewportSize(PHONE);
  await screenshot(user, 'chat-phone');

  // The console's monitor shows the session in human service, and the agent serving it.
  await admin.getByRole('button', { name: 'Monitor' }).click();
  await admin.locator('[data-tile=serving] strong').filter({ hasText: '1' }).waitFor();
  await admin.getByRole('cell', { name: AGENT }).waitFor();
  t.pass('the monitor shows the session being served');
  t.ok(await drawn(admin, 'canvas[aria-label=Monitor]'), 'with its live chart');
  await bothWidths(admin, 'console-monitor');

  // The agent ends it; the rating card reaches the user, who gives five stars.
  await pane.getByRole('button', { name: '结束会话' }).click();
  await user.getByText('本次服务已结束，感谢您的支持').waitFor();
  await user.getByRole('button', { name: '非常满意' }).click();
  await user.getByText(/已评价：非常满意/).waitFor();
  t.pass('the user rated the session');
  await agent.getByText(/会话已结束/).first().waitFor();

  t.same(errors, [], 'no page threw');
});
