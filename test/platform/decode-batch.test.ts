/**
 * The pieces of continuous batching on their own: FairQueue's admission order, and DecodeBatch on
 * a real tiny Llama-layout graph: a batched step gives each row the logits it gets alone, and a
 * closed row leaves the batched state at the next step.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineSession, SequenceStates } from '../../src/engine/index';
import { type Tensor, tensorFrom, zeros } from '../../src/engine/runtime/tensor';
import { DecodeBatch } from '../../src/platform/serving/decode-batch';
import { FairQueue } from '../../src/platform/serving/fair-queue';
import { writeTinyLlamaFolder } from '../helpers/hf-fixtures';
import { tempDir } from '../helpers/tmp';

describe('FairQueue', () => {
  it('admits round-robin across tenants, first-in first-out within one, and drops a leaver', () => {
    const q = new FairQueue<string>();
    for (const item of ['a1', 'a2', 'a3']) q.push('a', item);
    q.push('b', 'b1');
    q.push('c', 'c1');
    q.push('b', 'b2');
    expect(q.remove('c1')).toBe(true);
    expect(q.remove('zz')).toBe(false);
    const order: string[] = [];
    while (q.size > 0) order.push(q.shift()!);
    expect(order).toEqual(['a1', 'b1', 'a2', 'b2', 'a3']);
    expect(q.shift()).toBeUndefined();
  });
});

describe('DecodeBatch on a tiny Llama-layout graph', () => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  let session: EngineSession;
  const LAYERS = 2;
  const KV_HEADS = 2;
  const HEAD_DIM = 16;
  const feedback: Record<string, string> = {};
  for (let i = 0; i < LAYERS; i++) {
    feedback[`present.${i}.key`] = `past_key_values.${i}.key`;
    feedback[`present.${i}.value`] = `past_key_values.${i}.value`;
  }
  const plan = { tokens: 'input_ids', attentionMask: 'attention_mask', shared: [], axis: 2 };
  const exec = (f: Record<string, Tensor>, o?: readonly string[]) => session.run(f, o);

  beforeAll(async () => {
    root = await tempDir('maas-decode-batch-');
    const folder = await writeTinyLlamaFolder(join(root.dir, 'llama'), {
      layers: LAYERS,
      heads: 4,
      kvHeads: KV_HEADS,
      hidden: 64,
    });
    session = await EngineSession.create(folder.onnx);
  }, 60_000);

  afterAll(async () => {
    await session?.release();
    await root?.remove();
  });

  const step = (tokens: number[], past: number, first: boolean): Record<string, Tensor> => {
    const feeds: Record<string, Tensor> = {
      input_ids: tensorFrom('int64', [1, tokens.length], tokens),
      attention_mask: tensorFrom('int64', [1, past + tokens.length], new Array(past + tokens.length).fill(1)),
      position_ids: tensorFrom(
        'int64',
        [1, tokens.length],
        tokens.map((_, i) => past + i),
      ),
    };
    if (first)
      for (const input of Object.values(feedback))
        feeds[input] = zeros('float32', [1, KV_HEADS, 0, HEAD_DIM]);
    return feeds;
  };

  it('steps rows of different lengths together with their solo logits; a closed row leaves at the next step', async () => {
    const prompts = [
      [5, 6, 7, 8, 9],
      [10, 11],
      [12, 13, 14],
    ];
    const next = [20, 21, 22];
    // Alone: prefill, then one decode step each.
    const alone: number[][] = [];
    const soloStates = new SequenceStates();
    for (const [i, p] of prompts.entries()) {
      await soloStates.run(i, feedback, exec, step(p, 0, true), ['logits']);
      const out = await soloStates.run(i, feedback, exec, step([next[i]], p.length, false), ['logits']);
      alone.push([...(out.logits.data as Float32Array)]);
    }
    // Batched: the same prefills, then one decode step of the three rows in one run.
    const states = new SequenceStates();
    const batch = new DecodeBatch(states);
    for (const [i, p] of prompts.entries()) await states.run(i, feedback, exec, step(p, 0, true), ['logits']);
    const rows = prompts.map((p, i) => ({ id: i, feeds: step([next[i]], p.length, false) }));
    const out = await batch.step(rows, feedback, plan, exec, ['logits']);
    for (const [i, row] of out.entries()) {
      const got = [...(row.logits.data as Float32Array)];
      expect(got).toHaveLength(alone[i].length);
      const worst = Math.max(...got.map((v, j) => Math.abs(v - alone[i][j])));
      expect(worst).toBeLessThan(1e-4);
    }
    expect(batch.rows).toEqual([0, 1, 2]);
    // Row 1 hangs up: the next step re-packs the batch without it.
    batch.close(1);
    const again = await batch.step(
      [0, 2].map((i) => ({ id: i, feeds: step([30], prompts[i].length + 1, false) })),
      feedback,
      plan,
      exec,
      ['logits'],
    );
    expect(batch.rows).toEqual([0, 2]);
    expect(again).toHaveLength(2);
    expect(again[0].logits.dims).toEqual([1, 1, expect.any(Number)]);
  }, 60_000);
});
