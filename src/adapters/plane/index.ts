/**
 * Plane as a board projection: reads its configuration, builds the client (with the rate
 * limit) and the provider, and, when inbound is on and a webhook secret is set, the
 * `POST /hooks/plane` route. The one place that knows all of Plane's pieces.
 */
import { itemSpecOf } from '../../core/board/item-spec.ts';
import type { ProviderFactory } from '../board/sync.ts';
import { PlaneClient } from './client.ts';
import { loadPlaneConfig } from './config.ts';
import { PlaneBoardProvider } from './provider.ts';
import { stateFor } from './states.ts';
import { createPlaneWebhookHandler } from './webhook.ts';

export const planeFactory: ProviderFactory = {
  name: 'plane',
  label: 'Plane',
  async setup(ctx) {
    const { settings, problem } = await loadPlaneConfig({
      workspace: ctx.workspace,
      env: ctx.env,
      secret: ctx.secret,
    });
    if (problem) return { problem };
    if (!settings) return undefined;
    const client = new PlaneClient({
      baseUrl: settings.url,
      apiKey: settings.apiKey,
      rateLimit: settings.rateLimit,
      clock: ctx.clock,
      log: ctx.log,
    });
    const provider = new PlaneBoardProvider({
      client,
      workspace: settings.workspace,
      project: settings.project,
      appUrl: settings.appUrl,
      states: settings.states,
      labels: settings.labels,
      log: ctx.log,
    });
    if (settings.inbound && !settings.webhookSecret) {
      ctx.log(
        'board sync plane: plane.inbound is on but no webhook secret is set (NEXUS_PLANE_WEBHOOK_SECRET or the editor secret storage): /hooks/plane stays off',
      );
    }
    const secret = settings.inbound ? settings.webhookSecret : undefined;
    return {
      provider,
      target: `${settings.url}/${settings.workspace}/${settings.project}`,
      ...(secret
        ? {
            route: (projection) =>
              createPlaneWebhookHandler({
                secret,
                states: () => provider.states(),
                runForItem: (item) => projection.runForItem(item),
                expectedState: async (runId) => {
                  const spec = itemSpecOf(await ctx.source.getRun(runId));
                  return stateFor(spec.status, await provider.states(), settings.states).id;
                },
                apply: (action) => ctx.apply(action),
                reproject: (runId) => projection.reproject(runId),
                log: ctx.log,
              }),
          }
        : {}),
    };
  },
};
