/**
 * Tiny random-weight model files for the walk-through of docs/llm.md, made with maas's own
 * engine (no hub, no download; about a second): the same builders the tests use
 * (test/helpers/hf-fixtures.ts), so the outputs in the doc are what these files give.
 *
 *   node --import tsx examples/tiny-llm.ts /tmp/llm
 *
 * writes into that folder:
 * - `tiny-llama/`: a Llama-layout decoder folder (hidden 64, 2 layers, 4 query / 2 key-value
 *   heads, ~384-token byte-level BPE, ChatML template; the tests' defaults);
 * - `tiny-bert/`: a BERT-layout encoder folder (hidden 32, 2 layers, WordPiece, mean pooling and
 *   Normalize, as sentence-transformers exports);
 * - `my-gpt.onnx` and `my-gpt.query`: a gpt in maas's own stored layout (what the zoo and
 *   training store) and the upload's query string (`task`, `metadata`: its tokenizer and sizes),
 *   to upload it as a version, as `hf-export.test.ts` does.
 *
 * The weights are random, so generated text is noise; the point is the files and the calls.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { trainBpe } from '../src/data/text/bpe';
import { writeRandomBertFolder } from '../src/models/language/hf/bert';
import { randomGpt } from '../src/models/language/hf/gpt2';
import { TOKENIZER_TEXT, writeRandomLlamaFolder } from '../src/models/language/hf/random';
import { exportGpt } from '../src/nn/gpt';

const dir = process.argv[2] ?? 'tiny-llm';
await mkdir(dir, { recursive: true });

await writeRandomLlamaFolder(join(dir, 'tiny-llama'));
await writeRandomBertFolder(join(dir, 'tiny-bert'), { pooling: 'mean', normalize: true, seed: 1 });

// The gpt of hf-export.test.ts: BPE of 330 tokens, context 64, 2 layers of width 32, 4 heads.
const shape = { context: 64, layers: 2, dim: 32, heads: 4 };
const gpt = randomGpt({ vocab: 330, ...shape, seed: 3, initStd: 0.25 });
const metadata = {
  family: 'gpt',
  task: 'text-generation',
  tokenizer: trainBpe(TOKENIZER_TEXT, { vocabSize: 330 }),
  ...shape,
  headDim: shape.dim / shape.heads,
  kvCache: true,
  startText: '\n',
};
await writeFile(join(dir, 'my-gpt.onnx'), exportGpt(gpt, { kvCache: true }));
await writeFile(
  join(dir, 'my-gpt.query'),
  `task=text-generation&metadata=${encodeURIComponent(JSON.stringify(metadata))}`,
);
console.log(`wrote ${dir}/tiny-llama/, ${dir}/tiny-bert/, ${dir}/my-gpt.onnx and ${dir}/my-gpt.query`);
