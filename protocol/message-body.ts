/**
 * The one check of a message body (TIMMsgElement[]), for WebSocket frames and REST calls alike, with the IM
 * message-layer codes. A body that passes is rebuilt from its elements' `MsgType` and `MsgContent` only, so nothing
 * else a client attached to an element is stored or relayed.
 */
import { ErrorCode } from './errors';
import { timMsgTypes, type TimMsgElement } from './im';

export const MAX_BODY_BYTES = 12 * 1024;
export const MAX_BODY_ELEMENTS = 20;
/** Levels of nesting inside one element's MsgContent. */
export const MAX_CONTENT_DEPTH = 8;

export type BodyCheck = { ok: true; body: TimMsgElement[] } | { ok: false; code: number; info: string };

const types: ReadonlySet<string> = new Set(timMsgTypes);

/**
 * Checks a decoded body (plain data already) and returns it rebuilt, or the refusal. `inputBytes`, the size of the
 * whole frame or request it came in, spares measuring a body that cannot be too long.
 */
export function checkMessageBody(raw: unknown, inputBytes = Infinity): BodyCheck {
  if (!Array.isArray(raw)) return { ok: false, code: ErrorCode.MsgBodyNotArray, info: 'MsgBody must be an array of TIMMsgElement' };
  if (raw.length === 0 || raw.length > MAX_BODY_ELEMENTS) return { ok: false, code: ErrorCode.BadMsgBody, info: `MsgBody holds 1 to ${MAX_BODY_ELEMENTS} elements, not ${raw.length}` };
  const body: TimMsgElement[] = [];
  for (let i = 0; i < raw.length; i++) {
    const e = raw[i] as { MsgType?: unknown; MsgContent?: unknown } | null;
    const bad = (info: string): BodyCheck => ({ ok: false, code: ErrorCode.BadMsgBody, info: `MsgBody[${i}]: ${info}` });
    if (e === null || typeof e !== 'object' || Array.isArray(e)) return bad('not an object');
    if (typeof e.MsgType !== 'string' || !types.has(e.MsgType)) return bad(`MsgType ${JSON.stringify(String(e.MsgType).slice(0, 40))} is not one of ${timMsgTypes.join(', ')}`);
    const c = e.MsgContent as Record<string, unknown> | null;
    if (c === null || typeof c !== 'object' || Array.isArray(c)) return bad('MsgContent must be an object');
    if (deeperThan(c, MAX_CONTENT_DEPTH)) return bad(`MsgContent nested deeper than ${MAX_CONTENT_DEPTH} levels`);
    if (e.MsgType === 'TIMTextElem' && typeof c.Text !== 'string') return bad('TIMTextElem needs MsgContent.Text (string)');
    if (e.MsgType === 'TIMCustomElem' && typeof c.Data !== 'string') return bad('TIMCustomElem needs MsgContent.Data (string)');
    body.push({ MsgType: e.MsgType, MsgContent: c } as TimMsgElement);
  }
  if (inputBytes <= MAX_BODY_BYTES) return { ok: true, body };
  const bytes = Buffer.byteLength(JSON.stringify(body));
  if (bytes > MAX_BODY_BYTES) return { ok: false, code: ErrorCode.BodyTooLong, info: `message body is ${bytes} bytes; at most ${MAX_BODY_BYTES}` };
  return { ok: true, body };
}

/** Nesting depth of a value, stopping as soon as it passes `limit`. */
function deeperThan(v: unknown, limit: number): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (limit === 0) return true;
  for (const x of Object.values(v as object)) if (deeperThan(x, limit - 1)) return true;
  return false;
}
