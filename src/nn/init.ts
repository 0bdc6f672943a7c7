/** Seeded parameter initialisers (PyTorch's conventions for fan-in/fan-out). */
import type { Parameter } from '../engine/index';
import { elementCount } from '../engine/runtime/tensor';
import type { Rng } from './rng';

export type Init = (rng: Rng, dims: readonly number[], fanIn: number, fanOut: number) => Float32Array;

function fill(dims: readonly number[], draw: () => number): Float32Array {
  return Float32Array.from({ length: elementCount(dims) }, draw);
}

/** Glorot/Xavier uniform: U(±√(6/(fanIn+fanOut))). */
export const xavierUniform: Init = (rng, dims, fanIn, fanOut) => {
  const a = Math.sqrt(6 / (fanIn + fanOut));
  return fill(dims, () => rng.uniform(-a, a));
};

/** Xavier normal: N(0, 2/(fanIn+fanOut)). */
export const xavierNormal: Init = (rng, dims, fanIn, fanOut) => {
  const s = Math.sqrt(2 / (fanIn + fanOut));
  return fill(dims, () => s * rng.normal());
};

/** He/Kaiming uniform for ReLU: U(±√(6/fanIn)). */
export const kaimingUniform: Init = (rng, dims, fanIn) => {
  const a = Math.sqrt(6 / fanIn);
  return fill(dims, () => rng.uniform(-a, a));
};

/** Kaiming normal for ReLU: N(0, 2/fanIn). @public (part of nn's initialiser set) */
export const kaimingNormal: Init = (rng, dims, fanIn) => {
  const s = Math.sqrt(2 / fanIn);
  return fill(dims, () => s * rng.normal());
};

/** PyTorch's nn.Linear default: U(±1/√fanIn) (for weights and biases). */
export const lecunUniform: Init = (rng, dims, fanIn) => {
  const a = 1 / Math.sqrt(fanIn);
  return fill(dims, () => rng.uniform(-a, a));
};

export const normal =
  (std: number): Init =>
  (rng, dims) =>
    fill(dims, () => std * rng.normal());

export const constant =
  (v: number): Init =>
  (_rng, dims) =>
    fill(dims, () => v);

export function parameter(name: string, dims: readonly number[], data: Float32Array): Parameter {
  return { name, value: { dtype: 'float32', dims: [...dims], data } };
}
