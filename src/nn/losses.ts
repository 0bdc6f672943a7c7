/** Losses and metrics built from registered ops (their gradients come from autodiff). */
import type { Value } from '../engine/index';
import { tensorFrom } from '../engine/runtime/tensor';

export interface CrossEntropyOptions {
  /** Targets equal to this id contribute nothing (e.g. padding); the mean is over the others. */
  ignoreIndex?: number;
  /** ε: the target is (1−ε)·one-hot + ε/C, as PyTorch's label_smoothing. */
  labelSmoothing?: number;
}

/**
 * Mean cross-entropy of logits [..., C] against int64 class ids [...]. The label's log-prob is
 * picked by GatherElements (no one-hot: cheap at vocabulary sizes of 50 k); with smoothing ε the
 * loss is (1−ε)·nll + ε·mean_c(−log p_c), which equals PyTorch's label_smoothing.
 */
export function crossEntropy(logits: Value, labels: Value, options: CrossEntropyOptions = {}): Value {
  const g = logits.graph;
  const t = logits.dtype;
  const plain = options.ignoreIndex === undefined && !options.labelSmoothing;
  // [N, C] against [N], N fixed (train graphs), no options: one fused node with its own gradient
  // (fewer, cheaper ORT nodes; same values). Eval graphs (symbolic N) keep the parts below.
  const fixedRows = logits.shape.length === 2 && typeof logits.shape[0] === 'number';
  if (plain && fixedRows && labels.shape.length === 1)
    return g.ops('SoftmaxCrossEntropy', [logits, labels])[0];
  const logp = g.op('LogSoftmax', [logits], { axis: -1 });
  const ignore =
    options.ignoreIndex === undefined ? null : g.constant(tensorFrom('int64', [], [options.ignoreIndex]));
  const keepMask = ignore ? g.op('Not', [g.op('Equal', [labels, ignore])]) : null;
  // Ignored positions may hold ids outside [0, C): point them at class 0 before gathering.
  const safe = keepMask ? g.op('Where', [keepMask, labels, g.scalar(0, 'int64')]) : labels;
  const picked = g.op('GatherElements', [logp, g.op('Unsqueeze', [safe], { axes: [-1] })], { axis: -1 });
  let nll = g.op('Neg', [g.op('Squeeze', [picked], { axes: [-1] })]);
  const eps = options.labelSmoothing ?? 0;
  if (eps > 0) {
    const uniform = g.op('Neg', [g.op('ReduceMean', [logp], { axes: [-1], keepdims: false })]);
    nll = g.op('Add', [g.op('Mul', [nll, g.scalar(1 - eps, t)]), g.op('Mul', [uniform, g.scalar(eps, t)])]);
  }
  if (!keepMask) return g.op('ReduceMean', [nll], { keepdims: false });
  const keep = g.op('Cast', [keepMask], { to: t });
  const total = g.op('ReduceSum', [g.op('Mul', [nll, keep])], { keepdims: false });
  const count = g.op('Clip', [g.op('ReduceSum', [keep], { keepdims: false })], { min: 1 });
  return g.op('Div', [total, count]);
}

/** Mean squared error. */
export function mse(pred: Value, target: Value): Value {
  const g = pred.graph;
  const d = g.op('Sub', [pred, target]);
  return g.op('ReduceMean', [g.op('Mul', [d, d])], { keepdims: false });
}

/** Binary cross-entropy on logits (stable: max(x,0) − x·t + log(1 + e^−|x|)), mean over elements. */
export function bceWithLogits(logits: Value, target: Value): Value {
  const g = logits.graph;
  const t = logits.dtype;
  const softplus = g.op('Log', [
    g.op('Add', [g.scalar(1, t), g.op('Exp', [g.op('Neg', [g.op('Abs', [logits])])])]),
  ]);
  const l = g.op('Add', [g.op('Sub', [g.op('Relu', [logits]), g.op('Mul', [logits, target])]), softplus]);
  return g.op('ReduceMean', [l], { keepdims: false });
}

/** Binary cross-entropy on probabilities (clipped to [1e-7, 1 − 1e-7]), mean over elements. */
export function bce(prob: Value, target: Value): Value {
  const g = prob.graph;
  const t = prob.dtype;
  const p = g.op('Clip', [prob], { min: 1e-7, max: 1 - 1e-7 });
  const one = g.scalar(1, t);
  const pos = g.op('Mul', [target, g.op('Log', [p])]);
  const neg = g.op('Mul', [g.op('Sub', [one, target]), g.op('Log', [g.op('Sub', [one, p])])]);
  return g.op('Neg', [g.op('ReduceMean', [g.op('Add', [pos, neg])], { keepdims: false })]);
}

/** Fraction of rows whose arg-max over the last axis equals the int64 label. */
export function accuracy(logits: Value, labels: Value): Value {
  const g = logits.graph;
  const hit = g.op('Equal', [g.op('ArgMax', [logits], { axis: -1, keepdims: false }), labels]);
  return g.op('ReduceMean', [g.op('Cast', [hit], { to: logits.dtype })], { keepdims: false });
}
