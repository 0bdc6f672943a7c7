import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depthExceededAt, JsonDepthScanner, parseJsonBody } from '../../src/api/json-body';
import { ADMIN_KEY } from '../helpers/server';
import { type Listening, listening } from './hardening-helpers';

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

describe('the depth scan while the body arrives', () => {
  it('keeps its state across chunks: a quote or an escape split between two chunks', () => {
    const doc = Buffer.from('{"a":"x\\"[[[[", "b": [[1]]}');
    for (let cut = 0; cut <= doc.length; cut++) {
      const s = new JsonDepthScanner(3);
      expect(s.feed(doc.subarray(0, cut)), `cut at ${cut}`).toBe(-1);
      expect(s.feed(doc.subarray(cut)), `cut at ${cut}`).toBe(-1);
    }
    const deep = new JsonDepthScanner(2);
    expect(deep.feed(Buffer.from('{"a": ['))).toBe(-1);
    expect(deep.feed(Buffer.from('[1]]}'))).toBe(7); // the third level's bracket, offset in the body
  });

  let s: Listening;
  beforeAll(async () => {
    s = await listening();
  });
  afterAll(() => s?.close());

  it('answers a bomb with a 400 that a client still sending can read', async () => {
    // 10 MB declared and sent (a data route: tenants take 64 KiB): the answer is the depth error,
    // read on the same socket.
    const { hostname, port } = new URL(s.url);
    const socket = connect(Number(port), hostname);
    const answer = new Promise<string>((resolve) => {
      let got = '';
      socket.on('data', (d) => {
        got += d.toString('latin1');
      });
      socket.on('close', () => resolve(got));
      socket.on('error', () => resolve(got));
    });
    socket.write(
      `POST /v2/models/x/infer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${10 * MiB}\r\nConnection: close\r\n\r\n`,
    );
    for (let i = 0; i < 10; i++) socket.write('['.repeat(MiB));
    const got = await answer;
    expect(got).toMatch(/^HTTP\/1\.1 400 /);
    expect(got).toContain('nests deeper than 64 levels at line 1, column 65');
  });
});

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
