/**
 * A model's waiting requests and the order its runner serves them in.
 *
 * `fair` (the default, MAAS_SCHEDULING): interactive before batch, weighted round-robin across
 * tenants, FIFO within a tenant (FairQueue, charged by rows); a batch is filled in that order and
 * holds at most a tenant's `concurrency` of its requests (the runner runs one batch at a time, so
 * that is the most it has in service at once); the queue bound (`max_queue`) holds per tenant,
 * so a tenant flooding a model gets 429s while another is still admitted.
 *
 * `fifo`: arrival order, one bound for all, no caps or priorities: the behaviour before fair
 * scheduling, kept as the benchmark's comparison.
 */
import type { Caller } from './caller';
import { FairQueue } from './fair-queue';

export const SCHEDULINGS = ['fair', 'fifo'] as const;
export type Scheduling = (typeof SCHEDULINGS)[number];

export interface Queued {
  rows: number;
  /** What serving it charges its tenant (rows along dim 0, also for a request too big to batch). */
  cost: number;
  caller: Caller;
}

export class RunQueue<P extends Queued> {
  private readonly waiting = new FairQueue<P>();
  /** Per tenant, its requests taken into a run that has not ended yet. */
  private readonly inService = new Map<string, number>();

  constructor(private readonly scheduling: () => Scheduling) {}

  get size(): number {
    return this.waiting.size;
  }

  /** Every waiting request in arrival order. */
  items(): P[] {
    return this.waiting.items();
  }

  push(p: P): void {
    const { tenant, weight, priority } = p.caller;
    this.waiting.push(tenant, p, { weight, priority, cost: p.cost });
  }

  /** Drop a request that gave up (no turn charged). */
  remove(p: P): void {
    this.waiting.remove(p);
  }

  /** Hand a formed batch to the runner: each request leaves, its tenant's turn is charged. */
  take(batch: readonly P[]): void {
    for (const p of batch) {
      this.waiting.take(p);
      this.inService.set(p.caller.tenant, (this.inService.get(p.caller.tenant) ?? 0) + 1);
    }
  }

  /** A batch handed over by `take` has been run (or failed): its requests are no longer in service. */
  done(batch: readonly P[]): void {
    for (const p of batch) {
      const left = (this.inService.get(p.caller.tenant) ?? 1) - 1;
      if (left > 0) this.inService.set(p.caller.tenant, left);
      else this.inService.delete(p.caller.tenant);
    }
  }

  /** A tenant's requests on this model, waiting or in a run. */
  outstanding(tenant: string): number {
    return this.waiting.sizeOf(tenant) + (this.inService.get(tenant) ?? 0);
  }

  /** The requests in the order they are served. */
  order(): Iterable<P> {
    return this.scheduling() === 'fifo' ? this.waiting.items() : this.waiting.order();
  }

  /** The next request to serve (of those `where` accepts). */
  head(where: (p: P) => boolean = () => true): P | undefined {
    for (const p of this.order()) if (where(p)) return p;
    return undefined;
  }

  /**
   * The batch led by `head`: requests `compatible` with it, in serving order, up to `maxRows`
   * rows, each tenant with at most its concurrency cap (fair only).
   */
  fill(head: P, compatible: (p: P) => boolean, maxRows: number): P[] {
    const fair = this.scheduling() === 'fair';
    const batch = [head];
    const inBatch = new Map([[head.caller.tenant, 1]]);
    let rows = head.rows;
    for (const p of this.order()) {
      if (rows >= maxRows) break;
      if (p === head || !compatible(p) || rows + p.rows > maxRows) continue;
      const mine = inBatch.get(p.caller.tenant) ?? 0;
      if (fair && mine >= (p.caller.concurrency ?? Number.POSITIVE_INFINITY)) continue;
      batch.push(p);
      inBatch.set(p.caller.tenant, mine + 1);
      rows += p.rows;
    }
    return batch;
  }

  /**
   * Requests already waiting that count against one more of `caller`'s: its own under fair
   * scheduling, everyone's under FIFO. Refuse when this reaches the model's `max_queue`.
   */
  waitingAhead(caller: Caller): number {
    return this.scheduling() === 'fifo' ? this.waiting.size : this.waiting.sizeOf(caller.tenant);
  }
}
