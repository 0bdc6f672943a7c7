import { expect, it } from 'vitest';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { SharedOutputs } from '../../src/platform/serving/shared-outputs';

it("keeps one shared buffer per sequence and output, rewritten by that sequence's next step only", () => {
  const shared = new SharedOutputs();
  const a1 = shared.place(1, { logits: tensorFrom('float32', [1, 1, 3], [1, 2, 3]) });
  const b1 = shared.place(2, { logits: tensorFrom('float32', [1, 1, 3], [7, 8, 9]) });
  expect(a1.logits.data.buffer).toBeInstanceOf(SharedArrayBuffer);
  expect(Array.from(a1.logits.data as Float32Array)).toEqual([1, 2, 3]);
  const a2 = shared.place(1, { logits: tensorFrom('float32', [1, 1, 3], [4, 5, 6]) });
  // The same memory, new values; the other sequence's outputs untouched.
  expect(a2.logits.data.buffer).toBe(a1.logits.data.buffer);
  expect(Array.from(a1.logits.data as Float32Array)).toEqual([4, 5, 6]);
  expect(Array.from(b1.logits.data as Float32Array)).toEqual([7, 8, 9]);
  expect(a2.logits.dims).toEqual([1, 1, 3]);
  // Another size or dtype gets its own buffer; a closed sequence starts over.
  const a3 = shared.place(1, { logits: tensorFrom('float32', [1, 1, 4], [1, 1, 1, 1]) });
  expect(a3.logits.data.buffer).not.toBe(a1.logits.data.buffer);
  shared.close(1);
  const a4 = shared.place(1, { logits: tensorFrom('float32', [1, 1, 4], [2, 2, 2, 2]) });
  expect(a4.logits.data.buffer).not.toBe(a3.logits.data.buffer);
  const ids = shared.place(3, { ids: tensorFrom('int64', [2], [5, 6]) });
  expect(ids.ids.data).toBeInstanceOf(BigInt64Array);
  expect(Array.from(ids.ids.data as BigInt64Array)).toEqual([5n, 6n]);
});
