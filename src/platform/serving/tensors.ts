/**
 * Stacking and splitting tensors along the batch dimension (dim 0), and checking request tensors
 * against a model's signature.
 */
import { fail } from '../../common/errors';
import { elementCount, type Tensor, type TensorArray, zeros } from '../../engine/runtime/tensor';
import type { TensorSignature } from '../../store/ports';

/** Concatenate tensors of equal dtype and trailing dims along dim 0. */
export function stack(parts: readonly Tensor[]): Tensor {
  if (parts.length === 1) return parts[0];
  const rows = parts.reduce((n, t) => n + t.dims[0], 0);
  const out = zeros(parts[0].dtype, [rows, ...parts[0].dims.slice(1)]);
  let offset = 0;
  for (const t of parts) {
    (out.data as TensorArray & { set(a: ArrayLike<number | bigint>, o: number): void }).set(
      t.data as ArrayLike<number | bigint>,
      offset,
    );
    offset += t.data.length;
  }
  return out;
}

/** Rows [start, start + count) of a tensor along dim 0 (a copy-free view). */
export function sliceRows(t: Tensor, start: number, count: number): Tensor {
  const per = elementCount(t.dims.slice(1));
  const data = t.data.subarray(start * per, (start + count) * per) as Tensor['data'];
  return { dtype: t.dtype, dims: [count, ...t.dims.slice(1)], data };
}

/** Is dim 0 of this signature free (symbolic or unknown)? */
export const hasFreeBatchDim = (s: TensorSignature): boolean =>
  s.shape.length > 0 && (typeof s.shape[0] === 'string' || s.shape[0] === -1);

/**
 * Check request tensors against the model's inputs: every input present, no unknown names, dtype
 * equal, rank equal, fixed dims equal. Errors name the input (`invalid_tensor`, 400).
 */
export function checkInputs(inputs: Record<string, Tensor>, signature: readonly TensorSignature[]): void {
  const expected = new Map(signature.map((s) => [s.name, s]));
  for (const name of Object.keys(inputs)) {
    if (!expected.has(name))
      fail('invalid_tensor', `the model has no input '${name.slice(0, 100)}'`, { pointer: name });
  }
  for (const s of signature) {
    const t = inputs[s.name] ?? fail('invalid_tensor', `input '${s.name}' is missing`, { pointer: s.name });
    if (t.dtype !== s.dtype) {
      fail('invalid_tensor', `input '${s.name}' must be ${s.dtype}, got ${t.dtype}`, { pointer: s.name });
    }
    if (t.dims.length !== s.shape.length) {
      fail(
        'invalid_tensor',
        `input '${s.name}' must have rank ${s.shape.length} [${s.shape}], got [${t.dims}]`,
        {
          pointer: s.name,
        },
      );
    }
    s.shape.forEach((d, i) => {
      if (typeof d === 'number' && d >= 0 && t.dims[i] !== d) {
        fail('invalid_tensor', `input '${s.name}' dim ${i} must be ${d}, got ${t.dims[i]}`, {
          pointer: s.name,
        });
      }
    });
  }
}
