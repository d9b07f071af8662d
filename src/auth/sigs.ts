/** UserSig checks with a cache: verification costs ~17 µs, so a sig already verified is trusted until it expires. */
import { verifyUserSig, type SigCheck } from '../../protocol/usersig';

const CACHE_LIMIT = 100_000;

export class SigVerifier {
  private readonly verified = new Map<string, number>();

  /** Checks `sig` for (app, identity) against the app's key at `nowSec`. */
  check(sig: string, app: number, identity: string, key: string, nowSec: number): SigCheck {
    const cacheKey = `${app}|${identity}|${key.length}|${sig}`;
    const expiresAt = this.verified.get(cacheKey);
    if (expiresAt !== undefined && expiresAt >= nowSec) return { ok: true, expiresAt };
    const res = verifyUserSig(sig, app, identity, key, nowSec);
    if (res.ok) {
      if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
      this.verified.set(cacheKey, res.expiresAt);
    }
    return res;
  }
}
