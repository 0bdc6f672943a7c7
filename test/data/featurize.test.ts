import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeClass,
  decodeRegression,
  encodeInputs,
  type FeatureSpec,
  type ImageCell,
  loadForTraining,
  parseFeatureSpec,
  rowsFromRecords,
} from '../../src/data';
import { encodeImages, type ImageSpec } from '../../src/data/featurize/image';
import { toNumbers } from '../../src/engine/runtime/tensor';
import { datasetError, makePng, tempDir, writeFixture } from './fixtures';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

const CSV = [
  'size,colour,price,kind',
  '1,red,10,a',
  '3,blue,30,b',
  '5,red,50,a',
  '7,green,70,b',
  ',red,20,a',
].join('\n');

describe('tabular featurizer', () => {
  it('standardises numbers, one-hots categories with an unknown slot, and indexes classes', async () => {
    const path = await writeFixture(dir, 't.csv', CSV);
    const data = await loadForTraining(path, { task: 'tabular', target: 'kind', validationFraction: 0 });
    const spec = data.spec;
    if (spec.kind !== 'tabular') throw new Error('expected tabular');
    // size: mean of 1,3,5,7 = 4, population std = √5; price: mean 36, std √464.
    expect(spec.features[0]).toEqual({ name: 'size', kind: 'numeric', mean: 4, std: Math.sqrt(5) });
    expect(spec.features[1]).toEqual({
      name: 'colour',
      kind: 'categorical',
      categories: ['blue', 'green', 'red'],
    });
    expect(spec.width).toBe(1 + 4 + 1);
    expect(spec.target).toEqual({ name: 'kind', kind: 'class', classes: ['a', 'b'] });
    expect(data.inputs.dims).toEqual([5, 6]);
    const row0 = Array.from(data.inputs.data as Float32Array).slice(0, 6);
    expect(row0[0]).toBeCloseTo((1 - 4) / Math.sqrt(5), 5);
    expect(row0.slice(1, 5)).toEqual([0, 0, 1, 0]);
    expect(row0[5]).toBeCloseTo((10 - 36) / Math.sqrt(464), 5);
    // The missing size becomes the mean, i.e. 0.
    expect((data.inputs.data as Float32Array)[4 * 6]).toBe(0);
    expect(Array.from(data.targets.data as BigInt64Array)).toEqual([0n, 1n, 0n, 1n, 0n]);
  });

  it('reuses the stored spec on raw prediction input: same tensor, unknown category in its slot', async () => {
    const path = await writeFixture(dir, 't2.csv', CSV);
    const data = await loadForTraining(path, { task: 'tabular', target: 'kind', validationFraction: 0 });
    const stored = parseFeatureSpec(JSON.parse(JSON.stringify(data.spec)));
    const x = encodeInputs(
      stored,
      rowsFromRecords([
        { size: 1, colour: 'red', price: '10' },
        { size: '3', colour: 'purple', price: 30 },
      ]),
    );
    const trained = Array.from(data.inputs.data as Float32Array).slice(0, 6);
    expect(Array.from(x.data as Float32Array).slice(0, 6)).toEqual(trained);
    expect(Array.from(x.data as Float32Array).slice(7, 11)).toEqual([0, 0, 0, 1]);
    const bad = await datasetError(async () =>
      encodeInputs(stored, rowsFromRecords([{ size: 'big', colour: 'red', price: 1 }])),
    );
    expect(bad.pointer).toBe('inputs[0]');
    expect(bad.message).toContain('column "size": expected a number, got "big"');
    if (stored.kind === 'tabular' && stored.target?.kind === 'class')
      expect(decodeClass(stored.target, 1)).toBe('b');
  });

  it('standardises a regression target and maps predictions back', async () => {
    const lines = ['x,y', ...Array.from({ length: 40 }, (_, i) => `${i},${(i * 2.5 + 1).toFixed(2)}`)];
    const path = await writeFixture(dir, 'reg.csv', lines.join('\n'));
    const data = await loadForTraining(path, {
      task: 'tabular',
      target: 'y',
      validationFraction: 0.25,
      seed: 3,
    });
    const t = data.spec.kind === 'tabular' ? data.spec.target : undefined;
    if (t?.kind !== 'regression') throw new Error('expected a regression target');
    expect(data.targets.dims).toEqual([40, 1]);
    expect(data.train.length).toBe(30);
    expect(data.validation.length).toBe(10);
    const y5 = (data.targets.data as Float32Array)[5];
    expect(decodeRegression(t, y5)).toBeCloseTo(13.5, 4);
  });

  it('names the row of a target that is missing', async () => {
    const path = await writeFixture(dir, 'miss.csv', 'a,b\n1,x\n2,\n3,y\n');
    const e = await datasetError(() => loadForTraining(path, { task: 'tabular', target: 'b' }));
    expect(e.pointer).toBe('line 3');
  });
});

describe('image featurizer', () => {
  const spec = (o: Partial<ImageSpec>): ImageSpec => ({
    kind: 'image',
    version: 1,
    column: 'image',
    width: 2,
    height: 2,
    channels: 1,
    layout: 'NCHW',
    ...o,
  });
  const img = (w: number, h: number, channels: 1 | 3 | 4, px: number[]): ImageCell => ({
    kind: 'image',
    width: w,
    height: h,
    channels,
    pixels: Uint8Array.from(px),
  });

  it('converts RGBA to gray (BT.601 luma) and scales to [0, 1]', () => {
    const rgba = img(2, 1, 4, [255, 0, 0, 255, 0, 0, 255, 255]);
    const t = encodeImages(spec({ width: 2, height: 1 }), [{ where: 'x', values: { image: rgba } }]);
    expect(t.dims).toEqual([1, 1, 1, 2]);
    expect(t.data[0]).toBeCloseTo(0.299, 5);
    expect(t.data[1]).toBeCloseTo(0.114, 5);
  });

  it('resizes bilinearly: a 4×4 of 2×2 blocks halves to the block values, gray → RGB replicates', () => {
    const px = [0, 0, 100, 100, 0, 0, 100, 100, 200, 200, 50, 50, 200, 200, 50, 50];
    const t = encodeImages(spec({ channels: 3 }), [{ where: 'x', values: { image: img(4, 4, 1, px) } }]);
    expect(t.dims).toEqual([1, 3, 2, 2]);
    const expected = [0, 100, 200, 50].map((v) => v / 255);
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < 4; i++) expect(t.data[c * 4 + i]).toBeCloseTo(expected[i], 5);
  });

  it('predicts from raw PNG bytes (or a data URL) with the stored spec', async () => {
    const png = makePng(4, 4, (x) => (x < 2 ? [255, 255, 255] : [0, 0, 0]));
    const stored: FeatureSpec = spec({});
    const t = encodeInputs(stored, rowsFromRecords([{ image: new Uint8Array(png) }]));
    expect(Array.from(t.data as Float32Array).map((v) => Math.round(v * 100) / 100)).toEqual([1, 0, 1, 0]);
    const url = `data:image/png;base64,${png.toString('base64')}`;
    expect(toNumbers(encodeInputs(stored, rowsFromRecords([{ image: url }])))).toEqual(toNumbers(t));
    const broken = 'data:image/png;base64,iVBORw0KGgo=';
    const e = await datasetError(async () => rowsFromRecords([{ image: broken }]));
    expect(e.pointer).toBe('inputs[0].image');
  });
});
