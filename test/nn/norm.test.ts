import { expect, it } from 'vitest';
import type { Value } from '../../src/engine/ir/types';
import { EngineSession } from '../../src/engine/runtime/session';
import { tensorFrom, toNumbers } from '../../src/engine/runtime/tensor';
import { compileTrainStep } from '../../src/engine/train/compile';
import * as nn from '../../src/nn/index';

it('batch norm keeps running statistics as buffers: trained, checkpointed, used by eval and inference', async () => {
  const rng = new nn.Rng(1);
  const bn = nn.named('bn', nn.batchNorm(2, { momentum: 0.1 }));
  const fc = nn.named('fc', nn.linear(rng, 2, 2));
  const net = (x: Value) => fc(bn(x));
  const xs = [1, 10, 3, 14, 5, 12, 7, 16];
  const x = tensorFrom('float64', [4, 2], xs);
  const t = await compileTrainStep({
    dtype: 'float64',
    model: {
      params: [...bn.params, ...fc.params],
      buffers: bn.buffers,
      batch: { x: { dtype: 'float64', shape: [4, 2] }, y: { dtype: 'int64', shape: [4] } },
      forward: (b) => ({ logits: net(b.x) }),
      loss: (p, b) => nn.crossEntropy(p.logits, b.y),
    },
    optimizer: nn.sgd(),
  });
  const y = tensorFrom('int64', [4], [0, 1, 0, 1]);
  for (let i = 0; i < 3; i++) await t.step({ x, y }, 0.1);
  // Same batch each step: running mean = (1 − 0.9³)·batch mean; var = 0.9³ + (1 − 0.9³)·unbiased var.
  const decay = 0.9 ** 3;
  const col = (c: number) => [0, 1, 2, 3].map((r) => xs[2 * r + c]);
  const mean = [0, 1].map((c) => col(c).reduce((a, v) => a + v, 0) / 4);
  const uvar = [0, 1].map((c) => col(c).reduce((a, v) => a + (v - mean[c]) ** 2, 0) / 3);
  const state = t.state();
  const buffers = Array.from(state.buffers!);
  [...mean.map((m) => (1 - decay) * m), ...uvar.map((v) => decay + (1 - decay) * v)].forEach((want, i) => {
    expect(buffers[i]).toBeCloseTo(want, 10);
  });
  // Eval normalises with the running statistics; inference has them baked in.
  const ev = await t.evaluate({ x, y });
  const s = await EngineSession.create(t.exportInference());
  const inf = toNumbers((await s.run({ x: tensorFrom('float32', [4, 2], xs) })).logits);
  toNumbers(ev.predictions.logits).forEach((v, i) => {
    expect(inf[i]).toBeCloseTo(v, 4);
  });
  expect(Array.from(bn.buffers[0].value.data as Float32Array)[0]).toBeCloseTo(buffers[0], 5);
  await s.release();
  // A checkpoint carries the buffers.
  const t2 = await compileTrainStep({
    dtype: 'float64',
    model: {
      params: [...bn.params, ...fc.params],
      buffers: bn.buffers,
      batch: { x: { dtype: 'float64', shape: [4, 2] }, y: { dtype: 'int64', shape: [4] } },
      forward: (b) => ({ logits: net(b.x) }),
      loss: (p, b) => nn.crossEntropy(p.logits, b.y),
    },
    optimizer: nn.sgd(),
  });
  t2.load(state);
  expect(Array.from(t2.state().buffers!)).toEqual(buffers);
  expect(() => t2.load({ ...state, buffers: new Float64Array(1) })).toThrow(/buffers/);
  await t.release();
  await t2.release();
});

it('refuses a buffer that the forward assigns but the model does not list', async () => {
  const bn = nn.batchNorm(2);
  const spec = {
    params: bn.params,
    batch: { x: { dtype: 'float32' as const, shape: [4, 2] } },
    forward: (b: Record<string, Value>) => ({ y: bn(b.x) }),
    loss: (p: Record<string, Value>) => p.y.graph.op('ReduceSum', [p.y], { keepdims: false }),
  };
  await expect(compileTrainStep({ model: spec, optimizer: nn.sgd() })).rejects.toThrow(/not listed/);
});
