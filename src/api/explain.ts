/**
 * POST /api/v1/models/{name}/explain: why a classifier chose a class — input-gradient saliency
 * computed with the engine's autodiff (see src/models/explain). One input per request; billed
 * as one unit, like one /predict row. The body is strict (unknown property → 400).
 *
 *   {"input": "data:image/png;base64,iVBOR...", "target": "7"}        image (cnn)
 *   → {"model": "mnist-cnn", "version": 1, "kind": "image", "label": "7", "class_index": 7,
 *      "predicted": "7", "probabilities": {...}, "width": 28, "height": 28,
 *      "heatmap_png": "iVBOR...", "saliency": {"width": 28, "height": 28, "values": [...]}}
 *   {"input": "win a free prize"}                                        text (text-cnn)
 *   → {..., "kind": "text", "tokens": [{"token": "free", "score": 0.8, "signed": 0.7}, ...]}
 *   {"input": {"sepal": 5.1, "petal": 1.4}}                               tabular row (mlp)
 *   → {..., "kind": "tabular", "features": [{"feature": "petal", "value": 1.4, "score": 2.1}, ...]}
 *   {"input": ..., "method": "integrated_gradients", "output_name": "logits"}  uploaded ONNX
 */
import { fail } from '../common/errors';
import type { Explanation } from '../models/index';
import { disconnectSignal } from './common';
import { metered } from './metered';
import { authorizedModel } from './model-ref';
import type { RouteContext, RouteSpec } from './route';

const KEYS = ['input', 'target', 'version', 'method', 'input_name', 'output_name'];

interface Body {
  input: unknown;
  target?: string | number;
  version?: string;
  method?: string;
  inputName?: string;
  outputName?: string;
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v !== undefined && typeof v !== 'string')
    fail('invalid_request', `${key} must be a string`, { pointer: key });
  return v;
}

function parseBody(raw: unknown): Body {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    fail('invalid_request', 'the body must be a JSON object {"input": ...}');
  const body = raw as Record<string, unknown>;
  for (const k of Object.keys(body))
    if (!KEYS.includes(k))
      fail('invalid_request', `unknown property '${k.slice(0, 50)}'; allowed: ${KEYS.join(', ')}`, {
        pointer: k,
      });
  if (body.input === undefined || body.input === null)
    fail('invalid_request', 'input is required', { pointer: 'input' });
  const { target, version } = body;
  if (target !== undefined && typeof target !== 'string' && typeof target !== 'number')
    fail('invalid_request', 'target must be a class label or index', { pointer: 'target' });
  if (version !== undefined && typeof version !== 'string' && typeof version !== 'number')
    fail('invalid_request', 'version must be a number or an alias', { pointer: 'version' });
  return {
    input: body.input,
    target,
    version: version === undefined ? undefined : String(version),
    method: optionalString(body, 'method'),
    inputName: optionalString(body, 'input_name'),
    outputName: optionalString(body, 'output_name'),
  };
}

/** The wire shape: snake_case like the other native task answers, PNG as base64. */
function render(e: Explanation): Record<string, unknown> {
  const common = {
    kind: e.kind,
    label: e.label,
    class_index: e.classIndex,
    predicted: e.predicted,
    probabilities: e.probabilities,
  };
  if (e.kind === 'image') {
    return {
      ...common,
      width: e.width,
      height: e.height,
      heatmap_png: e.heatmapPng.toString('base64'),
      ...(e.saliency ? { saliency: e.saliency } : {}),
    };
  }
  if (e.kind === 'text') return { ...common, tokens: e.tokens };
  return { ...common, features: e.features };
}

async function explain(ctx: RouteContext) {
  const body = parseBody(ctx.body);
  // `name`, or another tenant's public model as `owner~name`; anything else reads as not found.
  const ref = await authorizedModel(ctx.platform.registry, ctx.principal, ctx.params.name, 'read');
  const target = { owner: ref.owner, model: ref.name, ref: body.version };
  const out = await metered(
    ctx,
    target,
    1,
    () =>
      ctx.platform.tasks.explain(target, {
        input: body.input,
        target: body.target,
        method: body.method,
        inputName: body.inputName,
        outputName: body.outputName,
        signal: disconnectSignal(ctx),
      }),
    (r) => ({ units: 1, version: r.version }),
  );
  return { model: out.model, version: out.version, ...render(out.explanation) };
}

export const explainRoutes: RouteSpec[] = [
  {
    surface: 'native',
    owned: 'name',
    method: 'POST',
    path: '/api/v1/models/:name/explain',
    access: 'infer',
    body: 'json',
    jsonLimit: 'data',
    summary:
      'Explain a classifier: input-gradient saliency (image heat-map PNG, per-token or per-feature scores): {input, target, version}; uploaded ONNX classifiers also {method: gradient|smoothgrad|integrated_gradients, input_name, output_name}',
    handler: explain,
  },
];
