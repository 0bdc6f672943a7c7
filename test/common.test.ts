import { describe, expect, it } from 'vitest';
import { errorCatalog, MaasError } from '../src/common/errors';
import { parseName } from '../src/common/names';
import { asSigned64, ProtoWriter, readFields, readPackedVarints } from '../src/engine/onnx/wire';

describe('error catalog', () => {
  it('gives every code a 4xx/5xx status and a title', () => {
    for (const [code, spec] of Object.entries(errorCatalog)) {
      expect(spec.status, code).toBeGreaterThanOrEqual(400);
      expect(spec.title.length, code).toBeGreaterThan(3);
    }
    const e = new MaasError('queue_full', 'model m queue is full', { retryAfterSeconds: 1 });
    expect(e.status).toBe(429);
  });
});

describe('names', () => {
  it('accepts plain names and refuses traversal', () => {
    expect(parseName('mnist-cnn.v2')).toBe('mnist-cnn.v2');
    for (const bad of ['../x', '..', 'a/b', 'a\\b', '/etc', 'A', '', 'a\0b', 'x'.repeat(64), '%2e%2e']) {
      expect(() => parseName(bad), bad).toThrow(MaasError);
    }
  });
});

describe('protobuf wire codec', () => {
  it('round-trips varints, negative int64, strings and packed values', () => {
    const bytes = new ProtoWriter()
      .varint(1, 300)
      .varint(2, -5n)
      .string(3, 'héllo')
      .packedVarints(4, [1, 2, 1000])
      .finish();
    const fields = [...readFields(bytes)];
    expect(fields.map((f) => f.field)).toEqual([1, 2, 3, 4]);
    expect(fields[0].varint).toBe(300n);
    expect(asSigned64(fields[1].varint)).toBe(-5n);
    expect(new TextDecoder().decode(fields[2].bytes)).toBe('héllo');
    expect(readPackedVarints(fields[3].bytes)).toEqual([1n, 2n, 1000n]);
  });

  it('refuses truncated input', () => {
    const bytes = new ProtoWriter().string(1, 'abcdef').finish();
    expect(() => [...readFields(bytes.subarray(0, 4))]).toThrow(/past the end/);
  });
});
