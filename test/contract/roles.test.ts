import t from 'tap';
import { APP, KEY, startTestServer, testApp } from '../helpers/server';
import { rest, type RestTarget } from './rest-client';

const A = 'alice@desk.test';
const B = 'bob@desk.test';

t.test('custom roles: add, list, modify, assign through members, delete', async (t) => {
  const s = await startTestServer(testApp([A, B]));
  t.teardown(() => s.stop());
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  const call = (cmd: string, body: unknown) => rest(api, `desk_http_svc/${cmd}`, body);

  const added = await call('add_role', { RoleName: '夜班', MemberList: [A], PermissionList: ['CHAT_WORKBENCH'], MemberGroupIDList: [1] });
  t.match(added, { ErrorCode: 0, RoleID: 1000 });
  t.match(await call('add_role', { RoleName: '夜班' }), { ErrorCode: 141004 }, 'names are unique');
  t.match(await call('add_role', { RoleName: 'x', MemberList: ['ghost@desk.test'] }), { ErrorCode: 141004 });
  t.match(await call('add_role', { RoleName: 'y', PermissionList: ['ROOT'] }), { ErrorCode: 141004 });
  t.same(await call('get_role_list', {}), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', Total: 1, RoleList: [{ RoleID: 1000, RoleName: '夜班', PermissionList: ['CHAT_WORKBENCH'], MemberList: [A], MemberGroupIDList: [1] }] });

  t.match(await call('update_member', { MemberMail: B, RoleIDList: [5, 1000] }), { ErrorCode: 0 }, 'a custom role through update_member');
  t.match(await call('get_role_list', { SpecifiedMember: B }), { Total: 1, RoleList: [{ MemberList: [A, B] }] });
  const members = await call('get_member_list', { PageSize: 10, PageNum: 0 });
  t.match((members.MemberList as { MemberMail: string }[]).find((m) => m.MemberMail === B), { RoleIDList: [5, 1000] });
  t.match(await call('update_member', { MemberMail: B, RoleIDList: [4242] }), { ErrorCode: 141004 }, 'unknown role');
  t.match(await call('update_member', { MemberMail: B, RoleIDList: [1] }), { ErrorCode: 141004 }, 'the super administrator is not assignable');

  t.match(await call('modify_role', { RoleID: 1000, RoleName: '晚班', MemberList: [B] }), { ErrorCode: 0 });
  t.match(await call('get_role_list', {}), { RoleList: [{ RoleName: '晚班', MemberList: [B], PermissionList: ['CHAT_WORKBENCH'] }] }, 'omitted lists unchanged');
  t.match(await call('delete_role', { RoleID: 1000 }), { ErrorCode: 0 });
  t.match(await call('delete_role', { RoleID: 1000 }), { ErrorCode: 141004 });
  t.match(await call('get_role_list', {}), { Total: 0, RoleList: [] });
});

t.test('a null field is taken as absent, not as a value to read (it once made add_role throw)', async (t) => {
  const s = await startTestServer(testApp([A, B]));
  t.teardown(() => s.stop());
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  const call = (cmd: string, body: unknown) => rest(api, `desk_http_svc/${cmd}`, body);
  t.match(await call('add_role', { RoleName: 'n', MemberList: null, PermissionList: null, MemberGroupIDList: null }), { ErrorCode: 0, RoleID: 1000 });
  t.match(await call('modify_role', { RoleID: 1000, RoleName: null, MemberList: null }), { ErrorCode: 0 });
  t.match(await call('get_role_list', {}), { RoleList: [{ RoleName: 'n', MemberList: [], PermissionList: [], MemberGroupIDList: [] }] });
  t.match(await call('add_role', { RoleName: null }), { ErrorCode: 141004 }, 'a required field given as null is missing');
});
