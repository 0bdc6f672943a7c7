/**
 * The one error catalog. Every error a client can see has a stable `code` here, with its HTTP
 * status and a short title. Layers throw `MaasError`; the API edge renders it once (problem+json on
 * native routes, OpenAI's shape on /v1, KServe's `{error}` on /v2). Messages never carry file
 * paths, stack traces or keys.
 */
export const errorCatalog = {
  invalid_request: { status: 400, title: 'Invalid request' },
  invalid_name: { status: 400, title: 'Invalid name or id' },
  invalid_tensor: { status: 400, title: 'Invalid tensor' },
  invalid_model: { status: 400, title: 'Invalid model file' },
  context_length_exceeded: { status: 400, title: 'Context length exceeded' },
  unsupported_model: { status: 422, title: 'Unsupported model' },
  not_explainable: { status: 422, title: 'Model cannot be explained' },
  invalid_dataset: { status: 400, title: 'Invalid dataset' },
  unauthorized: { status: 401, title: 'Missing or invalid API key' },
  forbidden: { status: 403, title: 'Key lacks the scope for this action' },
  not_found: { status: 404, title: 'Not found' },
  route_not_found: { status: 404, title: 'No such route' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  idempotency_mismatch: { status: 422, title: 'Idempotency key reused with a different request' },
  unprocessable: { status: 422, title: 'Unprocessable request' },
  model_failed: { status: 422, title: 'The model failed on this input' },
  rate_limited: { status: 429, title: 'Rate limit exceeded' },
  quota_exceeded: { status: 429, title: 'Monthly quota exhausted' },
  queue_full: { status: 429, title: 'Model queue is full' },
  client_closed: { status: 499, title: 'Client closed the request' },
  internal: { status: 500, title: 'Internal error' },
  inference_failed: { status: 500, title: 'Inference failed' },
  not_ready: { status: 503, title: 'Not ready' },
  engine_unavailable: { status: 503, title: 'Engine unavailable' },
  deadline_exceeded: { status: 504, title: 'Deadline exceeded' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalog;

export interface ErrorExtras {
  /** Seconds a client should wait before retrying (429, 503). */
  retryAfterSeconds?: number;
  /** Where in the input the problem is, e.g. `inputs[0].data` or `line 12, column 3`. */
  pointer?: string;
  /** Extra response headers, e.g. rate-limit state. */
  headers?: Record<string, string>;
}

export class MaasError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly extras: ErrorExtras;

  constructor(code: ErrorCode, detail: string, extras: ErrorExtras = {}) {
    super(detail);
    this.name = 'MaasError';
    this.code = code;
    this.status = errorCatalog[code].status;
    this.extras = extras;
  }

  get title(): string {
    return errorCatalog[this.code].title;
  }
}

/** Throw a catalog error: `fail('not_found', "model 'x' not found")`. */
export function fail(code: ErrorCode, detail: string, extras?: ErrorExtras): never {
  throw new MaasError(code, detail, extras);
}

export function isMaasError(value: unknown): value is MaasError {
  return value instanceof MaasError;
}
