/** Request schemas of create_group (rest-api.md §2.1) and IM's destroy_group, with the limits the handler checks. */
import { userIdSchema } from '../app-schema';
import { chatGroupIdRule } from '../frames';

/** MemberList holds at most this many members (more: 10005). */
export const MAX_INITIAL_MEMBERS = 100;
/** UTF-8 byte limits of the group's texts (a CJK character is 3 bytes). */
export const textByteLimits = { Name: 100, Introduction: 400, Notification: 400, FaceUrl: 500 } as const;
/** The group types a customer-service account may serve. */
export const chatGroupTypes = ['Public', 'Private'] as const;

const customData = {
  type: 'array', optional: true, max: 50,
  items: { type: 'object', strict: true, props: { Key: { type: 'string', min: 1, max: 64 }, Value: { type: 'string', max: 4096 } } },
} as const;

export const createGroup = {
  $$strict: true,
  Owner_Account: { ...userIdSchema, optional: true },
  // Any string here: a type other than Public/Private is the IM group code 10004, not a facade refusal.
  Type: { type: 'string', min: 1, max: 32 },
  GroupId: chatGroupIdRule,
  // Characters here, bytes in the handler.
  Name: { type: 'string', min: 1, max: textByteLimits.Name },
  Introduction: { type: 'string', optional: true, max: textByteLimits.Introduction },
  Notification: { type: 'string', optional: true, max: textByteLimits.Notification },
  FaceUrl: { type: 'string', optional: true, max: textByteLimits.FaceUrl },
  MaxMemberCount: { type: 'number', integer: true, min: 1, max: 100_000, optional: true },
  ApplyJoinOption: { type: 'enum', values: ['FreeAccess', 'NeedPermission', 'DisableApply'], optional: true },
  InviteJoinOption: { type: 'enum', values: ['FreeAccess', 'NeedPermission', 'DisableInvite'], optional: true },
  AppDefinedData: customData,
  // Required (the field table and the restrictions; the example's "选填" comment is wrong, rest-api.md §5 item 11).
  MemberList: {
    type: 'array',
    items: {
      type: 'object', strict: true,
      props: { Member_Account: userIdSchema, Role: { type: 'enum', values: ['Admin'], optional: true }, AppMemberDefinedData: customData },
    },
  },
  AppMemberDefinedData: customData,
} as const;

export interface CreateGroupBody {
  Owner_Account?: string;
  Type: string;
  GroupId: string;
  Name: string;
  Introduction?: string;
  Notification?: string;
  FaceUrl?: string;
  MaxMemberCount?: number;
  ApplyJoinOption?: string;
  InviteJoinOption?: string;
  AppDefinedData?: { Key: string; Value: string }[];
  MemberList: { Member_Account: string; Role?: 'Admin' }[];
}

export const destroyGroup = { $$strict: true, GroupId: chatGroupIdRule } as const;
