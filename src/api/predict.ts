/**
 * POST /api/v1/models/{name}/predict: raw rows, texts or images in; labels + probabilities (or
 * values) out. The version's stored feature spec turns raw input into the exact tensor it was
 * trained on, and its target spec turns outputs back into labels or values.
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
import { encodeInputs, inputWarnings, parseFeatureSpec, rowsFromRecords } from '../data/index';
import { decodePredictions, recordsFromInputs } from '../models/families/index';
import { disconnectSignal } from './common';
import { metered } from './metered';
import { authorizedModel } from './model-ref';
import type { RouteContext, RouteSpec } from './route';

/** Rows per request: bounds the work one request can ask for. */
const MAX_INPUTS = 1024;

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
  if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > MAX_INPUTS)
    fail('invalid_request', `inputs must be a list of 1 to ${MAX_INPUTS} items`, { pointer: 'inputs' });
  const strict = parseStrict(ctx.query.strict);
  // `name`, or another tenant's public model as `owner~name`; anything else reads as not found.
  const ref = await authorizedModel(ctx.platform.registry, ctx.principal, ctx.params.name, 'read');
  const version = await ctx.platform.registry.resolve(ref.owner, ref.name, ctx.query.version);
  if (!version.metadata.featureSpec)
    fail(
      'unprocessable',
      'this model has no feature spec (it was not trained here); call /v2/models/{name}/infer with tensors',
    );
  const spec = parseFeatureSpec(version.metadata.featureSpec);
  const records = recordsFromInputs(spec, inputs);
  const warnings = inputWarnings(spec, records);
  if (strict && warnings.length > 0)
    fail('invalid_request', `strict: ${warnings.map((w) => w.detail).join('; ')}`, {
      pointer: warnings[0].pointer,
    });
  const x = encodeInputs(spec, rowsFromRecords(records));
  const input = version.signature.inputs[0]?.name ?? 'x';
  // Billed per input row; the version is already resolved, so the reservation is exact.
  const { outputs } = await metered(
    ctx,
    { owner: ref.owner, model: ref.name },
    inputs.length,
    () =>
      ctx.platform.inference.infer(ref.owner, ref.name, String(version.version), {
        inputs: { [input]: x },
        signal: disconnectSignal(ctx),
      }),
    () => ({ units: inputs.length, version: version.version }),
  );
  return {
    model: version.model,
    version: version.version,
    predictions: decodePredictions(spec, outputs),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

export const predictRoutes: RouteSpec[] = [
  {
    surface: 'native',
    owned: 'name',
    method: 'POST',
    path: '/api/v1/models/:name/predict',
    access: 'infer',
    body: 'json',
    summary:
      'Predict from raw rows / texts / images with a model trained here: labels + probabilities or values, and warnings for unknown or missing columns, unseen categories and texts with no known word (?strict=true: 400 instead)',
    handler: predict,
  },
];
