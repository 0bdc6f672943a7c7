/**
 * The op table the vision families build with: the engine's default registry plus `Sin`, which
 * CPPNs need for periodic patterns and the engine does not register yet. The row follows the
 * engine's own pattern (shape rule, ONNX emission, gradient rule); it belongs in
 * `src/engine/ops/elementwise.ts` with a gradcheck case once the engine owners take it.
 */
import { unary } from '../../engine/ops/elementwise';
import { defaultRegistry, type OpRegistry } from '../../engine/ops/index';

/** d sin(x) = cos(x) dx, written as sin(x + π/2) so that no second new op (Cos) is needed. */
const sinOp = unary('Sin', (c, x, _y, dy) => {
  const g = c.g;
  return g.op('Mul', [dy, g.op('Sin', [g.op('Add', [x, g.scalar(Math.PI / 2, x.dtype)])])]);
});

let shared: OpRegistry | null = null;

/** Default ops + Sin; one shared table (registries are immutable once built here). */
export function visionRegistry(): OpRegistry {
  shared ??= defaultRegistry().add(sinOp);
  return shared;
}
