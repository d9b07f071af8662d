/** HTTP calls of the pages: the page endpoints (`/web/v1/…`) and the v4 REST API, both answering the v4 envelope. */

export interface Envelope { ActionStatus: 'OK' | 'FAIL'; ErrorCode: number; ErrorInfo: string; [field: string]: any }

export class ApiError extends Error {
  constructor(readonly code: number, info: string) {
    super(info);
  }
}

async function post(url: string, body: unknown): Promise<Envelope> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const env = (await res.json()) as Envelope;
  if (env.ActionStatus !== 'OK') throw new ApiError(env.ErrorCode, env.ErrorInfo || `error ${env.ErrorCode}`);
  return env;
}

/** A page endpoint of this server (docs/api.md, "Web page endpoints"). */
export function webCall(command: string, body: Record<string, unknown>): Promise<Envelope> {
  return post(`/web/v1/${command}`, body);
}

export interface AdminCredentials { sdkAppId: number; identifier: string; userSig: string }

/** The query string that signs a v4 call as the app's administrator. */
export function adminQuery(c: AdminCredentials, extra: Record<string, string> = {}): string {
  return new URLSearchParams({ sdkappid: String(c.sdkAppId), identifier: c.identifier, usersig: c.userSig, random: String(Math.floor(Math.random() * 4294967295)), contenttype: 'json', ...extra }).toString();
}

/** A v4 REST call (`service/command`) as the administrator. */
export function restCall(c: AdminCredentials, path: string, body: Record<string, unknown> = {}): Promise<Envelope> {
  return post(`/v4/${path}?${adminQuery(c)}`, body);
}

/** Keeps a value for this browser tab (sign-ins live as long as the tab). */
export const tabStore = {
  get<T>(key: string): T | undefined {
    const raw = sessionStorage.getItem(key);
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as T;
    } catch {
      return undefined;
    }
  },
  set(key: string, value: unknown): void {
    sessionStorage.setItem(key, JSON.stringify(value));
  },
  remove(key: string): void {
    sessionStorage.removeItem(key);
  },
};
