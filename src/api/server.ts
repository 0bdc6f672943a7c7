/**
 * Builds the HTTP server from the route table: body parsers, the auth hook (per route, before
 * the body is read), one error renderer, request metrics.
 */
import type { IncomingMessage } from 'node:http';
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
import { callerOf } from '../platform/serving/caller';
import { bodyHints, checkBodyType, installBinaryParsers, installBodyParsers } from './bodies';
import { prettyStream, resolveLogFormat } from './console';
import { sendError, toMaasError } from './errors';
import { defaultJsonLimit, jsonLimitOf } from './json-limits';
import { type JsonParser, JsonThreads } from './json-threads';
import type { RouteSpec, ServerState, Surface } from './route';
import { routeTable } from './routes';
import { installTensorParsers } from './v2-binary';

/** The principal of public routes (health): no tenant, no scope. */
const ANONYMOUS: Principal = { tenantId: '', keyId: '', scopes: [], limits: { key: {}, tenant: {} } };

export interface BuiltServer {
  app: FastifyInstance;
  state: ServerState;
  /**
   * Shutdown: close the connections of requests whose body is still arriving (a slowloris
   * connection, or an upload the client can retry elsewhere), so they never hold the drain.
   */
  dropUnfinishedBodies(): number;
}

const surfaceOfUrl = (url: string): Surface =>
  url.startsWith('/v2') ? 'v2' : url.startsWith('/v1/') ? 'openai' : 'native';

function bearer(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer\s+(\S{1,512})\s*$/i.exec(h);
  return m ? m[1] : null;
}

export interface BuildOptions {
  /** How JSON bodies are parsed (default: large ones in worker threads, json-threads.ts); closed with the app. */
  jsonParser?: JsonParser;
}

export function buildServer(
  platform: Platform,
  routes: readonly RouteSpec[] = routeTable,
  options: BuildOptions = {},
): BuiltServer {
  const { config } = platform;
  const pretty = resolveLogFormat(config.logFormat, process.stdout.isTTY === true) === 'pretty';
  const app = Fastify({
    logger:
      config.logLevel === 'silent'
        ? false
        : {
            level: config.logLevel,
            redact: ['req.headers.authorization'],
            ...(pretty ? { stream: prettyStream(process.stdout, process.stdout.isTTY === true) } : {}),
          },
    // Per-request log lines cost ~20 µs each; metrics carry the same facts.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxJsonBytes,
    return503OnClosing: true,
    // Slow clients (slowloris): headers must arrive within MAAS_HEADERS_TIMEOUT_MS and the whole
    // request, body included, within MAAS_BODY_TIMEOUT_MS more; Node answers 408 and closes the
    // connection, checking every second.
    requestTimeout: config.headersTimeoutMs + config.bodyTimeoutMs,
    http: { headersTimeout: config.headersTimeoutMs, connectionsCheckingInterval: 1000 },
    // Long names must reach our validator (400 in the route's shape), not the router's 414:
    // Node's header limit (16 KiB) bounds a URL before this does.
    routerOptions: { maxParamLength: 65_536 },
    forceCloseConnections: 'idle',
  });
  const state: ServerState = { draining: false, inflight: 0 };
  const jsonShape = { maxDepth: config.maxJsonDepth, maxContainers: config.maxJsonContainers };
  const principals = new WeakMap<FastifyRequest, Principal>();
  const specs = new WeakMap<FastifyRequest, RouteSpec>();

  // JSON bounded in depth, containers and size, large bodies parsed off the event loop;
  // uploads and forms as streams (bodies.ts).
  const jsonParser = options.jsonParser ?? new JsonThreads();
  app.addHook('onClose', async () => jsonParser.close());
  // Authentication runs first (onRequest), so a body's tenant is known while it is parsed.
  const senderOf = (req: FastifyRequest) => principals.get(req)?.tenantId;
  installBodyParsers(app, jsonShape, jsonParser, senderOf);

  app.setErrorHandler((err, req, reply) => {
    const spec = specs.get(req);
    const e = toMaasError(err, {
      bodyHint: spec ? bodyHints[spec.body] : undefined,
      jsonLimit: (spec && jsonLimitOf(spec, config)) ?? defaultJsonLimit(config),
    });
    if (e.code === 'internal') req.log.error({ err }, 'unhandled error');
    return sendError(reply, e, spec?.surface ?? surfaceOfUrl(req.url));
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
  const receiving = new Set<IncomingMessage>();
  app.addHook('onRequest', async (req, reply) => {
    state.inflight++;
    if (!req.raw.complete) {
      receiving.add(req.raw);
      req.raw.once('end', () => receiving.delete(req.raw));
    }
    reply.raw.once('close', () => {
      state.inflight--;
      receiving.delete(req.raw);
    });
    if (state.draining) reply.header('connection', 'close');
  });

  // Labels never come from an unauthenticated or failed request: a model is named only when an
  // authorised request to it succeeded (so it exists and the caller may see it); the registry
  // also caps each label's distinct values (MAAS_METRICS_MAX_SERIES, then `_other`).
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const name = (req.params as Record<string, string> | undefined)?.name;
    const authorised = principals.has(req) && reply.statusCode < 400;
    const labels = {
      route,
      method: req.method,
      model: authorised && typeof name === 'string' && NAME_PATTERN.test(name) ? name : '',
      status: String(reply.statusCode),
    };
    platform.metrics.requests.inc(labels);
    platform.metrics.latency.observe(labels, reply.elapsedTime / 1000);
  });

  const shared = { platform, state, routes, principals, specs };
  const ownContext = (r: RouteSpec) => r.body === 'binary' || r.body === 'tensors';
  for (const spec of routes.filter((r) => !ownContext(r))) registerRoute(app, spec, shared);
  // Uploads in a context of their own, where every Content-Type is the raw stream.
  app.register(async (binary) => {
    installBinaryParsers(binary);
    for (const spec of routes.filter((r) => r.body === 'binary')) registerRoute(binary, spec, shared);
  });
  // KServe infer: JSON, or the binary tensor extension under any Content-Type (v2-binary.ts).
  app.register(async (tensors) => {
    installTensorParsers(tensors, jsonShape, jsonParser, senderOf);
    for (const spec of routes.filter((r) => r.body === 'tensors')) registerRoute(tensors, spec, shared);
  });
  const dropUnfinishedBodies = () => {
    let dropped = 0;
    for (const req of receiving) {
      if (req.complete) continue;
      req.socket.destroy();
      dropped++;
    }
    receiving.clear();
    return dropped;
  };
  return { app, state, dropUnfinishedBodies };
}

interface Shared {
  platform: Platform;
  state: ServerState;
  routes: readonly RouteSpec[];
  principals: WeakMap<FastifyRequest, Principal>;
  specs: WeakMap<FastifyRequest, RouteSpec>;
}

function registerRoute(app: FastifyInstance, spec: RouteSpec, shared: Shared): void {
  const { platform, principals, specs } = shared;
  const isPublic = spec.access === 'public' || (spec.access === 'metrics' && platform.config.metricsPublic);
  // /metrics names every tenant's models: the operator's (admin) view; tenants have /usage.
  const needed = spec.access === 'metrics' ? 'admin' : spec.access;
  app.route({
    method: spec.method,
    url: spec.path,
    // Each JSON route's own size budget (json-limits.ts); the rest keep the server's default.
    bodyLimit: jsonLimitOf(spec, platform.config)?.bytes,
    // Read by the JSON body parser (bodies.ts) before the handler runs.
    config: { jsonRebuild: spec.jsonRebuild },
    onRequest: async (req: FastifyRequest) => {
      specs.set(req, spec);
      if (isPublic || needed === 'public') return;
      const token = bearer(req) ?? fail('unauthorized', 'send Authorization: Bearer <key>');
      const principal = (await platform.keys.resolve(token)) ?? fail('unauthorized', 'the key is not valid');
      if (!hasScope(principal.scopes, needed)) fail('forbidden', `this route needs the '${needed}' scope`);
      principals.set(req, principal);
    },
    handler: async (req: FastifyRequest, reply: FastifyReply) => {
      checkBodyType(spec, req);
      const principal = principals.get(req) ?? ANONYMOUS;
      const ctx = {
        platform,
        state: shared.state,
        routes: shared.routes,
        principal,
        // Every model run this request causes is scheduled as its tenant's (fair queues).
        caller: callerOf(principal.tenantId, principal.limits.tenant),
        params: (req.params ?? {}) as Record<string, string>,
        query: (req.query ?? {}) as Record<string, string>,
        body: req.body,
        request: req,
        reply,
      };
      const handle = async () => spec.handler(ctx);
      const result = await (spec.audit
        ? platform.tenancy.audit.track(ctx.principal, auditEvent(spec.audit, ctx), handle)
        : handle());
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
  webhook: { kind: 'webhook_secret', param: 'tenant', create: 'new' },
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
