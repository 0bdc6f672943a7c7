/**
 * The text-generation loop every language family here shares: tokenize, truncate the prompt to
 * the context window, then sample token by token with `Generator` (temperature, top-k, top-p,
 * seed, stop sequences, max tokens), streaming deltas and checking the AbortSignal between tokens.
 *
 * Sliding window: the model sees at most `context` tokens. When prompt + generated text would pass
 * that, the window jumps forward to the last `context − 1` tokens and the decoder starts over on
 * it (re-prefill), leaving room for one more token before the next jump.
 */
import { fail } from '../../common/errors';
import type { Tokenizer } from '../../data/index';
import { Generator } from '../common/generator';
import { LogprobStream } from '../common/logprobs';
import type { DeltaListener, GenerateRequest, GenerateResult, TextGenerationRuntime } from '../task';
import { bindGrammar, JsonConstraint } from './constrain/json-constraint';
import { vocabularyOf } from './constrain/vocabulary';
import type { Decoder } from './decoders';

/** Tokens generated when a request names no `maxTokens`. */
export const DEFAULT_MAX_TOKENS = 128;
/** Most tokens one request may generate (a sliding window lets this pass the context). */
export const MAX_GENERATED_TOKENS = 4096;

export interface TextModel {
  tokenizer: Tokenizer;
  /** Most tokens the model sees at once (GPT: its position table; recurrent: a chosen bound). */
  context: number;
  /** Fed when the prompt is empty, so the first step has something to condition on (not billed). */
  startText: string;
  makeDecoder(): Decoder;
}

function resolveMax(requested: number | undefined): number {
  if (requested === undefined) return DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(requested) || requested < 1 || requested > MAX_GENERATED_TOKENS) {
    fail(
      'invalid_request',
      `max_tokens must be an integer from 1 to ${MAX_GENERATED_TOKENS}, got ${requested}`,
    );
  }
  return requested;
}

export async function generateText(
  model: TextModel,
  req: GenerateRequest,
  onDelta?: DeltaListener,
  signal?: AbortSignal,
): Promise<GenerateResult> {
  const vocabulary = req.json || req.logprobs !== undefined ? vocabularyOf(model.tokenizer) : null;
  const gen = new Generator(
    {
      maxTokens: resolveMax(req.maxTokens),
      stop: req.stop,
      temperature: req.temperature,
      topK: req.topK,
      topP: req.topP,
      seed: req.seed,
      topLogprobs: req.logprobs,
      // No end token in these vocabularies: min_tokens is only checked, ignore_eos changes nothing.
      minTokens: req.minTokens,
      ignoreEos: req.ignoreEos,
      constraint:
        req.json && vocabulary
          ? new JsonConstraint(bindGrammar(req.json.root, req.json.key, vocabulary))
          : undefined,
    },
    (ids) => model.tokenizer.decode(ids),
  );
  const out = new LogprobStream(
    req.logprobs !== undefined,
    new Set(vocabulary?.endTokens ?? []),
    (id) => vocabulary?.bytes[id] ?? null,
    onDelta,
  );
  const prompt = model.tokenizer.encode(req.prompt);
  const seq = prompt.length > 0 ? prompt.slice(-model.context) : model.tokenizer.encode(model.startText);
  if (seq.length === 0) fail('internal', 'the start text encodes to no tokens');
  const decoder = model.makeDecoder();
  let start = 0;
  let fresh = true;
  try {
    while (!gen.done) {
      if (signal?.aborted) fail('client_closed', 'generation cancelled by the client');
      const logits = await decoder.next(seq.slice(start), fresh, signal);
      fresh = false;
      const step = gen.step(logits);
      out.step(step);
      seq.push(step.token);
      if (seq.length - start > model.context) {
        start = seq.length - (model.context - 1);
        fresh = true;
      }
    }
  } finally {
    decoder.close?.();
  }
  const result: GenerateResult = {
    text: gen.text,
    finishReason: gen.finishReason ?? 'length',
    promptTokens: prompt.length,
    completionTokens: gen.completionTokens,
  };
  if (req.logprobs !== undefined) result.logprobs = out.entries;
  return result;
}

export function textGenerationRuntime(model: TextModel): TextGenerationRuntime {
  return {
    task: 'text-generation',
    contextLength: model.context,
    supports: new Set(['json', 'logprobs']),
    countTokens: (text) => model.tokenizer.encode(text).length,
    tokenizer: {
      encode: (text) => {
        const ids = model.tokenizer.encode(text);
        return { ids, tokens: ids.map((id) => model.tokenizer.decode([id])) };
      },
      decode: (ids) => model.tokenizer.decode(ids),
      vocabSize: model.tokenizer.vocabSize,
    },
    generate: (req, onDelta, signal) => generateText(model, req, onDelta, signal),
  };
}
