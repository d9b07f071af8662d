/**
 * Server configuration: defaults ← optional JSON file (DESK_CONFIG) ← environment (DESK_…) ← CLI flags,
 * validated once at start into one frozen object. Nothing reads process.env after this.
 */
import Validator from 'fastest-validator';
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { appSchema } from '../../protocol/app-schema';
import { StartRefused } from '../start-refused';
import { FsyncMode } from '../store/store';

export interface ServerConfig {
  port: number;
  host: string;
  dataDir: string;
  fsync: FsyncMode;
  logLevel: string;
  /** Keep the statistics projection (on by default; off only to measure what it costs). */
  statistics: boolean;
  /** WebSocket connections one UserID, and one client IP, may hold open at once (0: no cap). */
  maxSocketsPerUser: number;
  maxSocketsPerIp: number;
  /** The least time between the starts of two storage transactions (default per fsync mode): writes and acks gather. */
  commitIntervalMs?: number;
  /** Time between checkpoints (snapshots, message index, statistics facts); what a restart reads again is at most this. */
  checkpointEveryMs: number;
  /** Cluster mode (docs/cluster.md): the NATS servers, this node's id, and how long a partition lease lasts unrenewed. */
  nats?: string[];
  nodeId?: string;
  leaseTtlMs: number;
  /** Copies JetStream keeps of the cluster's buckets and streams: 3 on a 3-server NATS cluster, 1 on one server. */
  natsReplicas: number;
  /** Apps declared in the config file (validated, not yet merged with defaults). */
  apps: DeclaredApp[];
  /** The default app created on first start when no app exists. */
  defaultApp: { sdkAppId: number; secretKey?: string; adminIdentifier: string };
  configFile?: string;
}

export type DeclaredApp = {
  sdkAppId: number; secretKey?: string; adminIdentifier?: string;
  groups?: { id: number; name: string }[];
  members?: {
    mail: string; nickname: string; password?: string; passwordHash?: string; roles?: ('admin' | 'staff')[];
    groupIds?: number[]; receptionLimit?: number; disabled?: boolean;
  }[];
  csAccounts?: Record<string, unknown>[];
  session?: Record<string, unknown>;
  callbacks?: { url: string; sessionEvents?: boolean; thirdPartyBot?: boolean; memberEvents?: boolean; token: string };
  web?: { demoUserSig: boolean };
  llm?: { baseUrl: string; model: string; apiKey?: string; prompt?: string; knowledgeOnly?: boolean; refusal?: string; timeoutMs?: number };
  embeddings?: { baseUrl: string; model: string; apiKey?: string; timeoutMs?: number; scoreFrom?: number; scoreTo?: number; margin?: number };
};

const v = new Validator({ haltOnFirstError: false });
const socketCap = { type: 'number', integer: true, min: 0, max: 1_000_000 } as const;
const commitInterval = { type: 'number', integer: true, min: 0, max: 1000 } as const;
const checkpointEvery = { type: 'number', integer: true, min: 100, max: 600_000 } as const;
const natsServers = { type: 'string', min: 1, max: 4096, pattern: /^[^\s,]+(,[^\s,]+)*$/, messages: { stringPattern: "'{field}' must be NATS server URLs separated by commas" } } as const;
const nodeIdRule = { type: 'string', min: 1, max: 128, pattern: /^[^\s\x00-\x1f\x7f]+$/ } as const;
const leaseTtl = { type: 'number', integer: true, min: 600, max: 600_000 } as const;
const natsReplicas = { type: 'number', integer: true, min: 1, max: 5 } as const;
const fileCheck = v.compile({
  $$strict: true,
  server: {
    type: 'object', optional: true, strict: true,
    props: {
      port: { type: 'number', integer: true, min: 0, max: 65535, optional: true },
      host: { type: 'string', max: 255, optional: true },
      dataDir: { type: 'string', max: 4096, optional: true },
      fsync: { type: 'enum', values: Object.values(FsyncMode), optional: true },
      logLevel: { type: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], optional: true },
      statistics: { type: 'boolean', optional: true },
      maxSocketsPerUser: { ...socketCap, optional: true },
      maxSocketsPerIp: { ...socketCap, optional: true },
      commitIntervalMs: { ...commitInterval, optional: true },
      checkpointEveryMs: { ...checkpointEvery, optional: true },
      nats: { ...natsServers, optional: true },
      nodeId: { ...nodeIdRule, optional: true },
      leaseTtlMs: { ...leaseTtl, optional: true },
      natsReplicas: { ...natsReplicas, optional: true },
    },
  },
  apps: { type: 'array', optional: true, max: 100, items: appSchema },
});
const settingsCheck = v.compile({
  port: { type: 'number', integer: true, min: 0, max: 65535 },
  host: { type: 'string', min: 1, max: 255 },
  dataDir: { type: 'string', min: 1, max: 4096 },
  fsync: { type: 'enum', values: Object.values(FsyncMode) },
  logLevel: { type: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
  statistics: { type: 'boolean' },
  maxSocketsPerUser: socketCap,
  maxSocketsPerIp: socketCap,
  commitIntervalMs: { ...commitInterval, optional: true },
  checkpointEveryMs: checkpointEvery,
  nats: { type: 'array', optional: true, min: 1, max: 32, items: { type: 'string', min: 1, max: 512 } },
  nodeId: { ...nodeIdRule, optional: true },
  leaseTtlMs: leaseTtl,
  natsReplicas,
  defaultApp: {
    type: 'object',
    props: {
      sdkAppId: { type: 'number', integer: true, min: 1, max: 4294967295 },
      secretKey: { type: 'string', min: 16, max: 256, optional: true },
      adminIdentifier: { type: 'string', min: 1, max: 64 },
    },
  },
});

export class ConfigError extends StartRefused {}

/** Longest rendering of a refused value in a message. */
const SHOWN_CHARS = 80;
/** Fields whose values are secrets: a refusal describes them without printing them. */
const SECRET_FIELD = /(^|\.)(secretKey|password|passwordHash|token|apiKey)$/;

/** A value as a message prints it: JSON, truncated. */
export function shown(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > SHOWN_CHARS ? `${s.slice(0, SHOWN_CHARS)}…` : s;
}

/** The value at a validator field path such as `apps[0].members[1].mail`. */
function valueAt(root: unknown, field: string): unknown {
  let v = root;
  for (const part of field.split(/[.[\]]+/).filter(Boolean)) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

/** The validator's messages, each with the value it refused (an unknown key's message names the key itself). */
function describe(errors: { type?: string; message?: string; field?: string }[], input: unknown): string {
  return errors.map((e) => {
    const text = e.message ?? e.field ?? '';
    const value = e.field && e.type !== 'objectStrict' ? valueAt(input, e.field) : undefined;
    if (value === undefined) return text;
    const got = SECRET_FIELD.test(e.field!) ? `${typeof value === 'string' ? `${value.length} characters` : `a ${typeof value}`}, not shown` : shown(value);
    return `${text.replace(/\.$/, '')} (got ${got})`;
  }).join('; ');
}

/** NATS servers given as one comma-separated string; a malformed one is left as given, for the check to refuse. */
function servers(s: string | undefined): string[] | undefined {
  if (s === undefined || s === '') return undefined;
  if (!natsServers.pattern.test(s)) throw new ConfigError(`nats: ${shown(s)} is not a list of NATS server URLs separated by commas`);
  return s.split(',');
}

/** A number; anything else is left as given, for the check to refuse and print. */
const num = (s: string | undefined): number | undefined => (s === undefined || s === '' ? undefined : Number.isNaN(Number(s)) ? (s as unknown as number) : Number(s));
/** `on` / `off` (anything else is left for the check to refuse: it is not a boolean). */
const onOff = (s: string | undefined): boolean | undefined => (s === undefined || s === '' ? undefined : s === 'on' ? true : s === 'off' ? false : (s as unknown as boolean));

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Readonly<ServerConfig> {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' }, host: { type: 'string' }, 'data-dir': { type: 'string' }, config: { type: 'string' },
        fsync: { type: 'string' }, 'log-level': { type: 'string' }, statistics: { type: 'string' },
        'max-sockets-per-user': { type: 'string' }, 'max-sockets-per-ip': { type: 'string' },
        'commit-interval-ms': { type: 'string' }, 'checkpoint-every-ms': { type: 'string' },
        nats: { type: 'string' }, 'node-id': { type: 'string' }, 'lease-ttl-ms': { type: 'string' }, 'nats-replicas': { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}; flags: --port --host --data-dir --config --fsync --log-level --statistics --max-sockets-per-user --max-sockets-per-ip --commit-interval-ms --checkpoint-every-ms --nats --node-id --lease-ttl-ms --nats-replicas`);
  }
  const configFile = values.config ?? env.DESK_CONFIG;
  let file: { server?: Partial<Omit<ServerConfig, 'nats'>> & { nats?: string }; apps?: DeclaredApp[] } = {};
  if (configFile) {
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(configFile, 'utf8'));
    } catch (e) {
      throw new ConfigError(`cannot read config file ${configFile}: ${(e as Error).message}`);
    }
    const res = fileCheck(raw);
    if (res !== true) throw new ConfigError(`config file ${configFile}: ${describe(res as { message?: string }[], raw)}`);
    file = raw as typeof file;
  }
  const cfg: ServerConfig = {
    port: num(values.port) ?? num(env.DESK_PORT) ?? file.server?.port ?? 8080,
    host: values.host ?? env.DESK_HOST ?? file.server?.host ?? '0.0.0.0',
    dataDir: values['data-dir'] ?? env.DESK_DATA_DIR ?? file.server?.dataDir ?? './data',
    fsync: (values.fsync ?? env.DESK_FSYNC ?? file.server?.fsync ?? FsyncMode.Always) as FsyncMode,
    logLevel: values['log-level'] ?? env.DESK_LOG_LEVEL ?? file.server?.logLevel ?? 'info',
    statistics: onOff(values.statistics ?? env.DESK_STATISTICS) ?? file.server?.statistics ?? true,
    maxSocketsPerUser: num(values['max-sockets-per-user']) ?? num(env.DESK_MAX_SOCKETS_PER_USER) ?? file.server?.maxSocketsPerUser ?? 16,
    // Off by default: behind a reverse proxy every client has the proxy's IP.
    maxSocketsPerIp: num(values['max-sockets-per-ip']) ?? num(env.DESK_MAX_SOCKETS_PER_IP) ?? file.server?.maxSocketsPerIp ?? 0,
    commitIntervalMs: num(values['commit-interval-ms']) ?? num(env.DESK_COMMIT_INTERVAL_MS) ?? file.server?.commitIntervalMs,
    checkpointEveryMs: num(values['checkpoint-every-ms']) ?? num(env.DESK_CHECKPOINT_EVERY_MS) ?? file.server?.checkpointEveryMs ?? 5000,
    nats: servers(values.nats ?? (env.DESK_NATS_URL || undefined) ?? file.server?.nats),
    nodeId: values['node-id'] ?? (env.DESK_NODE_ID || undefined) ?? file.server?.nodeId,
    leaseTtlMs: num(values['lease-ttl-ms']) ?? num(env.DESK_LEASE_TTL_MS) ?? file.server?.leaseTtlMs ?? 6000,
    natsReplicas: num(values['nats-replicas']) ?? num(env.DESK_NATS_REPLICAS) ?? file.server?.natsReplicas ?? 1,
    apps: file.apps ?? [],
    defaultApp: {
      sdkAppId: num(env.DESK_SDKAPPID) ?? 1400000001,
      secretKey: env.DESK_SECRET_KEY || undefined,
      adminIdentifier: env.DESK_ADMIN_IDENTIFIER || 'administrator',
    },
    configFile,
  };
  const res = settingsCheck(cfg);
  if (res !== true) throw new ConfigError(`configuration: ${describe(res as { message?: string }[], cfg)}`);
  if (cfg.nats && cfg.nodeId === undefined) {
    // A node id must be stable across restarts and unique in the cluster: the host and port are, unless the port is any.
    if (cfg.port === 0) throw new ConfigError('cluster mode with --port 0 needs --node-id (DESK_NODE_ID): the default id is host:port');
    cfg.nodeId = `${os.hostname()}:${cfg.port}`;
  }
  const ids = new Set<number>();
  for (const a of cfg.apps) {
    if (ids.has(a.sdkAppId)) throw new ConfigError(`config file: app ${a.sdkAppId} declared twice`);
    ids.add(a.sdkAppId);
  }
  return Object.freeze(cfg);
}
