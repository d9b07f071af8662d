/**
 * Member and member-group endpoints (rest-api-extensions.md §1–2). They write the app model; a status change or a
 * forced offline acts on the member's agent actor (and sockets).
 */
import { agentAddress, queueAddress } from '../../actors/address';
import { accountOf, DEFAULT_GROUP_ID, groupOf, memberOf, type AppModel, type Member } from '../../protocol/app-model';
import { CloseCode, ErrorCode } from '../../protocol/errors';
import { AgentStatus, Role } from '../../protocol/frames';
import { ok, Service } from '../../protocol/rest/envelope';
import * as schema from '../../protocol/rest/members';
import { QUEUE_WAITING_READER, readAt } from './actor-readers';
import { desk, RestError, replied, type Endpoint, type RestContext } from './facade';

/** set_member_status's "member account does not exist". */
const MemberNotFound = 141010;


function member(ctx: RestContext, notFound: number = ErrorCode.BadParameter): Member {
  const m = memberOf(ctx.app, String(ctx.body.MemberMail));
  if (!m) throw new RestError(notFound, `'${String(ctx.body.MemberMail)}' is not a member`);
  return m;
}

/** Every member also belongs to the default group; the others must exist. */
function groupIdsFor(app: AppModel, ids: number[]): number[] {
  for (const g of ids) if (!groupOf(app, g)) throw new RestError(ErrorCode.BadParameter, `${g} is not a member group`);
  return [...new Set([DEFAULT_GROUP_ID, ...ids])];
}

function applyMember(app: AppModel, m: Member, b: Record<string, unknown>): Member {
  // A config-file member's switch is implicit (on when its limit is above 0): make it explicit before changing it.
  const out: Member = { ...m, receptionLimitEnabled: m.receptionLimitEnabled ?? m.receptionLimit > 0 };
  if (b.NickName !== undefined) out.nickname = b.NickName as string;
  if (b.RoleIDList !== undefined) out.roles = schema.rolesOf(b.RoleIDList as number[]);
  if (b.MemberGroupIDList !== undefined) out.groupIds = groupIdsFor(app, b.MemberGroupIDList as number[]);
  if (b.Avatar !== undefined) out.avatar = b.Avatar as string;
  if (b.MemberReceptionLimit !== undefined) out.receptionLimit = b.MemberReceptionLimit as number;
  if (b.MemberReceptionLimitEnabled !== undefined) out.receptionLimitEnabled = b.MemberReceptionLimitEnabled === 1;
  if (out.receptionLimitEnabled && !(out.receptionLimit > 0)) throw new RestError(ErrorCode.BadParameter, 'MemberReceptionLimitEnabled needs MemberReceptionLimit');
  return out;
}

const withMembers = (app: AppModel, members: Member[]): AppModel => ({ ...app, members: { ...app.members, ...Object.fromEntries(members.map((m) => [m.mail, m])) } });

/** Applies a `RoleIDList` to the custom roles' memberships (built-in ids are the member's own `roles`). */
function withRoleIds(app: AppModel, mail: string, ids: number[] | undefined): AppModel {
  if (ids === undefined) return app;
  const custom = app.customRoles ?? {};
  for (const id of ids) {
    if (!schema.isBuiltInRole(id) && !Object.hasOwn(custom, String(id))) throw new RestError(ErrorCode.BadParameter, `${id} is not an assignable role`);
  }
  const customRoles = Object.fromEntries(Object.entries(custom).map(([k, r]) => {
    const members = r.members.filter((m) => m !== mail);
    return [k, { ...r, members: ids.includes(r.id) ? [...members, mail] : members }];
  }));
  return { ...app, customRoles };
}

/** Members are told their capacity may have changed (limits, groups); queues then see it. */
function announce(ctx: RestContext, mails: string[]): void {
  for (const m of mails) ctx.deps.runtime.tell(agentAddress(ctx.app.sdkAppId, m), { type: 'announce' });
}

function page<T>(items: T[], size: number, num: number, order: number | undefined): { Total: number; items: T[] } {
  const sorted = order === 1 ? [...items].reverse() : items;
  const n = size === 0 ? 15 : size;
  return { Total: items.length, items: sorted.slice(num * n, num * n + n) };
}

const byCreation = (app: AppModel): Member[] => Object.values(app.members).sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0) || a.mail.localeCompare(b.mail));

export const deskMemberEndpoints: Endpoint[] = [
  desk('create_members', schema.createMembers, async (ctx) => {
    const list = ctx.body.MemberList as Record<string, unknown>[];
    const created: Member[] = [];
    for (const b of list) {
      const mail = String(b.MemberMail);
      if (memberOf(ctx.app, mail) || created.some((m) => m.mail === mail)) throw new RestError(ErrorCode.BadParameter, `'${mail}' is already a member`);
      if (accountOf(ctx.app, mail) || mail === ctx.app.adminIdentifier) throw new RestError(ErrorCode.BadParameter, `'${mail}' is the app admin or a customer-service account`);
      const base: Member = { mail, nickname: mail.split('@')[0], passwordHash: '', roles: ['staff'], groupIds: [DEFAULT_GROUP_ID], receptionLimit: 0, receptionLimitEnabled: false, disabled: false, createdAt: ctx.now };
      created.push(applyMember(ctx.app, base, b));
    }
    let app = withMembers(ctx.app, created);
    for (const [i, b] of list.entries()) app = withRoleIds(app, created[i].mail, b.RoleIDList as number[] | undefined);
    await ctx.saveApp(app);
    announce(ctx, created.map((m) => m.mail));
    return ok();
  }),

  desk('update_member', schema.updateMember, async (ctx) => {
    // The product's super administrator "cannot be deleted or modified"; so the role is given at creation only.
    const existing = member(ctx);
    if (existing.roles.includes('superAdmin')) throw new RestError(ErrorCode.BadParameter, 'a super administrator cannot be modified');
    if ((ctx.body.RoleIDList as number[] | undefined)?.includes(schema.RoleId.SuperAdmin)) throw new RestError(ErrorCode.BadParameter, 'role 1 (super administrator) is given when a member is created');
    const updated = applyMember(ctx.app, existing, ctx.body);
    await ctx.saveApp(withRoleIds(withMembers(ctx.app, [updated]), updated.mail, ctx.body.RoleIDList as number[] | undefined));
    announce(ctx, [updated.mail]);
    return ok();
  }),

  desk('get_member_list', schema.getMemberList, (ctx) => {
    const p = page(byCreation(ctx.app), ctx.body.PageSize as number, ctx.body.PageNum as number, ctx.body.Order as number | undefined);
    return ok({ MemberList: p.items.map((m) => schema.memberFieldsOf(ctx.app, m)), Total: p.Total });
  }),

  desk('force_member_offline', schema.memberOnly, async (ctx) => {
    const m = member(ctx);
    await ctx.saveApp(withMembers(ctx.app, [{ ...m, kickOff: true }]));
    // GAP-40: as when a member goes offline — offered sessions are re-routed, sessions in service stay for later.
    replied(await ctx.call(agentAddress(ctx.app.sdkAppId, m.mail), (replyTo) => ({ type: 'setStatus', status: AgentStatus.Offline, replyTo })));
    ctx.deps.closeSockets?.(Role.Agent, ctx.app.sdkAppId, m.mail, CloseCode.Unauthorized, 'forced offline');
    return ok();
  }),

  desk('restore_member_online', schema.memberOnly, async (ctx) => {
    const m = member(ctx);
    await ctx.saveApp(withMembers(ctx.app, [{ ...m, kickOff: false }]));
    return ok();
  }),

  desk('set_member_status', schema.setMemberStatus, async (ctx) => {
    const m = member(ctx, MemberNotFound);
    const status = { STATUS_FREE: AgentStatus.Free, STATUS_NOT_READY: AgentStatus.Busy, STATUS_REST: AgentStatus.Rest }[ctx.body.Status as string]!;
    replied(await ctx.call(agentAddress(ctx.app.sdkAppId, m.mail), (replyTo) => ({ type: 'setStatus', status, reason: ctx.body.RestReason, onlineOnly: true, replyTo })));
    return ok();
  }),

  desk('create_member_group', schema.createMemberGroup, async (ctx) => {
    const app = ctx.app;
    // Ids are never reused: a deleted group's id may still be named by stored records and scopes.
    const id = Math.max(app.nextGroupId ?? 0, ...Object.values(app.groups).map((g) => g.id + 1));
    const mails = (ctx.body.MemberList as string[] | undefined) ?? [];
    const members = mails.map((mail) => {
      const m = memberOf(app, mail);
      if (!m) throw new RestError(ErrorCode.BadParameter, `'${mail}' is not a member`);
      return { ...m, groupIds: [...m.groupIds, id] };
    });
    const groups = { ...app.groups, [id]: { id, name: ctx.body.MemberGroupName as string, receptionLimit: ctx.body.ReceptionLimit as number | undefined } };
    await ctx.saveApp(withMembers({ ...app, groups, nextGroupId: id + 1 }, members));
    announce(ctx, mails);
    return ok({ MemberGroupID: id });
  }),

  desk('update_member_group', schema.updateMemberGroup, async (ctx) => {
    const app = ctx.app;
    const id = ctx.body.MemberGroupID as number;
    const g = groupOf(app, id);
    if (!g) throw new RestError(ErrorCode.BadParameter, `${id} is not a member group`);
    const group = { ...g };
    if (ctx.body.MemberGroupName !== undefined) group.name = ctx.body.MemberGroupName as string;
    if (ctx.body.ReceptionLimit !== undefined) group.receptionLimit = ctx.body.ReceptionLimit as number;
    let members: Member[] = [];
    const list = ctx.body.MemberMailList as string[] | undefined;
    if (list !== undefined) {
      if (id === DEFAULT_GROUP_ID) throw new RestError(ErrorCode.BadParameter, 'every member is in the default group');
      for (const mail of list) if (!memberOf(app, mail)) throw new RestError(ErrorCode.BadParameter, `'${mail}' is not a member`);
      // The list replaces the group's members.
      members = Object.values(app.members)
        .filter((m) => m.groupIds.includes(id) !== list.includes(m.mail))
        .map((m) => ({ ...m, groupIds: list.includes(m.mail) ? [...m.groupIds, id] : m.groupIds.filter((x) => x !== id) }));
    }
    await ctx.saveApp(withMembers({ ...app, groups: { ...app.groups, [id]: group } }, members));
    announce(ctx, Object.values(app.members).filter((m) => m.groupIds.includes(id) || members.some((x) => x.mail === m.mail)).map((m) => m.mail));
    return ok();
  }),

  desk('delete_member_group', schema.memberGroupOnly, async (ctx) => {
    const app = ctx.app;
    const id = ctx.body.MemberGroupID as number;
    if (!groupOf(app, id)) throw new RestError(ErrorCode.BadParameter, `${id} is not a member group`);
    if (id === DEFAULT_GROUP_ID) throw new RestError(ErrorCode.BadParameter, 'the default group cannot be deleted');
    const users = Object.values(app.csAccounts).filter((a) => a.agentGroupId === id || a.displayGroupsChoices?.includes(id));
    if (users.length) throw new RestError(ErrorCode.BadParameter, `customer-service accounts use this group: ${users.map((a) => a.userId).join(', ')}`);
    if ((await readAt<number>(ctx, queueAddress(app.sdkAppId, id), QUEUE_WAITING_READER)) > 0) throw new RestError(ErrorCode.BadParameter, 'sessions are waiting in this group\'s queue');
    const groups = { ...app.groups };
    delete groups[String(id)];
    const members = Object.values(app.members).filter((m) => m.groupIds.includes(id)).map((m) => ({ ...m, groupIds: m.groupIds.filter((x) => x !== id) }));
    // Nothing may keep naming it: quick-reply scopes and roles' visible groups drop it.
    const quickReplies = app.quickReplies && {
      ...app.quickReplies,
      groups: Object.fromEntries(Object.entries(app.quickReplies.groups).map(([k, g]) => [k, g.scopeType === 'groups' ? { ...g, scopeList: g.scopeList.filter((x) => Number(x) !== id) } : g])),
    };
    const customRoles = app.customRoles && Object.fromEntries(Object.entries(app.customRoles).map(([k, r]) => [k, { ...r, memberGroupIds: r.memberGroupIds.filter((x) => x !== id) }]));
    await ctx.saveApp(withMembers({ ...app, groups, quickReplies, customRoles }, members));
    announce(ctx, members.map((m) => m.mail));
    return ok();
  }),

  desk('get_member_group_list', schema.getMemberGroupList, (ctx) => {
    const app = ctx.app;
    const groups = Object.values(app.groups).sort((a, b) => a.id - b.id);
    const p = page(groups, (ctx.body.PageSize as number | undefined) ?? 0, (ctx.body.PageNumber as number | undefined) ?? 0, 0);
    return ok({
      MemberGroupList: p.items.map((g) => ({
        MemberGroupID: g.id, MemberGroupName: g.name, ReceptionLimit: g.receptionLimit ?? app.session.maxConcurrentPerAgent,
        GroupMemberCount: Object.values(app.members).filter((m) => m.groupIds.includes(g.id)).length,
      })),
      Total: p.Total,
    });
  }),

  desk('get_member_list_in_group', schema.getMemberListInGroup, (ctx) => {
    const id = ctx.body.MemberGroupID as number;
    if (!groupOf(ctx.app, id)) throw new RestError(ErrorCode.BadParameter, `${id} is not a member group`);
    const p = page(byCreation(ctx.app).filter((m) => m.groupIds.includes(id)), ctx.body.PageSize as number, ctx.body.PageNum as number, ctx.body.Order as number | undefined);
    return ok({ MemberList: p.items.map((m) => schema.memberFieldsOf(ctx.app, m)), Total: p.Total });
  }),
];
