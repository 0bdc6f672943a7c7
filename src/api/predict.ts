/**
 * POST /api/v1/models/{name}/predict: raw rows, texts or images in; labels + probabilities (or
 * values) out. The HTTP side only: body, `?strict`, tenancy and metering. The work (feature spec →
 * tensor → model → labels) is the task service's (src/platform/tasks/predict.ts).
 *
 *   {"inputs": [{"sepal": 5.1, "petal": 1.4}]}       tabular rows
 *   {"inputs": ["free text to classify"]}             text
 *   {"inputs": ["data:image/png;base64,iVBOR..."]}    images (a data URL or bare base64)
 *
 * Inputs the model would silently misread (an unknown or missing column, a category never seen in
 * training, a text with no known word) are answered with `warnings` beside the predictions;
 * `?strict=true` refuses them instead (400 naming each one).
 */
import { fail } from '../common/errors';
import { MAX_PREDICT_INPUTS } from '../platform/tasks/predict';
import { disconnectSignal } from './common';
import { metered } from './metered';
import { authorizedModel } from './model-ref';
import type { RouteContext, RouteSpec } from './route';

/** `?strict=true|false` (default false). */
function parseStrict(raw: string | undefined): boolean {
  if (raw === undefined || raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  return fail('invalid_request', `strict must be true or false, got ${JSON.stringify(raw.slice(0, 20))}`, {
    pointer: 'strict',
  });
}

async function predict(ctx: RouteContext) {
  const body = ctx.body as { inputs?: unknown } | null;
  if (typeof body !== 'object' || body === null || Object.keys(body).some((k) => k !== 'inputs'))
    fail('invalid_request', 'the body must be {"inputs": [...]}');
  const inputs = body.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > MAX_PREDICT_INPUTS)
    fail('invalid_request', `inputs must be a list of 1 to ${MAX_PREDICT_INPUTS} items`, {
      pointer: 'inputs',
    });
  const strict = parseStrict(ctx.query.strict);
  // `name`, or another tenant's public model as `owner~name`; anything else reads as not found.
  const ref = await authorizedModel(ctx.platform.registry, ctx.principal, ctx.params.name, 'read');
  const target = { owner: ref.owner, model: ref.name, ref: ctx.query.version };
  // Billed per input row.
  const out = await metered(
    ctx,
    target,
    inputs.length,
    () => ctx.platform.tasks.predict(target, inputs, { strict, signal: disconnectSignal(ctx) }),
    (r) => ({ units: inputs.length, version: r.version }),
  );
  const { warnings, ...answer } = out;
  return { ...answer, ...(warnings.length > 0 ? { warnings } : {}) };
}
export const predictRoutes: RouteSpec[] = [
  {
    surface: 'native',
    owned: 'name',
    method: 'POST',
    path: '/api/v1/models/:name/predict',
    access: 'infer',
    body: 'json',
    jsonLimit: 'data',
    // A row is an object or a string: an array row is refused by its index whatever it holds
    // (models/families/predict.ts), so a large one is never built on the event loop.
    jsonRebuild: { unbuiltArraysIn: 'inputs' },
    summary:
      'Predict from raw rows / texts / images with a model trained here: labels + probabilities or values, and warnings for unknown or missing columns, unseen categories and texts with no known word (?strict=true: 400 instead)',
    handler: predict,
  },
];
