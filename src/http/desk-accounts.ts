/** desk_http_svc customer-service account endpoints (rest-api.md §2.31–2.34): they write the app model. */
import { randomBytes } from 'node:crypto';
import {
  accountOf, defaultCsAccount, groupOf, MAX_CS_ACCOUNTS, memberOf, prompt, robotOf, type AppModel, type CsAccount,
} from '../../protocol/app-model';
import { ErrorCode } from '../../protocol/errors';
import * as schema from '../../protocol/rest/cs-account';
import { isHttpUrl } from '../../protocol/app-schema';
import { ok, type Envelope } from '../../protocol/rest/envelope';
import { desk, RestError, type Endpoint, type RestContext } from './facade';

const TooManyAccounts = 141007;

type Strategy = Pick<CsAccount, 'assignmentStrategy' | 'displayGroupsChoices' | 'assignedByWebhookURL'>;

/** An assignment strategy names what it needs: groups that exist to choose from, or a usable URL. */
function checkStrategy(app: AppModel, a: Strategy, where: string): void {
  const bad = (info: string) => new RestError(ErrorCode.BadParameter, `${where}${info}`);
  if (a.assignmentStrategy === 1) {
    if (!a.displayGroupsChoices?.length) throw bad('AssignmentStrategy 1 needs DisplayGroupsChoices');
    for (const g of a.displayGroupsChoices) if (!groupOf(app, g)) throw bad(`DisplayGroupsChoices: ${g} is not a group`);
  }
  if (a.assignmentStrategy === 2 && !a.assignedByWebhookURL) throw bad('AssignmentStrategy 2 needs AssignedByWebhookURL');
  if (a.assignedByWebhookURL !== undefined && !isHttpUrl(a.assignedByWebhookURL)) throw bad('AssignedByWebhookURL is not a usable http(s) URL');
}

/** The references an account makes must exist: its group, the groups a user may choose (in every language), its robot. */
function checkAccount(app: AppModel, a: CsAccount): void {
  if (!groupOf(app, a.agentGroupId)) throw new RestError(ErrorCode.BadParameter, `AgentGroupId ${a.agentGroupId} is not a group`);
  checkStrategy(app, a, '');
  for (const [lang, s] of Object.entries(a.languageSettings ?? {})) checkStrategy(app, { ...a, ...s }, `MultilingualSettings.${lang}: `);
  if (!robotOf(app, a.robotId)) throw new RestError(ErrorCode.BadParameter, `RobotId '${a.robotId}' is not a robot of this app`);
}

function withAccount(app: AppModel, a: CsAccount): AppModel {
  return { ...app, csAccounts: { ...app.csAccounts, [a.userId]: a } };
}

/** add_im_agent in either form: a new account (its id generated when none is given) with the body's fields. */
async function addAccount(ctx: RestContext, apply: (base: CsAccount, body: Record<string, unknown>) => CsAccount): Promise<Envelope> {
  const app = ctx.app;
  if (Object.keys(app.csAccounts).length >= MAX_CS_ACCOUNTS) throw new RestError(TooManyAccounts, `at most ${MAX_CS_ACCOUNTS} customer-service accounts`);
  const userId = (ctx.body.IMAgentUserID as string | undefined) ?? `im${randomBytes(15).toString('hex')}`;
  if (accountOf(app, userId)) throw new RestError(ErrorCode.BadParameter, `'${userId}' is already a customer-service account`);
  if (memberOf(app, userId) || userId === app.adminIdentifier) throw new RestError(ErrorCode.BadParameter, `'${userId}' is a member or the admin`);
  const account = apply(defaultCsAccount(userId, false), ctx.body);
  checkAccount(app, account);
  await ctx.saveApp(withAccount(app, account));
  return ok({ IMAgentUserID: userId });
}

/** update_im_agent in either form: only the fields given change. */
async function updateAccount(ctx: RestContext, apply: (base: CsAccount, body: Record<string, unknown>) => CsAccount): Promise<Envelope> {
  const app = ctx.app;
  const existing = accountOf(app, ctx.body.IMAgentUserID as string);
  if (!existing) throw new RestError(ErrorCode.BadParameter, `'${String(ctx.body.IMAgentUserID)}' is not a customer-service account`);
  const account = apply(existing, ctx.body);
  checkAccount(app, account);
  await ctx.saveApp(withAccount(app, account));
  return ok({ IMAgentUserID: account.userId });
}


export const deskAccountEndpoints: Endpoint[] = [
  desk('add_im_agent', schema.addImAgent, (ctx) => addAccount(ctx, schema.applyAccountFields)),
  desk('update_im_agent', schema.updateImAgent, (ctx) => updateAccount(ctx, schema.applyAccountFields)),
  desk('add_im_agent_multilingual', schema.addImAgentMultilingual, (ctx) => addAccount(ctx, schema.applyMultilingualFields)),
  desk('update_im_agent_multilingual', schema.updateImAgentMultilingual, (ctx) => updateAccount(ctx, schema.applyMultilingualFields)),

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

  // The accounts named in IMAgentUserIDList (unknown ids left out), or all of them.
  desk('get_im_agent_list_multilingual', schema.getImAgentListMultilingual, (ctx) => {
    const ids = ctx.body.IMAgentUserIDList as string[] | undefined;
    const accounts = ids ? [...new Set(ids)].flatMap((id) => accountOf(ctx.app, id) ?? []) : Object.values(ctx.app.csAccounts);
    return ok({ Data: accounts.map((a) => schema.multilingualAccountFields(a, (name) => prompt(ctx.app, a, name))) });
  }),
];
