/** MatMul (batched, broadcasting batch dims) and Gemm (2-D, optional transposes and bias). */
import type { OpSpec, Value } from '../ir/types';
import { broadcastShapes, check, emitSame, onnx, sameDType, swapLast, unbroadcast } from './util';

function gemmAttrs(a: Record<string, unknown>) {
  return {
    transA: Number(Boolean(a.transA)),
    transB: Number(Boolean(a.transB)),
    alpha: typeof a.alpha === 'number' ? a.alpha : 1,
    beta: typeof a.beta === 'number' ? a.beta : 1,
  };
}

/**
 * dB for B shared across a batch (x [.., M, K] · W [K, N], e.g. a linear layer over [B, T, D]):
 * one GEMM over all rows, [K, B·M] × [B·M, N], instead of B small products summed by a
 * ReduceSum over the leading axis (slow in ORT, docs/engine.md). Needs static shapes (train graphs).
 */
function weightGrad(a: Value, b: Value, dy: Value): Value {
  const g = a.graph;
  const staticRows =
    a.shape.every((d) => typeof d === 'number') && dy.shape.every((d) => typeof d === 'number');
  if (b.shape.length === 2 && a.shape.length > 2 && staticRows) {
    const k = Number(a.shape[a.shape.length - 1]);
    const n = Number(b.shape[1]);
    const rows = g.op('Reshape', [a], { shape: [-1, k] });
    return g.op('Gemm', [rows, g.op('Reshape', [dy], { shape: [-1, n] })], { transA: 1 });
  }
  return unbroadcast(g.op('MatMul', [swapLast(a), dy]), b.shape);
}

const matmul: OpSpec = {
  name: 'MatMul',
  infer(inputs) {
    const [a, b] = inputs;
    check(a.shape.length >= 2 && b.shape.length >= 2, 'MatMul: inputs need rank ≥ 2');
    const k1 = a.shape[a.shape.length - 1];
    const k2 = b.shape[b.shape.length - 2];
    check(
      k1 === k2 || typeof k1 === 'string' || typeof k2 === 'string',
      `MatMul: [${a.shape}] × [${b.shape}]`,
    );
    const batch = broadcastShapes('MatMul', a.shape.slice(0, -2), b.shape.slice(0, -2));
    return [
      {
        dtype: sameDType('MatMul', inputs),
        shape: [...batch, a.shape[a.shape.length - 2], b.shape[b.shape.length - 1]],
      },
    ];
  },
  emit: emitSame('MatMul'),
  grad(c) {
    const g = c.g;
    const [a, b] = c.inputs;
    const dy = c.dOutputs[0]!;
    // dA = dY·Bᵀ, dB = Aᵀ·dY, each summed over broadcast batch axes.
    const da = c.needs[0] ? unbroadcast(g.op('MatMul', [dy, swapLast(b)]), a.shape) : null;
    const db = c.needs[1] ? weightGrad(a, b, dy) : null;
    return [da, db];
  },
};

const gemm: OpSpec = {
  name: 'Gemm',
  infer(inputs, attrs) {
    const { transA, transB } = gemmAttrs(attrs);
    const [a, b] = inputs;
    check(a.shape.length === 2 && b.shape.length === 2, 'Gemm: inputs must be 2-D');
    const m = transA ? a.shape[1] : a.shape[0];
    const n = transB ? b.shape[0] : b.shape[1];
    const ka = transA ? a.shape[0] : a.shape[1];
    const kb = transB ? b.shape[1] : b.shape[0];
    check(ka === kb, `Gemm: inner dims ${ka} and ${kb} differ`);
    if (inputs[2]) broadcastShapes('Gemm', [m, n], inputs[2].shape);
    return [{ dtype: sameDType('Gemm', inputs), shape: [m, n] }];
  },
  emit: emitSame('Gemm', (a) => {
    const { transA, transB, alpha, beta } = gemmAttrs(a);
    return {
      transA: onnx.int(transA),
      transB: onnx.int(transB),
      alpha: onnx.float(alpha),
      beta: onnx.float(beta),
    };
  }),
  grad(c) {
    const g = c.g;
    const [a, b, bias] = c.inputs;
    const dy = c.dOutputs[0]!;
    const { transA, transB, alpha, beta } = gemmAttrs(c.attrs);
    const gm = (x: Value, y: Value, tA: number, tB: number) =>
      g.op('Gemm', [x, y], { transA: tA, transB: tB, alpha });
    // With A' = op(A), B' = op(B): dA' = α·dY·B'ᵀ, dB' = α·A'ᵀ·dY; transposed storage flips the product.
    const da = !c.needs[0] ? null : transA ? gm(b, dy, transB, 1) : gm(dy, b, 0, transB ? 0 : 1);
    const db = !c.needs[1] ? null : transB ? gm(dy, a, 1, transA) : gm(a, dy, transA ? 0 : 1, 0);
    let dc: Value | null = null;
    if (bias && c.needs[2]) {
      dc = unbroadcast(dy, bias.shape);
      if (beta !== 1) dc = g.op('Mul', [dc, g.scalar(beta, dy.dtype)]);
    }
    return [da, db, dc];
  },
};

export const matmulOps: OpSpec[] = [matmul, gemm];
