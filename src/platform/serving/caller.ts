/**
 * Who a model run is for, as the runner's fair queue sees it: the calling tenant, its weight and
 * concurrency cap (the tenant's `limits.weight` and `limits.concurrency`) and the request's
 * priority (`interactive`, or `batch` for bulk work such as OpenAI batches).
 *
 * The server sets it once per request (`runAs` around the route handler) and every model run the
 * request causes picks it up, however deep: a family runtime shared by all callers (an embedder,
 * an image generator, a decoder's steps) reaches the runner without each of them passing the
 * caller along. Code that starts work on a caller's behalf outside a request (a background
 * batch) wraps it in `runAs` itself, or passes `caller`/`priority` on the InferCall.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
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

const current = new AsyncLocalStorage<Caller>();

/** Run `fn` (and everything it starts) on behalf of `caller`. */
export function runAs<T>(caller: Caller, fn: () => T): T {
  return current.run(caller, fn);
}

/** The caller of the work in progress, if any. */
export function currentCaller(): Caller | undefined {
  return current.getStore();
}

/** Run `fn` as the current caller, at another priority (e.g. `batch` for bulk work). */
export function withPriority<T>(priority: Priority, fn: () => T): T {
  return current.run({ ...(current.getStore() ?? { tenant: '' }), priority }, fn);
}

/** The caller of work by a tenant with these limits (its `weight` and `concurrency`). */
export function callerOf(tenant: string, limits: Limits, priority: Priority = 'interactive'): Caller {
  return { tenant, weight: limits.weight, concurrency: limits.concurrency, priority };
}
