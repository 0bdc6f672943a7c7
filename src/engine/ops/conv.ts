/**
 * 2-D vision ops (NCHW): Conv, ConvTranspose, MaxPool (with Indices), AveragePool. Gradients use
 * the formulations measured fastest (docs/engine.md): dX by a flipped-kernel Conv (stride 1) or
 * ConvTranspose (stride > 1); dW at stride > 1 by im2col (a Conv with a one-hot kernel bank) +
 * batched MatMul, at stride 1 by that or by one Conv of the batch/channel-swapped tensors, as the
 * graph's `convWeightGradForm` chooses (which is faster depends on the CPU and the shape);
 * max-pool backward by MaxUnpool at the forward's Indices (ScatterND-add where windows overlap).
 * ORT has float32 kernels only for Conv, ConvTranspose and MaxUnpool.
 */

import type { Attrs, Dim, OpSpec, Value, ValueInfo } from '../ir/types';
import { tensorFrom } from '../runtime/tensor';
import { check, intsAttr, numAttr, onnx, product, staticDim } from './util';

export interface Window {
  kernel: [number, number];
  strides: [number, number];
  /** [top, left, bottom, right] as ONNX. */
  pads: [number, number, number, number];
}

export function windowOf(attrs: Attrs, kernel?: readonly number[]): Window {
  const k = kernel ?? intsAttr(attrs, 'kernel_shape');
  const s = intsAttr(attrs, 'strides', [1, 1]);
  const p = intsAttr(attrs, 'pads', [0, 0, 0, 0]);
  check(k.length === 2 && s.length === 2 && p.length === 4, 'only 2-D windows are supported');
  check(numAttr(attrs, 'group', 1) === 1, 'grouped convolutions are not supported yet');
  check(
    intsAttr(attrs, 'dilations', [1, 1]).every((d) => d === 1),
    'dilated convolutions are not supported yet',
  );
  return { kernel: [k[0], k[1]], strides: [s[0], s[1]], pads: [p[0], p[1], p[2], p[3]] };
}

const outDim = (d: Dim, k: number, s: number, lo: number, hi: number): Dim =>
  typeof d === 'number' ? Math.floor((d + lo + hi - k) / s) + 1 : d;

function spatialOut(x: ValueInfo, w: Window): [Dim, Dim] {
  const [h, wd] = [x.shape[2], x.shape[3]];
  const oh = outDim(h, w.kernel[0], w.strides[0], w.pads[0], w.pads[2]);
  const ow = outDim(wd, w.kernel[1], w.strides[1], w.pads[1], w.pads[3]);
  check(typeof oh === 'string' || (oh > 0 && (ow as number) > 0), `window does not fit input [${x.shape}]`);
  return [oh, ow];
}

const windowAttrs = (w: Window) => ({
  kernel_shape: onnx.ints(w.kernel),
  strides: onnx.ints(w.strides),
  pads: onnx.ints(w.pads),
});
const irWindow = (w: Window) => ({ kernel_shape: w.kernel, strides: w.strides, pads: w.pads });

/** A constant [k·k, 1, kh, kw] bank of one-hot kernels: Conv with it extracts image patches. */
function patchBank(x: Value, w: Window): Value {
  const [kh, kw] = w.kernel;
  const data = new Float32Array(kh * kw * kh * kw);
  for (let i = 0; i < kh * kw; i++) data[i * kh * kw + i] = 1;
  return x.graph.constant(tensorFrom('float32', [kh * kw, 1, kh, kw], data));
}

/**
 * dW of Y = conv(X, W): im2col(X) [N, C·k², L] against dY [N, M, L], summed over N, or at stride 1
 * the swapped Conv where the graph chooses it. Also serves ConvTranspose (with X and dY swapped),
 * as convT is conv's adjoint.
 */
export function convWeightGrad(x: Value, dy: Value, w: Window, weightShape: readonly number[]): Value {
  if (w.strides[0] === 1 && w.strides[1] === 1) {
    // A symbolic dim (a graph built for any batch) keeps the swapped form: im2col needs them all.
    const symbolic = [...x.shape, ...dy.shape].some((d) => typeof d !== 'number');
    if (symbolic) return convWeightGradStride1(x, dy, w);
    const form = x.graph.convWeightGradForm({
      x: x.shape.map(staticDim),
      dy: dy.shape.map(staticDim),
      kernel: w.kernel,
      pads: w.pads,
      weight: weightShape,
    });
    if (form === 'swapped') return convWeightGradStride1(x, dy, w);
  }
  const g = x.graph;
  const [n, c, h, wd] = x.shape.map(staticDim);
  const m = staticDim(dy.shape[1]);
  const flat = g.op('Reshape', [x], { shape: [n * c, 1, h, wd] });
  const cols = g.op('Conv', [flat, patchBank(x, w)], irWindow(w));
  const l = product(cols.shape.slice(2).map(staticDim));
  const k2 = w.kernel[0] * w.kernel[1];
  const colsT = g.op('Transpose', [g.op('Reshape', [cols], { shape: [n, c * k2, l] })], { perm: [0, 2, 1] });
  const perSample = g.op('MatMul', [g.op('Reshape', [dy], { shape: [n, m, l] }), colsT]);
  const summed = n === 1 ? perSample : g.op('ReduceSum', [perSample], { axes: [0], keepdims: false });
  return g.op('Reshape', [summed], { shape: weightShape });
}

/**
 * dW for stride 1: dW[m, c] = Σ_n corr(X[n, c], dY[n, m]), i.e. one Conv of X with the batch and
 * channel axes swapped ([C, N, H, W]) by dY as the kernel bank ([M, N, Ho, Wo]), same pads; its
 * [C, M, kh, kw] output transposed. ORT's im2col then feeds one GEMM with K = N·Ho·Wo per input
 * channel, instead of materialising k² copies of X by a one-hot Conv, a batched MatMul and a
 * ReduceSum over N: measured 7.3 → 5.0 ms CPU for the service cnn's 5×5 conv 16 → 32 on 14×14,
 * batch 32, on an AMD EPYC (bench/train/step-profile.ts); but the bench CNN's 3×3 convolutions
 * stepped 1.4× faster with im2col on both that EPYC and an AVX-512 Xeon, hence the per-shape
 * choice. Stride > 1 would need dilation = stride, measured slow.
 */
function convWeightGradStride1(x: Value, dy: Value, w: Window): Value {
  const g = x.graph;
  const swap = { perm: [1, 0, 2, 3] };
  const [ho, wo] = [staticDim(dy.shape[2]), staticDim(dy.shape[3])];
  const dw = g.op('Conv', [g.op('Transpose', [x], swap), g.op('Transpose', [dy], swap)], {
    kernel_shape: [ho, wo],
    pads: w.pads,
  });
  return g.op('Transpose', [dw], swap);
}

/** dX of Y = conv(X, W). */
function convInputGrad(x: Value, wt: Value, dy: Value, w: Window): Value {
  const g = x.graph;
  const [kh, kw] = w.kernel;
  const [pt, pl, pb, pr] = w.pads;
  const fits = [pt, pb].every((p) => p <= kh - 1) && [pl, pr].every((p) => p <= kw - 1);
  if (w.strides[0] === 1 && w.strides[1] === 1 && fits) {
    // Full correlation with the flipped kernel, in/out channels swapped.
    const flipped = g.op('Slice', [wt], {
      starts: [-1, -1],
      ends: [-(kh + 1), -(kw + 1)],
      axes: [2, 3],
      steps: [-1, -1],
    });
    const swapped = g.op('Transpose', [flipped], { perm: [1, 0, 2, 3] });
    return g.op('Conv', [dy, swapped], {
      kernel_shape: w.kernel,
      pads: [kh - 1 - pt, kw - 1 - pl, kh - 1 - pb, kw - 1 - pr],
    });
  }
  const [h, wd] = [staticDim(x.shape[2]), staticDim(x.shape[3])];
  const [ho, wo] = [staticDim(dy.shape[2]), staticDim(dy.shape[3])];
  const outputPadding = [
    h - (w.strides[0] * (ho - 1) + kh - pt - pb),
    wd - (w.strides[1] * (wo - 1) + kw - pl - pr),
  ];
  return g.op('ConvTranspose', [dy, wt], { ...irWindow(w), output_padding: outputPadding });
}

function convTransposeOut(x: ValueInfo, w: Window, outputPadding: readonly number[]): [Dim, Dim] {
  const d = (v: Dim, i: 0 | 1) =>
    typeof v === 'number'
      ? w.strides[i] * (v - 1) + outputPadding[i] + w.kernel[i] - w.pads[i] - w.pads[i + 2]
      : v;
  return [d(x.shape[2], 0), d(x.shape[3], 1)];
}

const biasGrad = (dy: Value) => dy.graph.op('ReduceSum', [dy], { axes: [0, 2, 3], keepdims: false });

export const convOps: OpSpec[] = [
  {
    name: 'Conv',
    infer([x, wt, b], a) {
      check(x.shape.length === 4 && wt.shape.length === 4, 'Conv: NCHW input and [M, C, kh, kw] weight');
      check(
        x.shape[1] === wt.shape[1],
        `Conv: input has ${x.shape[1]} channels, weight expects ${wt.shape[1]}`,
      );
      if (b) check(b.shape.length === 1 && b.shape[0] === wt.shape[0], 'Conv: bias must be [M]');
      const w = windowOf(a, wt.shape.slice(2).map(staticDim));
      return [{ dtype: x.dtype, shape: [x.shape[0], wt.shape[0], ...spatialOut(x, w)] }];
    },
    emit(ctx, inputs, outputs, a, n) {
      ctx.node('Conv', inputs, outputs, windowAttrs(windowOf(a, n.inputs[1].shape.slice(2).map(staticDim))));
    },
    grad(c) {
      const [x, wt, b] = c.inputs;
      const dy = c.dOutputs[0]!;
      const w = windowOf(c.attrs, wt.shape.slice(2).map(staticDim));
      return [
        c.needs[0] ? convInputGrad(x, wt, dy, w) : null,
        c.needs[1] ? convWeightGrad(x, dy, w, wt.shape.map(staticDim)) : null,
        b && c.needs[2] ? biasGrad(dy) : null,
      ];
    },
  },
  {
    name: 'ConvTranspose',
    infer([x, wt, b], a) {
      check(
        x.shape.length === 4 && wt.shape.length === 4,
        'ConvTranspose: NCHW input and [C, M, kh, kw] weight',
      );
      check(x.shape[1] === wt.shape[0], 'ConvTranspose: channel mismatch');
      if (b) check(b.shape.length === 1 && b.shape[0] === wt.shape[1], 'ConvTranspose: bias must be [M]');
      const w = windowOf(a, wt.shape.slice(2).map(staticDim));
      const op = intsAttr(a, 'output_padding', [0, 0]);
      return [{ dtype: x.dtype, shape: [x.shape[0], wt.shape[1], ...convTransposeOut(x, w, op)] }];
    },
    emit(ctx, inputs, outputs, a, n) {
      const w = windowOf(a, n.inputs[1].shape.slice(2).map(staticDim));
      const op = intsAttr(a, 'output_padding', [0, 0]);
      ctx.node('ConvTranspose', inputs, outputs, { ...windowAttrs(w), output_padding: onnx.ints(op) });
    },
    grad(c) {
      const g = c.g;
      const [x, wt, b] = c.inputs;
      const dy = c.dOutputs[0]!;
      const w = windowOf(c.attrs, wt.shape.slice(2).map(staticDim));
      return [
        c.needs[0] ? g.op('Conv', [dy, wt], irWindow(w)) : null,
        c.needs[1] ? convWeightGrad(dy, x, w, wt.shape.map(staticDim)) : null,
        b && c.needs[2] ? biasGrad(dy) : null,
      ];
    },
  },
  {
    // Outputs: pooled values and (for the backward) flat Indices into X; unused Indices are not emitted.
    name: 'MaxPool',
    infer([x], a) {
      check(x.shape.length === 4, 'MaxPool: NCHW input');
      const shape = [x.shape[0], x.shape[1], ...spatialOut(x, windowOf(a))];
      return [
        { dtype: x.dtype, shape },
        { dtype: 'int64', shape },
      ];
    },
    emit: (ctx, inputs, outputs, a) => ctx.node('MaxPool', inputs, outputs, windowAttrs(windowOf(a))),
    grad(c) {
      const g = c.g;
      const x = c.inputs[0];
      const dy = c.dOutputs[0]!;
      const w = windowOf(c.attrs);
      const overlapping = w.strides[0] < w.kernel[0] || w.strides[1] < w.kernel[1];
      if (!overlapping && x.dtype === 'float32') {
        return [
          g.op('MaxUnpool', [dy, c.outputs[1]], { ...irWindow(w), output_shape: x.shape.map(staticDim) }),
        ];
      }
      // Overlapping windows can pick one element twice (MaxUnpool would overwrite): accumulate instead.
      const total = product(x.shape.map(staticDim));
      const idx = g.op('Reshape', [c.outputs[1]], { shape: [-1, 1] });
      const flat = g.op('ScatterNDAdd', [g.op('Reshape', [dy], { shape: [-1] }), idx], { shape: [total] });
      return [g.op('Reshape', [flat], { shape: x.shape.map(staticDim) })];
    },
  },
  {
    // Backward helper of MaxPool: scatter values to the positions in Indices (float32 only in ORT).
    name: 'MaxUnpool',
    infer: ([x], a) => [{ dtype: x.dtype, shape: intsAttr(a, 'output_shape') }],
    emit(ctx, inputs, outputs, a) {
      const shape = ctx.constant(tensorFrom('int64', [4], intsAttr(a, 'output_shape')));
      ctx.node('MaxUnpool', [...inputs, shape], outputs, windowAttrs(windowOf(a)));
    },
    grad(c) {
      // Adjoint of scattering: gather dY at the same flat indices.
      const g = c.g;
      const dyFlat = g.op('Reshape', [c.dOutputs[0]!], { shape: [-1, 1] });
      const idx = g.op('Unsqueeze', [c.inputs[1]], { axes: [-1] });
      return [g.op('Squeeze', [g.op('GatherND', [dyFlat, idx])], { axes: [-1] }), null];
    },
  },
  {
    // count_include_pad = 1 semantics (every window divides by k·k), as the gradient assumes.
    name: 'AveragePool',
    infer([x], a) {
      check(x.shape.length === 4, 'AveragePool: NCHW input');
      return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...spatialOut(x, windowOf(a))] }];
    },
    emit: (ctx, inputs, outputs, a) =>
      ctx.node('AveragePool', inputs, outputs, {
        ...windowAttrs(windowOf(a)),
        count_include_pad: onnx.int(1),
      }),
    grad(c) {
      // Spread each dY evenly over its window: ConvTranspose per channel with a constant 1/(kh·kw) kernel.
      const g = c.g;
      const x = c.inputs[0];
      const [n, ch, h, wd] = x.shape.map(staticDim);
      const w = windowOf(c.attrs);
      const [kh, kw] = w.kernel;
      const dy = c.dOutputs[0]!;
      const flat = g.op('Reshape', [dy], { shape: [n * ch, 1, ...dy.shape.slice(2).map(staticDim)] });
      const kernel = g.constant(tensorFrom(x.dtype, [1, 1, kh, kw], new Array(kh * kw).fill(1 / (kh * kw))));
      const [ho, wo] = [staticDim(dy.shape[2]), staticDim(dy.shape[3])];
      const outputPadding = [
        h - (w.strides[0] * (ho - 1) + kh - w.pads[0] - w.pads[2]),
        wd - (w.strides[1] * (wo - 1) + kw - w.pads[1] - w.pads[3]),
      ];
      const up = g.op('ConvTranspose', [flat, kernel], { ...irWindow(w), output_padding: outputPadding });
      return [g.op('Reshape', [up], { shape: [n, ch, h, wd] })];
    },
  },
];
