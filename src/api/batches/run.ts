/**
 * One batch's lines, in order, one at a time (so a batch never crowds out interactive requests on
 * the same model): each line `{custom_id, method: "POST", url, body}` is answered by the handler of
 * the OpenAI route it names, run as the batch's creator (background/context.ts), so validation,
 * admission, metering and the answer are the synchronous route's. Answers go to the output file,
 * refusals and failures to the error file, each with the line's `custom_id`, in input order.
 */
import { randomBytes } from 'node:crypto';
import { MaasError } from '../../common/errors';
import type { Principal } from '../../platform/auth/auth';
import type { Platform } from '../../platform/platform';
import { runRoute } from '../background/context';
import { toMaasError } from '../errors';
import { openAIErrorBody } from '../openai/errors';
import { openAIRoutes } from '../openai/routes';
import type { RouteSpec } from '../route';

export const BATCH_ENDPOINTS = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings'] as const;
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];

const routeOf = (path: string): RouteSpec => {
  const spec = openAIRoutes.find((r) => r.method === 'POST' && r.path === path);
  if (!spec) throw new Error(`batches: no route POST ${path}`);
  return spec;
};

export interface BatchLineResult {
  ok: boolean;
  /** One JSONL line of the output (ok) or error file. */
  line: string;
}

const requestId = () => `req_${randomBytes(12).toString('hex')}`;
const lineId = () => `batch_req_${randomBytes(12).toString('hex')}`;

function failure(customId: string | null, e: MaasError): BatchLineResult {
  return {
    ok: false,
    line: JSON.stringify({
      id: lineId(),
      custom_id: customId,
      response: { status_code: e.status, request_id: requestId(), body: openAIErrorBody(e) },
      error: null,
    }),
  };
}

/** Parses and runs one input line (`index` counts from 0, for messages). */
export async function runBatchLine(
  platform: Platform,
  principal: Principal,
  endpoint: BatchEndpoint,
  raw: string,
  index: number,
  signal: AbortSignal,
): Promise<BatchLineResult> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return failure(null, new MaasError('invalid_request', `line ${index + 1} is not JSON`));
  }
  const req = parsed as { custom_id?: unknown; method?: unknown; url?: unknown; body?: unknown };
  const customId = typeof req.custom_id === 'string' ? req.custom_id : null;
  const refuse = (detail: string) => failure(customId, new MaasError('invalid_request', detail));
  if (typeof parsed !== 'object' || parsed === null || customId === null)
    return refuse(`line ${index + 1}: custom_id (a string) is required`);
  if (req.method !== 'POST') return refuse(`line ${index + 1}: method must be POST`);
  if (req.url !== endpoint) return refuse(`line ${index + 1}: url must be the batch's endpoint ${endpoint}`);
  const body = req.body as Record<string, unknown> | null;
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return refuse(`line ${index + 1}: body must be a JSON object`);
  if (body.stream === true) return refuse(`line ${index + 1}: stream is not available in a batch`);
  try {
    // Batch lines queue behind interactive requests on every model (the fair queue's `batch` class).
    const answer = await runRoute(
      platform,
      principal,
      routeOf(endpoint),
      { params: {}, body },
      signal,
      { headers: {} },
      'batch',
    );
    return {
      ok: true,
      line: JSON.stringify({
        id: lineId(),
        custom_id: customId,
        response: { status_code: 200, request_id: requestId(), body: answer },
        error: null,
      }),
    };
  } catch (e) {
    return failure(customId, toMaasError(e));
  }
}
