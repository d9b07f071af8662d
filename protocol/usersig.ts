/**
 * UserSig (TLSSigAPIv2): zlib-deflated JSON in Tencent's url-safe base64, signed with HMAC-SHA256 of the
 * app's secret key. Sigs made by the `tls-sig-api-v2` package verify here unchanged.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { ErrorCode } from './errors';

/**
 * Longest sig string decoded, and most bytes its document may inflate to (an ordinary sig is a few hundred of
 * each): a 4 KB sig could otherwise inflate to megabytes, costing milliseconds per attempt.
 */
export const MAX_SIG_CHARS = 4096;
export const MAX_SIG_JSON_BYTES = 4096;

const escape = (b64: string): string => b64.replace(/\+/g, '*').replace(/\//g, '-').replace(/=/g, '_');
const unescape = (s: string): string => s.replace(/_/g, '=').replace(/-/g, '/').replace(/\*/g, '+');

function sign(key: string, identifier: string, sdkAppId: number, time: number, expire: number, userbuf?: string): string {
  let content = `TLS.identifier:${identifier}\nTLS.sdkappid:${sdkAppId}\nTLS.time:${time}\nTLS.expire:${expire}\n`;
  if (userbuf !== undefined) content += `TLS.userbuf:${userbuf}\n`;
  return createHmac('sha256', key).update(content).digest('base64');
}

export function genUserSig(sdkAppId: number, key: string, identifier: string, expireSec: number, nowSec = Math.floor(Date.now() / 1000)): string {
  const doc = {
    'TLS.ver': '2.0', 'TLS.identifier': identifier, 'TLS.sdkappid': sdkAppId, 'TLS.time': nowSec, 'TLS.expire': expireSec,
    'TLS.sig': sign(key, identifier, sdkAppId, nowSec, expireSec),
  };
  return escape(deflateSync(Buffer.from(JSON.stringify(doc))).toString('base64'));
}

export type SigCheck = { ok: true; expiresAt: number } | { ok: false; code: number; info: string };

/** Verifies a UserSig for (sdkAppId, identifier) at `nowSec`. */
export function verifyUserSig(sig: string, sdkAppId: number, identifier: string, key: string, nowSec: number): SigCheck {
  let doc: Record<string, unknown>;
  try {
    if (!sig || sig.length > MAX_SIG_CHARS) throw new Error('size');
    doc = JSON.parse(inflateSync(Buffer.from(unescape(sig), 'base64'), { maxOutputLength: MAX_SIG_JSON_BYTES }).toString('utf8')) as Record<string, unknown>;
    if (!doc || typeof doc !== 'object') throw new Error('shape');
  } catch {
    return { ok: false, code: ErrorCode.SigUndecodable, info: 'UserSig cannot be decoded' };
  }
  const id = doc['TLS.identifier'];
  const app = doc['TLS.sdkappid'];
  const time = doc['TLS.time'];
  const expire = doc['TLS.expire'];
  const mac = doc['TLS.sig'];
  const userbuf = doc['TLS.userbuf'];
  if (typeof id !== 'string' || typeof app !== 'number' || typeof time !== 'number' || typeof expire !== 'number' || typeof mac !== 'string'
    || (userbuf !== undefined && typeof userbuf !== 'string')) {
    return { ok: false, code: ErrorCode.SigUndecodable, info: 'UserSig fields missing or of the wrong type' };
  }
  if (app !== sdkAppId) return { ok: false, code: ErrorCode.SigAppMismatch, info: `UserSig is for sdkappid ${app}` };
  if (id !== identifier) return { ok: false, code: ErrorCode.SigIdentifierMismatch, info: 'UserSig identifier does not match' };
  const expected = Buffer.from(sign(key, id, app, time, expire, userbuf as string | undefined));
  const given = Buffer.from(mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, code: ErrorCode.SigBadSignature, info: 'UserSig signature check failed' };
  }
  if (time + expire < nowSec) return { ok: false, code: ErrorCode.SigExpired, info: 'UserSig expired' };
  return { ok: true, expiresAt: time + expire };
}
