/**
 * The WebSocket wire contract: frame shapes, their validators, and the JSON / msgpack codec.
 * A frame is `{ type, ref?, data }`; a JSON text frame and a msgpack binary frame carry the same object.
 */
import Validator from 'fastest-validator';
import { Packr } from 'msgpackr';
import { ErrorCode } from './errors';
import type { TimMsgElement } from './im';
import { checkMessageBody, MAX_BODY_BYTES } from './message-body';
import { plainDataProblem } from './plain-data';

export { MAX_BODY_BYTES };

export const Role = { User: 'user', Agent: 'agent' } as const;
export type Role = (typeof Role)[keyof typeof Role];

export const AgentStatus = { Free: 'free', Busy: 'busy', Rest: 'rest', Offline: 'offline' } as const;
export type AgentStatus = (typeof AgentStatus)[keyof typeof AgentStatus];

/** Client → server frame types, by role. */
export const userFrameTypes = ['message.send', 'history.sync', 'ping'] as const;
export const agentFrameTypes = [
  'message.send', 'agent.status', 'session.accept', 'session.end', 'session.transfer', 'session.invite_rating',
  'session.suspend', 'session.unsuspend', 'typing', 'history.sync', 'ping',
] as const;
export type ClientFrameType = (typeof agentFrameTypes)[number];

export const MAX_FRAME_BYTES = 64 * 1024;

/** A user writes to a customer-service account (`to`) or, as a member, to a group chat (`group`): exactly one of them. */
export interface UserSend { to?: string; group?: string; random: number; body: TimMsgElement[]; cloudCustomData?: string }
export interface AgentSend { sessionId: string; random: number; body: TimMsgElement[]; cloudCustomData?: string }
export interface StatusChange { status: AgentStatus; reason?: string }
export interface SessionRef { sessionId: string }
export interface TransferRequest { sessionId: string; groupId?: number; memberId?: string }
export interface HistorySync { sessionId?: string; to?: string; group?: string; afterSeq: number; limit?: number }

/** A decoded, validated client frame. */
export type ClientFrame =
  | { type: 'message.send'; ref?: Ref; data: UserSend | AgentSend }
  | { type: 'agent.status'; ref?: Ref; data: StatusChange }
  | { type: 'session.accept' | 'session.end' | 'session.invite_rating' | 'session.suspend' | 'session.unsuspend' | 'typing'; ref?: Ref; data: SessionRef }
  | { type: 'session.transfer'; ref?: Ref; data: TransferRequest }
  | { type: 'history.sync'; ref?: Ref; data: HistorySync }
  | { type: 'ping'; ref?: Ref; data: Record<string, never> };
export type Ref = string | number;

/** A server → client frame. */
export interface ServerFrame { type: string; ref?: Ref; data: unknown }

/** Session summary sent to agents with offer / assigned / transferred / ended. */
export interface SessionSummary {
  sessionId: string;
  userId: string;
  csAccount: string;
  groupId: number;
  startedAt: number;
  /** Manual reception: when the offer lapses (ms). */
  acceptDeadline?: number;
  endStatus?: string;
  closeBy?: 'client' | 'seat' | 'admin' | 'timer';
  forwardFrom?: string;
  /** A group chat's session (create_group): its user part is `group|<groupId>`. */
  chatGroup?: { groupId: string; name: string; members: string[] };
}

const v = new Validator({ haltOnFirstError: true });

const ref = { type: 'multi', optional: true, rules: [{ type: 'string', max: 64 }, { type: 'number', integer: true }] } as const;
const envelope = v.compile({
  $$root: true,
  type: 'object',
  props: { type: { type: 'string', max: 40 }, ref, data: { type: 'object' } },
});

// The body has its own check (checkMessageBody), with the IM message codes.
const body = { type: 'any' } as const;
const random = { type: 'number', integer: true, min: 0, max: 4294967295 } as const;
const sessionId = { type: 'string', min: 1, max: 64 } as const;
const cloudCustomData = { type: 'string', optional: true, max: MAX_BODY_BYTES } as const;
/** An IM group id (create_group): at most 48 bytes, no control characters. */
export const chatGroupIdRule = { type: 'string', min: 1, max: 48, pattern: /^[^\x00-\x1f\x7f]+$/ } as const;

const dataChecks: Record<string, ReturnType<typeof v.compile>> = {
  'user:message.send': v.compile({ $$strict: true, to: { type: 'string', optional: true, min: 1, max: 64 }, group: { ...chatGroupIdRule, optional: true }, random, body, cloudCustomData }),
  'agent:message.send': v.compile({ $$strict: true, sessionId, random, body, cloudCustomData }),
  'agent:agent.status': v.compile({ $$strict: true, status: { type: 'enum', values: Object.values(AgentStatus) }, reason: { type: 'string', optional: true, max: 64 } }),
  'agent:session.transfer': v.compile({ $$strict: true, sessionId, groupId: { type: 'number', integer: true, optional: true, min: 0 }, memberId: { type: 'string', optional: true, min: 1, max: 128 } }),
  history: v.compile({
    $$strict: true,
    sessionId: { type: 'string', optional: true, min: 1, max: 64 },
    to: { type: 'string', optional: true, min: 1, max: 64 },
    group: { ...chatGroupIdRule, optional: true },
    afterSeq: { type: 'number', integer: true, min: 0 },
    limit: { type: 'number', integer: true, optional: true, min: 1, max: 1000 },
  }),
  sessionRef: v.compile({ $$strict: true, sessionId }),
  empty: v.compile({ $$strict: true }),
};

function checkFor(role: Role, type: string): ReturnType<typeof v.compile> | undefined {
  const own = dataChecks[`${role}:${type}`];
  if (own) return own;
  if (type === 'history.sync') return dataChecks.history;
  if (type === 'ping') return dataChecks.empty;
  if (role === Role.Agent && (agentFrameTypes as readonly string[]).includes(type)) return dataChecks.sessionRef;
  return undefined;
}

export type DecodeResult = { ok: true; frame: ClientFrame } | { ok: false; code: number; info: string; ref?: Ref };

function failures(res: true | unknown[] | Promise<unknown>): string | undefined {
  if (res === true) return undefined;
  const list = res as { message?: string }[];
  return list[0]?.message ?? 'invalid';
}

/** The frame's `ref` when it is a usable one, so even a refused frame's error names it. */
function refOf(raw: unknown): Ref | undefined {
  const r = (raw as { ref?: unknown } | null)?.ref;
  if (typeof r === 'string' && r.length <= 64) return r;
  return Number.isSafeInteger(r) ? (r as number) : undefined;
}

/** Validates a decoded object as a client frame of the given role. */
export function validateFrame(role: Role, raw: unknown, frameBytes: number): DecodeResult {
  // First, before any check reads it: plain data within bounds (see plain-data.ts).
  const shape = plainDataProblem(raw, 'frame');
  if (shape) return { ok: false, code: ErrorCode.BadParameter, info: shape, ref: refOf(raw) };
  const envErr = failures(envelope(raw));
  if (envErr) return { ok: false, code: ErrorCode.BadParameter, info: envErr, ref: refOf(raw) };
  const f = raw as { type: string; ref?: Ref; data: Record<string, unknown> };
  const check = checkFor(role, f.type);
  if (!check) return { ok: false, code: ErrorCode.BadParameter, info: `unknown frame type '${f.type}' for role ${role}`, ref: f.ref };
  const err = failures(check(f.data));
  if (err) {
    const code = f.type === 'message.send' && /body/i.test(err) ? ErrorCode.BadMsgBody : ErrorCode.BadParameter;
    return { ok: false, code, info: err, ref: f.ref };
  }
  if (f.type === 'message.send') {
    if (role === Role.User && (f.data.to === undefined) === (f.data.group === undefined)) {
      return { ok: false, code: ErrorCode.BadParameter, info: "message.send needs 'to' (a customer-service account) or 'group' (a group chat), not both", ref: f.ref };
    }
    const checked = checkMessageBody(f.data.body, frameBytes);
    if (!checked.ok) return { ok: false, code: checked.code, info: checked.info, ref: f.ref };
    f.data.body = checked.body;
  }
  return { ok: true, frame: f as unknown as ClientFrame };
}

// Plain msgpack (no records extension) so any msgpack client can read the frames.
// 64-bit integers decode as numbers: a BigInt would fail every later JSON.stringify.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export const Encoding = { Json: 0, Msgpack: 1 } as const;
export type Encoding = (typeof Encoding)[keyof typeof Encoding];

/** Decodes a raw frame; a parse failure yields `undefined`. */
export function decodeRaw(buf: Uint8Array, binary: boolean): unknown {
  try {
    if (binary) return packr.unpack(buf);
    return JSON.parse(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
}

export function encodeFrame(frame: ServerFrame, enc: Encoding): string | Buffer {
  return enc === Encoding.Msgpack ? packr.pack(frame) : JSON.stringify(frame);
}

/** Decodes a server frame on the client side (tests, load generator). */
export function decodeServerFrame(data: Buffer | string, binary: boolean): ServerFrame {
  return (binary ? packr.unpack(data as Buffer) : JSON.parse(data.toString())) as ServerFrame;
}

export function encodeClientFrame(frame: { type: string; ref?: Ref; data: unknown }, enc: Encoding): string | Buffer {
  return encodeFrame(frame, enc);
}
