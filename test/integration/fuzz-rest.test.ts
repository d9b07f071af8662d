/**
 * REST fuzzing against a server in a child process: FUZZ_REST requests (30,000 by default) to every endpoint the
 * facade serves — bodies built from each endpoint's own schema with random, boundary and wrong-typed values, nesting
 * around and far past the input limit, huge values, prototype keys, broken JSON, non-object JSON, bad query
 * parameters and unknown paths. Every answer must be HTTP 200 with a v4 envelope; no handler may throw; afterwards
 * the server must still serve a conversation and REST calls. Reproduce with FUZZ_SEED=<n>.
 */
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { genUserSig } from '../../protocol/usersig';
import { restEndpoints } from '../../src/http/endpoints';
import { rest } from '../contract/rest-client';
import { testApp } from '../helpers/server';
import { conversation, crashLines } from './_fuzz';
import { APP, CS, KEY, rng, spawnServer, tempDir, toHuman, connect } from './_support';

const SEED = Number(process.env.FUZZ_SEED ?? 20260105);
const REQUESTS = Number(process.env.FUZZ_REST ?? 30_000);
const ADMIN = 'administrator';
const MEMBERS = ['alice@desk.test', 'bob@desk.test'];
const UNTOUCHED_APP = 1400000077;

type Rule = { type?: string; values?: unknown[]; items?: Rule | string; props?: Record<string, Rule | string>; min?: number; max?: number; optional?: boolean; rules?: Rule[] } | string;

class RestFuzzer {
  constructor(private readonly r: () => number, private readonly sessionIds: string[]) {}
  int(n: number): number { return Math.floor(this.r() * n); }
  pick<T>(a: readonly T[]): T { return a[this.int(a.length)]; }
  chance(p: number): boolean { return this.r() < p; }

  str(): string {
    return this.pick([
      '', ' ', '\u0000', '\ud800', '😀字', '__proto__', 'constructor', '%s', '../x', '<b>', 'x'.repeat(this.pick([1, 64, 65, 256, 5000])),
      CS, ...MEMBERS, ADMIN, 'nobody@desk.test', ...this.sessionIds, '00000000-0000-4000-8000-000000000000', 'zh', 'en', '09:00', '2026-12-01',
    ]);
  }

  num(): number {
    return this.pick([0, -1, 1, 2, 3, 9, 10, 100, 1e6, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 0.5, 1e308, Math.floor(Date.now() / 1000), Date.now(), this.int(1000)]);
  }

  /** Any JSON value, `depth` levels deep at most. */
  any(depth: number): unknown {
    switch (this.int(depth > 0 ? 7 : 5)) {
      case 0: return null;
      case 1: return this.chance(0.5);
      case 2: return this.num();
      case 3: case 4: return this.str();
      case 5: return Array.from({ length: this.int(4) }, () => this.any(depth - 1));
      default: return Object.fromEntries(Array.from({ length: this.int(4) }, () => [this.pick(['a', 'Id', 'Name', '__proto__', 'constructor', this.str().slice(0, 10)]), this.any(depth - 1)]));
    }
  }

  /** A value for a schema rule: usually of the right type (boundaries included), sometimes anything at all. */
  sample(rule: Rule, depth = 3): unknown {
    if (this.chance(0.12) || depth < 0) return this.any(2);
    const r = typeof rule === 'string' ? { type: rule.split('|')[0] } : rule;
    switch (r.type) {
      case 'string': return this.chance(0.7) ? this.str() : 'y'.repeat(this.pick([r.min ?? 0, r.max ?? 10, (r.max ?? 10) + 1]));
      case 'number': return this.chance(0.7) ? this.num() : this.pick([r.min ?? 0, r.max ?? 0, (r.min ?? 0) - 1, (r.max ?? 0) + 1]);
      case 'boolean': return this.chance(0.5);
      case 'enum': return this.chance(0.85) && r.values?.length ? this.pick(r.values) : this.any(0);
      case 'array': return Array.from({ length: this.pick([0, 1, 2, 3, r.max ?? 5, (r.max ?? 5) + 1]) }, () => (r.items ? this.sample(r.items, depth - 1) : this.any(1)));
      case 'object': return r.props ? this.fill(r.props, depth - 1) : this.any(2);
      case 'multi': return r.rules?.length ? this.sample(this.pick(r.rules), depth) : this.any(1);
      default: return this.any(2);
    }
  }

  /** An object with (most of) the fields a schema names, plus now and then one it does not. */
  fill(schema: Record<string, Rule | string>, depth = 3): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, rule] of Object.entries(schema)) {
      if (k.startsWith('$$') || this.chance(0.15)) continue;
      out[k] = this.sample(rule, depth);
    }
    if (this.chance(0.15)) out[this.pick(['Unknown', 'GroupChatMode', 'ConversationSources', this.str().slice(0, 12)])] = this.any(2);
    return out;
  }

  deep(depth: number): string {
    return this.chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  }

  /** One request: a path, its query and its raw body. */
  next(sig: string): { path: string; query: Record<string, string>; body: string; kind: string } {
    const e = this.pick(restEndpoints);
    const path = `/v4/${e.service}/${e.command}`;
    const query: Record<string, string> = { sdkappid: String(APP), identifier: ADMIN, usersig: sig, random: String(this.int(2 ** 32)), contenttype: 'json' };
    const schemaBody = (): Record<string, unknown> => this.fill(e.schema as Record<string, Rule | string>);
    const roll = this.r();
    if (roll < 0.55) return { path, query, body: JSON.stringify(schemaBody()), kind: 'schema' };
    if (roll < 0.65) {
      const b = schemaBody();
      const keys = Object.keys(b);
      const deep = this.deep(this.pick([8, 12, 14, 15, 16, 17, 30, 1500, 5000]));
      const text = JSON.stringify({ ...b, [keys.length ? this.pick(keys) : 'X']: '\u0001DEEP\u0001' }).replace('"\\u0001DEEP\\u0001"', deep);
      return { path, query, body: text, kind: 'nested' };
    }
    if (roll < 0.72) {
      const b = schemaBody();
      const keys = Object.keys(b);
      b[keys.length ? this.pick(keys) : 'X'] = this.pick(['z'.repeat(this.pick([12_000, 13_000, 60_000, 70_000])), Array.from({ length: 5000 }, (_, i) => i), Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i]))]);
      return { path, query, body: JSON.stringify(b), kind: 'huge' };
    }
    if (roll < 0.78) {
      const k = this.pick(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty']);
      const b = JSON.stringify(schemaBody());
      return { path, query, body: `{"${k}":{"polluted":true},${b.slice(1).length > 1 ? b.slice(1) : '"x":1}'}`, kind: 'proto' };
    }
    if (roll < 0.86) {
      const text = JSON.stringify(schemaBody());
      return { path, query, body: this.pick([text.slice(0, this.int(text.length)), '', 'null', '[]', '"s"', '12', 'true', '{"a":1}{', '\u0000', '{"a":1e400}', '{"MsgRandom":-0}']), kind: 'json' };
    }
    if (roll < 0.95) {
      const q = { ...query };
      const key = this.pick(Object.keys(q));
      q[key] = this.pick(['', 'x', '-1', '1400000002', '99999999999999999999', 'administrator', sig.slice(0, 20), 'JSON', '\u0000']);
      return { path, query: q, body: JSON.stringify(schemaBody()), kind: 'query' };
    }
    const other = this.pick([`/v4/${e.service}/${e.command}/x`, `/v4/${e.service}`, '/v4/', `/v4/desk_http_svc/${Buffer.from(this.str().slice(0, 20)).toString('hex')}`, '/v4/../etc/passwd', `/v4/${e.service}/${e.command.toUpperCase()}`]);
    return { path: other, query, body: JSON.stringify(schemaBody()), kind: 'path' };
  }
}

function post(agent: http.Agent, port: number, path: string, query: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `${path}?${new URLSearchParams(query)}`, agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

t.test(`REST fuzzing: ${REQUESTS} requests to every endpoint, every answer a v4 envelope, no handler failure (seed ${SEED})`, async (t) => {
  const dir = tempDir('desk-fuzz-rest-');
  // A second app the requests never name: after the campaign it shows the server still serves a whole conversation
  // (the fuzzed app's own settings may by then forbid one).
  const configFile = path.join(dir, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify({ apps: [testApp(MEMBERS, { maxConcurrentPerAgent: 100 }), { ...testApp(MEMBERS), sdkAppId: UNTOUCHED_APP }] }));
  const srv = await spawnServer({ script: 'custom', dataDir: dir, configFile, logLevel: 'error' });
  t.teardown(async () => {
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  // Some real sessions for the bodies to name.
  const agentSocket = await connect(srv.port, MEMBERS[0], 'agent');
  await agentSocket.request('agent.status', { status: 'free' });
  const sessionIds: string[] = [];
  for (const id of ['rf1', 'rf2']) sessionIds.push((await toHuman(await connect(srv.port, id, 'user'), agentSocket)).sessionId);

  const fz = new RestFuzzer(rng(SEED), sessionIds);
  const sig = genUserSig(APP, KEY, ADMIN, 86400);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  t.teardown(() => agent.destroy());
  const kinds: Record<string, number> = {};
  const codes: Record<string, number> = {};
  const bad: string[] = [];
  let done = 0;
  let next = 0;
  const started = Date.now();
  const worker = async (): Promise<void> => {
    while (next < REQUESTS && srv.alive()) {
      const req = fz.next(sig);
      next++;
      kinds[req.kind] = (kinds[req.kind] ?? 0) + 1;
      let res: { status: number; text: string };
      try {
        res = await post(agent, srv.port, req.path, req.query, req.body);
      } catch (err) {
        bad.push(`${req.kind} ${req.path}: ${(err as Error).message}`);
        continue;
      }
      done++;
      let env: { ActionStatus?: string; ErrorCode?: number } | undefined;
      try {
        env = JSON.parse(res.text);
      } catch {
        env = undefined;
      }
      const isEnvelope = res.status === 200 && env && (env.ActionStatus === 'OK' || env.ActionStatus === 'FAIL') && typeof env.ErrorCode === 'number';
      if (!isEnvelope && bad.length < 20) bad.push(`${req.kind} ${req.path} ${req.body.slice(0, 200)} → HTTP ${res.status} ${res.text.slice(0, 200)}`);
      if (env?.ErrorCode !== undefined) codes[env.ErrorCode] = (codes[env.ErrorCode] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  t.comment(`${done} requests in ${Date.now() - started} ms; kinds ${JSON.stringify(kinds)}; codes ${JSON.stringify(codes)}`);
  if (!srv.alive()) {
    t.fail('the server process died', { stderr: crashLines(srv.stderr()) });
    return;
  }
  t.equal(done, REQUESTS, 'every request was answered');
  t.same(bad, [], 'every answer is HTTP 200 with a v4 envelope');
  t.ok(Object.keys(codes).length > 10, 'the requests reached many different checks');
  t.ok((codes[0] ?? 0) > 0, 'some requests succeeded');

  const stderr = srv.stderr().split('\n').filter((l) => l.includes('"level":50') || l.includes('"level":60'));
  const distinct = [...new Set(stderr.map((l) => {
    const e = JSON.parse(l) as { msg: string; url?: string; err?: { message?: string } };
    return `${e.msg} ${e.url ?? ''}: ${e.err?.message ?? ''}`;
  }))];
  t.same(distinct, [], 'no handler threw and no actor failed');

  await conversation(t, srv.port, 'after-rest-fuzz', UNTOUCHED_APP);
  const r = await rest({ port: srv.port, sdkAppId: UNTOUCHED_APP, key: KEY, admin: ADMIN }, 'desk_http_svc/get_session_state', { CustomerServiceId: CS, ClientUserId: 'after-rest-fuzz' });
  t.match(r, { ActionStatus: 'OK', ErrorCode: 0 }, 'REST calls are still served');
  t.ok(srv.alive(), 'the process did not crash');
});
