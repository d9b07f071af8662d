/**
 * Each partition's turn-log records, replicated by JetStream (file storage; R3 on a 3-server NATS cluster, R1 on
 * one) under the subject `desk.v1.log.<partition>`: a record is durable on the cluster once `append` resolves.
 *
 * Fencing: every append names the sequence of the partition's last message (JetStream's expected last subject
 * sequence). A node taking a partition first appends a claim marker the same way, retrying until it lands; from then
 * on, appends of the node that had it fail with `FencedError`, so a node that lost its lease cannot write even if
 * its clock let it think it still held it.
 */
import { DeliverPolicy, headers, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager, type MsgRequest, type NatsConnection, type StoredMsg, type StreamInfo } from 'nats';
import { LOG_STREAM, LOG_SUBJECTS, logSubject } from '../bus/subjects';
import { isNotFound, isWrongLastSequence } from './jetstream-errors';

const KIND_HEADER = 'Desk-Kind';
const EXPECTED_LAST_HEADER = 'Nats-Expected-Last-Subject-Sequence';
const MSG_ID_HEADER = 'Nats-Msg-Id';

/** The bytes of a message as a Buffer, without a copy. */
export const bufferOf = (data: Uint8Array): Buffer => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/**
 * A message of a partition's log as followed: a record (`record`), or a claim marker (none). `prev`: the partition's
 * sequence before it (-1 if not named); `writer`: the append's message id (records; see LogReplicator.append).
 */
export interface FollowedRecord { seq: number; partition: number; prev: number; writer?: string; record?: Uint8Array }
/** A record of a partition's log as read: its stream sequence, bytes and writer (the append's message id). */
export interface LogRecord { seq: number; record: Uint8Array; writer?: string }
/** Stretches of the stream a partition's log is read over at once (see `read`). */
const READ_STRETCHES = 8;
const CLAIM = 'claim';

/** An append refused because another node wrote to the partition since (it claimed it). */
export class FencedError extends Error {
  override readonly name = 'FencedError';
  constructor(readonly partition: number) {
    super(`partition ${partition} was claimed by another node`);
  }
}

export class PartitionLogs {
  /** `created`: when the stream was made; one made anew (an empty JetStream) numbers its records from 1 again. */
  private constructor(private readonly js: JetStreamClient, private readonly jsm: JetStreamManager, readonly stream: string, readonly created: string) {}

  /** Opens the stream, creating it if needed. */
  static async open(nc: NatsConnection, opts: { stream?: string; replicas?: number } = {}): Promise<PartitionLogs> {
    const stream = opts.stream ?? LOG_STREAM;
    const jsm = await nc.jetstreamManager();
    let info: StreamInfo;
    try {
      info = await jsm.streams.info(stream);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      info = await jsm.streams.add({
        name: stream, subjects: [LOG_SUBJECTS], storage: StorageType.File, num_replicas: opts.replicas ?? 1,
        retention: RetentionPolicy.Limits, allow_direct: true,
      });
    }
    return new PartitionLogs(nc.jetstream(), jsm, stream, info.created);
  }

  /** The stream sequence of a partition's last message (record or claim), 0 when it has none. */
  async lastSequence(partition: number): Promise<number> {
    try {
      return (await this.jsm.streams.getMessage(this.stream, { last_by_subj: logSubject(partition) })).seq;
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw err;
    }
  }

  /** Becomes the partition's writer: a claim marker lands after whatever was written before it. */
  async claim(partition: number, nodeId: string): Promise<PartitionWriter> {
    const h = headers();
    h.set(KIND_HEADER, CLAIM);
    for (let attempt = 0; ; attempt++) {
      const last = await this.lastSequence(partition);
      try {
        const ack = await this.js.publish(logSubject(partition), JSON.stringify({ node: nodeId }), { headers: h, expect: { lastSubjectSequence: last } });
        return new PartitionWriter(this.js, partition, ack.seq, last);
      } catch (err) {
        // The old owner wrote in between: read the new last sequence and try again.
        if (!isWrongLastSequence(err) || attempt >= 20) throw err;
      }
    }
  }

  /**
   * The partition's records after stream sequence `after`, in order, and with `claims` its claim markers (the node
   * that claimed). Read from the stream's leader by direct gets ("next message on this subject from this sequence"),
   * not through a consumer: creating one is a proposal to JetStream's meta leader, and consumers of a stream that had
   * just lost a server stalled here. The stream's range is cut into stretches walked at once, each in order: one
   * walk would wait a round trip per record.
   */
  read(partition: number, after?: number): AsyncGenerator<LogRecord>;
  read(partition: number, after: number, o: { claims: true; through?: number }): AsyncGenerator<LogRecord | { seq: number; claim: string }>;
  async *read(partition: number, after = 0, o: { claims?: boolean; through?: number } = {}): AsyncGenerator<LogRecord | { seq: number; claim: string }> {
    // A bound given is taken as it is (the caller read the end): the stream's leader may answer from a moment earlier.
    const last = o.through ?? await this.lastSequence(partition);
    if (last <= after) return;
    const stretches = Math.min(READ_STRETCHES, last - after);
    const starts = Array.from({ length: stretches + 1 }, (_, i) => after + 1 + Math.floor(((last - after) * i) / stretches));
    const walks = starts.slice(0, -1).map((from, i) => this.walk(partition, from, starts[i + 1]));
    // Each settles whatever happens to the others (one that fails is reported where it is read).
    for (const w of walks) w.catch(() => undefined);
    for (const w of walks) {
      for (const m of await w) {
        if (m.header?.get(KIND_HEADER) !== CLAIM) yield { seq: m.seq, record: m.data, writer: m.header?.get(MSG_ID_HEADER) || undefined };
        else if (o.claims) yield { seq: m.seq, claim: String((m.json<{ node?: unknown }>()).node) };
      }
    }
  }

  /**
   * The partition's records after stream sequence `after` through `through` (else to its end), but those whose
   * writer (message id) `skip` names, and how far they go: the sequence of the last message read (claim markers
   * included), or `through` when the log goes on past it (the partition's log holds nothing else up to there).
   */
  async recordsOf(partition: number, after: number, through = Number.MAX_SAFE_INTEGER, skip?: (writer: string | undefined) => boolean): Promise<{ records: Buffer[]; last: number }> {
    const records: Buffer[] = [];
    const bound = Math.min(await this.lastSequence(partition), through);
    for await (const r of this.read(partition, after, { claims: true, through: bound })) {
      if ('record' in r && !skip?.(r.writer)) records.push(bufferOf(r.record));
    }
    return { records, last: Math.max(after, bound) };
  }

  /** The partition's messages from stream sequence `from` up to (not including) `before`, in order. */
  private async walk(partition: number, from: number, before: number): Promise<StoredMsg[]> {
    const out: StoredMsg[] = [];
    for (let seq = from; seq < before;) {
      let m: StoredMsg;
      try {
        m = await this.jsm.streams.getMessage(this.stream, { seq, next_by_subj: logSubject(partition) } as unknown as MsgRequest);
      } catch (err) {
        // None after `seq` (the partition's last one is in an earlier stretch).
        if (isNotFound(err)) break;
        throw err;
      }
      if (m.seq >= before) break;
      out.push(m);
      seq = m.seq + 1;
    }
    return out;
  }

  /**
   * Every partition's records and claim markers after stream sequence `after`, in stream order, as they come, through
   * an ordered consumer: JetStream's client creates it again where it broke off (a server lost, a gap). They end
   * when `stop` is called.
   */
  async follow(after: number): Promise<{ records: AsyncIterable<FollowedRecord>; stop(): Promise<void> }> {
    // The stream holds the logs only, so no subject filter (nats-server 2.9 has no filter_subjects); a start sequence
    // even from the first record, as the client sets one whatever the policy, which 2.9 refuses with "deliver all".
    const consumer = await this.js.consumers.get(this.stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 });
    const messages = await consumer.consume({ max_messages: 256 });
    async function* records(): AsyncGenerator<FollowedRecord> {
      for await (const m of messages) {
        const partition = Number(m.subject.slice(m.subject.lastIndexOf('.') + 1));
        // Every append names the partition's sequence before it (see PartitionWriter), and JetStream keeps that header.
        const prev = Number(m.headers?.get(EXPECTED_LAST_HEADER));
        const writer = m.headers?.get(MSG_ID_HEADER) || undefined;
        yield { seq: m.seq, partition, prev: Number.isSafeInteger(prev) ? prev : -1, writer, record: m.headers?.get(KIND_HEADER) === CLAIM ? undefined : m.data };
      }
    }
    return { records: records(), stop: async () => { await messages.close(); } };
  }

  /** Drops a partition's messages before stream sequence `before` (they are covered by a snapshot). */
  async trim(partition: number, before: number): Promise<void> {
    await this.jsm.streams.purge(this.stream, { filter: logSubject(partition), seq: before });
  }
}

/** Appends to one partition, one record at a time (each names the sequence of the one before). */
export class PartitionWriter {
  private busy = false;

  /** `before`: the partition's last sequence before the claim (what its writer took over). */
  constructor(private readonly js: JetStreamClient, readonly partition: number, private last: number, readonly before = 0) {}

  /**
   * Resolves with the record's stream sequence once JetStream has it; `FencedError` once another node claimed it.
   * `msgId` makes asking again after a lost answer safe: JetStream answers a repeat with the first one's sequence
   * (it checks repeats before the expected sequence).
   */
  async append(record: Uint8Array, msgId?: string): Promise<number> {
    if (this.busy) throw new Error('one append at a time per partition');
    this.busy = true;
    try {
      const ack = await this.js.publish(logSubject(this.partition), record, { msgID: msgId, expect: { lastSubjectSequence: this.last } });
      // A repeat answered with a sequence not after the last one: servers have answered so for a message they never
      // stored; it is not taken as written.
      if (ack.duplicate && ack.seq <= this.last) throw new FencedError(this.partition);
      this.last = ack.seq;
      return ack.seq;
    } catch (err) {
      if (isWrongLastSequence(err)) throw new FencedError(this.partition);
      throw err;
    } finally {
      this.busy = false;
    }
  }
}
