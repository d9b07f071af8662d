/** Calls the v4 REST API of a test server the way an integrator does, with tls-sig-api-v2 sigs. */
// tls-sig-api-v2 ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const TLSSigAPIv2 = require('tls-sig-api-v2') as { Api: new (app: number, key: string) => { genUserSig(id: string, expire: number): string } };

export interface RestTarget { port: number; sdkAppId: number; key: string; admin: string }

export function adminSig(t: RestTarget, identifier = t.admin, key = t.key, sdkAppId = t.sdkAppId, expire = 86400): string {
  return new TLSSigAPIv2.Api(sdkAppId, key).genUserSig(identifier, expire);
}

export async function rest(t: RestTarget, path: string, body: unknown, q: Partial<Record<'sdkappid' | 'identifier' | 'usersig' | 'random' | 'contenttype', string>> = {}): Promise<Record<string, unknown>> {
  const query = new URLSearchParams({
    sdkappid: String(t.sdkAppId), identifier: t.admin, usersig: adminSig(t), random: String(Math.floor(Math.random() * 4294967295)), contenttype: 'json', ...q,
  });
  const res = await fetch(`http://127.0.0.1:${t.port}/v4/${path}?${query}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}
