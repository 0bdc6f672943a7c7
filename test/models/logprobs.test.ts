/** Token log probabilities against hand-computed values, and their text for byte-level tokens. */
import { describe, expect, it } from 'vitest';
import { Generator } from '../../src/models/common/generator';
import { stepLogprob, tokenText } from '../../src/models/common/logprobs';
import { tokenLogprobs } from '../../src/models/common/sampling';

describe('token log probabilities', () => {
  it('softmax of [0, ln 2, ln 4]: token 2 has ln(4/7); the top 2 are tokens 2 and 1', () => {
    const logits = Float32Array.of(0, Math.log(2), Math.log(4));
    const out = tokenLogprobs(logits, 2, 2);
    expect(out.logprob).toBeCloseTo(Math.log(4 / 7), 6);
    expect(out.top.map((t) => t.token)).toEqual([2, 1]);
    expect(out.top[1].logprob).toBeCloseTo(Math.log(2 / 7), 6);
  });

  it('the Generator reports the model’s own log probability, not the sampling distribution’s', () => {
    const gen = new Generator({ maxTokens: 1, temperature: 0.1, topK: 1, topLogprobs: 3 }, () => 'x');
    const step = gen.step(Float32Array.of(0, Math.log(2), Math.log(4)));
    expect(step.token).toBe(2);
    expect(step.logprob).toBeCloseTo(Math.log(4 / 7), 6);
    expect(step.top?.map((t) => t.token)).toEqual([2, 1, 0]);
  });

  it('a token that is not whole UTF-8 is written bytes:\\x.. with its bytes', () => {
    const bytes = [Uint8Array.of(0xe2, 0x80), Uint8Array.of(0x99), new TextEncoder().encode(' ok')];
    expect(tokenText(0, (id) => bytes[id])).toEqual({ token: 'bytes:\\xe2\\x80', bytes: [0xe2, 0x80] });
    expect(tokenText(2, (id) => bytes[id])).toEqual({ token: ' ok', bytes: [32, 111, 107] });
    const entry = stepLogprob(
      { token: 2, logprob: -1, top: [{ token: 1, logprob: -2 }], delta: '', done: false, finishReason: null },
      (id) => bytes[id],
    );
    expect(entry.top).toEqual([{ token: 'bytes:\\x99', bytes: [0x99], logprob: -2 }]);
  });
});
