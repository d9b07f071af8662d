/**
 * Leases in a JetStream KV bucket: each write names the revision it read (`update`), or that there is none (`create`),
 * and the server refuses it otherwise; that refusal is what keeps two nodes from holding one partition.
 */
import type { JetStreamManager, KV, NatsConnection } from 'nats';
import type { LeaseEntry, LeaseStore, LeaseValue } from './leases';
import { LEASE_BUCKET } from '../bus/subjects';
import { isWrongLastSequence } from './jetstream-errors';

export class NatsLeaseStore implements LeaseStore {
  private constructor(private readonly kv: KV, private readonly jsm: JetStreamManager, private readonly bucket: string) {}

  /** Opens (creating if needed) the bucket; `replicas` 3 on a 3-server NATS cluster, 1 on one server. */
  static async open(nc: NatsConnection, bucket = LEASE_BUCKET, replicas = 1): Promise<NatsLeaseStore> {
    const kv = await nc.jetstream().views.kv(bucket, { history: 1, replicas });
    return new NatsLeaseStore(kv, await nc.jetstreamManager(), bucket);
  }

  /** A value that is not a lease (written by something else) reads as one that ran out long ago, so it is taken over. */
  async get(key: string): Promise<LeaseEntry | undefined> {
    const e = await this.kv.get(key);
    if (!e || e.operation !== 'PUT' || e.length === 0) return undefined;
    let value: Partial<LeaseValue> | undefined;
    try {
      value = e.json<Partial<LeaseValue>>();
    } catch {
      value = undefined;
    }
    const fits = typeof value?.node === 'string' && value.node.length > 0 && Number.isFinite(value.until);
    return { value: fits ? { node: value!.node!, until: value!.until! } : { node: '', until: 0 }, revision: e.revision };
  }

  async create(key: string, value: LeaseValue): Promise<number | undefined> {
    try {
      return await this.kv.create(key, JSON.stringify(value));
    } catch (err) {
      if (isWrongLastSequence(err)) return undefined;
      throw err;
    }
  }

  async update(key: string, value: LeaseValue, revision: number): Promise<number | undefined> {
    try {
      return await this.kv.update(key, JSON.stringify(value), revision);
    } catch (err) {
      if (isWrongLastSequence(err)) return undefined;
      throw err;
    }
  }

  async remove(key: string, revision: number): Promise<boolean> {
    try {
      await this.kv.delete(key, { previousSeq: revision });
      return true;
    } catch (err) {
      if (isWrongLastSequence(err)) return false;
      throw err;
    }
  }

  /**
   * The keys come from the stream's subject counts (one request to its leader), not from `kv.keys()`: that creates a
   * consumer per call, which on a clustered JetStream is a proposal to the meta leader, and every node lists twice a
   * round; under load those proposals queued up until rounds outlasted the leases.
   */
  async list(prefix: string): Promise<Map<string, LeaseEntry>> {
    const subjectPrefix = `$KV.${this.bucket}.`;
    const info = await this.jsm.streams.info(`KV_${this.bucket}`, { subjects_filter: `${subjectPrefix}${prefix}>` });
    const keys = Object.keys(info.state.subjects ?? {}).map((s) => s.slice(subjectPrefix.length));
    const out = new Map<string, LeaseEntry>();
    await Promise.all(keys.map(async (k) => {
      const e = await this.get(k);
      if (e) out.set(k, e);
    }));
    return out;
  }
}
