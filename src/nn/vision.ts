/** 2-D vision layers over NCHW values: Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d. */
import { kaimingUniform, lecunUniform, parameter } from './init';
import { type Layer, layer } from './layers';
import type { Rng } from './rng';

export interface Conv2dOptions {
  stride?: number;
  /** Symmetric zero padding in pixels (`'same'` keeps H×W for stride 1 and odd kernels). */
  padding?: number | 'same';
  bias?: boolean;
}

function padOf(kernel: number, padding: Conv2dOptions['padding']): number[] {
  const p = padding === 'same' ? (kernel - 1) / 2 : (padding ?? 0);
  return [p, p, p, p];
}

/** Weight [out, in, k, k] as PyTorch (Kaiming-uniform init with fan-in in·k²). */
export function conv2d(
  rng: Rng,
  inChannels: number,
  outChannels: number,
  kernel: number,
  options: Conv2dOptions = {},
): Layer {
  const fanIn = inChannels * kernel * kernel;
  const dims = [outChannels, inChannels, kernel, kernel];
  const weight = parameter('weight', dims, kaimingUniform(rng, dims, fanIn, outChannels * kernel * kernel));
  const bias =
    options.bias === false
      ? null
      : parameter('bias', [outChannels], lecunUniform(rng, [outChannels], fanIn, 0));
  const stride = options.stride ?? 1;
  const attrs = { strides: [stride, stride], pads: padOf(kernel, options.padding) };
  return layer(
    (x) => {
      const g = x.graph;
      return g.op('Conv', bias ? [x, g.param(weight), g.param(bias)] : [x, g.param(weight)], attrs);
    },
    bias ? [weight, bias] : [weight],
  );
}

/** Weight [in, out, k, k] as PyTorch; output size s·(H−1) + k − 2p + outputPadding. */
export function convTranspose2d(
  rng: Rng,
  inChannels: number,
  outChannels: number,
  kernel: number,
  options: { stride?: number; padding?: number; outputPadding?: number; bias?: boolean } = {},
): Layer {
  const fanIn = outChannels * kernel * kernel;
  const dims = [inChannels, outChannels, kernel, kernel];
  const weight = parameter('weight', dims, kaimingUniform(rng, dims, fanIn, inChannels * kernel * kernel));
  const bias =
    options.bias === false
      ? null
      : parameter('bias', [outChannels], lecunUniform(rng, [outChannels], fanIn, 0));
  const s = options.stride ?? 1;
  const p = options.padding ?? 0;
  const op = options.outputPadding ?? 0;
  const attrs = { strides: [s, s], pads: [p, p, p, p], output_padding: [op, op] };
  return layer(
    (x) => {
      const g = x.graph;
      return g.op('ConvTranspose', bias ? [x, g.param(weight), g.param(bias)] : [x, g.param(weight)], attrs);
    },
    bias ? [weight, bias] : [weight],
  );
}

/**
 * Max pooling. Of a ReLU's output it is built as the ReLU of the pooled input: ReLU is monotonic,
 * so both give the same values and the same gradients (the same window element is the max, and a
 * window whose max is ≤ 0 passes no gradient either way), while the ReLU and its backward run on
 * the k²× smaller pooled tensor. Measured on the bench CNN (conv → ReLU → pool, twice): the step's
 * full-size ReLU backward (a Where over every conv output) was ≈ 7 % of its time.
 */
export function maxPool2d(kernel: number, stride = kernel, padding = 0): Layer {
  const attrs = {
    kernel_shape: [kernel, kernel],
    strides: [stride, stride],
    pads: [padding, padding, padding, padding],
  };
  return layer((x) => {
    const g = x.graph;
    const relu = x.producer?.op === 'Relu' ? x.producer : null;
    if (relu) return g.op('Relu', [g.op('MaxPool', [relu.inputs[0]], attrs)]);
    return g.op('MaxPool', [x], attrs);
  });
}

/** Average pooling; padded cells count in the divisor (count_include_pad = 1). */
export function avgPool2d(kernel: number, stride = kernel, padding = 0): Layer {
  const attrs = {
    kernel_shape: [kernel, kernel],
    strides: [stride, stride],
    pads: [padding, padding, padding, padding],
  };
  return layer((x) => x.graph.op('AveragePool', [x], attrs));
}
