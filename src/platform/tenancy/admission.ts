import { fail } from '../../common/errors';
import type { QuotaStore, RateDecision, RateLimiter, RateLimitSpec } from '../../store/tenancy/ports';
import type { Limits, Principal } from '../../store/tenancy/types';
import { type Clock, monthOf } from './clock';
import { rateLimitHeaders, retryAfterSeconds } from './headers';

/** The rate window: limits are per minute. */
export const MINUTE_MS = 60_000;

export interface AdmissionDeps {
  limiter: RateLimiter;
  quotas: QuotaStore;
  clock: Clock;
}

/** An admitted request: its headers for the answer, and what it reserved (for `settle`). */
export interface AdmissionTicket {
  principal: Principal;
  /** Rate-limit headers to put on the response (success or error). */
  headers: Record<string, string>;
  decision: RateDecision;
  /** Units reserved from the rate buckets and the monthly quota. */
  reservedUnits: number;
  /** `YYYY-MM` the quota was debited in. */
  month: string;
  specs: RateLimitSpec[];
}

/** The buckets a request is charged to: its key's and its tenant's, requests and units. */
export function rateSpecs(principal: Principal, units: number): RateLimitSpec[] {
  const levels: Array<['key' | 'tenant', string, Limits]> = [
    ['key', principal.keyId, principal.limits.key],
    ['tenant', principal.tenantId, principal.limits.tenant],
  ];
  const specs: RateLimitSpec[] = [];
  for (const [level, id, limits] of levels) {
    if (limits.requestsPerMinute !== undefined) {
      specs.push({
        bucket: `${level}:${id}:requests`,
        policy: `${level}-requests`,
        dimension: 'requests',
        limit: limits.requestsPerMinute,
        windowMs: MINUTE_MS,
        cost: 1,
      });
    }
    if (limits.unitsPerMinute !== undefined) {
      specs.push({
        bucket: `${level}:${id}:units`,
        policy: `${level}-units`,
        dimension: 'units',
        limit: limits.unitsPerMinute,
        windowMs: MINUTE_MS,
        cost: units,
      });
    }
  }
  return specs;
}

/** ms from `now` to the first instant of the next UTC month: when a monthly quota refills. */
export function msToNextMonth(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - now;
}

/**
 * Admission control for a request that will use a model: rate limits (per key and per tenant,
 * requests and units per minute), then the monthly quota, checked and debited atomically.
 * A request refused anywhere is charged nothing: refused by the quota, its rate charge is refunded.
 *
 * `units` is what to reserve up front: the known cost (a raw infer's tensors) or an upper bound
 * (prompt + max_tokens); `settle` gives back what was not used, so quotas never overdraw.
 */
export class Admission {
  constructor(private readonly deps: AdmissionDeps) {}

  async admit(principal: Principal, units = 0): Promise<AdmissionTicket> {
    const specs = rateSpecs(principal, units);
    for (const spec of specs) {
      if (spec.cost > spec.limit) {
        fail(
          'unprocessable',
          `this request needs ${spec.cost} units; the ${spec.policy} limit is ${spec.limit} per minute`,
        );
      }
    }
    const decision = await this.deps.limiter.consume(specs);
    const headers = rateLimitHeaders(decision);
    if (!decision.allowed) {
      const retry = retryAfterSeconds(decision.retryAfterMs);
      fail('rate_limited', `rate limit exceeded (${decision.violated.join(', ')}); retry in ${retry} s`, {
        retryAfterSeconds: retry,
        headers,
      });
    }
    const now = this.deps.clock.now();
    const month = monthOf(now);
    const allowance = {
      tenant: principal.limits.tenant.monthlyUnits,
      key: principal.limits.key.monthlyUnits,
    };
    if (units > 0 && (allowance.tenant !== undefined || allowance.key !== undefined)) {
      const debit = await this.deps.quotas.debit(
        principal.tenantId,
        principal.keyId,
        units,
        month,
        allowance,
      );
      if (!debit.ok) {
        await this.deps.limiter.refund(specs);
        const retry = retryAfterSeconds(msToNextMonth(now));
        fail('quota_exceeded', `monthly quota of units exhausted; it refills in ${retry} s`, {
          retryAfterSeconds: retry,
          headers: { ...headers, 'retry-after': String(retry) },
        });
      }
    }
    return { principal, headers, decision, reservedUnits: units, month, specs };
  }

  /**
   * Whether a request of one unit would be admitted now, charging nothing: throws what `admit`
   * would (429 `rate_limited` / `quota_exceeded` with headers), else gives everything back. For
   * work whose requests are charged later, one by one (an OpenAI batch's lines).
   */
  async check(principal: Principal): Promise<Record<string, string>> {
    const ticket = await this.admit(principal, 1);
    await this.deps.limiter.refund(ticket.specs);
    await this.settle({ ...ticket, specs: [] }, 0);
    return ticket.headers;
  }

  /**
   * After the request: charge what it actually used. Less than reserved → the difference goes
   * back to the buckets and the quota; more (an estimate that was too low) → the quota is debited
   * unconditionally, since the work is already done. A request that ended refused or failed
   * settles with 0.
   */
  async settle(
    ticket: Pick<AdmissionTicket, 'principal' | 'month' | 'reservedUnits' | 'specs'>,
    actualUnits: number,
  ): Promise<void> {
    const { principal, month } = ticket;
    const diff = actualUnits - ticket.reservedUnits;
    const hasQuota =
      principal.limits.tenant.monthlyUnits !== undefined || principal.limits.key.monthlyUnits !== undefined;
    if (diff < 0) {
      const unitSpecs = ticket.specs
        .filter((s) => s.dimension === 'units')
        .map((s) => ({ ...s, cost: -diff }));
      await this.deps.limiter.refund(unitSpecs);
      if (hasQuota) await this.deps.quotas.credit(principal.tenantId, principal.keyId, -diff, month);
    } else if (diff > 0 && hasQuota) {
      await this.deps.quotas.debit(principal.tenantId, principal.keyId, diff, month, {});
    }
  }
}
