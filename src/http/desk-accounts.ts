/** desk_http_svc customer-service account endpoints (rest-api.md §2.31–2.34): they write the app model. */
import { randomBytes } from 'node:crypto';
import {
  accountOf, defaultCsAccount, groupOf, MAX_CS_ACCOUNTS, memberOf, prompt, robotOf, type AppModel, type CsAccount,
} from '../../protocol/app-model';
import { ErrorCode } from '../../protocol/errors';
import * as schema from '../../protocol/rest/cs-account';
import { isHttpUrl } from '../../protocol/app-schema';
import { ok, Service } from '../../protocol/rest/envelope';
import { desk, RestError, type Endpoint } from './facade';

const TooManyAccounts = 141007;

/** The references an account makes must exist: its group, the groups a user may choose, its robot. */
function checkAccount(app: AppModel, a: CsAccount): void {
  if (!groupOf(app, a.agentGroupId)) throw new RestError(ErrorCode.BadParameter, `AgentGroupId ${a.agentGroupId} is not a group`);
  if (a.assignmentStrategy === 1) {
    if (!a.displayGroupsChoices?.length) throw new RestError(ErrorCode.BadParameter, 'AssignmentStrategy 1 needs DisplayGroupsChoices');
    for (const g of a.displayGroupsChoices) if (!groupOf(app, g)) throw new RestError(ErrorCode.BadParameter, `DisplayGroupsChoices: ${g} is not a group`);
  }
  if (a.assignmentStrategy === 2 && !a.assignedByWebhookURL) throw new RestError(ErrorCode.BadParameter, 'AssignmentStrategy 2 needs AssignedByWebhookURL');
  if (a.assignedByWebhookURL !== undefined && !isHttpUrl(a.assignedByWebhookURL)) throw new RestError(ErrorCode.BadParameter, 'AssignedByWebhookURL is not a usable http(s) URL');
  if (!robotOf(app, a.robotId)) throw new RestError(ErrorCode.BadParameter, `RobotId '${a.robotId}' is not a robot of this app`);
}

function withAccount(app: AppModel, a: CsAccount): AppModel {
  return { ...app, csAccounts: { ...app.csAccounts, [a.userId]: a } };
}


export const deskAccountEndpoints: Endpoint[] = [
  desk('add_im_agent', schema.addImAgent, async (ctx) => {
    const app = ctx.app;
    if (Object.keys(app.csAccounts).length >= MAX_CS_ACCOUNTS) throw new RestError(TooManyAccounts, `at most ${MAX_CS_ACCOUNTS} customer-service accounts`);
    const userId = (ctx.body.IMAgentUserID as string | undefined) ?? `im${randomBytes(15).toString('hex')}`;
    if (accountOf(app, userId)) throw new RestError(ErrorCode.BadParameter, `'${userId}' is already a customer-service account`);
    if (memberOf(app, userId) || userId === app.adminIdentifier) throw new RestError(ErrorCode.BadParameter, `'${userId}' is a member or the admin`);
    const account = schema.applyAccountFields(defaultCsAccount(userId, false), ctx.body);
    checkAccount(app, account);
    await ctx.saveApp(withAccount(app, account));
    return ok({ IMAgentUserID: userId });
  }),

  desk('update_im_agent', schema.updateImAgent, async (ctx) => {
    const app = ctx.app;
    const existing = accountOf(app, ctx.body.IMAgentUserID as string);
    if (!existing) throw new RestError(ErrorCode.BadParameter, `'${String(ctx.body.IMAgentUserID)}' is not a customer-service account`);
    const account = schema.applyAccountFields(existing, ctx.body);
    checkAccount(app, account);
    await ctx.saveApp(withAccount(app, account));
    return ok({ IMAgentUserID: account.userId });
  }),

  desk('delete_im_agent', schema.deleteImAgent, async (ctx) => {
    const app = ctx.app;
    const existing = accountOf(app, ctx.body.IMAgentUserID as string);
    if (!existing) throw new RestError(ErrorCode.BadParameter, `'${String(ctx.body.IMAgentUserID)}' is not a customer-service account`);
    if (existing.isDefault) throw new RestError(ErrorCode.BadParameter, 'the default customer-service account cannot be deleted');
    if (ctx.deps.store.allActiveSessions().some((s) => s.app === app.sdkAppId && s.csAccount === existing.userId)) {
      throw new RestError(ErrorCode.BadParameter, 'the account still has open sessions; end them first');
    }
    const csAccounts = { ...app.csAccounts };
    delete csAccounts[existing.userId];
    await ctx.saveApp({ ...app, csAccounts });
    return ok();
  }),

  desk('get_im_agent_list', schema.getImAgentList, (ctx) => ok({
    Data: Object.values(ctx.app.csAccounts).map((a) => schema.accountFields(a, (name) => prompt(ctx.app, a, name))),
  })),
];
