/**
 * A typed HTTP client for maas. Stands alone: imports nothing from the server side, runs wherever
 * `fetch` exists (Node ≥ 18, browsers, Deno).
 *
 *   const maas = new MaasClient({ url: 'http://127.0.0.1:8080', key: process.env.MAAS_KEY });
 *   await maas.pushModel('lin', bytes);
 *   const out = await maas.infer('lin', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
 */

export type V2DataType = 'BOOL' | 'UINT8' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'FP32' | 'FP64';

export interface V2Tensor {
  name: string;
  shape: number[];
  datatype: V2DataType;
  data: (number | boolean)[] | unknown[];
}

export interface V2InferRequest {
  id?: string;
  parameters?: { timeout_ms?: number } & Record<string, unknown>;
  inputs: V2Tensor[];
  outputs?: { name: string }[];
}

export interface V2InferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: V2Tensor[];
}

export interface ServingSettings {
  max_batch_size?: number;
  max_num_seqs?: number;
  max_batched_tokens?: number;
  max_delay_ms?: number;
  max_queue?: number;
  timeout_ms?: number;
}

export interface Model {
  /** What to call it by: `name` for your own model, `owner~name` for another tenant's public one. */
  id: string;
  owner: string;
  name: string;
  public: boolean;
  task: string | null;
  description: string | null;
  serving: ServingSettings;
  createdAt: string;
  updatedAt: string;
}

export interface ModelVersion {
  model: string;
  version: number;
  digest: string;
  sizeBytes: number;
  signature: { inputs: TensorInfo[]; outputs: TensorInfo[] };
  metadata: Record<string, unknown>;
  createdAt: string;
}

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: (number | string)[];
}

export interface ModelDetail extends Model {
  versions: ModelVersion[];
  aliases: Record<string, number>;
}

export interface PushOptions extends ServingSettings {
  task?: string;
  description?: string;
  metadata?: Record<string, unknown>;
  /** Which graph of a model folder to serve (`q4`, `quantized`, …); folders only. */
  variant?: string;
}

/** An error answer from the server (problem+json or KServe `{error}`), or no answer at all. */
/** What `quantizeModel` answers. */
export interface QuantizeResult {
  version: ModelVersion;
  quantization: {
    to: 'int8' | 'int4';
    nodes: number;
    weights: number;
    parameters: number;
    keptFloat: { node: string; reason: string }[];
    weightBytes: { before: number; after: number };
  };
  quality: {
    method: string;
    maxLogitError: number;
    logitRange: number;
    agreement: number;
    positions: number;
    bitsPerChar?: { float: number; quantized: number; relativeCost: number; characters: number };
  };
}

export class MaasApiError extends Error {
  constructor(
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    /** The catalog code (`not_found`, `queue_full`, ...) when the server sent one. */
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'MaasApiError';
  }
}

export interface ClientOptions {
  url: string;
  key?: string;
  fetch?: typeof fetch;
}

export class MaasClient {
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;

  constructor(protected readonly options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    // Bound: a browser refuses `fetch` called as a method of another object (Illegal invocation).
    this.fetchImpl = options.fetch ?? fetch.bind(globalThis);
  }

  protected async request<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const h: Record<string, string> = { ...headers };
    if (this.options.key) h.authorization = `Bearer ${this.options.key}`;
    let payload: RequestInit['body'];
    if (body instanceof Uint8Array || body instanceof Blob || body instanceof ReadableStream) {
      h['content-type'] ??= 'application/octet-stream';
      payload = body as RequestInit['body'];
    } else if (body !== undefined) {
      h['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let res: Response;
    try {
      // A streamed body (a folder packed on the fly) needs half-duplex in Node's fetch.
      const init = { method, headers: h, body: payload, duplex: 'half' } as RequestInit;
      res = await this.fetchImpl(`${this.base}${path}`, init);
    } catch (e) {
      throw new MaasApiError(
        0,
        'unreachable',
        `cannot reach maas at ${this.base} (${(e as Error).cause ?? e})`,
      );
    }
    const text = await res.text();
    const parsed = text ? safeJson(text) : undefined;
    if (!res.ok) {
      const p = (parsed ?? {}) as { code?: string; detail?: string; error?: string; title?: string };
      const retry = res.headers.get('retry-after');
      throw new MaasApiError(
        res.status,
        p.code ?? `http_${res.status}`,
        p.detail ?? p.error ?? p.title ?? (text.slice(0, 200) || res.statusText),
        retry ? Number(retry) : undefined,
      );
    }
    return parsed as T;
  }

  /** Tenants, keys and usage. */
  get tenancy(): MaasTenancyClient {
    return new MaasTenancyClient((method, path, body) => this.request(method, path, body));
  }

  health(): Promise<{ status: string }> {
    return this.request('GET', '/healthz');
  }

  ready(): Promise<{ status: string }> {
    return this.request('GET', '/readyz');
  }

  /** `all` (default): yours, then other tenants' public models; `own`: yours only. */
  async listModels(scope: 'own' | 'all' = 'all'): Promise<Model[]> {
    return (await this.request<{ models: Model[] }>('GET', `/api/v1/models?scope=${scope}`)).models;
  }

  getModel(name: string): Promise<ModelDetail> {
    return this.request('GET', `/api/v1/models/${encodeURIComponent(name)}`);
  }

  /** Upload an ONNX file (bytes or a Blob, e.g. from `fs.openAsBlob`) as a new version. */
  /**
   * Upload one ONNX file, or an archive of a model folder (.tar.gz, .tar, .zip; a stream works:
   * see `maas models push NAME ./folder`).
   */
  pushModel(
    name: string,
    file: Uint8Array | Blob | ReadableStream<Uint8Array>,
    options: PushOptions = {},
  ): Promise<ModelVersion> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(options)) {
      if (v !== undefined) q.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
    }
    const qs = q.size ? `?${q}` : '';
    return this.request('POST', `/api/v1/models/${encodeURIComponent(name)}/versions${qs}`, file);
  }

  updateModel(
    name: string,
    patch: { task?: string; description?: string; serving?: ServingSettings; public?: boolean },
  ): Promise<Model> {
    return this.request('PATCH', `/api/v1/models/${encodeURIComponent(name)}`, patch);
  }

  async deleteModel(name: string, version?: string): Promise<void> {
    const v = version === undefined ? '' : `/versions/${encodeURIComponent(version)}`;
    await this.request('DELETE', `/api/v1/models/${encodeURIComponent(name)}${v}`);
  }

  setAlias(
    name: string,
    alias: string,
    version: number | string,
  ): Promise<{ alias: string; version: number }> {
    return this.request(
      'PUT',
      `/api/v1/models/${encodeURIComponent(name)}/aliases/${encodeURIComponent(alias)}`,
      {
        version,
      },
    );
  }

  /**
   * A decoder version as a Hugging Face model folder, packed as .tar.gz bytes (config.json,
   * tokenizer.json, onnx/model.onnx, ...); `version` is a number or an alias (default: latest).
   * With `adapter`, a LoRA-tuned version's adapter alone (adapter_config.json,
   * adapter_model.safetensors: PEFT's layout).
   */
  async exportModel(
    name: string,
    version = 'latest',
    options: { adapter?: boolean } = {},
  ): Promise<Uint8Array> {
    const what = options.adapter ? 'adapter' : 'export';
    const path = `/api/v1/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/${what}`;
    const headers: Record<string, string> = {};
    if (this.options.key) headers.authorization = `Bearer ${this.options.key}`;
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.base}${path}`, { headers });
    } catch (e) {
      throw new MaasApiError(
        0,
        'unreachable',
        `cannot reach maas at ${this.base} (${(e as Error).cause ?? e})`,
      );
    }
    if (!res.ok) {
      const text = await res.text();
      const p = (safeJson(text) ?? {}) as { code?: string; detail?: string; title?: string };
      throw new MaasApiError(
        res.status,
        p.code ?? `http_${res.status}`,
        p.detail ?? p.title ?? res.statusText,
      );
    }
    return new Uint8Array(await res.arrayBuffer());
  }

  /**
   * A new version with int8 or int4 MatMul weights, made from `version` (default: latest);
   * answers the version, what was rewritten and what it cost (`quality`).
   */
  quantizeModel(
    name: string,
    to: 'int8' | 'int4',
    options: { version?: string; keepHead?: boolean } = {},
  ): Promise<QuantizeResult> {
    const v = encodeURIComponent(options.version ?? 'latest');
    return this.request('POST', `/api/v1/models/${encodeURIComponent(name)}/versions/${v}/quantize`, {
      to,
      ...(options.keepHead ? { keep_head: true } : {}),
    });
  }

  /** The zoo's public models (`zoo~NAME`): background training state, progress, quality. */
  zoo(): Promise<ZooListing> {
    return this.request('GET', '/api/v1/zoo');
  }

  /** KServe v2 inference; `version` is a number or an alias (default: latest). */
  infer(name: string, request: V2InferRequest, version?: string): Promise<V2InferResponse> {
    const v = version === undefined ? '' : `/versions/${encodeURIComponent(version)}`;
    return this.request('POST', `/v2/models/${encodeURIComponent(name)}${v}/infer`, request);
  }
}

/** Tenants, keys, usage and audit (`/api/v1/tenants|keys|usage|audit`). Times are epoch ms. */
export class MaasTenancyClient {
  constructor(private readonly request: <T>(method: string, path: string, body?: unknown) => Promise<T>) {}

  createTenant(name: string, limits: Limits = {}): Promise<Tenant> {
    return this.request('POST', '/api/v1/tenants', { name, limits });
  }
  async listTenants(): Promise<Tenant[]> {
    return (await this.request<{ tenants: Tenant[] }>('GET', '/api/v1/tenants')).tenants;
  }
  /** Replaces a tenant's limits (admin); they apply from its next request. */
  setTenantLimits(id: string, limits: Limits): Promise<Tenant> {
    return this.request('PATCH', `/api/v1/tenants/${encodeURIComponent(id)}`, { limits });
  }
  /** The answer holds the raw key (`key`): the only time it is ever shown. */
  createKey(body: {
    tenant?: string;
    name: string;
    scopes: string[];
    limits?: Limits;
  }): Promise<ApiKey & { key: string }> {
    return this.request('POST', '/api/v1/keys', body);
  }
  async listKeys(tenant?: string): Promise<ApiKey[]> {
    const q = tenant === undefined ? '' : `?tenant=${encodeURIComponent(tenant)}`;
    return (await this.request<{ keys: ApiKey[] }>('GET', `/api/v1/keys${q}`)).keys;
  }
  revokeKey(id: string): Promise<ApiKey> {
    return this.request('DELETE', `/api/v1/keys/${encodeURIComponent(id)}`);
  }
  async usage(
    query: { from?: string; to?: string; groupBy?: string[]; tenant?: string } = {},
  ): Promise<UsageRow[]> {
    const q = new URLSearchParams();
    if (query.from) q.set('from', query.from);
    if (query.to) q.set('to', query.to);
    if (query.groupBy) q.set('group_by', query.groupBy.join(','));
    if (query.tenant) q.set('tenant', query.tenant);
    const qs = q.size ? `?${q}` : '';
    return (await this.request<{ usage: UsageRow[] }>('GET', `/api/v1/usage${qs}`)).usage;
  }
}

export interface ZooListing {
  /** The server's MAAS_ZOO: `auto`, `quick` or `off`. */
  mode: string;
  models: ZooModel[];
}
export interface ZooModel {
  name: string;
  /** How to call it: `zoo~NAME`. */
  model: string;
  family: string;
  task: string;
  description: string;
  /** `unavailable`: not installed and the server cannot train it (see `unavailable`). */
  state: 'missing' | 'unavailable' | 'queued' | 'training' | 'ready' | 'failed';
  version: number | null;
  scale: 'full' | 'quick' | null;
  /** Wall time of the installed version's training (s), null when unknown. */
  trainSeconds: number | null;
  progress: {
    line: string | null;
    step: number | null;
    steps: number | null;
    elapsedSeconds: number;
    etaSeconds: number | null;
  } | null;
  quality: {
    metric: string;
    value: number;
    target?: number;
    higherIsBetter: boolean;
    details?: Record<string, unknown>;
  } | null;
  meetsTarget: boolean | null;
  public: boolean;
  error: string | null;
  /** Why the server cannot train it, with the fix ("unavailable: apt-get install …"); else null. */
  unavailable: string | null;
}

export interface Limits {
  requestsPerMinute?: number;
  unitsPerMinute?: number;
  monthlyUnits?: number;
  /** Tenant only: turns on a busy model relative to other tenants (default 1). */
  weight?: number;
  /** Tenant only: the most of its requests one model runs at once. */
  concurrency?: number;
}
export interface Tenant {
  id: string;
  limits: Limits;
  createdAt: number;
}
export interface ApiKey {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  scopes: string[];
  limits: Limits;
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
}
export interface UsageRow {
  day?: string;
  model?: string;
  keyId?: string;
  tenantId?: string;
  requests: number;
  units: number;
  errors: number;
  latencyMsTotal: number;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
