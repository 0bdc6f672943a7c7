/** MLP train step profile: CPU ms per step of maas's compiled step vs its pieces, and ORT's per-node
 * profile (ORT_PROFILE=1: 500 profiled runs; writes ort-*.json and the optimised graph opt.onnx to
 * a new temp folder and prints the profile's path). */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Value } from '../../src/engine/ir/types';
import { encodeModel } from '../../src/engine/onnx/encode';
import { compileTrainStep } from '../../src/engine/train/compile';
import { buildTrainGraph, packLayout } from '../../src/engine/train/graphs';
import * as nn from '../../src/nn/index';
import { glorotZeroBias, syntheticBatch } from '../maas/common';

const rng = new nn.Rng(1);
const model = nn.sequential(
  nn.linear(rng, 784, 256),
  nn.relu(),
  nn.linear(rng, 256, 256),
  nn.relu(),
  nn.linear(rng, 256, 10),
);
glorotZeroBias(model.params, rng);
const spec = {
  params: model.params,
  batch: {
    x: { dtype: 'float32' as const, shape: [64, 784] },
    y: { dtype: 'int64' as const, shape: [64] },
  },
  forward: (b: Record<string, Value>) => ({ logits: model(b.x) }),
  loss: (p: Record<string, Value>, b: Record<string, Value>) => nn.crossEntropy(p.logits, b.y),
};
const batch = syntheticBatch(rng, [64, 784], 10);
const trainer = await compileTrainStep({
  paramLayout: (process.env.LAYOUT as 'packed' | 'separate' | undefined) ?? undefined,
  model: spec,
  optimizer: nn.sgd(),
  session: { intraOpThreads: 2, allowSpinning: false },
});
const N = Number(process.env.N ?? 2000);
for (let i = 0; i < 200; i++) await trainer.step(batch, 0.05);
const c0 = process.cpuUsage();
const t0 = performance.now();
let loss = 0;
for (let i = 0; i < N; i++) loss = (await trainer.step(batch, 0.05)).loss;
const wall = performance.now() - t0;
const cpu = process.cpuUsage(c0);
console.log(
  `trainer.step: ${(wall / N).toFixed(3)} ms wall, ${((cpu.user + cpu.system) / 1000 / N).toFixed(3)} CPU ms/step, loss ${loss.toFixed(4)}`,
);
if (process.env.ORT_PROFILE) {
  const layout = packLayout(model.params);
  const mode = trainer.paramLayout;
  const g = buildTrainGraph(spec, nn.sgd(), layout, 'float32', mode);
  const out = mkdtempSync(join(tmpdir(), 'mlp-profile-'));
  const s = await ort.InferenceSession.create(encodeModel(g.graph), {
    intraOpNumThreads: 2,
    graphOptimizationLevel: 'extended',
    enableProfiling: true,
    profileFilePrefix: join(out, 'ort'),
    optimizedModelFilePath: join(out, 'opt.onnx'),
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const feeds: Record<string, ort.Tensor> = {
    x: new ort.Tensor('float32', batch.x.data as Float32Array, [64, 784]),
    y: new ort.Tensor('int64', batch.y.data as BigInt64Array, [64]),
    params: new ort.Tensor('float32', new Float32Array(layout.total), [layout.total]),
    ...Object.fromEntries(
      model.params.map((p, i) => [
        `params_${i}`,
        new ort.Tensor('float32', new Float32Array(layout.sizes[i]), p.value.dims as number[]),
      ]),
    ),
    lr: new ort.Tensor('float32', new Float32Array([0.05]), []),
    step: new ort.Tensor('float32', new Float32Array([1]), []),
  };
  for (const n of Object.keys(feeds)) if (!s.inputNames.includes(n)) delete feeds[n];
  for (let i = 0; i < 500; i++) await s.run(feeds);
  // The node binding has no endProfiling: ONNX Runtime writes the file when the session goes.
  await s.release();
  console.log(`profile: ${out}/ort_*.json (parameter layout: ${mode})`);
}
