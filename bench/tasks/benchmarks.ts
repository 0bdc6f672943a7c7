/** Rows of the task benchmarks (issue 6): embeddings/s and images/s through the served OpenAI routes
 * against the family runtime in-process, and the served generation contenders of generate-gpt. */

import type { Contender, ShapeArgs, TrainResult } from '../lib/contender';
import type { Benchmark } from '../lib/harness';
import { num } from '../lib/measure';
import type { Registry } from '../lib/registry';
import { moduleSpec, pythonSpec } from '../lib/spawn';
import { cppnPixelFlops, digitsSampleFlops } from './models';

/** A bench/tasks/contender.ts row: `path` runtime | served | png, plus its own args. */
export function taskContender(name: string, label: string, args: ShapeArgs): Contender {
  return { name, label, args, spec: moduleSpec('bench/tasks/contender.ts') };
}

/** The figures every contender reports about its inputs must agree (same sentences, same words). */
function sameInputs(keys: readonly string[]) {
  return (outputs: ReadonlyMap<string, TrainResult>): string[] => {
    const seen = [...outputs].map(
      ([name, o]) => `${name}: ${keys.map((k) => `${k} ${String(o[k])}`).join(', ')}`,
    );
    const unique = new Set([...outputs.values()].map((o) => keys.map((k) => String(o[k])).join('/')));
    return [
      unique.size <= 1
        ? `Every contender saw the same inputs (${seen[0] ?? 'none'}).`
        : `MISMATCH of inputs: ${seen.join('; ')}.`,
    ];
  };
}

const SERVED =
  'served: `maas serve` in a child process, the client (node:http, one keep-alive socket, one request at a time) in the contender process';
const RUNTIME =
  "runtime: the family's task runtime over an EngineSession in the contender process, no HTTP (ORT 2 intra-op threads as the server)";

export function addTaskBenchmarks(benchmarks: Registry<Benchmark>): void {
  benchmarks.add({
    name: 'embed-word2vec',
    title: 'Embeddings: word2vec sentence vectors (vocab 3000, dim 64), POST /v1/embeddings vs in-process',
    notes: [
      'Model: the zoo word2vec size (vocab 3000 × dim 64) over the Moby Dick vocabulary, seeded random unit vectors;',
      "a text's vector is the mean of its known words' vectors, L2-normalised. Inputs: 256 Moby Dick sentences of 8-40 words, cycled.",
      `${RUNTIME}; ${SERVED}.`,
      'PyTorch: the same computation from text (Python tokeniser, dict lookup, EmbeddingBag mean, normalise) on the same',
      'sentences and vocabulary. A fair end-to-end text→vector comparison, but the arithmetic is tiny (≈ 22 words × 64 adds per',
      'text): both sides measure tokenising and per-call overhead, not kernels.',
    ],
    metric: 'samples_per_s',
    units: { step: 'call', sample: 'text' },
    shape: { task_model: 'embed-word2vec', vocab: 3000, dim: 64, texts: 32, warmup: 5 },
    flops: () => 0,
    baseline: 'runtime-32',
    contenders: [
      taskContender('runtime-32', 'maas runtime in-process, 32 texts per call', { path: 'runtime' }),
      taskContender('served-32', 'maas served, 32 texts per request', { path: 'served' }),
      taskContender('runtime-1', 'maas runtime in-process, 1 text per call', { path: 'runtime', texts: 1 }),
      taskContender('served-1', 'maas served, 1 text per request', { path: 'served', texts: 1 }),
      { name: 'torch-32', label: 'PyTorch 1.13, 32 texts per call', spec: pythonSpec('torch_embed.py') },
      {
        name: 'torch-1',
        label: 'PyTorch 1.13, 1 text per call',
        args: { texts: 1 },
        spec: pythonSpec('torch_embed.py'),
      },
    ],
    check: sameInputs(['sentences', 'words', 'known_words']),
  });

  const imageRows = (what: string): Contender[] => [
    taskContender('runtime-n1', 'maas runtime in-process, n=1', { path: 'runtime', n: 1 }),
    taskContender('served-n1', 'maas served, n=1', { path: 'served', n: 1 }),
    taskContender('runtime-n8', 'maas runtime in-process, n=8', { path: 'runtime', n: 8 }),
    taskContender('served-n8', 'maas served, n=8', { path: 'served', n: 8 }),
    taskContender('png-n8', `PNG encoding alone (${what}), 8 images`, { path: 'png', n: 8 }),
  ];

  benchmarks.add({
    name: 'image-cppn',
    title: 'Images: cppn 256×256, POST /v1/images/generations (n=1, n=8) vs in-process',
    notes: [
      "Model: the zoo's cppn (seed 7; 4 hidden layers × 32, latent 8), 65,536 pixels per image in one ORT run, then the palette and PNG encoding.",
      `${RUNTIME}; ${SERVED}. Each image in a reply is checked to decode as a 256×256 PNG.`,
      'png-n8 times encodePng alone on 8 images the runtime drew: its share of the runtime path is the PNG cost.',
      'GFLOP/s counts the dense layers per pixel (activations excluded).',
    ],
    metric: 'samples_per_s',
    units: { step: 'call', sample: 'image' },
    shape: { task_model: 'image-cppn', size: 256, warmup: 2 },
    flops: (a) => (a.path === 'png' ? 0 : num(a, 'n', 1) * num(a, 'size', 256) ** 2 * cppnPixelFlops(4, 32)),
    baseline: 'runtime-n8',
    contenders: imageRows('256×256 RGB'),
  });

  benchmarks.add({
    name: 'image-digits',
    title: 'Images: image-gen 28×28 digits, POST /v1/images/generations (n=1, n=8) vs in-process',
    notes: [
      "Model: the zoo's image-gen decoder size (conditional VAE, latent 8, hidden 256 → 784 pixels) from the family's",
      'trainer run for 1 epoch on 1,024 digits (only the shapes matter). One decoder run per call draws all n images.',
      `${RUNTIME}; ${SERVED}. Each image in a reply is checked to decode as a 28×28 PNG.`,
      'png-n8 times encodePng alone on 8 images the runtime drew.',
    ],
    metric: 'samples_per_s',
    units: { step: 'call', sample: 'image' },
    shape: { task_model: 'image-digits', size: 28, hidden: 256, warmup: 5 },
    flops: (a) => (a.path === 'png' ? 0 : num(a, 'n', 1) * digitsSampleFlops(8, num(a, 'hidden', 256))),
    baseline: 'runtime-n8',
    contenders: imageRows('28×28 grey'),
  });
}

/** generate-gpt's rows for the gpt family's runtime in-process and served (/v1/completions, SSE). */
export function generationTaskContenders(): Contender[] {
  const row = (path: 'runtime' | 'served', cache: 0 | 1) =>
    taskContender(
      `${path}-${cache ? 'cache' : 'nocache'}`,
      path === 'runtime'
        ? `maas gpt runtime in-process, ${cache ? 'KV cache' : 'no cache'}`
        : `maas served, /v1/completions SSE, ${cache ? 'KV cache' : 'no cache'}`,
      { task_model: 'gpt-text', path, cache },
    );
  return [row('runtime', 1), row('served', 1), row('runtime', 0), row('served', 0)];
}
