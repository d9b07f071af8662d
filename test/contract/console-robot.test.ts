import t from 'tap';
import { srcBody, textBody, textOf } from '../helpers/client';
import { APP, CS, KEY, startTestServer, testApp } from '../helpers/server';
import { rest, type RestTarget } from './rest-client';

t.test('robot base config: read, partial update, the robot answers with it at once; languages; robots', async (t) => {
  const s = await startTestServer(testApp());
  t.teardown(() => s.stop());
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  const call = (cmd: string, body: unknown) => rest(api, `openim_console_http_svc/${cmd}`, body);

  t.match(await call('desc_robot_config', { LanguageTag: '' }), { ErrorCode: 0, ToAgentEnable: 1, DirectAnsweringReaches: '0.8', ClarifyReaches: '0.6', ClarifyNumber: 5, FallbackMsg: /^抱歉/ });
  t.same(await call('update_robot_config', { FallbackMsg: '这个问题我还在学习中', DirectAnsweringReaches: 0.9, ClarifyReaches: '0.5' }), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  t.match(await call('desc_robot_config', {}), { FallbackMsg: '这个问题我还在学习中', DirectAnsweringReaches: '0.9', ClarifyReaches: '0.5', ClarifyNumber: 5 }, 'partial update');
  const user = await s.user('u1');
  await user.request('message.send', { to: CS, random: 1, body: srcBody('7') });
  await user.request('message.send', { to: CS, random: 2, body: textBody('what?') });
  await user.next((f) => textOf(f) === '这个问题我还在学习中');
  t.pass('the robot answers with the new fallback at once');
  t.match(await call('update_robot_config', { ClarifyReaches: '0.95' }), { ErrorCode: -7 }, 'clarify band below the direct threshold');
  t.match(await call('update_robot_config', { DirectAnsweringReaches: '1.5' }), { ErrorCode: -7 });
  t.match(await call('update_robot_config', { WelcomeCardQuestions: Array.from({ length: 21 }, (_, i) => `q${i}`) }), { ErrorCode: -7 }, 'at most 20 welcome-card questions');
  t.match(await call('desc_robot_config', { LanguageTag: 'en' }), { ErrorCode: -50051 }, 'a language not added');

  t.match(await call('robot_add_language', { LanguageTag: 'en' }), { ErrorCode: 0 });
  t.match(await call('robot_add_language', { LanguageTag: 'xx' }), { ErrorCode: -50051 });
  t.match(await call('robot_add_language', { LanguageTag: 'en' }), { ErrorCode: -7 }, 'already added');
  await new Promise((r) => setTimeout(r, 600)); // stay under 5 calls a second
  for (const tag of ['ja', 'vi', 'id']) t.match(await call('robot_add_language', { LanguageTag: tag }), { ErrorCode: 0 });
  t.match(await call('robot_add_language', { LanguageTag: 'fil' }), { ErrorCode: -50052 }, 'five with the default');
  await new Promise((r) => setTimeout(r, 1000));
  t.same(await call('robot_get_language_list', {}), { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', Languages: [{ LanguageTag: '', IsDefault: 1 }, ...['en', 'ja', 'vi', 'id'].map((l) => ({ LanguageTag: l, IsDefault: 0 }))] });
  t.match(await call('update_robot_config', { LanguageTag: 'en', FallbackMsg: 'Still learning that one.' }), { ErrorCode: 0 });
  t.match(await call('desc_robot_config', { LanguageTag: 'en' }), { FallbackMsg: 'Still learning that one.', DirectAnsweringReaches: '0.9' }, 'a language starts from the default one');
  t.match(await call('robot_del_language', { LanguageTag: '' }), { ErrorCode: -50055 });
  await new Promise((r) => setTimeout(r, 1000));
  t.match(await call('robot_del_language', { LanguageTag: 'ja' }), { ErrorCode: 0 });
  t.match(await call('robot_del_language', { LanguageTag: 'ja' }), { ErrorCode: -50051 });

  await new Promise((r) => setTimeout(r, 1000));
  const added = await call('desk_add_robot', { RobotNickName: '售后机器人' });
  t.match(added, { ErrorCode: 0, RobotId: /^@RBT#/ });
  t.match(await rest(api, 'desk_http_svc/update_im_agent', { IMAgentUserID: CS, RobotId: added.RobotId }), { ErrorCode: 0 }, 'bindable to an account');
  t.match(await call('desk_add_robot', { RobotNickName: 'x'.repeat(51) }), { ErrorCode: -7 });
  t.match(await call('desk_add_robot', { RobotNickName: 'third' }), { ErrorCode: 0 });
  t.match(await call('desk_add_robot', { RobotNickName: 'fourth' }), { ErrorCode: -7, ErrorInfo: /at most 3/ });
});

t.test('console endpoints take at most 5 calls a second per app (-14 past it)', async (t) => {
  const s = await startTestServer(testApp());
  t.teardown(() => s.stop());
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  const codes = [];
  for (let i = 0; i < 8; i++) codes.push((await rest(api, 'openim_console_http_svc/robot_get_language_list', {})).ErrorCode);
  t.same(codes.slice(0, 5), [0, 0, 0, 0, 0]);
  t.ok(codes.slice(5).includes(-14), 'refused past the limit');
  t.match(await rest(api, 'desk_http_svc/get_im_agent_list', {}), { ErrorCode: 0 }, 'other endpoints unaffected');
});
