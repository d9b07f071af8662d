/**
 * Statistics rebuilt from the event log: every session and agent actor's events folded again, in order, into
 * fresh tables. `compare` tells whether they equal the live projection's; `replace` makes them the live ones.
 *
 *   node dist/src/stats/rebuild.js [--data-dir DIR] [--replace]     (with the server stopped)
 */
import { isDeepStrictEqual, parseArgs } from 'node:util';
import type { Database, Key } from 'lmdb';
import { kindOf } from '../../actors/address';
import { DataDirLock } from '../store/data-dir-lock';
import { Store } from '../store/store';
import { StatsProjection, statsTables, type StatsTables } from './projection';

const REBUILT = 'rebuilt-';
const COMMIT_EVERY = 5000;

/** Folds the whole event log into the `rebuilt-` tables (cleared first) and commits. */
export async function rebuild(store: Store): Promise<StatsProjection> {
  const tables = statsTables(store, REBUILT);
  for (const db of Object.values(tables) as Database<unknown, Key>[]) store.write(() => db.clearSync());
  await store.commit();
  const p = new StatsProjection(store, tables);
  let pending = 0;
  for (const { address, n, record } of store.eventLog()) {
    const kind = kindOf(address);
    if (kind !== 'session' && kind !== 'agent') continue;
    p.apply(address, record.es, n);
    // Commit as it goes, so a long log does not gather in one transaction.
    if (++pending >= COMMIT_EVERY) {
      pending = 0;
      p.flush();
      await store.commit();
    }
  }
  p.flush();
  await store.commit();
  p.detach();
  return p;
}

/** Rows that differ between two projections' tables (0 when the rebuild equals the live figures). */
export function compare(a: StatsTables, b: StatsTables): { table: string; differences: number }[] {
  return (Object.keys(a) as (keyof StatsTables)[]).map((name) => {
    const rows = (t: Database<unknown, Key>) => new Map([...t.getRange()].map((e) => [JSON.stringify(e.key), e.value]));
    const x = rows(a[name] as Database<unknown, Key>);
    const y = rows(b[name] as Database<unknown, Key>);
    let differences = 0;
    for (const [k, v] of x) if (!y.has(k) || !isDeepStrictEqual(v, y.get(k))) differences++;
    for (const k of y.keys()) if (!x.has(k)) differences++;
    return { table: name, differences };
  });
}

/** Copies the rebuilt tables over the live ones. */
export async function replace(store: Store, rebuilt: StatsTables): Promise<void> {
  const live = statsTables(store);
  for (const name of Object.keys(live) as (keyof StatsTables)[]) {
    const from = rebuilt[name] as Database<unknown, Key>;
    const to = live[name] as Database<unknown, Key>;
    store.write(() => {
      to.clearSync();
      for (const { key, value } of from.getRange()) to.putSync(key, value);
    });
  }
  await store.commit();
}

if (require.main === module) {
  const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, replace: { type: 'boolean' } } });
  const dataDir = values['data-dir'] ?? process.env.DESK_DATA_DIR ?? './data';
  (async () => {
    // A running server writes the same tables: refuse instead of racing it.
    const lock = await DataDirLock.acquire(dataDir);
    const store = new Store(dataDir, 'always');
    const p = await rebuild(store);
    const diff = compare(statsTables(store), p.tables);
    for (const d of diff) process.stdout.write(`${d.table}: ${d.differences} rows differ\n`);
    if (values.replace) {
      await replace(store, p.tables);
      process.stdout.write('the live statistics are now the rebuilt ones\n');
    }
    await store.close();
    await lock.release();
  })().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  });
}
