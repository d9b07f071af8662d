/** Every REST endpoint the facade serves. */
import { chatGroupEndpoints } from './chat-groups';
import { documentEndpoints } from './console-documents';
import { taskFlowEndpoints } from './console-task-flows';
import { consoleKnowledgeEndpoints } from './console-knowledge';
import { consoleRobotEndpoints } from './console-robot';
import { deskAccountEndpoints } from './desk-accounts';
import { deskMemberEndpoints } from './desk-members';
import { deskQuickReplyEndpoints } from './desk-quick-replies';
import { deskRoleEndpoints } from './desk-roles';
import { deskSessionEndpoints } from './desk-session';
import { deskSettingsEndpoints } from './desk-settings';
import { deskStatisticsEndpoints } from './desk-statistics';
import type { Endpoint } from './facade';
import { sessionHistoryEndpoints } from './session-history';

export const restEndpoints: readonly Endpoint[] = [
  ...deskSessionEndpoints, ...deskAccountEndpoints, ...deskSettingsEndpoints, ...deskMemberEndpoints, ...deskQuickReplyEndpoints, ...deskRoleEndpoints,
  ...consoleRobotEndpoints, ...consoleKnowledgeEndpoints, ...documentEndpoints, ...taskFlowEndpoints, ...chatGroupEndpoints, ...deskStatisticsEndpoints, ...sessionHistoryEndpoints,
];
