/**
 * KServe v2 binary tensor extension (as Triton implements it): a body is a JSON header of
 * `Inference-Header-Content-Length` bytes followed by raw tensor bytes, little-endian, row-major,
 * one chunk per tensor whose `parameters.binary_data_size` says its length, in the order the
 * tensors are listed. Requests may mix JSON `data` and binary inputs; outputs come back binary
 * when `outputs[i].parameters.binary_data` (or the request's `parameters.binary_data_output`)
 * asks for it, and the answer then carries the same header. BOOL is one byte per element (0 or 1).
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fail } from '../common/errors';
import { elementCount, type Tensor, type TensorDType, zeros } from '../engine/runtime/tensor';
import { type JsonShape, parseJsonBody } from './json-body';
import { readBodyBytes } from './json-stream';
import type { JsonParser } from './json-threads';

/** The header naming the JSON part's length, on requests and answers (lower case, as Node reads it). */
export const INFERENCE_HEADER = 'inference-header-content-length';

/** A request body in the binary format: the parsed JSON header and the raw bytes after it. */
export class BinaryTensorBody {
  constructor(
    readonly json: unknown,
    readonly tail: Buffer,
  ) {}
}

const bytesPer: Record<TensorDType, number> = {
  float32: 4,
  float64: 8,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  bool: 1,
};

const isJsonType = (type: string) => /^application\/([a-z.+-]*\+)?json\s*(;|$)/i.test(type);

/** A body without the binary header must be JSON: refused before it is read otherwise. */
function checkJsonType(headers: FastifyRequest['headers']): void {
  if (!isJsonType(String(headers['content-type'] ?? ''))) {
    fail(
      'unsupported_media_type',
      `send Content-Type: application/json, or the binary tensor format with the ${INFERENCE_HEADER} header`,
    );
  }
}

/** Where a binary-format body's JSON header ends, checked against the body's length. */
function headerLength(raw: string | string[], body: Buffer): number {
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (!/^[0-9]{1,12}$/.test(text)) {
    fail(
      'invalid_request',
      `${INFERENCE_HEADER} must be a whole number of bytes, got ${JSON.stringify(text.slice(0, 20))}`,
      {
        pointer: `header ${INFERENCE_HEADER}`,
      },
    );
  }
  const jsonLength = Number(text);
  if (jsonLength > body.length) {
    fail(
      'invalid_request',
      `${INFERENCE_HEADER} is ${jsonLength} but the body has only ${body.length} bytes`,
      { pointer: `header ${INFERENCE_HEADER}` },
    );
  }
  return jsonLength;
}

/**
 * The body of a v2 infer request: the binary format when the header is present (any
 * Content-Type, or none: Triton's clients send none), else bounded JSON.
 */
export function parseTensorBody(
  headers: FastifyRequest['headers'],
  body: Buffer,
  shape: number | JsonShape,
  depthChecked = false,
): unknown {
  const raw = headers[INFERENCE_HEADER];
  if (raw === undefined) {
    checkJsonType(headers);
    return parseJsonBody(body, shape, depthChecked);
  }
  const jsonLength = headerLength(raw, body);
  const json = parseJsonBody(body.subarray(0, jsonLength), shape);
  return new BinaryTensorBody(json, body.subarray(jsonLength));
}

/**
 * The same through a JsonParser (a large body off the event loop, json-threads.ts). Arrays of
 * numbers under `data` may come back as Float64Arrays: decodeV2Input reads them as lists.
 */
async function readTensorBody(
  headers: FastifyRequest['headers'],
  body: Buffer,
  shape: JsonShape,
  parser: JsonParser,
  sender: string | undefined,
): Promise<unknown> {
  const raw = headers[INFERENCE_HEADER];
  if (raw === undefined) return parser.parse(body, shape, { depthChecked: true, typedUnder: 'data', sender });
  const jsonLength = headerLength(raw, body);
  // Cut before parsing: the parser may take (transfer) a buffer it is given whole.
  const tail = body.subarray(jsonLength);
  const json = await parser.parse(body.subarray(0, jsonLength), shape, {
    depthChecked: false,
    typedUnder: 'data',
    sender,
  });
  return new BinaryTensorBody(json, tail);
}

/** The v2 infer routes' context: every Content-Type (and none) is read whole, then split. */
export function installTensorParsers(
  app: FastifyInstance,
  shape: JsonShape,
  parser: JsonParser,
  senderOf: (req: FastifyRequest) => string | undefined,
): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', async (req: FastifyRequest, payload: Readable) => {
    // Plain JSON is depth-checked while it arrives (a bomb is refused at once); the binary
    // format's JSON header is checked once its length is known.
    const plain = req.headers[INFERENCE_HEADER] === undefined;
    if (plain) checkJsonType(req.headers);
    const body = await readBodyBytes(req, payload, plain ? shape : undefined);
    return readTensorBody(req.headers, body, shape, parser, senderOf(req));
  });
}

/** Reads the binary chunks of a request in order; `rest()` says how many bytes nobody claimed. */
export class BinaryChunks {
  private offset = 0;
  constructor(private readonly tail: Buffer | undefined) {}

  /** The tensor of `dims` whose `size` bytes come next. */
  take(dtype: TensorDType, dims: readonly number[], size: unknown, where: string): Tensor {
    const pointer = `${where}.parameters.binary_data_size`;
    if (this.tail === undefined) {
      fail(
        'invalid_tensor',
        `${where} has binary_data_size but the request has no ${INFERENCE_HEADER} header`,
        {
          pointer,
        },
      );
    }
    if (!Number.isInteger(size) || (size as number) < 0) {
      fail('invalid_tensor', `${pointer} must be a non-negative integer`, { pointer });
    }
    const want = elementCount(dims) * bytesPer[dtype];
    if (size !== want) {
      fail('invalid_tensor', `${pointer} is ${size} but shape [${dims}] of ${dtype} needs ${want} bytes`, {
        pointer,
      });
    }
    const left = this.tail.length - this.offset;
    if (want > left) {
      fail(
        'invalid_tensor',
        `${where} needs ${want} bytes of binary data but only ${left} are left in the body`,
        {
          pointer,
        },
      );
    }
    const t = zeros(dtype, dims);
    // A copy: the body buffer's offset need not be aligned for the typed array.
    new Uint8Array(t.data.buffer, t.data.byteOffset, want).set(
      this.tail.subarray(this.offset, this.offset + want),
    );
    this.offset += want;
    if (dtype === 'bool') {
      const bad = (t.data as Uint8Array).findIndex((v) => v > 1);
      if (bad >= 0)
        fail('invalid_tensor', `${where}: BOOL element ${bad} is ${t.data[bad]}, not 0 or 1`, { pointer });
    }
    return t;
  }

  /** Fails when bytes are left over after every binary input took its chunk. */
  finish(): void {
    if (this.tail === undefined) return;
    const extra = this.tail.length - this.offset;
    if (extra !== 0) {
      fail(
        'invalid_tensor',
        `the body has ${extra} bytes after the binary inputs' binary_data_size (${this.offset} bytes) were read`,
        { pointer: 'body' },
      );
    }
  }
}

/** The raw little-endian bytes of a tensor (BOOL as 0/1 bytes). */
export function tensorBytes(t: Tensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** One answer body: the JSON header, then the chunks in order. */
export function binaryAnswer(
  header: unknown,
  chunks: readonly Buffer[],
): { body: Buffer; jsonLength: number } {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return { body: Buffer.concat([json, ...chunks]), jsonLength: json.length };
}
