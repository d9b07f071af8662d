/** Actor addresses: `<kind>:<app>|<...>`. One module spells them all. */
import type { Address } from './types';

export const sessionAddress = (app: number, csAccount: string, userId: string): Address => `session:${app}|${csAccount}|${userId}`;
export const agentAddress = (app: number, memberId: string): Address => `agent:${app}|${memberId}`;
export const queueAddress = (app: number, groupId: number): Address => `queue:${app}|${groupId}`;

export function kindOf(address: Address): string {
  return address.slice(0, address.indexOf(':'));
}

export function idOf(address: Address): string {
  return address.slice(address.indexOf(':') + 1);
}

/** Splits an id into its parts; user ids may contain '|', so the last part takes the rest. */
export function parseId(id: string, parts: number): string[] {
  const out: string[] = [];
  let rest = id;
  for (let i = 0; i < parts - 1; i++) {
    const at = rest.indexOf('|');
    out.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  out.push(rest);
  return out;
}
