/**
 * Constrained JSON decoding against a real byte-level BPE vocabulary (learned by maas's own
 * `trainBpe`): seeded random logits, masked by the constraint and sampled by the real Generator,
 * must always give JSON that parses and that ajv validates against the schema.
 */
import Ajv from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { BpeTokenizer, trainBpe } from '../../../src/data/index';
import { Generator } from '../../../src/models/common/generator';
import { Rng } from '../../../src/models/common/prng';
import { bindGrammar, JsonConstraint } from '../../../src/models/language/constrain/json-constraint';
import { compileSchema } from '../../../src/models/language/constrain/schema';
import {
  buildVocabulary,
  byteLevelTokenBytes,
  type TokenVocabulary,
  vocabularyOf,
} from '../../../src/models/language/constrain/vocabulary';

const CORPUS = `Call me Ishmael. Some years ago, never mind how long precisely, having little or no money
in my purse, and nothing particular to interest me on shore, I thought I would sail about a little.
{"name": "Ahab", "age": 58, "ship": {"name": "Pequod", "crew": 30}, "tags": ["captain", "whaler"]}
{"ok": true, "items": [1, 2.5, -3e2], "note": null, "kind": "sperm", "ids": [10, 20]}
Über café naïve — “quotes” and emoji 🐋 with tabs\tand "escapes" \\ here.`;

const SCHEMAS: Record<string, object> = {
  nested: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      ship: {
        type: 'object',
        properties: { name: { type: 'string' }, crew: { type: 'integer' } },
        required: ['name', 'crew'],
        additionalProperties: false,
      },
    },
    required: ['name', 'ship'],
    additionalProperties: false,
  },
  arrays: {
    type: 'object',
    properties: {
      tags: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 3 },
      grid: { type: 'array', items: { type: 'array', items: { type: 'integer' }, maxItems: 2 }, maxItems: 2 },
    },
    required: ['tags', 'grid'],
    additionalProperties: false,
  },
  enums: {
    type: 'object',
    properties: {
      kind: { enum: ['sperm', 'right', 'fin', 'narwhal'] },
      size: { enum: [1, 12, 'big', null, true] },
      ok: { type: 'boolean' },
      id: { const: 'whale-1' },
    },
    required: ['kind', 'size', 'ok', 'id'],
    additionalProperties: false,
  },
  numbers: {
    type: 'object',
    properties: {
      x: { type: 'number' },
      n: { type: 'integer' },
      list: { type: 'array', items: { type: 'number' }, minItems: 2 },
      maybe: { type: ['number', 'null'] },
    },
    required: ['x', 'n', 'list', 'maybe'],
    additionalProperties: false,
  },
  required: {
    type: 'object',
    properties: {
      a: { type: 'string' },
      b: { type: 'integer' },
      c: { type: 'boolean' },
      d: { anyOf: [{ type: 'string' }, { type: 'null' }] },
      e: { type: 'object', properties: { f: { type: 'null' } }, required: ['f'] },
    },
    required: ['b', 'd', 'e'],
  },
};

let vocab: TokenVocabulary;
let tokenizer: BpeTokenizer;
const ajv = new Ajv({ strict: false });

beforeAll(() => {
  tokenizer = new BpeTokenizer(trainBpe(CORPUS.repeat(3), { vocabSize: 600 }));
  vocab = vocabularyOf(tokenizer);
});

/** Random logits with a seeded RNG: N(0, 3²) per token (Box–Muller). */
function randomLogits(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++)
    out[i] = 3 * Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  return out;
}

function generate(schema: object, seed: number, maxTokens: number) {
  const grammar = bindGrammar(compileSchema(schema, 'schema'), JSON.stringify(schema), vocab);
  const gen = new Generator(
    { maxTokens, seed, temperature: 1, constraint: new JsonConstraint(grammar) },
    (ids) => tokenizer.decode(ids),
  );
  const rng = new Rng(seed + 1000);
  while (!gen.done) gen.step(randomLogits(rng, tokenizer.vocabSize));
  return { text: gen.text, finish: gen.finishReason, tokens: gen.completionTokens, grammar };
}

describe('constrained JSON decoding', () => {
  it('50 seeded random-logit generations over 5 schemas all parse and validate with ajv', () => {
    let totalTokens = 0;
    for (const [name, schema] of Object.entries(SCHEMAS)) {
      const validate = ajv.compile(schema);
      for (let seed = 1; seed <= 10; seed++) {
        const out = generate(schema, seed, 300);
        const value = JSON.parse(out.text);
        expect(validate(value), `${name} seed ${seed}: ${out.text} ${ajv.errorsText(validate.errors)}`).toBe(
          true,
        );
        expect(out.finish).toBe('stop');
        totalTokens += out.tokens;
      }
    }
    expect(totalTokens).toBeGreaterThan(50 * 10);
  });

  it('the output closes before max_tokens: a 40-token budget still ends in valid JSON', () => {
    const validate = ajv.compile(SCHEMAS.nested);
    for (let seed = 1; seed <= 5; seed++) {
      const out = generate(SCHEMAS.nested, seed, 40);
      expect(out.tokens).toBeLessThanOrEqual(40);
      expect(validate(JSON.parse(out.text)), out.text).toBe(true);
    }
  });

  it('a budget too small for the schema ends with finish_reason length', () => {
    const out = generate(SCHEMAS.nested, 3, 5);
    expect(out.finish).toBe('length');
    expect(out.tokens).toBe(5);
  });

  it('steps inside one long string reuse the cached mask', () => {
    const grammar = bindGrammar(compileSchema({ type: 'string' }, 's'), 'string-probe', vocab);
    const c = new JsonConstraint(grammar);
    const word = tokenizer.encode(' whale');
    c.accept(tokenizer.encode('"')[0]);
    for (let i = 0; i < 20; i++) {
      c.mask(new Float32Array(tokenizer.vocabSize), 100);
      for (const id of word) c.accept(id);
    }
    expect(grammar.stats).toEqual({ walks: 1, hits: 19 });
  });

  it('a tagged union of objects (a forced call of one of two tools): the name picks the arguments schema', () => {
    const call = (name: string, parameters: object) => ({
      type: 'object',
      properties: { name: { const: name }, arguments: parameters },
      required: ['name', 'arguments'],
      additionalProperties: false,
    });
    const schema = {
      anyOf: [
        call('get_weather', {
          type: 'object',
          properties: { city: { type: 'string' }, unit: { enum: ['c', 'f'] } },
          required: ['city', 'unit'],
        }),
        call('add', {
          type: 'object',
          properties: { a: { type: 'number' }, b: { type: 'number' } },
          required: ['a', 'b'],
        }),
      ],
    };
    const validate = ajv.compile(schema);
    const names = new Set<string>();
    for (let seed = 1; seed <= 10; seed++) {
      const out = generate(schema, seed, 200);
      const v = JSON.parse(out.text);
      expect(validate(v), out.text).toBe(true);
      names.add(v.name);
    }
    expect(names).toEqual(new Set(['get_weather', 'add']));
  });

  it('json_object mode (type object, any keys) gives a JSON object', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const out = generate({ type: 'object' }, seed, 200);
      const v = JSON.parse(out.text);
      expect(typeof v === 'object' && v !== null && !Array.isArray(v), out.text).toBe(true);
    }
  });

  it('the mask allows only valid continuations: after `{"kind":"` only enum spellings', () => {
    const grammar = bindGrammar(compileSchema(SCHEMAS.enums, 's'), 'enums-probe', vocab);
    const c = new JsonConstraint(grammar);
    for (const id of tokenizer.encode('{"kind":"')) c.accept(id);
    const masked = c.mask(new Float32Array(tokenizer.vocabSize), 100);
    const allowed = [...masked.keys()].filter((i) => masked[i] === 0).map((i) => tokenizer.decode([i]));
    expect(allowed.length).toBeGreaterThan(0);
    for (const t of allowed)
      expect(
        ['sperm"', 'right"', 'fin"', 'narwhal"'].some((k) => k.startsWith(t)),
        t,
      ).toBe(true);
  });
});

describe('a Hugging Face byte-level vocabulary', () => {
  it('reads GPT-2 byte-to-unicode token strings back into bytes', () => {
    const utf8 = (t: string) => Array.from(new TextEncoder().encode(t));
    expect(Array.from(byteLevelTokenBytes('Ġhello')!)).toEqual(utf8(' hello'));
    expect(Array.from(byteLevelTokenBytes('ĊĠĠ')!)).toEqual(utf8('\n  '));
    expect(Array.from(byteLevelTokenBytes('Ã©')!)).toEqual(utf8('é'));
    expect(byteLevelTokenBytes('▁hello')).toBeNull(); // SentencePiece, not byte-level
  });

  it('constrains over it: special tokens are never allowed, the end token only at the end', () => {
    const strings = [
      '<|endoftext|>',
      '{"',
      'city',
      '":',
      'Ġ"',
      'Paris',
      '"}',
      '"',
      '}',
      'Ġ',
      'a',
      '<|im_start|>',
    ];
    const bytes = strings.map((t) => (t.startsWith('<|') ? null : byteLevelTokenBytes(t)));
    const vocab = buildVocabulary(bytes, [0]);
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const c = new JsonConstraint(bindGrammar(compileSchema(schema, 's'), 'hf-probe', vocab));
    const allowedNow = () => {
      const m = c.mask(new Float32Array(strings.length), 50);
      return strings.filter((_, i) => m[i] === 0);
    };
    expect(allowedNow()).toEqual(['{"']);
    for (const t of ['{"', 'city', '":', 'Ġ"', 'Paris']) c.accept(strings.indexOf(t));
    // Inside the string: any text, including `{"` and `}` (a closing quote, then nothing the object refuses).
    expect(allowedNow()).toEqual(['{"', 'city', 'Ġ"', 'Paris', '"}', '"', '}', 'Ġ', 'a']);
    c.accept(strings.indexOf('"}'));
    expect(c.finished).toBe(true);
  });
});

describe('the supported JSON Schema subset', () => {
  const refused: [object, string][] = [
    [
      { type: 'object', properties: { age: { type: 'integer', minimum: 0 } } },
      'schema.properties.age: keyword "minimum" is not supported',
    ],
    [{ $ref: '#/$defs/x' }, 'keyword "$ref" is not supported'],
    [{ type: 'string', pattern: '^a' }, 'keyword "pattern" is not supported'],
    [{ type: 'date' }, 'schema.type: must be one of'],
    [{ anyOf: [{ type: 'string' }, { const: 'x' }] }, 'alternatives must begin with different characters'],
    [{ type: 'object', required: ['x'] }, 'names "x", which is not in properties'],
    [{ type: 'array', items: [{ type: 'string' }] }, 'tuple items'],
  ];
  it.each(refused)('refuses %j naming the keyword', (schema, message) => {
    expect(() => compileSchema(schema, 'schema')).toThrow(message);
    try {
      compileSchema(schema, 'schema');
    } catch (e) {
      expect((e as { status: number }).status).toBe(400);
    }
  });
});
