/**
 * OpenAI's error shape, rendered from the one catalog: `{error: {message, type, param, code}}`.
 * `code` is our stable catalog code, except for a model that does not exist, which is OpenAI's
 * own `model_not_found`; `type` is the OpenAI class a client library branches on.
 *
 *   {"error": {"message": "model 'x' not found", "type": "invalid_request_error",
 *              "param": "model", "code": "model_not_found"}}
 */
import type { MaasError } from '../../common/errors';

/** Catalog codes whose OpenAI type is not the one their status implies. */
const typeOfCode: Partial<Record<string, string>> = {
  quota_exceeded: 'insufficient_quota',
};

function typeOfStatus(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function openAIErrorBody(e: MaasError): {
  error: { message: string; type: string; param: string | null; code: string };
} {
  return {
    error: {
      message: e.message,
      type: typeOfCode[e.code] ?? typeOfStatus(e.status),
      param: e.extras.pointer ?? null,
      code: e.code === 'not_found' && e.extras.pointer === 'model' ? 'model_not_found' : e.code,
    },
  };
}
