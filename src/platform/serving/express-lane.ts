/**
 * A model's express lane (fair scheduling): a second session of the same model, in its own worker
 * thread, that runs a light tenant's request at once, beside the heavy tenants' full run.
 *
 * Why a second session: onnxruntime-node runs a session synchronously on the thread that calls
 * it, so one session in one worker thread has one run in flight at a time, and a light tenant's
 * request that arrives during a flooder's 16-row run waits for all of it. Shrinking every run to
 * one row while tenants compete (contention.ts) bounded that wait but cost the flooder its
 * batching (on a CPU a batched row costs about half a single-row run, measured). With this lane
 * the heavy tenants' runs stay full and the light tenant's row runs concurrently on its own.
 *
 * It costs a second copy of the model's memory, so it is loaded only when first needed (tenants
 * compete on a model whose rows cost) and only where the pool's memory budget has room; until
 * then, or where it cannot load or is off (MAAS_EXPRESS_LANE, `expressLaneOn`), runs are shrunk
 * as before.
 */
import type { ModelSession } from './threaded-session';

/** MAAS_EXPRESS_LANE: `auto` turns the lane on where the machine has cores to spare for it. */
export const EXPRESS_LANE_MODES = ['auto', 'on', 'off'] as const;
export type ExpressLaneMode = (typeof EXPRESS_LANE_MODES)[number];

/**
 * Whether runners get an express lane. Its run is only quick where a core is free for it: the main
 * run holds `intraOpThreads` cores and the server's event loop one more. On a loaded 2-core machine
 * (load 16–28) the lane's one-row runs shared the cores with the main run and B's p99 grew to
 * 2.4–3.3× its idle p99, against 0.9–1.8× with runs shrunk (bench/serve/fairness.ts).
 */
export function expressLaneOn(mode: ExpressLaneMode, cores: number, intraOpThreads: number): boolean {
  return mode === 'on' || (mode === 'auto' && cores >= intraOpThreads + 2);
}

/** Loads the lane's session, or answers null where it must not (over the memory budget). */
export type ExpressLoader = () => Promise<ModelSession | null>;

type State = 'unloaded' | 'loading' | 'ready' | 'unavailable' | 'closed';

export class ExpressLane {
  private session: ModelSession | null = null;
  private state: State = 'unloaded';
  /** A run is in flight on the lane (at most one: it is reserved for light tenants). */
  running = false;

  constructor(
    private readonly load: ExpressLoader | undefined,
    /** Called once the lane's session is loaded (requests may be waiting for it). */
    private readonly onReady: () => void = () => {},
  ) {
    if (!load) this.state = 'unavailable';
  }

  /** Whether the lane is or may yet be loaded (false: off, refused, failed or closed). */
  get possible(): boolean {
    return this.state !== 'unavailable' && this.state !== 'closed';
  }

  /** Whether the lane holds a session (its memory counts for the model's). */
  get loaded(): boolean {
    return this.session !== null;
  }

  /** The lane's session when it is loaded; the first call starts loading it (null until then). */
  want(): ModelSession | null {
    if (this.state === 'unloaded') this.start();
    // A lane whose thread died is given up (runs on it would all fail); the main session serves.
    if (this.session && this.session.alive === false) {
      void this.session.release();
      this.session = null;
      this.state = 'unavailable';
    }
    return this.session;
  }

  private start(): void {
    this.state = 'loading';
    this.load!().then(
      (session) => {
        if (this.state === 'closed') void session?.release();
        else if (!session) this.state = 'unavailable';
        else {
          this.session = session;
          this.state = 'ready';
          this.onReady();
        }
      },
      // A model that loaded once loads again; if not (a file gone, a thread refused), run without.
      () => {
        if (this.state !== 'closed') this.state = 'unavailable';
      },
    );
  }

  /** Release the lane's session (idempotent); a load still under way is released when done. */
  async close(): Promise<void> {
    this.state = 'closed';
    const s = this.session;
    this.session = null;
    await s?.release();
  }
}
