/**
 * Optimizers as graph passes over the flat parameter vector: the update runs inside the
 * train-step graph, so one ORT run does forward, backward and update. Formulas follow PyTorch.
 */
import type { Optimizer, OptimizerContext, OptimizerUpdate, Value } from '../engine/index';
import { fusedSgdStep } from './sgd-fusion';

export interface ClipOptions {
  /** Scale gradients so their global L2 norm is at most this (reported as metric `grad_norm`). */
  clipGradNorm?: number;
}

/** Global-norm clipping: g·min(1, max/‖g‖). Returns the clipped gradient and the norm before. */
function clipped(
  ctx: OptimizerContext,
  maxNorm: number | undefined,
): { grad: Value; metrics: Record<string, Value> } {
  if (maxNorm === undefined) return { grad: ctx.grad, metrics: {} };
  const { g, grad } = ctx;
  const t = grad.dtype;
  const norm = g.op('Sqrt', [g.op('ReduceSum', [g.op('Mul', [grad, grad])], { keepdims: false })]);
  const scale = g.op('Clip', [g.op('Div', [g.scalar(maxNorm, t), g.op('Add', [norm, g.scalar(1e-6, t)])])], {
    max: 1,
  });
  return { grad: g.op('Mul', [grad, scale]), metrics: { grad_norm: norm } };
}

export interface SgdOptions extends ClipOptions {
  momentum?: number;
  nesterov?: boolean;
  /** L2 penalty added to the gradient. */
  weightDecay?: number;
}

export function sgd(options: SgdOptions = {}): Optimizer {
  const mu = options.momentum ?? 0;
  const wd = options.weightDecay ?? 0;
  if (mu === 0 && !wd && options.clipGradNorm === undefined) return plainSgd();
  return {
    name: 'sgd',
    stateNames: mu > 0 ? ['momentum'] : [],
    elementwise: options.clipGradNorm === undefined,
    update(ctx): OptimizerUpdate {
      const { g, params, lr } = ctx;
      const t = params.dtype;
      let { grad, metrics } = clipped(ctx, options.clipGradNorm);
      if (wd) grad = g.op('Add', [grad, g.op('Mul', [params, g.scalar(wd, t)])]);
      const state: Record<string, Value> = {};
      let direction = grad;
      if (mu > 0) {
        // PyTorch: buf = μ·buf + g (buf = g at the first step, which μ·0 + g gives).
        const buf = g.op('Add', [g.op('Mul', [ctx.state.momentum, g.scalar(mu, t)]), grad]);
        state.momentum = buf;
        direction = options.nesterov ? g.op('Add', [grad, g.op('Mul', [buf, g.scalar(mu, t)])]) : buf;
      }
      return { params: g.op('Sub', [params, g.op('Mul', [direction, lr])]), state, metrics };
    },
  };
}

/**
 * p ← p − lr·g with the backward seeded by lr (`gradientScale`): each gradient arrives as lr·g, so
 * the update is p − grad, folded into the gradient's own GEMM (α = −1) where its producer allows it.
 * The seed is the `lr` input itself: no node computes it.
 */
function plainSgd(): Optimizer {
  return {
    name: 'sgd',
    stateNames: [],
    elementwise: true,
    gradientScale: (_g, lr) => lr,
    update({ g, params, grad }): OptimizerUpdate {
      const fused = fusedSgdStep(g, params, grad);
      return { params: fused ?? g.op('Sub', [params, grad]), state: {} };
    },
  };
}

export interface AdamOptions extends ClipOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Adam: L2 added to the gradient. AdamW: decoupled decay p ← p − lr·wd·p. */
  weightDecay?: number;
}

function adamLike(name: 'adam' | 'adamw', options: AdamOptions): Optimizer {
  const b1 = options.beta1 ?? 0.9;
  const b2 = options.beta2 ?? 0.999;
  const eps = options.eps ?? 1e-8;
  const wd = options.weightDecay ?? (name === 'adamw' ? 0.01 : 0);
  return {
    name,
    stateNames: ['m', 'v'],
    elementwise: options.clipGradNorm === undefined,
    update(ctx): OptimizerUpdate {
      const { g, lr, step } = ctx;
      const t = ctx.params.dtype;
      const s = (v: number) => g.scalar(v, t);
      let { grad, metrics } = clipped(ctx, options.clipGradNorm);
      let params = ctx.params;
      if (wd && name === 'adam') grad = g.op('Add', [grad, g.op('Mul', [params, s(wd)])]);
      if (wd && name === 'adamw')
        params = g.op('Mul', [params, g.op('Sub', [s(1), g.op('Mul', [lr, s(wd)])])]);
      const m = g.op('Add', [g.op('Mul', [ctx.state.m, s(b1)]), g.op('Mul', [grad, s(1 - b1)])]);
      const v = g.op('Add', [
        g.op('Mul', [ctx.state.v, s(b2)]),
        g.op('Mul', [g.op('Mul', [grad, grad]), s(1 - b2)]),
      ]);
      // PyTorch: p −= (lr / bc1) · m / (√v / √bc2 + ε), bc_i = 1 − β_i^step (scalars, computed in-graph).
      const bc1 = g.op('Sub', [s(1), g.op('Pow', [s(b1), step])]);
      const bc2 = g.op('Sub', [s(1), g.op('Pow', [s(b2), step])]);
      const denom = g.op('Add', [g.op('Div', [g.op('Sqrt', [v]), g.op('Sqrt', [bc2])]), s(eps)]);
      const stepSize = g.op('Div', [lr, bc1]);
      const newParams = g.op('Sub', [params, g.op('Mul', [g.op('Div', [m, denom]), stepSize])]);
      return { params: newParams, state: { m, v }, metrics };
    },
  };
}

export const adam = (options: AdamOptions = {}): Optimizer => adamLike('adam', options);
export const adamW = (options: AdamOptions = {}): Optimizer => adamLike('adamw', options);
