/** Small models run in the server's thread while their runs stay short; slow ones go back to the
 * worker thread; sequences always use the worker. Real engine, real model files. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/engine/runtime/tensor';
import { InlineFirstSession } from '../../src/platform/serving/inline-session';
import { ThreadedSession } from '../../src/platform/serving/threaded-session';
import { mlpModel } from '../helpers/onnx-fixtures';

let dir = '';
let file = '';
const x: Tensor = {
  dtype: 'float32',
  dims: [1, 64],
  data: Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)),
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maas-inline-'));
  file = join(dir, 'mlp.onnx');
  await writeFile(file, mlpModel());
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('InlineFirstSession', () => {
  it('runs a small model in-thread with the same answer as the worker thread', async () => {
    // A generous run limit: the machine may be loaded; the limit itself is checked below.
    const session = await InlineFirstSession.create(
      file,
      { intraOpThreads: 1 },
      { maxBytes: 1 << 20, maxRunMs: 1000 },
    );
    const threaded = await ThreadedSession.create(file, { intraOpThreads: 1 });
    expect(session).toBeInstanceOf(InlineFirstSession);
    const a = await session.run({ x });
    const b = await threaded.run({ x });
    expect(Array.from(a.logits.data as Float32Array)).toEqual(Array.from(b.logits.data as Float32Array));
    expect((session as InlineFirstSession).inline).toBe(true);
    await Promise.all([session.release(), threaded.release()]);
  });

  it('a file over the size limit gets the worker thread only', async () => {
    const session = await InlineFirstSession.create(file, {}, { maxBytes: 100, maxRunMs: 1 });
    expect(session).toBeInstanceOf(ThreadedSession);
    expect((await session.run({ x })).logits.dims).toEqual([1, 10]);
    await session.release();
  });

  it('runs that take longer than the limit move to the worker thread for good', async () => {
    const session = (await InlineFirstSession.create(
      file,
      {},
      { maxBytes: 1 << 30, maxRunMs: 0 },
    )) as InlineFirstSession;
    const first = await session.run({ x });
    // 5 warm-up runs are not judged; after a window of 10 runs, all over a 0 ms limit, runs go
    // to the thread.
    for (let i = 1; i < 14; i++) await session.run({ x });
    expect(session.inline).toBe(true);
    await session.run({ x });
    expect(session.inline).toBe(false);
    const second = await session.run({ x });
    expect(Array.from(second.logits.data as Float32Array)).toEqual(
      Array.from(first.logits.data as Float32Array),
    );
    await session.release();
  });
});
