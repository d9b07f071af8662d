/**
 * UserSig decoding is bounded: a sig longer than MAX_SIG_CHARS is not decoded, and inflation stops at
 * MAX_SIG_JSON_BYTES, so a compressed bomb costs no more than an ordinary sig and is refused as undecodable.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import t from 'tap';
import { ErrorCode } from '../../protocol/errors';
import { genUserSig, MAX_SIG_CHARS, MAX_SIG_JSON_BYTES, verifyUserSig } from '../../protocol/usersig';

const APP = 1400000001;
const KEY = 'unit-test-secret-key-0123456789';
const NOW = 1_700_000_000;

const escape = (b64: string): string => b64.replace(/\+/g, '*').replace(/\//g, '-').replace(/=/g, '_');
const unescape = (s: string): string => s.replace(/_/g, '=').replace(/-/g, '/').replace(/\*/g, '+');
const encode = (json: Buffer): string => escape(deflateSync(json, { level: 9 }).toString('base64'));

/** A genuine sig whose JSON document is padded with trailing spaces to `bytes` bytes (the signature stays valid). */
function paddedSig(bytes: number): string {
  const json = inflateSync(Buffer.from(unescape(genUserSig(APP, KEY, 'u1', 86400, NOW)), 'base64'));
  return encode(Buffer.concat([json, Buffer.alloc(bytes - json.length, ' ')]));
}

t.test('a genuine sig verifies', async (t) => {
  t.match(verifyUserSig(genUserSig(APP, KEY, 'u1', 86400, NOW), APP, 'u1', KEY, NOW), { ok: true, expiresAt: NOW + 86400 });
});

t.test('inflation is bounded: a document past MAX_SIG_JSON_BYTES is refused even when its signature is genuine', async (t) => {
  const atBound = paddedSig(MAX_SIG_JSON_BYTES);
  t.ok(atBound.length <= MAX_SIG_CHARS, 'the padded sig is short enough to be decoded');
  t.match(verifyUserSig(atBound, APP, 'u1', KEY, NOW), { ok: true }, 'a document of exactly the bound verifies');
  const past = paddedSig(MAX_SIG_JSON_BYTES + 1);
  t.ok(past.length <= MAX_SIG_CHARS, 'one byte more is still a short sig');
  t.match(verifyUserSig(past, APP, 'u1', KEY, NOW), { ok: false, code: ErrorCode.SigUndecodable }, 'one byte past the bound is refused');
});

t.test('a compressed bomb is refused as undecodable', async (t) => {
  // The largest run of spaces whose deflated form still fits in a sig: megabytes once inflated.
  let bomb = '';
  for (let n = 1024; ; n *= 2) {
    const s = encode(Buffer.alloc(n, ' '));
    if (s.length > MAX_SIG_CHARS) break;
    bomb = s;
  }
  t.ok(inflateSync(Buffer.from(unescape(bomb), 'base64')).length >= 1 << 20, 'the bomb inflates to a megabyte or more');
  t.match(verifyUserSig(bomb, APP, 'u1', KEY, NOW), { ok: false, code: ErrorCode.SigUndecodable });
});

t.test('a sig longer than MAX_SIG_CHARS is not decoded', async (t) => {
  const long = genUserSig(APP, KEY, 'u1', 86400, NOW).padEnd(MAX_SIG_CHARS + 1, '_');
  t.match(verifyUserSig(long, APP, 'u1', KEY, NOW), { ok: false, code: ErrorCode.SigUndecodable });
});
