/**
 * Quick replies (rest-api-extensions.md §4): shared groups with a scope (all members, chosen member groups, chosen
 * members) and members' personal replies. The add/delete reply paths are not published; they follow the confirmed
 * ones' naming (`add_quick_reply`, `delete_quick_reply`, `add_member_quick_reply`, `delete_member_quick_reply`).
 */
import { randomBytes } from 'node:crypto';
import { groupOf, MAX_QUICK_REPLY_GROUPS, memberOf, type AppModel, type Member, type QuickReplies, type QuickReplyGroup } from '../../protocol/app-model';
import { ErrorCode } from '../../protocol/errors';
import { ok, Service } from '../../protocol/rest/envelope';
import * as schema from '../../protocol/rest/quick-replies';
import { bad, desk, type Endpoint, type RestContext } from './facade';

const PERSONAL = '个人';

const newId = (prefix: string): string => `${prefix}${randomBytes(8).toString('hex')}`;

function qr(app: AppModel): QuickReplies {
  return app.quickReplies ?? { groups: {}, replies: {}, personal: {} };
}

function save(ctx: RestContext, q: QuickReplies): Promise<void> {
  return ctx.saveApp({ ...ctx.app, quickReplies: q });
}

/** The scope as stored: member-group ids must exist (as numbers), member mails must be members. */
function scopeOf(app: AppModel, type: QuickReplyGroup['scopeType'], list: (string | number)[] = []): (string | number)[] {
  if (type === 'all') return [];
  if (type === 'groups') {
    return list.map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || !groupOf(app, n)) throw bad(`${x} is not a member group`);
      return n;
    });
  }
  return list.map((x) => {
    if (typeof x !== 'string' || !memberOf(app, x)) throw bad(`${x} is not a member`);
    return x;
  });
}

function group(q: QuickReplies, id: unknown): QuickReplyGroup {
  const g = Object.hasOwn(q.groups, String(id)) ? q.groups[String(id)] : undefined;
  if (!g) throw bad(`no quick-reply group ${String(id)}`);
  return g;
}

function member(app: AppModel, mail: unknown): Member {
  const m = memberOf(app, String(mail));
  if (!m) throw bad(`'${String(mail)}' is not a member`);
  return m;
}

function visibleTo(g: QuickReplyGroup, m: Member): boolean {
  if (g.scopeType === 'all') return true;
  if (g.scopeType === 'groups') return g.scopeList.some((id) => m.groupIds.includes(Number(id)));
  return g.scopeList.includes(m.mail);
}


function uniqueName(q: QuickReplies, name: string, except?: string): void {
  if (Object.values(q.groups).some((g) => g.name === name && g.id !== except)) throw bad(`a quick-reply group is already named '${name}'`);
}

export const deskQuickReplyEndpoints: Endpoint[] = [
  desk('add_quick_reply_group', schema.addGroup, async (ctx) => {
    const q = qr(ctx.app);
    if (Object.keys(q.groups).length >= MAX_QUICK_REPLY_GROUPS) throw bad(`at most ${MAX_QUICK_REPLY_GROUPS} quick-reply groups`);
    uniqueName(q, ctx.body.GroupName as string);
    const type = ctx.body.UseScopeType as QuickReplyGroup['scopeType'];
    const g: QuickReplyGroup = { id: newId('qrg'), name: ctx.body.GroupName as string, scopeType: type, scopeList: scopeOf(ctx.app, type, ctx.body.UseScopeList as (string | number)[]) };
    await save(ctx, { ...q, groups: { ...q.groups, [g.id]: g } });
    return ok({ GroupId: g.id });
  }),

  desk('update_quick_reply_group', schema.updateGroup, async (ctx) => {
    const q = qr(ctx.app);
    const g = group(q, ctx.body.GroupId);
    uniqueName(q, ctx.body.GroupName as string, g.id);
    const type = ctx.body.UseScopeType as QuickReplyGroup['scopeType'];
    const updated = { ...g, name: ctx.body.GroupName as string, scopeType: type, scopeList: scopeOf(ctx.app, type, ctx.body.UseScopeList as (string | number)[]) };
    await save(ctx, { ...q, groups: { ...q.groups, [g.id]: updated } });
    return ok();
  }),

  desk('delete_quick_reply_group', schema.groupOnly, async (ctx) => {
    const q = qr(ctx.app);
    const g = group(q, ctx.body.GroupId);
    const groups = { ...q.groups };
    delete groups[g.id];
    // Its replies go with it.
    const replies = Object.fromEntries(Object.entries(q.replies).filter(([, r]) => r.groupId !== g.id));
    await save(ctx, { ...q, groups, replies });
    return ok();
  }),

  desk('get_quick_reply_group_list', schema.noFields, (ctx) => ok({ Data: Object.values(qr(ctx.app).groups).map(schema.groupFields) })),

  desk('add_quick_reply', schema.addReply, async (ctx) => {
    const q = qr(ctx.app);
    const g = group(q, ctx.body.GroupId);
    const r = { id: newId('qr'), groupId: g.id, title: ctx.body.Title as string, content: ctx.body.Content as string };
    await save(ctx, { ...q, replies: { ...q.replies, [r.id]: r } });
    return ok({ QuickReplyId: r.id });
  }),

  desk('update_quick_reply', schema.updateReply, async (ctx) => {
    const q = qr(ctx.app);
    const id = String(ctx.body.QuickReplyId);
    if (!Object.hasOwn(q.replies, id)) throw bad(`no quick reply ${id}`);
    const g = group(q, ctx.body.GroupId);
    await save(ctx, { ...q, replies: { ...q.replies, [id]: { id, groupId: g.id, title: ctx.body.Title as string, content: ctx.body.Content as string } } });
    return ok();
  }),

  desk('delete_quick_reply', schema.deleteReply, async (ctx) => {
    const q = qr(ctx.app);
    const id = String(ctx.body.QuickReplyId);
    if (!Object.hasOwn(q.replies, id) || (ctx.body.GroupId !== undefined && q.replies[id].groupId !== ctx.body.GroupId)) throw bad(`no quick reply ${id}`);
    const replies = { ...q.replies };
    delete replies[id];
    await save(ctx, { ...q, replies });
    return ok();
  }),

  desk('get_quick_reply_list', schema.groupOnly, (ctx) => {
    const q = qr(ctx.app);
    const g = group(q, ctx.body.GroupId);
    return ok({ Data: Object.values(q.replies).filter((r) => r.groupId === g.id).map(schema.replyFields) });
  }),

  desk('add_member_quick_reply', schema.addPersonal, async (ctx) => {
    const m = member(ctx.app, ctx.body.MemberId);
    const q = qr(ctx.app);
    const r = { id: newId('qr'), groupId: m.mail, title: ctx.body.Title as string, content: ctx.body.Content as string };
    await save(ctx, { ...q, personal: { ...q.personal, [m.mail]: { ...(q.personal[m.mail] ?? {}), [r.id]: r } } });
    return ok({ QuickReplyId: r.id });
  }),

  desk('update_member_quick_reply', schema.updatePersonal, async (ctx) => {
    const m = member(ctx.app, ctx.body.MemberId);
    const q = qr(ctx.app);
    const id = String(ctx.body.QuickReplyId);
    const mine = q.personal[m.mail] ?? {};
    if (!Object.hasOwn(mine, id)) throw bad(`no personal quick reply ${id} of ${m.mail}`);
    await save(ctx, { ...q, personal: { ...q.personal, [m.mail]: { ...mine, [id]: { id, groupId: m.mail, title: ctx.body.Title as string, content: ctx.body.Content as string } } } });
    return ok();
  }),

  desk('delete_member_quick_reply', schema.deletePersonal, async (ctx) => {
    const m = member(ctx.app, ctx.body.MemberId);
    const q = qr(ctx.app);
    const id = String(ctx.body.QuickReplyId);
    const mine = { ...(q.personal[m.mail] ?? {}) };
    if (!Object.hasOwn(mine, id)) throw bad(`no personal quick reply ${id} of ${m.mail}`);
    delete mine[id];
    await save(ctx, { ...q, personal: { ...q.personal, [m.mail]: mine } });
    return ok();
  }),

  desk('get_available_quick_reply_list', schema.memberOnly, (ctx) => ok({ Data: availableQuickReplies(ctx.app, member(ctx.app, ctx.body.MemberId)) })),
];

/** The quick replies a member may use: the shared groups whose scope takes it in, then its personal ones. */
export function availableQuickReplies(app: AppModel, m: Member): { GroupId: string; GroupName: string; QuickReplyList: ReturnType<typeof schema.replyFields>[] }[] {
  const q = qr(app);
  const shared = Object.values(q.groups).filter((g) => visibleTo(g, m)).map((g) => ({
    GroupId: g.id, GroupName: g.name, QuickReplyList: Object.values(q.replies).filter((r) => r.groupId === g.id).map(schema.replyFields),
  }));
  const personal = Object.values(q.personal[m.mail] ?? {});
  return [...shared, ...(personal.length ? [{ GroupId: m.mail, GroupName: PERSONAL, QuickReplyList: personal.map(schema.replyFields) }] : [])];
}
