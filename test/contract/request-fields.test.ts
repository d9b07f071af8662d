import { Writable } from 'node:stream';
import pino from 'pino';
import t from 'tap';
import { APP, CS, KEY, startTestServer, testApp } from '../helpers/server';
import { rest, type RestTarget } from './rest-client';

/** A logger at debug level whose lines the test reads. */
function capturingLog(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  return { log: pino({ level: 'debug' }, sink), lines };
}

t.test('unknown fields in a request body are ignored (and logged at debug), at any depth; dangerous ones are refused', async (t) => {
  const { log, lines } = capturingLog();
  const s = await startTestServer(testApp(), { log });
  t.teardown(() => s.stop());
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };

  t.match(await rest(api, 'desk_http_svc/get_session_state', { ClientUserId: 'u1', CustomerServiceId: CS, SomethingNew: 1 }), { ErrorCode: 0, CurrentState: 'NotInSession' }, 'a top-level field');
  const workTime = { Type: 1, Periods: [{ Day: 'Monday', PeriodsWithinOneDay: [{ Start: '09:00', End: '18:00', Note: 'x' }], Later: true }], Extra: {} };
  t.match(await rest(api, 'desk_http_svc/update_im_agent', { IMAgentUserID: CS, WorkTimeConfig: workTime }), { ErrorCode: 0 }, 'nested fields');
  const listed = await rest(api, 'desk_http_svc/get_im_agent_list', {});
  t.same((listed.Data as Record<string, unknown>[]).find((a) => a.IMAgentUserID === CS)!.WorkTimeConfig,
    { Type: 1, Periods: [{ Day: 'Monday', PeriodsWithinOneDay: [{ Start: '09:00', End: '18:00' }] }] }, 'what is stored leaves them out');
  t.match(await rest(api, 'openim_console_http_svc/desc_robot_config', { LanguageTag: '', Unheard: 'of' }), { ErrorCode: 0 }, 'the console service too');
  t.match(await rest(api, 'desk_http_svc/create_members', { MemberList: [{ MemberMail: 'new@desk.test', Phone: '123' }] }), { ErrorCode: 0 }, 'inside array items');
  t.match(lines.find((l) => l.msg === 'unknown request fields ignored' && l.endpoint === 'desk_http_svc/update_im_agent'),
    { level: 20, fields: ['WorkTimeConfig.Periods[0].PeriodsWithinOneDay[0].Note', 'WorkTimeConfig.Periods[0].Later', 'WorkTimeConfig.Extra'] }, 'logged at debug with the endpoint');

  for (const key of ['__proto__', 'constructor', 'prototype']) {
    t.match(await rest(api, 'desk_http_svc/get_session_state', `{"ClientUserId":"u1","CustomerServiceId":"${CS}","${key}":{"polluted":1}}`), { ErrorCode: 141004 }, `${key} at the top`);
    t.match(await rest(api, 'desk_http_svc/update_im_agent', `{"IMAgentUserID":"${CS}","WorkTimeConfig":{"Type":0,"${key}":{"polluted":1}}}`), { ErrorCode: 141004 }, `${key} nested`);
  }
  t.match(await rest(api, 'desk_http_svc/send_msg', `{"SessionId":"x","MsgRandom":1,"MsgBody":[{"MsgType":"TIMCustomElem","MsgContent":{"Data":"d","__proto__":{"polluted":1}}}]}`), { ErrorCode: 141004 }, 'inside a free-form value too');
  t.equal(({} as Record<string, unknown>).polluted, undefined);
});

t.test('newer documented fields are taken and kept: GroupChatMode, WorkTimeConfig Type 2, ConversationSources', async (t) => {
  const s = await startTestServer(testApp());
  t.teardown(() => s.stop());
  const api: RestTarget = { port: s.port, sdkAppId: APP, key: KEY, admin: 'administrator' };
  const workTime = { Type: 2, LegalWorkTime: [{ WorkTimeType: 1, PeriodsWithinOneDay: [{ Start: '09:00', End: '18:00' }] }] };
  t.match(await rest(api, 'desk_http_svc/update_im_agent', { IMAgentUserID: CS, GroupChatMode: 1, WorkTimeConfig: workTime }), { ErrorCode: 0 });
  const listed = (await rest(api, 'desk_http_svc/get_im_agent_list', {})).Data as Record<string, unknown>[];
  t.match(listed.find((a) => a.IMAgentUserID === CS), { GroupChatMode: 1, WorkTimeConfig: { ...workTime, Periods: [] } }, 'stored and listed');
  t.match(await rest(api, 'desk_http_svc/update_im_agent', { IMAgentUserID: CS, WorkTimeConfig: { Type: 3 } }), { ErrorCode: 141004 }, 'no other types');
  const from = Math.floor(Date.now() / 1000) - 60;
  t.match(await rest(api, 'desk_http_svc/describe_agent_statistics', { From: from, To: from + 120, ConversationSources: [{ ChannelType: 10, ChannelId: CS }] }), { ErrorCode: 0, TotalCount: 2 });
});
