import t from 'tap';
import { srcBody, srcOf, textBody } from '../helpers/client';
import { APP, CS, KEY, startTestServer, testApp } from '../helpers/server';
import { rest, type RestTarget } from './rest-client';

const content = {
  RatingInvitationMessage: 'Please rate us', SubmissionMessage: 'Thanks!', OneStarContent: 'awful', TwoStarContent: 'bad',
  ThreeStarContent: 'ok', FourStarContent: 'good', FiveStarContent: 'great', SubmissionValidityPeriod: 2,
};

const dataOf = (f: { data: unknown }) => JSON.parse((f.data as { body: { MsgContent: { Data: string } }[] }).body[0].MsgContent.Data);

t.test('satisfaction settings: read the defaults, update, and the next cards follow', async (t) => {
  const s = await startTestServer(testApp());
  t.teardown(() => s.stop());
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  const before = await rest(api, 'desk_http_svc/get_satisfaction_settings', {});
  t.match(before, { ErrorCode: 0, Data: { SatisfactionEnabled: 1, InvitationMethod: 3, SatisfactionContent: { OneStarContent: '非常不满意', SubmissionValidityPeriod: 12 } } });

  t.same(await rest(api, 'desk_http_svc/update_satisfaction_settings', { InvitationMethod: 1, SatisfactionContent: content, SatisfactionContentMultilingual: { en: content } }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  t.match(await rest(api, 'desk_http_svc/get_satisfaction_settings', {}), { Data: { SatisfactionEnabled: 1, InvitationMethod: 1, SatisfactionContent: content, SatisfactionContentMultilingual: { en: content } } }, 'omitted fields unchanged');

  const agent = await s.agent('alice@desk.test');
  const user = await s.user('u1');
  const ack = await user.request('message.send', { to: CS, random: 1, body: srcBody('7') });
  const rules = await user.next((f) => srcOf(f) === '23');
  t.equal(dataOf(rules).content.menuSendRuleFlag, 1 | 4, 'method 1: auto-send and user request, no agent invite');
  const sessionId = (ack.data as { sessionId: string }).sessionId;
  await user.request('message.send', { to: CS, random: 2, body: textBody('人工') });
  await agent.next((f) => f.type === 'session.assigned');
  t.equal((await agent.request('session.invite_rating', { sessionId })).type, 'error', 'agent invitations are off with method 1');
  await agent.request('session.end', { sessionId });
  const card = dataOf(await user.next((f) => srcOf(f) === '9'));
  t.match(card.menuContent, { head: 'Please rate us', tail: 'Thanks!', effectiveHour: 2, menu: [{ id: '101', content: 'awful' }, {}, {}, {}, { id: '105', content: 'great' }] });

  await rest(api, 'desk_http_svc/update_satisfaction_settings', { SatisfactionEnabled: 0 });
  const u2 = await s.user('u2');
  await u2.request('message.send', { to: CS, random: 1, body: srcBody('7') });
  t.equal(dataOf(await u2.next((f) => srcOf(f) === '23')).content.menuSendRuleFlag, 0, 'disabled: no rating at all');

  t.match(await rest(api, 'desk_http_svc/update_satisfaction_settings', { SatisfactionContent: { ...content, FiveStarContent: undefined } }), { ErrorCode: 141004 }, 'a required label missing');
  t.match(await rest(api, 'desk_http_svc/update_satisfaction_settings', { InvitationMethod: 4 }), { ErrorCode: 141004 });
});
