/**
 * Webhook deliveries: durable rows (work items of kind `delivery`, children of the prediction or
 * batch they report on), sent by a pump that any process may run. A due delivery is claimed with a
 * compare-and-set (`pending` → `sending`), so two processes never send the same attempt; each
 * attempt runs on its own (a slow receiver holds one of `maxInFlight` slots, never the others).
 * A failed attempt is retried after `retryBaseMs × 2^(attempt-1)` (at most 1 h) times a jitter in
 * [0.5, 1), for 24 h from the first attempt; then the delivery is `failed`. Every attempt is logged
 * on the row (time, status, duration, error): the delivery log a tenant reads.
 *
 * Each tenant signs with its own secret (signing.ts), created or rotated by `rotateSecret` and
 * shown only then; for 24 h after a rotation deliveries carry the previous secret's signature too.
 */
import { randomBytes } from 'node:crypto';
import { fail } from '../../common/errors';
import type { WorkItem, WorkItemRepository } from '../../store/work-ports';
import { postWebhook } from './deliver';
import { newWebhookSecret, signWebhook } from './signing';
import { parseWebhookUrl, resolveWebhookTarget } from './target';

export const WEBHOOK_EVENTS = ['start', 'output', 'logs', 'completed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** Deliveries are retried for this long after the first attempt (ms). */
const RETRY_WINDOW_MS = 24 * 3_600_000 + 60_000;
const MAX_RETRY_DELAY_MS = 3_600_000;
/** The previous secret still signs for this long after a rotation (ms). */
const ROTATION_OVERLAP_MS = 24 * 3_600_000;
const PUMP_EVERY_MS = 1000;

export interface DeliveryAttempt {
  at: string;
  status: number;
  ok: boolean;
  durationMs: number;
  error?: string;
}

/** A delivery as a tenant sees it in the log. */
export interface DeliveryView {
  id: string;
  event: WebhookEvent;
  url: string;
  status: 'pending' | 'sending' | 'delivered' | 'failed';
  attempts: DeliveryAttempt[];
  next_attempt_at: string | null;
  created_at: string;
}

interface SecretData {
  secret: string;
  previous: string | null;
  rotatedAt: number;
}

export interface WebhookOptions {
  allowPrivate: boolean;
  timeoutMs: number;
  retryBaseMs: number;
  /** Attempts in flight at once in this process (default 32). */
  maxInFlight?: number;
  now?: () => number;
  /** Jitter source in [0, 1) (tests pin it). */
  random?: () => number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class WebhookService {
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly inFlight = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private pumping = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly items: WorkItemRepository,
    private readonly options: WebhookOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** A new signing secret for `owner` (the previous one keeps signing for 24 h). Shown once. */
  async rotateSecret(owner: string): Promise<{ secret: string; rotated: boolean }> {
    const secret = newWebhookSecret();
    const now = this.now();
    const old = await this.items.get('webhook_secret', owner, owner);
    const data: SecretData = {
      secret,
      previous: old ? (old.data as unknown as SecretData).secret : null,
      rotatedAt: now,
    };
    const row: WorkItem = {
      kind: 'webhook_secret',
      id: owner,
      owner,
      status: 'active',
      parent: null,
      dueAt: 0,
      createdAt: old?.createdAt ?? now,
      updatedAt: now,
      data: data as unknown as Record<string, unknown>,
    };
    if (old) await this.items.update(row);
    else await this.items.insert(row);
    return { secret, rotated: old !== null };
  }

  /** Refuses a webhook before its prediction exists: a bad URL, or no secret to sign with. */
  async checkRequest(owner: string, raw: unknown): Promise<string> {
    const url = parseWebhookUrl(raw);
    if (!(await this.items.get('webhook_secret', owner, owner)))
      fail(
        'invalid_request',
        'webhook: this tenant has no webhook signing secret yet; create one with POST /api/v1/webhooks/secret',
        { pointer: 'webhook' },
      );
    return url.toString();
  }

  /** Queues one event for delivery now. */
  async enqueue(
    owner: string,
    parent: string,
    url: string,
    event: WebhookEvent,
    payload: unknown,
  ): Promise<void> {
    const now = this.now();
    await this.items.insert({
      kind: 'delivery',
      id: `msg_${randomBytes(12).toString('hex')}`,
      owner,
      status: 'pending',
      parent,
      dueAt: now,
      createdAt: now,
      updatedAt: now,
      data: { url, event, body: JSON.stringify(payload), attempts: [] },
    });
    this.kick();
  }

  /** The delivery log of a prediction or batch, oldest first. */
  async deliveries(owner: string, parent: string): Promise<DeliveryView[]> {
    const rows = (await this.items.children('delivery', parent)).filter((d) => d.owner === owner);
    return rows.map((d) => ({
      id: d.id,
      event: d.data.event as WebhookEvent,
      url: d.data.url as string,
      status: d.status as DeliveryView['status'],
      attempts: d.data.attempts as DeliveryAttempt[],
      next_attempt_at: d.status === 'pending' && d.dueAt > 0 ? iso(d.dueAt) : null,
      created_at: iso(d.createdAt),
    }));
  }

  /**
   * Deliveries left `sending` by a process that died go back to pending: only those claimed longer
   * ago than any live attempt can take (its timeout, twice, plus a margin), so a delivery another
   * live process is sending on a shared database is not sent twice.
   */
  private async recoverStale(): Promise<void> {
    const before = this.now() - 2 * this.options.timeoutMs - 10_000;
    for (const d of await this.items.byStatus('delivery', ['sending'], 10_000))
      if (d.updatedAt < before)
        await this.items.update({ ...d, status: 'pending', dueAt: this.now() }, ['sending']);
  }

  /** Starts the periodic pump, which also recovers deliveries a dead process left `sending`. */
  async start(): Promise<void> {
    await this.recoverStale();
    this.stopped = false;
    this.timer ??= setInterval(() => {
      this.recoverStale().catch(() => undefined);
      this.kick();
    }, PUMP_EVERY_MS);
    this.timer.unref();
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Runs the pump soon (deliveries queued by this process go out at once). */
  kick(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.pump()
      .catch(() => undefined)
      .finally(() => {
        this.pumping = false;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async pump(): Promise<void> {
    const room = (this.options.maxInFlight ?? 32) - this.inFlight.size;
    if (room <= 0) return;
    const due = await this.items.due('delivery', 'pending', this.now(), room);
    for (const d of due) {
      if (this.inFlight.has(d.id)) continue;
      const claimed = { ...d, status: 'sending', updatedAt: this.now() };
      if (!(await this.items.update(claimed, ['pending']))) continue;
      this.inFlight.add(d.id);
      void this.attempt(claimed)
        .catch(() => undefined)
        .finally(() => {
          this.inFlight.delete(d.id);
          this.kick();
        });
    }
  }

  private async attempt(d: WorkItem): Promise<void> {
    const started = this.now();
    const body = d.data.body as string;
    const result = await this.send(d.owner, d.id, d.data.url as string, body);
    const attempts = [...(d.data.attempts as DeliveryAttempt[]), { at: iso(started), ...result }];
    const firstAt = Date.parse(attempts[0].at);
    const next = this.now() + this.retryDelay(attempts.length);
    const status = result.ok ? 'delivered' : next - firstAt > RETRY_WINDOW_MS ? 'failed' : 'pending';
    await this.items.update(
      {
        ...d,
        status,
        dueAt: status === 'pending' ? next : 0,
        updatedAt: this.now(),
        data: { ...d.data, attempts },
      },
      ['sending'],
    );
  }

  private retryDelay(attempts: number): number {
    const base = Math.min(MAX_RETRY_DELAY_MS, this.options.retryBaseMs * 2 ** (attempts - 1));
    return Math.round(base * (0.5 + this.random() / 2));
  }

  private async send(owner: string, id: string, rawUrl: string, body: string) {
    try {
      const target = await resolveWebhookTarget(new URL(rawUrl), this.options.allowPrivate);
      const timestamp = Math.floor(this.now() / 1000);
      return await postWebhook(
        target,
        {
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': await this.signatures(owner, id, timestamp, body),
          'user-agent': 'maas-webhooks',
        },
        body,
        this.options.timeoutMs,
      );
    } catch (e) {
      return { status: 0, ok: false, durationMs: 0, error: e instanceof Error ? e.message : 'failed' };
    }
  }

  private async signatures(owner: string, id: string, timestamp: number, body: string): Promise<string> {
    const row = await this.items.get('webhook_secret', owner, owner);
    if (!row) return fail('invalid_request', 'the tenant has no webhook secret any more');
    const s = row.data as unknown as SecretData;
    const all = [s.secret];
    if (s.previous && this.now() - s.rotatedAt < ROTATION_OVERLAP_MS) all.push(s.previous);
    return all.map((secret) => signWebhook(secret, id, timestamp, body)).join(' ');
  }
}
