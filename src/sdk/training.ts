/**
 * The typed client for training as a service: datasets, trainings (with their live event
 * stream) and raw-input predictions. Extends `MaasClient`, so one object does everything:
 *
 *   const c = new TrainingClient({ url, key });
 *   await c.pushDataset('iris', await openAsBlob('iris.csv'));
 *   const job = await c.createTraining({ family: 'mlp', dataset: 'iris', model: 'iris' });
 *   for await (const e of c.events(job.id)) console.log(e.event, e.data);
 */
import { MaasApiError, MaasClient } from './client';

export interface Dataset {
  name: string;
  builtin: boolean;
  kind: string;
  format: string;
  digest: string | null;
  sizeBytes: number | null;
  rows?: number;
  description?: string;
  createdAt: string | null;
  [more: string]: unknown;
}

/** A column of a dataset as the server summarised it at upload (`src/data/schema.ts`). */
export interface DatasetColumn {
  name: string;
  kind: 'numeric' | 'categorical' | 'text' | 'image';
  target?: boolean;
  count: number;
  missing: number;
  distinct: number;
  distinctCapped: boolean;
  numeric?: { min: number; max: number; mean: number; std: number };
  top?: { value: string; count: number }[];
  meanLength?: number;
  image?: { width: number; height: number; channels: number };
}

/** One dataset with what was read from it: schema, rows, class balance of the target, first rows. */
export interface DatasetDetail extends Dataset {
  schema?: DatasetColumn[];
  rows?: number;
  /** Rows per class of the target (`label`, or the built-in's), most frequent first. */
  classBalance?: Record<string, number>;
  preview?: Record<string, string | number | null | { image: string }>[];
}

export interface Training {
  id: string;
  family: string;
  dataset: string;
  model: string;
  target: string | null;
  hyperparameters: Record<string, unknown>;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  error: string | null;
  attempts: number;
  checkpointStep: number;
  result: { model: string; version: number; metrics: Record<string, unknown> } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A job from scratch names a `family`; a fine-tune names its `base` (`name[:version]`) instead. */
export interface NewTraining {
  family?: string;
  base?: string;
  dataset: string;
  model: string;
  target?: string;
  hyperparameters?: Record<string, unknown>;
}

export interface TrainingEvent {
  /** 1, 2, 3 ... per training; pass the last one back to resume. */
  id: number;
  /** `status`, `progress`, `epoch`, `checkpoint`, `resumed`. */
  event: string;
  data: Record<string, unknown>;
}

export type Prediction = { label: string; probabilities: Record<string, number> } | { value: number };

/** An input the model would misread: `{pointer: "inputs[0].colour", code: "unseen_category", detail}`. */
export interface InputWarning {
  pointer: string;
  code: 'unknown_column' | 'missing_column' | 'unseen_category' | 'no_known_token';
  detail: string;
}

const TERMINAL = ['succeeded', 'failed', 'cancelled'];
const enc = encodeURIComponent;

/** SSE text → events (`id:`, `event:`, `data:` lines; blocks end with a blank line). */
function parseBlock(block: string): TrainingEvent | null {
  const field = (name: string) =>
    block
      .split('\n')
      .find((l) => l.startsWith(`${name}: `))
      ?.slice(name.length + 2);
  const id = field('id');
  if (!id) return null;
  return { id: Number(id), event: field('event') ?? 'message', data: JSON.parse(field('data') ?? '{}') };
}

export class TrainingClient extends MaasClient {
  pushDataset(name: string, file: Uint8Array | Blob): Promise<Dataset> {
    return this.request('POST', `/api/v1/datasets?name=${enc(name)}`, file);
  }

  async listDatasets(): Promise<Dataset[]> {
    return (await this.request<{ datasets: Dataset[] }>('GET', '/api/v1/datasets')).datasets;
  }

  getDataset(name: string): Promise<DatasetDetail> {
    return this.request('GET', `/api/v1/datasets/${enc(name)}`);
  }

  async deleteDataset(name: string): Promise<void> {
    await this.request('DELETE', `/api/v1/datasets/${enc(name)}`);
  }

  createTraining(t: NewTraining): Promise<Training> {
    return this.request('POST', '/api/v1/trainings', t);
  }

  getTraining(id: string): Promise<Training> {
    return this.request('GET', `/api/v1/trainings/${enc(id)}`);
  }

  async listTrainings(): Promise<Training[]> {
    return (await this.request<{ trainings: Training[] }>('GET', '/api/v1/trainings')).trainings;
  }

  cancelTraining(id: string): Promise<Training> {
    return this.request('POST', `/api/v1/trainings/${enc(id)}/cancel`);
  }

  /**
   * Raw rows (objects), texts or images (data URLs / base64) → labels + probabilities or values,
   * and warnings for inputs the model would misread (unknown or missing columns, unseen
   * categories, texts with no known word); `strict` makes those a 400 instead.
   */
  async predict(
    model: string,
    inputs: unknown[],
    options: { version?: string; strict?: boolean } = {},
  ): Promise<{ predictions: Prediction[]; warnings: InputWarning[] }> {
    const query = new URLSearchParams();
    if (options.version !== undefined) query.set('version', options.version);
    if (options.strict) query.set('strict', 'true');
    const q = query.size > 0 ? `?${query}` : '';
    const res = await this.request<{ predictions: Prediction[]; warnings?: InputWarning[] }>(
      'POST',
      `/api/v1/models/${enc(model)}/predict${q}`,
      { inputs },
    );
    return { predictions: res.predictions, warnings: res.warnings ?? [] };
  }

  /**
   * The training's events as they happen (SSE), from after `lastEventId`, until it ends. A
   * dropped connection is resumed with `Last-Event-ID`, so no event is lost or repeated.
   */
  async *events(id: string, lastEventId = 0, signal?: AbortSignal): AsyncGenerator<TrainingEvent> {
    let last = lastEventId;
    for (let retries = 0; retries < 30; ) {
      let ended = false;
      try {
        for await (const e of this.streamOnce(id, last, signal)) {
          last = e.id;
          retries = 0;
          yield e;
          if (e.event === 'status' && TERMINAL.includes(String(e.data.status))) ended = true;
        }
      } catch (e) {
        if (signal?.aborted || e instanceof MaasApiError) throw e;
      }
      if (ended || signal?.aborted) return;
      retries++;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  private async *streamOnce(id: string, after: number, signal?: AbortSignal): AsyncGenerator<TrainingEvent> {
    const headers: Record<string, string> = { accept: 'text/event-stream', 'last-event-id': String(after) };
    if (this.options.key) headers.authorization = `Bearer ${this.options.key}`;
    const base = this.options.url.replace(/\/+$/, '');
    const res = await (this.options.fetch ?? fetch.bind(globalThis))(
      `${base}/api/v1/trainings/${enc(id)}/events`,
      {
        headers,
        signal,
      },
    );
    if (!res.ok || !res.body) {
      const p = (await res.json().catch(() => ({}))) as { code?: string; detail?: string };
      throw new MaasApiError(res.status, p.code ?? `http_${res.status}`, p.detail ?? res.statusText);
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
        const e = parseBlock(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (e) yield e;
      }
    }
  }
}
