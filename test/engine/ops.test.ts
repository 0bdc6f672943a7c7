import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/ir/graph';
import { defaultRegistry } from '../../src/engine/ops/index';
import { gradCases, type OpCheck } from './gradcases';
import { gradcheck } from './gradcheck';

const registry = defaultRegistry();

describe('op registry', () => {
  it('rejects duplicate ops', () => {
    expect(() => registry.add(registry.get('Add'))).toThrow(/already registered/);
  });

  it('has a gradient check or a stated reason for every registered op', () => {
    const missing = registry.names().filter((n) => !(n in gradCases));
    expect(missing).toEqual([]);
    for (const [name, check] of Object.entries(gradCases)) {
      expect(registry.has(name), name).toBe(true);
      expect(Boolean(registry.get(name).grad), name).toBe('cases' in check);
    }
  });

  it('infers shapes as nodes are added and refuses mismatches', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 784]);
    const w = g.input('w', 'float32', [784, 10]);
    expect(g.op('MatMul', [x, w]).shape).toEqual(['batch', 10]);
    expect(g.op('Reshape', [x], { shape: [0, 28, -1] }).shape).toEqual(['batch', 28, 28]);
    expect(() => g.op('Add', [x, w])).toThrow(/broadcast/);
  });

  it('reshapes a symbolic dim that carries a factor (grouped heads stacked along rows, and back)', () => {
    const g = new Graph();
    const q = g.input('q', 'float32', ['batch', 8, 'seq', 16]);
    const grouped = g.op('Reshape', [q], { shape: [0, 2, -1, 16] });
    expect(grouped.shape).toEqual(['batch', 2, 'seq*4', 16]);
    expect(g.op('Reshape', [grouped], { shape: [0, 8, -1, 16] }).shape).toEqual(['batch', 8, 'seq', 16]);
    expect(() => g.op('Reshape', [grouped], { shape: [0, 3, -1, 16] })).toThrow(/does not fit/);
  });
});

describe('gradients match central finite differences', () => {
  for (const [name, check] of Object.entries(gradCases as Record<string, OpCheck>)) {
    if (!('cases' in check)) continue;
    check.cases.forEach((c, i) => {
      it(`${name} #${i}`, async () => {
        const r = await gradcheck(name, c, check.random);
        expect(r.failures).toEqual([]);
        expect(r.checked).toBeGreaterThan(0);
      });
    });
  }
});
