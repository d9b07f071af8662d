/**
 * The write-ahead files of turn-log records: a transaction that carries nothing but actor turns (the usual case on
 * the hot path) is appended entries and one fdatasync instead of an LMDB transaction, which copies a dozen or more
 * pages and syncs twice. Checkpoints copy these records into LMDB.
 *
 * Two files take turns: each checkpoint switches appends to the other one, from its start, and that one's records
 * were all covered by the checkpoint before (checkpoints run one at a time). A file is thus written over in place:
 * its blocks stay allocated, so a sync flushes data only, never the file's size.
 *
 * An entry is [u32 length][u32 record][u32 checksum][length bytes]. Within a file's current pass record numbers
 * only grow, and what remains of its previous pass is older: reading a file stops at the first entry that is torn,
 * damaged, or not newer than the one before it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const ENTRY_HEADER = 12;

export class TurnWal {
  private readonly fds: [number, number];
  private active = 0;
  private position = 0;
  private closed = false;

  constructor(dataDir: string) {
    const open = (file: string): number => fs.openSync(file, fs.existsSync(file) ? 'r+' : 'w+');
    this.fds = [open(path.join(dataDir, 'turns.0.wal')), open(path.join(dataDir, 'turns.1.wal'))];
  }

  /** The intact records after `after` in both files, in record order. */
  read(after: number): { record: number; value: Buffer }[] {
    return [...readFile(this.fds[0], after), ...readFile(this.fds[1], after)].sort((x, y) => x.record - y.record);
  }

  /** Writes a record after the last one (to the page cache; `sync` makes it durable). */
  append(record: number, value: Buffer): void {
    const header = Buffer.allocUnsafe(ENTRY_HEADER);
    header.writeUInt32LE(value.length, 0);
    header.writeUInt32LE(record, 4);
    header.writeUInt32LE(checksum(record, value), 8);
    fs.writevSync(this.fds[this.active], [header, value], this.position);
    this.position += ENTRY_HEADER + value.length;
  }

  /** Resolves when everything appended so far is on disk. */
  sync(): Promise<void> {
    const fd = this.fds[this.active];
    return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * Later records go to the other file, from its start: every record in it must be covered by a committed
   * checkpoint. A sync already asked of this file still covers what was appended to it.
   */
  switchFiles(): void {
    this.active = 1 - this.active;
    this.position = 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of this.fds) fs.closeSync(fd);
  }
}

/** A file's entries of its current pass (records growing from its start), those after `after`. */
function readFile(fd: number, after: number): { record: number; value: Buffer }[] {
  const out: { record: number; value: Buffer }[] = [];
  const size = fs.fstatSync(fd).size;
  const header = Buffer.alloc(ENTRY_HEADER);
  let at = 0;
  let last = 0;
  while (at + ENTRY_HEADER <= size) {
    fs.readSync(fd, header, 0, ENTRY_HEADER, at);
    const length = header.readUInt32LE(0);
    const record = header.readUInt32LE(4);
    if (length === 0 || record <= last || at + ENTRY_HEADER + length > size) break;
    const value = Buffer.allocUnsafe(length);
    fs.readSync(fd, value, 0, length, at + ENTRY_HEADER);
    if (header.readUInt32LE(8) !== checksum(record, value)) break;
    if (record > after) out.push({ record, value });
    last = record;
    at += ENTRY_HEADER + length;
  }
  return out;
}

function checksum(record: number, value: Buffer): number {
  const h = createHash('sha1');
  const n = Buffer.allocUnsafe(4);
  n.writeUInt32LE(record, 0);
  return h.update(n).update(value).digest().readUInt32LE(0);
}
