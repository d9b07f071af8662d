/**
 * One server per data dir and per port, across processes: a second server on the same data dir, or on the same
 * port, exits at once naming what is in its way, while the first keeps serving; a SIGKILLed server does not block
 * the next start on its data dir and port.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { textBody } from '../helpers/client';
import { testApp } from '../helpers/server';
import { freePort } from '../helpers/ports';
import { connect, CS, dataOf, fullHistory, httpGet, nextRandom, runMain, spawnServer, tempDir, textsOf, writeConfig } from './_support';

t.test('a second server on the same data dir or port is refused; a killed one does not block the next start', async (t) => {
  const dir = tempDir('desk-one-');
  const otherDir = tempDir('desk-one-other-');
  const configFile = writeConfig(dir, testApp(['alice@desk.test']));
  const port = await freePort();
  const first = await spawnServer({ script: 'main', dataDir: dir, configFile, port });
  let next: Awaited<ReturnType<typeof spawnServer>> | undefined;
  t.teardown(async () => {
    await first.stop();
    await next?.stop();
    for (const d of [dir, otherDir]) fs.rmSync(d, { recursive: true, force: true });
  });
  const firstPid = first.proc.pid!;
  const user = await connect(first.port, 'u1', 'user');
  const ack = await user.request('message.send', { to: CS, random: nextRandom(), body: textBody('before') });
  t.equal(ack.type, 'message.ack');

  const sameDir = await runMain({ dataDir: dir, configFile });
  t.equal(sameDir.code, 1, 'same data dir: exits with 1');
  t.match(sameDir.stderr, new RegExp(`^desk: data dir ${fs.realpathSync(dir)} is in use by pid ${firstPid} on .* \\(port ${port} on 127\\.0\\.0\\.1, started \\d{4}-.*\\); stop it first or choose another --data-dir\\n$`), 'naming the first server');
  t.notMatch(sameDir.stdout, /desk listening/, 'it never listened');

  const samePort = await runMain({ dataDir: otherDir, configFile, port });
  t.equal(samePort.code, 1, 'same port, another data dir: exits with 1');
  t.match(samePort.stderr, `desk: port ${port} on 127.0.0.1 is already in use; stop what listens there or choose another --port`);
  t.notOk(fs.existsSync(path.join(otherDir, 'desk.lock')), 'and lets its own data dir go');

  t.ok(first.alive(), 'the first server is still running');
  t.match(fs.readFileSync(path.join(dir, 'desk.lock'), 'utf8'), `"pid":${firstPid}`, 'its lock record is untouched');
  t.equal((await httpGet(port, '/readyz')).status, 200, 'and ready');
  const again = await user.request('message.send', { to: CS, random: nextRandom(), body: textBody('after the refused starts') });
  t.equal(again.type, 'message.ack', 'its clients are still served');
  await user.close();

  first.proc.kill('SIGKILL');
  await first.exited;
  next = await spawnServer({ script: 'main', dataDir: dir, configFile, port });
  t.equal(next.port, port, 'after a SIGKILL the next server starts on that data dir and port');
  t.match(fs.readFileSync(path.join(dir, 'desk.lock'), 'utf8'), `"pid":${next.proc.pid}`, 'and records itself');
  const back = await connect(next.port, 'u1', 'user');
  const history = await fullHistory(back, { sessionId: dataOf<{ sessionId: string }>(ack).sessionId });
  t.same(textsOf(history).filter((x) => x === 'before' || x === 'after the refused starts'), ['before', 'after the refused starts'], 'both acknowledged messages are there');
  await back.close();
});
