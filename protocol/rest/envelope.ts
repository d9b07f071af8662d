/** The v4 REST envelope and the codes the facade itself answers with (per service family). */

/** `group_open_http_svc` is IM's group service; this server takes the one call a group chat needs from it (destroy_group). */
export const Service = { Desk: 'desk_http_svc', Console: 'openim_console_http_svc', Group: 'group_open_http_svc' } as const;
export type Service = (typeof Service)[keyof typeof Service];

export interface Envelope { ActionStatus: 'OK' | 'FAIL'; ErrorCode: number; ErrorInfo: string; [field: string]: unknown }

/** Facade-level failures; the service families spell some of them differently (rest-api.md §1.3; IM group codes §2.1). */
export const FacadeCode = {
  /** No such service/command (IM public range). */
  UnknownCommand: 60002,
  JsonParse: { [Service.Desk]: 90001, [Service.Console]: -7, [Service.Group]: 10004 },
  BadParameter: { [Service.Desk]: 141004, [Service.Console]: -7, [Service.Group]: 10004 },
  NotAdmin: { [Service.Desk]: 90009, [Service.Console]: -20, [Service.Group]: 10007 },
  NotDeskApp: { [Service.Desk]: 141000, [Service.Console]: -50040, [Service.Group]: 10008 },
  RateLimited: { [Service.Desk]: 141009, [Service.Console]: -14, [Service.Group]: 10006 },
  Internal: { [Service.Desk]: 141002, [Service.Console]: -1, [Service.Group]: 10002 },
} as const;

export function ok(fields: Record<string, unknown> = {}): Envelope {
  return { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', ...fields };
}

export function fail(code: number, info: string): Envelope {
  return { ActionStatus: 'FAIL', ErrorCode: code, ErrorInfo: info };
}

/**
 * Field names as the endpoint's table spells them, whatever the case the caller used: the docs' own examples mix
 * `SessionId`/`sessionId`, `IMAgentUserID`/`IMAgentUserId`, `StarStatus`/`starStatus`. A body naming one field twice
 * in different cases is refused. `byLower` maps each field's lower-case name to its spelling (see `fieldsByLowerCase`).
 */
export function canonicalFields(body: Record<string, unknown>, byLower: ReadonlyMap<string, string>): Record<string, unknown> | string {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    const name = byLower.get(k.toLowerCase()) ?? k;
    if (Object.hasOwn(out, name)) return `field '${name}' given twice`;
    out[name] = v;
  }
  return out;
}

/** An endpoint's field names keyed by their lower-case form, built once per endpoint. */
export function fieldsByLowerCase(schema: Record<string, unknown>): Map<string, string> {
  return new Map(Object.keys(schema).filter((k) => !k.startsWith('$$')).map((f) => [f.toLowerCase(), f]));
}
