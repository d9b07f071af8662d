/**
 * The data-dir lock in one process: a second holder is refused with a message naming the first, close() releases
 * it, a socket file left by a killed holder is taken over, and a server refused its port lets its data dir go.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { loadConfig } from '../../src/config/config';
import { startServer } from '../../src/server';
import { StartRefused } from '../../src/start-refused';
import { DataDirInUse, DataDirLock } from '../../src/store/data-dir-lock';
import { startTestServer, testApp } from '../helpers/server';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-lock-test-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
const newDir = (): string => fs.realpathSync(fs.mkdtempSync(path.join(tmp, 'd-')));
const where = { host: '127.0.0.1', port: 0 };

/** The error `p` rejects with. */
async function refusal(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('not refused');
}

for (const abstract of [true, false].filter((a) => !a || process.platform === 'linux')) {
  t.test(`${abstract ? 'abstract socket and socket file' : 'socket file alone'}: one holder at a time`, async (t) => {
    const dir = newDir();
    const lock = await DataDirLock.acquire(dir, where, abstract);
    const err = await refusal(DataDirLock.acquire(dir, where, abstract));
    t.ok(err instanceof DataDirInUse, 'a second holder in the same process is refused');
    t.match(err.message, `data dir ${dir} is in use by pid ${process.pid} on ${os.hostname()} (not listening yet, started `);
    lock.listening(8123);
    t.match((await refusal(DataDirLock.acquire(dir, where, abstract))).message, '(port 8123 on 127.0.0.1, started', 'the port once known');
    t.match((await refusal(DataDirLock.acquire(path.join(dir, '.'), where, abstract))).message, 'is in use', 'another spelling of the same dir');
    await lock.release();
    t.same(fs.readdirSync(dir), [], 'release leaves nothing behind');
    const tool = await DataDirLock.acquire(dir, undefined, abstract);
    t.match((await refusal(DataDirLock.acquire(dir, where, abstract))).message, `(${path.basename(process.argv[1])}, started`, 'a tool is named by its script');
    await tool.release();
    const again = await DataDirLock.acquire(dir, where, abstract);
    t.pass('released: the dir can be locked again');
    await again.release();
  });
}

t.test('a data dir too deep for a socket path keeps its socket file in the temp dir', async (t) => {
  const dir = path.join(newDir(), 'd'.repeat(120));
  const lock = await DataDirLock.acquire(dir, where, false);
  t.notOk(fs.existsSync(path.join(dir, 'desk.lock.sock')), 'not in the data dir');
  t.ok(fs.readdirSync(os.tmpdir()).some((f) => /^desk-data-dir-[0-9a-f]{32}\.sock$/.test(f)), 'in the temp dir');
  t.ok((await refusal(DataDirLock.acquire(dir, where, false))) instanceof DataDirInUse, 'and still locks');
  await lock.release();
});

t.test('a socket file left by a killed holder is taken over', async (t) => {
  const dir = newDir();
  const socketFile = path.join(dir, 'desk.lock.sock');
  const holder = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))", socketFile]);
  await new Promise((r) => holder.once('exit', r));
  t.ok(fs.statSync(socketFile).isSocket(), 'the killed holder left its socket file');
  fs.writeFileSync(path.join(dir, 'desk.lock'), JSON.stringify({ pid: 1, hostname: 'gone', host: '0.0.0.0', port: 1, startedAt: 'then' }));
  const lock = await DataDirLock.acquire(dir, where, false);
  t.match(JSON.parse(fs.readFileSync(path.join(dir, 'desk.lock'), 'utf8')), { pid: process.pid, port: 0 }, 'the record names the new holder');
  await lock.release();
});

t.test('a running server holds its data dir until close()', async (t) => {
  const s = await startTestServer(testApp());
  const cfg = loadConfig(['--port', '0', '--host', '127.0.0.1', '--data-dir', s.dataDir], {});
  const err = await refusal(startServer(cfg, { log: pino({ level: 'silent' }) }));
  t.ok(err instanceof DataDirInUse, 'a second server on its data dir is refused');
  t.match(err.message, `(port ${s.port} on 127.0.0.1, started`);
  t.equal((await fetch(`http://127.0.0.1:${s.port}/readyz`)).status, 200, 'the first one still serves');
  await s.stop();
  const next = await startTestServer(testApp(), { dataDir: s.dataDir });
  t.pass('after close() the next server starts on that data dir');
  await next.stop();
});

t.test('a server refused its port lets its data dir go', async (t) => {
  const first = await startTestServer(testApp());
  t.teardown(() => first.stop());
  const dir = newDir();
  const cfg = loadConfig(['--port', String(first.port), '--host', '127.0.0.1', '--data-dir', dir], {});
  const err = await refusal(startServer(cfg, { log: pino({ level: 'silent' }) }));
  t.ok(err instanceof StartRefused, 'refused');
  t.equal(err.message, `port ${first.port} on 127.0.0.1 is already in use; stop what listens there or choose another --port`);
  const next = await startTestServer(testApp(), { dataDir: dir });
  t.pass('its data dir is free again');
  await next.stop();
});
