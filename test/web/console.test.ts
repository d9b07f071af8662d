/**
 * The admin console in a real browser: who may sign in, and each section doing what it says against the v4 API
 * (accounts, members, groups, rating settings, the robot's online test and publishing, analysis, history export).
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Page } from 'playwright-core';
import { textBody } from '../helpers/client';
import { CS, KEY, startTestServer, testApp, type TestServer } from '../helpers/server';
import { DESKTOP, PHONE, accessibilityFaults, drawn, closeBrowser, person, screenshot, watchErrors } from '../helpers/browser';
import { rest } from '../contract/rest-client';

const ADMIN = 'boss@desk.test';
const STAFF = 'alice@desk.test';

let server: TestServer;
const errors: string[] = [];

t.before(async () => {
  server = await startTestServer(testApp([], {}, {
    members: [
      { mail: ADMIN, nickname: 'Boss', password: 'boss-password-1', roles: ['admin'], groupIds: [1] },
      { mail: STAFF, nickname: 'Alice', password: 'alice-password-1', groupIds: [1] },
    ],
  }));
});
t.teardown(async () => {
  await closeBrowser();
  await server?.stop();
});

const api = () => ({ port: server.port, sdkAppId: server.apps.all()[0]!.sdkAppId, key: KEY, admin: 'administrator' });

async function signIn(mail: string, password: string, viewport = DESKTOP): Promise<Page> {
  const page = await (await person(viewport, 'en-US')).newPage();
  watchErrors(page, errors);
  await page.goto(`http://127.0.0.1:${server.port}/console/?sdkappid=${api().sdkAppId}`);
  await page.getByLabel('Mail').fill(mail);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return page;
}

t.test('only administrators sign in', async (t) => {
  const staff = await signIn(STAFF, 'alice-password-1', PHONE);
  await staff.getByRole('alert').waitFor();
  t.match(await staff.getByRole('alert').innerText(), /not an administrator/, 'a staff member is turned away');
  await screenshot(staff, 'console-sign-in-phone');
  await staff.getByLabel('Password').fill('wrong-password');
  await staff.getByRole('button', { name: 'Sign in' }).click();
  await staff.getByText('wrong mail or password').waitFor();
  t.pass('a wrong password says so');
  await staff.context().close();
});

t.test('each section works against the API', async (t) => {
  const admin = await signIn(ADMIN, 'boss-password-1');
  await admin.getByRole('heading', { name: 'Monitor' }).waitFor();
  t.same(await accessibilityFaults(admin), [], 'no serious accessibility faults on the console');

  // Accounts: the robot switch of an account.
  await admin.getByRole('button', { name: 'Accounts' }).click();
  await admin.getByRole('cell', { name: CS }).waitFor();
  await admin.getByRole('button', { name: 'On', exact: true }).click();
  await admin.getByRole('button', { name: 'Off', exact: true }).waitFor();
  const accounts = await rest(api(), 'desk_http_svc/get_im_agent_list', {}) as { Data: { IMAgentUserID: string; ChatbotDisabled: number }[] };
  t.equal(accounts.Data.find((a) => a.IMAgentUserID === CS)?.ChatbotDisabled, 1, 'the robot of the account is off');
  await admin.getByRole('button', { name: 'Off', exact: true }).click();
  await admin.getByRole('button', { name: 'On', exact: true }).waitFor();

  // Members and groups.
  await admin.getByRole('button', { name: 'Groups' }).click();
  await admin.getByLabel('Name').fill('售后');
  await admin.getByRole('button', { name: 'Add' }).click();
  await admin.getByRole('cell', { name: '售后' }).waitFor();
  await admin.getByRole('button', { name: 'Members' }).click();
  const addMember = admin.locator('form').first();
  await addMember.getByLabel('Mail').fill('carol@desk.test');
  await admin.getByLabel('Nickname').fill('Carol');
  await admin.getByLabel('Groups').fill('1');
  await admin.getByRole('button', { name: 'Add' }).click();
  await admin.getByRole('cell', { name: 'carol@desk.test' }).waitFor();
  t.ok(server.apps.all()[0]!.members['carol@desk.test'], 'the member exists on the server');
  await admin.getByRole('form', { name: 'Set password' }).getByLabel('Mail').selectOption('carol@desk.test');
  await admin.getByLabel('New password').fill('carol-password-1');
  await admin.getByRole('button', { name: 'Set password' }).click();
  await admin.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
  const carol = await fetch(`http://127.0.0.1:${server.port}/web/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ SdkAppId: api().sdkAppId, Mail: 'carol@desk.test', Password: 'carol-password-1' }) });
  t.match(await carol.json(), { ActionStatus: 'OK', Identifier: 'carol@desk.test' }, 'the new member signs in with the password the console set');
  await addMember.getByLabel('Mail').fill('carol@desk.test');
  await admin.getByRole('button', { name: 'Add' }).click();
  await admin.getByRole('alert').waitFor();
  t.pass('adding an existing member shows the refusal');

  // Reception settings.
  await admin.getByRole('button', { name: 'Session settings' }).click();
  await admin.getByLabel('Reception mode').selectOption('manual');
  await admin.getByLabel('Accept timeout (s)').fill('45');
  await admin.getByLabel(/To-human keywords/).fill('人工, 真人');
  await admin.locator('#reception ~ form').getByRole('button', { name: 'Save' }).click();
  await admin.getByText('Saved').waitFor();
  t.match(server.apps.all()[0]!.session, { receptionMode: 'manual', acceptTimeoutSec: 45, toHumanKeywords: ['人工', '真人'] }, 'reception settings changed');

  // Rating settings.
  await admin.getByLabel('Rate the service').fill('给我们打个分吧');
  await admin.locator('#settings ~ form').getByRole('button', { name: 'Save' }).click();
  await admin.locator('#settings ~ form').getByText('Saved').waitFor();
  t.equal(server.apps.all()[0]!.session.satisfaction.invitationText, '给我们打个分吧', 'the invitation text changed');

  // The language model: set, the key kept and never shown, then off.
  const llm = admin.locator('#llm ~ form');
  await llm.getByLabel('Base URL (OpenAI-compatible)').fill('http://127.0.0.1:9/v1');
  await llm.getByLabel('Model').fill('qwen-test');
  await llm.getByLabel('API key').fill('sk-console-secret');
  await llm.getByLabel('Prompt').fill('你是客服。');
  await llm.getByLabel('Refusal text').fill('请转人工。');
  await llm.getByRole('button', { name: 'Save' }).click();
  await admin.locator('#llm ~ form').getByRole('button', { name: 'Turn off' }).waitFor();
  t.match(server.apps.all()[0]!.llm, { baseUrl: 'http://127.0.0.1:9/v1', model: 'qwen-test', apiKey: 'sk-console-secret', prompt: '你是客服。', refusal: '请转人工。' }, 'the provider is set');
  t.equal(await admin.locator('#llm ~ form').getByLabel('API key').inputValue(), '', 'the key is not shown');
  await admin.locator('#llm ~ form').getByRole('button', { name: 'Turn off' }).click();
  await admin.locator('#llm ~ form').getByRole('button', { name: 'Turn off' }).waitFor({ state: 'detached' });
  t.equal(server.apps.all()[0]!.llm, undefined, 'and turned off');

  // Knowledge: the online test finds a new FAQ in test; publishing names a version.
  await admin.getByRole('button', { name: 'Robot knowledge' }).click();
  await admin.getByLabel('Question', { exact: true }).first().fill('营业时间');
  await admin.getByLabel('Answer', { exact: true }).fill('每天 9:00-21:00');
  await admin.getByRole('button', { name: 'Add', exact: true }).click();
  await admin.getByRole('cell', { name: '营业时间' }).waitFor();
  await admin.locator('#faq-test ~ form').getByLabel('Question').fill('营业时间');
  await admin.getByRole('button', { name: 'Test', exact: true }).click();
  await admin.getByText(/Strategy: direct/).waitFor();
  await admin.getByRole('button', { name: 'Publish' }).click();
  await admin.getByText(/Published V\d/).waitFor();
  t.pass('online test and publish');

  // Documents: a Word file uploaded, listed, answering the online test, deleted.
  await admin.getByLabel('File').setInputFiles(path.resolve(__dirname, '../../../test/fixtures/documents/members.docx'));
  await admin.getByRole('button', { name: 'Upload' }).click();
  await admin.getByRole('cell', { name: 'members.docx', exact: true }).waitFor();
  t.match(await rest(api(), 'openim_console_http_svc/desk_robot_doc_list', {}), { Total: 1, Documents: [{ Name: 'members.docx', Format: 'docx' }] }, 'the document is kept');
  await admin.getByRole('button', { name: 'Delete members.docx' }).click();
  await admin.getByRole('cell', { name: 'members.docx', exact: true }).waitFor({ state: 'detached' });
  t.match(await rest(api(), 'openim_console_http_svc/desk_robot_doc_list', {}), { Total: 0 }, 'and deleted');

  // Task flows: written as JSON to test, refused when broken, walked dry, switched off, deleted.
  const flow = fs.readFileSync(path.resolve(__dirname, '../../../test/fixtures/task-flow-order.json'), 'utf8');
  await admin.getByLabel('Definition (JSON)').fill(flow.replace('"start": "greet"', '"start": "nowhere"'));
  await admin.getByRole('button', { name: 'Save', exact: true }).click();
  await admin.getByRole('alert').filter({ hasText: "start: no node 'nowhere'" }).waitFor();
  await admin.getByLabel('Definition (JSON)').fill(flow);
  await admin.getByRole('button', { name: 'Save', exact: true }).click();
  await admin.getByRole('cell', { name: '订单查询', exact: true }).waitFor();
  t.match(await rest(api(), 'openim_console_http_svc/desk_robot_task_flow_list', { Environment: 'test' }), { Total: 1, TaskFlows: [{ Name: '订单查询', Enabled: 1 }] }, 'saved to test');
  await admin.getByLabel(/Inputs, one per line/).fill('查物流\n[{"name": "订单号", "variableValue": "A1"}]');
  await admin.getByRole('button', { name: 'Dry run' }).click();
  // Port 9 answers nothing: the API node takes its error way, to a human.
  await admin.getByText(/查询服务暂时不可用。.*transfer/).waitFor();
  t.pass('the dry run walks the flow');
  await admin.getByRole('button', { name: 'Disable 订单查询' }).click();
  await admin.getByRole('button', { name: 'Enable 订单查询' }).waitFor();
  t.match(await rest(api(), 'openim_console_http_svc/desk_robot_task_flow_list', { Environment: 'test' }), { TaskFlows: [{ Enabled: 0 }] }, 'switched off');
  await admin.getByRole('button', { name: 'Delete 订单查询' }).click();
  await admin.getByRole('cell', { name: '订单查询', exact: true }).waitFor({ state: 'detached' });

  // Analysis and history after a session.
  const u = await server.user('user-9');
  await u.request('message.send', { to: CS, random: 1, body: textBody('hello') });
  await admin.getByRole('button', { name: 'Analysis' }).click();
  await admin.locator('canvas').waitFor();
  await admin.getByRole('cell', { name: /^\d{4}-\d{2}-\d{2}$/ }).first().waitFor();
  t.ok(await drawn(admin, 'canvas'), 'the chart is drawn');
  await screenshot(admin, 'console-analysis-desktop');
  await admin.getByRole('button', { name: 'Session history' }).click();
  await admin.getByRole('cell', { name: 'user-9' }).waitFor();
  const download = admin.waitForEvent('download');
  await admin.getByRole('link', { name: 'Export CSV' }).click();
  const csv = await (await download).createReadStream();
  let text = '';
  for await (const chunk of csv) text += String(chunk);
  t.match(text, /user-9/, 'the export holds the session');
  t.match(text, /hello/, 'with its transcript');
  await screenshot(admin, 'console-history-desktop');
  await admin.setViewportSize(PHONE);
  await screenshot(admin, 'console-history-phone');
  t.same(errors, [], 'no page threw');
});
