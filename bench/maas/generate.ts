/** maas recipe for generate-gpt: greedy generation with the GPT of train-gpt at batch 1, exported by
 * `nn.exportGpt` with (`cache` 1) or without (`cache` 0) the KV cache and run by ONNX Runtime, the
 * same loop as bench/peers/torch_gpt_generate.py. One step = one whole generation of `new_tokens`
 * tokens after a `prompt`-token prompt. The tokens are hashed as the peer does (sha256 of Python's
 * list repr, 16 hex digits) so cache and no-cache runs can be checked equal. */

import { createHash } from 'node:crypto';
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

async function run(args: ShapeArgs): Promise<ContenderOutput> {
  const s = gptShape(args);
  const cache = num(args, 'cache', 1) === 1;
  const prompt = num(args, 'prompt', 8);
  const newTokens = num(args, 'new_tokens', 56);
  if (prompt + newTokens > s.context) throw new Error('prompt + new_tokens must fit the context');
  const rng = new nn.Rng(num(args, 'seed', 0) + 1);
  const model = buildGpt(args, rng);
  // Inference graphs take `all` (ENGINE-NOTES: NCHWc/fusions suit initializer weights).
  const session = await EngineSession.create(nn.exportGpt(model, { kvCache: cache }), {
    graphOptimization: 'all',
    ...sessionOptions(args),
  });
  const generate = cache
    ? cachedGenerator(session, s.layers, [1, s.heads, 0, s.d / s.heads])
    : fullGenerator(session);
  const promptTokens = Array.from({ length: prompt }, () => rng.int(s.vocab));
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
    tokens_digest: createHash('sha256')
      .update(`[${generated.join(', ')}]`)
      .digest('hex')
      .slice(0, 16),
  });
  result.tokens_per_s = result.steps_per_s * newTokens;
  return result;
}

export const gptGenerateRecipe: MaasRecipe = { name: 'gpt-generate', run };
