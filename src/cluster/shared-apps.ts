/**
 * The apps' models shared by the nodes of a cluster through a JetStream KV bucket (`desk-apps`, one key per app):
 * a REST change on any node is written here and reaches every node's watcher. A write names the revision the change
 * was based on, so of two nodes changing one app at once the second is refused and can redo its change on the newer
 * model instead of overwriting the first.
 *
 * The bucket holds secret keys and password hashes: the NATS cluster must be private to the nodes.
 */
import type { KV, NatsConnection } from 'nats';
import type { AppModel } from '../../protocol/app-model';
import { plainDataProblem } from '../../protocol/plain-data';
import { appKey, APPS_BUCKET } from '../bus/subjects';
import { watchBucket } from './bucket-watch';
import { isWrongLastSequence } from './jetstream-errors';

export interface SharedApp { model: AppModel; revision: number }

/** A value read from the bucket: plain data, an object, for the app its key names. */
function parse(key: string, value: Uint8Array): AppModel | undefined {
  let model: unknown;
  try {
    model = JSON.parse(new TextDecoder().decode(value));
  } catch {
    return undefined;
  }
  if (plainDataProblem(model, key, 64) !== undefined || !model || typeof model !== 'object' || Array.isArray(model)) return undefined;
  const m = model as AppModel;
  return key === appKey(m.sdkAppId) ? m : undefined;
}

export class SharedApps {
  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection, opts: { bucket?: string; replicas?: number } = {}): Promise<SharedApps> {
    return new SharedApps(await nc.jetstream().views.kv(opts.bucket ?? APPS_BUCKET, { history: 5, replicas: opts.replicas ?? 1 }));
  }

  /** Every app in the bucket (values that are not an app model are left out). */
  async load(): Promise<Map<number, SharedApp>> {
    const out = new Map<number, SharedApp>();
    const keys: string[] = [];
    for await (const k of await this.kv.keys('app.>')) keys.push(k);
    for (const k of keys) {
      const e = await this.kv.get(k);
      const model = e && e.operation === 'PUT' ? parse(k, e.value) : undefined;
      if (model) out.set(model.sdkAppId, { model, revision: e!.revision });
    }
    return out;
  }

  /**
   * Writes a model changed from the one at revision `basedOn` (0: an app new to the cluster). Resolves with the new
   * revision, or undefined when the app was written since (read it again and redo the change).
   */
  async put(model: AppModel, basedOn: number): Promise<number | undefined> {
    const key = appKey(model.sdkAppId);
    const value = JSON.stringify(model);
    try {
      return basedOn === 0 ? await this.kv.create(key, value) : await this.kv.update(key, value, basedOn);
    } catch (err) {
      if (isWrongLastSequence(err)) return undefined;
      throw err;
    }
  }

  /**
   * Calls `fn` with every app model written from now on, by any node, in order (writes already made are `load`'s);
   * a watch that breaks is opened again where it broke off. Returns the way to stop.
   */
  async watch(fn: (app: SharedApp) => void, broken: (err: unknown) => void): Promise<() => void> {
    return watchBucket(this.kv, 'app.>', 'updates', (e) => {
      const model = e.operation === 'PUT' ? parse(e.key, e.value) : undefined;
      if (model) fn({ model, revision: e.revision });
    }, broken);
  }
}
