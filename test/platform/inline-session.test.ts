/** Small models whose cost follows their input shapes run in the server's thread, once each input
 * shape has been measured short on the worker thread; everything else stays on the worker thread.
 * Real engine, real model files. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costFollowsShapes } from '../../src/engine/index';
import type { Tensor } from '../../src/engine/runtime/tensor';
import { InlineFirstSession } from '../../src/platform/serving/inline-session';
import { ThreadedSession } from '../../src/platform/serving/threaded-session';
import { buildModel, externalDataModel, mlpModel } from '../helpers/onnx-fixtures';

let dir = '';
let file = '';
let tileFile = '';
const input = (rows: number): Tensor => ({
  dtype: 'float32',
  dims: [rows, 64],
  data: Float32Array.from({ length: rows * 64 }, (_, i) => Math.sin(i)),
});
const x = input(1);

/** y = Tile(x, repeats): its output size comes from a tensor's values, not from x's shape. */
function tileModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1, 8] }],
    nodes: [{ op: 'Tile', inputs: ['x', 'repeats'], outputs: ['y'] }],
    initializers: [
      {
        name: 'repeats',
        dtype: 'int64',
        dims: [2],
        raw: new Uint8Array(BigInt64Array.from([1n, 2n]).buffer),
      },
    ],
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maas-inline-'));
  file = join(dir, 'mlp.onnx');
  tileFile = join(dir, 'tile.onnx');
  await writeFile(file, mlpModel());
  await writeFile(tileFile, tileModel());
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('costFollowsShapes', () => {
  it('accepts an MLP and refuses sizes from values, external data and broken bytes', () => {
    expect(costFollowsShapes(mlpModel())).toBe(true);
    expect(costFollowsShapes(tileModel())).toBe(false);
    expect(costFollowsShapes(externalDataModel())).toBe(false);
    expect(costFollowsShapes(new Uint8Array([1, 2, 3]))).toBe(false);
  });
});

/** The MLP's session with a 1 MiB file limit and this run limit. */
const mlpSession = async (maxRunMs: number) =>
  (await InlineFirstSession.create(file, {}, { maxBytes: 1 << 20, maxRunMs })) as InlineFirstSession;

describe('InlineFirstSession', () => {
  it('runs a shape in-thread after its worker runs, with the same answer as the worker thread', async () => {
    // A generous run limit: the machine may be loaded; the limit itself is checked below.
    const session = (await InlineFirstSession.create(
      file,
      { intraOpThreads: 1 },
      { maxBytes: 1 << 20, maxRunMs: 1000 },
    )) as InlineFirstSession;
    const threaded = await ThreadedSession.create(file, { intraOpThreads: 1 });
    expect(session).toBeInstanceOf(InlineFirstSession);
    const expected = Array.from((await threaded.run({ x })).logits.data as Float32Array);
    for (let i = 0; i < 3; i++) {
      expect(session.inline).toBe(false); // still measured on the worker thread
      expect(Array.from((await session.run({ x })).logits.data as Float32Array)).toEqual(expected);
    }
    expect(session.inline).toBe(true);
    expect(Array.from((await session.run({ x })).logits.data as Float32Array)).toEqual(expected);
    await Promise.all([session.release(), threaded.release()]);
  });

  it('a new input shape is measured on the worker thread before it may run in-thread', async () => {
    const session = await mlpSession(1000);
    for (let i = 0; i < 3; i++) await session.run({ x });
    expect(session.placeOf({ x })).toBe('inline');
    const eight = input(8);
    expect((await session.run({ x: eight })).logits.dims).toEqual([8, 10]);
    expect(session.placeOf({ x: eight })).toBe('judging');
    await session.release();
  });

  it('runs use the worker thread while other requests wait for the model', async () => {
    const session = await mlpSession(1000);
    for (let i = 0; i < 3; i++) await session.run({ x });
    await session.run({ x }, undefined, undefined, { contended: true });
    expect(session.inThreadRuns).toBe(0);
    await session.run({ x }, undefined, undefined, { contended: false });
    expect(session.inThreadRuns).toBe(1);
    await session.release();
  });

  it('a shape whose runs take longer than the limit stays on the worker thread for good', async () => {
    const session = await mlpSession(0);
    const first = await session.run({ x });
    for (let i = 0; i < 12; i++) await session.run({ x });
    expect(session.placeOf({ x })).toBe('worker');
    expect(session.inline).toBe(false);
    const last = await session.run({ x });
    expect(Array.from(last.logits.data as Float32Array)).toEqual(
      Array.from(first.logits.data as Float32Array),
    );
    await session.release();
  });

  it('a file over the size limit, or one whose sizes come from values, gets the worker thread only', async () => {
    const big = await InlineFirstSession.create(file, {}, { maxBytes: 100, maxRunMs: 1 });
    expect(big).toBeInstanceOf(ThreadedSession);
    expect((await big.run({ x })).logits.dims).toEqual([1, 10]);
    const tile = await InlineFirstSession.create(tileFile, {}, { maxBytes: 1 << 20, maxRunMs: 1000 });
    expect(tile).toBeInstanceOf(ThreadedSession);
    const y = await tile.run({
      x: { dtype: 'float32', dims: [1, 4], data: Float32Array.from([1, 2, 3, 4]) },
    });
    expect(Array.from(y.y.data as Float32Array)).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    await Promise.all([big.release(), tile.release()]);
  });
});
