import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/ir/graph';
import type { Value } from '../../src/engine/ir/types';
import { encodeModel } from '../../src/engine/onnx/encode';
import { EngineSession } from '../../src/engine/runtime/session';
import { tensorFrom, toNumbers } from '../../src/engine/runtime/tensor';
import * as nn from '../../src/nn/index';

/** Build a float64 graph, run it once in ORT, return each output as numbers. */
async function run(build: (g: Graph) => Record<string, Value>): Promise<Record<string, number[]>> {
  const g = new Graph({ paramDType: 'float64' });
  for (const [k, v] of Object.entries(build(g))) g.output(k, v);
  const s = await EngineSession.create(encodeModel(g));
  const out = await s.run({});
  await s.release();
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, toNumbers(t)]));
}

const logitsData = [2, 0.5, -1, 0.1, 0.2, 0.3];
const logSoftmaxRow = (row: number[]) => {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
  return row.map((x) => x - lse);
};

describe('losses against hand computation', () => {
  it('cross-entropy with label smoothing and an ignored index', async () => {
    const out = await run((g) => {
      const logits = g.constant(tensorFrom('float64', [2, 3], logitsData));
      const plain = g.constant(tensorFrom('int64', [2], [0, 2]));
      const ignored = g.constant(tensorFrom('int64', [2], [1, -100]));
      return {
        plain: nn.crossEntropy(logits, plain),
        smooth: nn.crossEntropy(logits, plain, { labelSmoothing: 0.1 }),
        ignore: nn.crossEntropy(logits, ignored, { ignoreIndex: -100 }),
        acc: nn.accuracy(logits, plain),
        seq: nn.crossEntropy(
          g.op('Reshape', [logits], { shape: [1, 2, 3] }),
          g.op('Reshape', [plain], { shape: [1, 2] }),
        ),
      };
    });
    const r0 = logSoftmaxRow(logitsData.slice(0, 3));
    const r1 = logSoftmaxRow(logitsData.slice(3));
    expect(out.plain[0]).toBeCloseTo(-(r0[0] + r1[2]) / 2, 12);
    const smooth = (r: number[], y: number) =>
      -r.reduce((a, lp, c) => a + lp * ((c === y ? 0.9 : 0) + 0.1 / 3), 0);
    expect(out.smooth[0]).toBeCloseTo((smooth(r0, 0) + smooth(r1, 2)) / 2, 12);
    expect(out.ignore[0]).toBeCloseTo(-r0[1], 12);
    expect(out.acc[0]).toBe(1);
    expect(out.seq[0]).toBeCloseTo(out.plain[0], 12);
  });

  it('MSE, BCE on probabilities and BCE on logits', async () => {
    const x = [-2, -0.5, 0.3, 3];
    const t = [0, 1, 1, 0];
    const out = await run((g) => {
      const logits = g.constant(tensorFrom('float64', [4], x));
      const target = g.constant(tensorFrom('float64', [4], t));
      return {
        mse: nn.mse(logits, target),
        bce: nn.bce(g.op('Sigmoid', [logits]), target),
        bcel: nn.bceWithLogits(logits, target),
      };
    });
    const sig = x.map((v) => 1 / (1 + Math.exp(-v)));
    const bce = -sig.reduce((a, p, i) => a + t[i] * Math.log(p) + (1 - t[i]) * Math.log(1 - p), 0) / 4;
    expect(out.mse[0]).toBeCloseTo(x.reduce((a, v, i) => a + (v - t[i]) ** 2, 0) / 4, 12);
    expect(out.bce[0]).toBeCloseTo(bce, 7);
    expect(out.bcel[0]).toBeCloseTo(bce, 12);
  });
});

describe('layers against hand computation', () => {
  it('Linear (2-D via Gemm and 3-D via MatMul), Embedding, LayerNorm', async () => {
    const rng = new nn.Rng(3);
    const fc = nn.named('fc', nn.linear(rng, 3, 2));
    const emb = nn.named('emb', nn.embedding(rng, 4, 2));
    const ln = nn.named('ln', nn.layerNorm(3));
    expect(ln.params.map((p) => p.name)).toEqual(['ln.weight', 'ln.bias']);
    const xs = [1, 2, 3, -1, 0, 4];
    const out = await run((g) => {
      const x = g.constant(tensorFrom('float64', [2, 3], xs));
      return {
        lin2: fc(x),
        lin3: fc(g.op('Reshape', [x], { shape: [1, 2, 3] })),
        emb: emb(g.constant(tensorFrom('int64', [3], [3, 0, 3]))),
        ln: ln(x),
      };
    });
    const w = Array.from(fc.weight.value.data as Float32Array);
    const b = Array.from(fc.bias!.value.data as Float32Array);
    const lin = [0, 1].flatMap((r) =>
      [0, 1].map((o) => b[o] + [0, 1, 2].reduce((a, k) => a + xs[r * 3 + k] * w[k * 2 + o], 0)),
    );
    out.lin2.forEach((v, i) => {
      expect(v).toBeCloseTo(lin[i], 6);
    });
    out.lin3.forEach((v, i) => {
      expect(v).toBeCloseTo(lin[i], 6);
    });
    const e = Array.from(emb.weight.value.data as Float32Array);
    expect(out.emb).toEqual([e[6], e[7], e[0], e[1], e[6], e[7]].map((v) => Number(v)));
    const norm = (row: number[]) => {
      const m = row.reduce((a, v) => a + v, 0) / 3;
      const s = Math.sqrt(row.reduce((a, v) => a + (v - m) ** 2, 0) / 3 + 1e-5);
      return row.map((v) => (v - m) / s);
    };
    [...norm(xs.slice(0, 3)), ...norm(xs.slice(3))].forEach((v, i) => {
      expect(out.ln[i]).toBeCloseTo(v, 10);
    });
  });

  it('Dropout drops in training graphs only, keeping the expectation', async () => {
    const rng = new nn.Rng(1);
    const drop = nn.dropout(rng, 0.5);
    const ones = tensorFrom('float64', [1000], new Array(1000).fill(1));
    const train = new Graph({ training: true, paramDType: 'float64' });
    train.output('y', drop(train.constant(ones)));
    const s = await EngineSession.create(encodeModel(train));
    const y = toNumbers((await s.run({})).y);
    await s.release();
    expect(new Set(y)).toEqual(new Set([0, 2]));
    const kept = y.filter((v) => v === 2).length;
    expect(kept).toBeGreaterThan(400);
    expect(kept).toBeLessThan(600);
    const inference = await run((g) => ({ y: drop(g.constant(ones)) }));
    expect(inference.y.every((v) => v === 1)).toBe(true);
  });

  it('sequential names parameters like PyTorch and the graph refuses duplicate names', () => {
    const rng = new nn.Rng(1);
    const m = nn.sequential(nn.linear(rng, 2, 3), nn.relu(), nn.sequential(nn.linear(rng, 3, 1)));
    expect(m.params.map((p) => p.name)).toEqual(['0.weight', '0.bias', '2.0.weight', '2.0.bias']);
    const g = new Graph();
    g.param(nn.parameter('w', [1], new Float32Array(1)));
    expect(() => g.param(nn.parameter('w', [1], new Float32Array(1)))).toThrow(/named 'w'/);
  });

  it('seeded initialisers are reproducible and scaled by fan-in', () => {
    const a = nn.kaimingUniform(new nn.Rng(9), [100, 50], 100, 50);
    const b = nn.kaimingUniform(new nn.Rng(9), [100, 50], 100, 50);
    expect(a).toEqual(b);
    const bound = Math.sqrt(6 / 100);
    expect(Math.max(...a)).toBeLessThanOrEqual(bound);
    expect(Math.max(...a)).toBeGreaterThan(0.9 * bound);
    const x = nn.xavierNormal(new nn.Rng(2), [200, 200], 200, 200);
    const std = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
    expect(std).toBeCloseTo(Math.sqrt(2 / 400), 2);
  });
});
