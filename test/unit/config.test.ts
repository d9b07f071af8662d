/**
 * Configuration: the example file loads and builds the expected app; defaults ← file ← environment ← CLI flags;
 * invalid configurations are refused with a ConfigError that names the problem; passwords are kept hashed only.
 */
import { scryptSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { receptionLimit, type AppModel } from '../../protocol/app-model';
import { AppRegistry, buildApp, passwordMatches, passwordMatchesAsync } from '../../src/config/apps';
import { ConfigError, loadConfig, type DeclaredApp } from '../../src/config/config';
import { keySourceOf, PUBLISHED_KEYS, publishedKeyWarning } from '../../src/config/keys';
import { defaultLimits } from '../../src/gateway/ws';
import { gatewayLimitsOf } from '../../src/server';
import { Store } from '../../src/store/store';

const EXAMPLE = path.resolve(__dirname, '../../../config/desk.example.json');
const KEY = 'unit-test-secret-key-0123456789';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-config-test-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;

/** Writes a config file (an object as JSON, or raw text) and returns its absolute path. */
function writeConfig(content: unknown): string {
  const file = path.join(tmp, `config-${++fileNo}.json`);
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function exampleJson(): { server: Record<string, unknown>; apps: DeclaredApp[] } {
  return JSON.parse(fs.readFileSync(EXAMPLE, 'utf8'));
}

/** The example with one change applied to its only app. */
function exampleWith(change: (app: DeclaredApp & Record<string, unknown>) => void): string {
  const doc = exampleJson();
  change(doc.apps[0] as DeclaredApp & Record<string, unknown>);
  return writeConfig(doc);
}

function build(decl: DeclaredApp): AppModel {
  return buildApp(decl, undefined, KEY);
}

/** The assertions `refuses` needs; any test object has them. */
type Tap = Pick<typeof t, 'ok' | 'match'>;

/** Asserts that `fn` throws a ConfigError whose message matches `pattern`. */
function refuses(t: Tap, fn: () => unknown, pattern: RegExp, what: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  t.ok(caught instanceof ConfigError, `${what}: refused with a ConfigError`);
  t.match((caught as Error | undefined)?.message ?? '', pattern, `${what}: the message says why`);
}

t.test('the example config file loads and builds the declared app', async (t) => {
  const cfg = loadConfig(['--config', EXAMPLE], {});
  t.equal(cfg.configFile, EXAMPLE);
  t.equal(cfg.port, 8080);
  t.equal(cfg.host, '0.0.0.0');
  t.equal(cfg.dataDir, './data');
  t.equal(cfg.fsync, 'always');
  t.equal(cfg.logLevel, 'info');
  t.equal(cfg.apps.length, 1, 'one app declared');
  t.ok(Object.isFrozen(cfg), 'the configuration is frozen');

  const app = build(cfg.apps[0]);
  t.equal(app.sdkAppId, 1400000001);
  t.equal(app.adminIdentifier, 'administrator');
  t.equal(app.secretKey, cfg.apps[0].secretKey, 'the declared secret key is used');

  t.same(Object.keys(app.groups).sort(), ['1', '2', '3'], 'groups');
  t.equal(app.groups['2'].name, 'VIP');

  t.same(Object.keys(app.members).sort(), ['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@example.com'], 'members');
  const alice = app.members['alice@example.com'];
  t.equal(alice.nickname, 'Alice');
  t.same(alice.roles, ['admin', 'staff']);
  t.same(alice.groupIds, [1, 2]);
  t.equal(receptionLimit(app, alice), 8, 'a member limit is used as declared');
  t.equal(receptionLimit(app, app.members['carol@example.com']), 5, 'limit 0 falls back to maxConcurrentPerAgent');
  t.equal(app.members['dave@example.com'].disabled, true);
  t.equal(app.members['dave@example.com'].passwordHash, '', 'a member without password logs in by UserSig only');

  t.same(Object.keys(app.csAccounts).sort(), ['@customer_service_account', '@vip_service'], 'customer-service accounts');
  const support = app.csAccounts['@customer_service_account'];
  t.equal(support.isDefault, true);
  t.equal(support.agentGroupId, 1);
  t.equal(support.userTimeoutSec, 600);
  t.equal(support.prompts.welcome, 'Hello! How can we help you today?');
  const vip = app.csAccounts['@vip_service'];
  t.equal(vip.isDefault, false);
  t.equal(vip.chatbotDisabled, true);
  t.equal(vip.agentGroupId, 2);
  t.equal(vip.userTimeoutSec, 1800);
  t.equal(vip.workTime.Type, 1, 'working hours are checked');
  t.same(vip.workTime.Periods.map((p) => p.Day), ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']);
  t.same(vip.workTime.Periods[0].PeriodsWithinOneDay, [{ Start: '09:00', End: '12:00' }, { Start: '13:00', End: '18:00' }]);
  t.match(vip.prompts.queueing, /\$\{QueuePosition\}.*\$\{WaitNo\}/);

  const s = app.session;
  t.equal(s.receptionMode, 'auto');
  t.equal(s.acceptTimeoutSec, 60);
  t.equal(s.maxConcurrentPerAgent, 5);
  t.equal(s.robotIdleTimeoutSec, 1800);
  t.equal(s.agentReplyTimeoutSec, 0, 'agent reply timeout off');
  t.equal(s.timeZone, 'Asia/Shanghai');
  t.ok(s.toHumanKeywords.includes('转人工') && s.toHumanKeywords.includes('human'));
  t.same(s.satisfaction, {
    enabled: true, invitationMethod: 3, invitationText: 'How did we do? Please rate this conversation.',
    submissionText: 'Thank you for your feedback!', levels: ['Very poor', 'Poor', 'Fair', 'Good', 'Excellent'],
    validityHours: 12, displayType: 1,
  });
  t.match(s.prompts.transferSuccess, /\$\{StaffNickName\}/);
});

t.test('the example app is applied by AppRegistry.bootstrap, stored, and re-applied at the next start', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(tmp, 'data-'));
  const cfg = loadConfig(['--config', EXAMPLE, '--data-dir', dataDir], {});

  let store = new Store(dataDir, 'always');
  let apps = new AppRegistry(store);
  const boot = apps.bootstrap(cfg);
  t.equal(boot.created, undefined, 'no default app is created when the file declares one');
  t.same(apps.all().map((a) => a.sdkAppId), [1400000001]);
  t.ok(Object.isFrozen(apps.get(1400000001)!.members), 'app models are frozen');
  await store.commit();
  await store.close();

  // Next start: the stored app is read back, and a file that names only Bob changes only Bob.
  const partial = writeConfig({ apps: [{ sdkAppId: 1400000001, members: [{ mail: 'bob@example.com', nickname: 'Robert' }] }] });
  store = new Store(dataDir, 'always');
  apps = new AppRegistry(store);
  t.equal(apps.get(1400000001)?.members['alice@example.com']?.nickname, 'Alice', 'the stored app survives a restart');
  const bobHash = apps.get(1400000001)!.members['bob@example.com'].passwordHash;
  apps.bootstrap(loadConfig(['--config', partial, '--data-dir', dataDir], {}));
  const app = apps.get(1400000001)!;
  t.equal(app.members['bob@example.com'].nickname, 'Robert', 'the file wins for what it declares');
  t.equal(app.members['bob@example.com'].passwordHash, bobHash, 'an undeclared password keeps its stored hash');
  t.same(app.members['bob@example.com'].groupIds, [1], 'undeclared fields keep their stored value');
  t.equal(app.members['alice@example.com'].nickname, 'Alice', 'members the file does not name are kept');
  t.equal(app.csAccounts['@vip_service'].agentGroupId, 2);
  await store.commit();
  await store.close();
});

t.test('first start without an app creates the default app from DESK_SDKAPPID / DESK_ADMIN_IDENTIFIER and keeps its key', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(tmp, 'data-'));
  const cfg = loadConfig(['--data-dir', dataDir], { DESK_SDKAPPID: '1400000077', DESK_ADMIN_IDENTIFIER: 'root' });
  const store = new Store(dataDir, 'none');
  t.teardown(() => store.close());
  const apps = new AppRegistry(store);
  const boot = apps.bootstrap(cfg);
  t.equal(boot.created?.sdkAppId, 1400000077);
  t.equal(boot.created?.adminIdentifier, 'root');
  t.equal(boot.keyFile, path.resolve(dataDir, 'secret-key-1400000077'), 'the key is kept in the data dir');
  t.equal(fs.readFileSync(boot.keyFile!, 'utf8').trim(), boot.created?.secretKey);
  t.equal(fs.statSync(boot.keyFile!).mode & 0o777, 0o600, 'the key file is private');
  t.ok(boot.created?.csAccounts['@customer_service_account']?.isDefault, 'default customer-service account');
  t.ok(boot.created?.groups['1'], 'default group');
  t.same(apps.bootstrap(cfg), { rewrittenKeyFiles: [] }, 'a second bootstrap creates nothing');

  const withKey = loadConfig(['--data-dir', fs.mkdtempSync(path.join(tmp, 'data-'))], { DESK_SECRET_KEY: KEY });
  const store2 = new Store(withKey.dataDir, 'none');
  t.teardown(() => store2.close());
  const boot2 = new AppRegistry(store2).bootstrap(withKey);
  t.equal(boot2.created?.secretKey, KEY, 'DESK_SECRET_KEY is used as is');
  t.equal(boot2.keyFile, undefined, 'and no key file is written');
  t.equal(boot2.created?.sdkAppId, 1400000001, 'default sdkappid');
  t.equal(boot2.created?.adminIdentifier, 'administrator', 'default admin identifier');
});

t.test('precedence: defaults ← file ← environment ← CLI flags', async (t) => {
  const defaults = loadConfig([], {});
  t.same(
    { port: defaults.port, host: defaults.host, dataDir: defaults.dataDir, fsync: defaults.fsync, logLevel: defaults.logLevel, apps: defaults.apps },
    { port: 8080, host: '0.0.0.0', dataDir: './data', fsync: 'always', logLevel: 'info', apps: [] },
    'embedded defaults',
  );
  t.same(defaults.defaultApp, { sdkAppId: 1400000001, secretKey: undefined, adminIdentifier: 'administrator' });
  t.equal(defaults.configFile, undefined);

  const file = writeConfig({ server: { port: 7001, host: '127.0.0.2', dataDir: '/srv/desk-file', fsync: 'batch', logLevel: 'warn' } });
  const fromFile = loadConfig(['--config', file], {});
  t.same(
    { port: fromFile.port, host: fromFile.host, dataDir: fromFile.dataDir, fsync: fromFile.fsync, logLevel: fromFile.logLevel },
    { port: 7001, host: '127.0.0.2', dataDir: '/srv/desk-file', fsync: 'batch', logLevel: 'warn' },
    'the file overrides the defaults',
  );
  t.equal(loadConfig([], { DESK_CONFIG: file }).port, 7001, 'DESK_CONFIG names the file');

  const env = { DESK_PORT: '7002', DESK_HOST: '127.0.0.3', DESK_DATA_DIR: '/srv/desk-env', DESK_FSYNC: 'none', DESK_LOG_LEVEL: 'error' };
  const fromEnv = loadConfig(['--config', file], env);
  t.same(
    { port: fromEnv.port, host: fromEnv.host, dataDir: fromEnv.dataDir, fsync: fromEnv.fsync, logLevel: fromEnv.logLevel },
    { port: 7002, host: '127.0.0.3', dataDir: '/srv/desk-env', fsync: 'none', logLevel: 'error' },
    'the environment overrides the file',
  );

  const fromCli = loadConfig(
    ['--config', file, '--port', '7003', '--host', '127.0.0.4', '--data-dir', '/srv/desk-cli', '--fsync', 'always', '--log-level', 'debug'],
    env,
  );
  t.same(
    { port: fromCli.port, host: fromCli.host, dataDir: fromCli.dataDir, fsync: fromCli.fsync, logLevel: fromCli.logLevel },
    { port: 7003, host: '127.0.0.4', dataDir: '/srv/desk-cli', fsync: 'always', logLevel: 'debug' },
    'CLI flags override the environment',
  );

  const other = writeConfig({ server: { port: 7010 } });
  t.equal(loadConfig(['--config', other], { DESK_CONFIG: file }).port, 7010, '--config overrides DESK_CONFIG');
  t.equal(loadConfig(['--config', file], { DESK_PORT: '' }).port, 7001, 'an empty variable counts as unset');
  t.equal(loadConfig(['--port', '0'], {}).port, 0, 'port 0 (any free port) is allowed');

  const app = loadConfig([], { DESK_SDKAPPID: '1400000099', DESK_SECRET_KEY: KEY, DESK_ADMIN_IDENTIFIER: 'boss' });
  t.same(app.defaultApp, { sdkAppId: 1400000099, secretKey: KEY, adminIdentifier: 'boss' }, 'the default app comes from the environment');
});

t.test('invalid configurations are refused with a ConfigError naming the problem', async (t) => {
  refuses(t, () => loadConfig(['--config', writeConfig({ serverr: {} })], {}), /forbidden keys: 'serverr'/, 'unknown top-level key');
  refuses(t, () => loadConfig(['--config', writeConfig({ server: { port: 1, tls: true } })], {}), /forbidden keys: 'tls'/, 'unknown server key');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { (a.members![0] as Record<string, unknown>).email = 'x@y.z'; })], {}),
    /apps\[0\]\.members\[0\]' contains forbidden keys: 'email'/, 'unknown member key');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { (a.session!.satisfaction as Record<string, unknown>).stars = 5; })], {}),
    /forbidden keys: 'stars'/, 'unknown satisfaction key');

  refuses(t, () => loadConfig(['--config', writeConfig({ server: { port: '8080' } })], {}), /'server\.port' field must be a number/, 'port as a string');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { (a.members![1] as Record<string, unknown>).receptionLimit = '5'; })], {}),
    /apps\[0\]\.members\[1\]\.receptionLimit' field must be a number/, 'reception limit as a string');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { (a.csAccounts![0] as Record<string, unknown>).chatbotDisabled = 'yes'; })], {}),
    /chatbotDisabled' field must be a boolean/, 'boolean as a string');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { a.sdkAppId = -1; })], {}), /sdkAppId/, 'negative sdkAppId');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { a.secretKey = 'short'; })], {}), /secretKey/, 'secret key too short');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { a.members![0].mail = 'not-a-mail'; })], {}), /mail' field must be a valid e-mail/, 'member mail');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { a.members![0].password = 'short'; })], {}), /password/, 'password too short');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => {
    ((a.csAccounts![1] as Record<string, unknown>).workTime as { Periods: { PeriodsWithinOneDay: { Start: string }[] }[] }).Periods[0].PeriodsWithinOneDay[0].Start = '9am';
  })], {}), /Start/, 'working-hours time not hh:mm');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { (a.session as Record<string, unknown>).receptionMode = 'telepathic'; })], {}),
    /receptionMode/, 'unknown reception mode');

  refuses(t, () => loadConfig(['--config', writeConfig({ apps: [{ sdkAppId: 1400000001 }, { sdkAppId: 1400000001 }] })], {}),
    /app 1400000001 declared twice/, 'duplicate app');
  refuses(t, () => loadConfig(['--config', writeConfig('{ "server": ')], {}), /cannot read config file .*config-\d+\.json/, 'invalid JSON');
  refuses(t, () => loadConfig(['--config', path.join(tmp, 'missing.json')], {}), /cannot read config file .*missing\.json/, 'missing file');

  refuses(t, () => loadConfig([], { DESK_PORT: 'eighty' }), /'port' field must be a number/, 'DESK_PORT not a number');
  refuses(t, () => loadConfig(['--port', '70000'], {}), /'port'/, 'port out of range');
  refuses(t, () => loadConfig([], { DESK_FSYNC: 'sometimes' }), /'fsync'/, 'unknown fsync mode');
  refuses(t, () => loadConfig(['--log-level', 'loud'], {}), /'logLevel'/, 'unknown log level');
  refuses(t, () => loadConfig([], { DESK_SDKAPPID: '0' }), /sdkAppId/, 'DESK_SDKAPPID out of range');
  refuses(t, () => loadConfig([], { DESK_SECRET_KEY: 'short' }), /secretKey/, 'DESK_SECRET_KEY too short');
  t.throws(() => loadConfig(['--bogus', '1'], {}), /--bogus/, 'an unknown flag is refused');
});

t.test('references between members, groups and accounts are checked when the app is built', async (t) => {
  const example = (): DeclaredApp => exampleJson().apps[0];

  const unknownGroup = example();
  unknownGroup.members![1].groupIds = [1, 9];
  refuses(t, () => build(unknownGroup), /member bob@example\.com names unknown group 9/, 'member in an unknown group');

  const unboundAccount = example();
  (unboundAccount.csAccounts![1] as Record<string, unknown>).agentGroupId = 42;
  refuses(t, () => build(unboundAccount), /account @vip_service is bound to unknown group 42/, 'account bound to an unknown group');

  const badZone = example();
  badZone.session!.timeZone = 'Mars/Olympus_Mons';
  refuses(t, () => build(badZone), /unknown time zone Mars\/Olympus_Mons/, 'bad time zone');

  const noDefault = example();
  (noDefault.csAccounts![0] as Record<string, unknown>).isDefault = false;
  refuses(t, () => build(noDefault), /no default customer-service account/, 'no default account');

  // Through bootstrap: the refused app is not stored.
  const dataDir = fs.mkdtempSync(path.join(tmp, 'data-'));
  const file = exampleWith((a) => { a.members![0].groupIds = [7]; });
  const cfg = loadConfig(['--config', file, '--data-dir', dataDir], {});
  const store = new Store(dataDir, 'none');
  t.teardown(() => store.close());
  const apps = new AppRegistry(store);
  refuses(t, () => apps.bootstrap(cfg), /member alice@example\.com names unknown group 7/, 'bootstrap refuses a bad reference');
  t.same(apps.all(), [], 'nothing is stored');
});

t.test('passwords are stored as salted scrypt hashes, never in clear', async (t) => {
  const decl = exampleJson().apps[0];
  const clear = decl.members!.map((m) => m.password).filter((p): p is string => !!p);
  t.equal(clear.length, 3, 'the example declares three passwords');

  const app = build(decl);
  const serialized = JSON.stringify(app);
  for (const p of clear) t.notOk(serialized.includes(p), 'the clear password is not in the model');
  for (const m of decl.members!) {
    const stored = app.members[m.mail] as unknown as Record<string, unknown>;
    t.notOk('password' in stored, `${m.mail}: no password field`);
    if (!m.password) continue;
    const hash = stored.passwordHash as string;
    t.match(hash, /^scrypt\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/, `${m.mail}: scrypt$<salt>$<hash>`);
    const [, salt, digest] = hash.split('$');
    t.equal(scryptSync(m.password, Buffer.from(salt, 'base64'), 32).toString('base64'), digest, `${m.mail}: the hash verifies`);
  }
  const again = build(decl);
  t.not(again.members['alice@example.com'].passwordHash, app.members['alice@example.com'].passwordHash, 'each hash has its own salt');
  // Applied again over the model it built (a restart, a cluster node joining), the file changes no hash.
  const reapplied = buildApp(decl, app, app.secretKey);
  t.equal(reapplied.members['alice@example.com'].passwordHash, app.members['alice@example.com'].passwordHash, 'a password the stored hash matches keeps that hash');
  t.same(reapplied, app, 'the whole model is unchanged');
  const changed = structuredClone(decl);
  changed.members!.find((m) => m.mail === 'alice@example.com')!.password = 'another-password-123';
  const rehashed = buildApp(changed, app, app.secretKey).members['alice@example.com'].passwordHash;
  t.not(rehashed, app.members['alice@example.com'].passwordHash, 'a changed password gets a new hash');
  t.ok(passwordMatches('another-password-123', rehashed) && !passwordMatches('another-password-123', app.members['alice@example.com'].passwordHash), 'of the new password');
  t.ok(await passwordMatchesAsync('another-password-123', rehashed), 'checked off the event loop too');
  t.notOk(await passwordMatchesAsync('another-password-124', rehashed), 'off the event loop, a wrong password');
  t.notOk(await passwordMatchesAsync('another-password-123', ''), 'no hash, no match');

  const preHashed = exampleJson().apps[0];
  preHashed.members![0] = { mail: 'alice@example.com', nickname: 'Alice', passwordHash: app.members['alice@example.com'].passwordHash };
  t.equal(build(preHashed).members['alice@example.com'].passwordHash, app.members['alice@example.com'].passwordHash, 'a declared passwordHash is kept as is');

  // What reaches LMDB holds the hash only.
  const dataDir = fs.mkdtempSync(path.join(tmp, 'data-'));
  const store = new Store(dataDir, 'always');
  new AppRegistry(store).bootstrap(loadConfig(['--config', EXAMPLE, '--data-dir', dataDir], {}));
  await store.commit();
  const stored = JSON.stringify(store.apps());
  await store.close();
  for (const p of clear) t.notOk(stored.includes(p), 'the stored app holds no clear password');
  const lmdbFile = path.join(dataDir, 'desk.lmdb');
  if (fs.statSync(lmdbFile).size < 64 * 1024 * 1024) {
    const bytes = fs.readFileSync(lmdbFile);
    for (const p of clear) t.equal(bytes.indexOf(Buffer.from(p)), -1, 'the database file holds no clear password');
  }
});

t.test('statistics: on by default; off from the file, DESK_STATISTICS or --statistics; anything else refused', async (t) => {
  t.equal(loadConfig([], {}).statistics, true);
  t.equal(loadConfig(['--config', writeConfig({ server: { statistics: false } })], {}).statistics, false);
  t.equal(loadConfig([], { DESK_STATISTICS: 'off' }).statistics, false);
  t.equal(loadConfig(['--statistics', 'on'], { DESK_STATISTICS: 'off' }).statistics, true, 'the flag wins');
  t.throws(() => loadConfig(['--statistics', 'maybe'], {}), /statistics/);
});

t.test('web.demoUserSig: off unless declared; a declaration sets it, a file without one keeps the stored value', async (t) => {
  // The example turns demo sign-in on; these start from the example without it.
  const undeclared = (): DeclaredApp => { const a = exampleJson().apps[0]; delete a.web; return a; };
  t.equal(build(undeclared()).web, undefined, 'not declared: off');
  const on = loadConfig(['--config', exampleWith((a) => { a.web = { demoUserSig: true }; })], {}).apps[0];
  const stored = build(on);
  t.same(stored.web, { demoUserSig: true });
  t.same(buildApp(undeclared(), stored, stored.secretKey).web, { demoUserSig: true }, 'a file that does not declare it keeps it');
  t.same(buildApp({ ...undeclared(), web: { demoUserSig: false } }, stored, stored.secretKey).web, { demoUserSig: false }, 'declared off');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { a.web = { demoUserSig: 'yes' } as never; })], {}), /demoUserSig' field must be a boolean/, 'not a boolean');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { a.web = {} as never; })], {}), /demoUserSig' field is required/, 'web without the switch');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { a.web = { demoUserSig: true, open: true } as never; })], {}), /forbidden keys: 'open'/, 'unknown web key');
});

t.test('llm: a declared provider gets the defaults it omits; a bad URL is refused; the key is printed by its length', async (t) => {
  const app = build({ ...exampleJson().apps[0], llm: { baseUrl: 'http://127.0.0.1:8000/v1', model: 'm1', apiKey: 'sk-secret-1234' } });
  t.match(app.llm, { baseUrl: 'http://127.0.0.1:8000/v1', model: 'm1', apiKey: 'sk-secret-1234', knowledgeOnly: false, timeoutMs: 20_000, prompt: /./, refusal: /./ });
  refuses(t, () => build({ ...exampleJson().apps[0], llm: { baseUrl: 'ftp://models.example/v1', model: 'm1' } }), /not a usable http\(s\) URL/, 'not http(s)');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { a.llm = { baseUrl: 'http://x.example/v1' } as never; })], {}), /model' field is required/, 'no model');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { a.llm = { baseUrl: 'http://x.example/v1', model: 'm', timeoutMs: 10 } as never; })], {}), /timeoutMs/, 'timeout too short');
  const tooLong = `sk-${'q'.repeat(1200)}`;
  let message = '';
  try {
    loadConfig(['--config', exampleWith((a) => { a.llm = { baseUrl: 'http://x.example/v1', model: 'm', apiKey: tooLong }; })], {});
  } catch (err) {
    message = (err as Error).message;
  }
  t.match(message, /apiKey/, 'a key over 1,000 characters is refused');
  t.notMatch(message, /qqqq/, 'and not printed');
});

t.test('embeddings: a declared provider gets the defaults it omits; bad values are refused', async (t) => {
  const app = build({ ...exampleJson().apps[0], embeddings: { baseUrl: 'http://127.0.0.1:8080/v1', model: 'bge-m3' } });
  t.match(app.embeddings, { baseUrl: 'http://127.0.0.1:8080/v1', model: 'bge-m3', timeoutMs: 3000, scoreFrom: 0.5, scoreTo: 0.9, margin: 0.05 });
  refuses(t, () => build({ ...exampleJson().apps[0], embeddings: { baseUrl: 'ftp://models.example/v1', model: 'm' } }), /not a usable http\(s\) URL/, 'not http(s)');
  refuses(t, () => build({ ...exampleJson().apps[0], embeddings: { baseUrl: 'http://x.example/v1', model: 'm', scoreFrom: 0.9, scoreTo: 0.5 } }), /scoreFrom must be below scoreTo/, 'an empty band');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { a.embeddings = { baseUrl: 'http://x.example/v1' } as never; })], {}), /model' field is required/, 'no model');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { a.embeddings = { baseUrl: 'http://x.example/v1', model: 'm', margin: 2 } as never; })], {}), /margin/, 'a margin past 0.5');
  refuses(t, () => loadConfig(['--config', exampleWith((a) => { a.embeddings = { baseUrl: 'http://x.example/v1', model: 'm', dims: 3 } as never; })], {}), /forbidden keys: 'dims'/, 'an unknown key');
});

t.test('one default account, and no UserID used by two of the admin, an account and a member', async (t) => {
  const example = (): DeclaredApp => exampleJson().apps[0];

  const twoDefaults = example();
  (twoDefaults.csAccounts![1] as Record<string, unknown>).isDefault = true;
  refuses(t, () => build(twoDefaults), /csAccounts: more than one default account \(isDefault\): "@customer_service_account", "@vip_service"/, 'two default accounts');

  const adminIsMember = example();
  adminIsMember.adminIdentifier = 'alice@example.com';
  refuses(t, () => build(adminIsMember), /adminIdentifier "alice@example\.com" is also a member's mail/, 'admin identifier equal to a member mail');

  const adminIsAccount = example();
  adminIsAccount.adminIdentifier = '@vip_service';
  refuses(t, () => build(adminIsAccount), /adminIdentifier "@vip_service" is also a customer-service account/, 'admin identifier equal to an account');

  const accountIsMember = example();
  accountIsMember.csAccounts!.push({ userId: 'bob@example.com' });
  refuses(t, () => build(accountIsMember), /csAccounts\.userId "bob@example\.com" is also a member's mail/, 'account equal to a member mail');

  // Against what is stored: a file that only renames the admin to an existing member is refused too.
  const dataDir = fs.mkdtempSync(path.join(tmp, 'data-'));
  const store = new Store(dataDir, 'none');
  t.teardown(() => store.close());
  const apps = new AppRegistry(store);
  apps.bootstrap(loadConfig(['--config', EXAMPLE, '--data-dir', dataDir], {}));
  const rename = writeConfig({ apps: [{ sdkAppId: 1400000001, adminIdentifier: 'carol@example.com' }] });
  refuses(t, () => apps.bootstrap(loadConfig(['--config', rename, '--data-dir', dataDir], {})), /adminIdentifier "carol@example\.com" is also a member's mail/, 'a stored member');
  t.equal(apps.get(1400000001)?.adminIdentifier, 'administrator', 'the stored app is unchanged');
});

t.test('a refused value is printed with the field, truncated, and secrets are not printed', async (t) => {
  refuses(t, () => loadConfig(['--config', writeConfig({ server: { port: '8080' } })], {}), /'server\.port' field must be a number \(got "8080"\)/, 'the file value');
  refuses(t, () => loadConfig([], { DESK_PORT: 'eighty' }), /'port' field must be a number \(got "eighty"\)/, 'the environment value');
  refuses(t, () => loadConfig(['--fsync', 'sometimes'], {}), /'fsync' field .* \(got "sometimes"\)/, 'a flag value');
  let message = '';
  try {
    loadConfig(['--config', writeConfig({ server: { host: 'h'.repeat(300) } })], {});
  } catch (err) {
    message = (err as Error).message;
  }
  t.match(message, /'server\.host' field .* \(got "h{40,}…\)/, 'a long value is truncated');
  t.ok(message.length < 250, 'to a readable length');
  const secret = 'short-secret';
  let secretMessage = '';
  try {
    loadConfig(['--config', exampleWith((a) => { a.secretKey = secret; a.members![0].password = 'pw'; })], {});
  } catch (err) {
    secretMessage = (err as Error).message;
  }
  t.match(secretMessage, /secretKey.*\(got 12 characters, not shown\)/, 'the secret key is described, not shown');
  t.match(secretMessage, /password.*\(got 2 characters, not shown\)/, 'a password is described, not shown');
  t.notOk(secretMessage.includes(secret), 'the secret is not in the message');
});

t.test('connection caps: per UserID 16 and per IP off by default; from the file, the environment or flags; passed to the gateway', async (t) => {
  const defaults = loadConfig([], {});
  t.same([defaults.maxSocketsPerUser, defaults.maxSocketsPerIp], [16, 0]);
  const file = writeConfig({ server: { maxSocketsPerUser: 4, maxSocketsPerIp: 100 } });
  const fromFile = loadConfig(['--config', file], {});
  t.same([fromFile.maxSocketsPerUser, fromFile.maxSocketsPerIp], [4, 100], 'the file');
  const fromEnv = loadConfig(['--config', file], { DESK_MAX_SOCKETS_PER_USER: '5', DESK_MAX_SOCKETS_PER_IP: '0' });
  t.same([fromEnv.maxSocketsPerUser, fromEnv.maxSocketsPerIp], [5, 0], 'the environment overrides the file');
  const fromFlags = loadConfig(['--config', file, '--max-sockets-per-user', '0', '--max-sockets-per-ip', '7'], { DESK_MAX_SOCKETS_PER_USER: '5' });
  t.same([fromFlags.maxSocketsPerUser, fromFlags.maxSocketsPerIp], [0, 7], 'flags override the environment; 0 is no cap');
  t.match(gatewayLimitsOf(fromFlags), { socketsPerIdentity: 0, socketsPerIp: 7, framesPerSec: defaultLimits.framesPerSec }, 'the gateway gets them');
  t.match(gatewayLimitsOf(fromFlags, { socketsPerIp: 2 }), { socketsPerIdentity: 0, socketsPerIp: 2 }, 'explicit limits win');

  refuses(t, () => loadConfig(['--max-sockets-per-user=-1'], {}), /'maxSocketsPerUser' field .* \(got -1\)/, 'negative');
  refuses(t, () => loadConfig([], { DESK_MAX_SOCKETS_PER_IP: 'many' }), /'maxSocketsPerIp' field must be a number \(got "many"\)/, 'not a number');
  refuses(t, () => loadConfig(['--config', writeConfig({ server: { maxSocketsPerIp: 1.5 } })], {}), /'server\.maxSocketsPerIp' field must be an integer \(got 1\.5\)/, 'not an integer');
});

t.test('secret keys: the key file follows the key in force, its source is known, and published keys are flagged', async (t) => {
  for (const a of exampleJson().apps) t.ok(PUBLISHED_KEYS.has(a.secretKey!), `the example's key of app ${a.sdkAppId} is listed as published`);

  // A generated key, then the example config declaring its own.
  const dataDir = fs.mkdtempSync(path.join(tmp, 'data-'));
  const keyFile = path.resolve(dataDir, 'secret-key-1400000001');
  const store = new Store(dataDir, 'none');
  t.teardown(() => store.close());
  const apps = new AppRegistry(store);
  const plain = loadConfig(['--data-dir', dataDir], {});
  t.same(apps.bootstrap(plain).rewrittenKeyFiles, []);
  const generated = fs.readFileSync(keyFile, 'utf8').trim();
  t.same(keySourceOf(plain, apps.get(1400000001)!), { from: 'keyFile', keyFile }, 'a generated key comes from its file');

  const withExample = loadConfig(['--config', EXAMPLE, '--data-dir', dataDir], {});
  t.same(apps.bootstrap(withExample).rewrittenKeyFiles, [keyFile], 'the key file is rewritten');
  const app = apps.get(1400000001)!;
  t.not(app.secretKey, generated);
  t.equal(fs.readFileSync(keyFile, 'utf8').trim(), app.secretKey, 'and holds the key in force');
  t.equal(fs.statSync(keyFile).mode & 0o777, 0o600, 'still private');
  t.same(keySourceOf(withExample, app), { from: 'configFile', file: EXAMPLE, index: 0, keyFile }, 'the key comes from the config file');
  t.same(apps.bootstrap(withExample).rewrittenKeyFiles, [], 'nothing to rewrite the next time');
  t.same(keySourceOf(plain, app), { from: 'keyFile', keyFile }, 'without the file, the key file holds the stored key');
  fs.rmSync(keyFile);
  t.same(keySourceOf(plain, app), { from: 'store' }, 'without either, the key is the stored one');
  t.same(keySourceOf(loadConfig(['--data-dir', dataDir], { DESK_SECRET_KEY: app.secretKey }), app), { from: 'environment', keyFile: undefined }, 'DESK_SECRET_KEY when it is that key');

  t.equal(publishedKeyWarning({ ...app, secretKey: KEY }, '0.0.0.0', 8080), undefined, 'an own key: no warning');
  for (const host of ['127.0.0.1', '127.0.1.1', 'localhost', '::1']) t.match(publishedKeyWarning(app, host, 8080), { loud: false, text: /published in config\/desk\.example\.json/ }, `${host}: a warning`);
  for (const host of ['0.0.0.0', '::', '192.168.1.20']) t.match(publishedKeyWarning(app, host, 8080), { loud: true, text: `listens on ${host}:8080` }, `${host}: a loud one`);
});

t.test('storage timing: the commit interval (default per fsync mode) and the checkpoint interval from the file, the environment or flags', async (t) => {
  const defaults = loadConfig([], {});
  t.same([defaults.commitIntervalMs, defaults.checkpointEveryMs], [undefined, 5000], 'the store picks the commit interval for its fsync mode');
  const file = writeConfig({ server: { commitIntervalMs: 7, checkpointEveryMs: 2000 } });
  t.same([loadConfig(['--config', file], {}).commitIntervalMs, loadConfig(['--config', file], {}).checkpointEveryMs], [7, 2000], 'the file');
  const env = loadConfig(['--config', file], { DESK_COMMIT_INTERVAL_MS: '0', DESK_CHECKPOINT_EVERY_MS: '1000' });
  t.same([env.commitIntervalMs, env.checkpointEveryMs], [0, 1000], 'the environment overrides the file; 0 commits at once');
  const flags = loadConfig(['--commit-interval-ms', '3', '--checkpoint-every-ms', '60000'], { DESK_COMMIT_INTERVAL_MS: '9' });
  t.same([flags.commitIntervalMs, flags.checkpointEveryMs], [3, 60000], 'flags override the environment');
  refuses(t, () => loadConfig(['--commit-interval-ms', '5000'], {}), /'commitIntervalMs' field .* \(got 5000\)/, 'a commit interval over a second');
  refuses(t, () => loadConfig(['--checkpoint-every-ms', '10'], {}), /'checkpointEveryMs' field .* \(got 10\)/, 'checkpoints more often than every 100 ms');
});

t.test('cluster mode: off unless NATS servers are given; the node id, host:port by default; bad values refused', async (t) => {
  const alone = loadConfig([], {});
  t.same([alone.nats, alone.nodeId], [undefined, undefined], 'without --nats the server runs alone');
  const env = loadConfig(['--port', '9001'], { DESK_NATS_URL: 'nats://10.0.0.1:4222,nats://10.0.0.2:4222' });
  t.same(env.nats, ['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222'], 'servers from DESK_NATS_URL, comma-separated');
  t.equal(env.nodeId, `${os.hostname()}:9001`, 'the node id defaults to host:port');
  t.equal(env.leaseTtlMs, 6000);
  const flags = loadConfig(['--nats', 'nats://127.0.0.1:4222', '--node-id', 'desk-1', '--lease-ttl-ms', '1500'], { DESK_NODE_ID: 'other' });
  t.same([flags.nats, flags.nodeId, flags.leaseTtlMs], [['nats://127.0.0.1:4222'], 'desk-1', 1500], 'flags override the environment');
  const file = writeConfig({ server: { nats: 'nats://n1:4222', nodeId: 'from-file', leaseTtlMs: 3000 } });
  t.same([loadConfig(['--config', file], {}).nodeId, loadConfig(['--config', file], {}).nats], ['from-file', ['nats://n1:4222']], 'and the file');
  refuses(t, () => loadConfig(['--nats', 'nats://a:1, nats://b:2'], {}), /nats: .* is not a list of NATS server URLs/, 'servers with spaces');
  refuses(t, () => loadConfig(['--nats', 'nats://a:1', '--port', '0'], {}), /--port 0 needs --node-id/, 'any port and no node id');
  refuses(t, () => loadConfig(['--nats', 'nats://a:1', '--node-id', 'has space'], {}), /'nodeId' field/, 'a node id with a space');
  refuses(t, () => loadConfig(['--lease-ttl-ms', '100'], {}), /'leaseTtlMs' field .* \(got 100\)/, 'a lease shorter than 600 ms');
});

t.test('cluster mode: JetStream copies of the buckets, 1 by default, 1 to 5', async (t) => {
  t.equal(loadConfig([], {}).natsReplicas, 1);
  t.equal(loadConfig([], { DESK_NATS_REPLICAS: '3' }).natsReplicas, 3, 'from the environment');
  t.equal(loadConfig(['--nats-replicas', '5'], { DESK_NATS_REPLICAS: '3' }).natsReplicas, 5, 'flags override it');
  refuses(t, () => loadConfig(['--nats-replicas', '7'], {}), /'natsReplicas' field .* \(got 7\)/, 'more than 5 copies');
});
