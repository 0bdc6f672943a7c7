import { badData } from '../problems';
import { BpeTokenizer } from './bpe';
import { CharTokenizer } from './char';
import type { Tokenizer, TokenizerSpec } from './tokenizer';
import { WordTokenizer } from './word';

/** Tokenizer type → how to rebuild it from its stored spec. */
const tokenizerKinds: {
  [K in TokenizerSpec['type']]: (spec: Extract<TokenizerSpec, { type: K }>) => Tokenizer;
} = {
  word: (spec) => new WordTokenizer(spec),
  char: (spec) => new CharTokenizer(spec),
  bpe: (spec) => new BpeTokenizer(spec),
};

/** Rebuild a tokenizer from the JSON spec stored beside a model. */
export function tokenizerFromSpec(spec: TokenizerSpec): Tokenizer {
  const make = tokenizerKinds[spec.type] as ((s: TokenizerSpec) => Tokenizer) | undefined;
  if (!make)
    badData('tokenizer.type', `unknown tokenizer ${JSON.stringify((spec as { type: unknown }).type)}`);
  return make(spec);
}
