/**
 * A node's knowledge base in a cluster: the rows its REST changes write go to the shared bucket once committed, the
 * rows any node writes are applied here (SharedKnowledge), and its category ids come from blocks reserved there.
 *
 * Joining, the node first settles each robot it knows: the one node that claims a robot's seeding brings its rows
 * into the cluster (or writes the presets of a robot nobody has rows of); the others drop what they held of it, and
 * take the cluster's rows.
 */
import type { Logger } from 'pino';
import type { KbRow, KnowledgeBase } from '../knowledge/knowledge-base';
import type { SharedKnowledge } from './shared-knowledge';

/** Category ids reserved at a time, and how few left make a change reserve more first. */
const BLOCK = 200;
const LOW = 50;
const RETRY_MS = 1000;

export class ClusterKnowledge {
  private readonly blocks = new Map<number, { next: number; end: number }>();
  private readonly reserving = new Map<number, Promise<void>>();
  /** Rows written here and not yet in the bucket (a failed write is tried again). */
  private unshared: KbRow[] = [];
  private sharing: Promise<void> = Promise.resolve();
  private retry?: NodeJS.Timeout;
  private stopFollow?: () => void;
  private stopped = false;

  private constructor(private readonly shared: SharedKnowledge, private readonly kb: KnowledgeBase, private readonly log: Logger) {}

  /** Joins the cluster's knowledge with the robots of `apps`; resolves once this node holds the cluster's rows. */
  static async start(shared: SharedKnowledge, kb: KnowledgeBase, apps: readonly { sdkAppId: number; robotIds: string[] }[], log: Logger): Promise<ClusterKnowledge> {
    const ck = new ClusterKnowledge(shared, kb, log);
    kb.shared = { categoryId: (app) => ck.categoryId(app) };
    const seeding: [number, string][] = [];
    for (const a of apps) {
      for (const robotId of a.robotIds) {
        if (await shared.claimSeed(a.sdkAppId, robotId)) seeding.push([a.sdkAppId, robotId]);
        else kb.forgetRobot(a.sdkAppId, robotId);
      }
    }
    await kb.commit();
    const malformed = (key: unknown): void => log.warn({ key }, 'a knowledge row in the cluster bucket is malformed; left out');
    ck.stopFollow = await shared.follow((row) => { if (!kb.applyRow(row.key, row.value)) malformed(row.key); }, malformed,
      (err) => log.warn({ err }, 'watching the knowledge bucket broke off; watching it again'));
    await kb.commit();
    for (const a of apps) {
      await ck.ready(a.sdkAppId);
      for (const robotId of a.robotIds) if (!seeding.some(([app, r]) => app === a.sdkAppId && r === robotId)) kb.markStored(a.sdkAppId, robotId);
    }
    for (const [app, robotId] of seeding) {
      const rows = kb.robotRows(app, robotId);
      if (rows.length > 0) ck.unshared.push(...rows);
      else kb.load(app, robotId);
    }
    await ck.share();
    return ck;
  }

  /** Before a change of an app's knowledge: ids at hand for the categories it may add. */
  ready(app: number): Promise<void> {
    const b = this.blocks.get(app);
    if (b && b.end - b.next >= LOW) return Promise.resolve();
    let r = this.reserving.get(app);
    if (!r) {
      r = this.shared.reserveIds(app, BLOCK, this.kb.categoryIdsIssued(app) + 1)
        .then((first) => { this.blocks.set(app, { next: first, end: first + BLOCK }); })
        .finally(() => this.reserving.delete(app));
      this.reserving.set(app, r);
    }
    return r;
  }

  /** A robot made here: its presets are written here (no node joining later brings rows of it instead). */
  async robotAdded(app: number, robotId: string): Promise<void> {
    await this.shared.claimSeed(app, robotId);
    await this.ready(app);
  }

  /** After a change is committed here: its rows go to the other nodes (a failure is tried again until it works). */
  share(): Promise<void> {
    this.unshared.push(...this.kb.takeWritten());
    this.sharing = this.sharing.then(async () => {
      if (this.unshared.length === 0 || this.stopped) return;
      const rows = this.unshared;
      this.unshared = [];
      try {
        await this.shared.put(rows);
      } catch (err) {
        this.unshared = [...rows, ...this.unshared];
        this.log.warn({ err, rows: rows.length }, 'knowledge changes not yet shared with the other nodes; trying again');
        this.retry ??= setTimeout(() => { this.retry = undefined; void this.share(); }, RETRY_MS);
      }
    });
    return this.sharing;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.stopFollow?.();
  }

  private categoryId(app: number): number {
    const b = this.blocks.get(app);
    // `ready` before each change keeps ids at hand: none here is a change made without it.
    if (!b || b.next >= b.end) throw new Error(`no category ids reserved for app ${app}`);
    return b.next++;
  }
}
