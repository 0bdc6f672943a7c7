/**
 * Waiters for a slot, admitted round-robin across tenants and first-in first-out within one: a
 * tenant with 50 waiting sequences and another with one alternate, so the single one is admitted
 * at most one turn after the next slot frees, not after the 50.
 */
export class FairQueue<T> {
  private readonly byTenant = new Map<string, T[]>();
  /** Tenants with waiters, in turn order: the head is admitted next, then goes to the back. */
  private turns: string[] = [];

  get size(): number {
    let n = 0;
    for (const q of this.byTenant.values()) n += q.length;
    return n;
  }

  push(tenant: string, item: T): void {
    const q = this.byTenant.get(tenant);
    if (q) q.push(item);
    else {
      this.byTenant.set(tenant, [item]);
      this.turns.push(tenant);
    }
  }

  /** The next waiter: the head tenant's oldest; that tenant's turn moves to the back. */
  shift(): T | undefined {
    const tenant = this.turns.shift();
    if (tenant === undefined) return undefined;
    const q = this.byTenant.get(tenant)!;
    const item = q.shift();
    if (q.length > 0) this.turns.push(tenant);
    else this.byTenant.delete(tenant);
    return item;
  }

  /** Drop a waiter (it gave up); false when it was not waiting. */
  remove(item: T): boolean {
    for (const [tenant, q] of this.byTenant) {
      const i = q.indexOf(item);
      if (i < 0) continue;
      q.splice(i, 1);
      if (q.length === 0) {
        this.byTenant.delete(tenant);
        this.turns = this.turns.filter((t) => t !== tenant);
      }
      return true;
    }
    return false;
  }
}
