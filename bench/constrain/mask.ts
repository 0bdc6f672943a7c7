/**
 * What a constrained-decoding step costs over a 32,000-token vocabulary.
 *
 *   node --import tsx bench/constrain/mask.ts [--vocab 32000] [--reps 20]
 *
 * The vocabulary: the 256 bytes, JSON punctuation pieces, then the most frequent GPT-2-style
 * chunks of Moby Dick (a word with its leading space, and its prefixes) until `--vocab` tokens:
 * the shape of a real byte-level BPE vocabulary (mostly word pieces, most of them allowed inside
 * a JSON string). Printed: trie build, a cold mask (trie walk) per kind of state, a cached mask,
 * and the mean step of whole generations (mask + sampling, random logits) with the cache warm.
 * Times are CPU time of this process (`process.cpuUsage`), so a busy machine inflates them less.
 */
import { Generator } from '../../src/models/common/generator';
import { Rng } from '../../src/models/common/prng';
import { bindGrammar, JsonConstraint } from '../../src/models/language/constrain/json-constraint';
import { compileSchema } from '../../src/models/language/constrain/schema';
import { buildVocabulary } from '../../src/models/language/constrain/vocabulary';
import { loadProse } from '../../src/models/language/corpus';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const VOCAB = arg('vocab', 32_000);
const REPS = arg('reps', 20);
const utf8 = new TextEncoder();

async function vocabulary(size: number): Promise<string[]> {
  const text = await loadProse();
  const counts = new Map<string, number>();
  for (const chunk of text.match(/\s?\p{L}+|\s?\p{N}+|\s?[^\s\p{L}\p{N}]+|\s+/gu) ?? []) {
    for (let n = 2; n <= chunk.length; n++) {
      const piece = chunk.slice(0, n);
      counts.set(piece, (counts.get(piece) ?? 0) + 1);
    }
  }
  const punct = [
    '{"',
    '":',
    '": ',
    '",',
    '", "',
    '"}',
    '},',
    '}]',
    '[{',
    '"]',
    '["',
    ', ',
    '\n  ',
    '\n}',
    'true',
    'null',
  ];
  const pieces = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([p]) => p);
  return [...new Set([...punct, ...pieces])].slice(0, size - 256 - 1);
}

/** CPU milliseconds of this process (user + system): on a shared, loaded machine wall time mostly measures the neighbours. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function timeMs(f: () => void, reps: number): number {
  const t = cpuMs();
  for (let i = 0; i < reps; i++) f();
  return (cpuMs() - t) / reps;
}

const pieces = await vocabulary(VOCAB);
let t = cpuMs();
const bytes: (Uint8Array | null)[] = [null]; // id 0: end of text
for (let b = 0; b < 256; b++) bytes.push(Uint8Array.of(b));
for (const p of pieces) bytes.push(utf8.encode(p));
const vocab = buildVocabulary(bytes, [0]);
const buildMs = cpuMs() - t;
const ids = new Map(pieces.map((p, i) => [p, 257 + i]));
const tokenOf = (s: string) => ids.get(s) ?? 1 + s.charCodeAt(0);

const schema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    age: { type: 'integer' },
    tags: { type: 'array', items: { enum: ['whale', 'ship', 'sea'] } },
    crew: {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
    },
  },
  required: ['name', 'age', 'tags', 'crew'],
  additionalProperties: false,
};
const states: [string, string[]][] = [
  ['start of the document', []],
  ['object key expected', ['{']],
  ['inside a string value', ['{"', 'n', 'a', 'm', 'e', '":', '"', 'C', 'all']],
  ['after a comma (next key)', ['{"', 'n', 'a', 'm', 'e', '":', '"', 'C', '",']],
  ['inside an integer', ['{"', 'n', 'a', 'm', 'e', '":', '"', 'C', '",', '"', 'a', 'g', 'e', '":', '4']],
];
const logits = new Float32Array(bytes.length);
const rows: string[] = [];
for (const [label, prefix] of states) {
  let cold = 0;
  for (let r = 0; r < REPS; r++) {
    const grammar = bindGrammar(compileSchema(schema, 's'), `cold-${label}-${r}`, vocab);
    const c = new JsonConstraint(grammar);
    for (const p of prefix) c.accept(tokenOf(p));
    t = cpuMs();
    c.mask(logits, 1000);
    cold += cpuMs() - t;
  }
  const grammar = bindGrammar(compileSchema(schema, 's'), `warm-${label}`, vocab);
  const c = new JsonConstraint(grammar);
  for (const p of prefix) c.accept(tokenOf(p));
  const allowed = c.mask(logits, 1000).filter((x) => x === 0).length;
  const warm = timeMs(() => c.mask(logits, 1000), REPS);
  rows.push(`| ${label} | ${allowed} | ${(cold / REPS).toFixed(2)} | ${warm.toFixed(2)} |`);
}

// Whole generations: random logits, temperature 1, until the JSON closes (cache warm after the first).
const grammar = bindGrammar(compileSchema(schema, 's'), 'generations', vocab);
const rng = new Rng(7);
let steps = 0;
let genMs = 0;
for (let seed = 1; seed <= REPS; seed++) {
  const gen = new Generator({ maxTokens: 200, seed, constraint: new JsonConstraint(grammar) }, () => '');
  const step = new Float32Array(bytes.length);
  while (!gen.done) {
    for (let i = 0; i < step.length; i++) step[i] = 4 * (rng.next() - 0.5);
    t = cpuMs();
    gen.step(step);
    genMs += cpuMs() - t;
    steps++;
  }
}
const unconstrained = new Generator({ maxTokens: 100_000, seed: 1 }, () => '');
const plainMs = timeMs(() => unconstrained.step(logits), REPS * 10);

console.log(`vocabulary ${bytes.length} tokens, trie built in ${buildMs.toFixed(0)} ms CPU; ${REPS} reps`);
console.log('\n| state | tokens allowed | cold mask (trie walk), ms | cached mask, ms |\n|---|---|---|---|');
console.log(rows.join('\n'));
console.log(
  `\nGeneration step (mask + sample), ${REPS} generations, ${steps} steps: ${(genMs / steps).toFixed(2)} ms/step ` +
    `(cache: ${grammar.stats.walks} walks, ${grammar.stats.hits} hits); unconstrained sampling step: ${plainMs.toFixed(2)} ms`,
);
