/**
 * What the callback delivery picks up from the outbox at start: everything on a single node; on a cluster node only
 * the callbacks stored before it ran in a cluster (no sender: in no partition's log, no other node passes them on).
 */
import pino from 'pino';
import t from 'tap';
import type { AppRegistry } from '../../src/config/apps';
import { CallbackDelivery } from '../../src/callbacks/delivery';
import { ManualClock } from '../../src/runtime/clock';
import type { MailId, OutboxEntry } from '../../src/store/store';

const entry = (from?: string): OutboxEntry => ({ app: 1, key: 'k', command: 'Test.Notify', body: {}, createdAt: 1, ...(from !== undefined ? { from } : {}) });

/** The ids the delivery picked up (with no callback URL configured, each is settled at once). */
async function pickedUp(clustered: boolean): Promise<MailId[]> {
  const settled: MailId[] = [];
  const outbox = { pendingCallbacks: () => [{ id: 'a', entry: entry('counter:s') }, { id: 'b', entry: entry() }], settled: async (id: MailId) => { settled.push(id); } };
  const delivery = new CallbackDelivery(outbox, { get: () => undefined } as unknown as AppRegistry, new ManualClock(), pino({ level: 'silent' }));
  delivery.start(clustered);
  await new Promise((r) => setImmediate(r));
  return settled.sort();
}

t.test('a single node picks up every callback waiting', async (t) => {
  t.same(await pickedUp(false), ['a', 'b']);
});

t.test("a cluster node picks up only those with no sender; a partition's are its next owner's", async (t) => {
  t.same(await pickedUp(true), ['b']);
});
