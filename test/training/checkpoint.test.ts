import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { families, validateHyperparameters } from '../../src/models/families/index';
import { mlpFamily } from '../../src/models/families/mlp';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpoint,
  writeFileAtomic,
} from '../../src/platform/training/checkpoint';
import { tempDir } from '../helpers/tmp';

let tmp: { dir: string; remove: () => Promise<void> };
beforeEach(async () => {
  tmp = await tempDir();
});
afterEach(async () => {
  await tmp.remove();
});

it('round-trips a checkpoint: header, float32 and float64 arrays at odd offsets', () => {
  const params = Float32Array.from([1.5, -2.25, 3e-8]);
  const m = Float64Array.from([0.1, 0.2]);
  const bytes = encodeCheckpoint(
    { step: 7, cursor: { epoch: 1, position: 32, epochRng: [1, 2, 3, 4] } },
    { params, m },
  );
  const back = decodeCheckpoint(bytes);
  expect(back.header).toMatchObject({ step: 7, cursor: { epoch: 1, position: 32, epochRng: [1, 2, 3, 4] } });
  expect(Array.from(back.arrays.params)).toEqual(Array.from(params));
  expect(back.arrays.m).toBeInstanceOf(Float64Array);
  expect(Array.from(back.arrays.m)).toEqual([0.1, 0.2]);
  expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 1))).toThrow(/size/);
  expect(() => decodeCheckpoint(new Uint8Array(20))).toThrow(/not a maas checkpoint/);
});

it('writes atomically: the file is whole, replaced in place, and no temp file is left', async () => {
  const path = join(tmp.dir, 'checkpoint.bin');
  expect(await readCheckpoint(path)).toBeNull();
  await writeFileAtomic(path, encodeCheckpoint({ step: 1 }, { params: new Float32Array(1000) }));
  await writeFileAtomic(path, encodeCheckpoint({ step: 2 }, { params: new Float32Array(10).fill(1) }));
  const ck = await readCheckpoint(path);
  expect(ck?.header.step).toBe(2);
  expect(ck?.arrays.params.length).toBe(10);
  expect(await readdir(tmp.dir)).toEqual(['checkpoint.bin']);
  expect((await readFile(path)).subarray(0, 8).toString('latin1')).toBe('MAASCKP1');
});

it('fills in defaults and names the field of a bad hyperparameter', () => {
  const hp = validateHyperparameters(mlpFamily, { epochs: 3 });
  expect(hp).toMatchObject({ epochs: 3, batch_size: 32, hidden: [64, 64], seed: 0 });
  expect(() => validateHyperparameters(mlpFamily, { batch_size: 0 })).toThrow(/hyperparameters\.batch_size/);
  expect(() => validateHyperparameters(mlpFamily, { hidden: [8, 'x'] })).toThrow(/hyperparameters\.hidden/);
  expect(() => validateHyperparameters(mlpFamily, [])).toThrow(/must be an object/);
  expect(families.names()).toEqual(['mlp', 'cnn', 'text-cnn', 'onnx', 'lora']);
  // onnx and lora fine-tune an uploaded base: never picked by name alone.
  expect(families.standalone()).toEqual(['mlp', 'cnn', 'text-cnn']);
  expect(() => families.register(mlpFamily)).toThrow(/already registered/);
});
