/**
 * Waiters for a model's runs (or a decoder's batch slots), admitted fairly across tenants:
 *
 * - **Interactive before batch**: a `batch` waiter goes only when no `interactive` one is waiting.
 * - **Weighted round-robin across tenants** within a class (stride scheduling): each tenant has a
 *   pass that grows by `cost ÷ weight` when one of its waiters is taken; the tenant with the
 *   lowest pass goes next (ties: whose oldest waiter came first). A tenant of weight 2 gets two
 *   turns for every one of a tenant of weight 1 while both wait.
 * - **First-in first-out within a tenant** (and class).
 *
 * A tenant that had nothing waiting starts at the pass of the last waiter taken, not at its old
 * pass: idle time is not saved up as credit, and a flood's long history is no debt either. So a
 * tenant with 50 waiting and another with one alternate: the single one is admitted at most one
 * turn after the next slot frees, not after the 50.
 *
 * `order()` walks the waiters in the order they would be taken if nothing else arrived, without
 * taking them (the runner fills a batch from it); `take` removes one and charges its tenant.
 */

export type Priority = 'interactive' | 'batch';

export interface Share {
  /** Turns relative to other tenants (default 1). */
  weight?: number;
  priority?: Priority;
  /** What taking it charges (e.g. rows of a run; default 1). */
  cost?: number;
}

interface Entry<T> {
  item: T;
  tenant: string;
  priority: Priority;
  weight: number;
  cost: number;
  /** Arrival number: FIFO order and tie-breaks. */
  seq: number;
}

const CLASSES: readonly Priority[] = ['interactive', 'batch'];

export class FairQueue<T> {
  /** Every waiter, in arrival order (a Map keeps insertion order). */
  private readonly entries = new Map<T, Entry<T>>();
  /** Per class, per tenant, the waiters in arrival order. */
  private readonly lanes: Record<Priority, Map<string, Entry<T>[]>> = {
    interactive: new Map(),
    batch: new Map(),
  };
  private readonly waitingOf = new Map<string, number>();
  private readonly pass = new Map<string, number>();
  /** The pass of the last waiter taken: where a newly waiting tenant starts. */
  private virtualNow = 0;
  private arrivals = 0;

  get size(): number {
    return this.entries.size;
  }

  /** Waiters of one tenant (both classes). */
  sizeOf(tenant: string): number {
    return this.waitingOf.get(tenant) ?? 0;
  }

  /** Every waiter in arrival order. */
  items(): T[] {
    return [...this.entries.keys()];
  }

  tenantOf(item: T): string | undefined {
    return this.entries.get(item)?.tenant;
  }

  push(tenant: string, item: T, share: Share = {}): void {
    if (this.sizeOf(tenant) === 0)
      this.pass.set(tenant, Math.max(this.pass.get(tenant) ?? 0, this.virtualNow));
    const entry: Entry<T> = {
      item,
      tenant,
      priority: share.priority ?? 'interactive',
      weight: Math.max(share.weight ?? 1, 1e-6),
      cost: share.cost ?? 1,
      seq: this.arrivals++,
    };
    this.entries.set(item, entry);
    const lane = this.lanes[entry.priority];
    const q = lane.get(tenant);
    if (q) q.push(entry);
    else lane.set(tenant, [entry]);
    this.waitingOf.set(tenant, this.sizeOf(tenant) + 1);
  }

  /** The next waiter (see `order`), taken. */
  shift(): T | undefined {
    const next = this.order().next();
    if (next.done) return undefined;
    this.take(next.value);
    return next.value;
  }

  /**
   * Remove a waiter and charge its tenant's turn (`cost ÷ weight`); false when it was not waiting.
   * Take waiters in the order `order()` gives them, so that the charges match the turns.
   */
  take(item: T): boolean {
    const e = this.entries.get(item);
    if (!e || !this.remove(item)) return false;
    const pass = this.pass.get(e.tenant) ?? this.virtualNow;
    this.virtualNow = Math.max(this.virtualNow, pass);
    this.pass.set(e.tenant, pass + e.cost / e.weight);
    this.forgetIdle();
    return true;
  }

  /** Drop a waiter without charging (it gave up); false when it was not waiting. */
  remove(item: T): boolean {
    const e = this.entries.get(item);
    if (!e) return false;
    this.entries.delete(item);
    const lane = this.lanes[e.priority];
    const q = lane.get(e.tenant)!;
    q.splice(q.indexOf(e), 1);
    if (q.length === 0) lane.delete(e.tenant);
    const left = this.sizeOf(e.tenant) - 1;
    if (left > 0) this.waitingOf.set(e.tenant, left);
    else this.waitingOf.delete(e.tenant);
    return true;
  }

  /**
   * The waiters in the order they would be taken if nothing else arrived: every interactive one
   * first, each class weighted round-robin across tenants. Lazy: stop when you have enough.
   */
  *order(): Generator<T, void, undefined> {
    const pass = new Map(this.pass);
    for (const cls of CLASSES) {
      const lanes = [...this.lanes[cls]].map(([tenant, q]) => ({ tenant, q, next: 0 }));
      for (;;) {
        let best: (typeof lanes)[number] | undefined;
        for (const l of lanes) {
          if (l.next >= l.q.length) continue;
          if (!best || this.before(l, best, pass)) best = l;
        }
        if (!best) break;
        const e = best.q[best.next++];
        pass.set(e.tenant, (pass.get(e.tenant) ?? 0) + e.cost / e.weight);
        yield e.item;
      }
    }
  }

  /** Whether lane `a`'s next waiter goes before lane `b`'s: lower pass, then earlier arrival. */
  private before(
    a: { tenant: string; q: Entry<T>[]; next: number },
    b: { tenant: string; q: Entry<T>[]; next: number },
    pass: Map<string, number>,
  ): boolean {
    const pa = pass.get(a.tenant) ?? 0;
    const pb = pass.get(b.tenant) ?? 0;
    return pa !== pb ? pa < pb : a.q[a.next].seq < b.q[b.next].seq;
  }

  /** Tenants with nothing waiting whose pass a new waiter would reset anyway: keep the map small. */
  private forgetIdle(): void {
    if (this.pass.size <= 2 * this.waitingOf.size + 16) return;
    for (const [tenant, p] of this.pass) {
      if (!this.waitingOf.has(tenant) && p <= this.virtualNow) this.pass.delete(tenant);
    }
  }
}
