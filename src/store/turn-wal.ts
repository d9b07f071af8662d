/**
 * The write-ahead files of turn-log records: a transaction that carries nothing but actor turns (the usual case on
 * the hot path) is appended entries and one fdatasync instead of an LMDB transaction, which copies a dozen or more
 * pages and syncs twice. Checkpoints copy these records into LMDB.
 *
 * Two files take turns: each checkpoint switches appends to the other one, from its start, and that one's records
 * were all covered by the checkpoint before (checkpoints run one at a time). A file is thus written over in place:
 * its blocks stay allocated, so a sync flushes data only, never the file's size.
 *
 * An entry is [u32 length][u32 record][u32 pass][u32 checksum][length bytes]. Each pass through a file (from its
 * start) has a random number of its own, which every entry of the pass carries: reading a file stops at the first
 * entry that is torn, damaged, of another pass, or not newer than the one before it. (Record numbers alone could not
 * tell: after a power cut that tore one entry of a sync but kept the next, the restart reuses the torn entry's
 * number, and a new entry of the same length would line the old next one up as if it followed.)
 */
import { createHash, randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const ENTRY_HEADER = 16;

/** A new pass's number. */
const newPass = (): number => randomInt(1, 2 ** 32 - 1);

export class TurnWal {
  private readonly fds: [number, number];
  private active = 0;
  private position = 0;
  private pass = newPass();
  private closed = false;

  constructor(dataDir: string) {
    let created = false;
    const open = (file: string): number => {
      if (fs.existsSync(file)) return fs.openSync(file, 'r+');
      created = true;
      return fs.openSync(file, 'w+');
    };
    this.fds = [open(path.join(dataDir, 'turns.0.wal')), open(path.join(dataDir, 'turns.1.wal'))];
    // New files' names must survive a power cut too.
    if (created) {
      const dir = fs.openSync(dataDir, 'r');
      try {
        fs.fsyncSync(dir);
      } finally {
        fs.closeSync(dir);
      }
    }
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
    header.writeUInt32LE(this.pass, 8);
    header.writeUInt32LE(checksum(record, this.pass, value), 12);
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
    this.pass = newPass();
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
  let pass: number | undefined;
  while (at + ENTRY_HEADER <= size) {
    fs.readSync(fd, header, 0, ENTRY_HEADER, at);
    const length = header.readUInt32LE(0);
    const record = header.readUInt32LE(4);
    const entryPass = header.readUInt32LE(8);
    if (length === 0 || record <= last || (pass !== undefined && entryPass !== pass) || at + ENTRY_HEADER + length > size) break;
    const value = Buffer.allocUnsafe(length);
    fs.readSync(fd, value, 0, length, at + ENTRY_HEADER);
    if (header.readUInt32LE(12) !== checksum(record, entryPass, value)) break;
    pass = entryPass;
    if (record > after) out.push({ record, value });
    last = record;
    at += ENTRY_HEADER + length;
  }
  return out;
}

function checksum(record: number, pass: number, value: Buffer): number {
  const n = Buffer.allocUnsafe(8);
  n.writeUInt32LE(record, 0);
  n.writeUInt32LE(pass, 4);
  return createHash('sha1').update(n).update(value).digest().readUInt32LE(0);
}
