/**
 * Group chats served by a customer-service account: desk_http_svc/create_group (rest-api.md §2.1) and the IM call
 * that dismisses one, group_open_http_svc/destroy_group.
 */
import { randomBytes } from 'node:crypto';
import { groupConvUser, sessionAddress } from '../../actors/address';
import type { ChatGroup } from '../../actors/types';
import { accountOf, memberOf } from '../../protocol/app-model';
import { ErrorCode } from '../../protocol/errors';
import * as schema from '../../protocol/rest/chat-group';
import { ok, Service } from '../../protocol/rest/envelope';
import { desk, endpoint, RestError, replied, type Endpoint } from './facade';
import { waitsForBackend } from './desk-session';

const badGroup = (info: string): RestError => new RestError(ErrorCode.ChatGroupBadParameter, info);

/** Groups being created right now: a second call for the same GroupId must not race the first to its account. */
const opening = new Set<string>();

/** The group a valid create_group body describes, or the IM group code of what is wrong with it. */
function groupOf(b: schema.CreateGroupBody, app: Parameters<typeof accountOf>[0], now: number): { group: ChatGroup; csAccount: string } {
  if (!(schema.chatGroupTypes as readonly string[]).includes(b.Type)) throw badGroup('Type must be Public or Private: a customer-service account serves no other kind of group');
  for (const [field, limit] of Object.entries(schema.textByteLimits)) {
    const value = b[field as keyof typeof schema.textByteLimits];
    if (value !== undefined && Buffer.byteLength(value) > limit) throw badGroup(`${field} exceeds ${limit} bytes`);
  }
  if (b.MemberList.length > schema.MAX_INITIAL_MEMBERS) throw new RestError(ErrorCode.ChatGroupTooManyMembers, `MemberList holds at most ${schema.MAX_INITIAL_MEMBERS} members`);
  const ids = b.MemberList.map((m) => m.Member_Account);
  if (new Set(ids).size !== ids.length) throw badGroup('MemberList names a member twice');
  // The owner is a member of the group whether listed or not.
  if (b.Owner_Account !== undefined && !ids.includes(b.Owner_Account)) ids.push(b.Owner_Account);
  const accounts = ids.filter((id) => accountOf(app, id));
  if (accounts.length !== 1) throw badGroup('the group must hold exactly one customer-service account');
  const users = ids.filter((id) => !accountOf(app, id));
  if (users.some((id) => memberOf(app, id) || id === app.adminIdentifier)) throw badGroup('desk members and the app administrator cannot be members of a group chat');
  if (users.length === 0) throw badGroup('MemberList needs at least one member besides the customer-service account');
  if (b.MaxMemberCount !== undefined && ids.length > b.MaxMemberCount) throw new RestError(ErrorCode.ChatGroupMemberLimit, 'more members than MaxMemberCount');
  const admins = b.MemberList.filter((m) => m.Role === 'Admin' && !accountOf(app, m.Member_Account)).map((m) => m.Member_Account);
  const group: ChatGroup = {
    id: b.GroupId, generation: `${now.toString(36)}${randomBytes(3).toString('hex')}`, name: b.Name, type: b.Type as ChatGroup['type'], owner: b.Owner_Account, members: users, createdAt: now,
    ...(admins.length ? { admins } : {}),
    introduction: b.Introduction, notification: b.Notification, faceUrl: b.FaceUrl, maxMemberCount: b.MaxMemberCount,
    applyJoinOption: b.ApplyJoinOption, inviteJoinOption: b.InviteJoinOption, appDefinedData: b.AppDefinedData,
  };
  return { group, csAccount: accounts[0] };
}

export const chatGroupEndpoints: Endpoint[] = [
  desk('create_group', schema.createGroup, async (ctx) => {
    const b = ctx.body as unknown as schema.CreateGroupBody;
    const { group, csAccount } = groupOf(b, ctx.app, ctx.now);
    const key = `${ctx.app.sdkAppId}|${b.GroupId}`;
    if (opening.has(key) || ctx.deps.store.chatGroup(ctx.app.sdkAppId, b.GroupId)) throw new RestError(ErrorCode.ChatGroupIdUsed, 'GroupId is already used; dismiss that group or choose another id');
    opening.add(key);
    try {
      // A business server denying the transfer (strategy 2) is a failed assignment too: §2.1 lists no other code for it.
      replied(await ctx.call(sessionAddress(ctx.app.sdkAppId, csAccount, groupConvUser(group)), (replyTo) => ({ type: 'adminOpenGroup', group, replyTo })), {
        [ErrorCode.NotTransferable]: ErrorCode.NoAgentOnline,
      });
    } finally {
      opening.delete(key);
    }
    return ok({ GroupId: b.GroupId });
  }, waitsForBackend),

  endpoint(Service.Group, 'destroy_group', schema.destroyGroup, async (ctx) => {
    const groupId = String(ctx.body.GroupId);
    const entry = ctx.deps.store.chatGroup(ctx.app.sdkAppId, groupId);
    if (!entry) throw new RestError(ErrorCode.ChatGroupNotFound, 'the group does not exist');
    replied(await ctx.call(sessionAddress(ctx.app.sdkAppId, entry.csAccount, groupConvUser(entry.group)), (replyTo) => ({ type: 'adminDestroyGroup', groupId, replyTo })));
    return ok();
  }),
];
