/**
 * The write-ahead file of turn-log records: a transaction that carries nothing but actor turns (the usual case on
 * the hot path) is one appended entry and one fdatasync instead of an LMDB transaction, which copies a dozen or more
 * pages and syncs twice. The next checkpoint copies these records into LMDB, and the file is then written again
 * from its start: its blocks stay allocated, so a sync flushes data only, never the file's size.
 *
 * An entry is [u32 length][u32 record][u32 checksum][length bytes]. Record numbers only grow within a run of
 * entries, and every record of an earlier pass through the file is covered by a checkpoint: reading stops at the
 * first entry that is torn, damaged, or not newer than the one before it and the checkpoint.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';

const ENTRY_HEADER = 12;

export class TurnWal {
  private readonly fd: number;
  private position = 0;
  private closed = false;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, fs.existsSync(file) ? 'r+' : 'w+');
  }

  /** The intact records after `after`, in order. */
  read(after: number): { record: number; value: Buffer }[] {
    const out: { record: number; value: Buffer }[] = [];
    const size = fs.fstatSync(this.fd).size;
    const header = Buffer.alloc(ENTRY_HEADER);
    let at = 0;
    let last = after;
    while (at + ENTRY_HEADER <= size) {
      fs.readSync(this.fd, header, 0, ENTRY_HEADER, at);
      const length = header.readUInt32LE(0);
      const record = header.readUInt32LE(4);
      if (length === 0 || record <= last || at + ENTRY_HEADER + length > size) break;
      const value = Buffer.allocUnsafe(length);
      fs.readSync(this.fd, value, 0, length, at + ENTRY_HEADER);
      if (header.readUInt32LE(8) !== checksum(record, value)) break;
      out.push({ record, value });
      last = record;
      at += ENTRY_HEADER + length;
    }
    return out;
  }

  /** Writes a record after the last one (to the page cache; `sync` makes it durable). */
  append(record: number, value: Buffer): void {
    const header = Buffer.allocUnsafe(ENTRY_HEADER);
    header.writeUInt32LE(value.length, 0);
    header.writeUInt32LE(record, 4);
    header.writeUInt32LE(checksum(record, value), 8);
    fs.writevSync(this.fd, [header, value], this.position);
    this.position += ENTRY_HEADER + value.length;
  }

  /** Resolves when everything appended so far is on disk. */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve())));
  }

  /** The records written so far are covered elsewhere: the next one goes at the start of the file. */
  restart(): void {
    this.position = 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

function checksum(record: number, value: Buffer): number {
  const h = createHash('sha1');
  const n = Buffer.allocUnsafe(4);
  n.writeUInt32LE(record, 0);
  return h.update(n).update(value).digest().readUInt32LE(0);
}
