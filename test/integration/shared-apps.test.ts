/**
 * App models shared through a real nats-server's KV bucket: what one node writes every other node reads and is
 * told of; two nodes changing one app at once cannot both win; a value that is not an app model is ignored.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import type { AppModel } from '../../protocol/app-model';
import { AppRegistry, buildApp } from '../../src/config/apps';
import { ClusterApps } from '../../src/cluster/cluster-apps';
import { FsyncMode, Store } from '../../src/store/store';
import { SharedApps, type SharedApp } from '../../src/cluster/shared-apps';
import { natsForTests } from '../helpers/nats';

const nats = natsForTests(t);

const app = (sdkAppId: number): AppModel => buildApp({ sdkAppId, adminIdentifier: 'administrator' }, undefined, 'k'.repeat(32));
/** The model with one more member, as a REST change would make it. */
const withMember = (model: AppModel, mail: string): AppModel => buildApp({ sdkAppId: model.sdkAppId, members: [{ mail, nickname: mail.split('@')[0] }] }, model, model.secretKey);
const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

t.test("one node's writes reach the others; concurrent changes of one app cannot both win", async (t) => {
  const a = await SharedApps.open(await nats.connect());
  const b = await SharedApps.open(await nats.connect());
  const seenByB: SharedApp[] = [];
  const stop = await b.watch((x) => seenByB.push(x), () => undefined);
  t.teardown(stop);

  const model = app(1400000001);
  const r1 = await a.put(model, 0);
  t.ok(r1, 'a new app is written');
  t.equal(await b.put(app(1400000001), 0), undefined, 'another node cannot create it again');
  await until(() => seenByB.length === 1);
  t.equal(seenByB[0].model.sdkAppId, 1400000001, "b's watcher is told of it");

  // Both nodes base a change on revision r1: the first wins, the second is refused and redoes it on the new model.
  const r2 = await a.put(withMember(model, 'alice@x.com'), r1!);
  t.ok(r2, "a's change lands");
  t.equal(await b.put(withMember(model, 'bob@x.com'), r1!), undefined, "b's change, based on the same revision, is refused");
  const fresh = (await b.load()).get(1400000001)!;
  t.equal(fresh.revision, r2, 'b reads the newer model');
  t.ok(await b.put(withMember(fresh.model, 'bob@x.com'), fresh.revision), 'and redoes its change on it');
  const final = (await a.load()).get(1400000001)!.model;
  t.same(Object.keys(final.members).sort(), ['alice@x.com', 'bob@x.com'], 'neither change is lost');
  await until(() => seenByB.length === 3);
  t.same(seenByB.map((x) => Object.keys(x.model.members).length), [0, 1, 2], 'the watcher saw every change in order');
});

t.test('values that are not an app model are ignored', async (t) => {
  const nc = await nats.connect();
  const shared = await SharedApps.open(nc);
  const kv = await nc.jetstream().views.kv('desk-apps');
  await kv.put('app.77', 'not json');
  await kv.put('app.78', JSON.stringify({ sdkAppId: 79 }));
  await kv.put('app.80', JSON.stringify([1, 2]));
  await shared.put(app(81), 0);
  const loaded = await shared.load();
  t.notOk(loaded.has(77) || loaded.has(78) || loaded.has(79) || loaded.has(80), 'garbage, a key naming another app, an array: left out');
  t.ok(loaded.has(81), 'a real app is read');
});

t.test("nodes join the shared models: the config file applies over the cluster's model; a change based on an older model is refused", async (t) => {
  const bucket = 'desk-test-cluster-apps';
  const registry = (): AppRegistry => {
    const store = new Store(fs.mkdtempSync(path.join(os.tmpdir(), 'desk-capps-')), FsyncMode.None);
    t.teardown(() => store.close());
    return new AppRegistry(store);
  };
  const id = 1400000077;
  const ra = registry();
  ra.put(app(id));
  const declaredNone = (): undefined => undefined;
  const a = await ClusterApps.start(await SharedApps.open(await nats.connect(), { bucket }), ra, pino({ level: 'silent' }), declaredNone);
  t.teardown(() => a.stop());
  t.ok(a.revisionOf(id) > 0, "the first node's app is written to the bucket");

  // b declares a member for the app in its config file: applied over the bucket's model, and a sees it.
  const rb = registry();
  const declaresBob = (m: AppModel): AppModel | undefined => (m.sdkAppId === id ? withMember(m, 'bob@x.com') : undefined);
  const b = await ClusterApps.start(await SharedApps.open(await nats.connect(), { bucket }), rb, pino({ level: 'silent' }), declaresBob);
  t.teardown(() => b.stop());
  t.ok(rb.get(id)?.members['bob@x.com'], "b's config applied");
  await until(() => !!ra.get(id)?.members['bob@x.com']);
  t.pass('and reached a');

  // Both change the app from the same revision: the first lands, the second is told to redo it.
  const basedOn = a.revisionOf(id);
  await until(() => b.revisionOf(id) === basedOn);
  t.ok(await a.save(withMember(ra.get(id)!, 'carol@x.com'), basedOn), "a's change lands");
  t.notOk(await b.save(withMember(rb.get(id)!, 'dave@x.com'), basedOn), "b's, based on the model a changed, is refused");
  await until(() => !!rb.get(id)?.members['carol@x.com']);
  t.notOk(rb.get(id)?.members['dave@x.com'], "and nothing of it is applied; b has a's change");
});
