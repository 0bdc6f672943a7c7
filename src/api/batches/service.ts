/**
 * OpenAI batches: durable rows (work items of kind `batch`) worked by one loop per process, one
 * batch and one line at a time, oldest first: batch work is background work and leaves the
 * models' queues to interactive requests. Progress (the next line, the answers so far) is saved
 * after every line, so a restart resumes where it stopped. At the end the answers become the
 * output and error files (`/v1/files`, purpose `batch_output`), in input order.
 *
 * Statuses: validating → in_progress → finalizing → completed; failed (the input file is not
 * usable); cancelling → cancelled (the lines answered so far are kept); expired after the
 * completion window (24 h), with the same partial files.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { fail } from '../../common/errors';
import type { Principal } from '../../platform/auth/auth';
import type { Platform } from '../../platform/platform';
import { BATCH_WINDOW_MS } from '../../platform/retention';
import type { WorkItem } from '../../store/work-ports';
import { type BatchEndpoint, runBatchLine } from './run';

const IDLE_POLL_MS = 1000;
/** Lines in one batch: OpenAI's limit. */
const MAX_LINES = 50_000;

export interface BatchData {
  endpoint: BatchEndpoint;
  inputFileId: string;
  metadata: Record<string, string> | null;
  principal: Principal;
  total: number;
  /** Index of the next line to run. */
  next: number;
  /** Lines answered with an error so far. */
  failed: number;
  outputLines: string[];
  errorLines: string[];
  outputFileId: string | null;
  errorFileId: string | null;
  errors: { code: string; message: string; line: number | null }[] | null;
  times: Record<string, number>;
}

export const batchData = (item: WorkItem) => item.data as unknown as BatchData;

export class BatchService {
  private loop: Promise<void> | null = null;
  private stopped = true;
  private wake: (() => void) | null = null;
  private current: AbortController | null = null;

  constructor(private readonly platform: Platform) {}

  private get items() {
    return this.platform.store.workItems;
  }

  async create(
    principal: Principal,
    endpoint: BatchEndpoint,
    inputFileId: string,
    metadata: Record<string, string> | null,
  ): Promise<WorkItem> {
    const now = Date.now();
    const data: BatchData = {
      endpoint,
      inputFileId,
      metadata,
      principal,
      total: 0,
      next: 0,
      failed: 0,
      outputLines: [],
      errorLines: [],
      outputFileId: null,
      errorFileId: null,
      errors: null,
      times: { created: now },
    };
    const item: WorkItem = {
      kind: 'batch',
      id: `batch_${randomBytes(12).toString('hex')}`,
      owner: principal.tenantId,
      status: 'validating',
      parent: null,
      dueAt: 0,
      createdAt: now,
      updatedAt: now,
      data: data as unknown as Record<string, unknown>,
    };
    await this.items.insert(item);
    this.wake?.();
    return item;
  }

  async get(owner: string, id: string): Promise<WorkItem> {
    return (
      (await this.items.get('batch', owner, id)) ??
      fail('not_found', `no such batch: '${id.slice(0, 64)}'`, { pointer: 'batch_id' })
    );
  }

  async cancel(owner: string, id: string): Promise<WorkItem> {
    const item = await this.get(owner, id);
    if (!['validating', 'in_progress'].includes(item.status)) return item;
    const d = batchData(item);
    const next = {
      ...item,
      status: 'cancelling',
      updatedAt: Date.now(),
      data: { ...item.data, times: { ...d.times, cancelling: Date.now() } },
    };
    if (!(await this.items.update(next, ['validating', 'in_progress']))) return this.get(owner, id);
    this.current?.abort();
    this.wake?.();
    return next;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.work();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort();
    this.wake?.();
    await this.loop;
    this.loop = null;
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      const [next] = await this.items
        .byStatus('batch', ['validating', 'in_progress', 'cancelling'], 1)
        .catch(() => []);
      // A batch that throws is retried after a pause, not at once: it must not spin the loop.
      const ran = next
        ? await this.runBatch(next).then(
            () => true,
            () => false,
          )
        : false;
      if (!ran)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, IDLE_POLL_MS);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      this.wake = null;
    }
  }

  /** Reads the input file's lines (blank lines skipped). */
  private async lines(item: WorkItem): Promise<string[]> {
    const d = batchData(item);
    const { stream } = await this.platform.datasets.open(item.owner, d.inputFileId);
    let text = '';
    for await (const chunk of stream) text += String(chunk);
    return text.split('\n').filter((l) => l.trim() !== '');
  }

  private async runBatch(start: WorkItem): Promise<void> {
    let item = start;
    const save = async (status: string, patch: Partial<BatchData>, expect: string[]) => {
      const d = batchData(item);
      const next = {
        ...item,
        status,
        updatedAt: Date.now(),
        data: { ...item.data, ...patch, times: { ...d.times, ...patch.times } },
      };
      if (!(await this.items.update(next, expect))) {
        item = await this.get(item.owner, item.id);
        return false;
      }
      item = next;
      return true;
    };
    const lines = await this.lines(item).catch(() => null);
    if (lines === null || lines.length === 0 || lines.length > MAX_LINES) {
      const message =
        lines === null
          ? 'the input file cannot be read'
          : lines.length === 0
            ? 'the input file has no requests'
            : `a batch takes at most ${MAX_LINES} requests`;
      await save(
        'failed',
        { errors: [{ code: 'invalid_file', message, line: null }], times: { failed: Date.now() } },
        // Also once running (the file deleted, a restart): else the loop would pick it again at once.
        ['validating', 'in_progress', 'cancelling'],
      );
      return;
    }
    if (
      item.status === 'validating' &&
      !(await save('in_progress', { total: lines.length, times: { in_progress: Date.now() } }, [
        'validating',
      ]))
    )
      return;
    while (item.status === 'in_progress' && !this.stopped) {
      const d = batchData(item);
      if (d.next >= lines.length) break;
      if (Date.now() - item.createdAt > BATCH_WINDOW_MS) {
        await this.finish(item, 'expired', save);
        return;
      }
      this.current = new AbortController();
      const result = await runBatchLine(
        this.platform,
        d.principal,
        d.endpoint,
        lines[d.next],
        d.next,
        this.current.signal,
      );
      this.current = null;
      const fresh = await this.get(item.owner, item.id);
      if (fresh.status !== 'in_progress') {
        item = fresh;
        break;
      }
      await save(
        'in_progress',
        {
          next: d.next + 1,
          failed: d.failed + (result.ok ? 0 : 1),
          outputLines: result.ok ? [...d.outputLines, result.line] : d.outputLines,
          errorLines: result.ok ? d.errorLines : [...d.errorLines, result.line],
        },
        ['in_progress'],
      );
    }
    if (this.stopped) return;
    if (item.status === 'cancelling') await this.finish(item, 'cancelled', save);
    else if (item.status === 'in_progress') await this.finish(item, 'completed', save);
  }

  private async finish(
    item: WorkItem,
    status: 'completed' | 'cancelled' | 'expired',
    save: (s: string, p: Partial<BatchData>, e: string[]) => Promise<boolean>,
  ): Promise<void> {
    const from = [item.status];
    if (status === 'completed') await save('finalizing', { times: { finalizing: Date.now() } }, from);
    const d = batchData(item);
    const file = async (lines: string[], suffix: string) => {
      if (lines.length === 0) return null;
      const id = `file-${randomBytes(12).toString('hex')}`;
      const body = Readable.from([Buffer.from(`${lines.join('\n')}\n`)]);
      await this.platform.datasets.upload(item.owner, id, body, undefined, {
        filename: `${item.id}_${suffix}.jsonl`,
        raw: 'batch_output',
      });
      return id;
    };
    const outputFileId = await file(d.outputLines, 'output');
    const errorFileId = await file(d.errorLines, 'error');
    const key = status === 'completed' ? 'completed' : status === 'cancelled' ? 'cancelled' : 'expired';
    await save(
      status,
      { outputFileId, errorFileId, outputLines: [], errorLines: [], times: { [key]: Date.now() } },
      [status === 'completed' ? 'finalizing' : item.status],
    );
  }
}

const services = new WeakMap<Platform, BatchService>();

export function batchesOf(platform: Platform): BatchService {
  const s = services.get(platform) ?? new BatchService(platform);
  services.set(platform, s);
  return s;
}
