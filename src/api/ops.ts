/** Operations: health, readiness, Prometheus metrics; the OpenAPI document (served by docs.ts). */
import { fail } from '../common/errors';
import { BINARY_TYPES } from './bodies';
import { SERVER_VERSION } from './common';
import type { RouteSpec } from './route';

const base = { surface: 'ops' as const, body: 'none' as const, owned: null };

const binarySchema = { schema: { type: 'string', format: 'binary' } };
const jsonSchema = { schema: { type: 'object' } };

/** The OpenAPI requestBody of each route body kind (RouteSpec.body). */
const requestBodies: Record<RouteSpec['body'], object> = {
  json: { requestBody: { required: true, content: { 'application/json': jsonSchema } } },
  // The binary tensor extension: a JSON header, then raw tensor bytes.
  tensors: {
    requestBody: {
      required: true,
      content: { 'application/json': jsonSchema, 'application/octet-stream': binarySchema },
    },
  },
  // Any of these (or none): the format is read from the bytes.
  binary: {
    requestBody: { required: true, content: Object.fromEntries(BINARY_TYPES.map((t) => [t, binarySchema])) },
  },
  multipart: {
    requestBody: {
      required: true,
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            properties: { file: { type: 'string', format: 'binary' }, purpose: { type: 'string' } },
          },
        },
      },
    },
  },
  none: {},
};

/** OpenAPI 3.1 document generated from the route table. */
export function openApi(routes: readonly RouteSpec[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:([a-z_]+)/g, '{$1}');
    const params = [...r.path.matchAll(/:([a-z_]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = {
      summary: r.summary,
      tags: [r.surface],
      ...(params.length ? { parameters: params } : {}),
      ...(r.access === 'public' ? { security: [] } : { 'x-required-scope': r.access }),
      ...requestBodies[r.body],
      responses: {
        [String(r.status ?? 200)]: { description: 'OK' },
        default: { description: 'Error (problem+json or {error})' },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'maas',
      version: SERVER_VERSION,
      description: 'Model-as-a-Service: native, KServe v2 and ops routes',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}

export const opsRoutes: RouteSpec[] = [
  {
    ...base,
    method: 'GET',
    path: '/healthz',
    access: 'public',
    summary: 'Liveness: the process answers',
    handler: () => ({ status: 'ok' }),
  },
  {
    ...base,
    method: 'GET',
    path: '/readyz',
    access: 'public',
    summary:
      'Readiness: 200 when serving, 503 while draining or while the database or Redis does not answer ({status, database, redis})',
    handler: async (ctx) => {
      if (ctx.state.draining) fail('not_ready', 'the server is draining', { retryAfterSeconds: 5 });
      const health = await ctx.platform.health();
      const down = [
        ...(health.database.ok ? [] : [`the database: ${health.database.error}`]),
        ...(health.redis && !health.redis.ok ? [`Redis: ${health.redis.error}`] : []),
      ];
      if (down.length) fail('not_ready', `not ready: ${down.join('; ')}`, { retryAfterSeconds: 5 });
      return { status: 'ready', database: health.database, redis: health.redis };
    },
  },
  {
    ...base,
    method: 'GET',
    path: '/metrics',
    access: 'metrics',
    summary: 'Prometheus metrics (needs an admin key unless MAAS_METRICS_PUBLIC is set)',
    handler: (ctx) => {
      ctx.reply.type('text/plain; version=0.0.4; charset=utf-8');
      return ctx.platform.metrics.registry.render();
    },
  },
];
