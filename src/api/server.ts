/**
 * Builds the HTTP server from the route table: body parsers, the auth hook (per route, before
 * the body is read), one error renderer, request metrics.
 */
import { Readable } from 'node:stream';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { fail, MaasError } from '../common/errors';
import { NAME_PATTERN } from '../common/names';
import { hasScope, type Principal } from '../platform/auth/auth';
import type { Platform } from '../platform/platform';
import { sendError, toMaasError } from './errors';
import type { RouteSpec, ServerState, Surface } from './route';
import { routeTable } from './routes';

/** The principal of public routes (health): no tenant, no scope. */
const ANONYMOUS: Principal = { tenantId: '', keyId: '', scopes: [], limits: { key: {}, tenant: {} } };

export interface BuiltServer {
  app: FastifyInstance;
  state: ServerState;
}

const surfaceOfUrl = (url: string): Surface =>
  url.startsWith('/v2') ? 'v2' : url.startsWith('/v1/') ? 'openai' : 'native';

function bearer(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer\s+(\S{1,512})\s*$/i.exec(h);
  return m ? m[1] : null;
}

export function buildServer(platform: Platform, routes: readonly RouteSpec[] = routeTable): BuiltServer {
  const { config } = platform;
  const app = Fastify({
    logger:
      config.logLevel === 'silent'
        ? false
        : { level: config.logLevel, redact: ['req.headers.authorization'] },
    // Per-request log lines cost ~20 µs each; metrics carry the same facts.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxJsonBytes,
    return503OnClosing: true,
    // Long names must reach our validator (400), not the router's 414.
    routerOptions: { maxParamLength: 8192 },
    forceCloseConnections: 'idle',
  });
  const state: ServerState = { draining: false, inflight: 0 };
  const principals = new WeakMap<FastifyRequest, Principal>();
  const surfaces = new WeakMap<FastifyRequest, Surface>();

  // Uploads: hand the raw stream to the route (the registry streams it to disk while hashing).
  // Model folders come as archives, recognised by their bytes whatever type they are sent as.
  for (const type of [
    'application/octet-stream',
    'application/gzip',
    'application/x-gzip',
    'application/x-tar',
    'application/zip',
    'application/x-compressed-tar',
  ]) {
    app.addContentTypeParser(type, (_req, payload, done) => done(null, payload));
  }
  // OpenAI's file upload: the route parses the form as it streams (src/api/openai/multipart.ts).
  app.addContentTypeParser('multipart/form-data', (_req, payload, done) => done(null, payload));

  app.setErrorHandler((err, req, reply) => {
    const e = toMaasError(err);
    if (e.code === 'internal') req.log.error({ err }, 'unhandled error');
    return sendError(reply, e, surfaces.get(req) ?? surfaceOfUrl(req.url));
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(
      reply,
      new MaasError('route_not_found', `no route ${req.method} ${req.url.slice(0, 200)}`),
      surfaceOfUrl(req.url),
    ),
  );

  // In-flight count for draining: a response counts until its socket has taken every byte
  // ('close' after 'finish'); while draining, answers carry `Connection: close` so keep-alive
  // clients move to another instance.
  app.addHook('onRequest', async (_req, reply) => {
    state.inflight++;
    reply.raw.once('close', () => {
      state.inflight--;
    });
    if (state.draining) reply.header('connection', 'close');
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const name = (req.params as Record<string, string> | undefined)?.name;
    const labels = {
      route,
      method: req.method,
      model: typeof name === 'string' && NAME_PATTERN.test(name) ? name : '',
      status: String(reply.statusCode),
    };
    platform.metrics.requests.inc(labels);
    platform.metrics.latency.observe(labels, reply.elapsedTime / 1000);
  });

  for (const spec of routes) registerRoute(app, spec, { platform, state, routes, principals, surfaces });
  return { app, state };
}

/** Streamed bodies go only to the routes that read streams, each in the one type it reads. */
function checkBodyType(spec: RouteSpec, req: FastifyRequest): void {
  const streamed = req.body instanceof Readable;
  const multipart = String(req.headers['content-type'] ?? '').startsWith('multipart/');
  if (spec.body === 'binary' && (!streamed || multipart))
    fail(
      'unsupported_media_type',
      'send the file as Content-Type: application/octet-stream (or application/gzip, application/x-tar, application/zip)',
    );
  if (spec.body === 'multipart' && (!streamed || !multipart))
    fail('unsupported_media_type', 'send the file as Content-Type: multipart/form-data');
  if (spec.body === 'json' && streamed)
    fail('unsupported_media_type', 'send the body as Content-Type: application/json');
}

interface Shared {
  platform: Platform;
  state: ServerState;
  routes: readonly RouteSpec[];
  principals: WeakMap<FastifyRequest, Principal>;
  surfaces: WeakMap<FastifyRequest, Surface>;
}

function registerRoute(app: FastifyInstance, spec: RouteSpec, shared: Shared): void {
  const { platform, principals, surfaces } = shared;
  const isPublic = spec.access === 'public' || (spec.access === 'metrics' && platform.config.metricsPublic);
  const needed = spec.access === 'metrics' ? 'manage' : spec.access;
  app.route({
    method: spec.method,
    url: spec.path,
    onRequest: async (req: FastifyRequest) => {
      surfaces.set(req, spec.surface);
      if (isPublic || needed === 'public') return;
      const token = bearer(req) ?? fail('unauthorized', 'send Authorization: Bearer <key>');
      const principal = (await platform.keys.resolve(token)) ?? fail('unauthorized', 'the key is not valid');
      if (!hasScope(principal.scopes, needed)) fail('forbidden', `this route needs the '${needed}' scope`);
      principals.set(req, principal);
    },
    handler: async (req: FastifyRequest, reply: FastifyReply) => {
      checkBodyType(spec, req);
      const ctx = {
        platform,
        state: shared.state,
        routes: shared.routes,
        principal: principals.get(req) ?? ANONYMOUS,
        params: (req.params ?? {}) as Record<string, string>,
        query: (req.query ?? {}) as Record<string, string>,
        body: req.body,
        request: req,
        reply,
      };
      const result = spec.audit
        ? await platform.tenancy.audit.track(ctx.principal, auditEvent(spec.audit, ctx), async () =>
            spec.handler(ctx),
          )
        : await spec.handler(ctx);
      // A streaming route (SSE) answered on the raw socket itself.
      if (reply.sent) return reply;
      reply.code(spec.status ?? 200);
      return reply.send(spec.status === 204 ? undefined : result);
    },
  });
}

/**
 * Audited object kinds by action prefix (`dataset.delete` → dataset): the id comes from the
 * path parameter `param`, else the `?name=` query (uploads), else `new` (a create with no id yet).
 */
const auditTargets: Record<string, { kind: string; param: string; create: 'query' | 'new' }> = {
  model: { kind: 'model', param: 'name', create: 'query' },
  dataset: { kind: 'dataset', param: 'name', create: 'query' },
  training: { kind: 'training', param: 'id', create: 'new' },
  file: { kind: 'file', param: 'file_id', create: 'new' },
  fine_tuning: { kind: 'fine_tuning.job', param: 'job_id', create: 'new' },
};

/**
 * The audited object, `kind:id`, e.g. `dataset:<name>`, `training:<id>`, `file:<id>`; the id is
 * shown only when it looks like one, never raw junk. A create with no id yet is `training:new`.
 */
function auditEvent(
  action: string,
  ctx: { principal: Principal; params: Record<string, string>; query: Record<string, string> },
) {
  const t = auditTargets[action.slice(0, action.indexOf('.'))] ?? auditTargets.model;
  const raw = ctx.params[t.param] ?? (t.create === 'new' ? 'new' : ctx.query.name);
  const shown = typeof raw === 'string' && /^[a-z0-9_.~/-]{1,130}$/i.test(raw) ? raw : 'invalid';
  return { action, target: `${t.kind}:${shown}`, targetTenantId: ctx.principal.tenantId };
}
