import { describe, expect, it } from 'vitest';
import type { Parameter } from '../../src/engine/ir/types';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { compileTrainStep } from '../../src/engine/train/compile';
import type { Optimizer } from '../../src/engine/train/optimizer';
import * as nn from '../../src/nn/index';

const start = [0.5, -1.5, 2];
const target = [1, 1, -1];

/** loss = ½‖p − t‖², so dL/dp = p − t: the update sequence can be replayed in plain JS. */
async function run(optimizer: Optimizer, steps: number, lr: (s: number) => number): Promise<number[]> {
  const p: Parameter = nn.parameter('p', [3], Float32Array.from(start));
  const t = await compileTrainStep({
    dtype: 'float64',
    optimizer,
    model: {
      params: [p],
      batch: { t: { dtype: 'float64', shape: [1, 3] } },
      forward: (_b, g) => ({ p: g.param(p) }),
      loss: (pred, b) => {
        const g = b.t.graph;
        const d = g.op('Sub', [pred.p, g.op('Reshape', [b.t], { shape: [3] })]);
        return g.op('Mul', [
          g.op('ReduceSum', [g.op('Mul', [d, d])], { keepdims: false }),
          g.scalar(0.5, 'float64'),
        ]);
      },
    },
  });
  for (let s = 0; s < steps; s++) await t.step({ t: tensorFrom('float64', [1, 3], target) }, lr(s));
  const out = Array.from(t.state().params);
  await t.release();
  return out;
}

function reference(
  kind: string,
  opts: Record<string, number | boolean>,
  steps: number,
  lr: (s: number) => number,
) {
  const p = [...start];
  const buf = [0, 0, 0];
  const m = [0, 0, 0];
  const v = [0, 0, 0];
  for (let s = 0; s < steps; s++) {
    let g = p.map((x, i) => x - target[i]);
    if (opts.clip) {
      const norm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
      g = g.map((x) => x * Math.min(1, Number(opts.clip) / (norm + 1e-6)));
    }
    const wd = Number(opts.wd ?? 0);
    const a = lr(s);
    for (let i = 0; i < 3; i++) {
      if (kind === 'sgd') {
        const gi = g[i] + wd * p[i];
        buf[i] = Number(opts.mu ?? 0) * buf[i] + gi;
        const d = opts.nesterov ? gi + Number(opts.mu) * buf[i] : opts.mu ? buf[i] : gi;
        p[i] -= a * d;
      } else {
        let gi = g[i];
        if (kind === 'adam') gi += wd * p[i];
        else p[i] *= 1 - a * wd;
        m[i] = 0.9 * m[i] + 0.1 * gi;
        v[i] = 0.999 * v[i] + 0.001 * gi * gi;
        const bc1 = 1 - 0.9 ** (s + 1);
        const bc2 = 1 - 0.999 ** (s + 1);
        p[i] -= (a / bc1) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + 1e-8));
      }
    }
  }
  return p;
}

describe('optimizers match PyTorch formulas replayed in JS (float64)', () => {
  const lr = nn.cosine({ base: 0.1, total: 10, warmup: 2 });
  const cases: [string, Optimizer, string, Record<string, number | boolean>][] = [
    ['sgd', nn.sgd(), 'sgd', {}],
    ['sgd momentum + decay', nn.sgd({ momentum: 0.9, weightDecay: 0.01 }), 'sgd', { mu: 0.9, wd: 0.01 }],
    ['sgd nesterov', nn.sgd({ momentum: 0.8, nesterov: true }), 'sgd', { mu: 0.8, nesterov: true }],
    ['sgd clipped', nn.sgd({ clipGradNorm: 0.5 }), 'sgd', { clip: 0.5 }],
    ['adam', nn.adam(), 'adam', {}],
    ['adam L2', nn.adam({ weightDecay: 0.1 }), 'adam', { wd: 0.1 }],
    ['adamw', nn.adamW({ weightDecay: 0.1 }), 'adamw', { wd: 0.1 }],
  ];
  for (const [name, opt, kind, opts] of cases) {
    it(name, async () => {
      const got = await run(opt, 7, lr);
      const want = reference(kind, opts, 7, lr);
      got.forEach((x, i) => {
        expect(x).toBeCloseTo(want[i], 10);
      });
      expect(got).not.toEqual(start);
    });
  }
});

describe('schedules', () => {
  it('warm up linearly, then decay by cosine to the floor', () => {
    const s = nn.cosine({ base: 1, total: 12, warmup: 2, min: 0.1 });
    expect([s(0), s(1)]).toEqual([0.5, 1]);
    expect(s(2)).toBeCloseTo(1, 12);
    expect(s(7)).toBeCloseTo(0.55, 12);
    expect(s(12)).toBeCloseTo(0.1, 12);
    expect(s(50)).toBeCloseTo(0.1, 12);
  });
  it('step decay multiplies by gamma every N steps', () => {
    const s = nn.stepDecay({ base: 1, every: 3, gamma: 0.5 });
    expect([0, 2, 3, 6, 8].map(s)).toEqual([1, 1, 0.5, 0.25, 0.25]);
  });
});
