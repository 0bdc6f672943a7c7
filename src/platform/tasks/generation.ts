/**
 * One text-generation request, split in two steps so a streaming endpoint can fail with a proper
 * error status before it sends its first byte: `openGeneration` validates everything (sampling
 * ranges, stop sequences, n, the prompt against the context window), `job.run` generates.
 *
 * `n` choices run concurrently (the runner may batch their steps); choice i uses seed + i, so
 * a seeded request is reproducible and its choices still differ.
 */
import { fail } from '../../common/errors';
import { normalizeStop, resolveMaxTokens } from '../../models/common/generator';
import type { TokenLogprob } from '../../models/common/logprobs';
import { type TokenUsage, textUsage } from '../../models/common/metering';
import { MAX_TOP_LOGPROBS, validateSampling } from '../../models/common/sampling';
import type { GenerateResult, JsonFormat, TextGenerationRuntime } from '../../models/task';
import type { VersionRecord } from '../../store/ports';
import { withCallerOf } from '../serving/caller';

export interface GenerationParams {
  prompt: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stop?: string[];
  seed?: number;
  /** Choices to generate (1..MAX_CHOICES). Default 1. */
  n?: number;
  /** Constrain the output to JSON of this grammar (response_format, or a forced tool call). */
  json?: JsonFormat;
  /** Report token log probabilities with this many alternatives (0..20); absent: none. */
  logprobs?: number;
  /** Tool definitions for the chat template (`tools` of Hugging Face templates), as sent. */
  tools?: readonly unknown[];
  presencePenalty?: number;
  frequencyPenalty?: number;
  repetitionPenalty?: number;
  /** vLLM's `min_tokens` and `ignore_eos` (see GenerateRequest). */
  minTokens?: number;
  ignoreEos?: boolean;
  /** Let the tokenizer add BOS etc. (plain prompts); false for a prompt a chat template rendered. */
  specialTokens?: boolean;
  /** The prompt as token ids (OpenAI's `prompt: [1, 2, 3]`), for models that take them. */
  promptIds?: number[];
  /** The calling tenant (fair share of a decoder's batch slots). */
  tenant?: string;
}

export interface GenerationOutcome {
  choices: GenerateResult[];
  /** Prompt counted once, completions of all choices added. */
  usage: TokenUsage;
}

export interface GenerationJob {
  model: string;
  version: number;
  n: number;
  promptTokens: number;
  /** Tokens each choice may generate at most. */
  maxTokens: number;
  /**
   * Text deltas arrive through `onDelta(choiceIndex, delta, logprobs)` (logprobs of the tokens since
   * the last call, when asked for); abort `signal` to stop every choice.
   */
  run(
    onDelta?: (index: number, delta: string, logprobs?: TokenLogprob[]) => void,
    signal?: AbortSignal,
  ): Promise<GenerationOutcome>;
}

export const MAX_CHOICES = 8;
/** Without max_tokens, at most this many (or what is left of the context). */
export const DEFAULT_MAX_TOKENS = 256;
const MAX_PROMPT_CHARS = 1_000_000;

const MAX_PROMPT_IDS = 1_000_000;

function checkPromptIds(ids: readonly number[], runtime: TextGenerationRuntime): void {
  if (!runtime.acceptsTokenIds || !runtime.tokenizer)
    fail('invalid_request', 'this model takes text prompts only (token-id prompts need a model folder)', {
      pointer: 'prompt',
    });
  const vocab = runtime.tokenizer.vocabSize;
  if (ids.length === 0 || ids.length > MAX_PROMPT_IDS)
    fail('invalid_request', `a token-id prompt holds 1 to ${MAX_PROMPT_IDS} ids`, { pointer: 'prompt' });
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocab)
      fail('invalid_request', `prompt[${i}] must be a token id in [0, ${vocab - 1}]`, {
        pointer: `prompt[${i}]`,
      });
  });
}

export function openGeneration(
  version: VersionRecord,
  runtime: TextGenerationRuntime,
  params: GenerationParams,
): GenerationJob {
  if (typeof params.prompt !== 'string' || params.prompt.length > MAX_PROMPT_CHARS)
    fail('invalid_request', `prompt must be a string of at most ${MAX_PROMPT_CHARS} characters`, {
      pointer: 'prompt',
    });
  validateSampling(params);
  const stop = normalizeStop(params.stop);
  const n = params.n ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > MAX_CHOICES)
    fail('invalid_request', `n must be an integer in [1, ${MAX_CHOICES}]`, { pointer: 'n' });
  if (params.seed !== undefined && (!Number.isSafeInteger(params.seed) || params.seed < 0))
    fail('invalid_request', 'seed must be a non-negative integer', { pointer: 'seed' });
  if (params.json && !runtime.supports?.has('json'))
    fail(
      'invalid_request',
      `model ${version.model} cannot constrain its output to JSON (response_format, tool_choice)`,
      {
        pointer: 'response_format',
      },
    );
  if (params.logprobs !== undefined && !runtime.supports?.has('logprobs'))
    fail('invalid_request', `model ${version.model} does not report log probabilities`, {
      pointer: 'logprobs',
    });
  const top = params.logprobs;
  if (top !== undefined && (!Number.isInteger(top) || top < 0 || top > MAX_TOP_LOGPROBS))
    fail('invalid_request', `top_logprobs must be an integer in [0, ${MAX_TOP_LOGPROBS}]`, {
      pointer: 'top_logprobs',
    });
  if (params.promptIds !== undefined) checkPromptIds(params.promptIds, runtime);
  const promptTokens =
    params.promptIds?.length ?? runtime.countTokens(params.prompt, { specialTokens: params.specialTokens });
  const maxTokens = resolveMaxTokens({
    requested: params.maxTokens,
    promptTokens,
    contextLength: runtime.contextLength,
    defaultMaxTokens: DEFAULT_MAX_TOKENS,
  });
  return {
    model: version.model,
    version: version.version,
    n,
    promptTokens,
    maxTokens,
    run: async (onDelta, outer) => {
      // One failed choice stops its siblings too; the client's abort stops them all.
      const inner = new AbortController();
      const stopAll = () => inner.abort();
      outer?.addEventListener('abort', stopAll, { once: true });
      if (outer?.aborted) stopAll();
      const signal = withCallerOf(outer, inner.signal);
      const choices = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          runtime
            .generate(
              {
                prompt: params.prompt,
                maxTokens,
                temperature: params.temperature,
                topP: params.topP,
                topK: params.topK,
                stop,
                seed: params.seed === undefined ? undefined : params.seed + i,
                json: params.json,
                logprobs: params.logprobs,
                presencePenalty: params.presencePenalty,
                frequencyPenalty: params.frequencyPenalty,
                repetitionPenalty: params.repetitionPenalty,
                minTokens: params.minTokens,
                ignoreEos: params.ignoreEos,
                specialTokens: params.specialTokens,
                promptIds: params.promptIds,
                tenant: params.tenant,
              },
              onDelta ? (delta, logprobs) => onDelta(i, delta, logprobs) : undefined,
              signal,
            )
            .catch((e: unknown) => {
              stopAll();
              throw e;
            }),
        ),
      ).finally(() => outer?.removeEventListener('abort', stopAll));
      if (outer?.aborted) fail('client_closed', 'the client closed the request');
      const completion = choices.reduce((sum, c) => sum + c.completionTokens, 0);
      return { choices, usage: textUsage(choices[0]?.promptTokens ?? promptTokens, completion) };
    },
  };
}
