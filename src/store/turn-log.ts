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
 * A record is [u32 header length][header: msgpack [address, n, offset, length, imported?][]][turn][turn]…, each turn a
 * msgpack `{ t, es, ms?, w? }` encoded when the turn was handled (so a value that cannot be encoded fails its own turn):
 * its time, events, the messages it stored and its other writes (`TurnWrite`), so a node taking a partition over
 * rebuilds everything from the partition's log. A `MessageAdded` event of a message the turn stored names it by its
 * index in `ms` instead of repeating its fields (records written before that hold the event whole, and read the
 * same). A turn marked imported was copied from a partition's log at a takeover: another node made it (and counted
 * it in its statistics), and it is not copied back.
 */
import type { Database } from 'lmdb';
import type { Packr } from 'msgpackr';
import type { SessionEvent } from '../../actors/session';
import type { Address, ChatGroup, StoredMessage } from '../../actors/types';

/**
 * A write of a turn besides its events and messages, kept in its record: a wake-up set (`at`) or cleared (null), the
 * user's session with an account begun or ended (the turn's actor is the conversation), a group chat's entry set or
 * removed, fields merged into a session's service record, a durable send waiting (`m`: its mail, null once taken or
 * passed on), a durable send taken by its receiver (`k`: so a copy sent again is not taken twice), a callback
 * waiting in the outbox (`c`: null once done), a question the robot could not answer (`u`: on a cluster node, where
 * every node keeps the cluster's list from the logs; kept by the knowledge base, not in the store's tables).
 *
 * Writes made outside the actor's turns (a durable send another node has stored, a callback delivered) are a turn of
 * their own with number 0 and nothing else.
 */
export type TurnWrite =
  | ['t', key: string, at: number | null]
  | ['a', app: number, userId: string, csAccount: string, sessionId: string | null]
  | ['g', app: number, groupId: string, entry: { csAccount: string; group: ChatGroup } | null]
  | ['r', app: number, sessionId: string, fields: Record<string, unknown>, startedAt: number | null]
  | ['m', id: MailId, mail: MailboxEntry | null]
  | ['k', id: MailId]
  | ['c', id: MailId, callback: OutboxEntry | null]
  | ['u', app: number, robotId: string, asked: { question: string; language: string; sessionId: string; at: number }];

/** A durable send's id: a string unique in the cluster; a number in rows of data dirs written before it. */
export type MailId = number | string;
/** A durable send waiting to reach `to`; `from`: the actor whose turn sent it (absent: stored by its receiver). */
export interface MailboxEntry { to: Address; msg: unknown; from?: Address }
/**
 * A callback waiting in the durable outbox. `uid` names the callback for receivers (idempotency key) across
 * restarts and nodes; `from`: the actor whose turn made it.
 */
export interface OutboxEntry { app: number; key: string; command: string; body: Record<string, unknown>; createdAt: number; uid?: string; from?: Address }

/** A record sealed for a commit: its number and bytes, the write that puts it in the table, what to do once durable. */
export interface SealedRecord { record: number; value: Buffer; write: () => void; committed: () => void }

/** Where a stored message is: the log record, and its turn's bytes in it. */
export type MessageLocation = [record: number, offset: number, length: number];

interface Turn { a: Address; n: number; bytes: Buffer; seqs: number[] | undefined; events: boolean; imported: boolean }
interface Decoded { t: number; es: unknown[]; ms?: StoredMessage[]; w?: TurnWrite[] }
/** A turn as written: its actor and turn number, time, events, the messages stored and the other writes. */
export type DecodedTurn = { a: Address; n: number } & Decoded;
/** A turn as a record holds it: actor, turn number, whether it was imported, where its bytes are. */
interface Located { a: Address; n: number; imported: boolean; offset: number; length: number }

/** Index rows: a run of new messages from a first seq (`r`), or one edited older message (`e`). */
type IndexKey = [conv: string, kind: 'r' | 'e', seq: number];
type IndexRow = MessageLocation[] | MessageLocation;

const HEADER_BYTES = 4;

/*
 * What is kept between checkpoints is held in flat number arrays and the records' own bytes, not as objects per
 * turn or message: they live for seconds, and objects that outlive the young generation are what garbage collection
 * costs most on the hot path.
 */
/** Per actor, 4 numbers per turn with events: [n, record, offset, length]. */
const TURN_FIELDS = 4;
/** Per conversation, 4 numbers per message: [seq, record, offset, length]. */
const MESSAGE_FIELDS = 4;
/** How much a checkpoint writes per transaction: record bytes copied, or conversations indexed. */
const CHUNK_BYTES = 512 * 1024;
const CHUNK_CONVERSATIONS = 16;

export class TurnLog {
  /** Turns handled since the last record was sealed. */
  private turns: Turn[] = [];
  /** Last record number used. */
  private seq: number;
  /** The bytes of the records after the last checkpoint (what recovery and recent history read). */
  private readonly records = new Map<number, Buffer>();
  /** Turns with events after the last checkpoint, by actor (what recovery folds). */
  private readonly tail = new Map<Address, number[]>();
  /** Messages in committed records after the last checkpoint, by conversation. */
  private readonly recent = new Map<Address, number[]>();
  /** Messages of sealed records the index rows do not hold yet (written at the next checkpoint), by conversation. */
  private unindexed = new Map<Address, number[]>();
  /** Records written only to the write-ahead file so far (the next checkpoint copies them into the table). */
  private walOnly: number[] = [];
  /** The turns read again at start, until a projection has taken them (`takeReplayed`). */
  private replayed: { a: Address; n: number; es: readonly unknown[] }[] = [];
  /** The actors of every turn (own or imported) in the records read at start: what changed since the last checkpoint. */
  readonly changedAtStart = new Set<Address>();

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
      this.records.set(key, value);
      for (const turn of turnsOf(this.packr, value)) {
        this.changedAtStart.add(turn.a);
        const d = this.decode(value, turn.offset, turn.length);
        if (d.es.length > 0) {
          push(this.tail, turn.a, turn.n, key, turn.offset, turn.length);
          if (!turn.imported) this.replayed.push({ a: turn.a, n: turn.n, es: d.es });
        }
        for (const m of d.ms ?? []) {
          push(this.recent, turn.a, m.seq, key, turn.offset, turn.length);
          push(this.unindexed, turn.a, m.seq, key, turn.offset, turn.length);
        }
      }
    }
  }

  /** Adds a turn to the record being gathered; throws (leaving nothing behind) if it cannot be encoded. */
  append(a: Address, n: number, t: number, es: readonly unknown[], ms: readonly StoredMessage[], w: readonly TurnWrite[] = []): void {
    const turn: { t: number; es: readonly unknown[]; ms?: readonly StoredMessage[]; w?: readonly TurnWrite[] } = { t, es: ms.length > 0 ? compact(es, ms) : es };
    if (ms.length > 0) turn.ms = ms;
    if (w.length > 0) turn.w = w;
    this.turns.push({ a, n, bytes: this.packr.pack(turn), seqs: seqsOf(ms), events: es.length > 0, imported: false });
  }

  /**
   * Adds the turns of a record of a partition's log (made on another node) to the record being gathered, marked
   * imported; returns them decoded, for their writes to be made here too.
   */
  importRecord(value: Buffer): DecodedTurn[] {
    const out: DecodedTurn[] = [];
    for (const turn of turnsOf(this.packr, value)) {
      const d = this.decode(value, turn.offset, turn.length);
      this.turns.push({ a: turn.a, n: turn.n, bytes: value.subarray(turn.offset, turn.offset + turn.length), seqs: d.ms && seqsOf(d.ms), events: d.es.length > 0, imported: true });
      out.push({ a: turn.a, n: turn.n, ...d });
    }
    return out;
  }

  /**
   * Forgets what is kept of the actors `drop` names (a partition taken over from scratch: its log, imported after, is
   * their history): their turns and messages since the last checkpoint, now, and the returned write removes the
   * index rows of their messages (of those among `stored`, the actors with snapshots, and those with turns here).
   */
  forget(drop: (a: Address) => boolean, stored: Iterable<Address>): () => void {
    const convs = new Set<Address>();
    for (const a of stored) if (drop(a)) convs.add(a);
    for (const lists of [this.tail, this.recent, this.unindexed]) {
      for (const a of lists.keys()) {
        if (!drop(a)) continue;
        lists.delete(a);
        convs.add(a);
      }
    }
    return () => {
      for (const conv of convs) {
        for (const key of this.index.getKeys({ start: [conv, 'e', 0], end: [conv, 'r', Number.MAX_SAFE_INTEGER] })) this.index.removeSync(key);
      }
    };
  }

  /** Where the turn list stands (to take back a failed turn's part with `rollback`). */
  mark(): number {
    return this.turns.length;
  }

  rollback(mark: number): void {
    this.turns.length = mark;
  }

  /** True when nothing was logged since the last checkpoint (one now would write nothing new). */
  get quiet(): boolean {
    return this.turns.length === 0 && this.records.size === 0 && this.unindexed.size === 0;
  }

  /** True when turns wait for a record. */
  get pending(): boolean {
    return this.turns.length > 0;
  }

  /**
   * Seals the gathered turns into the next record: returns the write to make in the transaction, and what to do
   * once that transaction is committed (make the messages readable).
   */
  seal(): SealedRecord | undefined {
    if (this.turns.length === 0) return undefined;
    const turns = this.turns;
    this.turns = [];
    const record = ++this.seq;
    const { value, base } = encodeRecord(this.packr, turns);
    const located: number[] = [];
    const convs: Address[] = [];
    let at = base;
    for (const turn of turns) {
      const length = turn.bytes.length;
      if (turn.events) push(this.tail, turn.a, turn.n, record, at, length);
      if (turn.seqs) {
        for (const seq of turn.seqs) {
          push(this.unindexed, turn.a, seq, record, at, length);
          convs.push(turn.a);
          located.push(seq, at, length);
        }
      }
      at += length;
    }
    this.records.set(record, value);
    return {
      record,
      value,
      write: () => this.log.putSync(record, value),
      committed: () => {
        for (let i = 0; i < convs.length; i++) push(this.recent, convs[i], located[3 * i], record, located[3 * i + 1], located[3 * i + 2]);
      },
    };
  }

  /**
   * A checkpoint of every record sealed so far (up to `through`): its writes in pieces (`chunks`), and what to forget
   * once they and the snapshots written beside them are committed (the tail and recent locations up to `through`).
   */
  checkpoint(): { through: number; chunks: () => Generator<() => void>; committed: () => void } {
    const through = this.seq;
    const unindexed = this.unindexed;
    this.unindexed = new Map();
    return {
      through,
      chunks: () => this.checkpointChunks(through, unindexed),
      committed: () => {
        this.walOnly = this.walOnly.filter((r) => r > through);
        this.forgetThrough(through);
      },
    };
  }

  /**
   * A checkpoint's writes in pieces of bounded size, each for a transaction of its own (a transaction's writes run
   * on the main thread): the records only the write-ahead file holds, then the index rows. Taken once every record
   * up to `through` is durable, which is when it is known which of them only the file holds.
   */
  private *checkpointChunks(through: number, unindexed: Map<Address, number[]>): Generator<() => void> {
    const copied = this.walOnly.filter((r) => r <= through);
    for (let i = 0; i < copied.length;) {
      const chunk: number[] = [];
      for (let bytes = 0; i < copied.length && bytes < CHUNK_BYTES; i++) {
        chunk.push(copied[i]);
        bytes += this.records.get(copied[i])!.length;
      }
      yield () => { for (const r of chunk) this.log.putSync(r, this.records.get(r)!); };
    }
    const convs = [...unindexed];
    for (let i = 0; i < convs.length; i += CHUNK_CONVERSATIONS) {
      const chunk = convs.slice(i, i + CHUNK_CONVERSATIONS);
      yield () => {
        for (const [conv, list] of chunk) {
          const m = new Map<number, MessageLocation>();
          // Later records come later in the list: the last location of a seq is its current text.
          for (let j = 0; j < list.length; j += MESSAGE_FIELDS) m.set(list[j], [list[j + 1], list[j + 2], list[j + 3]]);
          this.writeRows(conv, m);
        }
      };
    }
  }

  /** A sealed record went to the write-ahead file instead of the table. */
  inWal(record: number): void {
    this.walOnly.push(record);
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
    for (const r of this.records.keys()) if (r <= record) this.records.delete(r);
    forgetThrough(this.tail, record);
    forgetThrough(this.recent, record);
  }

  /** An actor's turns after its n-th, from the turns since the last checkpoint (sealed ones: read after a commit). */
  turnsAfter(a: Address, n: number): { t: number; es: readonly unknown[] }[] {
    const list = this.tail.get(a);
    const out: { t: number; es: readonly unknown[] }[] = [];
    if (!list) return out;
    const numbers: number[] = [];
    for (let i = 0; i < list.length; i += TURN_FIELDS) {
      if (list[i] <= n) continue;
      // Numbering that starts again (a partition imported from its log after this node's own turns, read again at
      // start): the later record is the actor's history from that number on.
      while (numbers.length > 0 && numbers[numbers.length - 1] >= list[i]) {
        numbers.pop();
        out.pop();
      }
      numbers.push(list[i]);
      const d = this.decode(this.records.get(list[i + 1])!, list[i + 2], list[i + 3]);
      out.push({ t: d.t, es: d.es });
    }
    return out;
  }

  /** Actors with turns since the last checkpoint, sealed or still gathering. */
  actors(): Set<Address> {
    const out = new Set(this.tail.keys());
    for (const turn of this.turns) if (turn.events) out.add(turn.a);
    return out;
  }

  /** The turns read again at start, in log order, once (a projection folds them again after a restart). */
  takeReplayed(): { a: Address; n: number; es: readonly unknown[] }[] {
    const turns = this.replayed;
    this.replayed = [];
    return turns;
  }

  /** Every turn this node made, of every record, in log order (the statistics rebuild). */
  *all(): Generator<{ a: Address; n: number; t: number; es: unknown[] }> {
    const inWal = this.walOnly.map((r) => ({ key: r, value: this.records.get(r)! }));
    for (const { value } of mergeByKey(this.log.getRange(), inWal)) {
      for (const turn of turnsOf(this.packr, value)) {
        if (turn.imported) continue;
        const d = this.decode(value, turn.offset, turn.length);
        yield { a: turn.a, n: turn.n, t: d.t, es: d.es };
      }
    }
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
    const recent = this.recent.get(conv) ?? [];
    for (let i = 0; i < recent.length; i += MESSAGE_FIELDS) if (recent[i] > afterSeq) put(recent[i], [recent[i + 1], recent[i + 2], recent[i + 3]]);
    return [...found].sort((x, y) => x[0] - y[0]).slice(0, limit).map(([seq, at]) => ({ seq, at }));
  }

  /** The stored message at a location. */
  message(at: MessageLocation, seq: number): StoredMessage | undefined {
    const value = this.records.get(at[0]) ?? this.log.getBinaryFast(at[0]);
    if (!value) return undefined;
    return this.decode(value, at[1], at[2]).ms?.find((m) => m.seq === seq);
  }

  private decode(value: Buffer, offset: number, length: number): Decoded {
    return readTurn(this.packr, value, offset, length);
  }
}

/** A session's `MessageAdded` event: it names the message the same turn stored. */
type MessageAdded = Extract<SessionEvent, { type: 'MessageAdded' }>;
/** How a `MessageAdded` is written when the turn stored its message: that message's index in `ms`. */
interface MessageAddedRef { type: 'MessageAdded'; m: number }

/**
 * The turn's events as written: a `MessageAdded` whose fields are those of a message the turn stored is written as a
 * reference to it (`MessageAddedRef`), made whole again when read (`readTurn`). It was about a quarter of a text
 * message's turn.
 */
function compact(es: readonly unknown[], ms: readonly StoredMessage[]): readonly unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < es.length; i++) {
    const e = es[i] as MessageAdded;
    if (e?.type !== 'MessageAdded' || !onlyFields(e)) continue;
    const m = ms.findIndex((x) => x.seq === e.seq && x.sessionId === e.sessionId && x.msgKey === e.msgKey && x.fromRole === e.fromRole && x.from === e.from && x.random === e.random && x.time === e.at);
    if (m >= 0) (out ??= es.slice())[i] = { type: 'MessageAdded', m } satisfies MessageAddedRef;
  }
  return out ?? es;
}

/** The event's keys are the eight `messageAdded` writes back, no more (a field added later is not lost). */
function onlyFields(e: MessageAdded): boolean {
  let keys = 0;
  for (const k in e) if (Object.hasOwn(e, k)) keys++;
  return keys === 8;
}

function messageAdded(m: StoredMessage): MessageAdded {
  return { type: 'MessageAdded', sessionId: m.sessionId, seq: m.seq, msgKey: m.msgKey, fromRole: m.fromRole, from: m.from, random: m.random, at: m.time };
}

/** A turn's bytes decoded, its events as they were made. */
function readTurn(packr: Packr, value: Buffer, offset: number, length: number): Decoded {
  const d = packr.unpack(value.subarray(offset, offset + length)) as Decoded;
  if (d.ms) {
    for (let i = 0; i < d.es.length; i++) {
      const e = d.es[i] as Partial<MessageAddedRef>;
      if (e?.type === 'MessageAdded' && typeof e.m === 'number' && d.ms[e.m]) d.es[i] = messageAdded(d.ms[e.m]);
    }
  }
  return d;
}

/** A record of turns: the header (actor, turn number, where its bytes are), then the turns' bytes in order. */
function encodeRecord(packr: Packr, turns: readonly { a: Address; n: number; bytes: Buffer; imported?: boolean }[]): { value: Buffer; base: number } {
  const header: ([Address, number, number, number] | [Address, number, number, number, 1])[] = [];
  let offset = 0;
  for (const turn of turns) {
    header.push(turn.imported ? [turn.a, turn.n, offset, turn.bytes.length, 1] : [turn.a, turn.n, offset, turn.bytes.length]);
    offset += turn.bytes.length;
  }
  const head = packr.pack(header);
  const base = HEADER_BYTES + head.length;
  const value = Buffer.allocUnsafe(base + offset);
  value.writeUInt32LE(head.length, 0);
  head.copy(value, HEADER_BYTES);
  let at = base;
  for (const turn of turns) {
    turn.bytes.copy(value, at);
    at += turn.bytes.length;
  }
  return { value, base };
}

/** A record's turns: actor, turn number, whether imported and where the turn's bytes are. */
function* turnsOf(packr: Packr, value: Buffer): Generator<Located> {
  const headLength = value.readUInt32LE(0);
  const header = packr.unpack(value.subarray(HEADER_BYTES, HEADER_BYTES + headLength)) as [Address, number, number, number, 1?][];
  const base = HEADER_BYTES + headLength;
  for (const [a, n, offset, length, imported] of header) yield { a, n, imported: imported === 1, offset: base + offset, length };
}

function seqsOf(ms: readonly StoredMessage[]): number[] | undefined {
  if (ms.length === 0) return undefined;
  const seqs: number[] = [];
  for (const m of ms) seqs.push(m.seq);
  return seqs;
}

/**
 * A record's turns regrouped by `groupOf` of their actor, in the record's order: per group, records of the same form
 * of at most `maxBytes` each (a cluster node's share of a transaction for each partition's log). A turn larger than
 * that is a record of its own. Imported turns are left out: they came from those logs.
 */
export function splitRecord(packr: Packr, value: Buffer, groupOf: (a: Address) => number, maxBytes = Infinity): Map<number, Buffer[]> {
  const groups = new Map<number, { a: Address; n: number; bytes: Buffer }[][]>();
  const sizes = new Map<number, number>();
  for (const turn of turnsOf(packr, value)) {
    if (turn.imported) continue;
    const g = groupOf(turn.a);
    const part = { a: turn.a, n: turn.n, bytes: value.subarray(turn.offset, turn.offset + turn.length) };
    // A turn's share of a record: its bytes and its header entry (the address, three numbers, msgpack overhead).
    const size = turn.length + Buffer.byteLength(turn.a) + 32;
    const chunks = groups.get(g);
    if (!chunks || sizes.get(g)! + size > maxBytes) {
      if (chunks) chunks.push([part]);
      else groups.set(g, [[part]]);
      sizes.set(g, HEADER_BYTES + size);
    } else {
      chunks[chunks.length - 1].push(part);
      sizes.set(g, sizes.get(g)! + size);
    }
  }
  const out = new Map<number, Buffer[]>();
  for (const [g, chunks] of groups) out.set(g, chunks.map((turns) => encodeRecord(packr, turns).value));
  return out;
}

/** The turns of a record as written (those of the actors `wanted`): actor, turn number, time, events, the messages stored and the other writes. */
export function decodeRecord(packr: Packr, value: Buffer, wanted: (a: Address) => boolean = () => true): DecodedTurn[] {
  const out: DecodedTurn[] = [];
  for (const turn of turnsOf(packr, value)) {
    if (wanted(turn.a)) out.push({ a: turn.a, n: turn.n, ...readTurn(packr, value, turn.offset, turn.length) });
  }
  return out;
}

/** Two lists of records, each in key order, as one in key order; a record in both (being copied) comes once. */
function* mergeByKey(a: Iterable<{ key: number; value: Buffer }>, b: { key: number; value: Buffer }[]): Generator<{ key: number; value: Buffer }> {
  let i = 0;
  for (const x of a) {
    for (; i < b.length && b[i].key <= x.key; i++) if (b[i].key < x.key) yield b[i];
    yield x;
  }
  while (i < b.length) yield b[i++];
}

/** Appends four numbers to a key's flat list. */
function push(lists: Map<Address, number[]>, key: Address, a: number, b: number, c: number, d: number): void {
  const list = lists.get(key);
  if (list) list.push(a, b, c, d);
  else lists.set(key, [a, b, c, d]);
}

/** Drops the entries of records up to `record` (the second of each four numbers) from flat lists. */
function forgetThrough(lists: Map<Address, number[]>, record: number): void {
  for (const [key, list] of lists) {
    let kept = 0;
    for (let i = 0; i < list.length; i += 4) {
      if (list[i + 1] <= record) continue;
      for (let j = 0; j < 4; j++) list[kept + j] = list[i + j];
      kept += 4;
    }
    if (kept === 0) lists.delete(key);
    else list.length = kept;
  }
}
