/** desk_http_svc satisfaction settings (rest-api.md §2.26–2.27): they write the app model. */
import * as schema from '../../protocol/rest/satisfaction';
import { ok, Service } from '../../protocol/rest/envelope';
import type { Endpoint } from './facade';

export const deskSettingsEndpoints: Endpoint[] = [
  {
    service: Service.Desk, command: 'get_satisfaction_settings', schema: schema.getSatisfactionSettings,
    // The example nests the fields in `Data` (the table lists them flat): the example wins, as for get_im_agent_list.
    handle: (ctx) => ok({ Data: schema.satisfactionFields(ctx.app.session.satisfaction) }),
  },
  {
    service: Service.Desk, command: 'update_satisfaction_settings', schema: schema.updateSatisfactionSettings,
    handle: async (ctx) => {
      const app = ctx.app;
      await ctx.saveApp({ ...app, session: { ...app.session, satisfaction: schema.applySatisfaction(app.session.satisfaction, ctx.body) } });
      return ok();
    },
  },
];
