import { randomBytes } from 'node:crypto';
import { isMaasError } from '../../common/errors';
import type { AuditStore } from '../../store/tenancy/ports';
import type { AuditEntry, AuditOutcome, AuditQuery, Principal } from '../../store/tenancy/types';
import type { Clock } from './clock';
import { authorize, hasScope } from './scopes';

/** Who acted. A principal, or the system itself (the bootstrap of the first admin key). */
export type Actor = Pick<Principal, 'tenantId' | 'keyId'>;

export interface AuditEvent {
  action: string;
  target: string;
  targetTenantId: string;
  outcome: AuditOutcome;
  detail?: string;
}

/** The audit log of management actions: append one entry per attempt, successful or not. */
export class AuditLog {
  constructor(
    private readonly store: AuditStore,
    private readonly clock: Clock,
  ) {}

  async record(actor: Actor, event: AuditEvent): Promise<AuditEntry> {
    const entry: AuditEntry = {
      id: `aud_${randomBytes(8).toString('hex')}`,
      at: this.clock.now(),
      actorKeyId: actor.keyId,
      actorTenantId: actor.tenantId,
      ...event,
    };
    await this.store.append(entry);
    return entry;
  }

  /**
   * Run a management action and record its outcome: `success`, `denied` (a 4xx catalog error,
   * whose code becomes the detail) or `failed` (anything else). The error is rethrown unchanged.
   * A denied attempt is recorded in the CALLER's log only: naming the owner's tenant would tell
   * the caller that the id exists (it got a 404), and would let anyone write into another
   * tenant's log.
   */
  async track<T>(
    actor: Actor,
    event: Omit<AuditEvent, 'outcome' | 'detail'>,
    action: () => Promise<T>,
  ): Promise<T> {
    try {
      const result = await action();
      await this.record(actor, { ...event, outcome: 'success' });
      return result;
    } catch (error) {
      const denied = isMaasError(error) && error.status < 500;
      const detail = isMaasError(error) ? error.code : 'internal';
      const targetTenantId = denied ? actor.tenantId : event.targetTenantId;
      await this.record(actor, { ...event, targetTenantId, outcome: denied ? 'denied' : 'failed', detail });
      throw error;
    }
  }

  /**
   * `GET /api/v1/audit`: needs `manage`. A non-admin sees only its own tenant's entries whatever
   * it asks for; an admin may ask for one tenant or all.
   */
  async query(principal: Principal, query: AuditQuery): Promise<AuditEntry[]> {
    authorize(principal, 'manage');
    const scoped = hasScope(principal.scopes, 'admin') ? query : { ...query, tenantId: principal.tenantId };
    const limit = Math.min(Math.max(1, query.limit ?? 100), 1000);
    return this.store.query({ ...scoped, limit });
  }
}
