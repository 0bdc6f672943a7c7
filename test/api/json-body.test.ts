/** The depth pre-scan: its fast path (few openers) and its full scan must agree with the nesting. */
import { describe, expect, it } from 'vitest';
import { depthExceededAt, parseJsonBody } from '../../src/api/json-body';

describe('JSON body depth pre-scan', () => {
  it('passes bodies whose openers, even all nested, stay within the limit', () => {
    expect(depthExceededAt('[[[1]]]', 3)).toBe(-1);
    expect(depthExceededAt('{"a":[{"b":2}]}', 3)).toBe(-1);
  });

  it('finds the bracket that opens one level too many', () => {
    expect(depthExceededAt('[[[[1]]]]', 3)).toBe(3);
    expect(depthExceededAt('{"a":{"b":{"c":{}}}}', 3)).toBe(15);
  });

  it('many siblings are not depth (the full scan runs and passes them)', () => {
    const wide = JSON.stringify({
      inputs: Array.from({ length: 200 }, (_, i) => ({ name: `x${i}`, data: [i] })),
    });
    expect(depthExceededAt(wide, 4)).toBe(-1);
    expect(depthExceededAt(wide, 3)).toBe(wide.indexOf('[0]'));
    expect(parseJsonBody(wide, 4)).toMatchObject({ inputs: { length: 200 } });
  });

  it('brackets inside strings count for neither path', () => {
    expect(depthExceededAt(JSON.stringify({ s: '[[[[[[[[{{{{' }), 2)).toBe(-1);
    const text = JSON.stringify({ s: 'a\\"[[[[', t: [[[[1]]]] });
    expect(depthExceededAt(text, 4)).toBe(text.indexOf('[[[[1') + 3);
  });
});
