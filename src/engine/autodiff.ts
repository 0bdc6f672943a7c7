/**
 * Reverse-mode autodiff over the graph IR. Walks the nodes the loss depends on, in reverse
 * topological order, calling each op's gradient rule. Gradients that reach a value along several
 * paths (fan-out) are summed; nodes whose inputs do not depend on any `wrt` value get no
 * gradient work at all.
 */
import { engineFail } from './errors';
import type { Graph } from './ir/graph';
import type { Node, Value } from './ir/types';
import { isFloat } from './ops/util';

/** Nodes that `roots` depend on, in topological order. */
export function ancestors(roots: readonly Value[]): Node[] {
  const seen = new Set<number>();
  const order: Node[] = [];
  // Iterative DFS: deep graphs (unrolled RNNs) would overflow the JS stack recursively.
  const stack: { node: Node; next: number }[] = [];
  const visit = (v: Value) => {
    const n = v.producer;
    if (n && !seen.has(n.id)) {
      seen.add(n.id);
      stack.push({ node: n, next: 0 });
    }
  };
  for (const r of roots) {
    visit(r);
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.next < top.node.inputs.length) visit(top.node.inputs[top.next++]);
      else order.push(stack.pop()!.node);
    }
  }
  return order;
}

function sameShape(a: Value, b: Value): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

/**
 * Gradients of scalar `loss` w.r.t. each of `wrt` (null where the loss does not depend on it).
 * `seed` is dLoss (default 1).
 */
export function gradients(g: Graph, loss: Value, wrt: readonly Value[], seed?: Value): (Value | null)[] {
  const nodes = ancestors([loss]);
  const wrtIds = new Set(wrt.map((v) => v.id));
  const needs = new Set<number>(wrtIds);
  for (const n of nodes) {
    if (n.inputs.some((v) => needs.has(v.id)))
      for (const o of n.outputs) if (isFloat(o.dtype)) needs.add(o.id);
  }
  const pending = new Map<number, Value[]>();
  const add = (v: Value, d: Value) => {
    if (!sameShape(v, d)) engineFail('internal', `gradient of [${v.shape}] came back as [${d.shape}]`);
    const list = pending.get(v.id);
    if (list) list.push(d);
    else pending.set(v.id, [d]);
  };
  const total = (v: Value): Value | null => {
    const list = pending.get(v.id);
    if (!list) return null;
    // Fan-out: sum the contributions once, when the value's own producer is reached.
    const sum = list.reduce((a, b) => g.op('Add', [a, b]));
    pending.set(v.id, [sum]);
    return sum;
  };
  add(loss, seed ?? g.scalar(1, loss.dtype));
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    const inNeeds = n.inputs.map((v) => needs.has(v.id));
    if (!inNeeds.some(Boolean)) continue;
    const dOutputs = n.outputs.map(total);
    if (dOutputs.every((d) => d === null)) continue;
    const spec = g.registry.get(n.op);
    if (!spec.grad) engineFail('no_gradient', `op '${n.op}' has no gradient but lies on a gradient path`);
    const dInputs = spec.grad({
      g,
      node: n,
      inputs: n.inputs,
      outputs: n.outputs,
      attrs: n.attrs,
      dOutputs,
      needs: inNeeds,
    });
    n.inputs.forEach((v, k) => {
      const d = dInputs[k];
      if (d && inNeeds[k]) add(v, d);
    });
  }
  return wrt.map(total);
}
