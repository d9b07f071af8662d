/**
 * `POST /web/v1/agent_context`: what the workbench lists besides its sessions, for the member whose UserSig the body
 * carries: the member groups and members it can transfer to, and the quick replies it may use.
 */
import { memberOf } from '../../protocol/app-model';
import { ErrorCode } from '../../protocol/errors';
import { fail, ok, type Envelope } from '../../protocol/rest/envelope';
import type { SigVerifier } from '../auth/sigs';
import { availableQuickReplies } from './desk-quick-replies';
import { notDeskApp, sdkAppIdRule, signedBy, sigRefusal, type WebCommand, type WebDeps } from './web-api';

interface ContextBody { SdkAppId: number; Identifier: string; UserSig: string }

export function agentContextCommand(deps: WebDeps & { sigs: SigVerifier }): WebCommand {
  return {
    name: 'agent_context',
    schema: { SdkAppId: sdkAppIdRule, ...signedBy },
    handle(body): Envelope {
      const { SdkAppId, Identifier, UserSig } = body as unknown as ContextBody;
      const app = deps.apps.get(SdkAppId);
      if (!app) return notDeskApp(SdkAppId);
      const refused = sigRefusal(deps, app, Identifier, UserSig);
      if (refused) return refused;
      const me = memberOf(app, Identifier);
      if (!me || me.disabled) return fail(ErrorCode.BadIdentity, 'only an enabled member has a workbench');
      return ok({
        Groups: Object.values(app.groups).map((g) => ({ Id: g.id, Name: g.name })),
        Members: Object.values(app.members).filter((m) => !m.disabled && m.mail !== me.mail).map((m) => ({ Mail: m.mail, Nickname: m.nickname, GroupIds: m.groupIds })),
        QuickReplies: availableQuickReplies(app, me).flatMap((g) => g.QuickReplyList.map((r) => ({ Id: r.QuickReplyId, Title: r.Title, Content: r.Content, Group: g.GroupName }))),
      });
    },
  };
}
