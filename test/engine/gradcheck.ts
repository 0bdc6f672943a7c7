/**
 * Central finite-difference check of an op's gradient rule against ONNX Runtime's own forward
 * computation: loss = Σ_k Σ(out_k ⊙ W_k) with fixed random weights W_k, analytical gradient from
 * `gradients()`, numerical gradient from (loss(x + ε) − loss(x − ε)) / 2ε per element.
 */
import { gradients } from '../../src/engine/autodiff';
import { Graph } from '../../src/engine/ir/graph';
import type { Attrs, ConvWeightGradForm, Value } from '../../src/engine/ir/types';
import { encodeModel } from '../../src/engine/onnx/encode';
import { isFloat } from '../../src/engine/ops/util';
import { EngineSession } from '../../src/engine/runtime/session';
import { type Tensor, type TensorDType, tensorFrom } from '../../src/engine/runtime/tensor';

export interface CaseInput {
  shape: number[];
  /** Default: the check's float dtype, differentiable. */
  dtype?: TensorDType;
  /** Fixed values (indices, masks, or values kept away from kinks); default seeded uniform in [-1, 1]. */
  values?: number[];
  /** Seeded uniform range for the default values. */
  range?: [number, number];
}

export interface GradCase {
  inputs: CaseInput[];
  attrs?: Attrs;
  /** float64 unless the op has no float64 CPU kernel in ORT. */
  dtype?: 'float32' | 'float64';
  /** Tolerance: |num − ana| ≤ atol + rtol·|num|. */
  atol?: number;
  rtol?: number;
  /** Form of stride-1 Conv weight gradients (the graph's default when unset). */
  convWeightGrad?: ConvWeightGradForm;
}

export interface GradReport {
  checked: number;
  maxAbsErr: number;
  failures: string[];
}

/** Small deterministic PRNG for test data (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function gradcheck(op: string, c: GradCase, random = false): Promise<GradReport> {
  const dtype = c.dtype ?? 'float64';
  const rand = prng(42);
  const form = c.convWeightGrad;
  const g = new Graph({ training: true, convWeightGradForm: form ? () => form : undefined });
  const feeds: Record<string, Tensor> = {};
  const xs: Value[] = c.inputs.map((inp, i) => {
    const dt = inp.dtype ?? dtype;
    const [lo, hi] = inp.range ?? [-1, 1];
    const n = inp.shape.reduce((a, b) => a * b, 1);
    const values = inp.values ?? Array.from({ length: n }, () => lo + (hi - lo) * rand());
    feeds[`x${i}`] = tensorFrom(dt, inp.shape, values);
    return g.input(`x${i}`, dt, inp.shape);
  });
  const outs = g.ops(op, xs, c.attrs ?? {});
  const terms = outs
    .filter((o) => isFloat(o.dtype))
    .map((o) => {
      const n = o.shape.reduce<number>((a, b) => a * Number(b), 1);
      const w = g.constant(
        tensorFrom(
          o.dtype,
          o.shape.map(Number),
          Array.from({ length: n }, () => rand() * 2 - 1),
        ),
      );
      return g.op('ReduceSum', [g.op('Mul', [o, w])], { keepdims: false });
    });
  const loss = terms.reduce((a, b) => g.op('Add', [a, b]));
  const diff = xs.filter((x) => isFloat(x.dtype));
  const grads = gradients(g, loss, diff);
  g.output('loss', loss);
  grads.forEach((d, i) => {
    if (!d) throw new Error(`${op}: no gradient for input ${i}`);
    g.output(`d${i}`, d);
  });
  const model = encodeModel(g);
  const open = () => EngineSession.create(model, { graphOptimization: 'disabled', intraOpThreads: 1 });
  let session = await open();
  const analytic = await session.run(feeds);
  const evalLoss = async (f: Record<string, Tensor>) => {
    if (random) {
      await session.release();
      session = await open();
    }
    return Number((await session.run(f, ['loss'])).loss.data[0]);
  };
  const eps = dtype === 'float64' ? 1e-6 : 1e-2;
  const atol = c.atol ?? (dtype === 'float64' ? 1e-6 : 2e-2);
  const rtol = c.rtol ?? (dtype === 'float64' ? 1e-5 : 2e-2);
  const report: GradReport = { checked: 0, maxAbsErr: 0, failures: [] };
  for (const [k, x] of diff.entries()) {
    const name = x.leaf?.kind === 'input' ? x.leaf.name : '';
    const base = feeds[name].data as Float64Array | Float32Array;
    const ana = analytic[`d${k}`].data as Float64Array | Float32Array;
    for (let j = 0; j < base.length; j++) {
      const orig = base[j];
      base[j] = orig + eps;
      const up = await evalLoss(feeds);
      base[j] = orig - eps;
      const down = await evalLoss(feeds);
      base[j] = orig;
      const num = (up - down) / (2 * eps);
      const err = Math.abs(num - ana[j]);
      report.checked++;
      report.maxAbsErr = Math.max(report.maxAbsErr, err);
      if (err > atol + rtol * Math.abs(num))
        report.failures.push(`${name}[${j}]: numeric ${num} vs analytic ${ana[j]}`);
    }
  }
  await session.release();
  return report;
}
