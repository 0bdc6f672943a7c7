/**
 * What fine-tuning asks of the importer: the layers with their weights' roles, chosen weights as
 * the caller's Parameters (others frozen as constants, or stood in for, as LoRA does), and
 * initializers rewritten in place (the LoRA merge) with everything else byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { readInitializers } from '../../src/engine/index';
import { Graph } from '../../src/engine/ir/graph';
import { encodeModel } from '../../src/engine/onnx/encode';
import { importOnnx } from '../../src/engine/onnx/import';
import { importedLayers } from '../../src/engine/onnx/import-layers';
import { replaceInitializers } from '../../src/engine/onnx/patch';
import { EngineSession } from '../../src/engine/runtime/session';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { tabularMlp } from './import-models';

const row = tensorFrom('float32', [1, 6], [0.5, -1, 0.25, 0, 1, -0.5]);

async function run(bytes: Uint8Array): Promise<number[]> {
  const s = await EngineSession.create(bytes);
  try {
    const out = await s.run({ features: row });
    return Array.from(out.log_probs.data as Float32Array);
  } finally {
    await s.release();
  }
}

describe('importing for fine-tuning', () => {
  it('lists the layers in order with what each weight is to its node', () => {
    const layers = importedLayers(tabularMlp());
    expect(layers.map((l) => [l.op, l.transB, l.weights.map((w) => `${w.name}:${w.role}`)])).toEqual([
      ['Gemm', 1, ['l1.weight:weight', 'l1.bias:bias']],
      ['LayerNormalization', 0, ['ln.weight:scale', 'ln.bias:shift']],
      ['Gemm', 0, ['l2.weight:weight', 'l2.bias:bias']],
    ]);
  });

  it('trains only the weights given; the rest are constants; a substitute stands in for a frozen weight', () => {
    const bytes = tabularMlp();
    const w = readInitializers(bytes, new Set(['l2.weight'])).get('l2.weight')!;
    const head = { name: 'l2.weight', value: tensorFrom('float32', [5, 4], new Float32Array(20)) };
    const bias = { name: 'l2.bias', value: tensorFrom('float32', [4], new Float32Array(4)) };
    const seen: string[] = [];
    const g = new Graph();
    const m = importOnnx(bytes, {
      graph: g,
      trainable: new Map([
        ['l2.weight', head],
        ['l2.bias', bias],
      ]),
      substitute: (name, v) => {
        seen.push(name);
        return v;
      },
    });
    expect(m.params).toEqual([head, bias]);
    // The new head's dims flow to the output: 4 classes instead of 3.
    expect(m.outputs[0].value.shape).toEqual(['batch', 4]);
    expect(seen).toEqual(['l1.weight', 'l1.bias', 'ln.weight', 'ln.bias']);
    expect(w.dims).toEqual([5, 3]);
  });

  it('rewrites chosen initializers and leaves the rest of the file as it was', async () => {
    const bytes = tabularMlp();
    const before = await run(bytes);
    const same = replaceInitializers(bytes, new Map());
    expect(Buffer.from(same).equals(Buffer.from(bytes))).toBe(true);
    const zeroHead = replaceInitializers(
      bytes,
      new Map([
        ['l2.weight', tensorFrom('float32', [5, 3], new Float32Array(15))],
        ['l2.bias', tensorFrom('float32', [3], new Float32Array(3))],
      ]),
    );
    const after = await run(zeroHead);
    expect(after).not.toEqual(before);
    // A zero head gives every class the same log-probability.
    for (const v of after) expect(v).toBeCloseTo(Math.log(1 / 3), 5);
    expect(() => replaceInitializers(bytes, new Map([['nope', tensorFrom('float32', [1], [0])]]))).toThrow(
      /no initializers named nope/,
    );
    // Round trip of the importer's own output still runs.
    expect((await run(encodeModel(importOnnx(zeroHead).graph))).length).toBe(3);
  });
});
