/** Custom roles (rest-api-extensions.md §3): named sets of members with permissions and visible member groups. */
import { FIRST_CUSTOM_ROLE_ID, groupOf, memberOf, type AppModel, type CustomRole } from '../../protocol/app-model';
import { ErrorCode } from '../../protocol/errors';
import { ok, Service } from '../../protocol/rest/envelope';
import * as schema from '../../protocol/rest/members';
import { bad, desk, type Endpoint, type RestContext } from './facade';


function checked(app: AppModel, b: Record<string, unknown>): Partial<CustomRole> {
  const out: Partial<CustomRole> = {};
  if (b.RoleName !== undefined) out.name = b.RoleName as string;
  if (b.PermissionList !== undefined) out.permissions = [...new Set(b.PermissionList as string[])];
  if (b.MemberList !== undefined) {
    for (const m of b.MemberList as string[]) if (!memberOf(app, m)) throw bad(`'${m}' is not a member`);
    out.members = [...new Set(b.MemberList as string[])];
  }
  if (b.MemberGroupIDList !== undefined) {
    for (const g of b.MemberGroupIDList as number[]) if (!groupOf(app, g)) throw bad(`${g} is not a member group`);
    out.memberGroupIds = b.MemberGroupIDList as number[];
  }
  return out;
}

function role(ctx: RestContext): CustomRole {
  const id = String(ctx.body.RoleID);
  const r = ctx.app.customRoles && Object.hasOwn(ctx.app.customRoles, id) ? ctx.app.customRoles[id] : undefined;
  if (!r) throw bad(`${id} is not a custom role`);
  return r;
}

const fields = (r: CustomRole) => ({ RoleID: r.id, RoleName: r.name, PermissionList: r.permissions, MemberList: r.members, MemberGroupIDList: r.memberGroupIds });


export const deskRoleEndpoints: Endpoint[] = [
  desk('add_role', schema.addRole, async (ctx) => {
    const roles = ctx.app.customRoles ?? {};
    if (Object.values(roles).some((r) => r.name === ctx.body.RoleName)) throw bad(`a role is already named '${String(ctx.body.RoleName)}'`);
    const id = Math.max(FIRST_CUSTOM_ROLE_ID - 1, ...Object.values(roles).map((r) => r.id)) + 1;
    const r: CustomRole = { id, name: '', permissions: [], members: [], memberGroupIds: [], ...checked(ctx.app, ctx.body) };
    await ctx.saveApp({ ...ctx.app, customRoles: { ...roles, [id]: r } });
    return ok({ RoleID: id });
  }),

  desk('modify_role', schema.modifyRole, async (ctx) => {
    const r = role(ctx);
    if (Object.values(ctx.app.customRoles ?? {}).some((x) => x.name === ctx.body.RoleName && x.id !== r.id)) throw bad(`a role is already named '${String(ctx.body.RoleName)}'`);
    await ctx.saveApp({ ...ctx.app, customRoles: { ...ctx.app.customRoles, [r.id]: { ...r, ...checked(ctx.app, ctx.body) } } });
    return ok();
  }),

  desk('delete_role', schema.roleOnly, async (ctx) => {
    const r = role(ctx);
    const customRoles = { ...ctx.app.customRoles };
    delete customRoles[String(r.id)];
    await ctx.saveApp({ ...ctx.app, customRoles });
    return ok();
  }),

  desk('get_role_list', schema.getRoleList, (ctx) => {
    const who = ctx.body.SpecifiedMember as string | undefined;
    const list = Object.values(ctx.app.customRoles ?? {}).filter((r) => !who || r.members.includes(who)).sort((a, b) => a.id - b.id);
    return ok({ Total: list.length, RoleList: list.map(fields) });
  }),
];
