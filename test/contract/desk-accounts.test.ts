import t from 'tap';
import { srcBody, textOf } from '../helpers/client';
import { APP, CS, KEY, startTestServer, testApp } from '../helpers/server';
import { rest, type RestTarget } from './rest-client';

const account = {
  IMAgentUserID: 'shop', IMAgentNick: '衣服官方旗舰店', IMAgentAvatarUrl: 'https://example.com/a.png',
  WelcomeMessage: '欢迎咨询衣服官方旗舰店', ChatbotDisabled: 0, AgentGroupId: 2,
  TransferToHumanPrompt: '正在为您转接，请稍候', TransferToHumanSuccessPrompt: '客服${StaffNickName}为您服务',
  TransferToHumanFailPrompt: '无客服', QueueingPrompt: '第${QueuePosition}位', UserTimeout: 600,
  EndPrompt: '结束', TimeoutEndPrompt: '超时结束',
  WorkTimeConfig: { Type: 1, Periods: [{ Day: 'Monday', PeriodsWithinOneDay: [{ Start: '09:00', End: '11:30' }] }] },
  NotWorkTimePrompt: '非工作时间', AssignmentStrategy: 1, ChooseSkillGroupPrompt: '请选择分组', DisplayGroupsChoices: [1, 2],
  WelcomeMessageMultilingual: { en: 'Welcome' },
};

t.test('add, list, update, delete customer-service accounts; changes apply at once and survive a restart', async (t) => {
  let s = await startTestServer(testApp());
  const dataDir = s.dataDir;
  const api = (): RestTarget => ({ port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' });
  t.teardown(() => s.stop());

  t.same(await rest(api(), 'desk_http_svc/add_im_agent', account), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', IMAgentUserID: 'shop' });
  const listed = await rest(api(), 'desk_http_svc/get_im_agent_list', {});
  const shop = (listed.Data as Record<string, unknown>[]).find((a) => a.IMAgentUserID === 'shop');
  t.match(shop, { ...account, IsDefault: 0, RobotId: '@RBT#DeskDefaultRobot' }, 'listed with every field');
  t.match((listed.Data as Record<string, unknown>[]).find((a) => a.IMAgentUserID === CS), { IsDefault: 1, WelcomeMessage: '您好请问有什么可以帮助您的?' });

  const user = await s.user('u1');
  await user.request('message.send', { to: 'shop', random: 1, body: srcBody('7') });
  t.equal(textOf(await user.next((f) => textOf(f) !== undefined)), '欢迎咨询衣服官方旗舰店', 'the new account greets its users');

  t.match(await rest(api(), 'desk_http_svc/update_im_agent', { IMAgentUserID: 'shop', WelcomeMessage: '新的欢迎语' }), { ErrorCode: 0, IMAgentUserID: 'shop' });
  const u2 = await s.user('u2');
  await u2.request('message.send', { to: 'shop', random: 1, body: srcBody('7') });
  t.equal(textOf(await u2.next((f) => textOf(f) !== undefined)), '新的欢迎语', 'an update applies to the next session without a restart');

  await s.stop();
  s = await startTestServer(testApp(), { dataDir });
  const after = await rest(api(), 'desk_http_svc/get_im_agent_list', {});
  t.match((after.Data as Record<string, unknown>[]).find((a) => a.IMAgentUserID === 'shop'), { WelcomeMessage: '新的欢迎语', DisplayGroupsChoices: [1, 2] }, 'survives a restart');

  t.match(await rest(api(), 'desk_http_svc/delete_im_agent', { IMAgentUserID: 'shop' }), { ErrorCode: 141004 }, 'open sessions keep the account');
  t.match(await rest(api(), 'desk_http_svc/delete_im_agent', { IMAgentUserID: CS }), { ErrorCode: 141004, ErrorInfo: /default/ });
  t.match(await rest(api(), 'desk_http_svc/delete_im_agent', { IMAgentUserID: 'nope' }), { ErrorCode: 141004 });
});

t.test('account requests are validated', async (t) => {
  const s = await startTestServer(testApp());
  t.teardown(() => s.stop());
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  const { WelcomeMessage, ...missing } = account;
  void WelcomeMessage;
  t.match(await rest(api, 'desk_http_svc/add_im_agent', missing), { ErrorCode: 141004 }, 'a required field missing');
  t.match(await rest(api, 'desk_http_svc/add_im_agent', { ...account, AgentGroupId: 99 }), { ErrorCode: 141004, ErrorInfo: /group/ });
  t.match(await rest(api, 'desk_http_svc/add_im_agent', { ...account, DisplayGroupsChoices: [] }), { ErrorCode: 141004 }, 'strategy 1 needs groups');
  t.match(await rest(api, 'desk_http_svc/add_im_agent', { ...account, AssignmentStrategy: 2 }), { ErrorCode: 141004 }, 'strategy 2 needs a URL');
  t.match(await rest(api, 'desk_http_svc/add_im_agent', { ...account, IMAgentUserID: 'alice@desk.test' }), { ErrorCode: 141004 }, 'not a member id');
  t.match(await rest(api, 'desk_http_svc/add_im_agent', { ...account, WorkTimeConfig: { Type: 1, Periods: [{ Day: 'Funday', PeriodsWithinOneDay: [] }] } }), { ErrorCode: 141004 });
  t.match(await rest(api, 'desk_http_svc/add_im_agent', { ...account, RobotId: '@RBT#nope' }), { ErrorCode: 141004 });
  const generated = await rest(api, 'desk_http_svc/add_im_agent', { ...account, IMAgentUserID: undefined });
  t.match(generated, { ErrorCode: 0, IMAgentUserID: /^im[0-9a-f]{30}$/ }, 'an id is generated when none is given');
  t.match(await rest(api, 'desk_http_svc/add_im_agent', { ...account, IMAgentUserID: CS }), { ErrorCode: 141004 }, 'ids are unique');
  t.match(await rest(api, 'desk_http_svc/update_im_agent', { IMAgentUserID: 'ghost', WelcomeMessage: 'x' }), { ErrorCode: 141004 });
  t.match(await rest(api, 'desk_http_svc/update_im_agent', { IMAgentUserID: CS, UserTimeout: -1 }), { ErrorCode: 141004 });
});

t.test('AssignmentStrategy 1: the user picks a group from a src 15 branch message', async (t) => {
  const s = await startTestServer(testApp(undefined, {}, { members: [{ mail: 'alice@desk.test', nickname: 'alice', groupIds: [1] }, { mail: 'carol@desk.test', nickname: 'carol', groupIds: [2] }] }));
  t.teardown(() => s.stop());
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  t.match(await rest(api, 'desk_http_svc/update_im_agent', { IMAgentUserID: CS, AssignmentStrategy: 1, DisplayGroupsChoices: [1, 2], ChooseSkillGroupPrompt: '请选择分组' }), { ErrorCode: 0 });
  const carol = await s.agent('carol@desk.test');
  await carol.next((f) => f.type === 'agent.state');
  const user = await s.user('u1');
  await user.request('message.send', { to: CS, random: 1, body: srcBody('7') });
  await user.request('message.send', { to: CS, random: 2, body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: '人工' } }] });
  const branch = await user.next((f) => f.type === 'message' && JSON.stringify(f.data).includes('\\"src\\":\\"15\\"'));
  const content = JSON.parse((branch.data as { body: { MsgContent: { Data: string } }[] }).body[0].MsgContent.Data).content;
  t.same(content, { header: '请选择分组', items: [{ content: 'Default', desc: '' }, { content: 'VIP', desc: '' }], tail: '' });
  await user.request('message.send', { to: CS, random: 3, body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'VIP' } }] });
  const edit = await user.next((f) => f.type === 'message.edit');
  t.match(JSON.parse((edit.data as { body: { MsgContent: { Data: string } }[] }).body[0].MsgContent.Data).content, { selected: { content: 'VIP' } });
  const assigned = await carol.next((f) => f.type === 'session.assigned');
  t.match(assigned.data, { userId: 'u1', groupId: 2 }, 'the chosen group serves it');
  t.ok(user.texts().includes('转接人工成功，客服carol为您服务'));
});

t.test('the multilingual form: add_im_agent_multilingual, update_im_agent_multilingual, get_im_agent_list_multilingual', async (t) => {
  const s = await startTestServer(testApp());
  t.teardown(() => s.stop());
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  const satisfaction = { InvitationMethod: 1, SatisfactionContent: { RatingInvitationMessage: 'Please rate us', SubmissionMessage: 'Thanks', OneStarContent: 'Bad' } };
  t.same(await rest(api, 'desk_http_svc/add_im_agent_multilingual', {
    IMAgentUserID: 'global', IMAgentNick: 'Global shop', IMAgentAvatarUrl: 'https://example.com/g.png', ChatbotDisabled: 0, AgentGroupId: 2, GroupChatMode: 1,
    MultilingualSettings: {
      '': { WelcomeMessage: '欢迎', UserTimeout: 300, WorkTimeConfig: { Type: 0 } },
      en: { WelcomeMessage: 'Welcome', QueueingPrompt: 'You are number ${QueuePosition}', UserTimeout: 900, WorkTimeConfig: { Type: 1, Periods: [{ Day: 'Monday', PeriodsWithinOneDay: [{ Start: '09:00', End: '17:00' }] }] }, Satisfaction: satisfaction },
    },
  }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', IMAgentUserID: 'global' });

  const list = async (ids?: string[]) => (await rest(api, 'desk_http_svc/get_im_agent_list_multilingual', ids ? { IMAgentUserIDList: ids } : {})).Data as Record<string, unknown>[];
  const [global] = await list(['global']);
  t.match(global, {
    IMAgentUserID: 'global', IMAgentNick: 'Global shop', IMAgentAvatarUrl: 'https://example.com/g.png', ChatbotDisabled: 0, AgentGroupId: 2,
    RobotId: '@RBT#DeskDefaultRobot', GroupChatMode: 1, CallbackSwitchBeforeIMContactUser: 0, ContactUserCallbackTimeoutStrategy: 0,
    MultilingualSettings: {
      '': { WelcomeMessage: '欢迎', TransferToHumanPrompt: '正在为您转接，请稍候', UserTimeout: 300, WorkTimeConfig: { Type: 0, Periods: [] }, AssignmentStrategy: 0 },
      en: { WelcomeMessage: 'Welcome', QueueingPrompt: 'You are number ${QueuePosition}', UserTimeout: 900, WorkTimeConfig: { Type: 1 }, Satisfaction: satisfaction },
    },
  }, 'every language with its settings; the default language ("") holds the account\'s own');
  t.equal((await list()).length, 2, 'all accounts without a list');

  const plain = ((await rest(api, 'desk_http_svc/get_im_agent_list', {})).Data as Record<string, unknown>[]).find((a) => a.IMAgentUserID === 'global');
  t.match(plain, { WelcomeMessage: '欢迎', UserTimeout: 300, WelcomeMessageMultilingual: { en: 'Welcome' }, QueueingPromptMultilingual: { en: 'You are number ${QueuePosition}' } }, 'the same account in the plain form');

  t.match(await rest(api, 'desk_http_svc/update_im_agent_multilingual', { IMAgentUserID: 'global', MultilingualSettings: { en: { WelcomeMessage: 'Hello', Satisfaction: { SatisfactionContent: { TwoStarContent: 'Meh' } } }, ja: { WelcomeMessage: 'ようこそ' } } }), { ErrorCode: 0 });
  const [updated] = await list(['global']);
  t.match((updated.MultilingualSettings as Record<string, unknown>).en, { WelcomeMessage: 'Hello', QueueingPrompt: 'You are number ${QueuePosition}', UserTimeout: 900, Satisfaction: { InvitationMethod: 1, SatisfactionContent: { OneStarContent: 'Bad', TwoStarContent: 'Meh' } } }, 'a partial update keeps the rest');
  t.match((updated.MultilingualSettings as Record<string, unknown>).ja, { WelcomeMessage: 'ようこそ' });
  t.match(await rest(api, 'desk_http_svc/update_im_agent_multilingual', { IMAgentUserID: 'global', IMAgentNick: 'Renamed' }), { ErrorCode: 0 });
  t.match((await list(['global']))[0], { IMAgentNick: 'Renamed', MultilingualSettings: { en: { WelcomeMessage: 'Hello' } } });

  t.match(await rest(api, 'desk_http_svc/update_im_agent_multilingual', { IMAgentUserID: 'ghost', IMAgentNick: 'x' }), { ErrorCode: 141004 }, 'an unknown account');
  t.match(await rest(api, 'desk_http_svc/update_im_agent_multilingual', { IMAgentUserID: 'global', MultilingualSettings: { en: { AssignmentStrategy: 1, DisplayGroupsChoices: [42] } } }), { ErrorCode: 141004 }, 'groups must exist in every language');
  t.match(await rest(api, 'desk_http_svc/add_im_agent_multilingual', { IMAgentUserID: 'global', IMAgentNick: 'x', IMAgentAvatarUrl: '', ChatbotDisabled: 0, AgentGroupId: 1 }), { ErrorCode: 141004 }, 'ids are unique');
  t.match(await rest(api, 'desk_http_svc/add_im_agent_multilingual', { IMAgentNick: 'x', IMAgentAvatarUrl: '', ChatbotDisabled: 0 }), { ErrorCode: 141004 }, 'AgentGroupId is required');
});
