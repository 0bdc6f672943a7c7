/**
 * Admission and metering for every serving route — native task routes and predict on /api/v1,
 * OpenAI /v1, KServe /v2 infer — so that rate limits, quotas, usage records and rate-limit headers
 * behave the same on all three surfaces (only the error shape differs, rendered at the edge by
 * api/errors.ts). Once the model is authorized and the request validated, `admitServing`
 * charges the key's and tenant's rate buckets and reserves `reserve` units of the monthly quota
 * (an upper bound when the cost is known only afterwards: prompt + n × max_tokens), and puts the
 * rate-limit headers on the answer — before its first byte, so streams carry them too. When the
 * work is done, `done(units, version)` settles the reservation with what was used and writes one
 * usage record; `failed(error)` gives the whole reservation back (a 4xx is not billed, a 5xx is
 * recorded with 0 units). Each charge settles once.
 *
 * Units: tokens (prompt + completion) for text and embeddings, images for image generation, whole
 * audio seconds (rounded up) for speech, inputs for predict and classify.
 */
import { isMaasError } from '../common/errors';
import type { RouteContext } from './route';

/** The model a request runs: its owner and name (another tenant's shows as `owner~name`). */
export interface MeteredModel {
  owner: string;
  model: string;
  /** The version the request asked for (`3`, `prod`), recorded when it fails before one resolved. */
  version?: string;
}

export interface Charge {
  done(units: number, version: string | number): Promise<void>;
  failed(error: unknown, version?: string | number): Promise<void>;
}

export async function admitServing(
  ctx: RouteContext,
  target: MeteredModel,
  reserve: number,
): Promise<Charge> {
  const started = performance.now();
  const { tenancy } = ctx.platform;
  const ticket = await tenancy.admission.admit(ctx.principal, reserve);
  ctx.reply.headers(ticket.headers);
  const model = target.owner === ctx.principal.tenantId ? target.model : `${target.owner}~${target.model}`;
  const record = (status: number, version: string | number, units: number) =>
    tenancy.meter.record({
      tenantId: ctx.principal.tenantId,
      keyId: ctx.principal.keyId,
      model,
      version: String(version),
      units,
      latencyMs: performance.now() - started,
      status,
    });
  let settled = false;
  return {
    async done(units, version) {
      if (settled) return;
      settled = true;
      await tenancy.admission.settle(ticket, units);
      await record(200, version, units);
    },
    async failed(error, version = target.version ?? 'latest') {
      if (settled) return;
      settled = true;
      await tenancy.admission.settle(ticket, 0);
      await record(isMaasError(error) ? error.status : 500, version, 0);
    },
  };
}

/** Admit, run, then settle with `measure(result)`; a failed run is settled at 0 and rethrown. */
export async function metered<T>(
  ctx: RouteContext,
  target: MeteredModel,
  reserve: number,
  run: () => Promise<T>,
  measure: (result: T) => { units: number; version: string | number },
): Promise<T> {
  const charge = await admitServing(ctx, target, reserve);
  let result: T;
  try {
    result = await run();
  } catch (error) {
    await charge.failed(error);
    throw error;
  }
  const { units, version } = measure(result);
  await charge.done(units, version);
  return result;
}

/**
 * An upper bound on the tokens of texts before a tokenizer has seen them: UTF-8 bytes (a byte-level
 * or character tokenizer never makes more tokens than bytes) plus 2 per text (BOS/EOS markers).
 */
export const tokenBound = (texts: readonly string[]): number =>
  texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8') + 2, 0);

/**
 * An estimate of speech length before synthesis (s): 12.5 characters per second at speed 1 is
 * slower than espeak-ng's and flite's default rates, so it rarely under-reserves; when it does,
 * `settle` debits the rest.
 */
export const speechBound = (text: string, speed = 1): number =>
  Math.max(1, Math.ceil(text.length / 12.5 / (speed > 0 ? speed : 1)));

/** Billed audio: whole seconds, rounded up (0.2 s → 1). */
export const audioUnits = (seconds: number): number => Math.ceil(seconds - 1e-9);
