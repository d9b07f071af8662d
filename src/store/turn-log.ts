/**
 * The turn log: everything the actor turns of one transaction produced (their events and the messages they stored)
 * is one append-only record under a global sequence number, so the hot path costs one LMDB write per transaction
 * instead of several per message. What is read by key is derived from it:
 *
 * - an actor's events since its snapshot: kept in memory for the turns after the last checkpoint (`tail`);
 * - a conversation's messages: located by an index seq → (record, offset, length), in memory for the records after
 *   the last checkpoint and written at each checkpoint as one row per conversation for its new messages (a run of
 *   consecutive seqs, keyed by the first) plus a row per edited older message. Where two rows place one message,
 *   the later record (the higher number) is its current text.
 *
 * A checkpoint (the runtime's, every few seconds) writes the actors' snapshots, the index rows and the
 * statistics facts, then records which log record it covers; at start the records after it are read again.
 *
 * A record is [u32 header length][header: msgpack [address, n, offset, length][]][turn][turn]…, each turn a msgpack
 * `{ t, es, ms? }` encoded when the turn was handled (so a value that cannot be encoded fails its own turn).
 */
import type { Database } from 'lmdb';
import type { Packr } from 'msgpackr';
import type { Address, StoredMessage } from '../../actors/types';

/** Where a stored message is: the log record, and its turn's bytes in it. */
export type MessageLocation = [record: number, offset: number, length: number];

interface Turn { a: Address; n: number; bytes: Buffer; seqs: number[]; tail?: TailTurn }
interface TailTurn { n: number; t: number; es: readonly unknown[]; record?: number }
interface Decoded { t: number; es: unknown[]; ms?: StoredMessage[] }

/** Messages of a turn, located once its record has a number. */
interface Located { conv: Address; seq: number; at: MessageLocation }

/** Index rows: a run of new messages from a first seq (`r`), or one edited older message (`e`). */
type IndexKey = [conv: string, kind: 'r' | 'e', seq: number];
type IndexRow = MessageLocation[] | MessageLocation;

const HEADER_BYTES = 4;

export class TurnLog {
  /** Turns handled since the last record was sealed. */
  private turns: Turn[] = [];
  /** Last record number used. */
  private seq: number;
  /** Turns after the last checkpoint, by actor (events only: what recovery folds). */
  private readonly tail = new Map<Address, TailTurn[]>();
  /** Locations of messages in committed records after the last checkpoint, by conversation and seq. */
  private readonly recent = new Map<Address, Map<number, MessageLocation>>();
  /** Messages of sealed records the index rows do not hold yet (written at the next checkpoint). */
  private unindexed: Located[] = [];
  /** The turns read again at start, until a projection has taken them (`takeReplayed`). */
  private replayed: { a: Address; n: number; es: readonly unknown[] }[] = [];

  constructor(
    private readonly log: Database<Buffer, number>,
    private readonly index: Database<IndexRow, IndexKey>,
    private readonly packr: Packr,
    /** The last record a checkpoint covers. */
    checkpointed: number,
  ) {
    this.seq = checkpointed;
    for (const { key, value } of log.getRange({ start: checkpointed + 1 })) {
      this.seq = key;
      for (const turn of this.turnsOf(value)) {
        if (turn.d.es.length > 0) {
          this.remember(turn.a, { n: turn.n, t: turn.d.t, es: turn.d.es, record: key });
          this.replayed.push({ a: turn.a, n: turn.n, es: turn.d.es });
        }
        for (const m of turn.d.ms ?? []) {
          const at: MessageLocation = [key, turn.offset, turn.length];
          this.locate(turn.a, m.seq, at);
          this.unindexed.push({ conv: turn.a, seq: m.seq, at });
        }
      }
    }
  }

  /** Adds a turn to the record being gathered; throws (leaving nothing behind) if it cannot be encoded. */
  append(a: Address, n: number, t: number, es: readonly unknown[], ms: readonly StoredMessage[]): void {
    const bytes = this.packr.pack(ms.length > 0 ? { t, es, ms } : { t, es });
    const tail = es.length > 0 ? { n, t, es } : undefined;
    this.turns.push({ a, n, bytes, seqs: ms.map((m) => m.seq), tail });
    if (tail) this.remember(a, tail);
  }

  /** Where the turn list stands (to take back a failed turn's part with `rollback`). */
  mark(): number {
    return this.turns.length;
  }

  rollback(mark: number): void {
    for (const turn of this.turns.splice(mark)) {
      if (!turn.tail) continue;
      const list = this.tail.get(turn.a)!;
      list.splice(list.lastIndexOf(turn.tail), 1);
      if (list.length === 0) this.tail.delete(turn.a);
    }
  }

  /** True when nothing was logged since the last checkpoint (one now would write nothing new). */
  get quiet(): boolean {
    return this.turns.length === 0 && this.tail.size === 0 && this.unindexed.length === 0;
  }

  /** True when turns wait for a record. */
  get pending(): boolean {
    return this.turns.length > 0;
  }

  /** The last record number handed out (the checkpoint covers up to it). */
  get last(): number {
    return this.seq;
  }

  /**
   * Seals the gathered turns into the next record: returns the write to make in the transaction, and what to do
   * once that transaction is committed (make the messages readable).
   */
  seal(): { write: () => void; committed: () => void } | undefined {
    if (this.turns.length === 0) return undefined;
    const turns = this.turns;
    this.turns = [];
    const record = ++this.seq;
    const header: [Address, number, number, number][] = [];
    let offset = 0;
    for (const turn of turns) {
      header.push([turn.a, turn.n, offset, turn.bytes.length]);
      offset += turn.bytes.length;
    }
    const head = this.packr.pack(header);
    const base = HEADER_BYTES + head.length;
    const value = Buffer.allocUnsafe(base + offset);
    value.writeUInt32LE(head.length, 0);
    head.copy(value, HEADER_BYTES);
    const located: Located[] = [];
    let at = base;
    for (const turn of turns) {
      turn.bytes.copy(value, at);
      for (const seq of turn.seqs) located.push({ conv: turn.a, seq, at: [record, at, turn.bytes.length] });
      at += turn.bytes.length;
      if (turn.tail) turn.tail.record = record;
    }
    for (const l of located) this.unindexed.push(l);
    return {
      write: () => this.log.putSync(record, value),
      committed: () => { for (const l of located) this.locate(l.conv, l.seq, l.at); },
    };
  }

  /**
   * The checkpoint's writes: index rows for every message sealed so far. Returns what to forget once they (and the
   * snapshots written beside them) are committed: the tail and recent locations up to `through`.
   */
  checkpoint(): { through: number; writes: () => void; committed: () => void } {
    const through = this.seq;
    const byConv = new Map<Address, Map<number, MessageLocation>>();
    for (const r of this.unindexed) {
      let m = byConv.get(r.conv);
      if (!m) byConv.set(r.conv, (m = new Map()));
      const had = m.get(r.seq);
      if (!had || had[0] <= r.at[0]) m.set(r.seq, r.at);
    }
    this.unindexed = [];
    return {
      through,
      writes: () => { for (const [conv, m] of byConv) this.writeRows(conv, m); },
      committed: () => this.forgetThrough(through),
    };
  }

  /** A conversation's rows for one checkpoint: its new messages as one run, earlier ones it edited one by one. */
  private writeRows(conv: Address, located: Map<number, MessageLocation>): void {
    let indexed = 0;
    for (const { key, value } of this.index.getRange({ start: [conv, 'r', Number.MAX_SAFE_INTEGER], end: [conv, 'r', 0], reverse: true, limit: 1 })) {
      indexed = key[2] + (value as MessageLocation[]).length - 1;
    }
    const seqs = [...located.keys()].sort((x, y) => x - y);
    // The run: the consecutive seqs at the end that no row holds yet.
    let first = seqs.length;
    while (first > 0 && seqs[first - 1] > indexed && (first === seqs.length || seqs[first - 1] === seqs[first] - 1)) first--;
    for (let i = 0; i < first; i++) this.index.putSync([conv, 'e', seqs[i]], located.get(seqs[i])!);
    if (first < seqs.length) this.index.putSync([conv, 'r', seqs[first]], seqs.slice(first).map((seq) => located.get(seq)!));
  }

  private forgetThrough(record: number): void {
    for (const [a, list] of this.tail) {
      const kept = list.filter((x) => x.record === undefined || x.record > record);
      if (kept.length === 0) this.tail.delete(a);
      else if (kept.length !== list.length) this.tail.set(a, kept);
    }
    for (const [conv, m] of this.recent) {
      for (const [seq, at] of m) if (at[0] <= record) m.delete(seq);
      if (m.size === 0) this.recent.delete(conv);
    }
  }

  /** An actor's turns after its n-th, from the turns since the last checkpoint. */
  turnsAfter(a: Address, n: number): { t: number; es: readonly unknown[] }[] {
    return (this.tail.get(a) ?? []).filter((x) => x.n > n);
  }

  /** Actors with turns since the last checkpoint. */
  actors(): IterableIterator<Address> {
    return this.tail.keys();
  }

  /** The turns read again at start, in log order, once (a projection folds them again after a restart). */
  takeReplayed(): { a: Address; n: number; es: readonly unknown[] }[] {
    const turns = this.replayed;
    this.replayed = [];
    return turns;
  }

  /** Every turn of every record, in log order (the statistics rebuild). */
  *all(): Generator<{ a: Address; n: number; t: number; es: unknown[] }> {
    for (const { value } of this.log.getRange()) for (const turn of this.turnsOf(value)) yield { a: turn.a, n: turn.n, t: turn.d.t, es: turn.d.es };
  }

  /** Seqs after `afterSeq` of a conversation with their locations, in order, at most `limit`. */
  locations(conv: Address, afterSeq: number, limit: number): { seq: number; at: MessageLocation }[] {
    const found = new Map<number, MessageLocation>();
    const put = (seq: number, at: MessageLocation): void => {
      const had = found.get(seq);
      if (!had || had[0] < at[0]) found.set(seq, at);
    };
    const run = (first: number, at: MessageLocation[]): void => at.forEach((x, i) => { if (first + i > afterSeq) put(first + i, x); });
    // The run that may reach past afterSeq from before it, then the runs after it until `limit` seqs are found.
    for (const { key, value } of this.index.getRange({ start: [conv, 'r', afterSeq], end: [conv, 'r', 0], reverse: true, limit: 1 })) run(key[2], value as MessageLocation[]);
    for (const { key, value } of this.index.getRange({ start: [conv, 'r', afterSeq + 1], end: [conv, 'r', Number.MAX_SAFE_INTEGER] })) {
      if (found.size >= limit) break;
      run(key[2], value as MessageLocation[]);
    }
    for (const { key, value } of this.index.getRange({ start: [conv, 'e', afterSeq + 1], end: [conv, 'e', Number.MAX_SAFE_INTEGER] })) put(key[2], value as MessageLocation);
    // Newer than the rows.
    for (const [seq, at] of this.recent.get(conv) ?? []) if (seq > afterSeq) put(seq, at);
    return [...found].sort((x, y) => x[0] - y[0]).slice(0, limit).map(([seq, at]) => ({ seq, at }));
  }

  /** The stored message at a location. */
  message(at: MessageLocation, seq: number): StoredMessage | undefined {
    const value = this.log.getBinaryFast(at[0]);
    if (!value) return undefined;
    const d = this.packr.unpack(value.subarray(at[1], at[1] + at[2])) as Decoded;
    return d.ms?.find((m) => m.seq === seq);
  }

  private locate(conv: Address, seq: number, at: MessageLocation): void {
    let m = this.recent.get(conv);
    if (!m) this.recent.set(conv, (m = new Map()));
    m.set(seq, at);
  }

  private remember(a: Address, turn: TailTurn): void {
    const list = this.tail.get(a);
    if (list) list.push(turn);
    else this.tail.set(a, [turn]);
  }

  private *turnsOf(value: Buffer): Generator<{ a: Address; n: number; offset: number; length: number; d: Decoded }> {
    const headLength = value.readUInt32LE(0);
    const header = this.packr.unpack(value.subarray(HEADER_BYTES, HEADER_BYTES + headLength)) as [Address, number, number, number][];
    const base = HEADER_BYTES + headLength;
    for (const [a, n, offset, length] of header) {
      yield { a, n, offset: base + offset, length, d: this.packr.unpack(value.subarray(base + offset, base + offset + length)) as Decoded };
    }
  }
}
