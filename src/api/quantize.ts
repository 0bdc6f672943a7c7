/**
 * `POST /api/v1/models/{name}/versions/{version}/quantize` with `{"to": "int8" | "int4",
 * "keep_head": false}`: a new version of the model with int8 or int4 MatMul weights
 * (src/platform/registry/quantize.ts), answered with the version, what was rewritten and what it
 * cost (`quality`: max logit error, greedy-token agreement, bits per char for the zoo's models).
 */
import { fail } from '../common/errors';
import type { QuantizeTarget } from '../engine/index';
import { QUANTIZE_TARGETS, quantizeVersion } from '../platform/registry/quantize';
import { idempotent } from './idempotent';
import { authorizedModel } from './model-ref';
import type { RouteSpec } from './route';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function quantizeBody(body: unknown): { to: QuantizeTarget; keepHead: boolean } {
  if (!isObject(body)) fail('invalid_request', 'the body must be a JSON object: {"to": "int8" | "int4"}');
  for (const k of Object.keys(body))
    if (k !== 'to' && k !== 'keep_head')
      fail('invalid_request', `unknown property '${k.slice(0, 50)}' (known: to, keep_head)`, {
        pointer: k.slice(0, 50),
      });
  const to = body.to;
  if (typeof to !== 'string' || !QUANTIZE_TARGETS.includes(to as QuantizeTarget))
    fail('invalid_request', `to must be one of ${QUANTIZE_TARGETS.join(', ')}`, { pointer: 'to' });
  if (body.keep_head !== undefined && typeof body.keep_head !== 'boolean')
    fail('invalid_request', 'keep_head must be true or false', { pointer: 'keep_head' });
  return { to: to as QuantizeTarget, keepHead: body.keep_head === true };
}

export const quantizeRoutes: RouteSpec[] = [
  {
    surface: 'native',
    body: 'json',
    owned: 'name',
    method: 'POST',
    path: '/api/v1/models/:name/versions/:version/quantize',
    access: 'manage',
    status: 201,
    audit: 'model.quantize',
    summary:
      'Quantise a version (a number or an alias) into a new version: {"to": "int8" | "int4", "keep_head": false}; int8 per-channel weights (DynamicQuantizeMatMul) or int4 blocks of 32 (MatMulNBits). Answers the version, the rewrite and its quality cost',
    handler: (ctx) =>
      idempotent(ctx, async () => {
        const req = quantizeBody(ctx.body);
        const registry = ctx.platform.registry;
        const ref = await authorizedModel(registry, ctx.principal, ctx.params.name, 'manage');
        const out = await quantizeVersion(registry, ref.owner, ref.name, ctx.params.version, req);
        ctx.reply.header('location', `/api/v1/models/${out.version.model}/versions/${out.version.version}`);
        return out;
      }),
  },
];
