/** GET /api/v1/zoo: the zoo's public models, their background training state, quality. */
import type { RouteSpec } from './route';

export const zooRoutes: RouteSpec[] = [
  {
    method: 'GET',
    path: '/api/v1/zoo',
    access: 'infer',
    owned: null,
    surface: 'native',
    body: 'none',
    summary:
      'The zoo models (public, called as zoo~NAME): state missing|unavailable|queued|training|ready|failed, progress with ETA, quality vs target, and for an unavailable row the package that enables it',
    handler: async (ctx) => ({ mode: ctx.platform.zoo.mode, models: await ctx.platform.zoo.status() }),
  },
];
