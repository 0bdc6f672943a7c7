import { describe, expect, it } from 'vitest';
import { parseJsonBody } from '../../src/api/json-body';

const MiB = 1024 * 1024;

describe('bounded JSON bodies', () => {
  it('refuses a depth bomb from its bytes, naming the line and column in characters', () => {
    // "é" is two bytes: the column counts characters, as an editor shows them.
    const body = Buffer.from(`{"é":\n  ${'['.repeat(70)}${']'.repeat(70)}}`);
    expect(() => parseJsonBody(body, 64)).toThrow(
      /nests deeper than 64 levels at line 2, column 66 \(limit maxJsonDepth, setting MAAS_MAX_JSON_DEPTH\)/,
    );
    expect(() => parseJsonBody(body.toString('utf8'), 64)).toThrow(/at line 2, column 66/);
  });

  it('a bomb followed by 10 MB of bytes that are not UTF-8 is refused for its depth', () => {
    const head = Buffer.from('['.repeat(65));
    const tail = Buffer.alloc(10 * MiB, 0xff);
    const err = (() => {
      try {
        parseJsonBody(Buffer.concat([head, tail]), 64);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toMatch(/nests deeper than 64 levels at line 1, column 65/);
  });

  it('parses bytes and text alike; quotes and escapes inside strings do not count as depth', () => {
    const doc = { a: '[[[[\\"{{{{', b: [[1], { c: 'é' }] };
    const text = JSON.stringify(doc);
    expect(parseJsonBody(Buffer.from(text), 3)).toEqual(doc);
    expect(parseJsonBody(text, 3)).toEqual(doc);
    expect(() => parseJsonBody(Buffer.from('  \n'), 3)).toThrow(/the body is empty/);
    expect(() => parseJsonBody(Buffer.from('{"a": tru}'), 3)).toThrow(/line 1, column/);
  });
});
