/**
 * A single 3×3 convolution learns an edge detector from examples: the inputs are real MNIST
 * digits, the targets the same digits filtered with the Sobel-x kernel (zero padding), and the
 * layer starts from random weights. It prints the learned kernel next to the true one.
 */
import { tensorFrom } from '../src/engine/runtime/tensor';
import { compileTrainStep } from '../src/engine/train/compile';
import * as nn from '../src/nn/index';
import { loadDigits } from './mnist';

export const SOBEL_X = [-1, 0, 1, -2, 0, 2, -1, 0, 1];
const SIDE = 28;

/** `image` (SIDE×SIDE) cross-correlated with a 3×3 kernel, zero-padded (as ONNX Conv). */
export function filter3x3(image: Float32Array, kernel: readonly number[]): Float32Array {
  const out = new Float32Array(SIDE * SIDE);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      let s = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy >= 0 && yy < SIDE && xx >= 0 && xx < SIDE)
            s += image[yy * SIDE + xx] * kernel[(dy + 1) * 3 + dx + 1];
        }
      }
      out[y * SIDE + x] = s;
    }
  }
  return out;
}

export interface EdgeResult {
  kernel: number[];
  bias: number;
  loss: number;
  steps: number;
}

export async function trainEdge(
  options: { steps?: number; batch?: number; seed?: number } = {},
): Promise<EdgeResult> {
  const steps = options.steps ?? 2000;
  const batch = options.batch ?? 16;
  const rng = new nn.Rng(options.seed ?? 1);
  const digits = loadDigits(0, 20);
  const px = SIDE * SIDE;
  const edges = Array.from({ length: digits.count }, (_, i) =>
    filter3x3(digits.images.subarray(i * px, (i + 1) * px), SOBEL_X),
  );
  const conv = nn.conv2d(rng, 1, 1, 3, { padding: 1 });
  const trainer = await compileTrainStep({
    model: {
      params: conv.params,
      batch: {
        x: { dtype: 'float32', shape: [batch, 1, SIDE, SIDE] },
        y: { dtype: 'float32', shape: [batch, 1, SIDE, SIDE] },
      },
      forward: (b) => ({ edges: conv(b.x) }),
      loss: (p, b) => nn.mse(p.edges, b.y),
    },
    optimizer: nn.adam(),
  });
  let loss = 0;
  for (let s = 0; s < steps; s++) {
    const x = new Float32Array(batch * px);
    const y = new Float32Array(batch * px);
    for (let i = 0; i < batch; i++) {
      const k = rng.int(digits.count);
      x.set(digits.images.subarray(k * px, (k + 1) * px), i * px);
      y.set(edges[k], i * px);
    }
    const shape = [batch, 1, SIDE, SIDE];
    // Adam's step is ≈ lr per weight: 0.05 crosses the [-2, 2] range in tens of steps, then decays.
    const lr = 0.05 * 0.01 ** (s / steps);
    loss = (
      await trainer.step({ x: tensorFrom('float32', shape, x), y: tensorFrom('float32', shape, y) }, lr)
    ).loss;
  }
  trainer.syncParameters();
  await trainer.release();
  const [w, b] = conv.params.map((p) => Array.from(p.value.data as Float32Array));
  return { kernel: w, bias: b[0], loss, steps };
}

export async function main(): Promise<void> {
  const t0 = performance.now();
  const r = await trainEdge();
  const row = (k: number[], i: number) =>
    k
      .slice(3 * i, 3 * i + 3)
      .map((v) => v.toFixed(2).padStart(6))
      .join('');
  console.log(
    `conv 1→1 3×3 on MNIST digits → Sobel-x edges, ${r.steps} Adam steps, MSE ${r.loss.toExponential(2)}`,
  );
  console.log('      learned              true');
  for (let i = 0; i < 3; i++) console.log(`  ${row(r.kernel, i)}    ${row(SOBEL_X, i)}`);
  console.log(`  bias ${r.bias.toFixed(3)}   (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
