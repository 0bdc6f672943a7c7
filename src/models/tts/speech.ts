/**
 * Text-to-speech over the registered engines: validate the request, pick an installed engine,
 * run it as a child process under limits, and return a clean PCM16 WAV with its duration.
 *
 *   const tts = new TextToSpeech({ env: process.env });
 *   const { wav, durationSeconds } = await tts.synthesize({ text: 'Hello.', voice: 'en-gb', speed: 1.2 });
 */
import { fail, isMaasError, MaasError } from '../../common/errors';
import { type Audio, audioDuration } from '../common/audio';
import { toPcm16Wav } from '../common/wav-stream';
import {
  defaultSpeechEngines,
  type EngineRunner,
  openAIVoiceAliases,
  type SpeechEngine,
  type SpeechEngineRegistry,
  type Voice,
} from './engines';
import { findExecutable, runProcess } from './process';

export interface TextToSpeechOptions {
  engines?: SpeechEngineRegistry;
  /** Environment for lookups and children; PATH decides which engines are found. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Per synthesis, ms. Default 30,000. */
  timeoutMs?: number;
  /** Largest WAV an engine may produce, bytes. Default 32 MiB (≈ 12 min of 22 kHz PCM16). */
  maxOutputBytes?: number;
  /** Longest input, in characters (Unicode code points). Default 4,096 (OpenAI's limit). */
  maxTextChars?: number;
  /** Engine processes at once (each takes about one core). Default 2. */
  maxConcurrent?: number;
  /** Requests waiting for a slot; one more is refused with queue_full (429). Default 32. */
  maxQueued?: number;
  /** Alias → engine name → voice id. Default: OpenAI's voice names (`openAIVoiceAliases`). */
  voiceAliases?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export interface SpeechRequest {
  text: string;
  /** A voice id from `voices()`, `id+variant` where the engine has variants, or an alias; default: the engine's. */
  voice?: string;
  /** 0.25..4, 1 = normal pace. Default 1. */
  speed?: number;
  /** An engine name; default: the first installed engine in registry order. */
  engine?: string;
  /** Abort when the client goes away: a queued request leaves the queue, a running engine is killed. */
  signal?: AbortSignal;
}

export interface SpeechResult {
  /** PCM16 WAV with exact header sizes. */
  wav: Buffer;
  audio: Audio;
  durationSeconds: number;
  engine: string;
  voice: string;
}

export interface EngineStatus {
  name: string;
  available: boolean;
  install: string;
}

export const MIN_SPEED = 0.25;
export const MAX_SPEED = 4;

export class TextToSpeech {
  private readonly engines: SpeechEngineRegistry;
  private readonly env: NodeJS.ProcessEnv;
  private readonly timeoutMs: number;
  private readonly maxOutputBytes: number;
  readonly maxTextChars: number;
  private readonly voiceCache = new Map<string, Promise<Voice[]>>();
  private readonly variantCache = new Map<string, Promise<string[]>>();
  private readonly aliases: Readonly<Record<string, Readonly<Record<string, string>>>>;
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(options: TextToSpeechOptions = {}) {
    this.engines = options.engines ?? defaultSpeechEngines();
    this.env = options.env ?? process.env;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxOutputBytes = options.maxOutputBytes ?? 32 * 1024 * 1024;
    this.maxTextChars = options.maxTextChars ?? 4096;
    this.maxConcurrent = options.maxConcurrent ?? 2;
    this.maxQueued = options.maxQueued ?? 32;
    this.aliases = options.voiceAliases ?? openAIVoiceAliases;
  }

  /** Requests running and waiting now, for metrics and tests. */
  get load(): { running: number; queued: number } {
    return { running: this.running, queued: this.waiting.length };
  }

  /** Every registered engine and whether its binary is on PATH now (installing one needs no restart). */
  async status(): Promise<EngineStatus[]> {
    return Promise.all(
      this.engines.list().map(async (e) => ({
        name: e.name,
        available: (await findExecutable(e.binary, this.env.PATH)) !== null,
        install: e.install,
      })),
    );
  }

  /** Voices of one engine, or of every installed engine. */
  async voices(engineName?: string): Promise<Voice[]> {
    if (engineName !== undefined) {
      const { engine, path } = await this.resolve(engineName);
      return this.voicesOf(engine, this.runnerFor(engine, path));
    }
    const all: Voice[] = [];
    for (const s of await this.status()) {
      if (s.available) all.push(...(await this.voices(s.name)));
    }
    return all;
  }

  async synthesize(request: SpeechRequest): Promise<SpeechResult> {
    const text = this.checkText(request.text);
    const speed = request.speed ?? 1;
    if (typeof speed !== 'number' || !(speed >= MIN_SPEED && speed <= MAX_SPEED)) {
      fail('invalid_request', `speed must be a number in [${MIN_SPEED}, ${MAX_SPEED}], got ${String(speed)}`);
    }
    const { engine, path } = await this.resolve(request.engine);
    const voice = await this.resolveVoice(engine, path, request.voice);
    await this.acquire(request.signal);
    let bytes: Uint8Array;
    try {
      bytes = await engine.synthesize(this.runnerFor(engine, path, request.signal), { text, voice, speed });
    } finally {
      this.release();
    }
    let clean: { audio: Audio; wav: Buffer };
    try {
      // In batches between loop turns: a long text's output is megabytes of samples.
      clean = await toPcm16Wav(bytes, request.signal);
    } catch (err) {
      if (isMaasError(err) && err.code === 'invalid_request')
        fail('inference_failed', `${engine.name} did not produce readable audio`);
      throw err;
    }
    const { audio, wav } = clean;
    return {
      wav,
      audio,
      durationSeconds: audioDuration(audio),
      engine: engine.name,
      voice,
    };
  }

  /** Wait for one of `maxConcurrent` slots; the queue is bounded and leaves on abort. */
  private async acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) fail('client_closed', 'speech request was cancelled');
    if (this.running < this.maxConcurrent) {
      this.running++;
      return;
    }
    if (this.waiting.length >= this.maxQueued) {
      fail('queue_full', 'text-to-speech is busy; retry shortly', { retryAfterSeconds: 1 });
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.waiting.splice(this.waiting.indexOf(grant), 1);
        reject(new MaasError('client_closed', 'speech request was cancelled'));
      };
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Hand the slot straight to the next waiter (so `running` stays), or free it. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  private checkText(text: unknown): string {
    if (typeof text !== 'string' || text.trim().length === 0)
      fail('invalid_request', 'input text must be a non-empty string');
    if (text.includes('\0')) fail('invalid_request', 'input text must not contain NUL characters');
    let chars = 0;
    for (const _ of text) {
      if (++chars > this.maxTextChars) {
        fail('invalid_request', `input text is longer than ${this.maxTextChars} characters`);
      }
    }
    return text;
  }

  /**
   * The engine's voice id for a request: an alias is translated, then the id (and its `+variant`)
   * must be one the engine listed, so nothing else (a path, an option) ever reaches its `-v`.
   */
  private async resolveVoice(engine: SpeechEngine, path: string, requested: unknown): Promise<string> {
    if (requested !== undefined && typeof requested !== 'string')
      fail('invalid_request', 'voice must be a string');
    const name = requested ?? engine.defaultVoice;
    const voice = this.aliases[name]?.[engine.name] ?? name;
    const [base, variant, ...rest] = voice.split('+');
    const runner = this.runnerFor(engine, path);
    const known = (await this.voicesOf(engine, runner)).some((v) => v.id === base);
    const variantOk =
      variant === undefined ||
      (engine.listVariants !== undefined && (await this.variantsOf(engine, runner)).includes(variant));
    if (!known || !variantOk || rest.length > 0) {
      fail('invalid_request', `unknown voice '${name.slice(0, 64)}' for ${engine.name}; list the voices`);
    }
    return voice;
  }

  private voicesOf(engine: SpeechEngine, runner: EngineRunner): Promise<Voice[]> {
    return cached(this.voiceCache, engine.name, () => engine.listVoices(runner));
  }

  private variantsOf(engine: SpeechEngine, runner: EngineRunner): Promise<string[]> {
    return cached(this.variantCache, engine.name, () => engine.listVariants?.(runner) ?? Promise.resolve([]));
  }

  /** The named engine, or the first installed one, with the absolute path of its binary. */
  private async resolve(name?: string): Promise<{ engine: SpeechEngine; path: string }> {
    const candidates =
      name === undefined ? this.engines.list() : [this.engines.get(name) ?? this.unknown(name)];
    for (const engine of candidates) {
      const path = await findExecutable(engine.binary, this.env.PATH);
      if (path) return { engine, path };
    }
    const engines = candidates.map((e) => e.name).join(' or ');
    const installs = candidates.map((e) => `\`${e.install}\``).join(' or ');
    return fail(
      'engine_unavailable',
      `text-to-speech needs ${engines}: install with ${installs}, then retry (no restart needed)`,
    );
  }

  private unknown(name: string): never {
    const known = this.engines.list().map((e) => e.name);
    return fail(
      'invalid_request',
      `unknown speech engine '${name.slice(0, 64)}'; known: ${known.join(', ')}`,
    );
  }

  private runnerFor(engine: SpeechEngine, path: string, signal?: AbortSignal): EngineRunner {
    const { timeoutMs, maxOutputBytes, env } = this;
    const label = engine.name;
    return {
      maxOutputBytes,
      run: (args, stdin) => runProcess(path, args, { stdin, env, timeoutMs, maxOutputBytes, label, signal }),
    };
  }
}

/** A listing fetched once per engine; a failed fetch is forgotten so the next request retries. */
function cached<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let value = cache.get(key);
  if (!value) {
    value = load();
    cache.set(key, value);
    value.catch(() => cache.delete(key));
  }
  return value;
}
