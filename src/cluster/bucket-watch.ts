/**
 * A JetStream KV bucket's keys watched until stopped: a watch that breaks (JetStream lost its consumer) is opened
 * again where it broke off, from the revision after the last one seen, so no write is missed.
 */
import { KvWatchInclude, type KV, type KvEntry } from 'nats';

/** How long a broken watch waits before it is opened again. */
const RETRY_MS = 1000;

/**
 * Calls `onEntry` with each value written to `key` (a subject pattern) in the bucket's order: with `lastValues`,
 * every key's value first, and resolves once those are given (through however many openings it takes); with
 * `updates`, only what is written from now on, resolving at once. Returns the way to stop.
 */
export async function watchBucket(
  kv: KV, key: string, from: 'lastValues' | 'updates', onEntry: (e: KvEntry) => void, broken: (err: unknown) => void,
): Promise<() => void> {
  let stopped = false;
  let last = 0;
  let iter: Awaited<ReturnType<KV['watch']>> | undefined;
  let initialized!: () => void;
  const ready = new Promise<void>((r) => { initialized = r; });
  const open = async (): Promise<void> => {
    const opening = last === 0
      ? { include: from === 'lastValues' ? KvWatchInclude.LastValue : KvWatchInclude.UpdatesOnly }
      : { include: KvWatchInclude.AllHistory, resumeFromRevision: last + 1 };
    iter = await kv.watch({ key, ...opening, ignoreDeletes: true, initializedFn: () => initialized() });
    const watching = iter;
    void (async () => {
      try {
        for await (const e of watching) {
          last = e.revision;
          onEntry(e);
        }
        if (!stopped) broken(new Error(`the watch of ${key} ended`));
      } catch (err) {
        if (!stopped) broken(err);
      }
      while (!stopped) {
        await new Promise((r) => setTimeout(r, RETRY_MS));
        if (stopped) break;
        try {
          await open();
          break;
        } catch (err) {
          broken(err);
        }
      }
    })();
  };
  await open();
  if (from === 'lastValues') await ready;
  return () => {
    stopped = true;
    iter?.stop();
  };
}
