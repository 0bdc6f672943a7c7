import { describe, expect, it } from 'vitest';
import { MaasError } from '../../src/common/errors';
import { Generator, normalizeStop, resolveMaxTokens } from '../../src/models/common/generator';
import { Rng } from '../../src/models/common/prng';
import {
  applyPenalties,
  argmax,
  candidateDistribution,
  sampleToken,
  topKIndices,
  validateSampling,
} from '../../src/models/common/sampling';

const logits = (...v: number[]) => Float32Array.from(v);

describe('Rng', () => {
  it('repeats for the same seed and differs across seeds, numbers and strings alike', () => {
    const draw = (seed: number | string) => {
      const r = new Rng(seed);
      return Array.from({ length: 8 }, () => r.nextUint32());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw('hello')).toEqual(draw('hello'));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw('a')).not.toEqual(draw('b'));
    expect(draw(1)).not.toEqual(draw(2 ** 32 + 1));
  });

  it('is roughly uniform: 10,000 draws over 10 bins within 15% of the mean', () => {
    const r = new Rng(7);
    const bins = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) bins[r.int(10)]++;
    for (const b of bins) expect(Math.abs(b - 1000)).toBeLessThan(150);
  });

  it('split gives a stream independent of the parent', () => {
    const parent = new Rng(3);
    const child = parent.split();
    const a = Array.from({ length: 4 }, () => child.nextUint32());
    const b = Array.from({ length: 4 }, () => parent.nextUint32());
    expect(a).not.toEqual(b);
    const again = new Rng(3).split();
    expect(Array.from({ length: 4 }, () => again.nextUint32())).toEqual(a);
  });
});

describe('sampleToken', () => {
  it('temperature 0 is argmax, lowest index on ties, and ignores the rng', () => {
    expect(sampleToken(logits(1, 5, 3), { temperature: 0 }, new Rng(1)).token).toBe(1);
    expect(argmax(logits(2, 7, 7))).toBe(1);
    expect(argmax(logits(Number.NaN, -1))).toBe(1);
    expect(() => argmax(logits(Number.NEGATIVE_INFINITY))).toThrow(MaasError);
  });

  it('reports the log-probability under the raw softmax', () => {
    const s = sampleToken(logits(0, Math.log(3)), { temperature: 0 }, new Rng(1));
    expect(s.logprob).toBeCloseTo(Math.log(0.75), 6);
  });

  it('matches the softmax frequencies at temperature 1', () => {
    const l = logits(Math.log(0.1), Math.log(0.2), Math.log(0.7));
    const rng = new Rng(11);
    const counts = [0, 0, 0];
    for (let i = 0; i < 20_000; i++) counts[sampleToken(l, {}, rng).token]++;
    expect(counts[0] / 20_000).toBeCloseTo(0.1, 1);
    expect(counts[1] / 20_000).toBeCloseTo(0.2, 1);
    expect(counts[2] / 20_000).toBeCloseTo(0.7, 1);
  });

  it('top-k keeps the k best, top-p the smallest nucleus', () => {
    const l = logits(Math.log(0.05), Math.log(0.5), Math.log(0.3), Math.log(0.15));
    expect(topKIndices(l, 2)).toEqual([1, 2]);
    expect(candidateDistribution(l, { topK: 2 }).tokens).toEqual([1, 2]);
    // 0.5 + 0.3 = 0.8 ≥ 0.75 → two tokens; 0.5 ≥ 0.5 → one.
    expect(candidateDistribution(l, { topP: 0.75 }).tokens).toEqual([1, 2]);
    expect(candidateDistribution(l, { topP: 0.5 }).tokens).toEqual([1]);
    expect(candidateDistribution(l, { topP: 0.81 }).tokens).toEqual([1, 2, 3]);
    const rng = new Rng(5);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(sampleToken(l, { topK: 2, temperature: 1.5 }, rng).token);
    expect([...seen].sort()).toEqual([1, 2]);
  });

  it('widens the nucleus search past the first 64 tokens when the distribution is flat', () => {
    const flat = new Float32Array(1000);
    const { tokens } = candidateDistribution(flat, { topP: 0.5 });
    expect(tokens.length).toBeGreaterThanOrEqual(500);
    expect(tokens.length).toBeLessThanOrEqual(501);
    expect(tokens.slice(0, 3)).toEqual([0, 1, 2]);
    // A peaked distribution: the nucleus is found among the first 64 candidates.
    const peaked = Float32Array.from({ length: 5000 }, (_, i) => -i / 10);
    const nucleus = candidateDistribution(peaked, { topP: 0.9 }).tokens;
    expect(nucleus).toEqual(Array.from({ length: nucleus.length }, (_, i) => i));
    expect(nucleus.length).toBe(24); // the first n hold 1 − e^(−0.1·n) of the mass: ≥ 0.9 ⇔ n ≥ 23.03
  });

  it('the same seed gives the same token sequence; another seed another', () => {
    const vocab = 50;
    const l = Float32Array.from({ length: vocab }, (_, i) => Math.sin(i));
    const run = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 30 }, () => sampleToken(l, { temperature: 1.2, topP: 0.95 }, rng).token);
    };
    expect(run(9)).toEqual(run(9));
    expect(run(9)).not.toEqual(run(10));
  });

  it('penalties lower repeated tokens without touching the caller array', () => {
    const l = logits(2, 1, -1);
    const counts = new Map([
      [0, 3],
      [2, 1],
    ]);
    const p = applyPenalties(l, counts, {
      presencePenalty: 0.5,
      frequencyPenalty: 0.25,
      repetitionPenalty: 2,
    });
    expect(Array.from(p)).toEqual([2 / 2 - 0.5 - 0.75, 1, -1 * 2 - 0.5 - 0.25]);
    expect(Array.from(l)).toEqual([2, 1, -1]);
    expect(sampleToken(l, { temperature: 0, frequencyPenalty: 2 }, new Rng(1), counts).token).toBe(1);
  });

  it('rejects out-of-range options as invalid_request', () => {
    for (const bad of [
      { temperature: -1 },
      { temperature: 3 },
      { topP: 0 },
      { topK: 1.5 },
      { presencePenalty: 9 },
    ]) {
      expect(() => validateSampling(bad)).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    }
    validateSampling({ temperature: 0, topP: 1, topK: 0 });
  });
});

/** A toy byte-level vocabulary: token i is byte i, so multi-byte characters span tokens. */
const utf8 = new TextDecoder();
const decodeBytes = (ids: readonly number[]) => utf8.decode(Uint8Array.from(ids));
const bytesOf = (s: string) => Array.from(new TextEncoder().encode(s));

function streamTokens(gen: Generator, tokens: number[]): string[] {
  const deltas: string[] = [];
  for (const t of tokens) {
    if (gen.done) break;
    deltas.push(gen.accept(t).delta);
  }
  return deltas;
}

describe('Generator', () => {
  it('finds a stop sequence spanning tokens and never emits any of it', () => {
    const gen = new Generator({ maxTokens: 100, stop: ['END'] }, decodeBytes);
    const deltas = streamTokens(gen, bytesOf('hello ENhanced END tail'));
    expect(gen.finishReason).toBe('stop');
    expect(deltas.join('')).toBe('hello ENhanced ');
    expect(gen.text).toBe('hello ENhanced ');
    // 'E' and 'N' were held back while they could start 'END', then released by 'h'.
    const iE = 'hello '.length;
    expect(deltas[iE]).toBe('');
    expect(deltas[iE + 1]).toBe('');
    expect(deltas[iE + 2]).toBe('ENh');
    expect(gen.completionTokens).toBe('hello ENhanced END'.length);
  });

  it('picks the earliest of several stops and handles overlapping prefixes', () => {
    const gen = new Generator({ maxTokens: 100, stop: ['abc', 'bcd', '\n\n'] }, decodeBytes);
    expect(streamTokens(gen, bytesOf('xxabcd')).join('')).toBe('xx');
    const gen2 = new Generator({ maxTokens: 100, stop: ['aab'] }, decodeBytes);
    expect(streamTokens(gen2, bytesOf('aaaab!')).join('')).toBe('aa');
  });

  it('holds back split UTF-8 characters and never emits a replacement character', () => {
    const gen = new Generator({ maxTokens: 100 }, decodeBytes);
    const deltas = streamTokens(gen, bytesOf('né😀!'));
    expect(deltas.join('')).toBe('né😀!');
    expect(deltas.some((d) => d.includes('\uFFFD'))).toBe(false);
  });

  it('keeps the spaces a SentencePiece-style decoder only writes between tokens', () => {
    const pieces = ['▁Hello', '▁world', ',', '▁again'];
    const decode = (ids: readonly number[]) =>
      ids
        .map((i) => pieces[i])
        .join('')
        .replace(/▁/g, ' ')
        .replace(/^ /, '');
    expect(decode([1])).toBe('world');
    const gen = new Generator({ maxTokens: 10, stop: ['again'] }, decode);
    const deltas = streamTokens(gen, [0, 1, 2, 3]);
    expect(deltas.join('')).toBe('Hello world, ');
    expect(gen.finishReason).toBe('stop');
  });

  it('min_tokens hides the end token until enough tokens came; ignore_eos lets it pass as a token', () => {
    // Logits over 3 ids: the end token 0 is always the best, then 1 ('a'), then 2 ('b').
    const logits = () => Float32Array.from([5, 2, 1]);
    const letters = (ids: readonly number[]) => ids.map((i) => (i === 0 ? '' : 'ab'[i - 1])).join('');
    const sample = (gen: Generator) => {
      while (!gen.done) gen.step(logits());
      return gen;
    };
    const plain = sample(new Generator({ maxTokens: 5, temperature: 0, endTokens: [0] }, letters));
    expect([plain.tokens, plain.finishReason]).toEqual([[0], 'stop']);
    const min = sample(
      new Generator({ maxTokens: 5, temperature: 0, endTokens: [0], minTokens: 3 }, letters),
    );
    expect([min.tokens, min.finishReason, min.text]).toEqual([[1, 1, 1, 0], 'stop', 'aaa']);
    const ignore = sample(
      new Generator({ maxTokens: 5, temperature: 0, endTokens: [0], ignoreEos: true }, letters),
    );
    expect([ignore.tokens, ignore.finishReason]).toEqual([[0, 0, 0, 0, 0], 'length']);
    expect(() => new Generator({ maxTokens: 5, minTokens: 6 }, letters)).toThrow(
      'min_tokens must be an integer from 0 to max_tokens (5), got 6',
    );
  });

  it('ends at max tokens and flushes a held partial stop', () => {
    const gen = new Generator({ maxTokens: 4, stop: ['xyz'] }, decodeBytes);
    const deltas = streamTokens(gen, bytesOf('abxyz'));
    expect(gen.finishReason).toBe('length');
    expect(deltas.join('')).toBe('abxy');
    expect(gen.completionTokens).toBe(4);
    expect(() => gen.accept(1)).toThrow(MaasError);
  });

  it('an end token stops with reason stop and adds no text', () => {
    const gen = new Generator({ maxTokens: 10, endTokens: [0] }, decodeBytes);
    const deltas = streamTokens(gen, [...bytesOf('hi'), 0, ...bytesOf('no')]);
    expect(deltas.join('')).toBe('hi');
    expect(gen.finishReason).toBe('stop');
    expect(gen.tokens).toEqual([104, 105, 0]);
  });

  it('step() samples reproducibly for a seed; greedy needs none', () => {
    const l = Float32Array.from({ length: 128 }, (_, i) => Math.cos(i * 0.7));
    const run = (seed?: number, temperature = 1) => {
      const gen = new Generator({ maxTokens: 12, seed, temperature, topK: 20 }, decodeBytes);
      while (!gen.done) gen.step(l);
      return gen.tokens;
    };
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
    expect(run(undefined, 0)).toEqual(new Array(12).fill(argmax(l)));
  });
});

describe('max-tokens and stop parsing', () => {
  it('resolves against the context window', () => {
    expect(resolveMaxTokens({ promptTokens: 10, contextLength: 100, defaultMaxTokens: 16 })).toBe(16);
    expect(resolveMaxTokens({ promptTokens: 95, contextLength: 100, defaultMaxTokens: 16 })).toBe(5);
    expect(
      resolveMaxTokens({ requested: 90, promptTokens: 10, contextLength: 100, defaultMaxTokens: 16 }),
    ).toBe(90);
    for (const bad of [
      { requested: 0, promptTokens: 10 },
      { requested: 2.5, promptTokens: 10 },
    ]) {
      expect(() => resolveMaxTokens({ contextLength: 100, defaultMaxTokens: 16, ...bad })).toThrow(
        expect.objectContaining({ code: 'invalid_request' }),
      );
    }
    // Past the context: OpenAI's code and numbers.
    expect(() =>
      resolveMaxTokens({ requested: 91, promptTokens: 10, contextLength: 100, defaultMaxTokens: 16 }),
    ).toThrow(
      expect.objectContaining({
        code: 'context_length_exceeded',
        message: expect.stringContaining(
          'you requested 101 tokens (10 in the messages, 91 in the completion)',
        ),
      }),
    );
    expect(() => resolveMaxTokens({ promptTokens: 100, contextLength: 100, defaultMaxTokens: 16 })).toThrow(
      expect.objectContaining({ code: 'context_length_exceeded' }),
    );
  });

  it('normalises OpenAI stop values', () => {
    expect(normalizeStop('x')).toEqual(['x']);
    expect(normalizeStop(null)).toEqual([]);
    expect(normalizeStop(['a', 'a', 'b'])).toEqual(['a', 'b']);
    for (const bad of [['a', 'b', 'c', 'd', 'e'], [''], [3], 5]) {
      expect(() => normalizeStop(bad)).toThrow(MaasError);
    }
  });
});
