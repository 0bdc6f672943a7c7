/**
 * The express lane (fair scheduling): a light tenant's request runs on a second session of the
 * model while a heavy tenant's full run is in flight, and the heavy tenant's runs keep their rows.
 *
 * Real engine (both sessions are ORT in their worker threads). The main session is handed to the
 * runner behind a gate the test opens: its runs are held, so "in flight" is a state the test
 * controls, never a duration it guesses. Run costs are given to the runner through its Contention
 * (a CPU-like model: a row costs a single-row run), so the decision does not depend on how fast
 * this machine runs the tiny model.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Tensor, tensorFrom } from '../../src/engine/runtime/tensor';
import { platformMetrics } from '../../src/platform/metrics';
import { Contention } from '../../src/platform/serving/contention';
import { ExpressLane, expressLaneOn } from '../../src/platform/serving/express-lane';
import { Runner, type RunnerSettings } from '../../src/platform/serving/runner';
import { type ModelSession, ThreadedSession } from '../../src/platform/serving/threaded-session';
import { linearModel } from '../helpers/onnx-fixtures';

/** A real session whose runs wait for `open()` while held; records each run's rows. */
class GatedSession implements ModelSession {
  readonly rows: number[] = [];
  private gate: Promise<void> = Promise.resolve();
  private opener: () => void = () => {};

  constructor(private readonly inner: ModelSession) {}

  get inputs() {
    return this.inner.inputs;
  }

  get outputs() {
    return this.inner.outputs;
  }

  hold(): void {
    this.gate = new Promise((r) => {
      this.opener = r;
    });
  }

  open(): void {
    this.opener();
  }

  async run(feeds: Record<string, Tensor>, outputs?: readonly string[]) {
    this.rows.push(feeds.x.dims[0]);
    await this.gate;
    return this.inner.run(feeds, outputs);
  }

  closeSequence(id: number): void {
    this.inner.closeSequence(id);
  }

  release(): Promise<void> {
    return this.inner.release();
  }
}

const SETTINGS: RunnerSettings = {
  maxBatchSize: 16,
  maxDelayMs: 2,
  maxQueue: 100,
  maxNumSeqs: 1,
  maxBatchedTokens: 1,
  scheduling: 'fair',
};
const MEMORY = 1000;
/** `n` rows of `v`. */
const rows = (v: number, n = 1) => ({ x: tensorFrom('float32', [n, 4], new Array(4 * n).fill(v)) });

describe('express lane', () => {
  const model = linearModel(4, 3).bytes;
  let main: GatedSession;
  let express: GatedSession;
  let runner: Runner;
  let loads = 0;

  beforeAll(async () => {
    main = new GatedSession(await ThreadedSession.create(model, {}));
    express = new GatedSession(await ThreadedSession.create(model, {}));
    // Learned costs of a CPU: 3 ms for one row, 48 ms for 16 (a long window: tenants stay active).
    const contention = new Contention(600_000);
    for (let i = 0; i < 5; i++) {
      contention.observe(1, 3, Date.now());
      contention.observe(16, 48, Date.now());
    }
    const signature = {
      inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 3] }],
    };
    runner = new Runner(
      't/lin@1',
      main,
      signature,
      SETTINGS,
      MEMORY,
      platformMetrics(),
      { model: 'lin', version: '1' },
      {
        contention,
        loadExpress: async () => {
          loads++;
          return express;
        },
      },
    );
  }, 120_000);
  afterAll(async () => {
    await runner?.close();
  });

  const infer = (tenant: string, v: number, n = 1) =>
    runner.infer({ inputs: rows(v, n), deadline: Date.now() + 60_000, caller: { tenant } });
  /** The heavy tenant sends 2 rows a request: more than an express run takes, whatever it has waiting. */
  const heavyAsk = (v: number) => infer('heavy', v, 2);

  it('is loaded when tenants first compete, and counts as a second copy of the model', async () => {
    expect(runner.memoryEstimate).toBe(MEMORY);
    await Promise.all([heavyAsk(1), infer('light', 1)]);
    await vi.waitFor(() => expect(runner.memoryEstimate).toBe(2 * MEMORY));
    expect(loads).toBe(1);
  });

  it("runs a light tenant's request while a heavy tenant's full run is in flight; heavy runs keep their rows", async () => {
    const mainBefore = main.rows.length;
    const expressBefore = express.rows.length;
    main.hold();
    let heavyDone = 0;
    const heavy = Array.from({ length: 10 }, (_, i) =>
      heavyAsk(i).then((out) => {
        heavyDone++;
        return out;
      }),
    );
    await vi.waitFor(() => expect(main.rows.length).toBe(mainBefore + 1)); // the first run is in flight
    const light = await infer('light', 7);
    // Answered while the heavy tenant's run is still held: it ran on the express lane.
    expect(heavyDone).toBe(0);
    expect(express.rows.slice(expressBefore)).toEqual([1]);
    expect(light.y.dims).toEqual([1, 3]);
    main.open();
    const outs = await Promise.all(heavy);
    // 16 rows, then the 4 left: not one request per run as when runs shrink for a light tenant.
    expect(main.rows.slice(mainBefore)).toEqual([16, 4]);
    expect(outs.map((o) => o.y.dims)).toEqual(Array(10).fill([2, 3]));
    // Same model, same input, either session: the same answer.
    const again = await heavyAsk(7);
    expect([...again.y.data.slice(0, 3)]).toEqual([...light.y.data]);
  });
});

describe('MAAS_EXPRESS_LANE', () => {
  it('auto: on only where a core is left for the lane beyond the main run and the event loop', () => {
    expect(expressLaneOn('auto', 2, 2)).toBe(false); // a 2-core machine: runs shrink instead
    expect(expressLaneOn('auto', 4, 2)).toBe(true);
    expect(expressLaneOn('auto', 16, 16)).toBe(false);
    expect(expressLaneOn('on', 2, 2)).toBe(true);
    expect(expressLaneOn('off', 64, 2)).toBe(false);
  });
});

describe('a session whose thread died', () => {
  /** Ends the session's thread as a crash would (the test reaches the private worker for it). */
  const kill = (s: ThreadedSession) =>
    (s as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();

  it('fails its runs at once instead of never settling, and releases', async () => {
    const s = await ThreadedSession.create(linearModel(4, 3).bytes, {});
    expect(s.alive).toBe(true);
    await kill(s);
    await vi.waitFor(() => expect(s.alive).toBe(false));
    await expect(s.run(rows(1))).rejects.toThrow(/exited/);
    await s.release(); // resolves though no second 'exit' comes
  });

  it('as an express lane is given up, so that requests go back to the main session', async () => {
    const s = await ThreadedSession.create(linearModel(4, 3).bytes, {});
    const lane = new ExpressLane(async () => s);
    lane.want();
    await vi.waitFor(() => expect(lane.loaded).toBe(true));
    await kill(s);
    await vi.waitFor(() => expect(s.alive).toBe(false));
    expect(lane.want()).toBeNull();
    expect(lane.possible).toBe(false);
    expect(lane.loaded).toBe(false);
  });
});
