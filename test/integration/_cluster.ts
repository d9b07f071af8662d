/**
 * Helpers for the tests of three Desk processes a, b, c in cluster mode over one test nats-server (not a test file):
 * the cluster itself, once every partition is served where placement says, a node's metrics, and user names whose
 * conversations live on a chosen node.
 */
import type { Test } from 'tap';
import { sessionAddress } from '../../actors/address';
import { DEFAULT_PARTITIONS, partitionOf, placement } from '../../src/cluster/partitions';
import { testApp } from '../helpers/server';
import type { natsForTests } from '../helpers/nats';
import { APP, CS, httpGet, spawnServer, tempDir, waitUntil, writeConfig, type ChildServer } from './_support';

export const NODES = ['a', 'b', 'c'];

/** A metric's value (summed over its labels) from a node's /metrics. */
export async function metric(s: ChildServer, name: string, labels = ''): Promise<number> {
  const body = (await httpGet(s.port, '/metrics')).body;
  let sum = 0;
  for (const line of body.split('\n')) if (line.startsWith(`${name}${labels}`) && /^[^{ ]+(\{[^}]*\})? /.test(line)) sum += Number(line.split(' ').pop());
  return sum;
}

/** The first name `prefix-<i>` whose conversation with the account lives on `node`. */
export function userOn(node: string, prefix: string): string {
  const owners = placement(NODES, DEFAULT_PARTITIONS);
  for (let i = 0; ; i++) if (owners[partitionOf(sessionAddress(APP, CS, `${prefix}-${i}`))] === node) return `${prefix}-${i}`;
}

/**
 * Three nodes a, b, c over the test's nats-server, once every partition is served where placement says. `respawn(i)`
 * starts node i again on its data dir (once it has stopped; `fresh`: on an empty one, a machine replaced), and
 * resolves once the partitions are placed again.
 */
export async function cluster(t: Test, nats: ReturnType<typeof natsForTests>, session: Record<string, unknown> = {}): Promise<ChildServer[] & { respawn(i: number, fresh?: boolean): Promise<ChildServer> }> {
  const url = nats.url();
  const config = writeConfig(tempDir(), testApp(['alice@desk.test'], session));
  const dirs = NODES.map(() => tempDir());
  const start = (i: number): Promise<ChildServer> => spawnServer({ script: 'main', dataDir: dirs[i], configFile: config, env: { DESK_NATS_URL: url, DESK_NODE_ID: NODES[i], DESK_LEASE_TTL_MS: '1500' } });
  const servers: ChildServer[] = [];
  t.teardown(async () => { for (const s of servers) await s.stop(); });
  for (let i = 0; i < NODES.length; i++) servers.push(await start(i));
  const want = placement(NODES, DEFAULT_PARTITIONS);
  const expected = NODES.map((id) => want.filter((o) => o === id).length);
  let owned: number[] = [];
  const placed = (): Promise<void> => waitUntil(async () => {
    owned = await Promise.all(servers.map((s) => metric(s, 'desk_cluster_partitions_owned')));
    return owned.every((n, i) => n === expected[i]);
  }, 20_000, `partitions placed ${expected.join('/')}`).catch((err: Error) => {
    throw new Error(`${err.message} (served: ${owned.join('/')}); the nodes said: ${servers.map((s) => s.stderr().slice(-1500)).join('\n---\n')}`);
  });
  await placed();
  t.pass(`partitions settled: ${expected.join(' / ')} on a / b / c`);
  return Object.assign(servers, {
    async respawn(i: number, fresh = false): Promise<ChildServer> {
      if (fresh) dirs[i] = tempDir();
      servers[i] = await start(i);
      await placed();
      return servers[i];
    },
  });
}
