/**
 * A serving-time rewrite of an ONNX model's protobuf: projections that read the same input, each
 * a MatMul by a constant [K, N_i] weight, become ONE MatMul by the weights side by side
 * ([K, ΣN_i]) and a Split of its last axis into the original outputs:
 *
 *   q = h·Wq, k = h·Wk, v = h·Wv        →  [q, k, v] = Split(h·[Wq Wk Wv])
 *   gate = m·Wg, up = m·Wu  (SwiGLU)    →  [gate, up] = Split(m·[Wg Wu])
 *
 * Why: in single-stream decode every MatMul is a matrix-vector product, and each one is a
 * parallel section of the intra-op threads (maas runs them without spinning). A Llama layer's 7
 * projections become 4 (a 12-layer model: 85 MatMuls → 49). Measured with bench/llm/fuse-ab.ts on
 * the 110 M bench model (load 17–20): CPU per single-stream decode step −7 % and −8 % in two runs;
 * 8 rows stepped together: within the runs' noise (−5 %, +3 %). ONNX Runtime has no such fusion for
 * plain MatMuls (its attention fusions match only specific exporter patterns; after its `all`
 * optimisations bench/llm/ort-profile.ts still shows every projection as its own MatMul). Each
 * column's dot product is computed as before, so the outputs are the same numbers.
 *
 * Only float32 MatMuls: grouping the int8 projections of `maas models quantize`
 * (DynamicQuantizeMatMul) the same way measured no gain (6.68 vs 6.70 ms CPU per step, load 20),
 * so they are left as they are. Everything else is copied byte for byte; a weight nothing reads
 * any more is dropped. Models that keep tensors in external data files are left as they are (the
 * caller serves them unchanged): inlining them could pass protobuf's 2 GB.
 */

import {
  freshName,
  type NodeInfo,
  namesRead,
  payload,
  readNode,
  readTensor,
  type TensorInfo,
} from './quantize/rewrite';
import { type ProtoField, ProtoWriter, readFields } from './wire';

const FLOAT = 1;
/** Split takes its sizes as an input from opset 13 on (an attribute before). */
const SPLIT_SIZES_AS_INPUT = 13;

export interface FuseReport {
  /** Fused groups, e.g. 24 for a 12-layer Llama (q/k/v and gate/up per layer). */
  groups: number;
  /** MatMul nodes replaced by those groups. */
  nodes: number;
}

interface Member {
  node: NodeInfo;
  weight: TensorInfo;
}

const text = new TextDecoder();
const str = (f: ProtoField) => text.decode(f.bytes);
const isDefaultDomain = (d: string) => d === '' || d === 'ai.onnx';

/** The member `node` would be, or null when it is not a projection this rewrite fuses. */
function memberOf(
  node: NodeInfo,
  tensors: ReadonlyMap<string, TensorInfo>,
  graphInputs: ReadonlySet<string>,
): Member | null {
  if (node.opType !== 'MatMul' || !isDefaultDomain(node.domain) || node.inputs.length !== 2) return null;
  const w = tensors.get(node.inputs[1]);
  if (!w || graphInputs.has(w.name) || w.dims.length !== 2 || w.external || w.dataType !== FLOAT) return null;
  return { node, weight: w };
}

/** Weights [K, N_i] side by side: [K, ΣN_i]. */
function concatColumns(parts: readonly Uint8Array[], k: number, widths: readonly number[], size: number) {
  const total = widths.reduce((a, b) => a + b, 0);
  const out = new Uint8Array(k * total * size);
  let offset = 0;
  parts.forEach((bytes, i) => {
    const row = widths[i] * size;
    for (let r = 0; r < k; r++) out.set(bytes.subarray(r * row, (r + 1) * row), (r * total + offset) * size);
    offset += widths[i];
  });
  return out;
}

function writeTensor(g: ProtoWriter, name: string, dataType: number, dims: number[], bytes: Uint8Array) {
  g.message(5, (w) => {
    w.packedVarints(1, dims);
    w.varint(2, dataType);
    w.string(8, name);
    w.bytes(9, bytes);
  });
}

function writeNode(
  g: ProtoWriter,
  n: { op: string; name: string; inputs: string[]; outputs: string[] },
  attrs: (w: ProtoWriter) => void = () => {},
) {
  g.message(1, (w) => {
    for (const i of n.inputs) w.string(1, i);
    for (const o of n.outputs) w.string(2, o);
    w.string(3, n.name);
    w.string(4, n.op);
    attrs(w);
  });
}

interface GraphParts {
  fields: ProtoField[];
  nodes: NodeInfo[];
  tensors: Map<string, TensorInfo>;
  graphInputs: Set<string>;
  outputs: string[];
}

function readGraph(graph: Uint8Array): GraphParts {
  const fields = [...readFields(graph)];
  const nodes = fields.filter((f) => f.field === 1).map((f) => readNode(f.bytes));
  const tensors = new Map(
    fields
      .filter((f) => f.field === 5)
      .map((f) => readTensor(f.bytes))
      .map((t) => [t.name, t]),
  );
  const names = (field: number) =>
    fields
      .filter((f) => f.field === field)
      .map((f) => [...readFields(f.bytes)].find((v) => v.field === 1))
      .map((v) => (v ? str(v) : ''));
  return { fields, nodes, tensors, graphInputs: new Set(names(11)), outputs: names(12) };
}

/** Groups of ≥ 2 projections reading the same input with the same K, in node order. */
function findGroups(p: GraphParts): Member[][] {
  const byInput = new Map<string, Member[]>();
  for (const node of p.nodes) {
    const m = memberOf(node, p.tensors, p.graphInputs);
    if (!m) continue;
    const key = `${m.weight.dims[0]}\u0000${node.inputs[0]}`;
    const list = byInput.get(key) ?? [];
    list.push(m);
    byInput.set(key, list);
  }
  return [...byInput.values()].filter((g) => g.length >= 2);
}

/** Emit the fused MatMul and its Split in place of the group's first node. */
function emitGroup(g: ProtoWriter, group: readonly Member[], taken: Set<string>, splitAsInput: boolean) {
  const first = group[0];
  const k = first.weight.dims[0];
  const widths = group.map((m) => m.weight.dims[1]);
  const n = widths.reduce((a, b) => a + b, 0);
  const base = first.node.name || first.node.outputs[0];
  const weight = freshName(`${base}_fused_weight`, taken);
  const product = freshName(`${base}_fused`, taken);
  const parts = group.map((m) => payload(m.weight, undefined));
  writeTensor(g, weight, FLOAT, [k, n], concatColumns(parts, k, widths, 4));
  writeNode(g, {
    op: 'MatMul',
    name: freshName(`${base}_fused_matmul`, taken),
    inputs: [first.node.inputs[0], weight],
    outputs: [product],
  });
  const splitInputs = [product];
  if (splitAsInput) {
    const sizes = freshName(`${base}_fused_sizes`, taken);
    const bytes = new Uint8Array(new BigInt64Array(widths.map(BigInt)).buffer);
    writeTensor(g, sizes, 7, [widths.length], bytes);
    splitInputs.push(sizes);
  }
  writeNode(
    g,
    {
      op: 'Split',
      name: freshName(`${base}_fused_split`, taken),
      inputs: splitInputs,
      outputs: group.map((m) => m.node.outputs[0]),
    },
    (w) => {
      w.message(5, (a) => a.string(1, 'axis').varint(20, 2).varint(3, -1));
      if (!splitAsInput) w.message(5, (a) => a.string(1, 'split').varint(20, 7).packedVarints(8, widths));
    },
  );
}

function rewriteGraph(graph: Uint8Array, opset: number): { graph: ProtoWriter; report: FuseReport } | null {
  const p = readGraph(graph);
  if ([...p.tensors.values()].some((t) => t.external)) return null;
  const groups = findGroups(p);
  if (groups.length === 0) return null;
  const firstOf = new Map<NodeInfo, Member[]>();
  const fused = new Set<NodeInfo>();
  for (const group of groups) {
    firstOf.set(group[0].node, group);
    for (const m of group) fused.add(m.node);
  }
  const stillRead = new Set<string>(p.outputs);
  for (const node of p.nodes) {
    if (fused.has(node)) stillRead.add(node.inputs[0]);
    else for (const i of node.inputs) stillRead.add(i);
  }
  for (const f of p.fields.filter((x) => x.field === 1))
    for (const nf of readFields(f.bytes))
      if (nf.field === 5)
        for (const a of readFields(nf.bytes))
          if (a.field === 6 || a.field === 11) namesRead(a.bytes, stillRead);
  const dropped = new Set(
    groups.flatMap((g) => g.map((m) => m.weight.name)).filter((x) => !stillRead.has(x)),
  );
  const taken = new Set<string>([
    ...p.tensors.keys(),
    ...p.nodes.flatMap((n) => n.outputs),
    ...p.graphInputs,
  ]);
  const out = new ProtoWriter();
  let nodeIndex = 0;
  for (const f of p.fields) {
    if (f.field === 1) {
      const node = p.nodes[nodeIndex++];
      const group = firstOf.get(node);
      if (group) emitGroup(out, group, taken, opset >= SPLIT_SIZES_AS_INPUT);
      else if (!fused.has(node)) out.field(f);
    } else if (f.field === 5) {
      if (!dropped.has(readTensor(f.bytes).name)) out.field(f);
    } else out.field(f);
  }
  const nodes = groups.reduce((s, g) => s + g.length, 0);
  return { graph: out, report: { groups: groups.length, nodes } };
}

/** The default domain's opset version the model imports (0 when none is listed). */
function defaultOpset(model: Uint8Array): number {
  for (const f of readFields(model)) {
    if (f.field !== 8) continue;
    let domain = '';
    let version = 0;
    for (const x of readFields(f.bytes)) {
      if (x.field === 1) domain = str(x);
      else if (x.field === 2) version = Number(x.varint);
    }
    if (isDefaultDomain(domain)) return version;
  }
  return 0;
}

/**
 * `model` (ModelProto bytes) with its shared-input projections fused, or null when there is
 * nothing to fuse (or the model keeps external data): serve the original then.
 */
export function fuseProjections(model: Uint8Array): { model: Uint8Array; report: FuseReport } | null {
  const opset = defaultOpset(model);
  const out = new ProtoWriter();
  let result: ReturnType<typeof rewriteGraph> = null;
  for (const f of readFields(model)) {
    if (f.field === 7) {
      result = rewriteGraph(f.bytes, opset);
      if (!result) return null;
      out.embed(7, result.graph);
    } else out.field(f);
  }
  return result ? { model: out.finish(), report: result.report } : null;
}
