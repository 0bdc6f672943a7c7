/**
 * Task runtimes: what a served model can DO beyond raw tensors (generate text, embed, draw, speak,
 * classify, explain). A family's runtime turns task requests into tensor runs. It never owns an
 * ONNX Runtime session: the platform injects `run`, bound to its serving runtime (batching,
 * eviction, deadlines, metrics), so the same model answers /v2 infer and task endpoints alike.
 *
 * Families register a runtime factory in `src/models/runtimes.ts`; the platform's task service
 * looks up `metadata.family` of a model version and builds the runtime on demand.
 */
import type { RuntimeTask } from '../common/kinds';
import type { BatchPlan, Feedback } from '../engine/index';
import type { Tensor } from '../engine/runtime/tensor';
import type { TokenLogprob } from './common/logprobs';
import type { ValueNode } from './language/constrain/schema';

export interface RunOptions {
  outputs?: readonly string[];
  signal?: AbortSignal;
}

/**
 * A sequence of runs whose fed-back outputs (`Feedback`: output name → input name) stay where
 * the model runs: each `run` returns only the other outputs, and the next run gets the state as
 * those inputs unless it passes them itself. `close` frees the state; call it when done.
 */
export interface ModelSequence {
  run(inputs: Record<string, Tensor>, options?: RunOptions): Promise<Record<string, Tensor>>;
  close(): void;
  /**
   * The most tokens one run should take: a longer prompt is prefilled in chunks (batching only).
   * `signal`: the request's, as its runs get (it opens the sequence, as that request's: caller.ts).
   */
  prefillChunk?: (signal?: AbortSignal) => Promise<number | undefined>;
}

/** How a sequence may join others (continuous batching, `BatchPlan`) and whose it is. */
export interface SequenceOptions {
  batch?: BatchPlan;
  tenant?: string;
}

/**
 * Run the model version once (through the platform's runner for it). `sequence`, where the
 * platform offers it, opens a sequence of runs (a decoder's steps) whose state never leaves the
 * model's thread; it hangs on the run function itself so a family that hands `ctx.run` to a
 * decoder gets it without knowing. Without it a decoder keeps the state itself (`localSequence`).
 */
export interface RunModel {
  (inputs: Record<string, Tensor>, options?: RunOptions): Promise<Record<string, Tensor>>;
  sequence?: (feedback: Feedback, options?: SequenceOptions) => ModelSequence;
}

export interface RuntimeContext {
  run: RunModel;
  /** The version's free-form metadata as registered (tokenizer spec, labels, feature spec, ...). */
  metadata: Readonly<Record<string, unknown>>;
  /**
   * Run an ONNX file derived from this version by its family, by role (e.g. `saliency`: see
   * `derivedArtifactBuilder` in ./explain); built and stored on first use by the platform, served
   * by the same runner pool. Absent where the platform cannot store derived files.
   */
  runArtifact?: (role: string) => RunModel;
  /**
   * A file of the version's uploaded folder by its folder path (`tokenizer.json`), null when the
   * folder has none; absent for single-file versions.
   */
  readFile?: (path: string) => Promise<Uint8Array | null>;
  /** The version's inputs and outputs as read from its ONNX file. */
  signature?: { inputs: GraphValue[]; outputs: GraphValue[] };
}

/** A graph input or output: dtype name, dims (symbolic ones as their name). */
export interface GraphValue {
  name: string;
  dtype: string;
  shape: (number | string)[];
}

export interface GenerateRequest {
  prompt: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stop?: string[];
  seed?: number;
  /** The output must be JSON of this grammar (constrained decoding; `compileSchema`). */
  json?: JsonFormat;
  /** Report each token's log probability and this many alternatives (0..20); absent: none. */
  logprobs?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  repetitionPenalty?: number;
  /** vLLM's `min_tokens`: the model's end tokens cannot come before this many tokens. */
  minTokens?: number;
  /** vLLM's `ignore_eos`: the model's end tokens do not end the text. */
  ignoreEos?: boolean;
  /**
   * Let the tokenizer add its special tokens (BOS, …) around the prompt, as transformers does for
   * plain text. False for a prompt a chat template rendered: it holds them already. Default true.
   */
  specialTokens?: boolean;
  /** The prompt as token ids (OpenAI's `prompt: [1, 2, 3]`); `prompt` is then ignored. */
  promptIds?: readonly number[];
  /** The calling tenant: waiting sequences get a decoder's batch slots round-robin by tenant. */
  tenant?: string;
}

/** A compiled JSON grammar; `key` names it for caches shared across requests (the schema's JSON). */
export interface JsonFormat {
  root: ValueNode;
  key: string;
}

export interface GenerateResult {
  text: string;
  finishReason: 'stop' | 'length';
  promptTokens: number;
  completionTokens: number;
  /** One entry per generated token (end tokens excluded), when `logprobs` was asked for. */
  logprobs?: TokenLogprob[];
}

export type GenerationFeature = 'json' | 'logprobs';

/** Text that became final, with the log probabilities of the tokens since the last call (if asked). */
export type DeltaListener = (delta: string, logprobs?: TokenLogprob[]) => void;

export interface ChatTurn {
  role: string;
  content: string;
}

/** A model's own tokenizer, for counting and inspecting tokens. */
export interface TokenInspector {
  encode(text: string, specialTokens?: boolean): { ids: number[]; tokens: string[] };
  decode(ids: readonly number[]): string;
  readonly vocabSize: number;
}

export interface TextGenerationRuntime {
  task: 'text-generation';
  contextLength: number;
  countTokens(text: string, options?: { specialTokens?: boolean }): number;
  /** Request features it honours (`json`: GenerateRequest.json; `logprobs`); others are refused. */
  supports?: ReadonlySet<GenerationFeature>;
  /**
   * The model's own chat template (a folder's Jinja template): messages → the prompt, which then
   * generates with `specialTokens: false`. Absent: the platform's simple template applies.
   */
  chatPrompt?(messages: readonly ChatTurn[], options?: { tools?: readonly unknown[] }): string;
  tokenizer?: TokenInspector;
  /** Whether `GenerateRequest.promptIds` is honoured (a model with its own tokenizer file). */
  acceptsTokenIds?: boolean;
  /** Streams text deltas through `onDelta`; stops promptly when `signal` aborts. */
  generate(req: GenerateRequest, onDelta?: DeltaListener, signal?: AbortSignal): Promise<GenerateResult>;
}

export interface EmbeddingRuntime {
  task: 'embeddings';
  dimensions: number;
  countTokens(text: string): number;
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
  /**
   * Indexes of the texts with no token the model knows (their vector says nothing: all zeros
   * for word2vec), so the answer can say so instead of returning it silently.
   */
  textsWithoutKnownTokens?(texts: readonly string[]): number[];
  /** Nearest words/items to a text, when the family has a vocabulary (word2vec). */
  neighbours?(text: string, k: number): Promise<{ item: string; score: number }[]>;
}

export interface ImageGenerationRuntime {
  task: 'image-generation';
  /** PNG bytes, each `width`×`height`. */
  generate(
    req: {
      prompt: string;
      n: number;
      width: number;
      height: number;
      seed?: number;
      style?: Record<string, unknown>;
    },
    signal?: AbortSignal,
  ): Promise<Uint8Array[]>;
}

export interface ClassificationRuntime {
  task: 'classification';
  classify(
    inputs: readonly unknown[],
    signal?: AbortSignal,
  ): Promise<{ label: string; probabilities: Record<string, number> }[]>;
}

export type TaskRuntime =
  | TextGenerationRuntime
  | EmbeddingRuntime
  | ImageGenerationRuntime
  | ClassificationRuntime;
/** Every runtime's task is one of the shared list's, and every one of those has a runtime. */
type RuntimeTasksMatch = [TaskRuntime['task']] extends [RuntimeTask]
  ? [RuntimeTask] extends [TaskRuntime['task']]
    ? true
    : never
  : never;
// A compile-time check: tsc fails here when a runtime's task and the list disagree.
const _runtimeTasksMatch: RuntimeTasksMatch = true;

export type RuntimeFactory = (ctx: RuntimeContext) => TaskRuntime | Promise<TaskRuntime>;
