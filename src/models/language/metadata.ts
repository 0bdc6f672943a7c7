/** Reading a model version's free-form metadata back into typed fields, with catalog errors. */
import { fail } from '../../common/errors';
import { type Tokenizer, type TokenizerSpec, tokenizerFromSpec } from '../../data/index';

type Meta = Readonly<Record<string, unknown>>;

export function metaInt(meta: Meta, key: string, min = 1): number {
  const v = meta[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    fail('unsupported_model', `model metadata '${key}' must be an integer ≥ ${min}`);
  }
  return v;
}

export function metaString(meta: Meta, key: string, fallback?: string): string {
  const v = meta[key] ?? fallback;
  if (typeof v !== 'string') fail('unsupported_model', `model metadata '${key}' must be a string`);
  return v;
}

export function metaTokenizer(meta: Meta): Tokenizer {
  const spec = meta.tokenizer;
  if (typeof spec !== 'object' || spec === null || typeof (spec as { type?: unknown }).type !== 'string') {
    fail('unsupported_model', "model metadata 'tokenizer' must be a tokenizer spec");
  }
  return tokenizerFromSpec(spec as TokenizerSpec);
}
