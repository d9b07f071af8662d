/**
 * `npm run loadtest -- <scenario…> [options]`: drives a real Desk server over loopback like real clients do and
 * reports it against a bare uWS relay measured in the same run.
 */
import { SingleBar, Presets } from 'cli-progress';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Encoding } from '../protocol/frames';
import { writeReport } from './report';
import { burst } from './scenarios/burst';
import { chat } from './scenarios/chat';
import { defaults, type Options, type Summary } from './scenarios/common';
import { connections } from './scenarios/connections';
import { reconnect } from './scenarios/reconnect';
import { relay } from './scenarios/relay';
import { rest } from './scenarios/rest';

const scenarios: Record<string, (o: Options) => Promise<Summary>> = { relay, chat, burst, reconnect, connections, rest };
const usage = `usage: npm run loadtest -- <${Object.keys(scenarios).join('|')}>… [--users N] [--agents N] [--rate MSG/S]
  [--duration SEC] [--warmup SEC] [--size BYTES] [--messages N] [--connections N] [--fsync always|batch|none] [--msgpack] [--nodes N] [--kill|--drain]
  [--no-baseline] [--probe-store file|lmdb] [--cpu-prof] [--json] [--no-report]`;

function int(v: string | undefined, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      users: { type: 'string' }, agents: { type: 'string' }, rate: { type: 'string' }, duration: { type: 'string' }, warmup: { type: 'string' },
      size: { type: 'string' }, messages: { type: 'string' }, connections: { type: 'string' }, fsync: { type: 'string' }, nodes: { type: 'string' },
      msgpack: { type: 'boolean' }, kill: { type: 'boolean' }, drain: { type: 'boolean' }, 'no-baseline': { type: 'boolean' }, 'cpu-prof': { type: 'boolean' }, json: { type: 'boolean' },
      'no-report': { type: 'boolean' }, 'probe-store': { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stderr.write(usage + '\n');
    return values.help ? 0 : 2;
  }
  const fsync = values.fsync ?? defaults.fsync;
  if (!['always', 'batch', 'none'].includes(fsync)) throw new Error('--fsync must be always, batch or none');
  const probeStore = values['probe-store'] ?? defaults.probeStore;
  if (probeStore !== 'file' && probeStore !== 'lmdb') throw new Error('--probe-store must be file or lmdb');
  const base: Options = {
    ...defaults,
    users: int(values.users, 'users', defaults.users, 1, 20_000),
    agents: int(values.agents, 'agents', defaults.agents, 1, 1000),
    rate: int(values.rate, 'rate', defaults.rate, 1, 1_000_000),
    durationSec: int(values.duration, 'duration', defaults.durationSec, 1, 3600),
    warmupSec: int(values.warmup, 'warmup', defaults.warmupSec, 0, 600),
    size: int(values.size, 'size', defaults.size, 16, 12_000),
    messages: int(values.messages, 'messages', defaults.messages, 1, 10_000),
    connections: int(values.connections, 'connections', defaults.connections, 1, 100_000),
    fsync: fsync as Options['fsync'],
    encoding: values.msgpack ? Encoding.Msgpack : Encoding.Json,
    baseline: !values['no-baseline'],
    probeStore,
    cpuProf: !!values['cpu-prof'],
    nodes: int(values.nodes, 'nodes', 0, 1, 8),
    kill: values.kill ? 'SIGKILL' : values.drain ? 'SIGTERM' : false,
  };
  if (values.kill && values.drain) throw new Error('--kill or --drain, not both');
  if (base.nodes > 0 && positionals.some((p) => p !== 'relay' && p !== 'chat')) throw new Error('--nodes applies to relay and chat');
  if (base.kill && (base.nodes < 2 || positionals.some((p) => p !== 'chat'))) throw new Error(`--${values.kill ? 'kill' : 'drain'} applies to chat on a cluster (--nodes 2 or more)`);
  const results: Summary[] = [];
  let failed = false;
  for (const name of positionals) {
    const run = scenarios[name];
    if (!run) throw new Error(`unknown scenario '${name}'\n${usage}`);
    const bar = new SingleBar({ format: `${name.padEnd(11)} [{bar}] {value}/{total}`, stream: process.stderr, hideCursor: true }, Presets.shades_classic);
    let started = false;
    const o: Options = { ...base, progress: (done, total) => { if (!started) { bar.start(total, 0); started = true; } bar.update(done); } };
    try {
      const s = await run(o);
      results.push(s);
      if (s.lost > 0) failed = true;
      if (started) bar.stop();
      const { baseline, probe, histogram, timeline, ...line } = s;
      void baseline; void probe; void histogram; void timeline;
      process.stdout.write(values.json ? JSON.stringify(line) + '\n' : `${JSON.stringify(line, null, 2)}\n`);
    } catch (err) {
      if (started) bar.stop();
      throw err;
    }
  }
  if (!values['no-report'] && results.length) {
    const file = writeReport(results, path.resolve(__dirname, '../../loadtest/results'), {
      date: new Date().toISOString(), cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, fsync,
    });
    process.stderr.write(`report: ${file}\n`);
  }
  return failed ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
    process.stderr.write(`loadtest: ${(err as Error).message}\n`);
    process.exit(2);
  });
}
