/**
 * Fused classification loss: mean softmax cross-entropy of [N, C] logits against [N] class ids,
 * one IR node whose gradient is written directly, (softmax − one-hot)·dloss/N. Built from parts
 * (LogSoftmax, Unsqueeze, GatherElements, Squeeze, Neg, ReduceMean and the five nodes autodiff
 * derived from them), the [64, 10] loss of the MLP train step was 11 small ORT nodes, each costing
 * more in ORT's per-node work than in arithmetic; fused it is 7 (8 under a scaled seed). ONNX's
 * SoftmaxCrossEntropyLoss is no help: ORT has no CPU kernel for it and inlines its function body.
 *
 * Emitted as 4 ONNX nodes: logp = LogSoftmax(x); w = OneHot(y) with values [0, −1/N];
 * loss = ReduceSum(logp ⊙ w). Gradient: dx = (softmax/N + w)·dloss (3 nodes when dloss is the
 * constant 1, 4 otherwise), since each row of w sums to −1/N.
 *
 * Class ids must be in [0, C): OneHot makes a row of zeros for any other id, so such a row adds
 * nothing to the loss (where GatherElements failed the run). Train graphs get their ids from a
 * dataset's own classes, and the eval graphs (unfused) still fail on such an id at validation.
 */

import type { EmitContext, OpSpec, Value } from '../ir/types';
import { onnxDataType } from '../onnx/dtypes';
import { type TensorDType, tensorFrom } from '../runtime/tensor';
import { check, int64s, numAttr, onnx, staticDim } from './util';

function isConstantOne(v: Value): boolean {
  return v.leaf?.kind === 'const' && v.leaf.tensor.data.length === 1 && Number(v.leaf.tensor.data[0]) === 1;
}

export const lossOps: OpSpec[] = [
  {
    // Outputs: the mean loss (scalar), the log-probabilities [N, C], and w = −one-hot/N [N, C].
    name: 'SoftmaxCrossEntropy',
    infer([logits, labels]) {
      check(logits.shape.length === 2, 'SoftmaxCrossEntropy: logits must be [N, C]');
      check(labels.dtype === 'int64', 'SoftmaxCrossEntropy: labels must be int64');
      check(
        labels.shape.length === 1 && labels.shape[0] === logits.shape[0],
        'SoftmaxCrossEntropy: labels must be [N] for [N, C] logits',
      );
      staticDim(logits.shape[0]);
      const row = { dtype: logits.dtype, shape: logits.shape };
      return [{ dtype: logits.dtype, shape: [] }, row, { ...row }];
    },
    emit(ctx, [x, y], [loss, logpName, wName], _a, n) {
      const logits = n.inputs[0];
      const logp = logpName || ctx.fresh('logp');
      const w = wName || ctx.fresh('ce_weight');
      const rows = staticDim(logits.shape[0]);
      ctx.node('LogSoftmax', [x], [logp], { axis: onnx.int(-1) });
      emitOneHot(ctx, y, w, staticDim(logits.shape[1]), -1 / rows, logits.dtype);
      const picked = ctx.fresh('ce_picked');
      ctx.node('Mul', [logp, w], [picked]);
      ctx.node('ReduceSum', [picked], [loss], { keepdims: onnx.int(0) });
    },
    grad(c) {
      const g = c.g;
      const [logits] = c.inputs;
      const [, logp, w] = c.outputs;
      const [dLoss, dLogp] = c.dOutputs;
      const t = logits.dtype;
      const softmax = g.op('Exp', [logp]);
      const parts: Value[] = [];
      if (dLoss) {
        const rows = staticDim(logits.shape[0]);
        const unit = g.op('Add', [g.op('Mul', [softmax, g.scalar(1 / rows, t)]), w]);
        parts.push(isConstantOne(dLoss) ? unit : g.op('Mul', [unit, dLoss]));
      }
      if (dLogp) {
        // LogSoftmax's own rule, for a caller that also reads the log-probabilities.
        const s = g.op('ReduceSum', [dLogp], { axes: [-1], keepdims: true });
        parts.push(g.op('Sub', [dLogp, g.op('Mul', [softmax, s])]));
      }
      // w depends on the labels only: its incoming gradient (if any) goes nowhere.
      return [parts.length ? parts.reduce((a, b) => g.op('Add', [a, b])) : null, null];
    },
  },
  {
    // [..] int64 ids → [.., depth] of 0/1 in `dtype` (float32 or float64); ids outside are all 0.
    name: 'OneHot',
    infer([ids], a) {
      check(ids.dtype === 'int64', 'OneHot: ids must be int64');
      const dtype = a.dtype;
      check(dtype === 'float32' || dtype === 'float64', 'OneHot: dtype must be float32 or float64');
      return [{ dtype, shape: [...ids.shape, numAttr(a, 'depth')] }];
    },
    emit(ctx, [ids], [y], a) {
      emitOneHot(ctx, ids, y, numAttr(a, 'depth'), 1, a.dtype as 'float32' | 'float64');
    },
  },
];

/**
 * ONNX OneHot of `ids` into `out` with values [0, on]. ORT's OneHot has no float64 output kernel:
 * float64 graphs build a float32 0/1 one-hot, Cast it and scale it in float64 (keeping `on` exact).
 */
function emitOneHot(
  ctx: EmitContext,
  ids: string,
  out: string,
  depth: number,
  on: number,
  dtype: TensorDType,
): void {
  const depthName = ctx.constant(int64s([depth]));
  if (dtype === 'float32') {
    const values = ctx.constant(tensorFrom('float32', [2], [0, on]));
    ctx.node('OneHot', [ids, depthName, values], [out], { axis: onnx.int(-1) });
    return;
  }
  const f32 = ctx.fresh('one_hot');
  ctx.node('OneHot', [ids, depthName, ctx.constant(tensorFrom('float32', [2], [0, 1]))], [f32], {
    axis: onnx.int(-1),
  });
  if (on === 1) {
    ctx.node('Cast', [f32], [out], { to: onnx.int(onnxDataType[dtype]) });
    return;
  }
  const cast = ctx.fresh('one_hot');
  ctx.node('Cast', [f32], [cast], { to: onnx.int(onnxDataType[dtype]) });
  ctx.node('Mul', [cast, ctx.constant(tensorFrom(dtype, [], [on]))], [out]);
}
