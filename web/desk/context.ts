/** What the workbench lists besides sessions: groups and members to transfer to, and the member's quick replies. */
import { useEffect, useState } from 'preact/hooks';
import { webCall } from '../lib/api';
import type { Login } from '../lib/sign-in';

export interface AgentContext {
  groups: { id: number; name: string }[];
  members: { mail: string; nickname: string; groupIds: number[] }[];
  quickReplies: { id: string; title: string; content: string }[];
}

export function useAgentContext(login: Login): AgentContext | undefined {
  const [context, setContext] = useState<AgentContext>();
  useEffect(() => {
    webCall('agent_context', { SdkAppId: login.sdkAppId, Identifier: login.identifier, UserSig: login.userSig }).then(
      (r) => setContext({
        groups: (r.Groups ?? []).map((g: { Id: number; Name: string }) => ({ id: g.Id, name: g.Name })),
        members: (r.Members ?? []).map((m: { Mail: string; Nickname: string; GroupIds: number[] }) => ({ mail: m.Mail, nickname: m.Nickname, groupIds: m.GroupIds })),
        quickReplies: (r.QuickReplies ?? []).map((q: { Id: string; Title: string; Content: string }) => ({ id: q.Id, title: q.Title, content: q.Content })),
      }),
      () => setContext(undefined),
    );
  }, [login]);
  return context;
}
