import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/ir/graph';
import { encodeModel } from '../../src/engine/onnx/encode';
import { EngineSession } from '../../src/engine/runtime/session';
import { type Tensor, tensorFrom, toNumbers, zeros } from '../../src/engine/runtime/tensor';
import { compileTrainStep } from '../../src/engine/train/compile';
import * as nn from '../../src/nn/index';
import { type LayerInput, layerGradcheck } from './layergrad';
import { charBatch, TEXT } from './text';

const cells = { lstm: nn.lstm, gru: nn.gru };

describe('recurrent layers', () => {
  for (const kind of ['lstm', 'gru'] as const) {
    it(`${kind} gradients match finite differences (float64), with and without an initial state`, async () => {
      const cell = cells[kind](new nn.Rng(3), 3, 4);
      const inputs: Record<string, LayerInput> = { x: { shape: [2, 3, 3] }, h: { shape: [2, 4] } };
      if (kind === 'lstm') inputs.c = { shape: [2, 4] };
      const withState = await layerGradcheck(cell.params, inputs, (v) => {
        const r = cell.run(v.x, kind === 'lstm' ? { h: v.h, c: v.c } : { h: v.h });
        // Both the sequence and the final state carry gradient.
        const last = r.state.c ? v.x.graph.op('Add', [r.state.h, r.state.c]) : r.state.h;
        return v.x.graph.op('Add', [r.output, v.x.graph.op('Unsqueeze', [last], { axes: [1] })]);
      });
      const fromZero = await layerGradcheck(cell.params, { x: inputs.x }, (v) => cell(v.x));
      for (const r of [withState, fromZero]) {
        expect(r.failures).toEqual([]);
        expect(r.checked).toBeGreaterThan(100);
      }
    });
  }

  it('LSTM and GRU forward passes equal a plain JS reference (PyTorch formulas)', async () => {
    const [B, T, I, H] = [2, 3, 2, 3];
    const xs = Array.from({ length: B * T * I }, (_, i) => Math.sin(i + 1));
    for (const kind of ['lstm', 'gru'] as const) {
      const cell = cells[kind](new nn.Rng(5), I, H);
      const g = new Graph({ paramDType: 'float64' });
      g.output('y', cell(g.constant(tensorFrom('float64', [B, T, I], xs))));
      const s = await EngineSession.create(encodeModel(g));
      const y = toNumbers((await s.run({})).y);
      await s.release();
      const ref = referenceRnn(
        kind,
        cell.params.map((p) => toNumbers(p.value)),
        xs,
        [B, T, I, H],
      );
      y.forEach((v, i) => {
        expect(v).toBeCloseTo(ref[i], 10);
      });
    }
  });

  it('an LSTM language model memorises a 200-character text (loss < 0.05 nats/char)', async () => {
    const { vocab, batch } = charBatch(TEXT, 4, 50);
    const model = nn.lstmLm({ vocab: vocab.length, embed: 16, hidden: 64, seed: 1 });
    const trainer = await compileTrainStep({
      model: nn.languageModelSpec(model, { batch: 4, seq: 50 }),
      optimizer: nn.adam(),
    });
    let loss = Number.POSITIVE_INFINITY;
    const first = (await trainer.step(batch, 1e-2)).loss;
    for (let i = 0; i < 400 && loss > 0.03; i++) loss = (await trainer.step(batch, 1e-2)).loss;
    expect(first).toBeGreaterThan(3);
    expect(loss).toBeLessThan(0.05);
    // Step-wise generation through the exported graph (state in, state out) equals the full sequence.
    const evaluated = await trainer.evaluate(batch);
    trainer.syncParameters();
    const session = await EngineSession.create(nn.exportLstmLm(model));
    expect(session.inputs.map((s) => s.name)).toEqual(['input_ids', 'h_in', 'c_in']);
    let h: Tensor = zeros('float32', [1, 4, 64]);
    let c: Tensor = zeros('float32', [1, 4, 64]);
    const full = evaluated.predictions.logits.data as Float32Array;
    let maxErr = 0;
    const V = vocab.length;
    for (let t = 0; t < 50; t++) {
      const ids = tensorFrom(
        'int64',
        [4, 1],
        [0, 1, 2, 3].map((r) => Number(batch.x.data[r * 50 + t])),
      );
      const out = await session.run({ input_ids: ids, h_in: h, c_in: c });
      h = out.h_out;
      c = out.c_out;
      const step = out.logits.data as Float32Array;
      for (let r = 0; r < 4; r++)
        for (let k = 0; k < V; k++)
          maxErr = Math.max(maxErr, Math.abs(step[r * V + k] - full[(r * 50 + t) * V + k]));
    }
    expect(maxErr).toBeLessThan(1e-4);
    await session.release();
    await trainer.release();
  });
});

const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** LSTM/GRU over x [B, T, I] in plain JS; weights [in, G·H] as the layer stores them. */
function referenceRnn(kind: 'lstm' | 'gru', w: number[][], x: number[], [B, T, I, H]: number[]): number[] {
  const [wih, whh, bias, bhh] = w;
  const G = kind === 'lstm' ? 4 : 3;
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    let h = new Array<number>(H).fill(0);
    let c = new Array<number>(H).fill(0);
    for (let t = 0; t < T; t++) {
      const xp = new Array<number>(G * H).fill(0).map((_, j) => bias[j]);
      const hp = new Array<number>(G * H).fill(0).map((_, j) => (bhh ? bhh[j] : 0));
      for (let j = 0; j < G * H; j++) {
        for (let k = 0; k < I; k++) xp[j] += x[(b * T + t) * I + k] * wih[k * G * H + j];
        for (let k = 0; k < H; k++) hp[j] += h[k] * whh[k * G * H + j];
      }
      const gate = (q: number, k: number) => xp[q * H + k] + (kind === 'lstm' ? hp[q * H + k] : 0);
      if (kind === 'lstm') {
        c = c.map((cv, k) => sig(gate(1, k)) * cv + sig(gate(0, k)) * Math.tanh(gate(2, k)));
        h = c.map((cv, k) => sig(gate(3, k)) * Math.tanh(cv));
      } else {
        h = h.map((hv, k) => {
          const r = sig(xp[k] + hp[k]);
          const z = sig(xp[H + k] + hp[H + k]);
          const n = Math.tanh(xp[2 * H + k] + r * hp[2 * H + k]);
          return (1 - z) * n + z * hv;
        });
      }
      out.push(...h);
    }
  }
  return out;
}
