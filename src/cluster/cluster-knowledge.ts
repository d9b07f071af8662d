/**
 * A node's knowledge base in a cluster: the rows its REST changes write go to the shared bucket once committed, the
 * rows any node writes are applied here (SharedKnowledge), and its category ids come from blocks reserved there.
 *
 * Joining, the node first settles each robot it knows: the one node that claims a robot's seeding brings its rows
 * into the cluster (or writes the presets of a robot nobody has rows of); the others drop what they held of it, and
 * take the cluster's rows. A claim is marked done once its rows are in the bucket: a node finding its own claim
 * unfinished (it stopped first) seeds again; one finding another's waits for it, and takes the claim over once it is
 * stale (that node is gone).
 *
 * A change's rows are kept in the store with the change until they are in the bucket, so a node stopped before it
 * could share them shares them as it starts again.
 */
import type { Logger } from 'pino';
import type { KnowledgeBase } from '../knowledge/knowledge-base';
import type { SharedKnowledge } from './shared-knowledge';

/** Category ids reserved at a time, and how few left make a change reserve more first. */
const BLOCK = 200;
const LOW = 50;
const RETRY_MS = 1000;
/** A seeding claim unfinished for this long is another node's that is gone; checked this often meanwhile. */
const CLAIM_STALE_MS = 30_000;
const CLAIM_WAIT_MS = 200;

export interface ClusterKnowledgeOptions {
  node: string;
  /** The node's clock (ms), stamping its claims and judging others' stale. */
  now: () => number;
  claimStaleMs?: number;
}

export class ClusterKnowledge {
  private readonly blocks = new Map<number, { next: number; end: number }>();
  private readonly reserving = new Map<number, Promise<void>>();
  /**
   * Robots this node seeds, their claims marked done once their rows (those the store keeps for sharing up to
   * `mark`) are in the bucket.
   */
  private seeding: { app: number; robotId: string; mark: number }[] = [];
  private sharing: Promise<void> = Promise.resolve();
  private retry?: NodeJS.Timeout;
  private stopFollow?: () => void;
  private stopped = false;

  private constructor(private readonly shared: SharedKnowledge, private readonly kb: KnowledgeBase, private readonly log: Logger,
    private readonly opts: ClusterKnowledgeOptions) {}

  /** Joins the cluster's knowledge with the robots of `apps`; resolves once this node holds the cluster's rows. */
  static async start(shared: SharedKnowledge, kb: KnowledgeBase, apps: readonly { sdkAppId: number; robotIds: string[] }[], log: Logger,
    opts: ClusterKnowledgeOptions): Promise<ClusterKnowledge> {
    const ck = new ClusterKnowledge(shared, kb, log, opts);
    kb.shared = { categoryId: (app) => ck.categoryId(app) };
    // (Rows a stop kept from being shared are still in the store: shared below, after the bucket's, so they win.)
    const left = kb.unshared().rows.length;
    if (left > 0) log.warn({ rows: left }, 'knowledge changes made here before the last stop are shared now');
    const seeding: [number, string][] = [];
    for (const a of apps) {
      for (const robotId of a.robotIds) {
        if (await ck.claim(a.sdkAppId, robotId)) seeding.push([a.sdkAppId, robotId]);
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
      if (rows.length > 0) for (const row of rows) kb.keepForCluster(row);
      else kb.load(app, robotId);
      ck.seeding.push({ app, robotId, mark: kb.unsharedMark });
    }
    await kb.commit();
    await ck.share();
    return ck;
  }

  /**
   * True when this node is to seed a robot: nobody claimed it, or this node did and had not finished, or the node
   * that did is gone (its claim stale). Waits while another node is seeding it.
   */
  private async claim(app: number, robotId: string): Promise<boolean> {
    const { node, now, claimStaleMs = CLAIM_STALE_MS } = this.opts;
    for (;;) {
      const c = await this.shared.seedClaim(app, robotId);
      if (!c) {
        if (await this.shared.claimSeed(app, robotId, node, now())) return true;
        continue;
      }
      if (c.done) return false;
      if (c.node === node) return true;
      if (now() - c.at >= claimStaleMs) {
        this.log.warn({ app, robotId, node: c.node }, 'a robot\'s seeding was left unfinished by a node gone: seeding it here');
        if (await this.shared.claimSeed(app, robotId, node, now(), c.revision)) return true;
        continue;
      }
      await new Promise((r) => setTimeout(r, CLAIM_WAIT_MS));
    }
  }

  /** The largest row (a document) the other nodes can be given. */
  get maxRowBytes(): number {
    return this.shared.maxRowBytes;
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

  /**
   * A robot made here: its presets are written here (no node joining later brings rows of it instead), and shared
   * with the next change's rows.
   */
  async robotAdded(app: number, robotId: string): Promise<void> {
    await this.shared.claimSeed(app, robotId, this.opts.node, this.opts.now());
    await this.ready(app);
    this.kb.load(app, robotId);
    this.seeding.push({ app, robotId, mark: this.kb.unsharedMark });
  }

  /**
   * After a change is committed here: the rows the store keeps for sharing go to the other nodes (a failure is tried
   * again until it works), then leave the store.
   */
  share(): Promise<void> {
    this.sharing = this.sharing.then(async () => {
      if (this.stopped) return;
      const { rows, through } = this.kb.unshared();
      const seeded = this.seeding.filter((s) => s.mark <= through);
      if (rows.length === 0 && seeded.length === 0) return;
      try {
        for (const { row, bytes } of await this.shared.put(rows)) {
          this.log.error({ key: row.key, bytes, max: this.shared.maxRowBytes }, 'a knowledge row is larger than a NATS message: kept on this node only');
        }
        for (const s of seeded) await this.shared.seedDone(s.app, s.robotId, this.opts.node, this.opts.now());
        this.seeding = this.seeding.filter((s) => !seeded.includes(s));
        await this.kb.sharedThrough(through);
      } catch (err) {
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
