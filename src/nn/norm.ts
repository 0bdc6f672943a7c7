/** Batch normalisation with running statistics kept as buffers (updated inside the train step). */
import type { Parameter, Value } from '../engine/ir/types';
import { parameter } from './init';
import { type Layer, layer } from './layers';

export interface BatchNormOptions {
  /** Running-statistics update rate, as PyTorch: r ← (1 − m)·r + m·batch. */
  momentum?: number;
  eps?: number;
}

/** Over [N, C] or [N, C, H, W]: normalises each channel by batch statistics (training) or running ones. */
export function batchNorm(channels: number, options: BatchNormOptions = {}): Layer {
  const m = options.momentum ?? 0.1;
  const eps = options.eps ?? 1e-5;
  const gamma = parameter('weight', [channels], new Float32Array(channels).fill(1));
  const beta = parameter('bias', [channels], new Float32Array(channels));
  const runningMean = parameter('running_mean', [channels], new Float32Array(channels));
  const runningVar = parameter('running_var', [channels], new Float32Array(channels).fill(1));
  const forward = (x: Value): Value => {
    const g = x.graph;
    const t = x.dtype;
    const rank = x.shape.length;
    const axes = rank === 4 ? [0, 2, 3] : [0];
    const perChannel = rank === 4 ? [1, channels, 1, 1] : [1, channels];
    const shaped = (v: Value) => g.op('Reshape', [v], { shape: perChannel });
    let mean: Value;
    let variance: Value;
    if (g.training) {
      mean = g.op('ReduceMean', [x], { axes, keepdims: true });
      const xc = g.op('Sub', [x, mean]);
      variance = g.op('ReduceMean', [g.op('Mul', [xc, xc])], { axes, keepdims: true });
      const count = axes.reduce((n, a) => n * Number(x.shape[a]), 1);
      const blend = (r: Parameter, batch: Value) =>
        g.op('Add', [
          g.op('Mul', [g.param(r), g.scalar(1 - m, t)]),
          g.op('Mul', [g.op('Reshape', [batch], { shape: [channels] }), g.scalar(m, t)]),
        ]);
      g.assign(runningMean, blend(runningMean, mean));
      // The running variance is unbiased (n / (n − 1)), as PyTorch's.
      g.assign(
        runningVar,
        blend(runningVar, g.op('Mul', [variance, g.scalar(count / Math.max(1, count - 1), t)])),
      );
    } else {
      mean = shaped(g.param(runningMean));
      variance = shaped(g.param(runningVar));
    }
    const inv = g.op('Div', [g.scalar(1, t), g.op('Sqrt', [g.op('Add', [variance, g.scalar(eps, t)])])]);
    const normed = g.op('Mul', [g.op('Sub', [x, mean]), inv]);
    return g.op('Add', [g.op('Mul', [normed, shaped(g.param(gamma))]), shaped(g.param(beta))]);
  };
  return layer(forward, [gamma, beta], [runningMean, runningVar]);
}

/**
 * RMS normalisation over the last axis (Llama's RMSNorm): x / √(mean(x²) + eps) · weight, no
 * centring and no bias.
 */
export function rmsNorm(dim: number, eps = 1e-6): Layer {
  const weight = parameter('weight', [dim], new Float32Array(dim).fill(1));
  return layer(
    (x) => {
      const g = x.graph;
      const meanSquare = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: true });
      const rms = g.op('Sqrt', [g.op('Add', [meanSquare, g.scalar(eps, x.dtype)])]);
      return g.op('Mul', [g.op('Div', [x, rms]), g.param(weight)]);
    },
    [weight],
  );
}
