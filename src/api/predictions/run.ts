/**
 * Runs one claimed prediction: calls its kind's route handler as its creator (background/
 * context.ts), streams tokens to listeners as they come, keeps large outputs as files, and
 * reports start, output, logs and completed to the webhook (each event only when the prediction's
 * filter has it; output and logs at most every `OUTPUT_EVERY_MS`, the last one always).
 */
import type { Readable } from 'node:stream';
import type { Platform } from '../../platform/platform';
import type { WebhookEvent } from '../../platform/webhooks/service';
import type { WorkItem } from '../../store/work-ports';
import { alreadyCharged } from '../background/admission';
import { runRoute } from '../background/context';
import { toMaasError } from '../errors';
import { kindRow } from './kinds';
import { readGeneration, shapeAnswer } from './outputs';
import { dataOf, type PredictionData, type PredictionError, predictionView } from './view';

/** Partial output is saved, and sent to the webhook, at most this often (ms). */
const OUTPUT_EVERY_MS = 500;

/** What a stream subscriber hears. */
export type PredictionEvent =
  | { type: 'output'; data: unknown }
  | { type: 'logs'; data: string }
  | { type: 'done'; data: ReturnType<typeof predictionView> };

export interface RunHooks {
  /** Persist `item` if it is still `processing`; false when it is not (canceled meanwhile). */
  save(item: WorkItem): Promise<boolean>;
  emit(id: string, event: PredictionEvent): void;
  /** True when the server is stopping (an aborted run then fails instead of being canceled). */
  stopping(): boolean;
}

export async function webhook(platform: Platform, item: WorkItem, event: WebhookEvent): Promise<void> {
  const d = dataOf(item);
  if (!d.webhook || !d.events.includes(event)) return;
  await platform.webhooks.enqueue(item.owner, item.id, d.webhook, event, predictionView(item));
}

const asError = (e: unknown): PredictionError => {
  const m = toMaasError(e);
  return { status: m.status, code: m.code, detail: m.code === 'internal' ? 'internal error' : m.message };
};

export async function runPrediction(
  platform: Platform,
  claimed: WorkItem,
  signal: AbortSignal,
  hooks: RunHooks,
): Promise<WorkItem> {
  let item = claimed;
  const d = (): PredictionData => dataOf(item);
  const patch = (p: Partial<PredictionData>) => {
    item = { ...item, updatedAt: Date.now(), data: { ...item.data, ...p } };
  };
  const log = (line: string) => {
    patch({ logs: `${d().logs}${line}\n` });
    hooks.emit(item.id, { type: 'logs', data: line });
  };
  log(`running ${d().task} on ${d().model}${d().version ? ` version ${d().version}` : ''}`);
  await hooks.save(item);
  await webhook(platform, item, 'start');
  const row = kindRow(d().task);
  const version = d().version ?? undefined;
  let lastFlush = 0;
  const flush = async (force: boolean) => {
    if (!force && Date.now() - lastFlush < OUTPUT_EVERY_MS) return;
    lastFlush = Date.now();
    if (await hooks.save(item)) await webhook(platform, item, 'output');
  };
  try {
    const captured = { headers: {} as Record<string, string> };
    const answer = await runRoute(
      platform,
      d().chargedAtCreate ? alreadyCharged(d().principal) : d().principal,
      row.route(version),
      row.call(d().model, version, d().input),
      signal,
      captured,
    );
    let output: unknown;
    let files = d().files;
    if (row.streams) {
      output = await readGeneration(answer as Readable, (index, text, sofar) => {
        patch({ output: { choices: sofar.choices } });
        hooks.emit(item.id, { type: 'output', data: { index, text } });
        // A failed save is retried by the next token's flush; it must not reject unhandled.
        flush(false).catch(() => undefined);
      });
    } else {
      const shaped = await shapeAnswer(answer, captured.headers['content-type'], item.id, platform.outputs);
      output = shaped.output;
      files = shaped.files;
      hooks.emit(item.id, { type: 'output', data: output });
    }
    patch({ output, files, completedAt: Date.now() });
    log('succeeded');
    item = { ...item, status: 'succeeded' };
  } catch (e) {
    const canceled = signal.aborted && !hooks.stopping();
    const error: PredictionError = signal.aborted
      ? canceled
        ? { status: 499, code: 'client_closed', detail: 'the prediction was canceled' }
        : {
            status: 503,
            code: 'not_ready',
            detail: 'the server stopped while this prediction was running; create it again',
          }
      : asError(e);
    patch({ error: canceled ? null : error, completedAt: Date.now() });
    log(canceled ? 'canceled' : `failed: ${error.detail}`);
    item = { ...item, status: canceled ? 'canceled' : 'failed' };
  }
  if (await hooks.save(item)) {
    await webhook(platform, item, 'logs').catch(() => undefined);
    await webhook(platform, item, 'output').catch(() => undefined);
    await webhook(platform, item, 'completed');
  }
  hooks.emit(item.id, { type: 'done', data: predictionView(item) });
  return item;
}
