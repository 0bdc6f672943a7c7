/**
 * How a path names a model. A tenant's own model is `name`; another tenant's PUBLIC model is
 * `owner~name` (e.g. `/v2/models/zoo~mnist/infer`, `/api/v1/models/zoo~mnist`). `~` is not in the
 * name alphabet, needs no escaping in URLs, and passes through every KServe/OpenAI client as part
 * of a model name. `owner%2Fname` (a URL-encoded slash, decoded by the router) is accepted too.
 *
 * Reading/calling another tenant's model needs it public (or an admin key); managing it needs an
 * admin key. Anything else is 404 — the same answer as for a model that does not exist.
 */
import { fail, isMaasError } from '../common/errors';
import { parseName } from '../common/names';
import { hasScope, type Principal } from '../platform/auth/auth';
import type { Registry } from '../platform/registry/registry';
import type { ModelRecord } from '../store/ports';

export interface ModelRef {
  owner: string;
  name: string;
  /** True when the caller is not the owner (shown as `owner~name` in usage). */
  foreign: boolean;
}

/** Split `owner~name` / `owner/name` / `name`; every part validated. */
export function parseModelRef(raw: unknown, principal: Principal): ModelRef {
  const text = typeof raw === 'string' ? raw : '';
  const sep = text.search(/[~/]/);
  if (sep < 0) return { owner: principal.tenantId, name: parseName(raw, 'model'), foreign: false };
  const owner = parseName(text.slice(0, sep), 'owner');
  const name = parseName(text.slice(sep + 1), 'model');
  return { owner, name, foreign: owner !== principal.tenantId };
}

/** The model a request may use: own, public (for `read`), or any with an admin key. */
export async function authorizedModel(
  registry: Registry,
  principal: Principal,
  raw: unknown,
  intent: 'read' | 'manage',
): Promise<ModelRef> {
  const ref = parseModelRef(raw, principal);
  if (!ref.foreign || hasScope(principal.scopes, 'admin')) return ref;
  if (intent === 'read') {
    // Only a plain 404 reads as "not yours"; a zoo model still training says so (503).
    const model = await registry.modelRecord(ref.owner, ref.name).catch((e: unknown) => {
      if (isMaasError(e) && e.code !== 'not_found') throw e;
      return null;
    });
    if (model?.public === true) return ref;
  }
  fail('not_found', `model '${ref.name}' not found`, { pointer: 'model' });
}

/** How usage and responses name a model: `name` for one's own, `owner~name` for another's. */
export const refLabel = (ref: ModelRef): string => (ref.foreign ? `${ref.owner}~${ref.name}` : ref.name);

/** The id a caller uses for a model: `name` for its own, `owner~name` for another tenant's. */
export const callableId = (m: { owner: string; name: string }, principal: Principal): string =>
  m.owner === principal.tenantId ? m.name : `${m.owner}~${m.name}`;

/** What a model list shows: `own` (the caller's models) or `all` (also what it may call of others). */
export type ListScope = 'own' | 'all';
const SCOPES: readonly ListScope[] = ['own', 'all'];

/** `?scope=`: `all` unless asked otherwise, the way OpenAI's and Ollama's lists show what one can use. */
export function parseListScope(raw: unknown): ListScope {
  if (raw === undefined || raw === '') return 'all';
  if (typeof raw === 'string' && (SCOPES as readonly string[]).includes(raw)) return raw as ListScope;
  return fail('invalid_request', `scope must be one of ${SCOPES.join(', ')} (default all)`, {
    pointer: 'scope',
  });
}

/**
 * Other tenants' models the caller may call (their public ones; for `scope=all`), by owner then
 * name. Never a private model of another tenant, not even for an admin key: a list shows what
 * is offered, an admin reaches the rest by name.
 */
export async function sharedModels(
  registry: Registry,
  principal: Principal,
  scope: ListScope,
): Promise<ModelRecord[]> {
  return scope === 'all' ? registry.listPublicModels(principal.tenantId) : [];
}
