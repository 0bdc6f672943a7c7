/** maas recipe for generate-gpt: greedy generation with the GPT of train-gpt at batch 1, exported by
 * `nn.exportGpt` with (`cache` 1) or without (`cache` 0) the KV cache and run by ONNX Runtime, the
 * same loop as bench/peers/torch_gpt_generate.py. One step = one whole generation of `new_tokens`
 * tokens after a `prompt`-token prompt. The tokens are hashed as the peer does (sha256 of Python's
 * list repr, 16 hex digits) so cache and no-cache runs can be checked equal; their text under
 * `benchTokenizer` is hashed too (`text_digest`), so the same model served by the `gpt` family's
 * runtime (bench/tasks/) can be checked to produce the same greedy text. */

import { createHash } from 'node:crypto';
import { CharTokenizer } from '../../src/data/text/char';
import { EngineSession } from '../../src/engine/runtime/session';
import { type Tensor, tensorFrom, zeros } from '../../src/engine/runtime/tensor';
import * as nn from '../../src/nn/index';
import type { ContenderOutput, ShapeArgs } from '../lib/contender';
import { gptGenerateFlops } from '../lib/flops';
import { measureSteps, num, timingOptions, trainResult } from '../lib/measure';
import { sessionOptions, VERSION } from './common';
import { buildGpt, gptShape } from './lm';
import type { MaasRecipe } from './recipe';

/** Arg-max over the vocabulary of the last position of logits [1, S, V]. */
function lastArgmax(logits: Tensor): number {
  const [, s, v] = logits.dims;
  const data = logits.data as Float32Array;
  let best = 0;
  for (let j = 1; j < v; j++) if (data[(s - 1) * v + j] > data[(s - 1) * v + best]) best = j;
  return best;
}

const ids = (tokens: readonly number[]) => tensorFrom('int64', [1, tokens.length], tokens);

/** KV cache: the prompt once with empty caches, then one token per run with present → past. */
function cachedGenerator(session: EngineSession, layers: number, cacheDims: number[]) {
  return async (prompt: number[], newTokens: number): Promise<number[]> => {
    const tokens = [...prompt];
    const feeds: Record<string, Tensor> = { input_ids: ids(prompt) };
    for (let i = 0; i < layers; i++) {
      feeds[`past_key_${i}`] = zeros('float32', cacheDims);
      feeds[`past_value_${i}`] = zeros('float32', cacheDims);
    }
    let out = await session.run(feeds);
    for (let n = 0; n < newTokens; n++) {
      const next = lastArgmax(out.logits);
      tokens.push(next);
      feeds.input_ids = ids([next]);
      for (let i = 0; i < layers; i++) {
        feeds[`past_key_${i}`] = out[`present_key_${i}`];
        feeds[`past_value_${i}`] = out[`present_value_${i}`];
      }
      out = await session.run(feeds);
    }
    return tokens;
  };
}

/** No cache: every new token re-runs the whole sequence so far. */
function fullGenerator(session: EngineSession) {
  return async (prompt: number[], newTokens: number): Promise<number[]> => {
    const tokens = [...prompt];
    for (let n = 0; n < newTokens; n++) {
      const out = await session.run({ input_ids: ids(tokens) }, ['logits']);
      tokens.push(lastArgmax(out.logits));
    }
    return tokens;
  };
}

/** Symbols 2.. of the bench's character vocabulary: 63 printable characters, so that with
 * `<pad>` and `<unk>` the vocabulary is the benchmark's 65 and every prompt token is a character. */
const SYMBOLS = ` \n${'abcdefghijklmnopqrstuvwxyz'}${'ABCDEFGHIJKLMNOPQRSTUVWXYZ'}.,;:!?'-"`;

/** A character tokenizer of exactly `vocab` ids for the generation benchmarks' random GPT. */
export function benchTokenizer(vocab: number): CharTokenizer {
  const chars = Array.from(SYMBOLS).slice(0, vocab - 2);
  if (chars.length !== vocab - 2)
    throw new Error(`the bench tokenizer has at most ${SYMBOLS.length + 2} ids`);
  return new CharTokenizer({ type: 'char', chars: ['<pad>', '<unk>', ...chars] });
}

export const digest16 = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** The model and prompt every maas generation contender uses for the same args: seeded GPT-2-init
 * weights, then `prompt` tokens drawn from the characters (ids ≥ 2, so the prompt is text). */
export function generationSetup(args: ShapeArgs) {
  const shape = gptShape(args);
  const prompt = num(args, 'prompt', 8);
  const newTokens = num(args, 'new_tokens', 56);
  if (prompt + newTokens > shape.context) throw new Error('prompt + new_tokens must fit the context');
  const rng = new nn.Rng(num(args, 'seed', 0) + 1);
  const model = buildGpt(args, rng);
  const promptTokens = Array.from({ length: prompt }, () => 2 + rng.int(shape.vocab - 2));
  return { shape, model, promptTokens, newTokens, tokenizer: benchTokenizer(shape.vocab) };
}

async function run(args: ShapeArgs): Promise<ContenderOutput> {
  const cache = num(args, 'cache', 1) === 1;
  const { shape: s, model, promptTokens, newTokens, tokenizer } = generationSetup(args);
  const prompt = promptTokens.length;
  // Inference graphs take `all` (docs/engine.md: NCHWc/fusions suit initializer weights).
  const session = await EngineSession.create(nn.exportGpt(model, { kvCache: cache }), {
    graphOptimization: 'all',
    ...sessionOptions(args),
  });
  const generate = cache
    ? cachedGenerator(session, s.layers, [1, s.heads, 0, s.d / s.heads])
    : fullGenerator(session);
  let generated: number[] = [];
  const timing = await measureSteps(async () => {
    generated = await generate(promptTokens, newTokens);
    return 0;
  }, timingOptions(args));
  await session.release();
  const flops = gptGenerateFlops({ ...s, batch: 1, prompt, newTokens, cache });
  const result = trainResult(timing, 1, flops, {
    threads: sessionOptions(args).intraOpThreads,
    version: VERSION,
    model: 'gpt-generate',
    cache,
    tokens_digest: digest16(`[${generated.join(', ')}]`),
    text_digest: digest16(tokenizer.decode(generated.slice(prompt))),
  });
  result.tokens_per_s = result.steps_per_s * newTokens;
  return result;
}

export const gptGenerateRecipe: MaasRecipe = { name: 'gpt-generate', run };
