import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  batches,
  describeDataset,
  getBuiltin,
  listBuiltins,
  loadForTraining,
  tokenizerFromSpec,
} from '../../src/data';
import { emailText } from '../../src/data/builtin';
import { toNumbers } from '../../src/engine/runtime/tensor';
import { datasetError, tempDir, writeFixture } from './fixtures';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

describe('built-in datasets', () => {
  it('lists each with a description and licence, and refuses unknown names', async () => {
    const names = listBuiltins().map((b) => b.name);
    expect(names).toEqual(['xor', 'mnist', 'spam', 'moby-dick', 'fashion-mnist']);
    for (const b of listBuiltins()) expect(b.licence.length, b.name).toBeGreaterThan(2);
    expect((await datasetError(async () => getBuiltin('imagenet'))).message).toContain(
      'no built-in dataset "imagenet"',
    );
  });

  it('xor: a tabular classification set with balanced labels', async () => {
    const data = await loadForTraining({ builtin: 'xor' }, { task: 'tabular' });
    expect(data.inputs.dims).toEqual([400, 2]);
    expect(data.train.length + data.validation.length).toBe(400);
    const ones = Array.from(data.targets.data as BigInt64Array).filter((v) => v === 1n).length;
    expect(ones).toBeGreaterThan(150);
    expect(ones).toBeLessThan(250);
  });

  it('mnist: 10,000 real 28×28 digits in ten classes, as float32 NCHW in [0, 1]', async () => {
    const data = await loadForTraining({ builtin: 'mnist' }, { task: 'image', seed: 1 });
    expect(data.inputs.dims).toEqual([10_000, 1, 28, 28]);
    expect(data.validation.length).toBe(1000);
    const spec = data.spec.kind === 'image' ? data.spec : undefined;
    expect(spec?.target?.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const x = data.inputs.data as Float32Array;
    let max = 0;
    let inked = 0;
    for (let i = 0; i < 784; i++) {
      max = Math.max(max, x[i]);
      if (x[i] > 0.5) inked++;
    }
    expect(max).toBeLessThanOrEqual(1);
    expect(inked).toBeGreaterThan(40); // a real digit, not a blank
    const stream = batches(data, 'train', { batchSize: 64, seed: 2 });
    const b = stream.next();
    expect(b.inputs.dims).toEqual([64, 1, 28, 28]);
    expect(b.targets.dims).toEqual([64]);
    expect(stream.batchesPerEpoch).toBe(Math.ceil(9000 / 64));
  });

  it('spam: 6,046 emails labelled spam or ham, subject and body only', async () => {
    const d = await describeDataset({ builtin: 'spam' }, { previewRows: 1 });
    expect(d.rows).toBe(6046);
    expect(d.classBalance).toEqual({ ham: 4150, spam: 1896 });
    expect(d.schema.map((c) => [c.name, c.kind])).toEqual([
      ['text', 'text'],
      ['label', 'categorical'],
    ]);
    expect(emailText('From: a@b\nSubject: Win money\nX-Y: z\n\nClick here')).toBe('Win money\n\nClick here');
  });

  it('moby-dick: a prose corpus split into non-overlapping windows, validation at the end', async () => {
    const data = await loadForTraining(
      { builtin: 'moby-dick' },
      { task: 'language-model', languageModel: { contextLength: 32 } },
    );
    if (data.spec.kind !== 'language-model') throw new Error('expected a language-model spec');
    const tok = tokenizerFromSpec(data.spec.tokenizer);
    const first = Array.from(data.inputs.data.subarray(0, 32) as BigInt64Array, Number);
    expect(tok.decode(first)).toBe('CHAPTER 1. Loomings.\n\nCall me Is');
    // Targets are the inputs shifted by one token.
    expect(Array.from(data.targets.data.subarray(0, 31) as BigInt64Array)).toEqual(
      Array.from(data.inputs.data.subarray(1, 32) as BigInt64Array),
    );
    expect(data.validation[0]).toBe(data.train.length);
    expect(data.inputs.dims[0]).toBeGreaterThan(30_000);
  });
});

describe('loadForTraining on files', () => {
  it('text classification from JSONL with a word vocabulary fitted on the training split', async () => {
    const lines = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({
        review: i % 2 ? `awful boring film number ${i}` : `great fun film number ${i}`,
        label: i % 2 ? 'neg' : 'pos',
      }),
    );
    const path = await writeFixture(dir, 'reviews.jsonl', lines.join('\n'));
    const data = await loadForTraining(path, {
      task: 'text-classification',
      text: { maxLength: 6 },
      validationFraction: 0.2,
    });
    if (data.spec.kind !== 'text') throw new Error('expected a text spec');
    expect(data.spec.column).toBe('review');
    expect(data.inputs.dims).toEqual([20, 6]);
    expect(data.inputs.dtype).toBe('int64');
    expect(data.spec.tokenizer.type === 'word' && data.spec.tokenizer.vocab.slice(0, 4)).toEqual([
      '<pad>',
      '<unk>',
      'film',
      'number',
    ]);
    expect(Array.from(data.targets.data as BigInt64Array).slice(0, 2)).toEqual([1n, 0n]); // classes [neg, pos]
  });

  it('a BPE language model from a text file, and a batch cursor that resumes exactly', async () => {
    const text = 'the quick brown fox jumps over the lazy dog. '.repeat(200);
    const path = await writeFixture(dir, 'fox.txt', text);
    const data = await loadForTraining(path, {
      task: 'language-model',
      languageModel: { tokenizer: 'bpe', vocabSize: 300, contextLength: 8 },
    });
    if (data.spec.kind !== 'language-model') throw new Error('expected a language-model spec');
    // Merges stop early when no pair occurs twice more: at most the asked-for size.
    const size = tokenizerFromSpec(data.spec.tokenizer).vocabSize;
    expect(size).toBeGreaterThan(270);
    expect(size).toBeLessThanOrEqual(300);
    const a = batches(data, 'train', { batchSize: 5, seed: 4 });
    for (let i = 0; i < 7; i++) a.next();
    const b = batches(data, 'train', {
      batchSize: 5,
      seed: 4,
      cursor: JSON.parse(JSON.stringify(a.cursor())),
    });
    expect(toNumbers(b.next().inputs)).toEqual(toNumbers(a.next().inputs));
  });

  it('fails at once, naming the place, for a malformed file or a missing target', async () => {
    const bad = await writeFixture(dir, 'bad.csv', 'a,b,label\n1,2,x\n3,4\n');
    expect((await datasetError(() => loadForTraining(bad, { task: 'tabular' }))).message).toBe(
      'line 3, column 4: expected 3 fields, got 2',
    );
    const noTarget = await writeFixture(dir, 'nt.csv', 'a,b\n1,2\n3,4\n');
    expect((await datasetError(() => loadForTraining(noTarget, { task: 'tabular' }))).message).toContain(
      'target column',
    );
  });
});
