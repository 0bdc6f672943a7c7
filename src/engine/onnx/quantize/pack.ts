/**
 * Weight packing for the two quantised MatMuls ONNX Runtime runs on CPU:
 *
 *   int8 (DynamicQuantizeMatMul, com.microsoft): B int8 [K, N], one symmetric scale per output
 *     column (scale = max |w| / 63, zero point 0: 7 bits, see INT8_WEIGHT_MAX); activations are
 *     quantised per call.
 *   int4 (MatMulNBits, com.microsoft, bits 4): B transposed to [N, K] and cut along K into blocks
 *     of `blockSize` (K padded with zeros to a whole block). Each block has one scale
 *     and one zero point (asymmetric: the block's [min, max] with 0 in it, in 15 steps), so a code
 *     q ∈ 0…15 means (q − zero) · scale. Codes are packed two per byte, the even element of K in
 *     the low nibble, the odd in the high one: B uint8 [N, blocks, blockSize / 2], scales float
 *     [N · blocks] (row n's blocks in order), zero points uint8 [N · ceil(blocks / 2)], packed
 *     the same way.
 *
 * `dequantizeInt4` / `dequantizeInt8` undo the packing (the round-trip tests, quality checks).
 */

export interface Int8Weight {
  k: number;
  n: number;
  /** [K, N] row-major, as the float weight was. */
  values: Int8Array;
  /** One per column. */
  scales: Float32Array;
}

/**
 * The largest int8 weight code: 63, not 127. ONNX Runtime multiplies uint8 activations by int8
 * weights with AVX2's `vpmaddubsw` where the CPU lacks AVX-512 VNNI, which adds two products into
 * an int16 and saturates: 255 · 127 · 2 passes 32,767 (a test Llama's int8 logits were off by 18 %
 * of their range on an AVX2-only host). 255 · 63 · 2 fits; ONNX Runtime's own quantiser calls this
 * `reduce_range`. A quantised file may be served on any host, so always.
 */
export const INT8_WEIGHT_MAX = 63;

/** Per-column symmetric int8 of a row-major [K, N] weight, codes within ±INT8_WEIGHT_MAX. */
export function quantizeInt8(w: Float32Array, k: number, n: number): Int8Weight {
  const scales = new Float32Array(n);
  for (let i = 0; i < k; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) {
      const a = Math.abs(w[row + j]);
      if (a > scales[j]) scales[j] = a;
    }
  }
  // An all-zero column gets scale 1 (its codes are 0 whatever the scale; a 0 scale would be NaN).
  for (let j = 0; j < n; j++) scales[j] = scales[j] / INT8_WEIGHT_MAX || 1;
  const values = new Int8Array(k * n);
  for (let i = 0; i < k; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) values[row + j] = Math.round(w[row + j] / scales[j]);
  }
  return { k, n, values, scales };
}

export function dequantizeInt8(q: Int8Weight): Float32Array {
  const out = new Float32Array(q.k * q.n);
  for (let i = 0; i < out.length; i++) out[i] = q.values[i] * q.scales[i % q.n];
  return out;
}

export interface Int4Weight {
  k: number;
  n: number;
  blockSize: number;
  /** Blocks per output row: ceil(K / blockSize). */
  blocks: number;
  /** [N, blocks, blockSize / 2] bytes, two codes each (low nibble first). */
  packed: Uint8Array;
  /** [N · blocks]. */
  scales: Float32Array;
  /** [N · ceil(blocks / 2)]: each row's block zero points, two per byte (low nibble first). */
  zeroPoints: Uint8Array;
}

/**
 * Block-wise asymmetric int4 of a [K, N] weight, read as `w[i·N + j]`, or as `w[j·K + i]` when
 * `transposed` (Gemm's transB: the weight is stored [N, K] already). Each block spans
 * [min(block, 0), max(block, 0)] in 15 steps, so 0 stays exact; its zero point is the code of 0.
 */
export function quantizeInt4(
  w: Float32Array,
  k: number,
  n: number,
  blockSize = 32,
  transposed = false,
): Int4Weight {
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0)
    throw new RangeError(`block size ${blockSize} is not a power of two ≥ 16`);
  const blocks = Math.ceil(k / blockSize);
  const blob = blockSize / 2;
  const zpBytes = Math.ceil(blocks / 2);
  const packed = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  const zeroPoints = new Uint8Array(n * zpBytes);
  const at = transposed ? (i: number, j: number) => w[j * k + i] : (i: number, j: number) => w[i * n + j];
  const block = new Float32Array(blockSize);
  for (let j = 0; j < n; j++) {
    for (let b = 0; b < blocks; b++) {
      let lo = 0;
      let hi = 0;
      for (let t = 0; t < blockSize; t++) {
        const i = b * blockSize + t;
        block[t] = i < k ? at(i, j) : 0;
        lo = Math.min(lo, block[t]);
        hi = Math.max(hi, block[t]);
      }
      const scale = (hi - lo) / 15 || 1;
      const zero = Math.min(15, Math.max(0, Math.round(-lo / scale)));
      scales[j * blocks + b] = scale;
      zeroPoints[j * zpBytes + (b >> 1)] |= b % 2 === 0 ? zero : zero << 4;
      const base = (j * blocks + b) * blob;
      for (let t = 0; t < blockSize; t += 2) {
        const c0 = code(block[t], scale, zero);
        const c1 = code(block[t + 1], scale, zero);
        packed[base + t / 2] = c0 | (c1 << 4);
      }
    }
  }
  return { k, n, blockSize, blocks, packed, scales, zeroPoints };
}

function code(x: number, scale: number, zero: number): number {
  return Math.min(15, Math.max(0, Math.round(x / scale) + zero));
}

/** The [K, N] row-major float weight an int4 one stands for. */
export function dequantizeInt4(q: Int4Weight): Float32Array {
  const out = new Float32Array(q.k * q.n);
  const blob = q.blockSize / 2;
  const zpBytes = Math.ceil(q.blocks / 2);
  for (let j = 0; j < q.n; j++) {
    for (let b = 0; b < q.blocks; b++) {
      const scale = q.scales[j * q.blocks + b];
      const zpByte = q.zeroPoints[j * zpBytes + (b >> 1)];
      const zero = b % 2 === 0 ? zpByte & 0x0f : zpByte >> 4;
      const base = (j * q.blocks + b) * blob;
      for (let t = 0; t < q.blockSize; t++) {
        const i = b * q.blockSize + t;
        if (i >= q.k) break;
        const byte = q.packed[base + (t >> 1)];
        const c = t % 2 === 0 ? byte & 0x0f : byte >> 4;
        out[i * q.n + j] = (c - zero) * scale;
      }
    }
  }
  return out;
}
