/**
 * Reads every partition's log and checks what a node taking a partition over relies on: each record holds turns of
 * that partition's actors only, and each actor's turns follow one another (a turn with events is the next number
 * after the last one; a turn that only stored messages or other writes repeats it; writes made outside the actor's
 * turns carry number 0). A gap is a turn acknowledged nowhere or lost, a repeat a turn written twice.
 *
 * An actor whose numbering starts again after a claim marker is counted apart (`restarts`): its partition moved to
 * a node that started it without its state, which a takeover (the new owner imports the log first) never does.
 */
import type { Address } from '../../actors/types';
import { plainPackr } from '../store/store';
import { decodeRecord } from '../store/turn-log';
import type { PartitionLogs } from './partition-log';

export interface LogCheck { records: number; turns: number; actors: number; restarts: number; problems: string[]; restarted: string[] }

/** At most this many problems are listed (they are counted in full). */
const LISTED = 20;

export async function checkPartitionLogs(logs: PartitionLogs, partitions: number, partitionOf: (a: Address) => number): Promise<LogCheck> {
  const packr = plainPackr();
  /** Per actor: its last turn number, and the claim (of its partition) its turns were written under. */
  const last = new Map<Address, { n: number; claim: number }>();
  const out: LogCheck = { records: 0, turns: 0, actors: 0, restarts: 0, problems: [], restarted: [] };
  let problems = 0;
  const problem = (text: string): void => {
    if (++problems <= LISTED) out.problems.push(text);
  };
  for (let p = 0; p < partitions; p++) {
    let claim = 0;
    for await (const entry of logs.read(p, 0, { claims: true })) {
      if ('claim' in entry) {
        claim = entry.seq;
        continue;
      }
      out.records++;
      for (const turn of decodeRecord(packr, Buffer.from(entry.record))) {
        out.turns++;
        if (partitionOf(turn.a) !== p) problem(`record ${entry.seq} of partition ${p} holds a turn of ${turn.a}, of partition ${partitionOf(turn.a)}`);
        if (turn.n === 0 && turn.es.length === 0) continue;
        let before = last.get(turn.a);
        if (before && before.claim !== claim && before.n >= 1 && turn.n <= 1) {
          if (++out.restarts <= LISTED) out.restarted.push(`${turn.a} at record ${entry.seq} of partition ${p}, after turn ${before.n}`);
          before = undefined;
        }
        const n = before?.n ?? 0;
        const expected = turn.es.length > 0 ? n + 1 : n;
        if (turn.n !== expected) problem(`${turn.a}: turn ${turn.n} after turn ${n} (record ${entry.seq} of partition ${p})`);
        last.set(turn.a, { n: Math.max(n, turn.n), claim });
      }
    }
  }
  out.actors = last.size;
  if (problems > LISTED) out.problems.push(`… and ${problems - LISTED} more`);
  return out;
}
