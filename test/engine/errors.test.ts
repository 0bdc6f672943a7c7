/**
 * The engine speaks its own errors (what went wrong), not HTTP; the layers that feed it a
 * caller's input translate them (src/models/common/engine-errors.ts).
 */
import { describe, expect, it } from 'vitest';
import { isMaasError } from '../../src/common/errors';
import { decodeModel, EngineError, Graph, isEngineError } from '../../src/engine/index';
import { defaultRegistry } from '../../src/engine/ops/index';
import { toCatalogError } from '../../src/models/common/engine-errors';

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('engine errors', () => {
  it('a duplicate op is an engine error of reason duplicate, not a catalog (HTTP) error', () => {
    const registry = defaultRegistry();
    const e = thrown(() => registry.add(registry.get('Add')));
    expect(isEngineError(e) && e.reason).toBe('duplicate');
    expect(isMaasError(e)).toBe(false);
    expect(isEngineError(thrown(() => registry.get('NoSuchOp')))).toBe(true);
  });

  it('shapes that do not fit are invalid_graph; bytes that are not ONNX are invalid_model', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [4, 5]);
    const e = thrown(() => g.op('MatMul', [a, b]));
    expect(e instanceof EngineError && e.reason).toBe('invalid_graph');
    const d = thrown(() => decodeModel(new Uint8Array([0xff, 0xff, 0xff])));
    expect(isEngineError(d) && d.reason).toBe('invalid_model');
  });

  it('translates at the boundary: caller-caused → the caller code, bugs → internal', () => {
    const graph = toCatalogError(new EngineError('invalid_graph', 'shapes [2,3] and [4,5]'));
    expect(isMaasError(graph) && [graph.code, graph.status, graph.message]).toEqual([
      'invalid_request',
      400,
      'shapes [2,3] and [4,5]',
    ]);
    const explain = toCatalogError(new EngineError('invalid_attribute', 'x'), 'not_explainable');
    expect(isMaasError(explain) && explain.status).toBe(422);
    const bug = toCatalogError(new EngineError('duplicate', "op 'Add' is already registered"));
    expect(isMaasError(bug) && [bug.code, bug.status]).toEqual(['internal', 500]);
    const model = toCatalogError(new EngineError('invalid_model', 'not a valid ONNX protobuf'));
    expect(isMaasError(model) && model.code).toBe('invalid_model');
    const other = new RangeError('not ours');
    expect(toCatalogError(other)).toBe(other);
  });
});
