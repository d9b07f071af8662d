/**
 * `POST /web/v1/session_settings`: the console reads and changes the app's session settings; only the administrator
 * may, values are checked as the config file's are, and the change governs the next session at once.
 */
import t from 'tap';
import { genUserSig } from '../../protocol/usersig';
import { textBody } from '../helpers/client';
import { APP, CS, KEY, startTestServer, testApp } from '../helpers/server';

async function web(port: number, body: unknown): Promise<Record<string, any>> {
  const res = await fetch(`http://127.0.0.1:${port}/web/v1/session_settings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await res.json()) as Record<string, any>;
}

t.test('read, change, refuse', async (t) => {
  const s = await startTestServer(testApp(['alice@desk.test']));
  t.teardown(() => s.stop());
  const admin = { SdkAppId: APP, Identifier: 'administrator', UserSig: genUserSig(APP, KEY, 'administrator', 3600) };

  const read = await web(s.port, admin);
  t.match(read, { ActionStatus: 'OK', Settings: { receptionMode: 'auto', acceptTimeoutSec: 60, maxConcurrentPerAgent: 5 } }, 'the settings in force');

  t.match(await web(s.port, { ...admin, Identifier: 'alice@desk.test', UserSig: genUserSig(APP, KEY, 'alice@desk.test', 3600) }), { ErrorCode: 90009 }, 'a member is not the administrator');
  t.match(await web(s.port, { ...admin, UserSig: genUserSig(APP, 'another-key-0123456789', 'administrator', 3600) }), { ErrorCode: 70009 }, 'a sig of another key');
  t.match(await web(s.port, { ...admin, Settings: { acceptTimeoutSec: -1 } }), { ErrorCode: 141004 }, 'out of range');
  t.match(await web(s.port, { ...admin, Settings: { receptionMode: 'sometimes' } }), { ErrorCode: 141004 }, 'not a mode');
  t.match(await web(s.port, { ...admin, Settings: { timeZone: 'Mars/Olympus' } }), { ErrorCode: 141004, ErrorInfo: /unknown time zone/ }, 'checked as the config file is');
  t.match(await web(s.port, { ...admin, Settings: { open: true } }), { ErrorCode: 141004 }, 'unknown fields');
  t.equal(s.apps.get(APP)!.session.timeZone, 'Asia/Shanghai', 'nothing refused was kept');

  const changed = await web(s.port, { ...admin, Settings: { receptionMode: 'manual', acceptTimeoutSec: 30, toHumanKeywords: ['真人'] } });
  t.match(changed, { ActionStatus: 'OK', Settings: { receptionMode: 'manual', acceptTimeoutSec: 30, toHumanKeywords: ['真人'], maxConcurrentPerAgent: 5 } }, 'a change keeps what it does not name');

  // The next session follows: the new keyword transfers, and the free agent gets an offer to accept.
  const alice = await s.agent('alice@desk.test');
  const u = await s.user('u1');
  await u.request('message.send', { to: CS, random: 1, body: textBody('我要真人') });
  const offer = await alice.next((f) => f.type === 'session.offer');
  t.ok((offer.data as { acceptDeadline?: number }).acceptDeadline, 'manual reception, with the new accept timeout');
  t.equal(s.apps.get(APP)!.session.timeZone, 'Asia/Shanghai', 'what the change did not name stays');

  // Stored: a restart keeps it (the test config declares no session settings of its own).
  const dataDir = s.dataDir;
  await s.stop();
  const again = await startTestServer(testApp(['alice@desk.test']), { dataDir });
  t.teardown(() => again.stop());
  t.match((await web(again.port, admin)).Settings, { receptionMode: 'manual', acceptTimeoutSec: 30, toHumanKeywords: ['真人'] }, 'after a restart');
  const plain = await fetch(`http://127.0.0.1:${again.port}/web/v1/session_settings`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(admin) });
  t.match(await plain.json(), { ErrorCode: 141004, ErrorInfo: /application\/json/ }, 'only JSON is taken (a form on another site cannot send it)');
});

t.test('llm_settings: the console sets the provider, the key is never answered, Off turns it off', async (t) => {
  const s = await startTestServer(testApp(['alice@desk.test']));
  t.teardown(() => s.stop());
  const admin = { SdkAppId: APP, Identifier: 'administrator', UserSig: genUserSig(APP, KEY, 'administrator', 3600) };
  const post = (body: unknown) => fetch(`http://127.0.0.1:${s.port}/web/v1/llm_settings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<Record<string, any>>);

  t.match(await post(admin), { ActionStatus: 'OK', Settings: null }, 'none at first');
  t.match(await post({ ...admin, Settings: { baseUrl: 'ftp://x.example', model: 'm' } }), { ErrorCode: 141004 }, 'not an http(s) URL');
  t.match(await post({ ...admin, Settings: { model: 'm' } }), { ErrorCode: 141004 }, 'no URL');
  t.match(await post({ ...admin, Identifier: 'alice@desk.test', UserSig: genUserSig(APP, KEY, 'alice@desk.test', 3600), Settings: { baseUrl: 'http://x.example/v1', model: 'm' } }), { ErrorCode: 90009 }, 'a member is not the administrator');

  const set = await post({ ...admin, Settings: { baseUrl: 'http://127.0.0.1:9/v1', model: 'm1', apiKey: 'sk-very-secret', knowledgeOnly: true } });
  t.match(set, { ActionStatus: 'OK', Settings: { baseUrl: 'http://127.0.0.1:9/v1', model: 'm1', knowledgeOnly: true, ApiKeySet: true, timeoutMs: 20_000 } }, 'set, with the defaults');
  t.notMatch(JSON.stringify(set), /sk-very-secret/, 'the key is not answered');
  t.equal(s.apps.get(APP)!.llm?.apiKey, 'sk-very-secret', 'but kept');
  await post({ ...admin, Settings: { baseUrl: 'http://127.0.0.1:9/v1', model: 'm2' } });
  t.match(s.apps.get(APP)!.llm, { model: 'm2', apiKey: 'sk-very-secret', knowledgeOnly: true }, 'a change without the key keeps it, and what it does not name');
  t.match(await post({ ...admin, Off: true }), { ActionStatus: 'OK', Settings: null }, 'off');
  t.equal(s.apps.get(APP)!.llm, undefined, 'the robot answers from the FAQs again');
});
