/**
 * Frame fuzzing against a server in a child process (so a crash is observed, not suffered): random bytes,
 * truncated and mutated valid frames in JSON and msgpack, valid envelopes with random data, deep nesting, huge
 * numbers, wrong types and prototype-pollution keys, from several users and an agent that reconnect whenever the
 * server closes them. Afterwards the server must still serve a whole conversation and answer /healthz.
 *
 * Reproduce with FUZZ_SEED=<n> (default below); FUZZ_FRAMES sets the campaign size.
 */
import t, { type Test } from 'tap';
import { Packr } from 'msgpackr';
import fs from 'node:fs';
import WebSocket from 'ws';
import { Encoding } from '../../protocol/frames';
import { srcBody, type TestClient, textBody } from '../helpers/client';
import { testApp } from '../helpers/server';
import { rest } from '../contract/rest-client';
import {
  APP, connect, CS, dataOf, KEY, httpGet, isText, nextRandom, PROMPT, rng, seen, sleep, spawnServer, tempDir, toHuman, writeConfig, type ChildServer,
} from './_support';

const SEED = Number(process.env.FUZZ_SEED ?? 20260105);
const FRAMES = Number(process.env.FUZZ_FRAMES ?? 12_000);
const ALICE = 'alice@desk.test';
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

type Kind = 'bytes' | 'truncated' | 'mutated' | 'envelope' | 'fields' | 'deep' | 'numbers' | 'bigint' | 'proto' | 'valid' | 'oversize';
interface Fuzzed { kind: Kind; data: string | Buffer; binary: boolean }

const USER_TYPES = ['message.send', 'history.sync', 'ping'];
const AGENT_TYPES = ['message.send', 'agent.status', 'session.accept', 'session.end', 'session.transfer', 'session.invite_rating', 'session.suspend', 'session.unsuspend', 'typing', 'history.sync', 'ping'];
// ('toJSON' only appears in raw JSON text: as an own key of an object it would break the client's own encoder.)
const DANGEROUS_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'then', 'length', 'type', 'data', 'ref', '$$root', '$$strict'];
const SPECIAL_NUMBERS = [0, -0, 1, -1, 0.5, 2 ** 31, 2 ** 32, 2 ** 32 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e308, -1e308, Number.MIN_VALUE, Number.MAX_VALUE, 5e-324, 123456789.123];
const WEIRD_STRINGS = ['', ' ', '\u0000', '\ud800', '\udfff', '😀', '字', '|', '||', CS, '@customer_service_account|x', 'null', 'undefined', 'NaN', '%s%n', '../../etc/passwd', '<script>', '\\', '"', '\n\r\t', '转人工', 'human'];

/** A msgpack message.send whose text element's MsgContent.n is `inner` (raw msgpack bytes). */
function packWith(inner: Buffer, text = 'bin'): Buffer {
  const marker = '\u0001MARK\u0001';
  const buf = packr.pack({ type: 'message.send', ref: 1, data: { to: CS, random: nextRandom(), body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: text, n: marker } }] } });
  const m = packr.pack(marker);
  const at = buf.indexOf(m);
  return Buffer.concat([buf.subarray(0, at), inner, buf.subarray(at + m.length)]);
}

class Fuzzer {
  private readonly keys: string[];
  constructor(private readonly r: () => number, private readonly sessionIds: () => string[]) {
    this.keys = DANGEROUS_KEYS;
  }

  int(n: number): number { return Math.floor(this.r() * n); }
  pick<T>(a: readonly T[]): T { return a[this.int(a.length)]; }
  chance(p: number): boolean { return this.r() < p; }

  str(): string {
    if (this.chance(0.4)) return this.pick(WEIRD_STRINGS);
    if (this.chance(0.1)) return this.pick(this.keys);
    if (this.chance(0.05)) return 'x'.repeat(this.int(20_000));
    let s = '';
    const n = this.int(24);
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.chance(0.8) ? 32 + this.int(95) : this.int(0x10000));
    return s;
  }

  num(): number {
    if (this.chance(0.5)) return this.pick(SPECIAL_NUMBERS);
    return (this.r() - 0.5) * 10 ** this.int(20);
  }

  value(depth: number): unknown {
    const k = this.int(depth > 0 ? 9 : 6);
    switch (k) {
      case 0: return null;
      case 1: return this.chance(0.5);
      case 2: return this.num();
      case 3: return this.int(5000);
      case 4: case 5: return this.str();
      case 6: case 7: return this.obj(depth - 1);
      default: return Array.from({ length: this.int(5) }, () => this.value(depth - 1));
    }
  }

  obj(depth: number): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    const n = this.int(6);
    for (let i = 0; i < n; i++) {
      const key = this.chance(0.3) ? this.pick(this.keys) : this.str().slice(0, 20);
      Object.defineProperty(o, key, { value: this.value(depth), enumerable: true, writable: true, configurable: true });
    }
    return o;
  }

  ref(): unknown { return this.pick([undefined, this.int(1e6), `f${this.int(1e6)}`, this.value(1)]); }

  body(): unknown[] {
    const n = 1 + this.int(3);
    return Array.from({ length: n }, () => this.pick([
      textBody(this.pick(['hello', '转人工', 'human', this.str()]))[0],
      srcBody(this.pick(['7', '10', '24', '27', '33', '99', this.str()]), this.chance(0.5) ? { menuSelected: { id: this.pick(['101', '105', '999', this.str()]), sessionId: this.pick(this.sessionIds().concat(['x'])) } } : {})[0],
      { MsgType: 'TIMImageElem', MsgContent: this.obj(2) },
      { MsgType: 'TIMTextElem', MsgContent: { Text: 'with extras', ...this.obj(2) } },
    ]));
  }

  /** A well-formed frame for the role (the material for truncation, mutation and field swaps). */
  valid(role: 'user' | 'agent'): { type: string; ref?: unknown; data: Record<string, unknown> } {
    const sid = this.pick(this.sessionIds().concat(['no-such-session']));
    const ref = `v${this.int(1e6)}`;
    if (role === 'user') {
      return this.pick([
        { type: 'ping', ref, data: {} },
        { type: 'history.sync', ref, data: { to: CS, afterSeq: this.int(50) } },
        { type: 'history.sync', ref, data: { sessionId: sid, afterSeq: 0, limit: 1 + this.int(10) } },
        { type: 'message.send', ref, data: { to: CS, random: this.int(2 ** 32), body: this.body() } },
        { type: 'message.send', ref, data: { to: CS, random: this.int(2 ** 32), body: textBody('plain words'), cloudCustomData: this.str().slice(0, 100) } },
      ]);
    }
    return this.pick([
      { type: 'ping', ref, data: {} },
      { type: 'agent.status', ref, data: { status: this.pick(['free', 'busy', 'rest', 'offline', 'free', 'free']), reason: 'fuzz' } },
      { type: 'message.send', ref, data: { sessionId: sid, random: this.int(2 ** 32), body: this.body() } },
      { type: 'history.sync', ref, data: { sessionId: sid, afterSeq: 0 } },
      { type: this.pick(AGENT_TYPES.filter((x) => x.startsWith('session.') || x === 'typing')), ref, data: { sessionId: sid } },
      { type: 'session.transfer', ref, data: { sessionId: sid, memberId: this.pick([ALICE, 'bob@desk.test', 'x']), groupId: this.pick([1, 2, 99]) } },
    ]);
  }

  encode(frame: unknown, binary: boolean): string | Buffer {
    return binary ? packr.pack(frame) : JSON.stringify(frame) ?? 'null';
  }

  deepJson(depth: number): string {
    return this.chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  }

  next(role: 'user' | 'agent'): Fuzzed {
    const binary = this.chance(0.5);
    const roll = this.r();
    if (roll < 0.10) {
      const b = Buffer.alloc(this.int(512));
      for (let i = 0; i < b.length; i++) b[i] = this.int(256);
      return { kind: 'bytes', data: b, binary };
    }
    if (roll < 0.22) {
      const enc = this.encode(this.valid(role), binary);
      const buf = Buffer.isBuffer(enc) ? enc : Buffer.from(enc);
      return { kind: 'truncated', data: binary ? buf.subarray(0, this.int(buf.length)) : buf.subarray(0, this.int(buf.length)).toString('utf8'), binary };
    }
    if (roll < 0.37) {
      const enc = this.encode(this.valid(role), binary);
      const buf = Buffer.from(Buffer.isBuffer(enc) ? enc : Buffer.from(enc));
      const n = 1 + this.int(4);
      let out = buf;
      for (let i = 0; i < n && out.length > 0; i++) {
        const at = this.int(out.length);
        const op = this.int(3);
        if (op === 0) out[at] = this.int(256);
        else if (op === 1) out = Buffer.concat([out.subarray(0, at), Buffer.from([this.int(256)]), out.subarray(at)]);
        else out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
      }
      return { kind: 'mutated', data: binary ? out : out.toString('latin1'), binary };
    }
    if (roll < 0.52) {
      const types = role === 'user' ? USER_TYPES : AGENT_TYPES;
      const frame = { type: this.chance(0.8) ? this.pick(types) : this.str(), ref: this.ref(), data: this.chance(0.9) ? this.obj(3) : this.value(3) };
      return { kind: 'envelope', data: this.encode(frame, binary), binary };
    }
    if (roll < 0.70) {
      const frame = this.valid(role);
      const keys = Object.keys(frame.data);
      if (keys.length && this.chance(0.8)) frame.data[this.pick(keys)] = this.value(2);
      else frame.data[this.pick(this.keys)] = this.value(2);
      if (this.chance(0.2)) (frame as Record<string, unknown>)[this.pick(['ref', 'type', 'data'])] = this.value(1);
      return { kind: 'fields', data: this.encode(frame, binary), binary };
    }
    if (roll < 0.75) {
      const depth = this.pick([10, 100, 500, 1000, 2000, 5000, 20_000]);
      if (binary) {
        const inner = Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0x90])]);
        return { kind: 'deep', data: this.chance(0.5) ? packWith(inner, this.chance(0.3) ? 'p'.repeat(13_000) : 'deep') : inner, binary };
      }
      const deep = this.deepJson(depth);
      const where = this.int(4);
      const pad = this.chance(0.3) ? 'p'.repeat(13_000) : 'deep';
      const data = where === 0 ? deep
        : where === 1 ? `{"type":"ping","data":${deep}}`
          : `{"type":"message.send","ref":1,"data":{"to":"${CS}","random":${this.int(2 ** 32)},"body":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"${pad}","n":${deep}}}]}}`;
      return { kind: 'deep', data, binary: false };
    }
    if (roll < 0.81) {
      const lits = ['1e400', '-1e400', '1e-400', '123456789012345678901234567890', '-0', '0.0000000000000000001', '9007199254740993', '4294967296', '-1', '1.5'];
      const lit = this.pick(lits);
      const field = this.pick(['random', 'afterSeq', 'limit', 'groupId']);
      const data = field === 'random'
        ? `{"type":"message.send","ref":2,"data":{"to":"${CS}","random":${lit},"body":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"n","x":${lit}}}]}}`
        : field === 'groupId'
          ? `{"type":"session.transfer","ref":${lit},"data":{"sessionId":"s","groupId":${lit}}}`
          : `{"type":"history.sync","ref":3,"data":{"to":"${CS}","afterSeq":${field === 'afterSeq' ? lit : 0},"limit":${field === 'limit' ? lit : 1}}}`;
      if (!binary) return { kind: 'numbers', data, binary };
      const frame = this.valid(role);
      const key = this.pick(Object.keys(frame.data).concat(['afterSeq']));
      frame.data[key] = this.pick([NaN, Infinity, -Infinity, 1e308, -0, 2 ** 64, 2 ** 53 + 2]);
      return { kind: 'numbers', data: packr.pack(frame), binary };
    }
    if (roll < 0.84) {
      // 64-bit integers decode as BigInt: in an envelope field, in MsgContent, and in a >12 KB frame.
      const big = this.pick([5n, 2n ** 63n, -(2n ** 63n), 2n ** 64n - 1n]);
      const frame = this.valid('user');
      const where = this.int(3);
      if (where === 0) frame.data.random = big;
      else frame.data = { to: CS, random: this.int(2 ** 32), body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: where === 2 ? 'b'.repeat(13_000) : 'big', n: big } }] };
      frame.type = 'message.send';
      return { kind: 'bigint', data: packr.pack(frame), binary: true };
    }
    if (roll < 0.92) {
      const k = this.pick(this.keys);
      const variants = [
        `{"type":"ping","data":{},"__proto__":{"type":"message.send","admin":true}}`,
        `{"__proto__":{"type":"ping","data":{}}}`,
        `{"type":"message.send","ref":"p","data":{"to":"${CS}","random":${this.int(2 ** 32)},"body":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"p","${k}":{"polluted":true}}}],"__proto__":{"isAdmin":true}}}`,
        `{"type":"message.send","ref":"p","data":{"to":"${CS}","random":1,"body":[{"MsgType":"TIMTextElem","MsgContent":{"__proto__":{"Text":"inherited"}}}]}}`,
        `{"type":"history.sync","ref":"p","data":{"to":"${CS}","afterSeq":0,"constructor":{"prototype":{"polluted":true}}}}`,
        `{"type":"history.sync","ref":"p","data":{"__proto__":{"to":"${CS}","afterSeq":0}}}`,
        `{"type":"${k}","ref":"p","data":{"${k}":{"${k}":1}}}`,
        `{"type":"message.send","ref":"p","data":{"to":"${CS}","random":2,"body":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"j","toJSON":"not a function"}}]}}`,
        `{"type":"agent.status","ref":"p","data":{"status":"free","__proto__":{"status":"offline"}}}`,
        `{"type":"session.transfer","ref":"p","data":{"sessionId":"__proto__","memberId":"constructor"}}`,
        `{"type":"message.send","ref":"p","data":{"to":"__proto__","random":1,"body":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"}}]}}`,
        `{"type":"message.send","ref":"p","data":{"to":"constructor","random":1,"body":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"}}]}}`,
        `{"type":"message.send","ref":"p","data":{"to":"hasOwnProperty","random":1,"body":[{"MsgType":"toString","MsgContent":{"Text":"x"}}]}}`,
      ];
      const text = this.pick(variants);
      return binary ? { kind: 'proto', data: packr.pack(JSON.parse(text)), binary } : { kind: 'proto', data: text, binary };
    }
    if (roll < 0.998) return { kind: 'valid', data: this.encode(this.valid(role), binary), binary };
    return { kind: 'oversize', data: binary ? Buffer.alloc(70 * 1024, 0x41) : 'x'.repeat(70 * 1024), binary };
  }
}

/** The interesting part of a dead server's stderr: the error and the first frames of its stack. */
function crashLines(stderr: string): string[] {
  const lines = stderr.split('\n');
  // An uncaught exception prints a plain stack (log lines are JSON).
  const at = lines.findIndex((l) => !l.startsWith('{') && /Error/.test(l));
  const out = (at < 0 ? lines.slice(-12) : lines.slice(Math.max(0, at - 3), at + 14)).map((l) => l.slice(0, 400));
  const deduped: string[] = [];
  for (const l of out) if (deduped[deduped.length - 1] !== l) deduped.push(l);
  return deduped;
}

/** Prototype keys taken for customer-service accounts (badinput.test covers it); tolerated in the second campaign. */

interface Slot { identity: string; role: 'user' | 'agent'; enc: Encoding; c?: TestClient; reconnects: number }

function preview(f: Fuzzed): string {
  const b = Buffer.isBuffer(f.data) ? f.data : Buffer.from(f.data);
  return `${f.kind}/${f.binary ? 'bin' : 'text'}/${b.length}B ${f.binary ? b.subarray(0, 48).toString('hex') : b.subarray(0, 120).toString('utf8')}`;
}

async function serverFor(t: Test, limits: Record<string, number>): Promise<ChildServer> {
  const dir = tempDir('desk-fuzz-');
  const configFile = writeConfig(dir, testApp([ALICE], { maxConcurrentPerAgent: 100 }));
  const srv = await spawnServer({ script: 'custom', dataDir: dir, configFile, limits, logLevel: 'error' });
  t.teardown(async () => {
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return srv;
}

/** A normal conversation end to end: src 7 → transfer → agent → messages both ways → end. */
async function conversation(t: Test, port: number, userId: string): Promise<void> {
  const agent = await connect(port, ALICE, 'agent');
  const status = await agent.request('agent.status', { status: 'free' });
  t.equal(status.type, 'agent.status', 'the agent sets itself free');
  const user = await connect(port, userId, 'user');
  const { sessionId } = await toHuman(user, agent);
  await user.request('message.send', { to: CS, random: nextRandom(), body: textBody('after the storm') });
  await seen(agent, isText('after the storm'), 'user → agent');
  const ack = await agent.request('message.send', { sessionId, random: nextRandom(), body: textBody('all calm here') });
  t.equal(ack.type, 'message.ack');
  await seen(user, isText('all calm here'), 'agent → user');
  const end = await agent.request('session.end', { sessionId });
  t.equal(end.type, 'session.end.ok');
  await seen(user, isText(PROMPT.activeEnd), 'end prompt');
  const ended = await seen(agent, (f) => f.type === 'session.ended' && dataOf<{ sessionId: string }>(f).sessionId === sessionId, 'session.ended');
  t.equal(dataOf<{ endStatus: string }>(ended).endStatus, 'AgentEndedSession');
  await user.close();
  await agent.close();
}

async function campaign(t: Test, o: { seed: number; frames: number; budgetMs: number }): Promise<void> {
  const started = Date.now();
  const srv = await serverFor(t, { framesPerSec: 1_000_000, burst: 1_000_000, invalidBeforeClose: 200 });
  t.comment(`seed ${o.seed}, ${o.frames} frames, server port ${srv.port}`);
  const r = rng(o.seed);
  const sessionIds = new Set<string>();
  const slots: Slot[] = [
    { identity: 'fz0', role: 'user', enc: Encoding.Json, reconnects: 0 },
    { identity: 'fz0', role: 'user', enc: Encoding.Msgpack, reconnects: 0 },
    { identity: 'fz1', role: 'user', enc: Encoding.Json, reconnects: 0 },
    { identity: 'fz2', role: 'user', enc: Encoding.Msgpack, reconnects: 0 },
    { identity: ALICE, role: 'agent', enc: Encoding.Json, reconnects: 0 },
    { identity: ALICE, role: 'agent', enc: Encoding.Msgpack, reconnects: 0 },
  ];
  const open = async (s: Slot): Promise<TestClient> => {
    if (s.c && s.c.ws.readyState === WebSocket.OPEN) return s.c;
    if (s.c) s.reconnects++;
    s.c = await connect(srv.port, s.identity, s.role, s.enc);
    return s.c;
  };
  for (const s of slots) await open(s);
  // Put fz0 in service so its messages are delivered to the agent's sockets too. Frames name only this session
  // (and a missing one), so the frame sequence depends on the seed alone.
  const { sessionId } = await toHuman(slots[0].c!, [slots[4].c!, slots[5].c!]);
  sessionIds.add(sessionId);

  const fz = new Fuzzer(r, () => [...sessionIds]);
  const recent: string[] = [];
  const kinds: Record<string, number> = {};
  let sent = 0;
  let crashedAt: number | undefined;
  for (let i = 0; i < o.frames; i++) {
    if (Date.now() - started > o.budgetMs) break;
    const slot = slots[fz.int(slots.length)];
    const f = fz.next(slot.role);
    let c: TestClient | undefined;
    for (let attempt = 0; attempt < 5 && !c; attempt++) {
      try {
        c = await open(slot);
      } catch {
        await sleep(50 * (attempt + 1));
      }
    }
    if (!c || !srv.alive()) { crashedAt = i; break; }
    c.ws.send(f.data, { binary: f.binary });
    sent++;
    kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
    recent.push(`#${i} ${slot.identity}/${slot.role}: ${preview(f)}`);
    if (recent.length > 12) recent.shift();
    if (i % 50 === 49) await new Promise((res) => setImmediate(res));
    if (i % 500 === 499) {
      await sleep(5);
      if (!srv.alive()) { crashedAt = i; break; }
    }
  }
  await sleep(300);
  const alive = srv.alive();
  t.comment(`sent ${sent} frames in ${Date.now() - started} ms; kinds ${JSON.stringify(kinds)}; reconnects ${slots.map((s) => `${s.identity}/${s.enc}:${s.reconnects}`).join(' ')}`);
  if (!alive || crashedAt !== undefined) {
    const exit = await Promise.race([srv.exited, sleep(2000).then(() => undefined)]);
    t.fail(`the server process died (exit ${exit ? exit.code ?? exit.signal : 'unknown'}) around frame ${crashedAt ?? sent}`, {
      stderr: crashLines(srv.stderr()), lastFrames: recent,
    });
    return;
  }
  t.ok(sent >= Math.min(o.frames, 10_000), `at least 10,000 frames were sent (${sent})`);
  for (const s of slots) s.c?.ws.terminate();

  const health = await httpGet(srv.port, '/healthz');
  t.equal(health.status, 200, '/healthz answers 200');
  await conversation(t, srv.port, `after-fuzz-${o.seed}`);
  t.equal((await httpGet(srv.port, '/healthz')).status, 200, '/healthz still 200 after the conversation');
  t.ok(srv.alive(), 'the process did not crash');
  const errors = srv.stderr().split('\n').filter((l) => l.includes('"level":50') || l.includes('"level":60'));
  t.comment(`${errors.length} error-level log lines`);
  t.notOk(srv.stderr().includes('"level":60'), 'no fatal log line');
  const distinct = new Map<string, number>();
  for (const l of errors) {
    const e = JSON.parse(l) as { msg: string; err?: { message?: string; stack?: string }; actor?: string; msg2?: unknown };
    const where = /\n\s+at (\S+)/.exec(e.err?.stack ?? '')?.[1] ?? '';
    const key = `${e.msg}: ${e.err?.message ?? ''} (at ${where}; actor ${(e.actor ?? '').replace(/\|[^|]*$/, '|…')})`;
    distinct.set(key, (distinct.get(key) ?? 0) + 1);
  }
  // "A throw is a bug" (ARCHITECTURE §2): every actor failure or dispatch failure is reported here.
  const all = [...distinct.entries()].map(([k, n]) => `${n}× ${k}`);
  t.same(all, [], 'no actor or dispatch failures logged');
}

t.test(`fuzz campaign: ${FRAMES} random and mutated frames, then a normal conversation (seed ${SEED})`, async (t) => {
  await campaign(t, { seed: SEED, frames: FRAMES, budgetMs: 25_000 });
});

t.test(`fuzz campaign with a second seed (${SEED + 1})`, async (t) => {
  await campaign(t, { seed: SEED + 1, frames: FRAMES, budgetMs: 25_000 });
});

/** Sends `send` from a fresh socket set and checks the server is still there and serving. */
async function survives(t: Test, name: string, send: (u: TestClient, agent: TestClient, u2: TestClient, port: number) => Promise<void>): Promise<void> {
  const srv = await serverFor(t, {});
  const agent = await connect(srv.port, ALICE, 'agent');
  const u = await connect(srv.port, `rg-${name}`, 'user');
  const u2 = await connect(srv.port, `rg-${name}`, 'user');
  await toHuman(u, agent);
  await send(u, agent, u2, srv.port);
  await sleep(500);
  if (!srv.alive()) {
    const exit = await srv.exited;
    t.fail(`the server process died (exit ${exit.code ?? exit.signal})`, { stderr: crashLines(srv.stderr()) });
    return;
  }
  t.equal((await httpGet(srv.port, '/healthz')).status, 200, '/healthz 200');
  await conversation(t, srv.port, `rg-after-${name}`);
}

const deepArrayJson = (depth: number, pad: string) =>
  `{"type":"message.send","ref":"deep","data":{"to":"${CS}","random":${nextRandom()},"body":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"${pad}","n":${'['.repeat(depth)}${']'.repeat(depth)}}}]}}`;

t.test('regression: a 2000-deep array inside MsgContent (4 KB JSON frame) does not kill the server', async (t) => {
  await survives(t, 'deep-small', async (u) => {
    u.sendRaw(deepArrayJson(2000, 'deep'));
  });
});

t.test('regression: a 5000-deep array inside MsgContent of a frame over 12 KB does not kill the server', async (t) => {
  await survives(t, 'deep-big', async (u) => {
    u.sendRaw(deepArrayJson(5000, 'p'.repeat(4000)));
  });
});

const packBig = (text: string): Buffer => packr.pack({ type: 'message.send', ref: 'big', data: { to: CS, random: nextRandom(), body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: text, n: 5n } }] } });

t.test('regression: a msgpack 64-bit integer inside MsgContent, relayed to a JSON agent, does not kill the server', async (t) => {
  await survives(t, 'bigint-relay', async (u) => {
    u.ws.send(packBig('big number'));
  });
});

t.test('regression: a msgpack 64-bit integer inside MsgContent of a frame over 12 KB does not kill the server', async (t) => {
  await survives(t, 'bigint-big', async (u) => {
    u.ws.send(packBig('b'.repeat(13_000)));
  });
});

t.test('regression: an array holding an object with a non-callable toString in a validated field does not kill the server', async (t) => {
  // fastest-validator formats the rejected value into its message: String([{ toString: 1 }]) throws.
  await survives(t, 'tostring-ref', async (u) => {
    u.sendRaw('{"type":"ping","ref":[{"toString":1}],"data":{}}');
  });
});

t.test('regression: the same trap in an agent frame (status: [{"valueOf":0,"toString":0}]) does not kill the server', async (t) => {
  await survives(t, 'valueof-status', async (_u, agent) => {
    agent.sendRaw('{"type":"agent.status","ref":"s","data":{"status":[{"valueOf":0,"toString":0}]}}');
  });
});

t.test('control: the same messages without the poison are fine', async (t) => {
  await survives(t, 'control', async (u, agent) => {
    u.sendRaw(deepArrayJson(100, 'shallow'));
    u.ws.send(packr.pack({ type: 'message.send', ref: 'c', data: { to: CS, random: nextRandom(), body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'small int', n: 5 } }] } }));
    await seen(agent, isText('small int'), 'relayed');
    const mark = u.frames.length;
    u.sendRaw('{"type":"ping","ref":[{"toStr":1}],"data":{}}');
    const e = await seen(u, (f) => f.type === 'error', 'error for an array ref', mark);
    t.equal(dataOf<{ code: number }>(e).code, 141004, 'a harmless array ref is just refused');
  });
});


/** A message.send frame whose first element carries `extra` beside MsgType and MsgContent. */
const withExtra = (extraJson: string) =>
  `{"type":"message.send","ref":"x","data":{"to":"${CS}","random":${nextRandom()},"body":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"},"extra":${extraJson}}]}}`;
const nested = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

t.test('regression: an element key nested 1,500 levels deep (3 KB frame) is refused with an error, and the server lives on', async (t) => {
  await survives(t, 'deep-extra-key', async (u) => {
    const mark = u.frames.length;
    u.sendRaw(withExtra(nested(1500)));
    const e = await seen(u, (f) => f.type === 'error', 'error for the deep frame', mark);
    t.equal(dataOf<{ code: number }>(e).code, 141004, 'refused as an illegal parameter');
    t.equal(e.ref, 'x', 'the error names the frame');
    t.match(dataOf<{ info: string }>(e).info, /nested too deeply/);
  });
});

t.test('an element key a few levels deep is accepted and dropped: only MsgType and MsgContent are kept', async (t) => {
  await survives(t, 'shallow-extra-key', async (u, agent) => {
    const ack = await u.request('message.send', { to: CS, random: nextRandom(), body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'extras' }, extra: { a: { b: 1 } } }] });
    t.equal(ack.type, 'message.ack');
    const m = await seen(agent, isText('extras'), 'relayed');
    t.same(dataOf<{ body: unknown[] }>(m).body, [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'extras' } }], 'the extra key is not relayed');
  });
});

/** msgpack values that are not JSON data: binary, and extension types (raw bytes where no encoder makes them). */
const NOT_JSON: [string, Buffer][] = [
  ['binary (bin 8)', Buffer.from('c40b' + '07'.repeat(11), 'hex')],
  ['binary (bin 16, 3 KB)', Buffer.concat([Buffer.from('c50bb8', 'hex'), Buffer.alloc(3000, 7)])],
  ['timestamp ext', Buffer.from('d6ff00000001', 'hex')],
  ['undefined ext', Buffer.from('d40000', 'hex')],
  ['set ext', new Packr({ moreTypes: true, structuredClone: true } as never).pack(new Set([1, 2]))],
  ['typed array ext', new Packr({ moreTypes: true } as never).pack(new Float64Array([1, 2]))],
  ['error ext', new Packr({ moreTypes: true } as never).pack(new Error('x'))],
  ['regexp ext', new Packr({ moreTypes: true } as never).pack(/x/)],
  ['cycle (referencing ext)', (() => { const o: Record<string, unknown> = { a: 1 }; o.self = o; return new Packr({ structuredClone: true } as never).pack(o); })()],
  ['NaN', Buffer.from('cb7ff8000000000000', 'hex')],
];

t.test('regression: msgpack frames carrying binary or extension values in the body are refused, never stored', async (t) => {
  await survives(t, 'binary-values', async (u, agent) => {
    for (const [name, inner] of NOT_JSON) {
      const mark = u.frames.length;
      u.ws.send(packWith(inner));
      const reply = await seen(u, (f) => f.type === 'error' || f.type === 'message.ack', `reply to ${name}`, mark);
      t.equal(reply.type, 'error', `${name}: refused`);
      t.equal(dataOf<{ code: number }>(reply).code, 141004, `${name}: as an illegal parameter`);
    }
    // Binary in the envelope, outside the body, too.
    const mark = u.frames.length;
    u.ws.send(packr.pack({ type: 'ping', ref: 'bin', data: { b: Buffer.alloc(10) } }));
    t.equal((await seen(u, (f) => f.ref === 'bin', 'reply to a binary ping', mark)).type, 'error', 'binary anywhere in a frame is refused');
    const history = await agent.request('history.sync', { sessionId: dataOf<{ sessionId: string }>(await seen(agent, (f) => f.type === 'session.assigned', 'assigned')).sessionId, afterSeq: 0 });
    t.notOk(JSON.stringify(history.data).includes('"n"'), 'none of them reached the history');
  });
});

t.test('regression: REST send_msg with an element key nested 1,500 levels deep is refused with the v4 envelope, and the server lives on', async (t) => {
  await survives(t, 'rest-deep', async (_u, agent, _u2, port) => {
    const sessionId = dataOf<{ sessionId: string }>(await seen(agent, (f) => f.type === 'session.assigned', 'assigned')).sessionId;
    const target = { port, sdkAppId: APP, key: KEY, admin: 'administrator' };
    const deep = `{"SessionId":"${sessionId}","MsgRandom":7,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"},"extra":${nested(1500)}}]}`;
    const r = await rest(target, 'desk_http_svc/send_msg', deep);
    t.equal(r.ActionStatus, 'FAIL');
    t.equal(r.ErrorCode, 141004, 'an illegal parameter');
    t.match(String(r.ErrorInfo), /nested too deeply/);
    const inContent = await rest(target, 'desk_http_svc/send_msg', { SessionId: sessionId, MsgRandom: 8, MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'x', n: JSON.parse(nested(12)) } }] });
    t.equal(inContent.ErrorCode, 90002, 'MsgContent nested past 8 levels is a bad element (90002), as over WebSocket');
  });
});
