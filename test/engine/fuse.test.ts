/**
 * The serving-time projection fusion (src/engine/onnx/fuse.ts): on a Llama-layout decoder the
 * q/k/v and gate/up MatMuls of each layer become one MatMul + Split, and ONNX Runtime computes the
 * same logits and caches from the fused graph as from the stored one; int8 projections are left
 * alone (no measured gain); EngineSession's `fuseProjections` loads the fused graph from a file;
 * a weight another node still reads is kept; a graph with nothing to fuse is left alone.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/ir/graph';
import { encodeModel } from '../../src/engine/onnx/encode';
import { fuseProjections } from '../../src/engine/onnx/fuse';
import { quantizeModel, readNode } from '../../src/engine/onnx/quantize/rewrite';
import { readFields } from '../../src/engine/onnx/wire';
import { EngineSession } from '../../src/engine/runtime/session';
import { type Tensor, tensorFrom, zeros } from '../../src/engine/runtime/tensor';
import { llamaGraph, llamaModel } from '../../src/models/language/hf/llama';
import { tempDir } from '../helpers/tmp';

const LAYERS = 2;
const KV_HEADS = 2;
const HEAD_DIM = 16;

function tinyLlama(): Uint8Array {
  const model = llamaModel({
    vocab: 96,
    hidden: 64,
    layers: LAYERS,
    heads: 4,
    kvHeads: KV_HEADS,
    intermediate: 128,
    context: 64,
    initStd: 0.2,
    seed: 3,
  });
  return encodeModel(llamaGraph(model));
}

/** Nodes of type `op` in the top-level graph. */
function opCount(model: Uint8Array, op: string): number {
  const graph = [...readFields(model)].find((f) => f.field === 7)!.bytes;
  return [...readFields(graph)].filter((f) => f.field === 1 && readNode(f.bytes).opType === op).length;
}

/** Prefill 5 tokens in 2 rows (one left-padded), then one decode step: every output of both runs. */
async function runBoth(model: Uint8Array): Promise<Record<string, Tensor>[]> {
  const session = await EngineSession.create(model);
  const past: Record<string, Tensor> = {};
  for (let i = 0; i < LAYERS; i++)
    for (const kv of ['key', 'value'])
      past[`past_key_values.${i}.${kv}`] = zeros('float32', [2, KV_HEADS, 0, HEAD_DIM]);
  const first = await session.run({
    input_ids: tensorFrom('int64', [2, 5], [7, 3, 9, 40, 2, 0, 0, 11, 12, 13]),
    attention_mask: tensorFrom('int64', [2, 5], [1, 1, 1, 1, 1, 0, 0, 1, 1, 1]),
    position_ids: tensorFrom('int64', [2, 5], [0, 1, 2, 3, 4, 0, 0, 0, 1, 2]),
    ...past,
  });
  const next: Record<string, Tensor> = {};
  for (let i = 0; i < LAYERS; i++)
    for (const kv of ['key', 'value']) next[`past_key_values.${i}.${kv}`] = first[`present.${i}.${kv}`];
  const second = await session.run({
    input_ids: tensorFrom('int64', [2, 1], [5, 6]),
    attention_mask: tensorFrom('int64', [2, 6], [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1]),
    position_ids: tensorFrom('int64', [2, 1], [5, 3]),
    ...next,
  });
  await session.release();
  return [first, second];
}

function expectSameOutputs(a: Record<string, Tensor>[], b: Record<string, Tensor>[]) {
  for (const [i, run] of a.entries()) {
    expect(Object.keys(b[i]).sort()).toEqual(Object.keys(run).sort());
    for (const [name, t] of Object.entries(run)) {
      expect(b[i][name].dims, name).toEqual(t.dims);
      const x = t.data as Float32Array;
      const y = b[i][name].data as Float32Array;
      let worst = 0;
      for (let j = 0; j < x.length; j++) worst = Math.max(worst, Math.abs(x[j] - y[j]));
      // Each column's dot product runs over the same K in the same kernel: equal to rounding.
      expect(worst, name).toBeLessThan(1e-5);
    }
  }
}

describe('fuseProjections', () => {
  it('fuses q/k/v and gate/up of every layer; ORT gives the same logits and caches', async () => {
    const stored = tinyLlama();
    const fused = fuseProjections(stored);
    expect(fused?.report).toEqual({ groups: 2 * LAYERS, nodes: 5 * LAYERS });
    // 7 projections per layer + the LM head → 4 per layer + the head.
    expect(opCount(stored, 'MatMul')).toBeGreaterThanOrEqual(7 * LAYERS + 1);
    expect(opCount(stored, 'MatMul') - opCount(fused!.model, 'MatMul')).toBe(3 * LAYERS);
    expect(opCount(fused!.model, 'Split')).toBe(opCount(stored, 'Split') + 2 * LAYERS);
    // The stored weights are not kept beside the fused ones.
    expect(fused!.model.length).toBeLessThan(stored.length * 1.01);
    expectSameOutputs(await runBoth(stored), await runBoth(fused!.model));
  });

  it('leaves int8 projections (DynamicQuantizeMatMul) as they are', () => {
    expect(fuseProjections(quantizeModel(tinyLlama(), { to: 'int8' }).model)).toBeNull();
  });

  it('EngineSession loads a file fused with `fuseProjections`, the same outputs', async () => {
    const { dir, remove } = await tempDir();
    const file = join(dir, 'model.onnx');
    await writeFile(file, tinyLlama());
    const plain = await EngineSession.create(file);
    const fusedSession = await EngineSession.create(file, { fuseProjections: true });
    const feeds: Record<string, Tensor> = {
      input_ids: tensorFrom('int64', [1, 3], [4, 5, 6]),
      attention_mask: tensorFrom('int64', [1, 3], [1, 1, 1]),
      position_ids: tensorFrom('int64', [1, 3], [0, 1, 2]),
    };
    for (let i = 0; i < LAYERS; i++)
      for (const kv of ['key', 'value'])
        feeds[`past_key_values.${i}.${kv}`] = zeros('float32', [1, KV_HEADS, 0, HEAD_DIM]);
    expectSameOutputs([await plain.run(feeds)], [await fusedSession.run(feeds)]);
    await plain.release();
    await fusedSession.release();
    await remove();
  });

  it('keeps a weight another node still reads, and leaves a graph with nothing to fuse alone', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 4]);
    const w1 = g.constant(
      tensorFrom(
        'float32',
        [4, 3],
        Array.from({ length: 12 }, (_, i) => i / 7),
      ),
    );
    const w2 = g.constant(
      tensorFrom(
        'float32',
        [4, 5],
        Array.from({ length: 20 }, (_, i) => 1 - i / 9),
      ),
    );
    g.output('a', g.op('MatMul', [x, w1]));
    g.output('b', g.op('MatMul', [x, w2]));
    g.output('w1_doubled', g.op('Add', [w1, w1]));
    const stored = encodeModel(g);
    const fused = fuseProjections(stored);
    expect(fused?.report).toEqual({ groups: 1, nodes: 2 });
    const feeds = { x: tensorFrom('float32', [2, 4], [1, -2, 0.5, 3, 0, 1, 2, -1]) };
    const [s, f] = await Promise.all([EngineSession.create(stored), EngineSession.create(fused!.model)]);
    expectSameOutputs([await s.run(feeds)], [await f.run(feeds)]);
    await Promise.all([s.release(), f.release()]);

    const lone = new Graph();
    const y = lone.input('y', 'float32', [2, 4]);
    lone.output(
      'z',
      lone.op('MatMul', [y, lone.constant(tensorFrom('float32', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]))]),
    );
    expect(fuseProjections(encodeModel(lone))).toBeNull();
  });
});
