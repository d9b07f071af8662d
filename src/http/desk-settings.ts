/** desk_http_svc satisfaction settings (rest-api.md §2.26–2.27): they write the app model. */
import * as schema from '../../protocol/rest/satisfaction';
import { ok } from '../../protocol/rest/envelope';
import { desk, type Endpoint } from './facade';

export const deskSettingsEndpoints: Endpoint[] = [
  // The example nests the fields in `Data` (the table lists them flat): the example wins, as for get_im_agent_list.
  desk('get_satisfaction_settings', schema.getSatisfactionSettings, (ctx) => ok({ Data: schema.satisfactionFields(ctx.app.session.satisfaction) })),
  desk('update_satisfaction_settings', schema.updateSatisfactionSettings, async (ctx) => {
    const app = ctx.app;
    await ctx.saveApp({ ...app, session: { ...app.session, satisfaction: schema.applySatisfaction(app.session.satisfaction, ctx.body) } });
    return ok();
  }),
];
