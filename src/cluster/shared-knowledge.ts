/**
 * The robots' knowledge shared by the nodes of a cluster through a JetStream KV bucket (`desk-knowledge`):
 * - `kb.<app>.<row>`: each knowledge-base row (category, question, published version) a node's REST change wrote,
 *   once committed there (a removed row is kept as `{ k, v: null }`); every node applies the rows in the bucket's
 *   order, so all end on the last write of each row;
 * - `ids.<app>`: the next free category id of the app; a node reserves a block of ids at a time (revision-checked),
 *   so no two nodes hand out one id;
 * - `seeded.<app>.<robot>`: the one node that writes a robot's presets (or brings its rows into the cluster), and
 *   whether it has: a claim left unfinished is taken up again by its node on restart, or by another node once stale.
 */
import { createHash } from 'node:crypto';
import type { KV, NatsConnection } from 'nats';
import type { KbKey, KbRow } from '../knowledge/knowledge-base';
import { plainDataProblem } from '../../protocol/plain-data';
import { KNOWLEDGE_BUCKET } from '../bus/subjects';
import { watchBucket } from './bucket-watch';
import { isWrongLastSequence } from './jetstream-errors';

/** Rows written at once (their order matters only for one row, written once per call). */
const PUT_AT_ONCE = 64;
/** Room in a NATS message for a row's subject and headers. */
const ROW_ROOM = 4096;
/** The first category id handed out (the ids below are the single server's presets of old). */
const FIRST_ID = 10_001;

const rowKey = (k: KbKey): string => `kb.${k[0]}.${createHash('sha256').update(JSON.stringify(k)).digest('base64url').slice(0, 32)}`;
const b64 = (s: string): string => Buffer.from(s).toString('base64url');

/** A row read from the bucket: its key's five parts, and a plain value or null. */
function parseRow(value: Uint8Array): KbRow | undefined {
  let x: unknown;
  try {
    x = JSON.parse(new TextDecoder().decode(value));
  } catch {
    return undefined;
  }
  if (plainDataProblem(x, 'row', 32) !== undefined || !x || typeof x !== 'object') return undefined;
  const { k, v } = x as { k?: unknown; v?: unknown };
  if (!Array.isArray(k) || k.length !== 5 || !Number.isInteger(k[0]) || typeof k[1] !== 'string' || typeof k[2] !== 'string' || typeof k[3] !== 'string'
    || (typeof k[4] !== 'string' && typeof k[4] !== 'number')) return undefined;
  if (v !== null && (typeof v !== 'object' || Array.isArray(v))) return undefined;
  return { key: k as KbKey, value: v ?? undefined };
}

export class SharedKnowledge {
  /** The largest row the bucket takes: a NATS message, less room for the key and headers. */
  readonly maxRowBytes: number;

  private constructor(private readonly kv: KV, maxPayload: number) {
    this.maxRowBytes = maxPayload - ROW_ROOM;
  }

  static async open(nc: NatsConnection, opts: { bucket?: string; replicas?: number } = {}): Promise<SharedKnowledge> {
    const kv = await nc.jetstream().views.kv(opts.bucket ?? KNOWLEDGE_BUCKET, { history: 1, replicas: opts.replicas ?? 1 });
    return new SharedKnowledge(kv, nc.info?.max_payload ?? 1024 * 1024);
  }

  /**
   * Calls `apply` with every row in the bucket, then with every row written from now on, in the bucket's order.
   * Resolves once the rows already there are applied; returns the way to stop.
   */
  async follow(apply: (row: KbRow) => void, bad: (key: string) => void, broken: (err: unknown) => void): Promise<() => void> {
    return watchBucket(this.kv, 'kb.>', 'lastValues', (e) => {
      if (e.operation !== 'PUT') return;
      const row = parseRow(e.value);
      if (row) apply(row);
      else bad(e.key);
    }, broken);
  }

  /**
   * Writes rows (of several writes of one row, the last), `PUT_AT_ONCE` at a time. Resolves with the rows left out as
   * larger than a NATS message (written, they would fail every time).
   */
  async put(rows: readonly KbRow[]): Promise<{ row: KbRow; bytes: number }[]> {
    const values = new Map<string, { row: KbRow; value: string }>();
    for (const row of rows) {
      const key = rowKey(row.key);
      // Written again in the order of its last write.
      values.delete(key);
      values.set(key, { row, value: JSON.stringify({ k: row.key, v: row.value ?? null }) });
    }
    const tooLarge: { row: KbRow; bytes: number }[] = [];
    const writes = [...values].filter(([, { row, value }]) => {
      const bytes = Buffer.byteLength(value);
      if (bytes <= this.maxRowBytes) return true;
      tooLarge.push({ row, bytes });
      return false;
    });
    for (let i = 0; i < writes.length; i += PUT_AT_ONCE) await Promise.all(writes.slice(i, i + PUT_AT_ONCE).map(([key, { value }]) => this.kv.put(key, value)));
    return tooLarge;
  }

  /** Reserves `count` category ids of an app, at least `atLeast`: resolves with the first. */
  async reserveIds(app: number, count: number, atLeast = FIRST_ID): Promise<number> {
    const key = `ids.${app}`;
    for (;;) {
      const e = await this.kv.get(key);
      const stored = e && e.operation === 'PUT' ? Number(e.string()) : NaN;
      const first = Math.max(Number.isSafeInteger(stored) ? stored : FIRST_ID, atLeast);
      try {
        if (e) await this.kv.update(key, String(first + count), e.revision);
        else await this.kv.create(key, String(first + count));
        return first;
      } catch (err) {
        // Another node reserved a block meanwhile: read again.
        if (!isWrongLastSequence(err)) throw err;
      }
    }
  }

  /** Who claimed a robot's seeding, and whether its rows are in the bucket; undefined when nobody has. */
  async seedClaim(app: number, robotId: string): Promise<(SeedClaim & { revision: number }) | undefined> {
    const e = await this.kv.get(seedKey(app, robotId));
    if (!e || e.operation !== 'PUT') return undefined;
    return { ...parseClaim(e.string()), revision: e.revision };
  }

  /**
   * Claims a robot's seeding for `node`: a new claim, or one replacing the claim read at `revision`. False when
   * another node's claim came first.
   */
  async claimSeed(app: number, robotId: string, node: string, at: number, revision?: number): Promise<boolean> {
    const value = JSON.stringify({ node, at, done: false } satisfies SeedClaim);
    try {
      if (revision === undefined) await this.kv.create(seedKey(app, robotId), value);
      else await this.kv.update(seedKey(app, robotId), value, revision);
      return true;
    } catch (err) {
      if (isWrongLastSequence(err)) return false;
      throw err;
    }
  }

  /** The claimer's rows of the robot are in the bucket. */
  async seedDone(app: number, robotId: string, node: string, at: number): Promise<void> {
    await this.kv.put(seedKey(app, robotId), JSON.stringify({ node, at, done: true } satisfies SeedClaim));
  }
}

/** A robot's seeding claim: the node, when (by its clock), and whether its rows are all in the bucket. */
export interface SeedClaim { node: string; at: number; done: boolean }

const seedKey = (app: number, robotId: string): string => `seeded.${app}.${b64(robotId)}`;

/** A claim as read from the bucket; one that cannot be read (or a claim of old, '1') counts as done. */
function parseClaim(text: string): SeedClaim {
  try {
    const c = JSON.parse(text) as Partial<SeedClaim> | null;
    if (c && typeof c.node === 'string' && Number.isFinite(c.at) && typeof c.done === 'boolean') return { node: c.node, at: c.at!, done: c.done };
  } catch { /* counted as done, below */ }
  return { node: '', at: 0, done: true };
}
