/**
 * Task runtimes: what a served model can DO beyond raw tensors (generate text, embed, draw, speak,
 * classify, explain). A family's runtime turns task requests into tensor runs. It never owns an
 * ONNX Runtime session: the platform injects `run`, bound to its serving runtime (batching,
 * eviction, deadlines, metrics), so the same model answers /v2 infer and task endpoints alike.
 *
 * Families register a runtime factory in `src/models/runtimes.ts`; the platform's task service
 * looks up `metadata.family` of a model version and builds the runtime on demand.
 */
import type { Tensor } from '../engine/runtime/tensor';

/** Run the model version once (through the platform's runner for it). */
export type RunModel = (
  inputs: Record<string, Tensor>,
  options?: { outputs?: readonly string[]; signal?: AbortSignal },
) => Promise<Record<string, Tensor>>;

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
}

export interface GenerateRequest {
  prompt: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stop?: string[];
  seed?: number;
}
export interface GenerateResult {
  text: string;
  finishReason: 'stop' | 'length';
  promptTokens: number;
  completionTokens: number;
}
export interface TextGenerationRuntime {
  task: 'text-generation';
  contextLength: number;
  countTokens(text: string): number;
  /** Streams text deltas through `onDelta`; stops promptly when `signal` aborts. */
  generate(
    req: GenerateRequest,
    onDelta?: (delta: string) => void,
    signal?: AbortSignal,
  ): Promise<GenerateResult>;
}

export interface EmbeddingRuntime {
  task: 'embeddings';
  dimensions: number;
  countTokens(text: string): number;
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
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
export type TaskName = TaskRuntime['task'];

export type RuntimeFactory = (ctx: RuntimeContext) => TaskRuntime | Promise<TaskRuntime>;
