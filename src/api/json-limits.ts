/**
 * The size budget of each JSON route, by what its body holds. A management body (a key, a
 * tenant, a training) is a few hundred bytes; a prompt is at most 100,000 characters; only
 * tensors, rows and images need megabytes. JSON.parse runs on the event loop, and its cost per
 * byte depends on the shape (1 MiB of `[0,0,…]` ≈ 15 ms idle, 150 ms at load 20 on 2 cores), so
 * each route gets no more than it needs: a hostile body costs what its surface allows, no more.
 */
import type { Config } from '../platform/config';
import type { JsonBodyClass, RouteSpec } from './route';

interface JsonBudget {
  /** The Config key holding the byte limit. */
  key: 'maxControlJsonBytes' | 'maxTextJsonBytes' | 'maxJsonBytes';
  setting: string;
  /** What to do instead, said in the 413. */
  hint: string;
}

const budgets: Record<JsonBodyClass, JsonBudget> = {
  control: {
    key: 'maxControlJsonBytes',
    setting: 'MAAS_MAX_CONTROL_JSON_BYTES',
    hint: 'a settings body is a few KB',
  },
  text: {
    key: 'maxTextJsonBytes',
    setting: 'MAAS_MAX_TEXT_JSON_BYTES',
    hint: 'split the inputs over several requests',
  },
  data: {
    key: 'maxJsonBytes',
    setting: 'MAAS_MAX_JSON_BYTES',
    hint: 'large inputs go to the upload routes, large tensors in the binary tensor format',
  },
};

/** The class of a route's JSON body, or null when the route takes no JSON. */
export function jsonBodyClass(spec: RouteSpec): JsonBodyClass | null {
  if (spec.body === 'tensors') return spec.jsonLimit ?? 'data';
  if (spec.body === 'json') return spec.jsonLimit ?? 'control';
  return null;
}

export interface JsonLimit {
  bytes: number;
  /** `maxTextJsonBytes`: the Config key, named in the 413 as the limit. */
  limit: string;
  setting: string;
  hint: string;
}

/** The byte limit of a route's JSON body and how the 413 names it; null when it takes no JSON. */
export function jsonLimitOf(spec: RouteSpec, config: Config): JsonLimit | null {
  const cls = jsonBodyClass(spec);
  if (cls === null) return null;
  const b = budgets[cls];
  return { bytes: config[b.key], limit: b.key, setting: b.setting, hint: b.hint };
}

/** The default budget (a route fastify could not match, or one without a JSON body). */
export function defaultJsonLimit(config: Config): JsonLimit {
  const b = budgets.data;
  return { bytes: config[b.key], limit: b.key, setting: b.setting, hint: b.hint };
}
