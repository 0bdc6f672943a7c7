/**
 * How many rows a model's next run may take while tenants compete for it (fair scheduling).
 *
 * A run cannot be interrupted: a light tenant's request that arrives during a flooder's 16-row
 * run waits for all of it, however fair the queue is afterwards. On a CPU a 16-row run costs about
 * 16 single-row ones, so dynamic batching alone made the light tenant's p99 6–9× its idle p99.
 * So while more than one tenant is *active* on the model (a request of theirs arrived or was
 * served within `windowMs`: a client sending one request at a time is between two of them most of
 * the time, never "waiting" when a run is formed), a run takes no more rows than fit in the time
 * of a single-row run: batching goes on where it is nearly free (a GPU, or a model whose run time
 * is mostly fixed cost) and stops where every row costs a run's worth (a CPU running a heavy model).
 * With one tenant active the model batches up to its `max_batch_size` as before.
 *
 * Costs are learned from the runner's own runs while one tenant is active: `singleMs`, the median
 * of the last single-row runs, and `perRowMs`, the median of duration ÷ rows of the last runs of
 * several rows (medians: on a loaded machine a few slow runs would move an average, and the cap
 * with it). Runs
 * while tenants compete are not counted: a run's time is measured on the server's event loop, which
 * then also parses the flooder's requests, and single-row runs measured under that lag (40 ms
 * for a 3 ms run, measured) would raise the cap they are meant to set. Until both are known there
 * is no cap (nothing to reason from); a model that has served a lone request and a batch knows both.
 *
 *   contention.observe(1, 3, now); contention.observe(16, 48, now); // 3 ms a row either way
 *   contention.seen('acme', now); contention.seen('beta', now);     // two tenants active
 *   contention.maxRows(16, now) → 1                                    // a CPU: no batching now
 */

/** A tenant counts as active on a model this long after its last request arrived or finished (ms). */
export const ACTIVE_WINDOW_MS = 1000;
/** Runs each median is taken over. */
const SAMPLES = 31;

/** The median of the last `SAMPLES` values pushed. It is read for every request the runner
 * batches and changes once per run, so it is sorted once per push, not per read. */
class RecentMedian {
  private readonly values: number[] = [];
  private median: number | null = null;

  push(v: number): void {
    this.values.push(v);
    if (this.values.length > SAMPLES) this.values.shift();
    const sorted = [...this.values].sort((a, b) => a - b);
    this.median = sorted[sorted.length >> 1];
  }

  get value(): number | null {
    return this.median;
  }
}

export class Contention {
  private readonly lastSeen = new Map<string, number>();
  private readonly singleMs = new RecentMedian();
  private readonly perRowMs = new RecentMedian();

  constructor(private readonly windowMs = ACTIVE_WINDOW_MS) {}

  /** A request of `tenant` arrived or was answered at `now` (ms). */
  seen(tenant: string, now: number): void {
    this.lastSeen.set(tenant, now);
  }

  /** Tenants active at `now` (forgets the others). */
  activeTenants(now: number): number {
    for (const [tenant, at] of this.lastSeen) if (now - at > this.windowMs) this.lastSeen.delete(tenant);
    return this.lastSeen.size;
  }

  /** A run of `rows` rows that ended at `now` took `ms` (not counted while tenants compete). */
  observe(rows: number, ms: number, now: number): void {
    if (!(rows >= 1) || !(ms >= 0) || this.activeTenants(now) >= 2) return;
    if (rows === 1) this.singleMs.push(ms);
    else this.perRowMs.push(ms / rows);
  }

  /** The most rows the next run may take: `maxBatch`, or fewer while tenants compete (see above). */
  maxRows(maxBatch: number, now: number): number {
    const single = this.singleMs.value;
    const perRow = this.perRowMs.value;
    if (this.activeTenants(now) < 2 || single === null || perRow === null || perRow <= 0) return maxBatch;
    return Math.max(1, Math.min(maxBatch, Math.floor(single / perRow)));
  }
}
