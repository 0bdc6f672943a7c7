/**
 * The task service: what a model can DO (generate, embed, draw, classify, speak) on top of the
 * registry and the serving runtime. Given (owner, model, ref) it resolves the version, reads
 * `metadata.family`, builds that family's runtime (`src/models/runtimes.ts`) with `run` bound to
 * `InferenceService.infer` for exactly that version (so batching, queues, deadlines and metrics
 * apply), and caches the runtime per version until the version is removed. Speech is built in:
 * virtual models (`tts`, ...) over the installed speech engines. Every outcome carries its usage in
 * metering units (tokens, images, audio seconds).
 *
 * API surfaces (native /api/v1, OpenAI /v1) translate their wire formats onto these calls.
 */
import { fail, isMaasError } from '../../common/errors';
import type { RuntimeTask, ServingTask } from '../../common/kinds';
import type { Tensor } from '../../engine/runtime/tensor';
import { MAX_IMAGE_SIDE } from '../../models/common/image';
import {
  audioUsage,
  type ImageUsage,
  imageUsage,
  type TokenUsage,
  textUsage,
} from '../../models/common/metering';
import {
  derivedArtifactBuilder,
  type Explainer,
  type ExplainRequest,
  type Explanation,
  explainerFor,
  explainKey,
  runtimeFor,
} from '../../models/index';
import type {
  RunModel,
  RuntimeContext,
  RuntimeFactory,
  TaskRuntime,
  TokenInspector,
} from '../../models/task';
import { type SpeechResult, TextToSpeech } from '../../models/tts/speech';
import type { ModelRecord, VersionRecord } from '../../store/ports';
import type { ArtifactStore } from '../artifacts/artifacts';
import type { Registry } from '../registry/registry';
import { anySignal } from '../serving/caller';
import type { InferenceService } from '../serving/inference';
import { type ChatMessage, chatStops, chatTemplateOf, renderChat } from './chat';
import { type DerivedBuilders, DerivedModels } from './derived';
import { type GenerationJob, type GenerationParams, openGeneration } from './generation';
import { type PredictOutcome, predictFromInputs } from './predict';
import { defaultSpeechModels, type SpeechModels, type SpeechOutcome } from './speech';

export interface TaskTarget {
  owner: string;
  model: string;
  /** A version number or alias; absent = latest. */
  ref?: string;
  /** The calling tenant (fair share of a decoder's batch slots). */
  caller?: string;
}

type RuntimeOf<T extends RuntimeTask> = Extract<TaskRuntime, { task: T }>;

export interface TaskServiceDeps {
  registry: Registry;
  inference: InferenceService;
  /** Default: a TextToSpeech over process.env's PATH. */
  speech?: TextToSpeech;
  speechModels?: SpeechModels;
  /** Family → runtime factory. Default: the runtime registry. */
  runtimes?: (family: string) => RuntimeFactory | undefined;
  /** Where derived files (saliency graphs) are stored; without it `runArtifact` is unavailable. */
  artifacts?: ArtifactStore;
  /** (family, role) → derived-file builder. Default: the models layer's table. */
  derivedBuilders?: DerivedBuilders;
  /** Deadline of one image request, render and PNG encoding included (ms). Default 30,000. */
  requestTimeoutMs?: number;
}

export interface ListedModel {
  id: string;
  createdAt: string;
  /** 'builtin' for the virtual speech models. */
  kind: 'registered' | 'builtin';
}

/**
 * Per-request bounds. `maxImagePixels` (n × width × height) keeps one image request's render and
 * PNG encoding (on the event loop) to a fraction of a second: 4096×4096 × 10 took ≈ 2 s of loop
 * per image and ran past the request deadline.
 */
const LIMITS = {
  maxInputs: 2048,
  maxInputChars: 100_000,
  maxImages: 10,
  maxClassify: 1024,
  maxImagePixels: 2048 * 2048,
};

/**
 * A prompt is tokenised on the API's event loop (≈ 1 s per 100,000 characters on a loaded 2-core
 * machine): without this bound one 30 MB prompt (under MAAS_MAX_JSON_BYTES) held it for minutes.
 */
function checkPromptLength<T extends string | undefined>(prompt: T, pointer: string): T {
  if (prompt !== undefined && prompt.length > LIMITS.maxInputChars)
    fail(
      'invalid_request',
      `the prompt is ${prompt.length} characters, more than ${LIMITS.maxInputChars}: no model here has a context that long`,
      { pointer },
    );
  return prompt;
}

export class TaskService {
  private readonly cache = new Map<string, Promise<TaskRuntime>>();
  private readonly registry: Registry;
  private readonly inference: InferenceService;
  private speechEngine: TextToSpeech | undefined;
  readonly speechModels: SpeechModels;
  private readonly runtimes: (family: string) => RuntimeFactory | undefined;
  private readonly derived: DerivedModels | null;
  private readonly explainers = new Map<string, Explainer>();
  private readonly requestTimeoutMs: number;

  constructor(deps: TaskServiceDeps) {
    this.registry = deps.registry;
    this.inference = deps.inference;
    this.speechEngine = deps.speech;
    this.speechModels = deps.speechModels ?? defaultSpeechModels();
    this.runtimes = deps.runtimes ?? runtimeFor;
    this.requestTimeoutMs = deps.requestTimeoutMs ?? 30_000;
    this.derived = deps.artifacts
      ? new DerivedModels(deps.registry, deps.artifacts, deps.derivedBuilders ?? derivedArtifactBuilder)
      : null;
    this.registry.onVersionRemoved((v) => {
      this.cache.delete(cacheKey(v));
      this.explainers.delete(cacheKey(v));
    });
  }

  /** Created on first use: most servers never speak. */
  get speech(): TextToSpeech {
    this.speechEngine ??= new TextToSpeech();
    return this.speechEngine;
  }

  /** The runtime of a model version for `task`; another task → 400 naming what it can do. */
  async runtime<T extends RuntimeTask>(
    target: TaskTarget,
    task: T,
  ): Promise<{ version: VersionRecord; runtime: RuntimeOf<T> }> {
    let version: VersionRecord;
    try {
      version = await this.registry.resolve(target.owner, target.model, target.ref);
    } catch (e) {
      if (isMaasError(e) && e.code === 'not_found' && this.speechModels.get(target.model)) {
        this.wrongTask(target.model, 'speech', task);
      }
      throw e;
    }
    const runtime = await this.load(version);
    if (runtime.task !== task) this.wrongTask(target.model, runtime.task, task);
    return { version, runtime: runtime as RuntimeOf<T> };
  }

  /** Tenant's models (latest versions) and the built-in speech models, for `/v1/models`. */
  async listModels(owner: string): Promise<ListedModel[]> {
    const own: ModelRecord[] = await this.registry.listModels(owner);
    const names = new Set(own.map((m) => m.name));
    return [
      ...own.map((m) => ({ id: m.name, createdAt: m.createdAt, kind: 'registered' as const })),
      ...this.speechModels
        .list()
        .filter((s) => !names.has(s.id))
        .map((s) => ({ id: s.id, createdAt: '1970-01-01T00:00:00.000Z', kind: 'builtin' as const })),
    ];
  }

  /** Validate and resolve a generation; errors are thrown here, before any byte is streamed. */
  async generation(target: TaskTarget, params: GenerationParams): Promise<GenerationJob> {
    checkPromptLength(params.prompt, 'prompt');
    const { version, runtime } = await this.runtime(target, 'text-generation');
    return openGeneration(version, runtime, { ...params, tenant: target.caller });
  }

  /**
   * Chat: messages rendered by the model's own chat template (a folder's Jinja template, rendered
   * with its special tokens, so the prompt is encoded without adding more), or by the version's
   * simple template; then a generation. `tools` are rendered by a Jinja template only.
   */
  async chat(
    target: TaskTarget,
    messages: readonly ChatMessage[],
    params: Omit<GenerationParams, 'prompt'>,
    tools?: readonly unknown[],
  ): Promise<GenerationJob> {
    const { version, runtime } = await this.runtime(target, 'text-generation');
    if (runtime.chatPrompt) {
      const prompt = checkPromptLength(runtime.chatPrompt(messages, { tools }), 'messages');
      return openGeneration(version, runtime, {
        ...params,
        prompt,
        specialTokens: false,
        tenant: target.caller,
      });
    }
    // maas's simple template cannot describe tools to the model: a forced call (tool_choice
    // required or named) still comes back as tool_calls through constrained decoding.
    const template = chatTemplateOf(version.metadata);
    return openGeneration(version, runtime, {
      ...params,
      tenant: target.caller,
      prompt: checkPromptLength(renderChat(messages, template), 'messages'),
      stop: chatStops(params.stop ?? [], template),
    });
  }

  /** The tokenizer of a text-generation model, for counting and inspecting tokens. */
  async tokenizer(target: TaskTarget): Promise<{ version: VersionRecord; tokenizer: TokenInspector }> {
    const { version, runtime } = await this.runtime(target, 'text-generation');
    const tokenizer =
      runtime.tokenizer ??
      fail('invalid_request', `model '${target.model}' has no tokenizer to inspect`, { pointer: 'model' });
    return { version, tokenizer };
  }

  async embed(
    target: TaskTarget,
    texts: readonly string[],
    signal?: AbortSignal,
  ): Promise<{
    model: string;
    version: number;
    dimensions: number;
    vectors: Float32Array[];
    usage: TokenUsage;
    /** `input[2]: no word of this text is in the model's vocabulary; …` (none: empty). */
    warnings: { pointer: string; code: 'no_known_token'; detail: string }[];
  }> {
    checkTexts(texts);
    const { version, runtime } = await this.runtime(target, 'embeddings');
    const promptTokens = texts.reduce((n, t) => n + runtime.countTokens(t), 0);
    const vectors = await runtime.embed(texts, signal);
    const warnings = (runtime.textsWithoutKnownTokens?.(texts) ?? []).map((i) => ({
      pointer: `input[${i}]`,
      code: 'no_known_token' as const,
      detail: `input[${i}]: no word of this text is in the model's vocabulary; its embedding is all zeros`,
    }));
    return {
      model: version.model,
      version: version.version,
      dimensions: runtime.dimensions,
      vectors,
      usage: textUsage(promptTokens),
      warnings,
    };
  }

  async imagine(
    target: TaskTarget,
    req: {
      prompt: string;
      n: number;
      width: number;
      height: number;
      seed?: number;
      style?: Record<string, unknown>;
    },
    signal?: AbortSignal,
  ): Promise<{ model: string; version: number; images: Uint8Array[]; seed?: number; usage: ImageUsage }> {
    if (typeof req.prompt !== 'string' || req.prompt.length > LIMITS.maxInputChars)
      fail('invalid_request', `prompt must be a string of at most ${LIMITS.maxInputChars} characters`);
    integerIn('n', req.n, 1, LIMITS.maxImages);
    integerIn('width', req.width, 1, MAX_IMAGE_SIDE);
    integerIn('height', req.height, 1, MAX_IMAGE_SIDE);
    const pixels = req.n * req.width * req.height;
    if (pixels > LIMITS.maxImagePixels)
      fail(
        'invalid_request',
        `n × width × height is ${pixels} pixels, more than ${LIMITS.maxImagePixels} per request: ask for fewer or smaller images`,
        { pointer: 'size' },
      );
    if (req.seed !== undefined) integerIn('seed', req.seed, 0, Number.MAX_SAFE_INTEGER);
    const { version, runtime } = await this.runtime(target, 'image-generation');
    const deadline = AbortSignal.timeout(this.requestTimeoutMs);
    let images: Uint8Array[];
    try {
      images = await runtime.generate(req, signal ? anySignal([signal, deadline]) : deadline);
    } catch (e) {
      if (deadline.aborted)
        fail(
          'deadline_exceeded',
          `image generation took longer than ${this.requestTimeoutMs} ms (MAAS_REQUEST_TIMEOUT_MS): ask for fewer or smaller images`,
        );
      throw e;
    }
    return {
      model: version.model,
      version: version.version,
      images,
      seed: req.seed,
      usage: imageUsage(images.length, req.width, req.height),
    };
  }

  async classify(
    target: TaskTarget,
    inputs: readonly unknown[],
    signal?: AbortSignal,
  ): Promise<{
    model: string;
    version: number;
    predictions: { label: string; probabilities: Record<string, number> }[];
  }> {
    if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > LIMITS.maxClassify)
      fail('invalid_request', `inputs must be a list of 1 to ${LIMITS.maxClassify} items`, {
        pointer: 'inputs',
      });
    const { version, runtime } = await this.runtime(target, 'classification');
    const predictions = await runtime.classify(inputs, signal);
    return { model: version.model, version: version.version, predictions };
  }

  /** Labels or values from raw rows, texts or images, through the version's feature spec (predict.ts). */
  predict(
    target: TaskTarget,
    inputs: unknown,
    options: { strict?: boolean; signal?: AbortSignal } = {},
  ): Promise<PredictOutcome> {
    return predictFromInputs({ registry: this.registry, inference: this.inference }, target, inputs, options);
  }

  /** Speech through a built-in speech model (`tts`, `tts-1`, `espeak-ng`, `flite`). */
  async speak(
    target: TaskTarget,
    req: { input: string; voice?: string; speed?: number },
    signal?: AbortSignal,
  ): Promise<SpeechOutcome> {
    const builtin = this.speechModels.get(target.model);
    if (!builtin) {
      // A registered model: say what it does instead (or 404 when it does not exist).
      const version = await this.registry.resolve(target.owner, target.model, target.ref);
      this.wrongTask(target.model, (await this.load(version)).task, 'speech');
    }
    // The request deadline covers the queue, the engine and the re-encoding, like image generation.
    const deadline = AbortSignal.timeout(this.requestTimeoutMs);
    let result: SpeechResult;
    try {
      result = await this.speech.synthesize({
        text: req.input,
        voice: req.voice,
        speed: req.speed,
        engine: builtin.engine,
        signal: signal ? anySignal([signal, deadline]) : deadline,
      });
    } catch (e) {
      if (deadline.aborted && !signal?.aborted)
        fail(
          'deadline_exceeded',
          `speech took longer than ${this.requestTimeoutMs} ms (MAAS_REQUEST_TIMEOUT_MS): send a shorter input`,
        );
      throw e;
    }
    return {
      model: builtin.id,
      wav: result.wav,
      durationSeconds: result.durationSeconds,
      engine: result.engine,
      voice: result.voice,
      usage: audioUsage(result.durationSeconds),
    };
  }

  private wrongTask(model: string, does: ServingTask, asked: ServingTask): never {
    return fail('invalid_request', `model '${model}' can do ${does}, not ${asked}`, { pointer: 'model' });
  }

  private load(version: VersionRecord): Promise<TaskRuntime> {
    const key = cacheKey(version);
    let runtime = this.cache.get(key);
    if (!runtime) {
      runtime = this.build(version);
      this.cache.set(key, runtime);
      runtime.catch(() => this.cache.delete(key));
    }
    return runtime;
  }

  private async build(version: VersionRecord): Promise<TaskRuntime> {
    const family = version.metadata.family;
    if (typeof family !== 'string') {
      fail(
        'invalid_request',
        `model '${version.model}' has no family in its metadata: it can do tensor inference only (POST /v2/models/${version.model}/infer)`,
        { pointer: 'model' },
      );
    }
    const factory =
      this.runtimes(family) ??
      fail(
        'invalid_request',
        `model '${version.model}' is of family '${family.slice(0, 64)}', which has no task runtime on this server: it can do tensor inference only (/v2)`,
        { pointer: 'model' },
      );
    return factory(this.contextOf(version));
  }

  /**
   * Input-gradient saliency of a classifier (image heat map, token or feature scores) through its
   * family's explainer; a family without one, or a model that is not a classifier → 422.
   */
  async explain(
    target: TaskTarget,
    req: ExplainRequest,
  ): Promise<{ model: string; version: number; explanation: Explanation }> {
    const version = await this.registry.resolve(target.owner, target.model, target.ref);
    const explanation = await this.explainerOf(version).explain(req);
    return { model: version.model, version: version.version, explanation };
  }

  private explainerOf(version: VersionRecord): Explainer {
    const key = cacheKey(version);
    const known = this.explainers.get(key);
    if (known) return known;
    const family = explainKey(version.metadata);
    const row = family ? explainerFor(family) : undefined;
    if (!row)
      fail(
        'not_explainable',
        typeof family === 'string'
          ? `model '${version.model}' is of family '${family.slice(0, 64)}', which has no explanations (image, text and tabular classifiers do)`
          : `model '${version.model}' was not trained by maas and the engine cannot import it (missing ops: ${(version.metadata.missing_ops as string[] | undefined)?.join(', ') || 'unknown: uploaded before imports were recorded'})`,
        { pointer: 'model' },
      );
    const explainer = row.create(this.contextOf(version));
    this.explainers.set(key, explainer);
    return explainer;
  }

  /** `run` and `runArtifact` bound to the inference service for exactly this version. */
  private contextOf(version: VersionRecord): RuntimeContext {
    const { owner, model } = version;
    const ref = String(version.version);
    const run: RunModel = async (inputs: Record<string, Tensor>, options) =>
      (
        await this.inference.infer(owner, model, ref, {
          inputs,
          outputs: options?.outputs,
          signal: options?.signal,
        })
      ).outputs;
    // Decoders step through sequences: the state stays in the model's thread, the runner is
    // resolved once per generation instead of once per token.
    run.sequence = (feedback, options) => {
      const seq = this.inference.sequence(owner, model, ref, feedback, options);
      return {
        run: (inputs, o) => seq.run({ inputs, outputs: o?.outputs, signal: o?.signal }),
        close: () => seq.close(),
        prefillChunk: (signal) => seq.prefillChunk(signal),
      };
    };
    const derived = this.derived;
    const runArtifact = derived
      ? (role: string): RunModel =>
          async (inputs, options) =>
            this.inference.inferDerived(version, await derived.get(version, role), {
              inputs,
              outputs: options?.outputs,
              signal: options?.signal,
            })
      : undefined;
    const readFile = Array.isArray(version.metadata.files)
      ? (path: string) => this.registry.readFolderFile(version, path)
      : undefined;
    return { run, metadata: version.metadata, runArtifact, readFile, signature: version.signature };
  }
}

const cacheKey = (v: VersionRecord) => `${v.owner}\u0000${v.model}\u0000${v.version}`;

function integerIn(name: string, v: unknown, lo: number, hi: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    fail('invalid_request', `${name} must be an integer in [${lo}, ${hi}]`, { pointer: name });
}

function checkTexts(texts: readonly string[]): void {
  if (!Array.isArray(texts) || texts.length === 0 || texts.length > LIMITS.maxInputs)
    fail('invalid_request', `input must be a string or a list of 1 to ${LIMITS.maxInputs} strings`, {
      pointer: 'input',
    });
  texts.forEach((t, i) => {
    if (typeof t !== 'string' || t.length === 0 || t.length > LIMITS.maxInputChars)
      fail(
        'invalid_request',
        `input[${i}] must be a non-empty string of at most ${LIMITS.maxInputChars} characters`,
        {
          pointer: `input[${i}]`,
        },
      );
  });
}
