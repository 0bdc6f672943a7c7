/**
 * The `hf-decoder` family: a decoder LLM uploaded as a Hugging Face-layout folder (see
 * src/platform/registry/folder-upload.ts), served with its own tokenizer, chat template,
 * end-of-sequence ids and default sampling (assets.ts) on its graph as exported (plan.ts,
 * decoder.ts).
 *
 * Unlike the zoo's small models there is no sliding window: a prompt that leaves no room in the
 * context is refused up front (OpenAI's 400 with the numbers), and generation ends with
 * `length` when prompt + answer reach the context.
 */
import { fail } from '../../common/errors';
import { failContext, Generator } from '../common/generator';
import { LogprobStream } from '../common/logprobs';
import { bindGrammar, JsonConstraint } from '../language/constrain/json-constraint';
import { buildVocabulary, type TokenVocabulary } from '../language/constrain/vocabulary';
import { registerRuntime } from '../runtimes';
import type {
  DeltaListener,
  GenerateRequest,
  GenerateResult,
  RuntimeContext,
  TextGenerationRuntime,
} from '../task';
import { loadTextAssets, type TextAssets } from './assets';
import { hfDecoder } from './decoder';
import type { DecoderPlan } from './plan';

export const HF_DECODER_FAMILY = 'hf-decoder';

/** The byte vocabulary for constrained decoding and logprobs, built once per runtime (null: not byte-level). */
function vocabularyOnce(assets: TextAssets): () => TokenVocabulary | null {
  let vocabulary: TokenVocabulary | null | undefined;
  return () => {
    if (vocabulary === undefined) {
      const bytes = assets.tokenizer.tokenBytes();
      vocabulary = bytes ? buildVocabulary(bytes, assets.eosIds) : null;
    }
    return vocabulary;
  };
}

export interface HfDecoderOptions {
  /**
   * Conditioned on when the prompt is empty (not billed), e.g. maas's gpt starts from "\n";
   * absent: an empty prompt is refused.
   */
  startText?: string;
}

interface Served {
  assets: TextAssets;
  context: number;
  makeDecoder: (tenant?: string) => ReturnType<typeof hfDecoder>;
  vocabularyOf: () => TokenVocabulary | null;
  options: HfDecoderOptions;
}

function promptOf({ assets, options }: Served, req: GenerateRequest): { ids: number[]; billed: number } {
  const { tokenizer } = assets;
  const prompt = req.promptIds
    ? [...req.promptIds]
    : tokenizer.encode(req.prompt, { addSpecialTokens: req.specialTokens ?? true });
  if (prompt.length > 0) return { ids: prompt, billed: prompt.length };
  const start = options.startText ? tokenizer.encode(options.startText, { addSpecialTokens: false }) : [];
  if (start.length === 0) fail('invalid_request', 'the prompt is empty: it encodes to no tokens');
  return { ids: start, billed: 0 };
}

async function generate(
  served: Served,
  req: GenerateRequest,
  onDelta?: DeltaListener,
  signal?: AbortSignal,
): Promise<GenerateResult> {
  const { assets, context, makeDecoder, vocabularyOf } = served;
  const { tokenizer, sampling } = assets;
  const { ids: prompt, billed } = promptOf(served, req);
  if (prompt.length >= context) failContext(context, prompt.length);
  const vocabulary = req.json || req.logprobs !== undefined ? vocabularyOf() : null;
  if (req.json && !vocabulary)
    fail('invalid_request', "this model's tokenizer is not byte-level: JSON output cannot be constrained", {
      pointer: 'response_format',
    });
  const gen = new Generator(
    {
      maxTokens: req.maxTokens ?? context - prompt.length,
      stop: req.stop,
      temperature: req.temperature ?? sampling.temperature,
      topK: req.topK ?? sampling.topK,
      topP: req.topP ?? sampling.topP,
      seed: req.seed,
      presencePenalty: req.presencePenalty,
      frequencyPenalty: req.frequencyPenalty,
      repetitionPenalty: req.repetitionPenalty ?? sampling.repetitionPenalty,
      endTokens: assets.eosIds,
      minTokens: req.minTokens,
      ignoreEos: req.ignoreEos,
      topLogprobs: req.logprobs,
      constraint:
        req.json && vocabulary
          ? new JsonConstraint(bindGrammar(req.json.root, req.json.key, vocabulary))
          : undefined,
    },
    (ids) => tokenizer.decode(ids),
  );
  const out = new LogprobStream(
    req.logprobs !== undefined,
    // With ignore_eos an eos id is an ordinary token of the answer, logprob included.
    new Set(req.ignoreEos ? [] : assets.eosIds),
    (id) => vocabulary?.bytes[id] ?? null,
    onDelta,
  );
  const seq = [...prompt];
  const decoder = makeDecoder(req.tenant);
  let fresh = true;
  try {
    while (!gen.done) {
      if (signal?.aborted) fail('client_closed', 'generation cancelled by the client');
      if (seq.length >= context) {
        out.send(gen.finish('length'), true);
        break;
      }
      const logits = await decoder.next(seq, fresh, signal);
      fresh = false;
      const step = gen.step(logits);
      out.step(step);
      seq.push(step.token);
    }
  } finally {
    decoder.close?.();
  }
  const result: GenerateResult = {
    text: gen.text,
    finishReason: gen.finishReason ?? 'length',
    promptTokens: billed,
    completionTokens: gen.completionTokens,
  };
  if (req.logprobs !== undefined) result.logprobs = out.entries;
  return result;
}

function metaPlan(meta: Readonly<Record<string, unknown>>): { plan: DecoderPlan; context: number } {
  const plan = meta.decoder as DecoderPlan | undefined;
  const context = meta.context;
  if (!plan || !Array.isArray(plan.layers) || typeof context !== 'number')
    fail('unsupported_model', 'the version has no decoder plan: upload the model folder again');
  return { plan, context };
}

function modelVocab(meta: Readonly<Record<string, unknown>>): number {
  return typeof meta.vocabSize === 'number' ? meta.vocabSize : 0;
}

export async function hfDecoderRuntime(
  ctx: RuntimeContext,
  options: HfDecoderOptions = {},
): Promise<TextGenerationRuntime> {
  const read = ctx.readFile ?? fail('unsupported_model', 'this version has no folder files to read');
  const { plan, context } = metaPlan(ctx.metadata);
  const assets = await loadTextAssets(read);
  const { tokenizer, template } = assets;
  const makeDecoder = (tenant?: string) => hfDecoder(ctx.run, plan, tenant);
  const vocabulary = vocabularyOnce(assets);
  return {
    task: 'text-generation',
    contextLength: context,
    supports: new Set(['json', 'logprobs']),
    countTokens: (text, options) =>
      tokenizer.encode(text, { addSpecialTokens: options?.specialTokens ?? true }).length,
    chatPrompt: template
      ? (messages, options) => template.render(messages, { addGenerationPrompt: true, tools: options?.tools })
      : undefined,
    acceptsTokenIds: true,
    tokenizer: {
      encode: (text, specialTokens) => tokenizer.tokens(text, { addSpecialTokens: specialTokens ?? true }),
      decode: (ids) => tokenizer.decode(ids, { skipSpecial: false }),
      // The model's vocabulary may be padded past the tokenizer's (Qwen: 151,936 vs 151,665 ids):
      // every id the model can emit or take is valid.
      vocabSize: Math.max(tokenizer.vocabSize, modelVocab(ctx.metadata)),
    },
    generate: (req, onDelta, signal) =>
      generate({ assets, context, makeDecoder, vocabularyOf: vocabulary, options }, req, onDelta, signal),
  };
}

registerRuntime(HF_DECODER_FAMILY, (ctx) => hfDecoderRuntime(ctx));
