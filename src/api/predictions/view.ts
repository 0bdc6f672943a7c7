/**
 * A prediction's stored body and its public JSON (Replicate's shape):
 *
 *   {"id": "p_7c1e…", "model": "bigram", "version": "1", "task": "generate",
 *    "input": {"prompt": "the "}, "output": {...} | null, "logs": "…", "error": null,
 *    "status": "succeeded", "created_at": "…", "started_at": "…", "completed_at": "…",
 *    "urls": {"get": "…", "cancel": "…", "stream": "…"}, "metrics": {"predict_time": 0.41},
 *    "webhook": null, "webhook_events_filter": ["start", "output", "logs", "completed"]}
 */
import type { Principal } from '../../platform/auth/auth';
import type { WebhookEvent } from '../../platform/webhooks/service';
import type { WorkItem } from '../../store/work-ports';
import type { CreateCharge } from '../background/admission';
import type { PredictionKind } from './kinds';
import type { PredictionFile } from './outputs';

export const PREDICTION_STATUSES = ['starting', 'processing', 'succeeded', 'failed', 'canceled'] as const;
export type PredictionStatus = (typeof PREDICTION_STATUSES)[number];
export const TERMINAL: readonly PredictionStatus[] = ['succeeded', 'failed', 'canceled'];
export const isTerminal = (s: string) => (TERMINAL as readonly string[]).includes(s);

export interface PredictionError {
  status: number;
  code: string;
  detail: string;
}

export interface PredictionData {
  /** As the caller named it (`name`, or `owner~name` for another tenant's public model). */
  model: string;
  /** The version asked for (number or alias), or null for latest. */
  version: string | null;
  task: PredictionKind;
  input: Record<string, unknown>;
  output: unknown;
  logs: string;
  error: PredictionError | null;
  webhook: string | null;
  events: WebhookEvent[];
  /** Who created it: the run is admitted, limited and metered as this key. */
  principal: Principal;
  /**
   * The unit reserved when it was created (background/admission.ts), until it runs or is
   * canceled; null after. `chargedAtCreate`: its request was charged at create (rows written
   * before that was so lack it, and are charged when they run).
   */
  charge?: CreateCharge | null;
  chargedAtCreate?: boolean;
  /** The process running it (a random id per process), while processing. */
  instance: string | null;
  startedAt: number | null;
  completedAt: number | null;
  files: PredictionFile[];
}

export const dataOf = (item: WorkItem) => item.data as unknown as PredictionData;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function predictionView(item: WorkItem, base = '') {
  const d = dataOf(item);
  const self = `${base}/api/v1/predictions/${item.id}`;
  // The version that ran: the native routes say `version`, KServe's answer `model_version`.
  const out = d.output as { version?: unknown; model_version?: unknown } | null;
  const resolved = out?.version ?? out?.model_version;
  return {
    id: item.id,
    model: d.model,
    version: resolved !== undefined ? String(resolved) : d.version,
    task: d.task,
    input: d.input,
    output: d.output,
    logs: d.logs,
    error: d.error,
    status: item.status as PredictionStatus,
    created_at: iso(item.createdAt),
    started_at: iso(d.startedAt),
    completed_at: iso(d.completedAt),
    urls: { get: self, cancel: `${self}/cancel`, stream: `${self}/stream` },
    metrics:
      d.startedAt !== null && d.completedAt !== null
        ? { predict_time: (d.completedAt - d.startedAt) / 1000 }
        : {},
    webhook: d.webhook,
    webhook_events_filter: d.events,
  };
}
