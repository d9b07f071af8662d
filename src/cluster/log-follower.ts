/**
 * What a cluster node keeps of the whole cluster, from every partition's log folded in stream order (the turns of
 * sessions and agents), the turns of a lost node included (they are in the logs):
 * - the statistics, so each node answers for the whole cluster as one node would. An actor's turns are in its
 *   partition's log once each and in order, and the facts of a session or an agent depend only on its own turns, in
 *   order: the fold gives what one node's live projection gives;
 * - the group chats' entries (`TurnWrite` 'g'), so a member's frames and the REST calls naming a group find it on
 *   any node, and go on to the node holding its conversation;
 * - the service records (`TurnWrite` 'r', the history list `describe_im_cdr_list` reads). A node that made or
 *   imported a turn merged its fields already; merged again here in log order, a record ends as the log has it;
 * - the questions the robots could not answer (`TurnWrite` 'u'), which the console clusters.
 *
 * What was folded and the stream position are written together, every `flushEveryMs`: a restart goes on from where
 * they stand. Rows written since are written again, the same.
 */
import type { Logger } from 'pino';
import { kindOf } from '../../actors/address';
import type { KnowledgeBase } from '../knowledge/knowledge-base';
import type { StatsProjection } from '../stats/projection';
import { plainPackr, type Store } from '../store/store';
import { decodeRecord } from '../store/turn-log';
import { bufferOf, type FollowedRecord, type PartitionLogs } from './partition-log';

const POSITION = 'position';
/** Numbers of the unanswered questions folded from the logs start here, above any a single server gave. */
const UNANSWERED_BASE = 2 ** 40;
/** How long a broken follow waits before it starts again, and how long one may take to start before it is logged. */
const RETRY_MS = 1000;
const SLOW_START_MS = 30_000;

const counted = (a: string): boolean => {
  const kind = kindOf(a);
  return kind === 'session' || kind === 'agent';
};

export class LogFollower {
  private readonly packr = plainPackr();
  private readonly positions;
  /** The stream sequence of the last record folded. */
  private position: number;
  private written: number;
  private flushTimer?: NodeJS.Timeout;
  private following?: { stop(): Promise<void> };
  private stopped = false;
  private running?: Promise<void>;
  private readonly waiters: { seq: number; resolve: () => void }[] = [];
  /** Resolves (with nothing) once `stop` is called: a follow still being set up is not waited for. */
  private signalStop!: () => void;
  private readonly stopping = new Promise<undefined>((r) => { this.signalStop = () => r(undefined); });

  private onRecord?: (r: FollowedRecord) => void;
  /** The stream the position is in (see `PartitionLogs.created`). */
  private stream?: string;

  /** `stats`: undefined when the statistics are off. */
  constructor(
    private readonly store: Store, private readonly stats: StatsProjection | undefined, private readonly log: Logger, private readonly flushEveryMs = 1000,
    private readonly knowledge?: Pick<KnowledgeBase, 'recordUnanswered'>,
  ) {
    this.positions = store.table<{ seq: number; stream: string }, string>('stats-log-position');
    const at = this.positions.get(POSITION);
    this.position = this.written = at?.seq ?? 0;
    this.stream = at?.stream;
    // The facts are written with the position only (not at the store's checkpoints, which know nothing of it).
    stats?.detach();
  }

  /**
   * Follows the logs from where the written facts stand; returns at once (a follow that breaks starts again).
   * `onRecord` is shown every record and claim marker first (the partitions this node keeps current: standby.ts).
   */
  start(logs: Pick<PartitionLogs, 'follow' | 'created'>, onRecord?: (r: FollowedRecord) => void): void {
    this.onRecord = onRecord;
    if (this.stream !== undefined && this.stream !== logs.created) {
      // The logs were made anew (an empty JetStream): their records are all after what the facts hold.
      this.log.warn({ position: this.position }, 'the partition logs were made anew; the statistics fold them from their start, over the facts they hold');
      this.position = this.written = 0;
    }
    this.stream = logs.created;
    this.running = this.run(logs);
  }

  /** The stream sequence of the last record folded. */
  get folded(): number {
    return this.position;
  }

  /** Resolves once the records up to stream sequence `seq` are folded. */
  reached(seq: number): Promise<void> {
    if (this.position >= seq) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ seq, resolve }));
  }

  private async run(logs: Pick<PartitionLogs, 'follow'>): Promise<void> {
    while (!this.stopped) {
      try {
        // The client keeps trying to create the consumer, silently: say so when it takes long.
        const slow = setTimeout(() => this.log.warn({ position: this.position }, 'the statistics and group chats are not following the partition logs yet (JetStream consumer not created)'), SLOW_START_MS).unref();
        const pending = logs.follow(this.position);
        const f = await Promise.race([pending, this.stopping]).finally(() => clearTimeout(slow));
        if (!f) {
          void pending.then((late) => late.stop(), () => undefined);
          break;
        }
        this.following = f;
        if (this.stopped) await f.stop();
        for await (const r of f.records) {
          if (r.seq <= this.position) continue;
          this.onRecord?.(r);
          if (r.record) this.fold(r.seq, r.record);
        }
      } catch (err) {
        if (this.stopped) break;
        this.log.warn({ err, position: this.position }, 'following the partition logs failed; starting again');
      }
      if (!this.stopped) await Promise.race([new Promise((r) => setTimeout(r, RETRY_MS).unref()), this.stopping]);
    }
  }

  private fold(seq: number, record: Uint8Array): void {
    let unanswered = 0;
    try {
      for (const turn of decodeRecord(this.packr, bufferOf(record), counted)) {
        if (turn.es.length > 0) this.stats?.apply(turn.a, turn.es, turn.n);
        for (const w of turn.w ?? []) {
          if (w[0] === 'g' || w[0] === 'r') this.store.applyWrites(turn.a, turn.t, [w]);
          // Numbered by where it is in the logs: folded again after a restart, it is the same row.
          else if (w[0] === 'u') this.knowledge?.recordUnanswered(w[1], w[2], w[3], UNANSWERED_BASE + seq * 1000 + unanswered++);
        }
      }
    } catch (err) {
      // Left out here; the partition's next owner will refuse it loudly.
      this.log.error({ err, seq }, 'a partition log record could not be read; the statistics and group chats leave it out');
    }
    this.position = seq;
    this.flushTimer ??= setTimeout(() => void this.flush(), this.flushEveryMs).unref();
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i].seq <= seq) this.waiters.splice(i, 1)[0].resolve();
    }
  }

  /** Writes the facts changed since the last flush with the position they stand at. */
  async flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.position === this.written) return;
    const position = this.position;
    this.stats?.flush();
    const at = { seq: position, stream: this.stream ?? '' };
    this.store.write(() => this.positions.putSync(POSITION, at));
    await this.store.commit();
    this.written = Math.max(this.written, position);
  }

  /** Stops following, and writes what was folded. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.signalStop();
    await this.following?.stop();
    await this.running;
    await this.flush();
  }
}
