/**
 * `npm run bench:takeover [-- --messages N --json]`: how long a node takes to take a partition over whole, as a
 * function of the history in its log (docs/cluster.md). N messages (default 100,000; 100 bytes of text each, 200
 * conversations) are written as turns through a store whose commits go to a partition log in a nats-server of the
 * run's own, as a cluster node's do; then the log is read the way a takeover reads it (one direct get per record, from
 * the stream's leader) and imported into a fresh store. The baseline, measured in the same run, is the same records
 * streamed by an ordered consumer, the fastest way JetStream hands them out: the ratio says what reading record by
 * record costs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from 'nats';
import { PartitionLogs } from '../src/cluster/partition-log';
import { FsyncMode, Store } from '../src/store/store';
import { startNats } from '../test/helpers/nats';

const CONVERSATIONS = 200;
/** Turns per commit: a transaction's share of one partition under load. */
const TURNS_PER_RECORD = 20;

export interface TakeoverResult {
  messages: number;
  records: number;
  mb: number;
  /** Reading the log as a takeover does, importing it, and both. */
  readS: number;
  importS: number;
  messagesPerS: number;
  /** The same records streamed by an ordered consumer. */
  baselineReadS: number;
  ratio: number;
}

const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'desk-takeover-'));
const seconds = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e9;
/** Seconds to the tenth of a millisecond: a tiny run's import takes a few milliseconds. */
const round = (x: number): number => Math.round(x * 10_000) / 10_000;

export async function runTakeover(messages: number): Promise<TakeoverResult> {
  const nats = await startNats();
  const nc = await connect({ servers: nats.url });
  try {
    const logs = await PartitionLogs.open(nc);
    const writer = await logs.claim(0, 'bench');
    const written = new Store(tempDir(), FsyncMode.None, { commitIntervalMs: 0 });
    written.replicateTo({ partitionOf: () => 0, maxRecordBytes: 1 << 20, abandoned: () => new Set(), async append(_p, r) { await writer.append(r); return true; } });
    const turns = new Map<string, number>();
    for (let i = 0; i < messages; i++) {
      const a = `session:1400000001|cs|user-${i % CONVERSATIONS}`;
      const seq = (turns.get(a) ?? 0) + 1;
      turns.set(a, seq);
      const at = 1_796_000_000_000 + i;
      const m = { sessionId: `s-${i % CONVERSATIONS}`, seq, msgKey: `${seq}_${i}_1`, from: `user-${i % CONVERSATIONS}`, fromRole: 1 as const, time: at, random: i, body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: `message ${i} `.padEnd(100, '.') } }] };
      written.appendTurn(a, seq, at, [{ type: 'MessageAdded', sessionId: m.sessionId, seq, msgKey: m.msgKey, fromRole: 1, from: m.from, random: i, at }], [m]);
      if (i % TURNS_PER_RECORD === TURNS_PER_RECORD - 1) await written.commit();
    }
    await written.commit();
    await written.close();

    let started = process.hrtime.bigint();
    const records: Buffer[] = [];
    for await (const r of logs.read(0)) records.push(Buffer.from(r.record));
    const readS = seconds(started);

    const fresh = new Store(tempDir(), FsyncMode.None);
    started = process.hrtime.bigint();
    fresh.importRecords(records);
    await fresh.commit();
    const importS = seconds(started);
    await fresh.close();

    started = process.hrtime.bigint();
    const follow = await logs.follow(0);
    let streamed = 0;
    // The stream holds the claim marker too: the last record ends it.
    for await (const r of follow.records) if (r.record && ++streamed === records.length) break;
    const baselineReadS = seconds(started);
    await follow.stop();

    const bytes = records.reduce((n, r) => n + r.length, 0);
    return {
      messages, records: records.length, mb: Math.round(bytes / 1e4) / 100, readS: round(readS), importS: round(importS),
      messagesPerS: Math.round(messages / (readS + importS)), baselineReadS: round(baselineReadS), ratio: Math.round((readS / baselineReadS) * 100) / 100,
    };
  } finally {
    await nc.close();
    await nats.stop();
  }
}

if (require.main === module) {
  const { values } = parseArgs({ options: { messages: { type: 'string' }, json: { type: 'boolean' } } });
  const messages = Number(values.messages ?? 100_000);
  if (!Number.isInteger(messages) || messages < 1 || messages > 10_000_000) throw new Error('--messages must be an integer from 1 to 10,000,000');
  void runTakeover(messages).then((r) => {
    if (values.json) process.stdout.write(`${JSON.stringify({ scenario: 'takeover', date: new Date().toISOString(), ...r })}\n`);
    else {
      process.stdout.write([
        `takeover: ${r.messages} messages in ${r.records} records (${r.mb} MB)`,
        `read as a takeover reads (a direct get per record): ${r.readS} s; imported: ${r.importS} s; ${r.messagesPerS} messages/s in all`,
        `baseline (the same records streamed by an ordered consumer): ${r.baselineReadS} s; ratio ${r.ratio}×`,
      ].join('\n') + '\n');
    }
  });
}
