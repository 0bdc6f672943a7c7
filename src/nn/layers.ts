/**
 * Layers: callables over graph values that own their parameters, written like PyTorch.
 *
 *   const rng = new Rng(1);
 *   const mlp = sequential(linear(rng, 784, 256), relu(), linear(rng, 256, 10));
 *   const logits = mlp(x);          // x: Value [N, 784] → [N, 10]
 *   mlp.params                      // [0.weight, 0.bias, 2.weight, 2.bias]
 */
import type { Parameter, Value } from '../engine/index';
import { type Init, kaimingUniform, lecunUniform, normal, parameter } from './init';
import type { Rng } from './rng';

export interface Layer {
  (x: Value): Value;
  readonly params: Parameter[];
  /** Non-trainable state updated in training graphs (running statistics); pass as `buffers`. */
  readonly buffers: Parameter[];
}

export function layer(
  forward: (x: Value) => Value,
  params: Parameter[] = [],
  buffers: Parameter[] = [],
): Layer {
  return Object.assign((x: Value) => forward(x), { params, buffers });
}

export interface LinearOptions {
  bias?: boolean;
  /** Weight initialiser (default Kaiming uniform, for ReLU networks). */
  init?: Init;
}

/** y = x·W + b with W [in, out] (row-major, no transpose needed), any leading dims. */
export function linear(
  rng: Rng,
  inFeatures: number,
  outFeatures: number,
  options: LinearOptions = {},
): Layer & {
  weight: Parameter;
  bias: Parameter | null;
} {
  const dims = [inFeatures, outFeatures];
  const weight = parameter(
    'weight',
    dims,
    (options.init ?? kaimingUniform)(rng, dims, inFeatures, outFeatures),
  );
  const bias =
    options.bias === false
      ? null
      : parameter('bias', [outFeatures], lecunUniform(rng, [outFeatures], inFeatures, outFeatures));
  const forward = (x: Value): Value => {
    const g = x.graph;
    const w = g.param(weight);
    // Gemm fuses the bias for 2-D inputs; higher ranks use a batched MatMul.
    if (x.shape.length === 2) return g.op('Gemm', bias ? [x, w, g.param(bias)] : [x, w]);
    const y = g.op('MatMul', [x, w]);
    return bias ? g.op('Add', [y, g.param(bias)]) : y;
  };
  return Object.assign(layer(forward, bias ? [weight, bias] : [weight]), { weight, bias });
}

/** Token ids (int64, any shape) → vectors [..., dim]; backward is a ScatterND add. */
export function embedding(
  rng: Rng,
  vocab: number,
  dim: number,
  init: Init = normal(1),
): Layer & { weight: Parameter } {
  const weight = parameter('weight', [vocab, dim], init(rng, [vocab, dim], vocab, dim));
  return Object.assign(
    layer((ids) => ids.graph.op('Gather', [ids.graph.param(weight), ids], { axis: 0 }), [weight]),
    {
      weight,
    },
  );
}

/** Layer normalisation over the last axis (biased variance, as PyTorch). */
export function layerNorm(dim: number, eps = 1e-5): Layer {
  const gamma = parameter('weight', [dim], new Float32Array(dim).fill(1));
  const beta = parameter('bias', [dim], new Float32Array(dim));
  return layer(
    (x) => {
      const g = x.graph;
      const axes = [-1];
      const xc = g.op('Sub', [x, g.op('ReduceMean', [x], { axes, keepdims: true })]);
      const variance = g.op('ReduceMean', [g.op('Mul', [xc, xc])], { axes, keepdims: true });
      const inv = g.op('Div', [
        g.scalar(1, x.dtype),
        g.op('Sqrt', [g.op('Add', [variance, g.scalar(eps, x.dtype)])]),
      ]);
      return g.op('Add', [g.op('Mul', [g.op('Mul', [xc, inv]), g.param(gamma)]), g.param(beta)]);
    },
    [gamma, beta],
  );
}

/** Drops with probability `p` in training graphs (seeded), identity in eval/inference graphs. */
export function dropout(rng: Rng, p: number): Layer {
  const seed = rng.seed();
  return layer((x) => (x.graph.training && p > 0 ? x.graph.op('Dropout', [x], { ratio: p, seed }) : x));
}

const activation =
  (op: string, attrs = {}) =>
  () =>
    layer((x) => x.graph.op(op, [x], attrs));
export const relu = activation('Relu');
/** @public (nn's activation set; unused inside the project) */
export const sigmoid = activation('Sigmoid');
export const tanh = activation('Tanh');
export const gelu = activation('Gelu');
/** @public */
export const leakyRelu = (alpha = 0.01) => layer((x) => x.graph.op('LeakyRelu', [x], { alpha }));
/** @public */
export const softmax = (axis = -1) => layer((x) => x.graph.op('Softmax', [x], { axis }));
/** [N, ...] → [N, prod(...)] (batch dim kept symbolic in inference graphs). */
export const flatten = () => layer((x) => x.graph.op('Reshape', [x], { shape: [0, -1] }));

/** Prefix a layer's parameter names (`fc` + `weight` → `fc.weight`); returns the same layer. */
export function named<L extends Layer>(prefix: string, l: L): L {
  for (const p of [...l.params, ...l.buffers]) p.name = `${prefix}.${p.name}`;
  return l;
}

/** Layers applied in order; parameters renamed `<index>.<name>` as in PyTorch. */
export function sequential(...layers: Layer[]): Layer {
  layers.forEach((l, i) => {
    named(String(i), l);
  });
  return layer(
    (x) => layers.reduce((h, l) => l(h), x),
    layers.flatMap((l) => l.params),
    layers.flatMap((l) => l.buffers),
  );
}
