/**
 * Per-token saliency on a small trained text classifier: label 1 iff the token "good" occurs among
 * random filler tokens. The explanation must single out "good".
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Value } from '../../../src/engine/ir/types';
import { tensorFrom } from '../../../src/engine/runtime/tensor';
import { compileTrainStep } from '../../../src/engine/train/compile';
import {
  buildTextSaliencyModel,
  type TextClassifierDefinition,
  textExplainer,
} from '../../../src/models/vision/text-saliency';
import * as nn from '../../../src/nn/index';
import { type Loaded, load } from './session';

const vocab = ['<pad>', 'the', 'a', 'film', 'was', 'good', 'plot', 'long', 'and', 'it', 'movie', 'very'];
const GOOD = vocab.indexOf('good');
const T = 8;
const B = 32;

let explain: Loaded;

function batch(rng: nn.Rng): { ids: number[]; labels: number[] } {
  const ids: number[] = [];
  const labels: number[] = [];
  for (let b = 0; b < B; b++) {
    const positive = rng.next() < 0.5;
    const row = Array.from({ length: T }, () => {
      let t = 1 + rng.int(vocab.length - 1);
      while (t === GOOD) t = 1 + rng.int(vocab.length - 1);
      return t;
    });
    if (positive) row[rng.int(T)] = GOOD;
    ids.push(...row);
    labels.push(positive ? 1 : 0);
  }
  return { ids, labels };
}

beforeAll(async () => {
  const rng = new nn.Rng(3);
  const emb = nn.named('embedding', nn.embedding(rng, vocab.length, 8, nn.normal(0.5)));
  const head = nn.named('head', nn.linear(rng, 8, 2));
  const def: TextClassifierDefinition = {
    sequenceLength: T,
    classes: 2,
    params: [...emb.params, ...head.params],
    embed: (ids) => emb(ids),
    // Sum over tokens (not mean) so one "good" moves the logit the same at any length.
    classify: (e: Value) => head(e.graph.op('ReduceSum', [e], { axes: [1], keepdims: false })),
  };
  const trainer = await compileTrainStep({
    model: {
      params: def.params,
      batch: { ids: { dtype: 'int64', shape: [B, T] }, y: { dtype: 'int64', shape: [B] } },
      forward: (b) => ({ logits: def.classify(def.embed(b.ids), b.ids) }),
      loss: (p, b) => nn.crossEntropy(p.logits, b.y),
    },
    optimizer: nn.adam(),
  });
  for (let s = 0; s < 300; s++) {
    const { ids, labels } = batch(rng);
    await trainer.step({ ids: tensorFrom('int64', [B, T], ids), y: tensorFrom('int64', [B], labels) }, 2e-2);
  }
  const test = batch(rng);
  const ev = await trainer.evaluate({
    ids: tensorFrom('int64', [B, T], test.ids),
    y: tensorFrom('int64', [B], test.labels),
  });
  expect(ev.loss).toBeLessThan(0.2);
  trainer.syncParameters();
  await trainer.release();
  explain = await load(buildTextSaliencyModel(def));
}, 60_000);

afterAll(() => explain?.session.release());

const tokenize = (text: string) => {
  const tokens = text.split(' ');
  return { ids: tokens.map((t) => Math.max(0, vocab.indexOf(t))), tokens };
};

it('scores the token that decides the class highest, and as evidence for it', async () => {
  const explainer = textExplainer(explain.run, { labels: ['neg', 'pos'], sequenceLength: T, tokenize });
  const e = await explainer.explain('the movie was very good');
  expect(e.label).toBe('pos');
  expect(e.tokens.map((t) => t.token)).toEqual(['the', 'movie', 'was', 'very', 'good']);
  const best = e.tokens.reduce((a, b) => (b.score > a.score ? b : a));
  expect(best.token).toBe('good');
  const others = e.tokens.filter((t) => t.token !== 'good');
  expect(best.signed).toBeGreaterThan(0);
  expect(best.signed).toBeGreaterThan(Math.max(...others.map((t) => t.signed)));
  // Explaining the other class flips the sign: "good" is evidence against 'neg'.
  const against = await explainer.explain('the movie was very good', { classIndex: 0 });
  expect(against.tokens[4].signed).toBeLessThan(0);
  expect(Object.values(e.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
});

it('has the documented signature', () => {
  expect(explain.session.inputs.map((i) => [i.name, i.shape])).toEqual([
    ['ids', [1, T]],
    ['target', [1]],
  ]);
  expect(explain.session.outputNames).toEqual([
    'logits',
    'probabilities',
    'target_class',
    'token_scores',
    'signed_scores',
  ]);
});
