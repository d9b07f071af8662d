import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { genUserSig } from '../../protocol/usersig';
import { TestClient, srcBody, textOf } from '../helpers/client';

const main = path.resolve(__dirname, '../../src/main.js');

function run(env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, [main, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, out: () => out, err: () => err };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('refuses to run on the pure-JS uWS fallback', async (t) => {
  const p = run({ UWS_USE_FALLBACK: '1', DESK_PORT: '0', DESK_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'desk-fb-')) });
  t.equal(await p.exited, 1);
  t.match(p.err(), /native uWebSockets\.js binary did not load/);
});

t.test('first start on embedded defaults creates the default app and serves it', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-first-'));
  const p = run({ DESK_DATA_DIR: dataDir, DESK_LOG_LEVEL: 'info', DESK_CHECKPOINT_EVERY_MS: '200' }, ['--port', '0', '--host', '127.0.0.1']);
  t.teardown(() => { p.child.kill('SIGKILL'); });
  // The log line and the banner are separate writes: wait for both.
  await until(() => /UserSig for <UserID>/.test(p.out()) && /"port":\d+/.test(p.out()));
  const port = Number(/"port":(\d+)/.exec(p.out())![1]);
  t.match(p.out(), /Created the default app 1400000001; admin identifier 'administrator'/);
  const keyFile = path.join(dataDir, 'secret-key-1400000001');
  t.match(p.out(), keyFile, 'says where the key is');
  const key = fs.readFileSync(keyFile, 'utf8').trim();
  t.equal(key.length, 64, 'a random key was generated and kept');

  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  t.equal(health.status, 200);
  t.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.match(metrics, /desk_sessions\{state="Chatbot"\}/);
  t.match(metrics, /desk_commit_seconds_bucket/);

  const user = await TestClient.connect({ port, sdkAppId: 1400000001, key, identity: 'visitor', role: 'user', usersig: genUserSig(1400000001, key, 'visitor', 3600) });
  await user.request('message.send', { to: '@customer_service_account', random: 7, body: srcBody('7') });
  const welcome = await user.next((f) => textOf(f) !== undefined);
  t.equal(textOf(welcome), '您好请问有什么可以帮助您的?', 'the default customer-service account answers');
  await user.close();
  // Checkpoints run every 200 ms here: the one after that conversation is measured.
  let counted = false;
  for (let i = 0; i < 50 && !counted; i++) {
    counted = /desk_checkpoint_seconds_count [1-9]/.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    if (!counted) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(counted, 'a checkpoint that wrote something is counted in desk_checkpoint_seconds');

  p.child.kill('SIGTERM');
  t.equal(await p.exited, 0, 'SIGTERM shuts down cleanly');
});

t.test('a bad configuration is refused with a clear message', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-badcfg-'));
  const file = path.join(dir, 'c.json');
  fs.writeFileSync(file, JSON.stringify({ apps: [{ sdkAppId: 'nope' }] }));
  const p = run({ DESK_DATA_DIR: dir, DESK_CONFIG: file, DESK_PORT: '0' });
  t.equal(await p.exited, 1);
  t.match(p.err(), /config file .*sdkAppId/);
});

t.test('the example config on a data dir with a generated key: the banner names the key in force, and warns that it is published', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-banner-'));
  const keyFile = path.join(dataDir, 'secret-key-1400000001');
  const example = path.resolve(__dirname, '../../../config/desk.example.json');
  const exampleKey = (JSON.parse(fs.readFileSync(example, 'utf8')) as { apps: { secretKey: string }[] }).apps[0].secretKey;
  const first = run({ DESK_DATA_DIR: dataDir }, ['--port', '0', '--host', '127.0.0.1']);
  await until(() => /UserSig for <UserID>/.test(first.out()));
  first.child.kill('SIGTERM');
  t.equal(await first.exited, 0);
  t.not(fs.readFileSync(keyFile, 'utf8').trim(), exampleKey, 'the first start generated a key');

  const start = async (host: string) => {
    const p = run({ DESK_DATA_DIR: dataDir }, ['--port', '0', '--host', host, '--config', example]);
    t.teardown(() => { p.child.kill('SIGKILL'); });
    await until(() => /UserSig for <UserID>/.test(p.out()) && /"port":\d+/.test(p.out()));
    return { p, port: Number(/"port":(\d+)/.exec(p.out())![1]), logs: p.out().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string }) };
  };
  const { p, port, logs } = await start('127.0.0.1');
  t.match(p.out(), `App 1400000001: admin identifier 'administrator'; secret key from the config file ${example} (apps[0].secretKey), also in ${keyFile}.`, 'the banner says where the key in force comes from');
  t.equal(fs.readFileSync(keyFile, 'utf8').trim(), exampleKey, 'the key file now holds the key in force');
  t.ok(logs.some((l) => l.level === 40 && /key file .*secret-key-1400000001 held another key/.test(l.msg)), 'the rewrite is logged');

  // The banner's own command makes a sig the server accepts (the README's REST call with it).
  const command = /valid 1 day: (.*) <UserID>$/m.exec(p.out())![1];
  const sig = execFileSync('sh', ['-c', `${command} administrator`], { encoding: 'utf8' }).trim();
  const res = await fetch(`http://127.0.0.1:${port}/v4/desk_http_svc/get_session_state?sdkappid=1400000001&identifier=administrator&usersig=${sig}&random=1&contenttype=json`, {
    method: 'POST', body: JSON.stringify({ ClientUserId: 'user-42', CustomerServiceId: '@customer_service_account' }),
  });
  t.match(await res.json(), { ErrorCode: 0, CurrentState: 'NotInSession' }, 'the printed command signs with the key in force');

  t.match(p.out(), /^ {2}Warning: app 1400000001 uses the secret key published in config\/desk\.example\.json: anyone can sign its UserSigs, the admin's included\. Set your own secretKey\.$/m, 'the banner warns on loopback');
  t.ok(logs.some((l) => l.level === 40 && /published/.test(l.msg)), 'so does the log, at warn level');
  t.match(p.out(), /^ {2}Warning: app 1400000001 lets anyone get a UserSig for any user id from \/web\/v1\/demo_usersig/m, 'the example turns demo sign-in on, and the banner says what that allows');
  // Logged just after the lines the start waited for.
  await until(() => /demo_usersig/.test(p.out().split('\n').filter((l) => l.startsWith('{')).join('\n')));
  const later = p.out().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string });
  t.ok(later.some((l) => l.level === 40 && /demo_usersig/.test(l.msg)), 'so does the log');
  p.child.kill('SIGTERM');
  t.equal(await p.exited, 0);

  const open = await start('0.0.0.0');
  t.match(open.p.out(), /^ {2}!! WARNING: app 1400000001 uses the secret key published in config\/desk\.example\.json, and this server listens on 0\.0\.0\.0/m, 'louder on a public address');
  t.ok(open.logs.some((l) => l.level === 50 && /published.*0\.0\.0\.0/.test(l.msg)), 'logged as an error');
  open.p.child.kill('SIGTERM');
  t.equal(await open.p.exited, 0);
});
