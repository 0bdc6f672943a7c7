/**
 * What a prediction can run: one row per task kind of the native API, naming the synchronous
 * route whose handler runs it and how a prediction's `input` becomes that route's request. The
 * handler validates the input exactly as it does over HTTP (an unknown property, a wrong type,
 * a model of another task: the same 4xx, stored as the prediction's error).
 *
 *   {"model": "bigram", "input": {"prompt": "the ", "max_tokens": 20}}   → generate
 *   {"model": "bag", "input": {"input": ["cat", "dog"]}}                   → embed
 *   {"model": "raw", "task": "infer", "input": {"inputs": [{"name": "x", ...}]}} → /v2 infer
 */
import { fail } from '../../common/errors';
import type { Platform } from '../../platform/platform';
import type { BackgroundCall } from '../background/context';
import { kserveRoutes } from '../kserve';
import { predictRoutes } from '../predict';
import type { RouteSpec } from '../route';
import { taskRoutes } from '../tasks';

export const PREDICTION_KINDS = [
  'generate',
  'embed',
  'imagine',
  'speak',
  'classify',
  'predict',
  'infer',
] as const;
export type PredictionKind = (typeof PREDICTION_KINDS)[number];

interface KindRow {
  /** The synchronous route (with and without a version where they differ). */
  route: (version: string | undefined) => RouteSpec;
  call: (model: string, version: string | undefined, input: Record<string, unknown>) => BackgroundCall;
  /** Streams its output as it comes (tokens). */
  streams?: boolean;
}

function routeOf(group: readonly RouteSpec[], path: string): RouteSpec {
  const spec = group.find((r) => r.method === 'POST' && r.path === path);
  if (!spec) throw new Error(`prediction kinds: no route POST ${path}`);
  return spec;
}

const M = '/api/v1/models/:name';
/** Native task routes take `version` in the body. */
const nativeRow = (path: string, extra: Record<string, unknown> = {}): KindRow => {
  const spec = routeOf(taskRoutes, `${M}/${path}`);
  return {
    route: () => spec,
    call: (model, version, input) => ({
      params: { name: model },
      body: { ...input, ...(version !== undefined ? { version } : {}), ...extra },
    }),
  };
};

const kinds: Record<PredictionKind, KindRow> = {
  // The route streams SSE when asked: the prediction reads its `delta` events as they come.
  generate: { ...nativeRow('generate', { stream: true }), streams: true },
  embed: nativeRow('embed'),
  imagine: nativeRow('imagine'),
  speak: {
    route: () => routeOf(taskRoutes, `${M}/speak`),
    call: (model, _version, input) => ({ params: { name: model }, body: input }),
  },
  classify: nativeRow('classify'),
  predict: {
    route: () => routeOf(predictRoutes, `${M}/predict`),
    // `strict` is a query parameter of the route; in a prediction it sits beside `inputs`.
    call: (model, version, input) => {
      const { strict, ...body } = input;
      const query: Record<string, string> = {};
      if (version !== undefined) query.version = version;
      if (strict !== undefined) query.strict = String(strict);
      return { params: { name: model }, query, body };
    },
  },
  infer: {
    route: (version) =>
      routeOf(
        kserveRoutes,
        version === undefined ? '/v2/models/:name/infer' : '/v2/models/:name/versions/:version/infer',
      ),
    call: (model, version, input) => ({
      params: { name: model, ...(version !== undefined ? { version } : {}) },
      body: input,
    }),
  },
};

export const kindRow = (kind: PredictionKind): KindRow => kinds[kind];

export function parseKind(raw: unknown): PredictionKind | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string' || !(PREDICTION_KINDS as readonly string[]).includes(raw))
    fail('invalid_request', `task must be one of ${PREDICTION_KINDS.join(', ')}`, { pointer: 'task' });
  return raw as PredictionKind;
}

const byServingTask: Record<string, PredictionKind> = {
  'text-generation': 'generate',
  embeddings: 'embed',
  'image-generation': 'imagine',
  classification: 'classify',
};

/**
 * The kind a model runs when the caller does not say: a speech model speaks; a model trained here
 * (it has a feature spec) predicts; otherwise its serving runtime's task; a model with no runtime
 * takes tensors (/v2 infer).
 */
export async function defaultKind(
  platform: Platform,
  target: { owner: string; model: string; ref?: string },
): Promise<PredictionKind> {
  if (platform.tasks.speechModels.get(target.model)) return 'speak';
  const version = await platform.registry.resolve(target.owner, target.model, target.ref);
  if (version.metadata.featureSpec) return 'predict';
  for (const task of Object.keys(byServingTask)) {
    const found = await platform.tasks
      .runtime(target, task as 'text-generation')
      .then(() => true)
      .catch(() => false);
    if (found) return byServingTask[task];
  }
  return 'infer';
}
