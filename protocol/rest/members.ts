/** Member and member-group endpoints (rest-api-extensions.md §1–2): schemas and the wire form of the model. */
import { receptionLimit, type AppModel, type Member } from '../app-model';
import { MAX_MAIL } from '../app-schema';

const mail = { type: 'email', max: MAX_MAIL } as const;
const nick = { type: 'string', min: 1, max: 32, optional: true } as const;
/** Built-in roles: 1 super administrator, 5 online agent, 7 online administrator (custom roles are not served). */
export const RoleId = { SuperAdmin: 1, Staff: 5, Admin: 7 } as const;
/** Built-in 1, 5 and 7, or custom role ids (checked against the app's roles by the handler). */
const roleIds = { type: 'array', optional: true, max: 20, items: { type: 'number', integer: true, min: 1 } } as const;
const groupIds = { type: 'array', optional: true, max: 100, items: { type: 'number', integer: true, min: 0 } } as const;
const limit = { type: 'number', integer: true, min: 1, max: 999, optional: true } as const;
const enabled = { type: 'enum', values: [0, 1], optional: true } as const;

const memberFields = {
  NickName: nick, RoleIDList: roleIds, MemberGroupIDList: groupIds, Avatar: { type: 'string', max: 500, optional: true },
  MemberReceptionLimit: limit, MemberReceptionLimitEnabled: enabled,
} as const;

export const createMembers = {
  $$strict: true,
  MemberList: { type: 'array', min: 1, max: 10, items: { type: 'object', strict: true, props: { MemberMail: mail, ...memberFields } } },
  SendPassword: { type: 'boolean', optional: true },
} as const;
export const updateMember = { $$strict: true, MemberMail: mail, ...memberFields } as const;
export const memberOnly = { $$strict: true, MemberMail: mail } as const;
export const setMemberStatus = {
  $$strict: true,
  MemberMail: mail,
  Status: { type: 'enum', values: ['STATUS_FREE', 'STATUS_NOT_READY', 'STATUS_REST'] },
  RestReason: { type: 'string', max: 64, optional: true },
} as const;
const pageSize = { type: 'number', integer: true, min: 0, max: 100 } as const;
export const getMemberList = {
  $$strict: true, PageSize: pageSize, PageNum: { type: 'number', integer: true, min: 0 }, Order: { type: 'enum', values: [0, 1], optional: true },
} as const;

const groupName = { type: 'string', min: 1, max: 32 } as const;
const mails = { type: 'array', optional: true, max: 1000, items: mail } as const;
export const createMemberGroup = { $$strict: true, MemberGroupName: groupName, ReceptionLimit: limit, MemberList: mails } as const;
export const memberGroupOnly = { $$strict: true, MemberGroupID: { type: 'number', integer: true, min: 0 } } as const;
export const updateMemberGroup = {
  $$strict: true, MemberGroupID: { type: 'number', integer: true, min: 0 }, MemberGroupName: { ...groupName, optional: true }, ReceptionLimit: limit, MemberMailList: mails,
} as const;
export const getMemberGroupList = {
  $$strict: true, PageSize: { ...pageSize, optional: true }, PageNumber: { type: 'number', integer: true, min: 0, optional: true },
} as const;
export const getMemberListInGroup = { ...getMemberList, MemberGroupID: { type: 'number', integer: true, min: 0 } } as const;

/** The built-in roles by id. */
const builtInRoles: Readonly<Record<number, Member['roles'][number]>> = { [RoleId.SuperAdmin]: 'superAdmin', [RoleId.Staff]: 'staff', [RoleId.Admin]: 'admin' };
export const isBuiltInRole = (id: number): boolean => Object.hasOwn(builtInRoles, id);

export function roleIdsOf(app: AppModel, m: Member): number[] {
  const custom = Object.values(app.customRoles ?? {}).filter((r) => r.members.includes(m.mail)).map((r) => r.id);
  const ids = Object.entries(builtInRoles).filter(([, role]) => m.roles.includes(role)).map(([id]) => Number(id));
  return [...ids, ...custom];
}

/** The built-in roles among role ids (custom ones are memberships of the roles themselves). */
export function rolesOf(ids: number[]): Member['roles'] {
  return ids.filter(isBuiltInRole).map((id) => builtInRoles[id]);
}

const permission = { type: 'array', optional: true, max: 10, items: { type: 'enum', values: ['CHAT_WORKBENCH'] } } as const;
const roleGroups = { type: 'array', optional: true, max: 100, items: { type: 'number', integer: true, min: 0 } } as const;
export const addRole = { $$strict: true, RoleName: { type: 'string', min: 1, max: 32 }, MemberList: mails, PermissionList: permission, MemberGroupIDList: roleGroups } as const;
export const modifyRole = { $$strict: true, RoleID: { type: 'number', integer: true, min: 1 }, RoleName: { type: 'string', min: 1, max: 32, optional: true }, MemberList: mails, PermissionList: permission, MemberGroupIDList: roleGroups } as const;
export const roleOnly = { $$strict: true, RoleID: { type: 'number', integer: true, min: 1 } } as const;
export const getRoleList = { $$strict: true, SpecifiedMember: { type: 'string', max: 128, optional: true } } as const;

export function memberFieldsOf(app: AppModel, m: Member): Record<string, unknown> {
  return {
    MemberMail: m.mail, NickName: m.nickname, RoleIDList: roleIdsOf(app, m), MemberGroupIDList: m.groupIds, Avatar: m.avatar ?? '',
    MemberReceptionLimit: m.receptionLimit, MemberReceptionLimitEnabled: (m.receptionLimitEnabled ?? m.receptionLimit > 0) ? 1 : 0,
    EffectiveReceptionLimit: receptionLimit(app, m), CreateTime: Math.floor((m.createdAt ?? 0) / 1000), KickOff: m.kickOff ? 1 : 0,
  };
}
