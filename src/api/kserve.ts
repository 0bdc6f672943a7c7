/**
 * KServe v2 / Open Inference Protocol REST, translated at the edge onto the inference service.
 * Errors on these routes use the protocol's `{"error": "..."}` shape.
 */
import { fail } from '../common/errors';
import type { Tensor } from '../engine/runtime/tensor';
import type { VersionRecord } from '../store/ports';
import { disconnectSignal, SERVER_NAME, SERVER_VERSION } from './common';
import { metered } from './metered';
import { authorizedModel } from './model-ref';
import type { RouteContext, RouteSpec } from './route';
import { BinaryChunks, BinaryTensorBody, binaryAnswer, INFERENCE_HEADER, tensorBytes } from './v2-binary';
import { decodeV2Input, describeV2Output, encodeV2Output, type V2InputJson, v2DataType } from './v2-tensors';

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
  /** The outputs to answer as raw bytes (the binary extension); empty for an all-JSON answer. */
  binaryOutputs: Set<string>;
  /** `parameters.binary_data_output`: every output binary unless it says otherwise. */
  allBinary: boolean;
  timeoutMs?: number;
}

function optionalBool(params: Record<string, unknown>, key: string, where: string): boolean | undefined {
  const v = params[key];
  if (v !== undefined && typeof v !== 'boolean')
    fail('invalid_request', `${where}.${key} must be true or false`);
  return v as boolean | undefined;
}

/** Validate the body of `.../infer`: JSON, or a JSON header and binary tensors (v2-binary.ts). */
export function parseInferBody(raw: unknown): ParsedInfer {
  const binary = raw instanceof BinaryTensorBody ? raw : undefined;
  const body = binary ? binary.json : raw;
  if (!isObject(body)) fail('invalid_request', 'the body must be a JSON object with "inputs"');
  for (const k of Object.keys(body)) {
    if (!['id', 'parameters', 'inputs', 'outputs'].includes(k))
      fail('invalid_request', `unknown property '${k.slice(0, 50)}'`);
  }
  if (body.id !== undefined && typeof body.id !== 'string') fail('invalid_request', '"id" must be a string');
  if (!Array.isArray(body.inputs) || body.inputs.length === 0)
    fail('invalid_request', '"inputs" must be a non-empty list');
  const params = isObject(body.parameters) ? body.parameters : {};
  const allBinary = optionalBool(params, 'binary_data_output', 'parameters') ?? false;
  const chunks = new BinaryChunks(binary?.tail);
  const inputs: Record<string, Tensor> = {};
  body.inputs.forEach((input: V2InputJson, i: number) => {
    const { name, tensor } = decodeV2Input(input, `inputs[${i}]`, chunks);
    if (name in inputs) fail('invalid_tensor', `input '${name}' is given twice`);
    inputs[name] = tensor;
  });
  chunks.finish();
  let outputs: string[] | undefined;
  const binaryOutputs = new Set<string>();
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) fail('invalid_request', '"outputs" must be a list');
    outputs = body.outputs.map((o: unknown, i: number) => {
      if (!isObject(o) || typeof o.name !== 'string')
        fail('invalid_request', `outputs[${i}].name must be a string`);
      const asked = isObject(o.parameters)
        ? optionalBool(o.parameters, 'binary_data', `outputs[${i}].parameters`)
        : undefined;
      if (asked ?? allBinary) binaryOutputs.add(o.name);
      return o.name;
    });
  }
  const timeout = params.timeout_ms;
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) {
    fail('invalid_request', 'parameters.timeout_ms must be a positive number (ms)');
  }
  return {
    id: body.id as string | undefined,
    inputs,
    outputs,
    binaryOutputs,
    allBinary: allBinary && outputs === undefined,
    timeoutMs: timeout as number | undefined,
  };
}

/**
 * The answer: all JSON, or (when an output is asked for as binary) a JSON header whose length
 * `Inference-Header-Content-Length` gives, followed by those outputs' bytes in order.
 */
function answer(
  ctx: RouteContext,
  parsed: ParsedInfer,
  version: VersionRecord,
  outputs: Record<string, Tensor>,
): { header: Record<string, unknown>; body: Buffer | Record<string, unknown> } {
  const names = parsed.outputs ?? version.signature.outputs.map((o) => o.name);
  const isBinary = (n: string) => parsed.allBinary || parsed.binaryOutputs.has(n);
  const chunks: Buffer[] = [];
  const header = {
    model_name: version.model,
    model_version: String(version.version),
    ...(parsed.id !== undefined ? { id: parsed.id } : {}),
    outputs: names.map((n) => {
      if (!isBinary(n)) return encodeV2Output(n, outputs[n]);
      chunks.push(tensorBytes(outputs[n]));
      return describeV2Output(n, outputs[n]);
    }),
  };
  if (chunks.length === 0) return { header, body: header };
  const { body, jsonLength } = binaryAnswer(header, chunks);
  ctx.reply.header('content-type', 'application/octet-stream');
  ctx.reply.header(INFERENCE_HEADER, String(jsonLength));
  return { header, body };
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
      return answer(ctx, parsed, version, outputs);
    },
    (done) => ({ units, version: done.header.model_version as string }),
  ).then((done) => done.body);
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
    handler: () => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: ['binary_tensor_data'] }),
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
      body: 'tensors',
      summary: 'Run the model on JSON tensors, or binary ones (Inference-Header-Content-Length)',
      handler: infer,
    },
  ]),
];
