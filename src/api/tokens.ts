/**
 * Counting and inspecting a text model's tokens with its own tokenizer:
 *
 *   GET /api/v1/models/qwen/tokenize?text=Hello%20world
 *   → {"model": "qwen", "version": 1, "count": 2, "ids": [9707, 1879], "tokens": ["Hello", "Ġworld"]}
 *   GET /api/v1/models/qwen/detokenize?ids=9707,1879  → {"model": "qwen", "version": 1, "text": "Hello world"}
 *
 * `special_tokens=false` encodes without the special tokens the tokenizer would add (BOS, …), as a
 * prompt rendered by a chat template is encoded; `version` picks a version or alias.
 */
import { fail } from '../common/errors';
import { authorizedModel } from './model-ref';
import type { RouteContext, RouteSpec } from './route';

const MAX_TEXT_CHARS = 100_000;
const MAX_IDS = 100_000;

async function tokenizerOf(ctx: RouteContext) {
  const found = await authorizedModel(ctx.platform.registry, ctx.principal, ctx.params.name, 'read');
  const ref = ctx.query.version;
  return ctx.platform.tasks.tokenizer({ owner: found.owner, model: found.name, ref });
}

function flag(raw: string | undefined, name: string): boolean {
  if (raw === undefined || raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  return fail('invalid_request', `${name} must be true or false`, { pointer: name });
}

// The model is resolved first: another tenant's model reads as 404 whatever the query holds.
async function tokenize(ctx: RouteContext) {
  const { version, tokenizer } = await tokenizerOf(ctx);
  const text = ctx.query.text;
  if (typeof text !== 'string' || text.length > MAX_TEXT_CHARS)
    fail('invalid_request', `text is required: a string of at most ${MAX_TEXT_CHARS} characters`, {
      pointer: 'text',
    });
  const special = flag(ctx.query.special_tokens, 'special_tokens');
  const { ids, tokens } = tokenizer.encode(text, special);
  return { model: version.model, version: version.version, count: ids.length, ids, tokens };
}

async function detokenize(ctx: RouteContext) {
  const { version, tokenizer } = await tokenizerOf(ctx);
  const raw = ctx.query.ids;
  if (typeof raw !== 'string')
    fail('invalid_request', 'ids is required: comma-separated token ids', { pointer: 'ids' });
  const parts = raw === '' ? [] : raw.split(',');
  if (parts.length > MAX_IDS) fail('invalid_request', `at most ${MAX_IDS} ids`, { pointer: 'ids' });
  const ids = parts.map((p, i) => {
    const id = Number(p.trim());
    if (!/^\s*[0-9]+\s*$/.test(p) || id >= tokenizer.vocabSize)
      fail(
        'invalid_request',
        `ids[${i}] must be a token id in [0, ${tokenizer.vocabSize - 1}], got '${p.slice(0, 20)}'`,
        {
          pointer: `ids[${i}]`,
        },
      );
    return id;
  });
  return { model: version.model, version: version.version, text: tokenizer.decode(ids) };
}

const base = { surface: 'native' as const, access: 'infer' as const, owned: 'name', body: 'none' as const };

export const tokenRoutes: RouteSpec[] = [
  {
    ...base,
    method: 'GET',
    path: '/api/v1/models/:name/tokenize',
    summary: "Token ids and strings of ?text by the model's tokenizer (special_tokens=false: none added)",
    handler: tokenize,
  },
  {
    ...base,
    method: 'GET',
    path: '/api/v1/models/:name/detokenize',
    summary: "Text of ?ids=1,2,3 by the model's tokenizer",
    handler: detokenize,
  },
];
