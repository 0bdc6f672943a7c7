/**
 * The config rows of asynchronous predictions, their webhooks and OpenAI batches
 * (docs/predictions.md).
 */
import { fail } from '../common/errors';
import { bool, int, type Parser } from './config-parsers';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration: whole seconds (`3600`) or a number with a unit (`90s`, `30m`, `24h`, `7d`) → ms. */
const duration: Parser<number> = (raw, key) => {
  const m = /^([0-9]{1,9})([smhd]?)$/.exec(raw.trim());
  if (!m)
    return fail(
      'invalid_request',
      `config ${key}: ${JSON.stringify(raw)} is not a duration (3600, 90s, 30m, 24h, 7d)`,
    );
  const ms = Number(m[1]) * UNIT_MS[m[2] || 's'];
  if (ms < 60_000 || ms > 365 * 86_400_000)
    fail('invalid_request', `config ${key}: the duration must be between 1 minute and 365 days`);
  return ms;
};

export const predictionOptions = {
  predictionTtlMs: {
    env: 'MAAS_PREDICTION_TTL',
    flag: '--prediction-ttl',
    default: 86_400_000,
    parse: duration,
    doc: 'How long a finished prediction (its input, output, artifacts and webhook delivery log), a finished webhook delivery (of a training too) and a finished batch (after its 24 h window) are kept: seconds or 90s, 30m, 24h, 7d',
  },
  predictionConcurrency: {
    env: 'MAAS_PREDICTION_CONCURRENCY',
    flag: '--prediction-concurrency',
    default: 4,
    parse: int(1, 1024),
    doc: 'Asynchronous predictions (and batch lines) one process runs at a time; the rest wait as `starting`',
  },
  webhookAllowPrivate: {
    env: 'MAAS_WEBHOOK_ALLOW_PRIVATE',
    flag: '--webhook-allow-private',
    default: false,
    parse: bool,
    doc: 'Deliver webhooks to loopback, private and link-local addresses too (tests, private deployments); off: such targets are refused after DNS resolution',
  },
  webhookTimeoutMs: {
    env: 'MAAS_WEBHOOK_TIMEOUT_MS',
    flag: '--webhook-timeout-ms',
    default: 10_000,
    parse: int(100, 120_000),
    doc: 'Deadline of one webhook delivery, connection included (ms); a slower receiver counts as failed and is retried',
  },
  webhookRetryBaseMs: {
    env: 'MAAS_WEBHOOK_RETRY_BASE_MS',
    flag: '--webhook-retry-base-ms',
    default: 5_000,
    parse: int(10, 3_600_000),
    doc: 'First retry delay of a failed webhook delivery (ms); it doubles per attempt (with jitter, at most 1 h) for 24 h',
  },
};
