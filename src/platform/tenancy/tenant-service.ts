import { fail, isMaasError } from '../../common/errors';
import type { TenantStore } from '../../store/tenancy/ports';
import type { Limits, Principal, TenantRecord } from '../../store/tenancy/types';
import type { AuditLog } from './audit';
import type { Clock } from './clock';
import type { PrincipalCache } from './principal-cache';
import { authorize, hasScope } from './scopes';
import type { CreateTenantBody } from './validation';

export interface TenantServiceDeps {
  tenants: TenantStore;
  audit: AuditLog;
  clock: Clock;
  /** Resolved keys carry their tenant's limits: a limit change clears them. */
  cache: PrincipalCache;
}

/** Tenants: created and re-limited by admins; any key can read its own tenant. */
export class TenantService {
  constructor(private readonly deps: TenantServiceDeps) {}

  /** `POST /api/v1/tenants` (admin). A taken name → `conflict`. */
  async create(actor: Principal, body: CreateTenantBody): Promise<TenantRecord> {
    const event = { action: 'tenant.create', target: `tenant:${body.name}`, targetTenantId: body.name };
    return this.deps.audit.track(actor, event, async () => {
      authorize(actor, 'admin');
      const tenant: TenantRecord = {
        id: body.name,
        limits: { ...body.limits },
        createdAt: this.deps.clock.now(),
      };
      await this.deps.tenants.create(tenant);
      return tenant;
    });
  }

  /**
   * Internal, unaudited: the installation's own first tenant, made by `maas serve` on an empty
   * database before any key exists. Idempotent.
   */
  async ensure(id: string, limits: Limits = {}): Promise<TenantRecord> {
    const existing = await this.deps.tenants.get(id);
    if (existing !== null) return existing;
    const tenant: TenantRecord = { id, limits: { ...limits }, createdAt: this.deps.clock.now() };
    try {
      await this.deps.tenants.create(tenant);
    } catch (e) {
      // Processes of a cluster starting together on an empty database race here: one creates it.
      const created = isMaasError(e) && e.code === 'conflict' ? await this.deps.tenants.get(id) : null;
      if (created === null) throw e;
      return created;
    }
    return tenant;
  }

  /** `GET /api/v1/tenants`: every tenant for an admin, only its own for anyone else. */
  async list(actor: Principal): Promise<TenantRecord[]> {
    if (hasScope(actor.scopes, 'admin')) return this.deps.tenants.list();
    return [await this.get(actor, actor.tenantId)];
  }

  /** `GET /api/v1/tenants/{id}`: another tenant's → 404. */
  async get(actor: Principal, id: string): Promise<TenantRecord> {
    authorize(actor, 'infer', id);
    const tenant = await this.deps.tenants.get(id);
    if (tenant === null) fail('not_found', 'not found');
    return tenant;
  }

  /** `PATCH /api/v1/tenants/{id}` limits (admin). Takes effect on the tenant's next request. */
  async setLimits(actor: Principal, id: string, limits: Limits): Promise<TenantRecord> {
    const event = { action: 'tenant.limits', target: `tenant:${id}`, targetTenantId: id };
    return this.deps.audit.track(actor, event, async () => {
      authorize(actor, 'admin');
      if (!(await this.deps.tenants.setLimits(id, { ...limits }))) fail('not_found', 'not found');
      await this.deps.cache.changed();
      return (await this.deps.tenants.get(id)) ?? fail('not_found', 'not found');
    });
  }
}
