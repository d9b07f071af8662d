import t from 'tap';
import { APP, KEY, startTestServer, testApp } from '../helpers/server';
import { rest, type RestTarget } from './rest-client';

const A = 'alice@desk.test';
const B = 'bob@desk.test';
const names = (list: { Data?: unknown }) => (list.Data as { GroupName: string }[]).map((g) => g.GroupName);

t.test('quick replies: groups with scopes, replies, personal replies, and what each member may use', async (t) => {
  const s = await startTestServer(testApp([A, B], {}, { members: [{ mail: A, nickname: 'alice', groupIds: [1, 2] }, { mail: B, nickname: 'bob', groupIds: [1] }] }));
  t.teardown(() => s.stop());
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  const call = (cmd: string, body: unknown) => rest(api, `desk_http_svc/${cmd}`, body);

  const all = await call('add_quick_reply_group', { GroupName: '通用', UseScopeType: 'all' });
  const vip = await call('add_quick_reply_group', { GroupName: 'VIP', UseScopeType: 'groups', UseScopeList: [2] });
  const bobOnly = await call('add_quick_reply_group', { GroupName: 'Bob', UseScopeType: 'members', UseScopeList: [B] });
  for (const g of [all, vip, bobOnly]) t.match(g, { ErrorCode: 0, GroupId: /^qrg/ });
  t.match(await call('add_quick_reply_group', { GroupName: '通用', UseScopeType: 'all' }), { ErrorCode: 141004 }, 'names are unique');
  t.match(await call('add_quick_reply_group', { GroupName: 'x', UseScopeType: 'groups', UseScopeList: [9] }), { ErrorCode: 141004 }, 'unknown member group');
  t.match(await call('add_quick_reply_group', { GroupName: 'y', UseScopeType: 'members', UseScopeList: ['ghost@desk.test'] }), { ErrorCode: 141004 });

  const hello = await call('add_quick_reply', { GroupId: all.GroupId, Title: '问候', Content: '您好，很高兴为您服务' });
  t.match(hello, { ErrorCode: 0, QuickReplyId: /^qr/ });
  await call('add_quick_reply', { GroupId: vip.GroupId, Title: 'VIP', Content: '尊贵的会员您好' });
  await call('add_quick_reply', { GroupId: bobOnly.GroupId, Title: 'B', Content: 'bob only' });
  t.match(await call('update_quick_reply', { QuickReplyId: hello.QuickReplyId, GroupId: all.GroupId, Title: '问候', Content: '您好！' }), { ErrorCode: 0 });
  t.match(await call('get_quick_reply_list', { GroupId: all.GroupId }), { Data: [{ QuickReplyId: hello.QuickReplyId, Title: '问候', Content: '您好！' }] });
  const mine = await call('add_member_quick_reply', { MemberId: A, Title: '签名', Content: '— Alice' });
  t.match(mine, { ErrorCode: 0 });

  const forAlice = await call('get_available_quick_reply_list', { MemberId: A });
  t.same(names(forAlice), ['通用', 'VIP', '个人'], 'alice: all, her group, her own');
  const forBob = await call('get_available_quick_reply_list', { MemberId: B });
  t.same(names(forBob), ['通用', 'Bob'], 'bob: all and his');
  t.match(await call('update_member_quick_reply', { MemberId: B, QuickReplyId: mine.QuickReplyId, Title: 'x', Content: 'y' }), { ErrorCode: 141004 }, 'personal replies are the member\'s own');

  t.match(await call('update_quick_reply_group', { GroupId: bobOnly.GroupId, GroupName: '通用', UseScopeType: 'all' }), { ErrorCode: 141004 }, 'a rename may not take another group\'s name');
  t.match(await call('update_quick_reply_group', { GroupId: bobOnly.GroupId, GroupName: 'Team', UseScopeType: 'groups', UseScopeList: [2] }), { ErrorCode: 0 });
  t.same(names(await call('get_available_quick_reply_list', { MemberId: A })), ['通用', 'VIP', 'Team', '个人'], 'rescoped to her group: alice sees it');
  t.same(names(await call('get_available_quick_reply_list', { MemberId: B })), ['通用'], 'bob no longer does');
  t.match(await call('update_quick_reply_group', { GroupId: bobOnly.GroupId, GroupName: 'Bob', UseScopeType: 'members', UseScopeList: [B] }), { ErrorCode: 0 });
  t.match(await call('update_quick_reply_group', { GroupId: 'qrg-missing', GroupName: 'z', UseScopeType: 'all' }), { ErrorCode: 141004 });

  t.match(await call('delete_quick_reply_group', { GroupId: vip.GroupId }), { ErrorCode: 0 });
  t.same((await call('get_quick_reply_group_list', {})).Data, [
    { GroupId: all.GroupId, GroupName: '通用', UseScopeType: 'all', UseScopeList: [] },
    { GroupId: bobOnly.GroupId, GroupName: 'Bob', UseScopeType: 'members', UseScopeList: [B] },
  ]);
  t.match(await call('get_quick_reply_list', { GroupId: vip.GroupId }), { ErrorCode: 141004 }, 'its replies went with it');
  t.match(await call('delete_quick_reply', { QuickReplyId: hello.QuickReplyId }), { ErrorCode: 0 });
  t.match(await call('delete_member_quick_reply', { MemberId: A, QuickReplyId: mine.QuickReplyId }), { ErrorCode: 0 });
  t.same((await call('get_available_quick_reply_list', { MemberId: A })).Data, [{ GroupId: all.GroupId, GroupName: '通用', QuickReplyList: [] }]);
});
