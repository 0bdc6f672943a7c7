/**
 * Who a model run is for, as the runner's fair queue sees it: the calling tenant, its weight and
 * concurrency cap (the tenant's `limits.weight` and `limits.concurrency`) and the request's
 * priority (`interactive`, or `batch` for bulk work such as OpenAI batches).
 *
 * The caller travels with the request's abort signal, the one object every model run a request
 * causes is already given, however deep (a family runtime shared by all callers: an embedder, an
 * image generator, a decoder's steps), so that a hang-up cancels it. The server binds the caller
 * to that signal once (`scheduleAs`, in the route's disconnect signal) and the inference service
 * reads it back (`callerOfSignal`); a signal derived from it (`anySignal`, `withCallerOf`) keeps
 * it. As Go's `context.Context` carries values beside its cancellation.
 *
 * Why not `AsyncLocalStorage`: on Node 20 it turns on async hooks for every promise of the
 * process, which cost the API thread about a tenth of its CPU per `/v2` request (docs/benchmarks.md).
 */
import type { Limits } from '../../store/tenancy/types';
import type { Priority } from './fair-queue';

export type { Priority } from './fair-queue';

export interface Caller {
  tenant: string;
  /** Turns relative to other tenants on one model (default 1). */
  weight?: number;
  /** The most of this tenant's requests one model runs at once; absent: no cap. */
  concurrency?: number;
  priority?: Priority;
}

/** Weak: a request's signal and its caller go when the request does. */
const callers = new WeakMap<AbortSignal, Caller>();

/** Every model run given `signal` (or a signal derived from it here) is scheduled as `caller`. */
export function scheduleAs(signal: AbortSignal, caller: Caller): AbortSignal {
  callers.set(signal, caller);
  return signal;
}

/** The caller bound to `signal`, if any. */
export function callerOfSignal(signal: AbortSignal | undefined): Caller | undefined {
  return signal === undefined ? undefined : callers.get(signal);
}

/** `AbortSignal.any(signals)`, scheduled as the first of them that has a caller. */
export function anySignal(signals: AbortSignal[]): AbortSignal {
  const combined = AbortSignal.any(signals);
  const caller = signals.map((s) => callers.get(s)).find((c) => c !== undefined);
  return caller ? scheduleAs(combined, caller) : combined;
}

/** `signal`, scheduled as `from`'s caller (a signal made for the work `from` cancels). */
export function withCallerOf(from: AbortSignal | undefined, signal: AbortSignal): AbortSignal {
  const caller = callerOfSignal(from);
  return caller ? scheduleAs(signal, caller) : signal;
}

/** The caller of work by a tenant with these limits (its `weight` and `concurrency`). */
export function callerOf(tenant: string, limits: Limits, priority: Priority = 'interactive'): Caller {
  return { tenant, weight: limits.weight, concurrency: limits.concurrency, priority };
}
