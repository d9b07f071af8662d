/**
 * A node's app models kept equal to the cluster's (shared-apps.ts): at join, an app only this node declares is
 * written to the bucket and one the bucket holds replaces the local model; from then on every change written by any
 * node is applied here, in revision order, and a REST change on this node is written there first, naming the
 * revision it was based on.
 */
import type { Logger } from 'pino';
import type { AppModel } from '../../protocol/app-model';
import type { AppRegistry } from '../config/apps';
import type { SharedApp, SharedApps } from './shared-apps';

export class ClusterApps {
  private readonly revisions = new Map<number, number>();
  private stopWatching?: () => void;

  private constructor(private readonly shared: SharedApps, private readonly apps: AppRegistry, private readonly log: Logger) {}

  /**
   * Joins the shared models. `declared` gives an app's model with this node's config file applied over it (undefined
   * for an app the file does not declare): as one server applies its file over what it stored, a node applies it over
   * the cluster's model, so every node started with one file agrees.
   */
  static async start(shared: SharedApps, apps: AppRegistry, log: Logger, declared: (model: AppModel) => AppModel | undefined): Promise<ClusterApps> {
    const c = new ClusterApps(shared, apps, log);
    // Watching first: a change made while the bucket is read is not missed (revisions make a repeat harmless).
    c.stopWatching = await shared.watch((e) => c.apply(e), (err) => log.warn({ err }, 'watching the app models broke off; watching them again from where it stopped'));
    for (let round = 0; round < 5; round++) {
      const known = await shared.load();
      let refused = false;
      for (const id of new Set([...known.keys(), ...apps.all().map((a) => a.sdkAppId)])) {
        const there = known.get(id);
        const wanted = there ? declared(there.model) : apps.get(id);
        if (!wanted || (there && JSON.stringify(wanted) === JSON.stringify(there.model))) continue;
        // Refused when another node wrote the app meanwhile: read again and apply the file over that.
        if ((await shared.put(wanted, there?.revision ?? 0)) === undefined) refused = true;
      }
      for (const e of (await shared.load()).values()) c.apply(e);
      if (!refused) return c;
    }
    throw new Error('the shared app models kept changing while this node joined; start it again');
  }

  /** The revision of the app's model this node has (what a change is based on). */
  revisionOf(sdkAppId: number): number {
    return this.revisions.get(sdkAppId) ?? 0;
  }

  /** Writes a changed model based on revision `basedOn`; false when another node changed the app since. */
  async save(model: AppModel, basedOn: number): Promise<boolean> {
    const revision = await this.shared.put(model, basedOn);
    if (revision === undefined) return false;
    this.apply({ model, revision });
    return true;
  }

  stop(): void {
    this.stopWatching?.();
  }

  private apply(e: SharedApp): void {
    if ((this.revisions.get(e.model.sdkAppId) ?? 0) >= e.revision) return;
    this.revisions.set(e.model.sdkAppId, e.revision);
    this.apps.put(e.model);
    this.log.debug({ sdkAppId: e.model.sdkAppId, revision: e.revision }, 'app model from the cluster');
  }
}
