/**
 * The agent workbench in a real browser: status switching, several sessions side by side with new-session
 * notifications, quick replies, transfer to another member, suspend and resume, inviting a rating, and a dropped
 * connection coming back with the sessions still held. Users are plain WebSocket clients here.
 */
import t from 'tap';
import type { BrowserContext, Page } from 'playwright-core';
import { srcBody, srcOf, textBody, type TestClient } from '../helpers/client';
import { CS, KEY, startTestServer, testApp, type TestServer } from '../helpers/server';
import { DESKTOP, PHONE, accessibilityFaults, closeBrowser, framePath, person, screenshot, watchErrors, type FramePath } from '../helpers/browser';
import { rest } from '../contract/rest-client';
import { tcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

const ALICE = 'alice@desk.test';
const BOB = 'bob@desk.test';
const CAROL = 'carol@desk.test';
const QUICK = '请稍等，我帮您查询一下';

let server: TestServer;
let proxy: TcpProxy;
const errors: string[] = [];

t.before(async () => {
  server = await startTestServer(testApp([], {}, {
    members: [
      { mail: ALICE, nickname: 'Alice', password: 'alice-password-1', groupIds: [1] },
      { mail: BOB, nickname: 'Bob', password: 'bob-password-1', groupIds: [1] },
      { mail: CAROL, nickname: 'Carol', password: 'carol-password-1', groupIds: [1] },
    ],
  }));
  proxy = await tcpProxy(server.port);
});
t.teardown(async () => {
  await closeBrowser();
  await proxy?.close();
  await server?.stop();
});

const api = () => ({ port: server.port, sdkAppId: server.apps.all()[0]!.sdkAppId, key: KEY, admin: 'administrator' });

/** A signed-in workbench whose page counts the desktop notifications it shows (and believes it is in the background). */
async function workbench(mail: string, password: string, viewport = DESKTOP, frames?: (ctx: BrowserContext) => Promise<unknown>): Promise<Page> {
  const ctx = await person(viewport);
  await frames?.(ctx);
  await ctx.addInitScript(() => {
    const shown: string[] = [];
    (window as unknown as { __notifications: string[] }).__notifications = shown;
    class FakeNotification {
      static permission = 'granted';
      static requestPermission = async () => 'granted';
      constructor(title: string, o: { body?: string }) { shown.push(`${title}: ${o.body ?? ''}`); }
    }
    Object.defineProperty(window, 'Notification', { value: FakeNotification });
    Object.defineProperty(Document.prototype, 'hidden', { get: () => true });
  });
  const page = await ctx.newPage();
  watchErrors(page, errors);
  await page.goto(`http://127.0.0.1:${proxy.port}/desk/?sdkappid=${api().sdkAppId}`);
  await page.getByLabel(/^邮箱$/).fill(mail);
  await page.getByLabel(/^密码$/).fill(password);
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByText('已连接').waitFor();
  return page;
}

async function toHuman(userId: string): Promise<TestClient> {
  const u = await server.user(userId);
  await u.request('message.send', { to: CS, random: 1, body: textBody('转人工') });
  return u;
}

t.test('serving several users from the workbench', async (t) => {
  const group = await rest(api(), 'desk_http_svc/add_quick_reply_group', { GroupName: '常用', UseScopeType: 'all' }) as { GroupId: string };
  await rest(api(), 'desk_http_svc/add_quick_reply', { GroupId: group.GroupId, Title: '查询中', Content: QUICK });

  const alice = await workbench(ALICE, 'alice-password-1');
  const bob = await workbench(BOB, 'bob-password-1');
  await bob.getByLabel('状态').selectOption('busy');
  await waitStatus(BOB, 2);
  t.pass("bob's status switch reaches the server");

  const u1 = await toHuman('user-1');
  const u2 = await toHuman('user-2');
  await alice.locator('.pane').nth(1).waitFor();
  t.equal(await alice.locator('.pane').count(), 2, 'two sessions side by side');
  t.same((await alice.evaluate(() => (window as unknown as { __notifications: string[] }).__notifications)).sort(), ['新会话: user-1', '新会话: user-2'], 'a desktop notification per new session');
  await screenshot(alice, 'desk-two-sessions-desktop');
  t.same(await accessibilityFaults(alice), [], 'no serious accessibility faults on the workbench');

  // A quick reply goes to the user as a message.
  const pane1 = alice.locator('.pane', { hasText: 'user-1' });
  await pane1.getByLabel('快捷回复').selectOption({ label: '查询中' });
  await u1.next((f) => f.type === 'message' && (f.data as { body: { MsgContent: { Text?: string } }[] }).body[0]?.MsgContent.Text === QUICK);
  t.pass('the quick reply reached the user');

  // Suspend, resume, invite a rating.
  await pane1.getByRole('button', { name: '挂起' }).click();
  await alice.locator('.session-item', { hasText: 'user-1 · 已挂起' }).waitFor();
  await pane1.getByRole('button', { name: '恢复' }).click();
  await alice.locator('.session-item', { hasText: 'user-1' }).filter({ hasNotText: '已挂起' }).waitFor();
  await pane1.getByRole('button', { name: '邀请评价' }).click();
  await u1.next((f) => f.type === 'message' && srcOf(f) === '9');
  t.pass('suspended, resumed, and the rating card reached the user');

  // Transfer user-2 to bob, who is free again.
  await bob.getByLabel('状态').selectOption('free');
  await waitStatus(BOB, 1);
  const pane2 = alice.locator('.pane', { hasText: 'user-2' });
  await pane2.getByRole('button', { name: '转接', exact: true }).click();
  await pane2.getByLabel('客服（可选）').selectOption(BOB);
  await pane2.locator('form.dialog').getByRole('button', { name: '转接' }).click();
  await bob.locator('.pane', { hasText: 'user-2' }).getByText('转人工').waitFor();
  await alice.locator('.session-item', { hasText: `已转接给 ${BOB}` }).waitFor();
  t.pass('the session moved to bob, with its history');

  // A user cannot draw on the agent's screen: rich text, notices and cards from a user are shown as their text.
  await u1.request('message.send', { to: CS, random: 3, body: srcBody('30', { content: '<form action="https://evil.example/"><input type="password" name="p"><button>登录已过期</button></form>' }) });
  await u1.request('message.send', { to: CS, random: 4, body: srcBody('19') });
  await u1.request('message.send', { to: CS, random: 6, body: srcBody('28', { content: { customField: 'x' } }) });
  await u1.request('message.send', { to: CS, random: 7, body: srcBody('33', { content: { inputVariables: [null, 'x', { name: '电话', variableValue: '123' }] } }) });
  await pane1.getByText(/evil\.example/).waitFor();
  await pane1.getByText(/"src":"19"/).waitFor();
  await pane1.getByText('电话').waitFor();
  t.pass('malformed cards from a user do not stop the workbench');
  t.equal(await pane1.locator('.messages form, .messages input').count(), 0, 'no form or input from a user');
  t.equal(await pane1.getByText('会话已结束').count(), 0, 'no fake "session ended" notice');

  // A user's picture is loaded only when the agent asks for it.
  await u1.request('message.send', { to: CS, random: 5, body: [{ MsgType: 'TIMImageElem', MsgContent: { UUID: 'p1', ImageFormat: 1, ImageInfoArray: [{ Type: 1, Size: 1, Width: 1, Height: 1, URL: 'https://img.example/p1.png' }] } }] });
  await pane1.getByRole('button', { name: '显示图片' }).waitFor();
  t.equal(await pane1.locator('img.image').count(), 0, 'not loaded by itself');
  await pane1.getByRole('button', { name: '显示图片' }).click();
  t.equal(await pane1.locator('img.image').getAttribute('src'), 'https://img.example/p1.png', 'loaded when asked');

  // Rest with a reason, typed slowly (the page redraws every second meanwhile).
  await alice.getByLabel('状态').selectOption('rest');
  await alice.getByLabel('小休原因').pressSequentially('午饭时间', { delay: 400 });
  await alice.getByLabel('小休原因').press('Tab');
  await waitStatus(ALICE, 3);
  t.equal(await alice.getByLabel('小休原因').inputValue(), '午饭时间', 'what was typed stays, and rest reached the server');

  // The network goes down; a message arrives meanwhile; the page comes back and shows it.
  proxy.pause();
  proxy.drop();
  await alice.getByText('正在重连…').waitFor();
  await u1.request('message.send', { to: CS, random: 2, body: textBody('我还在') });
  proxy.resume();
  await alice.getByText('已连接').waitFor({ timeout: 30_000 });
  await pane1.getByText('我还在').waitFor();
  t.pass('after the reconnect the session is held and what was missed is shown');

  // Alice changes her password on the workbench.
  await alice.getByText('修改密码').click();
  await alice.getByLabel('当前密码').fill('alice-password-1');
  await alice.getByLabel('新密码').fill('alice-password-2');
  await alice.locator('details.password').getByRole('button', { name: '保存' }).click();
  await alice.locator('details.password').getByRole('status').waitFor();
  const signIn = await fetch(`http://127.0.0.1:${server.port}/web/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ SdkAppId: api().sdkAppId, Mail: ALICE, Password: 'alice-password-2' }) });
  t.match(await signIn.json(), { ActionStatus: 'OK' }, 'the new password signs in');

  await alice.setViewportSize(PHONE);
  await screenshot(alice, 'desk-two-sessions-phone');
  await bob.setViewportSize(PHONE);
  await bob.getByRole('button', { name: '退出' }).click();
  await bob.getByRole('button', { name: '登录' }).waitFor();
  await screenshot(bob, 'desk-sign-in-phone');
  t.same(errors, [], 'no page threw');
});

t.test("pushes lost on the way (a server node lost): the session's hint of how far it stored brings them in", async (t) => {
  // Alice rests and bob signed out in the test before: carol gets the session.
  let frames!: FramePath;
  const carol = await workbench(CAROL, 'carol-password-1', DESKTOP, async (ctx) => { frames = await framePath(ctx); });
  const u = await toHuman('user-hint');
  const pane = carol.locator('.pane', { hasText: 'user-hint' });
  await pane.getByText('转人工').waitFor();
  const { SessionId: sessionId } = await rest(api(), 'desk_http_svc/get_session_state', { ClientUserId: 'user-hint', CustomerServiceId: CS }) as { SessionId: string };

  frames.lose((f) => f.type === 'message');
  await u.request('message.send', { to: CS, random: 2, body: textBody('没推到的消息') });
  for (let i = 0; i < 100 && frames.lost.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  frames.lose(undefined);
  const seq = (frames.lost[0]?.data as { seq?: number } | undefined)?.seq;
  t.ok(seq, "the user's message was pushed, and lost");
  frames.push({ type: 'history.hint', data: { sessionId: '0000ffff-0000-4000-8000-000000000000', account: CS, seq } });
  await new Promise((r) => setTimeout(r, 300));
  t.equal(await pane.getByText('没推到的消息').count(), 0, "the workbench has not got it, and another session's hint changes nothing");
  frames.push({ type: 'history.hint', data: { sessionId, account: CS, seq } });
  await pane.getByText('没推到的消息').waitFor();
  t.equal(await pane.getByText('转人工').count(), 1, 'what the workbench had is not shown twice');
  u.close();
  await carol.context().close();
});

/** Waits until the member's status on the server is `status` (0 offline, 1 free, 2 busy, 3 rest). */
async function waitStatus(mail: string, status: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await rest(api(), 'desk_http_svc/describe_member_realtime_statistics', { MemberIds: [mail] }) as { Data?: { MemberStatus: number }[] };
    if (r.Data?.[0]?.MemberStatus === status) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${mail} never reached status ${status}`);
}
