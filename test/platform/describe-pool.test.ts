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
});
