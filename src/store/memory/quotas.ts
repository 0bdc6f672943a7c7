import type { QuotaStore } from '../tenancy/ports';
import type { QuotaAllowance, QuotaDebitResult } from '../tenancy/types';

/**
 * Units used per month, per tenant and per key. `debit` checks and charges with no await in
 * between, which is what makes it one atomic step inside one process (SQL: one transaction).
 */
export class MemoryQuotaStore implements QuotaStore {
  private readonly used_ = new Map<string, number>();

  async debit(
    tenantId: string,
    keyId: string,
    units: number,
    month: string,
    allowance: QuotaAllowance,
  ): Promise<QuotaDebitResult> {
    const tenantKey = `${month}|tenant|${tenantId}`;
    const keyKey = `${month}|key|${keyId}`;
    const tenantUsed = this.used_.get(tenantKey) ?? 0;
    const keyUsed = this.used_.get(keyKey) ?? 0;
    const fits =
      (allowance.tenant === undefined || tenantUsed + units <= allowance.tenant) &&
      (allowance.key === undefined || keyUsed + units <= allowance.key);
    const charged = fits ? units : 0;
    if (fits) {
      this.used_.set(tenantKey, tenantUsed + units);
      this.used_.set(keyKey, keyUsed + units);
    }
    const remaining: QuotaDebitResult['remaining'] = {};
    if (allowance.tenant !== undefined)
      remaining.tenant = Math.max(0, allowance.tenant - tenantUsed - charged);
    if (allowance.key !== undefined) remaining.key = Math.max(0, allowance.key - keyUsed - charged);
    return { ok: fits, remaining };
  }

  async credit(tenantId: string, keyId: string, units: number, month: string): Promise<void> {
    for (const k of [`${month}|tenant|${tenantId}`, `${month}|key|${keyId}`]) {
      this.used_.set(k, Math.max(0, (this.used_.get(k) ?? 0) - units));
    }
  }

  async used(month: string, tenantId: string, keyId?: string): Promise<number> {
    return this.used_.get(keyId === undefined ? `${month}|tenant|${tenantId}` : `${month}|key|${keyId}`) ?? 0;
  }

  dump(): Record<string, number> {
    return Object.fromEntries(this.used_);
  }
}
