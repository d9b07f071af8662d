/**
 * The pages' sign-ins on a running server: a member's mail and password give a UserSig that opens the workbench
 * socket; an administrator's give the admin's UserSig for the REST API; failures say nothing of which part was wrong
 * and are throttled; the chat page's demo UserSigs exist only where the app turns them on.
 */
import t from 'tap';
import { ManualClock } from '../../src/runtime/clock';
import { srcBody, TestClient } from '../helpers/client';
import { APP, KEY, startTestServer, testApp, type TestServer } from '../helpers/server';
import { rest, type RestTarget } from '../contract/rest-client';
import type { DeclaredApp } from '../../src/config/config';

const ALICE = 'alice@desk.test';
const CAROL = 'carol@desk.test';
const DAVE = 'dave@desk.test';
const ERIN = 'erin@desk.test';
const PASSWORD = 'alice-password-1';

/** Alice (staff), Carol (admin), Dave (disabled), Erin (no password: UserSig only). */
function app(extra: Partial<DeclaredApp> = {}): DeclaredApp {
  return testApp([], {}, {
    members: [
      { mail: ALICE, nickname: 'Alice', password: PASSWORD, roles: ['staff'], groupIds: [1] },
      { mail: CAROL, nickname: 'Carol', password: 'carol-password-1', roles: ['admin', 'staff'], groupIds: [1] },
      { mail: DAVE, nickname: 'Dave', password: 'dave-password-12', groupIds: [1], disabled: true },
      { mail: ERIN, nickname: 'Erin', groupIds: [1] },
    ],
    ...extra,
  });
}

type Reply = Record<string, unknown> & { ErrorCode: number; ErrorInfo: string };

/** POSTs a body (an object as JSON, or raw text) to a page endpoint; every answer must be HTTP 200 JSON. */
async function web(t: Tap, s: TestServer, command: string, body: unknown): Promise<Reply> {
  const res = await fetch(`http://127.0.0.1:${s.port}/web/v1/${command}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  t.equal(res.status, 200, `${command}: HTTP 200`);
  t.equal(res.headers.get('content-type'), 'application/json', `${command}: JSON`);
  return (await res.json()) as Reply;
}
type Tap = Pick<typeof t, 'equal'>;

const login = (t: Tap, s: TestServer, Mail: string, Password: string, more: Record<string, unknown> = {}) => web(t, s, 'login', { SdkAppId: APP, Mail, Password, ...more });

/** A socket opened with a UserSig the server handed out. */
async function connectWith(t: { teardown(fn: () => unknown): void }, s: TestServer, identity: string, role: 'user' | 'agent', usersig: string): Promise<TestClient> {
  const c = await TestClient.connect({ port: s.port, sdkAppId: APP, key: 'unused', identity, role, usersig });
  t.teardown(() => c.close());
  return c;
}

const WRONG = { ActionStatus: 'FAIL', ErrorCode: 70009, ErrorInfo: 'wrong mail or password' };

t.test('a member signs in with mail and password; the UserSig opens the workbench socket', async (t) => {
  const s = await startTestServer(app());
  t.teardown(() => s.stop());
  const r = await login(t, s, ALICE, PASSWORD);
  t.match(r, { ActionStatus: 'OK', ErrorCode: 0, Identifier: ALICE, SdkAppId: APP, Nickname: 'Alice', Roles: ['staff'], UserSig: String });
  t.ok(Math.abs((r.ExpireTime as number) - (Date.now() / 1000 + 12 * 3600)) < 60, 'valid for 12 hours');
  t.notOk('Mail' in r, 'the workbench sign-in answers no Mail');
  const agent = await connectWith(t, s, ALICE, 'agent', r.UserSig as string);
  t.equal((await agent.next((f) => f.type === 'agent.state')).type, 'agent.state', 'the workbench is open');
});

t.test('a wrong password and an unknown mail get the same answer; disabled and forced-offline members are refused', async (t) => {
  const s = await startTestServer(app());
  t.teardown(() => s.stop());
  t.same(await login(t, s, ALICE, 'not-the-password'), WRONG, 'wrong password');
  t.same(await login(t, s, 'nobody@desk.test', PASSWORD), WRONG, 'unknown mail: the same');
  t.same(await login(t, s, ERIN, 'anything-at-all'), WRONG, 'a member without a password cannot sign in with one');
  t.same(await login(t, s, DAVE, 'not-the-password'), WRONG, 'a disabled member with a wrong password: the same');
  t.match(await login(t, s, DAVE, 'dave-password-12'), { ActionStatus: 'FAIL', ErrorCode: 20003, ErrorInfo: 'this member is disabled' });
  t.match(await web(t, s, 'login', { SdkAppId: APP + 1, Mail: ALICE, Password: PASSWORD }), { ErrorCode: 141000 }, 'unknown app');

  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  t.match(await rest(api, 'desk_http_svc/force_member_offline', { MemberMail: ALICE }), { ErrorCode: 0 });
  t.match(await login(t, s, ALICE, PASSWORD), { ErrorCode: 20003, ErrorInfo: /forced offline/ }, 'forced offline');
  await rest(api, 'desk_http_svc/restore_member_online', { MemberMail: ALICE });
  t.match(await login(t, s, ALICE, PASSWORD), { ErrorCode: 0 }, 'restored');
});

t.test('console sign-in: an administrator gets the admin UserSig, which the REST API takes; staff are refused', async (t) => {
  const s = await startTestServer(app());
  t.teardown(() => s.stop());
  const r = await login(t, s, CAROL, 'carol-password-1', { Console: true });
  t.match(r, { ErrorCode: 0, Identifier: 'administrator', Mail: CAROL, SdkAppId: APP, Nickname: 'Carol', Roles: ['admin', 'staff'], UserSig: String });
  t.ok(Math.abs((r.ExpireTime as number) - (Date.now() / 1000 + 2 * 3600)) < 60, 'valid for 2 hours');
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  t.match(await rest(api, 'desk_http_svc/get_satisfaction_settings', {}, { usersig: r.UserSig as string }), { ErrorCode: 0, Data: { SatisfactionEnabled: 1 } }, 'the console sig calls the REST API as the admin');

  t.match(await login(t, s, ALICE, PASSWORD, { Console: true }), { ActionStatus: 'FAIL', ErrorCode: 90009, ErrorInfo: 'this member is not an administrator' });
  t.same(await login(t, s, CAROL, 'wrong-password', { Console: true }), WRONG, 'the password first');
  const workbench = await login(t, s, CAROL, 'carol-password-1', { Console: false });
  t.equal(workbench.Identifier, CAROL, 'Console: false is the workbench sign-in');
  t.match(await rest(api, 'desk_http_svc/get_satisfaction_settings', {}, { identifier: CAROL, usersig: workbench.UserSig as string }), { ErrorCode: 90009 }, 'a workbench sig is no admin sig');
});

t.test('after 5 failures in 60 s a mail is refused until the window has passed; a success starts again', async (t) => {
  const clock = new ManualClock();
  const s = await startTestServer(app(), { clock });
  t.teardown(() => s.stop());
  for (let i = 0; i < 5; i++) {
    t.same(await login(t, s, ALICE, `wrong-${i}`), WRONG, `failure ${i + 1}`);
    clock.advance(1000);
  }
  t.same(await login(t, s, ALICE, PASSWORD), { ActionStatus: 'FAIL', ErrorCode: 141009, ErrorInfo: 'too many failed logins; try again in 55 s' }, 'even the right password waits');
  t.match(await login(t, s, CAROL, 'carol-password-1'), { ErrorCode: 0 }, 'other mails are not held up');
  clock.advance(30_000);
  t.match(await login(t, s, ALICE, PASSWORD), { ErrorCode: 141009, ErrorInfo: 'too many failed logins; try again in 25 s' });
  clock.advance(25_000);
  t.match(await login(t, s, ALICE, PASSWORD), { ErrorCode: 0 }, 'the window has passed');
  for (let i = 0; i < 4; i++) await login(t, s, ALICE, `wrong-${i}`);
  t.match(await login(t, s, ALICE, PASSWORD), { ErrorCode: 0 }, 'the success cleared the earlier failures');

  for (let i = 0; i < 5; i++) await login(t, s, 'nobody@desk.test', `wrong-${i}`);
  t.match(await login(t, s, 'nobody@desk.test', 'wrong'), { ErrorCode: 141009 }, 'unknown mails are throttled alike: no hint that they are unknown');
});

t.test('bad bodies are refused with an envelope and the server goes on', async (t) => {
  const s = await startTestServer(app());
  t.teardown(() => s.stop());
  const cases: [string, unknown, number][] = [
    ['not JSON', '{"SdkAppId": 1400000001,', 90001],
    ['an array', '[1, 2]', 90001],
    ['a string', '"login"', 90001],
    ['empty', '', 141004],
    ['no password', { SdkAppId: APP, Mail: ALICE }, 141004],
    ['no mail', { SdkAppId: APP, Password: PASSWORD }, 141004],
    ['SdkAppId a string', { SdkAppId: String(APP), Mail: ALICE, Password: PASSWORD }, 141004],
    ['SdkAppId not an integer', { SdkAppId: 1.5, Mail: ALICE, Password: PASSWORD }, 141004],
    ['Mail a number', { SdkAppId: APP, Mail: 1, Password: PASSWORD }, 141004],
    ['Mail empty', { SdkAppId: APP, Mail: '', Password: PASSWORD }, 141004],
    ['Mail over 128', { SdkAppId: APP, Mail: `${'m'.repeat(120)}@desk.test`, Password: PASSWORD }, 141004],
    ['Password over 128', { SdkAppId: APP, Mail: ALICE, Password: 'p'.repeat(129) }, 141004],
    ['Console a string', { SdkAppId: APP, Mail: ALICE, Password: PASSWORD, Console: 'yes' }, 141004],
    ['over 64 KB', { SdkAppId: APP, Mail: ALICE, Password: 'p'.repeat(70_000) }, 93000],
  ];
  for (const [what, body, code] of cases) t.match(await web(t, s, 'login', body), { ActionStatus: 'FAIL', ErrorCode: code, ErrorInfo: /./ }, what);
  t.match(await web(t, s, 'demo_usersig', { SdkAppId: 'x' }), { ErrorCode: 141004 }, 'demo_usersig checks its body too');
  t.match(await web(t, s, 'demo_usersig', { SdkAppId: APP, UserId: 7 }), { ErrorCode: 141004 });
  const form = await fetch(`http://127.0.0.1:${s.port}/web/v1/login`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ SdkAppId: APP, Mail: ALICE, Password: PASSWORD }) });
  t.match(await form.json(), { ErrorCode: 141004, ErrorInfo: 'Content-Type must be application/json' }, 'a body that is not declared JSON (what a form on another site sends)');
  t.match(await web(t, s, 'nothing_here', {}), { ErrorCode: 60002 }, 'unknown endpoint');
  t.match(await web(t, s, 'login/more', {}), { ErrorCode: 60002 });
  t.match(await login(t, s, ALICE, PASSWORD), { ErrorCode: 0 }, 'still serving');
});

t.test('demo UserSigs: refused unless the app turns them on', async (t) => {
  const s = await startTestServer(app());
  t.teardown(() => s.stop());
  t.same(await web(t, s, 'demo_usersig', { SdkAppId: APP }), { ActionStatus: 'FAIL', ErrorCode: 141004, ErrorInfo: 'demo UserSigs are off for this app' });
  t.same(await web(t, s, 'demo_usersig', { SdkAppId: APP, UserId: 'visitor' }), { ActionStatus: 'FAIL', ErrorCode: 141004, ErrorInfo: 'demo UserSigs are off for this app' });
  t.match(await web(t, s, 'demo_usersig', { SdkAppId: APP + 1 }), { ErrorCode: 141000 });
});

t.test('demo UserSigs: a guest or a named user chats with the default account; service-side ids are refused', async (t) => {
  const clock = new ManualClock();
  const s = await startTestServer(app({
    web: { demoUserSig: true },
    csAccounts: [{ userId: '@customer_service_account', isDefault: false }, { userId: 'sales', isDefault: true }],
  }), { clock });
  t.teardown(() => s.stop());
  const guest = await web(t, s, 'demo_usersig', { SdkAppId: APP });
  t.match(guest, { ActionStatus: 'OK', UserId: /^guest-[0-9a-f]{12}$/, SdkAppId: APP, CsAccount: 'sales', UserSig: String });
  t.equal(guest.ExpireTime, Math.floor(clock.now() / 1000) + 24 * 3600, 'valid for 24 hours');
  t.not((await web(t, s, 'demo_usersig', { SdkAppId: APP })).UserId, guest.UserId, 'each guest its own id');

  const user = await connectWith(t, s, guest.UserId as string, 'user', guest.UserSig as string);
  const ack = await user.request('message.send', { to: guest.CsAccount, random: 1, body: srcBody('7') });
  t.match(ack.data, { sessionId: String }, 'the guest opens a session with the account');

  const named = await web(t, s, 'demo_usersig', { SdkAppId: APP, UserId: 'visitor-7' });
  t.match(named, { ErrorCode: 0, UserId: 'visitor-7' });
  await connectWith(t, s, 'visitor-7', 'user', named.UserSig as string);

  for (const id of [ALICE, 'sales', '@customer_service_account', 'administrator']) {
    t.match(await web(t, s, 'demo_usersig', { SdkAppId: APP, UserId: id }), { ActionStatus: 'FAIL', ErrorCode: 20003 }, `${id} is not a user`);
  }
  for (const id of ['', 'a|b', 'line\nbreak', 'u'.repeat(65)]) {
    t.match(await web(t, s, 'demo_usersig', { SdkAppId: APP, UserId: id }), { ActionStatus: 'FAIL', ErrorCode: 20003 }, `${JSON.stringify(id)} is no user identifier`);
  }

  clock.advance(1000);
  for (let i = 0; i < 20; i++) t.match(await web(t, s, 'demo_usersig', { SdkAppId: APP }), { ErrorCode: 0 }, `call ${i + 1} of the second`);
  t.same(await web(t, s, 'demo_usersig', { SdkAppId: APP }), { ActionStatus: 'FAIL', ErrorCode: 141009, ErrorInfo: 'at most 20 demo UserSigs per second' });
  clock.advance(1000);
  t.match(await web(t, s, 'demo_usersig', { SdkAppId: APP }), { ErrorCode: 0 }, 'the next second');
});

t.test('set_password: a member changes its own with the current one; the administrator sets anyone\'s', async (t) => {
  const s = await startTestServer(app());
  t.teardown(() => s.stop());
  const target: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  t.same(await web(t, s, 'set_password', { SdkAppId: APP, Mail: ALICE, Password: 'not-it-at-all', NewPassword: 'alice-password-2' }), WRONG, 'a wrong current password changes nothing');
  t.match(await web(t, s, 'set_password', { SdkAppId: APP, Mail: ALICE, Password: PASSWORD, NewPassword: 'short' }), { ErrorCode: 141004 }, 'a new password under 8 characters is refused');
  t.match(await web(t, s, 'set_password', { SdkAppId: APP, Mail: ALICE, Password: PASSWORD, NewPassword: 'alice-password-2' }), { ActionStatus: 'OK' });
  t.same(await login(t, s, ALICE, PASSWORD), WRONG, 'the old password no longer signs in');
  t.match(await login(t, s, ALICE, 'alice-password-2'), { ActionStatus: 'OK' }, 'the new one does');

  // Erin was declared without a password: the administrator gives her one.
  const adminSig = (await login(t, s, CAROL, 'carol-password-1', { Console: true })).UserSig as string;
  t.match(await web(t, s, 'set_password', { SdkAppId: APP, Mail: ERIN, NewPassword: 'erin-password-1', Identifier: ALICE, UserSig: (await login(t, s, ALICE, 'alice-password-2')).UserSig }), { ErrorCode: 90009 }, "a member's own sig cannot set another's");
  t.match(await web(t, s, 'set_password', { SdkAppId: APP, Mail: ERIN, NewPassword: 'erin-password-1', Identifier: 'administrator', UserSig: 'forged' }), { ErrorCode: 70003 }, 'a bad sig is refused');
  t.match(await web(t, s, 'set_password', { SdkAppId: APP, Mail: ERIN, NewPassword: 'erin-password-1' }), { ErrorCode: 141004 }, 'neither the current password nor a sig: refused');
  t.match(await web(t, s, 'set_password', { SdkAppId: APP, Mail: 'nobody@desk.test', NewPassword: 'erin-password-1', Identifier: 'administrator', UserSig: adminSig }), { ErrorCode: 141011 }, 'an unknown member');
  t.match(await web(t, s, 'set_password', { SdkAppId: APP, Mail: ERIN, NewPassword: 'erin-password-1', Identifier: 'administrator', UserSig: adminSig }), { ActionStatus: 'OK' });
  const erin = await login(t, s, ERIN, 'erin-password-1');
  t.match(erin, { ActionStatus: 'OK', Identifier: ERIN }, 'Erin signs in');
  await connectWith(t, s, ERIN, 'agent', erin.UserSig as string).then((c) => c.next((f) => f.type === 'agent.state'));
  t.ok((await rest(target, 'desk_http_svc/get_member_list', { PageSize: 100, PageNum: 0 })).MemberList, 'the REST API still answers');

  // The change is stored: it survives a restart.
  const dataDir = s.dataDir;
  await s.stop();
  const again = await startTestServer(app(), { dataDir });
  t.teardown(() => again.stop());
  t.match(await login(t, again, ERIN, 'erin-password-1'), { ActionStatus: 'OK' }, 'after a restart too');
});

t.test('guesses sent together are throttled as well as guesses sent one by one', async (t) => {
  const s = await startTestServer(app());
  t.teardown(() => s.stop());
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => login(t, s, ALICE, `guess-${i}-xxxxxxxx`)));
  const wrong = answers.filter((a) => a.ErrorCode === 70009).length;
  const throttled = answers.filter((a) => a.ErrorCode === 141009).length;
  t.ok(wrong <= 5, `at most 5 passwords were checked (${wrong})`);
  t.equal(wrong + throttled, 30, 'the others were refused without a check');
  t.match(await login(t, s, ALICE, PASSWORD), { ErrorCode: 141009 }, 'the right password too, until the window passes');
});
