/** The table of benchmarks `npm run bench` knows. Adding one is adding a row. Each row states the
 * shape every contender receives, our own FLOP count, the baseline and the contenders; the maas
 * row is present everywhere and reports `unsupported` until the engine's recipe is wired in
 * (bench/maas/contender.ts). */

import type { Contender, ShapeArgs, TrainResult } from './lib/contender';
import { cnnTrainFlops, gptGenerateFlops, gptTrainFlops, lstmTrainFlops, mlpTrainFlops } from './lib/flops';
import type { Benchmark } from './lib/harness';
import { num } from './lib/measure';
import { Registry } from './lib/registry';
import { moduleSpec, pythonSpec } from './lib/spawn';
import { addTaskBenchmarks, generationTaskContenders } from './tasks/benchmarks';

const torch = (script: string, args?: ShapeArgs): Contender => ({
  name: 'torch',
  label: 'PyTorch 1.13 (2 threads, OpenBLAS, passive waits)',
  spec: pythonSpec(script),
  ...(args ? { args } : {}),
});

/** PyTorch with libgomp's default wait policy (idle threads spin a while before they sleep): its
 * best on an idle machine, where the passive waits of `torch` cost it 1.3-1.55x (measured on all
 * four train benchmarks); on a loaded machine spinning collapses it (lib/spawn.ts), hence both rows. */
const torchSpinning = (script: string, args?: ShapeArgs, name = 'torch-omp-default'): Contender => ({
  name,
  label: 'PyTorch 1.13, OMP_WAIT_POLICY unset (libgomp spins)',
  ...(args ? { args } : {}),
  spec: (args) => {
    const spec = pythonSpec(script)(args);
    const { OMP_WAIT_POLICY: _passive, ...env } = spec.env;
    return { ...spec, env };
  },
});

const maas = (model: string, args?: ShapeArgs): Contender => ({
  name: 'maas',
  label: 'maas engine (ONNX Runtime)',
  args: { model, ...args },
  spec: moduleSpec('bench/maas/contender.ts'),
});

const tfjs = (model: 'mlp' | 'cnn', backend: 'cpu' | 'wasm', args?: ShapeArgs): Contender => ({
  name: `tfjs-${backend}`,
  label: `TF.js ${backend} (1 thread)`,
  args: { backend, ...args },
  spec: moduleSpec(`bench/peers/tfjs-${model}.ts`),
});

const shapeOf = <K extends string>(args: ShapeArgs, keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, num(args, k, Number.NaN)])) as Record<K, number>;

const SYNTHETIC =
  'Data: one fixed seeded synthetic batch reused every step (the loss must fall, proving the step trains); ' +
  'init: Glorot-uniform weights, zero biases.';

export const benchmarks = new Registry<Benchmark>('benchmark');

benchmarks.add({
  name: 'train-mlp',
  title: 'Train step: MLP 784-256-256-10, batch 64, SGD',
  notes: [SYNTHETIC, 'ReLU, softmax cross-entropy (mean), SGD lr 0.05.'],
  metric: 'steps_per_s',
  shape: { model: 'mlp', batch: 64, inputs: 784, hidden: 256, classes: 10, lr: 0.05 },
  flops: (a) => mlpTrainFlops(shapeOf(a, ['batch', 'inputs', 'hidden', 'classes'])),
  baseline: 'torch',
  alsoAgainst: 'torch-omp-default',
  contenders: [
    torch('torch_mlp.py'),
    torchSpinning('torch_mlp.py'),
    maas('mlp'),
    tfjs('mlp', 'cpu'),
    tfjs('mlp', 'wasm'),
  ],
});

benchmarks.add({
  name: 'train-cnn',
  title: 'Train step: CNN (conv 16, pool, conv 32, pool, dense 64, dense 10), batch 32, Adam',
  notes: [
    SYNTHETIC,
    '28×28×1 input, 3×3 convolutions with padding 1, 2×2 max-pools, ReLU; Adam lr 1e-3.',
    'TF.js cpu takes seconds per step, so it times 2 steps after 1 warm-up step per round.',
  ],
  metric: 'steps_per_s',
  shape: { model: 'cnn', batch: 32, size: 28, c1: 16, c2: 32, dense: 64, classes: 10, lr: 0.001 },
  flops: (a) => cnnTrainFlops(shapeOf(a, ['batch', 'size', 'c1', 'c2', 'dense', 'classes'])),
  baseline: 'torch',
  alsoAgainst: 'torch-omp-default',
  contenders: [
    torch('torch_cnn.py'),
    torchSpinning('torch_cnn.py'),
    maas('cnn'),
    tfjs('cnn', 'cpu', { warmup: 1, min_steps: 2, min_seconds: 0 }),
    tfjs('cnn', 'wasm'),
  ],
});

benchmarks.add({
  name: 'train-lstm',
  title: 'Train step: LSTM language model (vocab 65, embed 64, hidden 256, seq 64), batch 32, Adam',
  notes: [
    'Data: one fixed batch of random tokens, target = input shifted by one (memorised, so the loss falls).',
    'Init: Glorot-uniform matrices (embedding included), zero biases. Adam lr 2e-3. One LSTM layer.',
    'tokens/s = samples/s × 64.',
    'maas (nn.lstmLm): the LSTM unrolled (one Gemm per step), one bias per gate where PyTorch keeps b_ih + b_hh (both zero here).',
  ],
  metric: 'steps_per_s',
  shape: { model: 'lstm-lm', batch: 32, seq: 64, vocab: 65, embed: 64, hidden: 256, lr: 0.002, warmup: 2 },
  flops: (a) => lstmTrainFlops(shapeOf(a, ['batch', 'seq', 'vocab', 'embed', 'hidden'])),
  baseline: 'torch',
  alsoAgainst: 'torch-omp-default',
  contenders: [torch('torch_lstm.py'), torchSpinning('torch_lstm.py'), maas('lstm-lm')],
});

/** maas's train step under different ORT session options (bench/maas/common.ts reads them from
 * the args): what the recipe's choices are worth, measured side by side like any other contender. */
const ortVariant = (model: string, name: string, label: string, args: ShapeArgs): Contender => ({
  ...maas(model, args),
  name,
  label,
});

const ortOptionRows = (model: string): Contender[] => [
  ortVariant(model, 'default', 'recipe: 2 threads, extended, no spinning', {}),
  ortVariant(model, 'spin', 'intra-op spinning on (ORT default)', { spin: 1 }),
  ortVariant(model, 'spin-run-20us', 'spinning only during a step, ≤ 20 µs a wait', { spin_us: 20 }),
  ortVariant(model, 'spin-200us', 'spinning ≤ 200 µs a wait, between steps too', { spin: 1, spin_us: 200 }),
  ortVariant(model, 'spin-1ms', 'spinning ≤ 1 ms a wait, between steps too', { spin: 1, spin_us: 1000 }),
  ortVariant(model, 'threads-1', '1 intra-op thread', { intra_threads: 1 }),
  ortVariant(model, 'opt-basic', 'graph optimisation basic', { graph_opt: 'basic' }),
  ortVariant(model, 'opt-all', 'graph optimisation all', { graph_opt: 'all' }),
  { ...torch(`torch_${model}.py`), label: 'PyTorch 1.13, passive waits (as train-*)' },
  torchSpinning(`torch_${model}.py`),
];

for (const [model, base] of [
  ['mlp', 'train-mlp'],
  ['cnn', 'train-cnn'],
] as const) {
  const source = benchmarks.get(base);
  benchmarks.add({
    name: `ort-${model}`,
    title: `maas ${model} train step under ORT session options (profiling ${base})`,
    notes: [`The model, batch and data of ${base}; only the ORT session options differ.`],
    metric: 'steps_per_s',
    shape: source.shape,
    flops: source.flops,
    baseline: 'default',
    contenders: ortOptionRows(model),
  });
}

const GPT = { vocab: 65, d: 128, heads: 4, layers: 4, context: 64 };

benchmarks.add({
  name: 'train-gpt',
  title: 'Train step: GPT (4 layers, d 128, 4 heads, context 64, vocab 65), batch 16, AdamW',
  notes: [
    'Data: one fixed batch of random tokens, target = input shifted by one.',
    'Pre-LayerNorm blocks, causal attention written out, 4× GELU MLP, untied head; GPT-2 init',
    '(N(0, 0.02) matrices and embeddings, zero biases). AdamW lr 1e-3, weight decay 0.01.',
    'maas (nn.gptModel): the same blocks with fused qkv; its head has no bias (65 of 818k parameters).',
  ],
  metric: 'steps_per_s',
  shape: { model: 'gpt', batch: 16, ...GPT, lr: 0.001, weight_decay: 0.01, warmup: 2 },
  flops: (a) => gptTrainFlops(shapeOf(a, ['batch', 'context', 'vocab', 'd', 'layers'])),
  baseline: 'torch',
  alsoAgainst: 'torch-omp-default',
  contenders: [torch('torch_gpt.py'), torchSpinning('torch_gpt.py'), maas('gpt')],
});

/** KV-cache and full re-run generation must produce the same greedy tokens within one engine
 * (`torch-cache` = `torch-nocache`, by token digest); every maas row (engine loop, runtime
 * in-process, served) must produce the same greedy text (by text digest: the runtime and the server
 * hand back text, not ids). Engines differ from each other, as their seeded random weights differ. */
function sameTokens(outputs: ReadonlyMap<string, TrainResult>): string[] {
  const agree = (family: string, key: string, rows: [string, TrainResult][]) => {
    const digests = rows.map(([name, out]) => `${name}=${String(out[key])}`);
    const unique = new Set(rows.map(([, out]) => String(out[key])));
    return unique.size <= 1
      ? `${family}: greedy ${key === 'text_digest' ? 'text' : 'tokens'} identical on every path (${digests.join(', ')}).`
      : `${family}: MISMATCH, greedy output differs (${digests.join(', ')}).`;
  };
  const rows = [...outputs];
  const torchRows = rows.filter(([name]) => name.startsWith('torch-'));
  const maasRows = rows.filter(([name]) => !name.startsWith('torch-'));
  return [agree('torch', 'tokens_digest', torchRows), agree('maas', 'text_digest', maasRows)];
}

benchmarks.add({
  name: 'generate-gpt',
  title: 'Generation: GPT (as train-gpt), batch 1, greedy, 8-token prompt + 56 new tokens',
  notes: [
    'One step = one whole generation of 56 tokens; tokens/s = 56 × steps/s. Random seeded weights.',
    'With the KV cache each new token runs one position; without it, each token re-runs the sequence.',
    'maas (ORT) rows: the bare engine loop (argmax in JS). runtime rows: the same model and prompt as a `gpt` family',
    'model through its task runtime in-process (tokenizer, sampler at temperature 0, decoder). served rows: that model',
    'registered in a `maas serve` child process, `POST /v1/completions` with stream: true, one request at a time;',
    "tokens/s as the client sees it (request sent → [DONE]), completion tokens from the stream's usage chunk.",
  ],
  metric: 'tokens_per_s',
  units: { step: 'generation', sample: 'generation' },
  shape: { model: 'gpt-generate', ...GPT, prompt: 8, new_tokens: 56, warmup: 2 },
  flops: (a) =>
    gptGenerateFlops({
      ...shapeOf(a, ['context', 'vocab', 'd', 'layers']),
      batch: 1,
      prompt: num(a, 'prompt', 8),
      newTokens: num(a, 'new_tokens', 56),
      cache: num(a, 'cache', 1) === 1,
    }),
  baseline: 'torch-cache',
  alsoAgainst: 'torch-cache-omp-default',
  contenders: [
    { ...torch('torch_gpt_generate.py', { cache: 1 }), name: 'torch-cache', label: 'PyTorch 1.13, KV cache' },
    {
      ...torchSpinning('torch_gpt_generate.py', { cache: 1 }, 'torch-cache-omp-default'),
      label: 'PyTorch 1.13, KV cache, OMP_WAIT_POLICY unset (libgomp spins)',
    },
    {
      ...torch('torch_gpt_generate.py', { cache: 0 }),
      name: 'torch-nocache',
      label: 'PyTorch 1.13, no cache',
    },
    { ...maas('gpt-generate', { cache: 1 }), name: 'maas-cache', label: 'maas (ORT), KV cache' },
    { ...maas('gpt-generate', { cache: 0 }), name: 'maas-nocache', label: 'maas (ORT), no cache' },
    ...generationTaskContenders(),
  ],
  check: sameTokens,
});

addTaskBenchmarks(benchmarks);
