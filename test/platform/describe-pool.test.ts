import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribePool } from '../../src/platform/training/describe-pool';
import { tempDir } from '../helpers/tmp';

describe('DescribePool: dataset parsing off the event loop, in workers with a heap limit', () => {
  let dir: { dir: string; remove: () => Promise<void> };
  const pool = new DescribePool({ memoryMb: 32, timeoutMs: 60_000, maxWorkers: 1, idleMs: 1000 });
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => {
    await pool.close();
    await dir.remove();
  });

  it('a file that passes the reader budgets but exhausts the heap kills only its worker: 413, and the next file is read', async () => {
    // 40 lines × 20,000 distinct keys: 800,000 columns of schema state, far past a 32 MiB heap.
    const lines = Array.from({ length: 40 }, (_, l) =>
      JSON.stringify(Object.fromEntries(Array.from({ length: 20_000 }, (_, k) => [`k${l}_${k}`, k]))),
    );
    const wide = join(dir.dir, 'wide.jsonl');
    await writeFile(wide, lines.join('\n'));
    await expect(pool.describe(wide, {})).rejects.toMatchObject({
      code: 'payload_too_large',
      message: expect.stringContaining(
        'more than 32 MiB of memory (limit datasetParseMemoryMb, setting MAAS_DATASET_PARSE_MEMORY_MB)',
      ),
    });
    const csv = join(dir.dir, 'ok.csv');
    await writeFile(csv, 'a,b\n1,2\n3,4\n');
    expect(await pool.describe(csv, {})).toMatchObject({ format: 'csv', rows: 2 });
  });

  it('errors of the data come back as the catalog errors the readers threw', async () => {
    const bad = join(dir.dir, 'bad.csv');
    await writeFile(bad, 'a,b\n1,2\n3,4\n5,6,7\n');
    await expect(pool.describe(bad, {})).rejects.toMatchObject({
      code: 'invalid_dataset',
      extras: { pointer: 'line 4, column 5' },
    });
  });

  it('a refused file gives its worker back: 6 refusals start one worker per slot, and none outlives close()', async () => {
    // Every bomb is refused (413/400): such a worker once stayed running, heap and all, and the
    // next file started another; 24 bombs in 20 s held 1.4 GB of RSS (bench/serve/attack.ts).
    const two = new DescribePool({ memoryMb: 64, timeoutMs: 60_000, maxWorkers: 2, idleMs: 60_000 });
    const bad = join(dir.dir, 'stray-quote.csv');
    await writeFile(bad, 'a,b\n1,x"y\n');
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.allSettled([two.describe(bad, {}), two.describe(bad, {})]);
      expect(answers.map((a) => a.status)).toEqual(['rejected', 'rejected']);
      expect(two.stats().live).toBeLessThanOrEqual(2);
    }
    expect(two.stats().spawned).toBeLessThanOrEqual(2);
    await two.close();
    await expect.poll(() => two.stats().live, { timeout: 10_000 }).toBe(0);
  });
});
