/**
 * The frame fuzzer and its campaign against a server in a child process (so a crash is observed, not suffered):
 * random bytes, truncated and mutated valid frames in JSON and msgpack, valid envelopes with random data, nesting
 * around and far past the input limit, frames at and past the size limits, msgpack values JSON cannot carry (binary,
 * extension types, NaN, records, cycles) planted anywhere, huge numbers, wrong types and prototype-pollution keys,
 * from several users and an agent that reconnect whenever the server closes them. Afterwards the server must still
 * serve a whole conversation and answer /healthz. (Not a test file: the fuzz*.test files run it.)
 *
 * Reproduce with FUZZ_SEED=<n>; FUZZ_FRAMES sets the size of the campaign.
 */
import type { Test } from 'tap';
import { Packr } from 'msgpackr';
import fs from 'node:fs';
import WebSocket from 'ws';
import { Encoding } from '../../protocol/frames';
import { srcBody, type TestClient, textBody } from '../helpers/client';
import { testApp } from '../helpers/server';
import {
  APP, connect, CS, dataOf, httpGet, isText, nextRandom, PROMPT, rng, seen, sleep, spawnServer, tempDir, toHuman, writeConfig, type ChildServer,
} from './_support';

export const SEED = Number(process.env.FUZZ_SEED ?? 20260105);
export const FRAMES = Number(process.env.FUZZ_FRAMES ?? 80_000);
const ALICE = 'alice@desk.test';
export const packr = new Packr({ useRecords: false, mapsAsObjects: true });

type Kind = 'bytes' | 'truncated' | 'mutated' | 'envelope' | 'fields' | 'deep' | 'nested' | 'huge' | 'poison' | 'numbers' | 'bigint' | 'proto' | 'valid' | 'oversize';
interface Fuzzed { kind: Kind; data: string | Buffer; binary: boolean }

const USER_TYPES = ['message.send', 'history.sync', 'ping'];
const AGENT_TYPES = ['message.send', 'agent.status', 'session.accept', 'session.end', 'session.transfer', 'session.invite_rating', 'session.suspend', 'session.unsuspend', 'typing', 'history.sync', 'ping'];
// ('toJSON' only appears in raw JSON text: as an own key of an object it would break the client's own encoder.)
const DANGEROUS_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'then', 'length', 'type', 'data', 'ref', '$$root', '$$strict'];
const SPECIAL_NUMBERS = [0, -0, 1, -1, 0.5, 2 ** 31, 2 ** 32, 2 ** 32 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e308, -1e308, Number.MIN_VALUE, Number.MAX_VALUE, 5e-324, 123456789.123];
const WEIRD_STRINGS = ['', ' ', '\u0000', '\ud800', '\udfff', '😀', '字', '|', '||', CS, '@customer_service_account|x', 'null', 'undefined', 'NaN', '%s%n', '../../etc/passwd', '<script>', '\\', '"', '\n\r\t', '转人工', 'human'];

/** A msgpack message.send whose text element's MsgContent.n is `inner` (raw msgpack bytes). */
export function packWith(inner: Buffer, text = 'bin'): Buffer {
  const marker = '\u0001MARK\u0001';
  const buf = packr.pack({ type: 'message.send', ref: 1, data: { to: CS, random: nextRandom(), body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: text, n: marker } }] } });
  const m = packr.pack(marker);
  const at = buf.indexOf(m);
  return Buffer.concat([buf.subarray(0, at), inner, buf.subarray(at + m.length)]);
}

/** msgpack values that are not JSON data: binary, and extension types (raw bytes where no encoder makes them). */
export const POISONS: [string, Buffer][] = [
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
  ['Infinity', Buffer.from('cb7ff0000000000000', 'hex')],
  ['binary (bin 32)', Buffer.from('c6000000020102', 'hex')],
  ['96-bit timestamp ext', Buffer.from('c70cff' + '00'.repeat(12), 'hex')],
  ['unknown ext', Buffer.from('d40500', 'hex')],
  ['record ext', new Packr({ useRecords: true } as never).pack({ a: 1, b: [2] })],
  ['bigint ext', new Packr({ useBigIntExtension: true } as never).pack(2n ** 80n)],
];

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
    if (roll < 0.07) {
      const b = Buffer.alloc(this.int(512));
      for (let i = 0; i < b.length; i++) b[i] = this.int(256);
      return { kind: 'bytes', data: b, binary };
    }
    if (roll < 0.15) {
      const enc = this.encode(this.valid(role), binary);
      const buf = Buffer.isBuffer(enc) ? enc : Buffer.from(enc);
      return { kind: 'truncated', data: binary ? buf.subarray(0, this.int(buf.length)) : buf.subarray(0, this.int(buf.length)).toString('utf8'), binary };
    }
    if (roll < 0.25) {
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
    if (roll < 0.35) {
      const types = role === 'user' ? USER_TYPES : AGENT_TYPES;
      const frame = { type: this.chance(0.8) ? this.pick(types) : this.str(), ref: this.ref(), data: this.chance(0.9) ? this.obj(3) : this.value(3) };
      return { kind: 'envelope', data: this.encode(frame, binary), binary };
    }
    if (roll < 0.47) {
      const frame = this.valid(role);
      const keys = Object.keys(frame.data);
      if (keys.length && this.chance(0.8)) frame.data[this.pick(keys)] = this.value(2);
      else frame.data[this.pick(this.keys)] = this.value(2);
      if (this.chance(0.2)) (frame as Record<string, unknown>)[this.pick(['ref', 'type', 'data'])] = this.value(1);
      return { kind: 'fields', data: this.encode(frame, binary), binary };
    }
    if (roll < 0.51) {
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
    if (roll < 0.59) return this.nested(role, binary);
    if (roll < 0.64) return this.huge(role, binary);
    if (roll < 0.76) return this.poisoned(role);
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

  /** A container (object or array) somewhere in `v`, the root included. */
  container(v: unknown): Record<string, unknown> | unknown[] {
    const found: (Record<string, unknown> | unknown[])[] = [];
    const walk = (x: unknown): void => {
      if (x === null || typeof x !== 'object') return;
      found.push(x as Record<string, unknown>);
      for (const y of Object.values(x)) walk(y);
    };
    walk(v);
    return this.pick(found);
  }

  /** Puts `value` into a random container of `frame`: a new key of an object, or an element of an array. */
  plant(frame: unknown, value: unknown): void {
    const c = this.container(frame);
    if (Array.isArray(c)) c.splice(this.int(c.length + 1), 0, value);
    else c[this.chance(0.3) && Object.keys(c).length ? this.pick(Object.keys(c)) : this.pick(['extra', 'x', 'MsgContent', 'Ext', this.str().slice(0, 8)])] = value;
  }

  /** Objects and arrays nested around the input limit (16 levels), or far past it, anywhere in a valid frame. */
  nested(role: 'user' | 'agent', binary: boolean): Fuzzed {
    const depth = this.pick([2, 6, 8, 9, 11, 12, 13, 14, 15, 16, 17, 20, 64, 1500, 3000]);
    const frame = this.valid(role);
    if (depth <= 64) {
      let v: unknown = this.value(0);
      for (let i = 0; i < depth; i++) v = this.chance(0.5) ? [v] : { [this.pick(['a', 'Text', 'Data', '__proto__'])]: v };
      this.plant(frame, v);
      return { kind: 'nested', data: this.encode(frame, binary), binary };
    }
    // Past what the client's own encoders recurse through: spliced in as raw bytes.
    const raw = binary
      ? Buffer.concat([Buffer.from('81a161'.repeat(depth), 'hex'), Buffer.from([0x01])])
      : Buffer.from('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
    return { kind: 'nested', data: this.spliced(frame, binary, raw), binary };
  }

  /** Valid frames at and past the size limits: long texts, many elements, wide objects and arrays. */
  huge(role: 'user' | 'agent', binary: boolean): Fuzzed {
    const frame = this.valid(role);
    const long = (n: number) => this.pick(['a', '字', '😀', 'ab\u0000']).repeat(n);
    const variants: (() => void)[] = [
      () => { frame.data.body = Array.from({ length: this.pick([19, 20, 21, 200]) }, () => ({ MsgType: 'TIMTextElem', MsgContent: { Text: long(this.int(700)) } })); },
      () => { frame.data.body = [{ MsgType: 'TIMTextElem', MsgContent: { Text: long(this.pick([4000, 6000, 12_000, 12_288, 13_000, 30_000])) } }]; },
      () => { frame.data.body = [{ MsgType: 'TIMCustomElem', MsgContent: { Data: '{"src":"7"}', wide: Object.fromEntries(Array.from({ length: this.pick([100, 2000, 6000]) }, (_, i) => [`k${i}`, i])) } }]; },
      () => { this.plant(frame, Array.from({ length: this.pick([1000, 8000]) }, (_, i) => i)); },
      () => { frame.data.cloudCustomData = long(this.pick([12_000, 12_288, 12_289, 20_000])); },
      () => { frame.data[this.pick(['sessionId', 'to', 'reason', 'memberId'])] = long(this.pick([64, 65, 5000])); },
      () => { (frame as Record<string, unknown>).ref = long(this.pick([64, 65, 1000])); },
    ];
    this.pick(variants)();
    return { kind: 'huge', data: this.encode(frame, binary), binary };
  }

  /** A valid msgpack frame with a value JSON cannot carry (binary, extension types, NaN, records, cycles) somewhere. */
  poisoned(role: 'user' | 'agent'): Fuzzed {
    return { kind: 'poison', data: this.spliced(this.valid(role), true, this.pick(POISONS)[1]), binary: true };
  }

  /** `frame` encoded with `raw` (encoded bytes) planted in a random container. */
  spliced(frame: unknown, binary: boolean, raw: Buffer): Buffer {
    const marker = '\u0001SPLICE\u0001';
    this.plant(frame, marker);
    const buf = binary ? packr.pack(frame) : Buffer.from(JSON.stringify(frame));
    const m = binary ? packr.pack(marker) : Buffer.from(JSON.stringify(marker));
    const at = buf.indexOf(m);
    return Buffer.concat([buf.subarray(0, at), raw, buf.subarray(at + m.length)]);
  }

}

/** The interesting part of a dead server's stderr: the error and the first frames of its stack. */
export function crashLines(stderr: string): string[] {
  const lines = stderr.split('\n');
  // An uncaught exception prints a plain stack (log lines are JSON).
  const at = lines.findIndex((l) => !l.startsWith('{') && /Error/.test(l));
  const out = (at < 0 ? lines.slice(-12) : lines.slice(Math.max(0, at - 3), at + 14)).map((l) => l.slice(0, 400));
  const deduped: string[] = [];
  for (const l of out) if (deduped[deduped.length - 1] !== l) deduped.push(l);
  return deduped;
}


interface Slot { identity: string; role: 'user' | 'agent'; enc: Encoding; c?: TestClient; reconnects: number }

function preview(f: Fuzzed): string {
  const b = Buffer.isBuffer(f.data) ? f.data : Buffer.from(f.data);
  return `${f.kind}/${f.binary ? 'bin' : 'text'}/${b.length}B ${f.binary ? b.subarray(0, 48).toString('hex') : b.subarray(0, 120).toString('utf8')}`;
}

export async function serverFor(t: Test, limits: Record<string, number>): Promise<ChildServer> {
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
export async function conversation(t: Test, port: number, userId: string, sdkAppId = APP): Promise<void> {
  const agent = await connect(port, ALICE, 'agent', Encoding.Json, undefined, sdkAppId);
  const status = await agent.request('agent.status', { status: 'free' });
  t.equal(status.type, 'agent.status', 'the agent sets itself free');
  const user = await connect(port, userId, 'user', Encoding.Json, undefined, sdkAppId);
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

export async function campaign(t: Test, o: { seed: number; frames: number; budgetMs: number }): Promise<void> {
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
  t.equal(sent, o.frames, `every frame of the campaign was sent (${sent})`);
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


/** Sends `send` from a fresh socket set and checks the server is still there and serving. */
export async function survives(t: Test, name: string, send: (u: TestClient, agent: TestClient, u2: TestClient, port: number) => Promise<void>): Promise<void> {
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

