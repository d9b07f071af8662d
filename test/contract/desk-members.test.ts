import t from 'tap';
import { srcBody, textBody, TestClient } from '../helpers/client';
import { APP, CS, KEY, startTestServer, testApp } from '../helpers/server';
import { rest, type RestTarget } from './rest-client';

t.test('members and groups: create, list, update, limits in force, status, forced offline and restore', async (t) => {
  const s = await startTestServer(testApp(['alice@desk.test']));
  t.teardown(() => s.stop());
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };

  const g = await rest(api, 'desk_http_svc/create_member_group', { MemberGroupName: 'VIP desk', ReceptionLimit: 1, MemberList: ['alice@desk.test'] });
  t.match(g, { ErrorCode: 0, MemberGroupID: 3 }, 'ids after the existing groups');
  t.same(await rest(api, 'desk_http_svc/create_members', { MemberList: [
    { MemberMail: 'carol@desk.test', NickName: 'Carol', RoleIDList: [5, 7], MemberGroupIDList: [3], MemberReceptionLimit: 2, MemberReceptionLimitEnabled: 1 },
    { MemberMail: 'dave@desk.test' },
  ] }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  t.match(await rest(api, 'desk_http_svc/create_members', { MemberList: [{ MemberMail: 'carol@desk.test' }] }), { ErrorCode: 141004 }, 'no duplicates');
  t.match(await rest(api, 'desk_http_svc/create_members', { MemberList: [{ MemberMail: 'x@desk.test', MemberGroupIDList: [42] }] }), { ErrorCode: 141004 }, 'unknown group');
  t.match(await rest(api, 'desk_http_svc/create_members', { MemberList: Array.from({ length: 11 }, (_, i) => ({ MemberMail: `m${i}@desk.test` })) }), { ErrorCode: 141004 }, 'at most 10 per call');

  const list = await rest(api, 'desk_http_svc/get_member_list', { PageSize: 0, PageNum: 0 });
  t.equal(list.Total, 3);
  t.match((list.MemberList as Record<string, unknown>[]).find((m) => m.MemberMail === 'carol@desk.test'), {
    NickName: 'Carol', RoleIDList: [5, 7], MemberGroupIDList: [1, 3], MemberReceptionLimitEnabled: 1, EffectiveReceptionLimit: 2, KickOff: 0,
  }, 'every member is also in the default group');
  t.match((list.MemberList as Record<string, unknown>[]).find((m) => m.MemberMail === 'alice@desk.test'), { EffectiveReceptionLimit: 5, MemberGroupIDList: [1, 3] }, 'largest group limit: default 5 over VIP 1');
  t.match(await rest(api, 'desk_http_svc/get_member_group_list', {}), { Total: 3, MemberGroupList: [{ MemberGroupID: 1 }, { MemberGroupID: 2 }, { MemberGroupID: 3, MemberGroupName: 'VIP desk', ReceptionLimit: 1, GroupMemberCount: 2 }] });
  t.match(await rest(api, 'desk_http_svc/get_member_list_in_group', { MemberGroupID: 3, PageSize: 10, PageNum: 0 }), { Total: 2 });

  t.match(await rest(api, 'desk_http_svc/update_member_group', { MemberGroupID: 3, MemberMailList: ['dave@desk.test'] }), { ErrorCode: 0 });
  t.match(await rest(api, 'desk_http_svc/get_member_list_in_group', { MemberGroupID: 3, PageSize: 10, PageNum: 0 }), { Total: 1, MemberList: [{ MemberMail: 'dave@desk.test' }] }, 'the list replaces the members');
  t.match(await rest(api, 'desk_http_svc/update_member', { MemberMail: 'alice@desk.test', MemberReceptionLimit: 1, MemberReceptionLimitEnabled: 1 }), { ErrorCode: 0 });

  // Alice's own limit of 1 holds for assignments at once.
  const alice = await s.agent('alice@desk.test');
  await alice.next((f) => f.type === 'agent.state');
  for (const id of ['u1', 'u2']) {
    const u = await s.user(id);
    await u.request('message.send', { to: CS, random: 1, body: srcBody('7') });
    await u.request('message.send', { to: CS, random: 2, body: textBody('人工') });
  }
  await alice.next((f) => f.type === 'session.assigned');
  await new Promise((r) => setTimeout(r, 150));
  t.equal(alice.frames.filter((f) => f.type === 'session.assigned').length, 1, 'the updated limit is in force');

  t.match(await rest(api, 'desk_http_svc/set_member_status', { MemberMail: 'alice@desk.test', Status: 'STATUS_REST', RestReason: 'lunch' }), { ErrorCode: 0 });
  const pushed = await alice.next((f) => f.type === 'agent.status');
  t.match(pushed.data, { status: 'rest', reason: 'lunch' }, 'her workbench is told');
  t.match(await rest(api, 'desk_http_svc/set_member_status', { MemberMail: 'nobody@desk.test', Status: 'STATUS_FREE' }), { ErrorCode: 141010 });
  t.match(await rest(api, 'desk_http_svc/set_member_status', { MemberMail: 'dave@desk.test', Status: 'STATUS_FREE' }), { ErrorCode: 141011 }, 'an offline member is not set online');

  t.match(await rest(api, 'desk_http_svc/force_member_offline', { MemberMail: 'alice@desk.test' }), { ErrorCode: 0 });
  await alice.closed;
  t.equal(alice.closeCode, 4500, 'her sockets are closed, not to reconnect');
  const again = await TestClient.connect({ port: s.port, sdkAppId: APP, key: KEY, identity: 'alice@desk.test', role: 'agent' });
  await again.closed;
  t.equal(again.closeCode, 4500, 'she cannot log in while forced offline');
  t.match(await rest(api, 'desk_http_svc/restore_member_online', { MemberMail: 'alice@desk.test' }), { ErrorCode: 0 });
  const back = await s.agent('alice@desk.test');
  const state = await back.next((f) => f.type === 'agent.state');
  t.match(state.data, { status: 'free', sessions: [{ userId: 'u1' }] }, 'restored: back online with the session she kept');

  t.match(await rest(api, 'desk_http_svc/delete_member_group', { MemberGroupID: 1 }), { ErrorCode: 141004 }, 'not the default group');
  t.match(await rest(api, 'desk_http_svc/delete_member_group', { MemberGroupID: 3 }), { ErrorCode: 0 });
  t.match(await rest(api, 'desk_http_svc/get_member_group_list', {}), { Total: 2 });
});

t.test('a member mail may not be the admin identifier or a customer-service account', async (t) => {
  const admin = 'admin@desk.test';
  const s = await startTestServer(testApp(['alice@desk.test'], {}, { adminIdentifier: admin, csAccounts: [{ userId: 'shop@desk.test' }] }));
  t.teardown(() => s.stop());
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin };
  t.match(await rest(api, 'desk_http_svc/create_members', { MemberList: [{ MemberMail: admin }] }), { ErrorCode: 141004, ErrorInfo: /'admin@desk\.test' is the app admin or a customer-service account/ }, 'the admin');
  t.match(await rest(api, 'desk_http_svc/create_members', { MemberList: [{ MemberMail: 'shop@desk.test' }] }), { ErrorCode: 141004, ErrorInfo: /customer-service account/ }, 'an account');
  t.equal((await rest(api, 'desk_http_svc/get_member_list', { PageSize: 0, PageNum: 0 })).Total, 1, 'nothing was created');

  // A model stored by an older version may hold the clash: the member's sig is still no admin sig.
  const app = s.apps.get(APP)!;
  s.apps.put({ ...app, members: { ...app.members, [admin]: { ...app.members['alice@desk.test'], mail: admin } } });
  t.match(await rest(api, 'desk_http_svc/get_member_list', { PageSize: 0, PageNum: 0 }), { ErrorCode: 90009, ErrorInfo: /also a member/ });
});

t.test('role 1: a super administrator is created with it, and cannot be modified afterwards', async (t) => {
  const s = await startTestServer(testApp(['alice@desk.test']));
  t.teardown(() => s.stop());
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  t.match(await rest(api, 'desk_http_svc/create_members', { MemberList: [{ MemberMail: 'root@desk.test', NickName: 'Root', RoleIDList: [1] }] }), { ErrorCode: 0 });
  const list = await rest(api, 'desk_http_svc/get_member_list', { PageSize: 0, PageNum: 0 });
  t.match((list.MemberList as Record<string, unknown>[]).find((m) => m.MemberMail === 'root@desk.test'), { NickName: 'Root', RoleIDList: [1] });
  t.match(await rest(api, 'desk_http_svc/update_member', { MemberMail: 'root@desk.test', NickName: 'Other' }), { ErrorCode: 141004, ErrorInfo: /super administrator/ }, 'not modified');
  t.match(await rest(api, 'desk_http_svc/update_member', { MemberMail: 'alice@desk.test', RoleIDList: [1] }), { ErrorCode: 141004 }, 'the role is given at creation only');
  const root = await s.agent('root@desk.test');
  t.match((await root.next((f) => f.type === 'agent.state')).data, { status: 'free' }, 'a super administrator may work on the workbench too');
});
