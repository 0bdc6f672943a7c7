/**
 * Op attributes are declared per op (src/engine/ops/attributes.ts) and checked when a node is
 * built: an attribute the op does not take, or a value of the wrong kind, fails at once instead
 * of being ignored (a typo used to fall back silently to the default).
 */
import { describe, expect, it } from 'vitest';
import { EngineError, Graph, type Value } from '../../src/engine/index';
import type { Attrs } from '../../src/engine/ir/types';
import { opAttributes } from '../../src/engine/ops/attributes';
import { defaultRegistry, OpRegistry } from '../../src/engine/ops/index';

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof EngineError ? `${e.reason}: ${e.message}` : `other: ${String(e)}`;
  }
  return 'no error';
}

describe('op attributes', () => {
  it('every registered op has a declaration, and every declaration names a registered op', () => {
    const registry = defaultRegistry();
    expect(registry.names().filter((n) => !(n in opAttributes))).toEqual([]);
    expect(Object.keys(opAttributes).filter((n) => !registry.has(n))).toEqual([]);
    expect(registry.get('ReduceMean').attributes).toEqual({ axes: 'ints', keepdims: 'bool' });
  });

  it('builds a node whose attributes are declared and of their kind', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 3]);
    expect(g.op('ReduceMean', [x], { axes: [1], keepdims: false }).shape).toEqual([2]);
    expect(g.op('Gemm', [x, g.input('w', 'float32', [3, 4])], { transB: 0, alpha: 0.5 }).shape).toEqual([
      2, 4,
    ]);
    expect(g.op('Cast', [x], { to: 'float64' }).dtype).toBe('float64');
    expect(g.op('Relu', [x], {}).shape).toEqual([2, 3]);
  });

  it('refuses an unknown attribute at build time, naming the op and what it takes', () => {
    const g = new Graph();
    const x: Value = g.input('x', 'float32', [2, 3]);
    // A typed call does not compile with a typo; code that passes attributes through untyped
    // objects (or other languages' spellings) reaches the check at run time.
    const typo = { axes: [1], keepDims: false } as Record<string, unknown> as { axes: number[] };
    expect(reason(() => g.op('ReduceMean', [x], typo))).toBe(
      "invalid_attribute: ReduceMean: unknown attribute 'keepDims' (ReduceMean takes axes, keepdims)",
    );
    const extra = { alpha: 0.2 } as Record<string, unknown> as Record<string, never>;
    expect(reason(() => g.op('Relu', [x], extra))).toBe(
      "invalid_attribute: Relu: unknown attribute 'alpha' (Relu takes none)",
    );
    expect(g.nodes).toHaveLength(0);
  });

  it('refuses a value of the wrong kind', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 3]);
    const wrong = (attrs: Record<string, unknown>) => attrs as Record<string, never>;
    expect(reason(() => g.op('ReduceSum', [x], wrong({ axes: 1 })))).toMatch(
      /^invalid_attribute: ReduceSum: attribute 'axes' must be a list of integers, got 1$/,
    );
    expect(reason(() => g.op('Softmax', [x], wrong({ axis: 0.5 })))).toMatch(
      /attribute 'axis' must be of kind int/,
    );
    expect(reason(() => g.op('Cast', [x], wrong({ to: 'float16' })))).toMatch(
      /attribute 'to' must be of kind dtype/,
    );
    expect(reason(() => g.op('ReduceSum', [x], wrong({ keepdims: 'yes' })))).toMatch(
      /'keepdims' must be of kind bool/,
    );
  });

  it('an op outside the table registers only with its own declaration', () => {
    const relu = defaultRegistry().get('Relu');
    const undeclared = { ...relu, name: 'MyRelu', attributes: undefined };
    expect(reason(() => new OpRegistry([undeclared]))).toMatch(
      /^invalid_attribute: op 'MyRelu' declares no attributes/,
    );
    const registry = new OpRegistry([{ ...relu, name: 'MyRelu', attributes: { slope: 'float' } }]);
    const g = new Graph({ registry });
    const x = g.input('x', 'float32', [4]);
    expect(g.op('MyRelu', [x], { slope: 0.1 }).shape).toEqual([4]);
    expect(reason(() => g.op('MyRelu', [x], { slop: 0.1 }))).toMatch(
      /unknown attribute 'slop' \(MyRelu takes slope\)/,
    );
  });
});

/**
 * Completeness: every attribute an op's `infer`, `emit` or `grad` reads is declared. Each op of
 * the finite-difference cases (test/engine/gradcases.ts) is built, differentiated and emitted
 * through a registry whose rules see their attributes through a proxy that records every read.
 */
describe('op attribute declarations are complete', () => {
  it('no op rule reads an attribute its declaration lacks', async () => {
    const { gradCases } = await import('./gradcases');
    const { encodeModel, gradients } = await import('../../src/engine/index');
    const base = defaultRegistry();
    const undeclared = new Set<string>();
    const watched = (op: string, attrs: Attrs): Attrs =>
      new Proxy(attrs, {
        get(target, key) {
          const declared = base.get(op).attributes ?? {};
          if (typeof key === 'string' && !(key in declared)) undeclared.add(`${op}.${key}`);
          return Reflect.get(target, key);
        },
      });
    const registry = new OpRegistry(
      base.names().map((name) => {
        const spec = base.get(name);
        return {
          ...spec,
          infer: (inputs, attrs) => spec.infer(inputs, watched(name, attrs)),
          emit: (ctx, ins, outs, attrs, node) => spec.emit(ctx, ins, outs, watched(name, attrs), node),
          grad: spec.grad && ((c) => spec.grad!({ ...c, attrs: watched(name, c.attrs) })),
        };
      }),
    );
    let built = 0;
    for (const [name, check] of Object.entries(gradCases)) {
      if (!('cases' in check)) continue;
      for (const c of check.cases) {
        const g = new Graph({ registry, training: true, paramDType: 'float64' });
        const xs = c.inputs.map((inp, i) => g.input(`x${i}`, inp.dtype ?? c.dtype ?? 'float64', inp.shape));
        const outs = g.ops(name, xs, c.attrs ?? {});
        const float = outs.filter((o) => o.dtype === 'float32' || o.dtype === 'float64');
        const loss = g.op('ReduceSum', [float[0]], { keepdims: false });
        const wrt = xs.filter((x) => x.dtype === 'float32' || x.dtype === 'float64');
        gradients(g, loss, wrt).forEach((d, i) => {
          if (d) g.output(`d${i}`, d);
        });
        g.output('loss', loss);
        encodeModel(g);
        built++;
      }
    }
    expect(built).toBeGreaterThan(40);
    expect([...undeclared].sort()).toEqual([]);
  });
});
