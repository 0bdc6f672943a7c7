/**
 * Finite-difference check of a whole layer (float64): its parameters and float inputs become graph
 * inputs, loss = Σ out ⊙ W with fixed random W, and every element's analytic gradient is compared
 * with (loss(x + ε) − loss(x − ε)) / 2ε from ONNX Runtime.
 */
import { gradients } from '../../src/engine/autodiff';
import { Graph } from '../../src/engine/ir/graph';
import type { Parameter, Value } from '../../src/engine/ir/types';
import { encodeModel } from '../../src/engine/onnx/encode';
import { isFloat } from '../../src/engine/ops/util';
import { EngineSession } from '../../src/engine/runtime/session';
import { type Tensor, type TensorDType, tensorFrom } from '../../src/engine/runtime/tensor';
import { type GradReport, prng } from '../engine/gradcheck';

export interface LayerInput {
  shape: number[];
  dtype?: TensorDType;
  values?: number[];
}

export async function layerGradcheck(
  params: readonly Parameter[],
  inputs: Record<string, LayerInput>,
  build: (x: Record<string, Value>) => Value,
  tol = { atol: 1e-6, rtol: 1e-5 },
): Promise<GradReport> {
  const rand = prng(7);
  const g = new Graph({ training: true, paramDType: 'float64' });
  const feeds: Record<string, Tensor> = {};
  const wrt: { name: string; value: Value }[] = [];
  params.forEach((p, i) => {
    const name = `p${i}`;
    const v = g.input(name, 'float64', p.value.dims);
    g.bindParam(p, v);
    feeds[name] = tensorFrom('float64', p.value.dims, p.value.data as Float32Array);
    wrt.push({ name, value: v });
  });
  const xs: Record<string, Value> = {};
  for (const [name, inp] of Object.entries(inputs)) {
    const dtype = inp.dtype ?? 'float64';
    const n = inp.shape.reduce((a, b) => a * b, 1);
    feeds[name] = tensorFrom(dtype, inp.shape, inp.values ?? Array.from({ length: n }, () => rand() * 2 - 1));
    xs[name] = g.input(name, dtype, inp.shape);
    if (isFloat(dtype)) wrt.push({ name, value: xs[name] });
  }
  const out = build(xs);
  const n = out.shape.reduce<number>((a, b) => a * Number(b), 1);
  const w = g.constant(
    tensorFrom(
      'float64',
      out.shape.map(Number),
      Array.from({ length: n }, () => rand() * 2 - 1),
    ),
  );
  const loss = g.op('ReduceSum', [g.op('Mul', [out, w])], { keepdims: false });
  g.output('loss', loss);
  gradients(
    g,
    loss,
    wrt.map((x) => x.value),
  ).forEach((d, i) => {
    if (!d) throw new Error(`no gradient for ${wrt[i].name}`);
    g.output(`d_${wrt[i].name}`, d);
  });
  const session = await EngineSession.create(encodeModel(g), {
    graphOptimization: 'disabled',
    intraOpThreads: 1,
  });
  const analytic = await session.run(feeds);
  const eps = 1e-6;
  const report: GradReport = { checked: 0, maxAbsErr: 0, failures: [] };
  const lossAt = async () => Number((await session.run(feeds, ['loss'])).loss.data[0]);
  for (const { name } of wrt) {
    const base = feeds[name].data as Float64Array;
    const ana = analytic[`d_${name}`].data as Float64Array;
    for (let j = 0; j < base.length; j++) {
      const orig = base[j];
      base[j] = orig + eps;
      const up = await lossAt();
      base[j] = orig - eps;
      const down = await lossAt();
      base[j] = orig;
      const num = (up - down) / (2 * eps);
      const err = Math.abs(num - ana[j]);
      report.checked++;
      report.maxAbsErr = Math.max(report.maxAbsErr, err);
      if (err > tol.atol + tol.rtol * Math.abs(num))
        report.failures.push(`${name}[${j}]: ${num} vs ${ana[j]}`);
    }
  }
  await session.release();
  return report;
}
