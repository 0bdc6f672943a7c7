/**
 * The calls a person makes from the web console, typed: who the key is, the training families'
 * forms, chat as a token stream, images, explanations, KServe metadata and an upload that reports
 * its progress. Extends `TrainingClient`, so one object covers the whole public API. Runs in a
 * browser (no node: imports); `uploadModel`'s progress needs XMLHttpRequest (browsers), elsewhere
 * it uploads without progress.
 */
import { MaasApiError, type ModelVersion, type PushOptions } from './client';
import { type Dataset, TrainingClient } from './training';

export interface Me {
  tenant: string;
  key_id: string;
  scopes: string[];
  limits: Record<string, unknown>;
}

export type HyperparameterRule =
  | { kind: 'int' | 'number'; min: number; max: number; default: number; doc: string }
  | { kind: 'ints'; min: number; max: number; maxLength: number; default: number[]; doc: string }
  | { kind: 'choice'; choices: string[]; default: string; doc: string };

export interface Family {
  name: string;
  description: string;
  dataset_kinds: string[];
  hyperparameters: Record<string, HyperparameterRule>;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  seed?: number;
  stop?: string[];
}

export interface CompletionRequest {
  model: string;
  prompt: string;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  seed?: number;
  stop?: string[];
}

/** `GET /api/v1/speech/voices`: the speech models, the engines (installed or not) and their voices. */
export interface SpeechCatalog {
  models: { id: string; engine?: string; description: string }[];
  engines: { name: string; available: boolean; install: string }[];
  voices: { id: string; name: string; language: string; engine: string }[];
}

export interface Embeddings {
  model: string;
  version: number;
  dimensions: number;
  embeddings: number[][];
}

/** The image style a CPPN takes (`imagine`'s `style`): palette, zoom, spread of its latent z. */
export interface CppnStyle {
  palette?: string;
  zoom?: number;
  latentScale?: number;
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface Explanation {
  kind: string;
  label: string;
  predicted?: string;
  probabilities: Record<string, number>;
  heatmap_png?: string;
  tokens?: { token: string; score: number }[];
  features?: { feature: string; score: number }[];
  [more: string]: unknown;
}

/** Filters of the audit log; `from` and `to` are epoch ms or ISO dates (`2026-12-02`). */
export interface AuditQuery {
  action?: string;
  /** Admin keys only: one tenant's entries. */
  tenant?: string;
  from?: string;
  to?: string;
  limit?: number;
}

export interface AuditEntry {
  id: string;
  at: number;
  actorKeyId: string;
  actorTenantId: string;
  action: string;
  target: string;
  targetTenantId: string;
  outcome: string;
  detail?: string;
}

export interface V2Metadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; datatype: string; shape: number[] }[];
}

const enc = encodeURIComponent;

/** The part of the browser's XMLHttpRequest used here (the SDK compiles without DOM types). */
interface Xhr {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  getResponseHeader(name: string): string | null;
  send(body: Blob): void;
  upload: { onprogress: ((e: { lengthComputable: boolean; loaded: number; total: number }) => void) | null };
  onerror: (() => void) | null;
  onload: (() => void) | null;
  status: number;
  responseText: string;
}
const XhrClass = () => (globalThis as { XMLHttpRequest?: new () => Xhr }).XMLHttpRequest;

/** `data: {...}` lines of an OpenAI stream → parsed chunks, until `data: [DONE]`. */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<Record<string, unknown>> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of block.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return;
        yield JSON.parse(data) as Record<string, unknown>;
      }
    }
  }
}

export class ConsoleClient extends TrainingClient {
  me(): Promise<Me> {
    return this.request('GET', '/api/v1/me');
  }

  async families(): Promise<Family[]> {
    return (await this.request<{ families: Family[] }>('GET', '/api/v1/families')).families;
  }

  /**
   * A streamed chat completion: `onDelta` gets each piece of text as it arrives; resolves with the
   * token counts the server reports at the end (`stream_options.include_usage`).
   */
  async chatStream(
    req: ChatRequest,
    onDelta: (text: string) => void,
    signal?: AbortSignal,
  ): Promise<ChatUsage | null> {
    const res = await this.send(
      '/v1/chat/completions',
      {
        ...req,
        stream: true,
        stream_options: { include_usage: true },
      },
      signal,
    );
    let usage: ChatUsage | null = null;
    for await (const chunk of sseData(res.body as ReadableStream<Uint8Array>)) {
      // A failure after the stream began arrives as an `{error}` event: surface it, not a cut-off answer.
      if (chunk.error) throw errorOf(res.status, chunk, null);
      const choices = (chunk.choices ?? []) as { delta?: { content?: string } }[];
      const text = choices[0]?.delta?.content;
      if (text) onDelta(text);
      if (chunk.usage) usage = chunk.usage as ChatUsage;
    }
    return usage;
  }

  /** A streamed text completion (`/v1/completions`): `onDelta` gets each piece; resolves with the counts. */
  async completeStream(
    req: CompletionRequest,
    onDelta: (text: string) => void,
    signal?: AbortSignal,
  ): Promise<ChatUsage | null> {
    const res = await this.send(
      '/v1/completions',
      { ...req, stream: true, stream_options: { include_usage: true } },
      signal,
    );
    let usage: ChatUsage | null = null;
    for await (const chunk of sseData(res.body as ReadableStream<Uint8Array>)) {
      if (chunk.error) throw errorOf(res.status, chunk, null);
      const text = ((chunk.choices ?? []) as { text?: string }[])[0]?.text;
      if (text) onDelta(text);
      if (chunk.usage) usage = chunk.usage as ChatUsage;
    }
    return usage;
  }

  /** One vector per text, from an embedding model (`/api/v1/models/NAME/embed`). */
  embed(model: string, input: string[]): Promise<Embeddings> {
    return this.request('POST', `/api/v1/models/${enc(model)}/embed`, { input });
  }

  /** The speech models, engines and voices this server has. */
  speechVoices(): Promise<SpeechCatalog> {
    return this.request('GET', '/api/v1/speech/voices');
  }

  /** Text to speech: a WAV file (`/api/v1/models/NAME/speak`). */
  async speak(model: string, body: { input: string; voice?: string; speed?: number }): Promise<Blob> {
    const res = await this.send(`/api/v1/models/${enc(model)}/speak`, body);
    return res.blob();
  }

  /** PNG images (base64) from an image model such as a CPPN; `style` is the model's own knobs. */
  async imagine(
    model: string,
    body: {
      prompt: string;
      n?: number;
      width?: number;
      height?: number;
      seed?: number;
      style?: CppnStyle;
    },
  ): Promise<string[]> {
    const res = await this.request<{ images: { png_base64: string }[] }>(
      'POST',
      `/api/v1/models/${enc(model)}/imagine`,
      body,
    );
    return res.images.map((i) => i.png_base64);
  }

  /** The audit log, newest first: the caller's tenant (an admin's: every tenant's). */
  async audit(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const q = new URLSearchParams();
    if (query.action) q.set('action', query.action);
    if (query.tenant) q.set('tenant', query.tenant);
    if (query.from) q.set('from', query.from);
    if (query.to) q.set('to', query.to);
    if (query.limit) q.set('limit', String(query.limit));
    const qs = q.size ? `?${q}` : '';
    return (await this.request<{ entries: AuditEntry[] }>('GET', `/api/v1/audit${qs}`)).entries;
  }

  /** Input-gradient saliency: a heat map over an image, or scores per token or feature. */
  explain(model: string, body: Record<string, unknown>): Promise<Explanation> {
    return this.request('POST', `/api/v1/models/${enc(model)}/explain`, body);
  }

  /** KServe v2 model metadata: the tensors a form is generated from. */
  v2Metadata(model: string): Promise<V2Metadata> {
    return this.request('GET', `/v2/models/${enc(model)}`);
  }

  /**
   * Upload a model file (ONNX or a folder archive) with progress (0..1) where XMLHttpRequest
   * exists; elsewhere the plain upload.
   */
  uploadModel(
    name: string,
    file: Blob,
    onProgress: (fraction: number) => void,
    options: PushOptions = {},
  ): Promise<ModelVersion> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(options))
      if (v !== undefined) q.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
    const path = `/api/v1/models/${enc(name)}/versions${q.size ? `?${q}` : ''}`;
    return this.uploadWithProgress(path, file, onProgress, () => this.pushModel(name, file, options));
  }

  /** Upload a dataset file (CSV, JSONL, text, a zip of folders, …) with progress, as `uploadModel`. */
  uploadDataset(name: string, file: Blob, onProgress: (fraction: number) => void): Promise<Dataset> {
    return this.uploadWithProgress(`/api/v1/datasets?name=${enc(name)}`, file, onProgress, () =>
      this.pushDataset(name, file),
    );
  }

  /** POST a file by XMLHttpRequest (it alone reports upload progress); `plain` where there is none. */
  private uploadWithProgress<T>(
    path: string,
    file: Blob,
    onProgress: (fraction: number) => void,
    plain: () => Promise<T>,
  ): Promise<T> {
    const XMLHttpRequest = XhrClass();
    if (!XMLHttpRequest) return plain();
    const url = `${this.options.url.replace(/\/+$/, '')}${path}`;
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', url);
      if (this.options.key) xhr.setRequestHeader('authorization', `Bearer ${this.options.key}`);
      xhr.setRequestHeader('content-type', 'application/octet-stream');
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      };
      xhr.onerror = () => reject(new MaasApiError(0, 'unreachable', 'the upload could not reach maas'));
      xhr.onload = () => {
        const body = safeParse(xhr.responseText);
        if (xhr.status >= 200 && xhr.status < 300) return resolve(body as T);
        reject(errorOf(xhr.status, body, xhr.getResponseHeader('retry-after')));
      };
      xhr.send(file);
    });
  }

  /** POST JSON and hand back the open response (for streams); errors as `MaasApiError`. */
  private async send(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.key) headers.authorization = `Bearer ${this.options.key}`;
    let res: Response;
    try {
      res = await (this.options.fetch ?? fetch.bind(globalThis))(
        `${this.options.url.replace(/\/+$/, '')}${path}`,
        { method: 'POST', headers, body: JSON.stringify(body), signal },
      );
    } catch (e) {
      throw new MaasApiError(0, 'unreachable', `cannot reach maas (${(e as Error).message})`);
    }
    if (!res.ok || !res.body)
      throw errorOf(res.status, safeParse(await res.text()), res.headers.get('retry-after'));
    return res;
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Any of the three error shapes (problem+json, KServe, OpenAI) → one `MaasApiError`. */
function errorOf(status: number, body: unknown, retryAfter: string | null): MaasApiError {
  const b = (body ?? {}) as {
    code?: string;
    detail?: string;
    error?: string | { message?: string; code?: string };
  };
  const openai = typeof b.error === 'object' ? b.error : undefined;
  const message = b.detail ?? openai?.message ?? (typeof b.error === 'string' ? b.error : undefined);
  return new MaasApiError(
    status,
    b.code ?? openai?.code ?? `http_${status}`,
    message ?? `HTTP ${status}`,
    retryAfter ? Number(retryAfter) : undefined,
  );
}
