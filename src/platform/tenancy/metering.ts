import { fail } from '../../common/errors';
import type { UsageStore } from '../../store/tenancy/ports';
import type { Principal, UsageDimension, UsageQuery, UsageRecord, UsageRow } from '../../store/tenancy/types';
import type { Clock } from './clock';
import { authorize, hasScope } from './scopes';

const DIMENSIONS: readonly UsageDimension[] = ['day', 'model', 'key', 'tenant'];

/**
 * The billing rule, in one place:
 * - 2xx/3xx: served → recorded with its units;
 * - 4xx (401, 403, 404, 429, 400, …): rejected before a model ran → not recorded, not billed;
 * - 5xx: reached a model and failed on our side → recorded (latency, error count), units 0.
 */
export function billedUnits(status: number, units: number): number | null {
  if (status >= 400 && status < 500) return null;
  if (status >= 500) return 0;
  return units;
}

export type UsageInput = Omit<UsageRecord, 'at'> & { at?: number };

/** When buffered records are written: after this many ms, or at this many records. */
export interface MeterFlush {
  afterMs: number;
  maxRecords: number;
}

export const DEFAULT_FLUSH: MeterFlush = { afterMs: 100, maxRecords: 256 };

/**
 * Usage metering: one record per served request; aggregation by day, model, key, tenant.
 * Records are buffered and written in batches (one transaction per flush), so a served request
 * never waits on a database write; `aggregate` flushes first (a read sees every record before
 * it), and `close` (platform shutdown, SIGTERM) writes what is left, so nothing is lost.
 */
export class Meter {
  private pending: UsageRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: UsageStore,
    private readonly clock: Clock,
    private readonly flushing: MeterFlush = DEFAULT_FLUSH,
  ) {}

  /** Record one finished request; returns false when the billing rule says it is not recorded. */
  async record(input: UsageInput): Promise<boolean> {
    const units = billedUnits(input.status, input.units);
    if (units === null) return false;
    if (!Number.isFinite(units) || units < 0 || !Number.isFinite(input.latencyMs) || input.latencyMs < 0) {
      fail('internal', 'usage record with a negative or non-finite units or latency');
    }
    this.pending.push({ ...input, units, at: input.at ?? this.clock.now() });
    if (this.pending.length >= this.flushing.maxRecords) void this.flush().catch(() => {});
    else this.timer ??= setTimeout(() => void this.flush().catch(() => {}), this.flushing.afterMs).unref();
    return true;
  }

  /**
   * Write every buffered record (batches in order, one at a time). A failed write puts its batch
   * back at the front, so the next flush retries it, and rejects.
   */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    const write = async () => {
      if (batch.length === 0) return;
      try {
        await this.store.append(batch);
      } catch (error) {
        this.pending = [...batch, ...this.pending];
        throw error;
      }
    };
    this.writing = this.writing.catch(() => {}).then(write);
    return this.writing;
  }

  /** Shutdown: write what is buffered. */
  close(): Promise<void> {
    return this.flush();
  }

  /**
   * `GET /api/v1/usage`: needs `manage`. A non-admin sees only its own tenant (asking for another
   * → 404); an admin may ask for one tenant or, with no tenant, all of them.
   */
  async aggregate(principal: Principal, query: UsageQuery): Promise<UsageRow[]> {
    authorize(principal, 'manage', query.tenantId);
    for (const dim of query.groupBy) {
      if (!DIMENSIONS.includes(dim)) {
        fail('invalid_request', `groupBy '${dim}' must be one of ${DIMENSIONS.join(', ')}`, {
          pointer: 'groupBy',
        });
      }
    }
    if (query.from !== undefined && query.to !== undefined && query.from > query.to) {
      fail('invalid_request', 'from must not be after to', { pointer: 'from' });
    }
    const tenantId = query.tenantId ?? (hasScope(principal.scopes, 'admin') ? undefined : principal.tenantId);
    await this.flush();
    return this.store.aggregate({ ...query, tenantId, groupBy: [...new Set(query.groupBy)] });
  }
}
