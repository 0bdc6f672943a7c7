/**
 * Tiny ONNX models written by hand with the wire codec, for tests. Field numbers follow
 * onnx.proto3 (ModelProto.graph = 7, GraphProto.node = 1, TensorProto.raw_data = 9, ...).
 */
import { ProtoWriter } from '../../src/engine/onnx/wire';

/** ONNX TensorProto.DataType codes. */
export const DT = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
} as const;
export type FixtureDType = keyof typeof DT;

type Dim = number | string;

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  domain?: string;
  /** Integer attributes. */
  ints?: Record<string, number>;
  /** Integer-list attributes (kernel_shape, pads, strides). */
  intLists?: Record<string, number[]>;
}

export interface TensorSpec {
  name: string;
  dtype: FixtureDType;
  dims: number[];
  raw: Uint8Array;
  /** Pretend the data lives in another file (for the refusal test). */
  externalLocation?: string;
}

export interface GraphSpec {
  inputs: { name: string; dtype: FixtureDType; shape: Dim[] }[];
  outputs: { name: string; dtype: FixtureDType; shape: Dim[] }[];
  nodes: NodeSpec[];
  initializers?: TensorSpec[];
  opset?: number;
  extraOpsets?: { domain: string; version: number }[];
}

function valueInfo(w: ProtoWriter, v: { name: string; dtype: FixtureDType; shape: Dim[] }): void {
  w.string(1, v.name);
  w.message(2, (t) =>
    t.message(1, (tt) => {
      tt.varint(1, DT[v.dtype]);
      tt.message(2, (s) => {
        for (const d of v.shape)
          s.message(1, (dim) => (typeof d === 'number' ? dim.varint(1, d) : dim.string(2, d)));
      });
    }),
  );
}

function tensor(w: ProtoWriter, t: TensorSpec): void {
  w.packedVarints(1, t.dims);
  w.varint(2, DT[t.dtype]);
  w.string(8, t.name);
  if (t.externalLocation) {
    w.message(13, (kv) => kv.string(1, 'location').string(2, t.externalLocation!));
    w.varint(14, 1);
  } else w.bytes(9, t.raw);
}

export function buildModel(g: GraphSpec): Uint8Array {
  const w = new ProtoWriter()
    .varint(1, 8)
    .string(2, 'maas-test-fixtures')
    .message(7, (graph) => {
      for (const n of g.nodes) graph.message(1, (node) => writeNode(node, n));
      graph.string(2, 'g');
      for (const t of g.initializers ?? []) graph.message(5, (w) => tensor(w, t));
      for (const v of g.inputs) graph.message(11, (w) => valueInfo(w, v));
      for (const v of g.outputs) graph.message(12, (w) => valueInfo(w, v));
    })
    .message(8, (o) => o.string(1, '').varint(2, g.opset ?? 17));
  for (const extra of g.extraOpsets ?? [])
    w.message(8, (o) => o.string(1, extra.domain).varint(2, extra.version));
  return w.finish();
}

function writeNode(node: ProtoWriter, n: NodeSpec): void {
  for (const i of n.inputs) node.string(1, i);
  for (const o of n.outputs) node.string(2, o);
  node.string(4, n.op);
  for (const [name, value] of Object.entries(n.ints ?? {})) {
    node.message(5, (a) => a.string(1, name).varint(3, value).varint(20, 2));
  }
  for (const [name, values] of Object.entries(n.intLists ?? {})) {
    node.message(5, (a) => a.string(1, name).packedVarints(8, values).varint(20, 7));
  }
  if (n.domain) node.string(7, n.domain);
}

export const f32 = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);

/** y = x·W + b with x [batch, inDim]; W, b filled with a fixed pattern so results are checkable. */
export function linearModel(inDim = 4, outDim = 3): { bytes: Uint8Array; W: number[]; b: number[] } {
  const W = Array.from({ length: inDim * outDim }, (_, i) => ((i % 7) - 3) / 4);
  const b = Array.from({ length: outDim }, (_, i) => i / 2);
  const bytes = buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', inDim] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', outDim] }],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'b'], outputs: ['y'] },
    ],
    initializers: [
      { name: 'W', dtype: 'float32', dims: [inDim, outDim], raw: f32(W) },
      { name: 'b', dtype: 'float32', dims: [outDim], raw: f32(b) },
    ],
  });
  return { bytes, W, b };
}

/** Reference for linearModel: row-major x [rows, inDim]. */
export function linearReference(
  x: number[],
  W: number[],
  b: number[],
  inDim: number,
  outDim: number,
): number[] {
  const rows = x.length / inDim;
  const y: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let s = b[o];
      for (let i = 0; i < inDim; i++) s += x[r * inDim + i] * W[i * outDim + o];
      y.push(s);
    }
  }
  return y;
}

/** Identity on a tensor of `dtype` with shape ['n'], plus a second output (for output selection). */
export function identityModel(dtype: FixtureDType): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype, shape: ['n'] }],
    outputs: [
      { name: 'y', dtype, shape: ['n'] },
      { name: 'shape', dtype: 'int64', shape: [1] },
    ],
    nodes: [
      { op: 'Identity', inputs: ['x'], outputs: ['y'] },
      { op: 'Shape', inputs: ['x'], outputs: ['shape'] },
    ],
  });
}

/** Two inputs, two outputs: sum = a + b, diff = a - b, all [batch, 2] float32. */
export function addSubModel(): Uint8Array {
  const v = (name: string) => ({ name, dtype: 'float32' as const, shape: ['batch', 2] });
  return buildModel({
    inputs: [v('a'), v('b')],
    outputs: [v('sum'), v('diff')],
    nodes: [
      { op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] },
      { op: 'Sub', inputs: ['a', 'b'], outputs: ['diff'] },
    ],
  });
}

/**
 * A deliberately slow model: `steps` chained MatMuls of x [batch, rows, 256] with a 256×256 matrix
 * (≈ 33 MFLOP per step per batch row at 256 rows, ≈ 0.3 ms on the project's 2-core machine).
 * Dynamic batch.
 */
export function slowModel(steps = 200, rows = 256): Uint8Array {
  const n = 256;
  const W = new Float32Array(n * n);
  for (let i = 0; i < n; i++) W[i * n + i] = 1; // identity: values stay finite
  const nodes: NodeSpec[] = [];
  for (let s = 0; s < steps; s++) {
    nodes.push({
      op: 'MatMul',
      inputs: [s === 0 ? 'x' : `h${s}`, 'W'],
      outputs: [s === steps - 1 ? 'y' : `h${s + 1}`],
    });
  }
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', rows, n] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', rows, n] }],
    nodes,
    initializers: [{ name: 'W', dtype: 'float32', dims: [n, n], raw: new Uint8Array(W.buffer) }],
  });
}

/** A node from a domain no runtime knows (would need a custom-op library). */
export function customDomainModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [1] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1] }],
    nodes: [{ op: 'Evil', inputs: ['x'], outputs: ['y'], domain: 'com.example.evil' }],
    extraOpsets: [{ domain: 'com.example.evil', version: 1 }],
  });
}

/** An initializer whose bytes "live" in ../../etc/passwd. */
export function externalDataModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [4] }],
    nodes: [{ op: 'Add', inputs: ['x', 'w'], outputs: ['y'] }],
    initializers: [
      { name: 'w', dtype: 'float32', dims: [4], raw: new Uint8Array(), externalLocation: '../../etc/passwd' },
    ],
  });
}

/** Declares a 10^6 × 10^6 float initializer (4 TB) with 16 bytes of data. */
export function absurdDimsModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [1] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1] }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
    initializers: [{ name: 'huge', dtype: 'float32', dims: [1_000_000, 1_000_000], raw: f32([1, 2, 3, 4]) }],
  });
}

/** Deterministic weights in [-scale, scale). */
function weights(n: number, seed: number, scale: number): number[] {
  let x = seed >>> 0;
  return Array.from({ length: n }, () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return (x / 2 ** 32 - 0.5) * 2 * scale;
  });
}

/** MLP 64 → 256 → 256 → 10 with ReLU, dynamic batch (x [batch, 64] → logits [batch, 10]). */
export function mlpModel(): Uint8Array {
  const dims = [64, 256, 256, 10];
  const nodes: NodeSpec[] = [];
  const initializers: TensorSpec[] = [];
  let h = 'x';
  for (let l = 0; l < 3; l++) {
    const [i, o] = [dims[l], dims[l + 1]];
    initializers.push({
      name: `W${l}`,
      dtype: 'float32',
      dims: [i, o],
      raw: f32(weights(i * o, l + 1, 1 / Math.sqrt(i))),
    });
    initializers.push({ name: `b${l}`, dtype: 'float32', dims: [o], raw: f32(weights(o, l + 11, 0.1)) });
    const out = l === 2 ? 'logits' : `h${l}`;
    nodes.push({ op: 'MatMul', inputs: [h, `W${l}`], outputs: [`mm${l}`] });
    nodes.push({ op: 'Add', inputs: [`mm${l}`, `b${l}`], outputs: [l === 2 ? out : `pre${l}`] });
    if (l < 2) nodes.push({ op: 'Relu', inputs: [`pre${l}`], outputs: [out] });
    h = out;
  }
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 64] }],
    outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }],
    nodes,
    initializers,
  });
}

/**
 * Small CNN for 28×28 grey images: conv3×3(32) → ReLU → maxpool2 → conv3×3(64) → ReLU → maxpool2
 * → flatten → [dense `hidden` → ReLU] → dense 10 (≈ 7.7 MFLOP per image without the hidden layer;
 * a VGG-style dense head of 2048 adds 6.4 M weights, whose reuse is what batching buys). Dynamic batch (x [batch, 1, 28, 28] → logits [batch, 10]).
 */
export function cnnModel(hidden = 0): Uint8Array {
  const conv = (name: string, cin: number, cout: number, seed: number): TensorSpec[] => [
    {
      name: `${name}W`,
      dtype: 'float32',
      dims: [cout, cin, 3, 3],
      raw: f32(weights(cout * cin * 9, seed, 1 / Math.sqrt(cin * 9))),
    },
    { name: `${name}b`, dtype: 'float32', dims: [cout], raw: f32(weights(cout, seed + 1, 0.05)) },
  ];
  const k3 = { kernel_shape: [3, 3], pads: [1, 1, 1, 1] };
  const pool = { kernel_shape: [2, 2], strides: [2, 2] };
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 1, 28, 28] }],
    outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }],
    nodes: [
      { op: 'Conv', inputs: ['x', 'c1W', 'c1b'], outputs: ['c1'], intLists: k3 },
      { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      { op: 'MaxPool', inputs: ['r1'], outputs: ['p1'], intLists: pool },
      { op: 'Conv', inputs: ['p1', 'c2W', 'c2b'], outputs: ['c2'], intLists: k3 },
      { op: 'Relu', inputs: ['c2'], outputs: ['r2'] },
      { op: 'MaxPool', inputs: ['r2'], outputs: ['p2'], intLists: pool },
      { op: 'Flatten', inputs: ['p2'], outputs: ['flat'], ints: { axis: 1 } },
      ...(hidden > 0
        ? [
            { op: 'MatMul', inputs: ['flat', 'hW'], outputs: ['hmm'] },
            { op: 'Add', inputs: ['hmm', 'hb'], outputs: ['hpre'] },
            { op: 'Relu', inputs: ['hpre'], outputs: ['hid'] },
          ]
        : []),
      { op: 'MatMul', inputs: [hidden > 0 ? 'hid' : 'flat', 'dW'], outputs: ['dense'] },
      { op: 'Add', inputs: ['dense', 'db'], outputs: ['logits'] },
    ],
    initializers: [
      ...conv('c1', 1, 32, 21),
      ...conv('c2', 32, 64, 31),
      ...(hidden > 0
        ? [
            {
              name: 'hW',
              dtype: 'float32' as const,
              dims: [64 * 49, hidden],
              raw: f32(weights(64 * 49 * hidden, 51, 0.02)),
            },
            { name: 'hb', dtype: 'float32' as const, dims: [hidden], raw: f32(weights(hidden, 52, 0.05)) },
          ]
        : []),
      {
        name: 'dW',
        dtype: 'float32',
        dims: [hidden || 64 * 7 * 7, 10],
        raw: f32(weights((hidden || 64 * 49) * 10, 41, 0.03)),
      },
      { name: 'db', dtype: 'float32', dims: [10], raw: f32(weights(10, 42, 0.05)) },
    ],
  });
}
