/**
 * Native tenancy routes: tenants (admin), keys, usage, audit. The services in
 * platform/tenancy authorize and audit; these rows only parse and translate.
 * Times in answers are epoch ms; `from`/`to` accept epoch ms or an ISO date (`2026-03-01`).
 */
import { fail } from '../common/errors';
import { parseName } from '../common/names';
import {
  parseCreateKey,
  parseCreateTenant,
  parseTenantLimits,
  type UsageDimension,
} from '../platform/tenancy/index';
import { idempotent } from './idempotent';
import type { RouteContext, RouteSpec } from './route';

const base = { surface: 'native' as const, body: 'none' as const, owned: null };

/** Unknown query parameters → 400 (a typo such as `?form=` must not silently mean "everything"). */
function queryOf(ctx: RouteContext, allowed: readonly string[]): Record<string, string> {
  for (const k of Object.keys(ctx.query)) {
    if (!allowed.includes(k)) {
      fail('invalid_request', `unknown query parameter '${k.slice(0, 50)}'; allowed: ${allowed.join(', ')}`, {
        pointer: k.slice(0, 50),
      });
    }
  }
  return ctx.query;
}

/** Epoch ms, or an ISO 8601 date/time; undefined when absent. */
export function parseTime(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^[0-9]{1,15}$/.test(value)
    ? Number(value)
    : /^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+Z?)?$/.test(value)
      ? Date.parse(value)
      : Number.NaN;
  if (!Number.isFinite(ms))
    fail('invalid_request', `${field} must be epoch ms or an ISO date`, { pointer: field });
  return ms;
}

const optionalTenant = (v: string | undefined) => (v === undefined ? undefined : parseName(v, 'tenant'));

function usageQuery(ctx: RouteContext) {
  const q = queryOf(ctx, ['from', 'to', 'group_by', 'tenant']);
  const groupBy = (q.group_by ?? 'day,model,key').split(',').filter((d) => d !== '') as UsageDimension[];
  return {
    tenantId: optionalTenant(q.tenant),
    from: parseTime(q.from, 'from'),
    to: parseTime(q.to, 'to'),
    groupBy,
  };
}

function auditQuery(ctx: RouteContext) {
  const q = queryOf(ctx, ['from', 'to', 'tenant', 'action', 'limit']);
  const limit = q.limit === undefined ? undefined : Number(q.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000)) {
    fail('invalid_request', 'limit must be an integer from 1 to 1000', { pointer: 'limit' });
  }
  if (q.action !== undefined && !/^[a-z_.]{1,40}$/.test(q.action)) {
    fail('invalid_request', 'action must look like key.create', { pointer: 'action' });
  }
  return {
    tenantId: optionalTenant(q.tenant),
    action: q.action,
    from: parseTime(q.from, 'from'),
    to: parseTime(q.to, 'to'),
    limit,
  };
}

export const tenancyRoutes: RouteSpec[] = [
  {
    ...base,
    method: 'POST',
    path: '/api/v1/tenants',
    access: 'admin',
    body: 'json',
    status: 201,
    summary:
      'Create a tenant: {"name": "acme", "limits": {"requestsPerMinute": 600, "monthlyUnits": 1000000}}',
    handler: (ctx) => ctx.platform.tenancy.tenants.create(ctx.principal, parseCreateTenant(ctx.body)),
  },
  {
    ...base,
    method: 'GET',
    path: '/api/v1/tenants',
    access: 'admin',
    summary: 'List tenants',
    handler: async (ctx) => {
      queryOf(ctx, []);
      return { tenants: await ctx.platform.tenancy.tenants.list(ctx.principal) };
    },
  },
  {
    ...base,
    method: 'GET',
    path: '/api/v1/tenants/:id',
    access: 'admin',
    summary: 'One tenant with its limits',
    handler: (ctx) => {
      queryOf(ctx, []);
      return ctx.platform.tenancy.tenants.get(ctx.principal, parseName(ctx.params.id, 'id'));
    },
  },
  {
    ...base,
    method: 'PATCH',
    path: '/api/v1/tenants/:id',
    access: 'admin',
    body: 'json',
    summary:
      'Replace a tenant\'s limits: {"limits": {"requestsPerMinute": 600, "weight": 2}}; effective on its next request',
    handler: (ctx) =>
      ctx.platform.tenancy.tenants.setLimits(
        ctx.principal,
        parseName(ctx.params.id, 'id'),
        parseTenantLimits(ctx.body),
      ),
  },
  {
    ...base,
    method: 'POST',
    path: '/api/v1/keys',
    access: 'manage',
    body: 'json',
    status: 201,
    summary:
      'Create a key: {"tenant"?, "name", "scopes": ["infer"], "limits"?}; the raw key is in this answer only (Idempotency-Key supported)',
    handler: (ctx) =>
      idempotent(ctx, () => ctx.platform.tenancy.keys.mint(ctx.principal, parseCreateKey(ctx.body))),
  },
  {
    ...base,
    method: 'GET',
    path: '/api/v1/keys',
    access: 'manage',
    summary: "List keys (no secrets): the caller's tenant, or ?tenant= / all tenants for an admin",
    handler: async (ctx) => {
      const q = queryOf(ctx, ['tenant']);
      const keys = await ctx.platform.tenancy.keys.list(ctx.principal, {
        tenantId: optionalTenant(q.tenant),
      });
      return { keys };
    },
  },
  {
    ...base,
    method: 'DELETE',
    path: '/api/v1/keys/:id',
    access: 'manage',
    owned: 'id',
    summary: 'Revoke a key (effective on its next request)',
    handler: (ctx) => {
      if (!/^key_[0-9a-f]{16}$/.test(ctx.params.id ?? ''))
        fail('invalid_name', 'key ids look like key_<16 hex>');
      return ctx.platform.tenancy.keys.revoke(ctx.principal, ctx.params.id);
    },
  },
  {
    ...base,
    method: 'GET',
    path: '/api/v1/usage',
    access: 'manage',
    summary: 'Usage: ?from&to (epoch ms or ISO date) &group_by=day,model,key,tenant &tenant= (admin: all)',
    handler: async (ctx) => ({
      usage: await ctx.platform.tenancy.meter.aggregate(ctx.principal, usageQuery(ctx)),
    }),
  },
  {
    ...base,
    method: 'GET',
    path: '/api/v1/audit',
    access: 'manage',
    summary:
      "Audit log, newest first: the caller's tenant (admin: ?tenant= or all) &action= &from &to &limit",
    handler: async (ctx) => ({
      entries: await ctx.platform.tenancy.audit.query(ctx.principal, auditQuery(ctx)),
    }),
  },
];
