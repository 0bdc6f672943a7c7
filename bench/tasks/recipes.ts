/** The task benchmarks' recipes: for each model, how one step runs in-process through the family's
 * runtime (the raw path: runtime over an EngineSession) and over HTTP through the OpenAI-compatible
 * route (the served path), and what it produced. One step is one call: an embeddings request, an
 * image request of `n` images, one whole text generation. */

import { type Channels, decodePng, encodePng, type Image, toChannels } from '../../src/models/common/image';
import { words } from '../../src/models/language/word2vec-train';
import type {
  EmbeddingRuntime,
  ImageGenerationRuntime,
  TaskRuntime,
  TextGenerationRuntime,
} from '../../src/models/task';
import type { ShapeArgs } from '../lib/contender';
import { gptGenerateFlops } from '../lib/flops';
import { num } from '../lib/measure';
import { Registry } from '../lib/registry';
import { generationSetup } from '../maas/generate';
import { gptShape } from '../maas/lm';
import {
  type BenchModel,
  benchSentences,
  cppnModel,
  cppnPixelFlops,
  digitsModel,
  digitsSampleFlops,
  gptModel,
  mobyDick,
  word2vecModel,
} from './models';
import { type BenchClient, SERVED_MODEL, streamCompletion } from './served';

/** What one step produced: `items` texts/images/generations, `tokens` for generation. */
export interface StepOutcome {
  items: number;
  tokens?: number;
  /** Generation: the text, hashed to check every path produced the same greedy text. */
  text?: string;
  /** Served generation: ms to the first streamed token. */
  firstTokenMs?: number;
  /** Images: the last PNGs, to check their size after timing. */
  pngs?: Uint8Array[];
}

export type Step = (index: number) => Promise<StepOutcome>;

export interface TaskRecipe {
  /** The `model` shape argument. */
  name: string;
  /** The version's task (the family runtime must answer it). */
  task: TaskRuntime['task'];
  /** The OpenAI-compatible route the served path calls. */
  route: string;
  build(args: ShapeArgs): Promise<BenchModel>;
  /** FLOPs of one step, or 0 when there is no meaningful count (a table lookup). */
  flops(args: ShapeArgs): number;
  runtime(rt: TaskRuntime, args: ShapeArgs): Promise<Step>;
  served(client: BenchClient, args: ShapeArgs): Promise<Step>;
  /** Paths of this recipe only (e.g. `png`: PNG encoding alone). */
  extra?: Record<string, (rt: TaskRuntime, args: ShapeArgs) => Promise<Step>>;
  /** Figures about the inputs, reported once (e.g. words seen, to check a peer saw the same). */
  describe?(args: ShapeArgs, model: BenchModel): Promise<Record<string, unknown>>;
}

function as<T extends TaskRuntime['task']>(rt: TaskRuntime, task: T): Extract<TaskRuntime, { task: T }> {
  if (rt.task !== task) throw new Error(`runtime does ${rt.task}, not ${task}`);
  return rt as Extract<TaskRuntime, { task: T }>;
}

// ---- embeddings ---------------------------------------------------------------------------------

const SENTENCES = 256;

/** Request k of the embedding steps: the next `per` sentences, cycling through the set. */
async function sentenceBatches(args: ShapeArgs): Promise<(k: number) => string[]> {
  const sentences = benchSentences(await mobyDick(), SENTENCES);
  const per = num(args, 'texts', 32);
  return (k) => Array.from({ length: per }, (_, i) => sentences[(k * per + i) % SENTENCES]);
}

const embedRecipe: TaskRecipe = {
  name: 'embed-word2vec',
  task: 'embeddings',
  route: '/v1/embeddings',
  build: word2vecModel,
  flops: () => 0,
  async runtime(rt, args) {
    const embedder: EmbeddingRuntime = as(rt, 'embeddings');
    const batch = await sentenceBatches(args);
    return async (k) => ({ items: (await embedder.embed(batch(k))).length });
  },
  async served(client, args) {
    const batch = await sentenceBatches(args);
    return async (k) => {
      const texts = batch(k);
      const out = await client.json<{ data: unknown[] }>('/v1/embeddings', {
        model: SERVED_MODEL,
        input: texts,
      });
      if (out.data.length !== texts.length)
        throw new Error(`${out.data.length} embeddings for ${texts.length} texts`);
      return { items: out.data.length };
    };
  },
  async describe(_args, model) {
    const sentences = benchSentences(await mobyDick(), SENTENCES);
    const vocab = new Set(model.metadata.words as string[]);
    const all = sentences.flatMap(words);
    return {
      sentences: sentences.length,
      words: all.length,
      known_words: all.filter((w) => vocab.has(w)).length,
    };
  },
};

// ---- images -------------------------------------------------------------------------------------

function imageRecipe(
  name: string,
  build: (args: ShapeArgs) => Promise<BenchModel>,
  prompt: string,
  /** Channels of the images the runtime encodes (decodePng gives RGBA back). */
  channels: Channels,
  flopsPerImage: (args: ShapeArgs) => number,
): TaskRecipe {
  const request = (args: ShapeArgs, k: number) => {
    const side = num(args, 'size', 256);
    return { prompt, n: num(args, 'n', 1), width: side, height: side, seed: k + 1 };
  };
  return {
    name,
    task: 'image-generation',
    route: '/v1/images/generations',
    build,
    flops: (args) => num(args, 'n', 1) * flopsPerImage(args),
    async runtime(rt, args) {
      const artist: ImageGenerationRuntime = as(rt, 'image-generation');
      return async (k) => {
        const pngs = await artist.generate(request(args, k));
        return { items: pngs.length, pngs };
      };
    },
    async served(client, args) {
      return async (k) => {
        const { width, height, ...rest } = request(args, k);
        const out = await client.json<{ data: { b64_json: string }[] }>('/v1/images/generations', {
          model: SERVED_MODEL,
          size: `${width}x${height}`,
          ...rest,
        });
        return { items: out.data.length, pngs: out.data.map((d) => Buffer.from(d.b64_json, 'base64')) };
      };
    },
    extra: {
      // PNG encoding alone, of the images the runtime drew (decoded back once, before timing): what
      // encodePng costs per image, to set against the whole runtime path.
      async png(rt, args) {
        const drawn = await as(rt, 'image-generation').generate(request(args, 0));
        const images: Image[] = drawn.map((png) => toChannels(decodePng(png), channels));
        return async () => ({ items: images.map((img) => encodePng(img)).length });
      },
    },
  };
}

const cppnRecipe = imageRecipe('image-cppn', cppnModel, 'an abstract pattern', 3, (args) => {
  const side = num(args, 'size', 256);
  return side * side * cppnPixelFlops(4, 32);
});

const digitsRecipe = imageRecipe('image-digits', digitsModel, 'a handwritten 7', 1, (args) =>
  digitsSampleFlops(8, num(args, 'hidden', 256)),
);

// ---- generation ---------------------------------------------------------------------------------

/** The prompt of generate-gpt's engine recipe, as text, and its new-token budget. */
function completionRequest(args: ShapeArgs) {
  const { promptTokens, newTokens, tokenizer } = generationSetup(args);
  return { prompt: tokenizer.decode(promptTokens), maxTokens: newTokens };
}

const generateRecipe: TaskRecipe = {
  name: 'gpt-text',
  task: 'text-generation',
  route: '/v1/completions',
  build: gptModel,
  flops: (args) =>
    gptGenerateFlops({
      ...gptShape(args),
      batch: 1,
      prompt: num(args, 'prompt', 8),
      newTokens: num(args, 'new_tokens', 56),
      cache: num(args, 'cache', 1) === 1,
    }),
  async runtime(rt, args) {
    const writer: TextGenerationRuntime = as(rt, 'text-generation');
    const req = completionRequest(args);
    return async () => {
      let streamed = '';
      const out = await writer.generate({ ...req, temperature: 0 }, (delta) => {
        streamed += delta;
      });
      return { items: 1, tokens: out.completionTokens, text: streamed };
    };
  },
  async served(client, args) {
    const req = completionRequest(args);
    return async () => {
      const out = await streamCompletion(client, {
        model: SERVED_MODEL,
        prompt: req.prompt,
        max_tokens: req.maxTokens,
        temperature: 0,
      });
      return { items: 1, tokens: out.completionTokens, text: out.text, firstTokenMs: out.firstTokenMs };
    };
  },
};

export const taskRecipes = new Registry<TaskRecipe>('task benchmark recipe')
  .add(embedRecipe)
  .add(cppnRecipe)
  .add(digitsRecipe)
  .add(generateRecipe);
