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
