/**
 * The shape of one route. Every HTTP route maas serves is a row of `routeTable` (routes.ts); the
 * server registers them, the auth hook enforces `scope`, /docs is generated from them, and the
 * tenancy tests iterate them (every non-public route × no key → 401; every route with `owned` ×
 * another tenant's id → 404).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal, Scope } from '../platform/auth/auth';
import type { Platform } from '../platform/platform';
import type { Caller } from '../platform/serving/caller';
import type { TapeOptions } from './json-tape';

/** Which size budget a JSON body gets (json-limits.ts). */
export type JsonBodyClass = 'control' | 'text' | 'data';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** Which error shape a route answers with: problem+json (native, ops), KServe's `{error}`, OpenAI's. */
export type Surface = 'native' | 'v2' | 'ops' | 'openai';
/** `public`: no key (health only); `metrics`: public only when MAAS_METRICS_PUBLIC is set. */
export type RouteAccess = Scope | 'public' | 'metrics';

/** Lifecycle flags the ops routes report. */
export interface ServerState {
  /** Set on SIGTERM: readiness answers 503 while in-flight requests finish. */
  draining: boolean;
  /** Requests whose response is not yet fully handed to the OS. */
  inflight: number;
}

export interface RouteContext {
  platform: Platform;
  state: ServerState;
  /** The whole route table (for /docs). */
  routes: readonly RouteSpec[];
  /** Set on every non-public route (the auth hook ran). */
  principal: Principal;
  /** Whose model runs this request's are (fair queues): bound to its `disconnectSignal`. */
  caller: Caller;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface RouteSpec {
  method: HttpMethod;
  /** Fastify syntax: `/api/v1/models/:name`. */
  path: string;
  access: RouteAccess;
  /**
   * The path parameter naming a tenant-owned record (`name` for models), or null. Handlers must
   * look that record up under `principal.tenantId` only, so another tenant's id reads as 404.
   */
  owned: string | null;
  surface: Surface;
  summary: string;
  /**
   * Request body: JSON, a raw byte stream (uploads), a multipart form (OpenAI's file upload),
   * KServe tensors (JSON, or a JSON header and raw tensor bytes: v2-binary.ts), or none.
   */
  body: 'json' | 'binary' | 'multipart' | 'tensors' | 'none';
  /**
   * The size budget of a JSON body (json-limits.ts): `control` (the default of `json`: settings
   * and small documents), `text` (prompts and texts), `data` (the default of `tensors`: tensors,
   * rows, images).
   */
  jsonLimit?: JsonBodyClass;
  /**
   * How a large JSON body is rebuilt on the event loop after a worker thread parsed it
   * (json-tape.ts): e.g. the items of `inputs` that the handler refuses whatever they hold are not
   * built. Answers must not change.
   */
  jsonRebuild?: TapeOptions;
  /**
   * Audit action name (`model.upload`) for management routes whose service does not audit itself;
   * the server records one entry per attempt (success, denied or failed).
   */
  audit?: string;
  /** Success status (default 200). */
  status?: number;
  handler: (ctx: RouteContext) => Promise<unknown> | unknown;
}

/** Route rows are checked once: a duplicate (method, path) is a programming error. */
export function defineRoutes(...groups: readonly RouteSpec[][]): readonly RouteSpec[] {
  const seen = new Set<string>();
  const all = groups.flat();
  for (const r of all) {
    const key = `${r.method} ${r.path}`;
    if (seen.has(key)) throw new Error(`route ${key} is defined twice`);
    seen.add(key);
  }
  return Object.freeze(all);
}
