/** A lease store in memory with the same revision rules as the JetStream one (for tests without NATS). */
import type { LeaseEntry, LeaseStore, LeaseValue } from '../../src/cluster/leases';

export class MemoryLeaseStore implements LeaseStore {
  private readonly entries = new Map<string, LeaseEntry>();
  private revision = 0;

  async get(key: string): Promise<LeaseEntry | undefined> {
    return this.entries.get(key);
  }
  async create(key: string, value: LeaseValue): Promise<number | undefined> {
    if (this.entries.has(key)) return undefined;
    return this.put(key, value);
  }
  async update(key: string, value: LeaseValue, revision: number): Promise<number | undefined> {
    if (this.entries.get(key)?.revision !== revision) return undefined;
    return this.put(key, value);
  }
  async remove(key: string, revision: number): Promise<boolean> {
    if (this.entries.get(key)?.revision !== revision) return false;
    this.entries.delete(key);
    return true;
  }
  async list(prefix: string): Promise<Map<string, LeaseEntry>> {
    return new Map([...this.entries].filter(([k]) => k.startsWith(prefix)));
  }
  private put(key: string, value: LeaseValue): number {
    const revision = ++this.revision;
    this.entries.set(key, { value: { ...value }, revision });
    return revision;
  }
}
