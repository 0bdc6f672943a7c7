/**
 * A small Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms with
 * labels. Metric names are registered once (duplicates are refused), so two modules cannot
 * silently share a name with different meanings. Each label of a metric takes at most
 * `maxValuesPerLabel` distinct values (MAAS_METRICS_MAX_SERIES); later values are counted under
 * `_other`, so no client can grow the scrape (and the server's memory) without bound.
 */
type Labels = Record<string, string>;

/** The bucket that values past the cap are counted under. */
export const OTHER = '_other';

/** Distinct values seen per label name; values past the cap become `_other`. */
class LabelCap {
  private readonly seen = new Map<string, Set<string>>();
  constructor(private readonly maxValues: number) {}

  apply(labels: Labels): Labels {
    let out: Labels | null = null;
    for (const [name, value] of Object.entries(labels)) {
      let values = this.seen.get(name);
      if (!values) {
        values = new Set();
        this.seen.set(name, values);
      }
      if (values.has(value)) continue;
      if (values.size < this.maxValues) values.add(value);
      else {
        out ??= { ...labels };
        out[name] = OTHER;
      }
    }
    return out ?? labels;
  }
}

/** No cap (a registry built without one: tests, tools). */
const UNCAPPED = Number.MAX_SAFE_INTEGER;

/** Label values as the exposition format escapes them (most need nothing: no copy then). */
const escapeLabel = (value: string): string =>
  /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;

/** A series' key: its labels sorted by name. Runs several times per request, hence no sort when
 * the names already come in order (they usually do) and no regex replace on plain values. */
function labelKey(labels: Labels): string {
  const names = Object.keys(labels);
  for (let i = 1; i < names.length; i++) {
    if (names[i - 1] > names[i]) {
      names.sort();
      break;
    }
  }
  let key = '';
  for (const name of names) key += `${key ? ',' : ''}${name}="${escapeLabel(String(labels[name]))}"`;
  return key;
}

interface Metric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  render(): string[];
}

export class Counter implements Metric {
  readonly type = 'counter';
  private readonly values = new Map<string, number>();
  private readonly cap: LabelCap;
  constructor(
    readonly name: string,
    readonly help: string,
    maxValuesPerLabel = UNCAPPED,
  ) {
    this.cap = new LabelCap(maxValuesPerLabel);
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(this.cap.apply(labels));
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export class Gauge implements Metric {
  readonly type = 'gauge';
  private readonly values = new Map<string, number>();
  /** Gauges read at scrape time (memory, loaded models). */
  private readonly collectors: (() => [Labels, number][])[] = [];
  private readonly cap: LabelCap;
  constructor(
    readonly name: string,
    readonly help: string,
    maxValuesPerLabel = UNCAPPED,
  ) {
    this.cap = new LabelCap(maxValuesPerLabel);
  }
  set(labels: Labels, value: number): void {
    this.values.set(labelKey(this.cap.apply(labels)), value);
  }
  collect(fn: () => [Labels, number][]): void {
    this.collectors.push(fn);
  }
  render(): string[] {
    const all = new Map(this.values);
    for (const fn of this.collectors) for (const [l, v] of fn()) all.set(labelKey(l), v);
    return [...all].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export class Histogram implements Metric {
  readonly type = 'histogram';
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  private readonly cap: LabelCap;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
    maxValuesPerLabel = UNCAPPED,
  ) {
    this.cap = new LabelCap(maxValuesPerLabel);
  }
  observe(labels: Labels, value: number): void {
    const k = labelKey(this.cap.apply(labels));
    let s = this.series.get(k);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i]++;
    });
    s.sum += value;
    s.count++;
  }
  /** Observations so far for a label set (tests, diagnostics). */
  snapshot(labels: Labels): { count: number; sum: number } {
    const s = this.series.get(labelKey(labels));
    return { count: s?.count ?? 0, sum: s?.sum ?? 0 };
  }
  render(): string[] {
    const lines: string[] = [];
    for (const [k, s] of this.series) {
      const sep = k ? ',' : '';
      this.buckets.forEach((b, i) => {
        lines.push(`${this.name}_bucket{${k}${sep}le="${b}"} ${s.counts[i]}`);
      });
      lines.push(`${this.name}_bucket{${k}${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`);
      lines.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    return lines;
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  /** `maxValuesPerLabel`: distinct values one label of one metric may take before `_other`. */
  constructor(private readonly maxValuesPerLabel = UNCAPPED) {}

  private add<M extends Metric>(m: M): M {
    if (this.metrics.has(m.name)) throw new Error(`metric ${m.name} is already registered`);
    this.metrics.set(m.name, m);
    return m;
  }
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help, this.maxValuesPerLabel));
  }
  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help, this.maxValuesPerLabel));
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets, this.maxValuesPerLabel));
  }

  render(): string {
    const lines: string[] = [];
    for (const m of this.metrics.values()) {
      lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.render());
    }
    return `${lines.join('\n')}\n`;
  }
}

/** The platform's metrics, created once per server. */
export function platformMetrics(registry = new MetricsRegistry()) {
  return {
    registry,
    requests: registry.counter('maas_requests_total', 'HTTP requests by route, model and status'),
    latency: registry.histogram(
      'maas_request_duration_seconds',
      'HTTP request latency by route, model and status (seconds)',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    queueDepth: registry.gauge('maas_queue_depth', 'Requests waiting per loaded model'),
    batchSize: registry.histogram('maas_batch_size', 'Requests per model run', [1, 2, 4, 8, 16, 32, 64, 128]),
    batchRows: registry.histogram(
      'maas_batch_rows',
      'Rows (batch dimension) per model run',
      [1, 2, 4, 8, 16, 32, 64, 128],
    ),
    timeToFirstToken: registry.histogram(
      'maas_llm_time_to_first_token_seconds',
      'Decoder sequences: from the first step queued to the first token (seconds), per model',
      [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    interTokenLatency: registry.histogram(
      'maas_llm_inter_token_latency_seconds',
      'Decoder sequences: time between two tokens of one sequence (seconds), per model',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ),
    tokensPerSecond: registry.histogram(
      'maas_llm_sequence_tokens_per_second',
      'Decoder sequences: decode tokens per second of each finished sequence, per model',
      [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    ),
    batchOccupancy: registry.histogram(
      'maas_llm_batch_occupancy',
      'Decoder sequences stepped together in one run (rows of a decode step), per model',
      [1, 2, 4, 8, 16, 32, 64, 128],
    ),
    sequences: registry.gauge(
      'maas_llm_sequences',
      'Decoder sequences per model holding a batch slot (state="running") or waiting for one ("waiting")',
    ),
    sequenceQueueWait: registry.histogram(
      'maas_llm_queue_wait_seconds',
      'Decoder sequences: time waiting for a slot (max_num_seqs) before the prefill (seconds), per model',
      [0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    dropped: registry.counter('maas_requests_dropped_total', 'Queued requests dropped, by reason'),
    loadedModels: registry.gauge('maas_loaded_models', 'Model versions loaded in memory'),
    loads: registry.counter('maas_model_loads_total', 'Model version loads'),
    evictions: registry.counter('maas_model_evictions_total', 'Model version unloads, by reason'),
    memory: registry.gauge(
      'maas_process_memory_bytes',
      'Process memory by kind (rss, heap_used, external, array_buffers)',
    ),
    modelMemory: registry.gauge('maas_model_memory_estimate_bytes', 'Estimated memory of loaded models'),
  };
}
export type PlatformMetrics = ReturnType<typeof platformMetrics>;
