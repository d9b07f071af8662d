/** Quick-reply endpoints (rest-api-extensions.md §4): schemas and wire form. */
import type { QuickReply, QuickReplyGroup } from '../app-model';

const id = { type: 'string', min: 1, max: 64 } as const;
const mail = { type: 'email', max: 128 } as const;
const title = { type: 'string', min: 1, max: 100 } as const;
const content = { type: 'string', min: 1, max: 4000 } as const;
const scope = {
  UseScopeType: { type: 'enum', values: ['all', 'groups', 'members'] },
  // Member-group ids (numbers, or numeric strings) or member mails, by scope type.
  UseScopeList: { type: 'array', optional: true, max: 1000, items: { type: 'multi', rules: [{ type: 'number', integer: true, min: 0 }, { type: 'string', min: 1, max: 128 }] } },
} as const;

export const addGroup = { $$strict: true, GroupName: { type: 'string', min: 1, max: 64 }, ...scope } as const;
export const updateGroup = { ...addGroup, GroupId: id } as const;
export const groupOnly = { $$strict: true, GroupId: id } as const;
export const noFields = { $$strict: true } as const;
export const addReply = { $$strict: true, GroupId: id, Title: title, Content: content } as const;
export const updateReply = { ...addReply, QuickReplyId: id } as const;
export const deleteReply = { $$strict: true, QuickReplyId: id, GroupId: { ...id, optional: true } } as const;
export const addPersonal = { $$strict: true, MemberId: mail, Title: title, Content: content } as const;
export const updatePersonal = { ...addPersonal, QuickReplyId: id } as const;
export const deletePersonal = { $$strict: true, MemberId: mail, QuickReplyId: id } as const;
export const memberOnly = { $$strict: true, MemberId: mail } as const;

export const groupFields = (g: QuickReplyGroup) => ({ GroupId: g.id, GroupName: g.name, UseScopeType: g.scopeType, UseScopeList: g.scopeList });
export const replyFields = (r: QuickReply) => ({ QuickReplyId: r.id, GroupId: r.groupId, Title: r.title, Content: r.content });
