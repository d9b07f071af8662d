/** Actor addresses: `<kind>:<app>|<...>`. One module spells them all. */
import type { Address } from './types';

export const sessionAddress = (app: number, csAccount: string, userId: string): Address => `session:${app}|${csAccount}|${userId}`;
export const agentAddress = (app: number, memberId: string): Address => `agent:${app}|${memberId}`;
export const queueAddress = (app: number, groupId: number): Address => `queue:${app}|${groupId}`;

/**
 * A group chat (create_group) is a conversation of its customer-service account like a user's, under a user part no
 * user id can take (user ids never contain '|'): `group|<generation>|<GroupId>`. The generation is new each time a
 * GroupId is created, so a group created again with the same id starts a conversation of its own.
 */
const GROUP_USER_PREFIX = 'group|';
export const groupConvUser = (g: { id: string; generation: string }): string => `${GROUP_USER_PREFIX}${g.generation}|${g.id}`;
/** The group of a group conversation's user part, or undefined for a user's conversation. */
export function chatGroupOf(userId: string): { id: string; generation: string } | undefined {
  if (!userId.startsWith(GROUP_USER_PREFIX)) return undefined;
  const rest = userId.slice(GROUP_USER_PREFIX.length);
  const at = rest.indexOf('|');
  return { generation: rest.slice(0, at), id: rest.slice(at + 1) };
}

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
