/**
 * The benchmark's model: a random-weight Llama-layout decoder of ≈ 110 M parameters (hidden 768,
 * 12 layers, 12 query / 4 key-value heads, SwiGLU 1536, vocab 32,000, float32: 442 MB; plus its
 * int8 sibling `model_quantized.onnx`, 184 MB: the embedding stays float), written
 * by maas's own engine as a Hugging Face folder (`writeRandomLlamaFolder`). Built once into
 * `bench/llm/.model/` (git-ignored) and reused while the shape recorded beside it matches.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeRandomLlamaFolder } from '../../src/models/language/hf/random';

export const BENCH_SHAPE = {
  modelVocab: 32_000,
  hidden: 768,
  layers: 12,
  heads: 12,
  kvHeads: 4,
  intermediate: 1536,
  context: 2048,
  initStd: 0.02,
  seed: 1,
  /** Also `onnx/model_quantized.onnx` (int8 projections and LM head) for the q8 rows. */
  quantized: true,
} as const;

/** Parameters of a Llama with untied embeddings (norm weights included). */
export function llamaParams(s: typeof BENCH_SHAPE): number {
  const headDim = s.hidden / s.heads;
  const attention = 2 * s.hidden * s.heads * headDim + 2 * s.hidden * s.kvHeads * headDim;
  const mlp = 3 * s.hidden * s.intermediate;
  return 2 * s.modelVocab * s.hidden + s.layers * (attention + mlp + 2 * s.hidden) + s.hidden;
}

export const MODEL_ROOT = join('bench', 'llm', '.model');
export const MODEL_NAME = 'llama-110m';

/** The folder's path, building it first when missing or of another shape. */
export async function benchFolder(log: (s: string) => void = () => {}): Promise<string> {
  const dir = join(MODEL_ROOT, MODEL_NAME);
  const marker = join(MODEL_ROOT, `${MODEL_NAME}.shape.json`);
  // `folder` 2: the tokenizer is padded to the model's vocabulary (every id decodes to text).
  const wanted = JSON.stringify({ ...BENCH_SHAPE, folder: 2 });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === wanted) return dir;
  await rm(dir, { recursive: true, force: true });
  const started = performance.now();
  await writeRandomLlamaFolder(dir, BENCH_SHAPE);
  await writeFile(marker, wanted);
  log(
    `built ${dir} (${(llamaParams(BENCH_SHAPE) / 1e6).toFixed(1)} M parameters) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return dir;
}
