/**
 * KServe v2 / Open Inference Protocol REST, translated at the edge onto the inference service.
 * Errors on these routes use the protocol's `{"error": "..."}` shape.
 */
import { fail } from '../common/errors';
import type { Tensor } from '../engine/runtime/tensor';
import type { VersionRecord } from '../store/ports';
import { metered } from './metered';
import { authorizedModel } from './model-ref';
import type { RouteContext, RouteSpec } from './route';
import { decodeV2Input, encodeV2Output, type V2InputJson, v2DataType } from './v2-tensors';

export const SERVER_NAME = 'maas';
export const SERVER_VERSION = '0.1.0';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function metadata(v: VersionRecord) {
  const sig = (list: VersionRecord['signature']['inputs']) =>
    list.map((s) => ({
      name: s.name,
      datatype: v2DataType(s.dtype),
      shape: s.shape.map((d) => (typeof d === 'number' ? d : -1)),
    }));
  return {
    name: v.model,
    versions: [String(v.version)],
    platform: 'onnxruntime_onnx',
    inputs: sig(v.signature.inputs),
    outputs: sig(v.signature.outputs),
  };
}

async function resolve(ctx: RouteContext): Promise<VersionRecord> {
  const ref = await authorizedModel(ctx.platform.registry, ctx.principal, ctx.params.name, 'read');
  return ctx.platform.registry.resolve(ref.owner, ref.name, ctx.params.version);
}

interface ParsedInfer {
  id?: string;
  inputs: Record<string, Tensor>;
  outputs?: string[];
  timeoutMs?: number;
}

/** Validate the JSON request body of `.../infer`. */
export function parseInferBody(body: unknown): ParsedInfer {
  if (!isObject(body)) fail('invalid_request', 'the body must be a JSON object with "inputs"');
  for (const k of Object.keys(body)) {
    if (!['id', 'parameters', 'inputs', 'outputs'].includes(k))
      fail('invalid_request', `unknown property '${k.slice(0, 50)}'`);
  }
  if (body.id !== undefined && typeof body.id !== 'string') fail('invalid_request', '"id" must be a string');
  if (!Array.isArray(body.inputs) || body.inputs.length === 0)
    fail('invalid_request', '"inputs" must be a non-empty list');
  const inputs: Record<string, Tensor> = {};
  body.inputs.forEach((raw: V2InputJson, i: number) => {
    const { name, tensor } = decodeV2Input(raw, `inputs[${i}]`);
    if (name in inputs) fail('invalid_tensor', `input '${name}' is given twice`);
    inputs[name] = tensor;
  });
  let outputs: string[] | undefined;
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) fail('invalid_request', '"outputs" must be a list');
    outputs = body.outputs.map((o: unknown, i: number) => {
      if (!isObject(o) || typeof o.name !== 'string')
        fail('invalid_request', `outputs[${i}].name must be a string`);
      if (isObject(o.parameters) && o.parameters.binary_data === true) {
        fail('invalid_request', 'the binary tensor extension is not supported; omit binary_data');
      }
      return o.name;
    });
  }
  const params = isObject(body.parameters) ? body.parameters : {};
  const timeout = params.timeout_ms;
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) {
    fail('invalid_request', 'parameters.timeout_ms must be a positive number (ms)');
  }
  return { id: body.id as string | undefined, inputs, outputs, timeoutMs: timeout as number | undefined };
}

/** A signal that fires when the client goes away before its answer is written. */
export function disconnectSignal(ctx: RouteContext): AbortSignal {
  const controller = new AbortController();
  const res = ctx.reply.raw;
  const socket = ctx.request.raw.socket;
  // A FIN from the client ('end') is noticed in the same poll phase it arrives in; the
  // response's 'close' only after our side has closed too, which can be a whole run later.
  const gone = () => {
    if (!res.writableFinished) controller.abort();
  };
  const cleanup = () => {
    socket.off('end', gone);
    socket.off('close', gone);
  };
  socket.once('end', gone);
  socket.once('close', gone);
  // The FIN may have come before this handler ran (the body was parsed in the same poll phase).
  if (socket.readableEnded || socket.destroyed) controller.abort();
  res.once('close', () => {
    gone();
    cleanup();
  });
  res.once('finish', cleanup);
  return controller.signal;
}

/** The deadline a request asks for (ms): the smaller of `parameters.timeout_ms` and `x-maas-timeout-ms`. */
function requestedTimeout(ctx: RouteContext, parsed: ParsedInfer): number | undefined {
  const header = ctx.request.headers['x-maas-timeout-ms'];
  const headerMs = typeof header === 'string' && /^[0-9]{1,9}$/.test(header) ? Number(header) : undefined;
  const ms = Math.min(parsed.timeoutMs ?? Number.POSITIVE_INFINITY, headerMs ?? Number.POSITIVE_INFINITY);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Raw infer, admitted and metered by the shared `metered` (api/metered.ts), like the /api/v1 and
 * /v1 serving routes: units = input tensors, reserved before the request may queue; rate-limit
 * headers on the answer whatever it is; one usage record when a model ran (2xx billed, 5xx
 * unbilled). Requests refused before the model (auth, scope, not found, 429, bad tensors) cost
 * nothing. Errors are rendered in KServe's `{"error": "..."}` shape by the edge.
 */
async function infer(ctx: RouteContext) {
  const parsed = parseInferBody(ctx.body);
  const ref = await authorizedModel(ctx.platform.registry, ctx.principal, ctx.params.name, 'read');
  const units = Object.keys(parsed.inputs).length;
  // The answer is encoded inside the metered run: an output that cannot be encoded is a failed,
  // unbilled request, not a billed one.
  return metered(
    ctx,
    { owner: ref.owner, model: ref.name, version: ctx.params.version },
    units,
    async () => {
      const { version, outputs } = await ctx.platform.inference.infer(
        ref.owner,
        ref.name,
        ctx.params.version,
        {
          inputs: parsed.inputs,
          outputs: parsed.outputs,
          timeoutMs: requestedTimeout(ctx, parsed),
          signal: disconnectSignal(ctx),
        },
      );
      const names = parsed.outputs ?? version.signature.outputs.map((o) => o.name);
      return {
        model_name: version.model,
        model_version: String(version.version),
        ...(parsed.id !== undefined ? { id: parsed.id } : {}),
        outputs: names.map((n) => encodeV2Output(n, outputs[n])),
      };
    },
    (answer) => ({ units, version: answer.model_version }),
  );
}

const model = '/v2/models/:name';
const versioned = '/v2/models/:name/versions/:version';
const base = { surface: 'v2' as const, body: 'none' as const };

export const kserveRoutes: RouteSpec[] = [
  {
    ...base,
    method: 'GET',
    path: '/v2',
    access: 'infer',
    owned: null,
    summary: 'Server metadata',
    handler: () => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: [] }),
  },
  {
    ...base,
    method: 'GET',
    path: '/v2/health/live',
    access: 'public',
    owned: null,
    summary: 'Liveness',
    handler: () => ({ live: true }),
  },
  {
    ...base,
    method: 'GET',
    path: '/v2/health/ready',
    access: 'public',
    owned: null,
    summary: 'Readiness (503 while starting or draining)',
    handler: (ctx) => {
      if (ctx.state.draining) fail('not_ready', 'the server is draining');
      return { ready: true };
    },
  },
  ...[model, versioned].flatMap((path): RouteSpec[] => [
    {
      ...base,
      method: 'GET',
      path,
      access: 'infer',
      owned: 'name',
      summary: 'Model metadata: inputs and outputs with datatypes and shapes (-1 = any)',
      handler: async (ctx) => metadata(await resolve(ctx)),
    },
    {
      ...base,
      method: 'GET',
      path: `${path}/ready`,
      access: 'infer',
      owned: 'name',
      summary: 'Whether the model version can serve (it loads on first use)',
      handler: async (ctx) => ({ name: (await resolve(ctx)).model, ready: true }),
    },
    {
      ...base,
      method: 'POST',
      path: `${path}/infer`,
      access: 'infer',
      owned: 'name',
      body: 'json',
      summary: 'Run the model on JSON tensors',
      handler: infer,
    },
  ]),
];
