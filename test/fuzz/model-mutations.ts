/**
 * Hostile model files from valid ones, deterministically from a seed: byte mutations, truncations
 * and structural (protobuf-level) mutations of ONNX models. `caseOf(sources, seed, index)` always
 * gives the same bytes, so a failure names `seed` and `index` and reproduces alone.
 */
import {
  editEach,
  editGraph,
  encode as encodeFields,
  type Fields,
  messageField,
  ONNX,
  ofField,
  parse,
  stringField,
  text,
  varintField,
} from './proto-edit';

/** A small seeded PRNG (mulberry32): same seed, same stream on every platform. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];

type Mutation = (model: Uint8Array, r: Rand) => Uint8Array;

// ---- bytes ----

function flipBytes(model: Uint8Array, r: Rand): Uint8Array {
  const out = model.slice();
  const n = 1 + int(r, 8);
  for (let i = 0; i < n; i++) out[int(r, out.length)] ^= 1 + int(r, 255);
  return out;
}

function spliceBytes(model: Uint8Array, r: Rand): Uint8Array {
  const at = int(r, model.length);
  const junk = Uint8Array.from({ length: 1 + int(r, 32) }, () => pick(r, [0xff, 0x80, 0x00, int(r, 256)]));
  return Uint8Array.from([...model.subarray(0, at), ...junk, ...model.subarray(at)]);
}

function deleteBytes(model: Uint8Array, r: Rand): Uint8Array {
  const at = int(r, model.length);
  const n = 1 + int(r, 16);
  return Uint8Array.from([...model.subarray(0, at), ...model.subarray(at + n)]);
}

const truncate: Mutation = (model, r) => model.slice(0, int(r, model.length));

// ---- structure ----

const { graph: G, node: N, tensor: T } = ONNX;

/** An absurd dimension: beyond the element limit, negative, zero, or past int64. */
const absurd = (r: Rand): bigint => pick(r, [2n ** 40n, 2n ** 62n, -5n, 0n, 2n ** 31n, -(2n ** 63n)]);

/** Set the first dim of a value's tensor type (an input, output or value_info). */
const withDim = (value: Fields, d: bigint): Fields =>
  editValue(value, (shape) => [varintField(ONNX.dim.value, d), ...shape.slice(1)]);

function editValue(value: Fields, dims: (dims: Fields) => Fields): Fields {
  const shape = (tensorType: Fields): Fields => {
    const old = ofField(tensorType, ONNX.tensorType.shape)[0];
    const oldDims = old ? parse(old.bytes).filter((f) => f.field === ONNX.shape.dim) : [];
    const first = oldDims.length > 0 ? parse(oldDims[0].bytes) : [];
    const next = dims(first);
    return [
      ...tensorType.filter((f) => f.field !== ONNX.tensorType.shape),
      messageField(ONNX.tensorType.shape, [messageField(ONNX.shape.dim, next), ...oldDims.slice(1)]),
    ];
  };
  return value.map((f) =>
    f.field === ONNX.valueInfo.type
      ? messageField(
          f.field,
          parse(f.bytes).map((t) =>
            t.field === ONNX.type.tensor ? messageField(t.field, shape(parse(t.bytes))) : t,
          ),
        )
      : f,
  );
}

const absurdInputDim: Mutation = (m, r) =>
  editGraph(m, (g) => {
    const d = absurd(r);
    const which = pick(r, [G.input, G.output, G.valueInfo]);
    return g.map((f) => (f.field === which ? messageField(which, withDim(parse(f.bytes), d)) : f));
  });

const absurdInitializerDims: Mutation = (m, r) =>
  editGraph(m, (g) => {
    if (ofField(g, G.initializer).length === 0) g.push(messageField(G.initializer, floatTensor('w')));
    const d = absurd(r);
    return g.map((f) =>
      f.field === G.initializer
        ? messageField(G.initializer, [
            ...parse(f.bytes).filter((t) => t.field !== T.dims),
            varintField(T.dims, d),
            varintField(T.dims, 3),
          ])
        : f,
    );
  });

function floatTensor(name: string): Fields {
  return [
    varintField(T.dims, 1),
    varintField(T.dataType, 1),
    stringField(T.name, name),
    { ...messageField(T.rawData, []), bytes: new Uint8Array(4) },
  ];
}

/** Rename the `k`-th input (or output) of a node. */
const renameIo = (node: Fields, which: number, k: number, name: string): Fields => {
  let seen = 0;
  return node.map((f) => (f.field === which && seen++ === k ? stringField(which, name) : f));
};

const nodeOutputs = (g: Fields) =>
  ofField(g, G.node).flatMap((n) => ofField(parse(n.bytes), N.output).map(text));

/** The first node reads the last node's output: a cycle (a self-loop when there is one node). */
const cycle: Mutation = (m) =>
  editGraph(m, (g) => {
    const outs = nodeOutputs(g);
    if (outs.length === 0) return g;
    const last = outs[outs.length - 1];
    let first = true;
    return g.map((f) => {
      if (f.field !== G.node || !first) return f;
      first = false;
      return messageField(G.node, renameIo(parse(f.bytes), N.input, 0, last));
    });
  });

/** A node reads a name nothing defines, or a graph output names nothing. */
const dangling: Mutation = (m, r) =>
  editGraph(m, (g) => {
    const nodes = ofField(g, G.node).length;
    const target = int(r, nodes + 1);
    let index = 0;
    return g.map((f) => {
      if (f.field === G.node && index++ === target)
        return messageField(G.node, renameIo(parse(f.bytes), N.input, 0, `nowhere_${int(r, 1000)}`));
      if (f.field === G.output && target === nodes)
        return messageField(G.output, [
          stringField(ONNX.valueInfo.name, 'missing_output'),
          ...parse(f.bytes).slice(1),
        ]);
      return f;
    });
  });

/** Two nodes write the same name, or an initializer shadows another. */
const duplicateName: Mutation = (m) =>
  editGraph(m, (g) => {
    const outs = nodeOutputs(g);
    const inits = ofField(g, G.initializer);
    if (inits.length > 0) return [...g, inits[0]];
    return outs.length > 0
      ? g.map((f) =>
          f.field === G.node ? messageField(G.node, renameIo(parse(f.bytes), N.output, 0, outs[0])) : f,
        )
      : g;
  });

/** A huge attribute on the first node: a long list, a long string, or a tensor that lies about its size. */
const hugeAttribute: Mutation = (m, r) =>
  editGraph(m, (g) => {
    const A = ONNX.attribute;
    const kind = int(r, 4);
    const name = pick(r, ['axis', 'axes', 'value', 'perm', 'x'.repeat(1 + int(r, 4000))]);
    const attr: Fields =
      kind === 0
        ? [
            stringField(A.name, name),
            { ...messageField(A.ints, []), bytes: new Uint8Array(200_000).fill(1) },
            varintField(A.type, 7),
          ]
        : kind === 1
          ? [
              stringField(A.name, name),
              { ...messageField(A.s, []), bytes: new Uint8Array(1 << 20).fill(65) },
              varintField(A.type, 3),
            ]
          : kind === 2
            ? [
                stringField(A.name, name),
                messageField(A.t, [varintField(T.dims, absurd(r)), varintField(T.dataType, 1)]),
                varintField(A.type, 4),
              ]
            : [stringField(A.name, name), varintField(A.i, absurd(r)), varintField(A.type, 2)];
    let first = true;
    return g.map((f) => {
      if (f.field !== G.node || !first) return f;
      first = false;
      return messageField(G.node, [...parse(f.bytes), messageField(N.attribute, attr)]);
    });
  });

/** Initializer bytes moved to "external data": out of the folder, absolute, missing, or empty. */
const externalData: Mutation = (m, r) =>
  editGraph(m, (g) => {
    if (ofField(g, G.initializer).length === 0) g.push(messageField(G.initializer, floatTensor('w')));
    const location = pick(r, [
      '../../../etc/passwd',
      '/etc/passwd',
      'weights.bin',
      'C:\\w.bin',
      '',
      'a/../../b',
      '\0x',
    ]);
    const entry = (k: string, v: string) =>
      messageField(T.externalData, [
        stringField(ONNX.stringEntry.key, k),
        stringField(ONNX.stringEntry.value, v),
      ]);
    let first = true;
    return g.map((f) => {
      if (f.field !== G.initializer || !first) return f;
      first = false;
      const t = parse(f.bytes).filter((x) => x.field !== T.rawData);
      return messageField(G.initializer, [
        ...t,
        entry('location', location),
        entry('length', String(int(r, 1 << 30))),
        varintField(T.dataLocation, 1),
      ]);
    });
  });

/** Opset imports: absurd versions, unknown domains, none at all. */
const wrongOpset: Mutation = (m, r) => {
  const kind = int(r, 3);
  if (kind === 2) return encodeWithout(m, ONNX.model.opsetImport);
  const version = pick(r, [0n, 999n, 2n ** 40n, -1n, 6n]);
  return editEach(m, ONNX.model.opsetImport, (o) =>
    kind === 0
      ? [...o.filter((f) => f.field !== ONNX.opset.version), varintField(ONNX.opset.version, version)]
      : [
          stringField(ONNX.opset.domain, pick(r, ['com.evil', 'ai.onnx.preview.training', 'x'.repeat(300)])),
          ...o.filter((f) => f.field !== ONNX.opset.domain),
        ],
  );
};

const encodeWithout = (m: Uint8Array, field: number): Uint8Array =>
  encodeFields(parse(m).filter((f) => f.field !== field));

/** Node op types and domains nobody implements, or empty. */
const unknownOp: Mutation = (m, r) =>
  editGraph(m, (g) =>
    g.map((f) =>
      f.field === G.node
        ? messageField(G.node, [
            ...parse(f.bytes).filter((x) => x.field !== N.opType && x.field !== N.domain),
            stringField(N.opType, pick(r, ['NoSuchOp', '', 'Conv', 'Loop', 'If', 'Scan'])),
            ...(r() < 0.3
              ? [stringField(N.domain, pick(r, ['com.evil', 'ai.onnx.ml', 'com.microsoft']))]
              : []),
          ])
        : f,
    ),
  );

/** Element types that are unknown, undefined (0) or strings, on inputs and initializers. */
const wrongElemType: Mutation = (m, r) => {
  const dt = pick(r, [0n, 8n, 16n, 99n, 2n ** 33n]);
  return editGraph(m, (g) =>
    g.map((f) => {
      if (f.field === G.initializer)
        return messageField(f.field, [
          ...parse(f.bytes).filter((t) => t.field !== T.dataType),
          varintField(T.dataType, dt),
        ]);
      if (f.field !== G.input) return f;
      return messageField(
        f.field,
        parse(f.bytes).map((v) =>
          v.field === ONNX.valueInfo.type
            ? messageField(v.field, [
                messageField(ONNX.type.tensor, [varintField(ONNX.tensorType.elemType, dt)]),
              ])
            : v,
        ),
      );
    }),
  );
};

/** Subgraphs nested deep (If inside If inside ...): recursion in every reader. */
const deepSubgraph: Mutation = (m, r) => {
  const depth = pick(r, [64, 512, 4000]);
  let inner: Fields = [];
  for (let i = 0; i < depth; i++) {
    const node: Fields = [
      stringField(N.input, 'cond'),
      stringField(N.output, `y${i}`),
      stringField(N.opType, 'If'),
      messageField(N.attribute, [
        stringField(ONNX.attribute.name, 'then_branch'),
        messageField(ONNX.attribute.g, inner),
        varintField(ONNX.attribute.type, 5),
      ]),
    ];
    inner = [messageField(G.node, node), stringField(G.name, `g${i}`)];
  }
  return editGraph(m, (g) => [...g, ...ofField(inner, G.node)]);
};

/** No graph, no nodes, or an IR version that does not exist. */
const hollow: Mutation = (m, r) => {
  const kind = int(r, 3);
  if (kind === 0) return encodeFields(parse(m).filter((f) => f.field !== ONNX.model.graph));
  if (kind === 1) return editGraph(m, (g) => g.filter((f) => f.field !== G.node));
  return encodeFields([
    ...parse(m).filter((f) => f.field !== ONNX.model.irVersion),
    varintField(ONNX.model.irVersion, pick(r, [0n, 99n, -1n])),
  ]);
};

/** A field's wire type changed (a message sent as a varint, a varint as bytes). */
const wireConfusion: Mutation = (m, r) =>
  editGraph(m, (g) => {
    if (g.length === 0) return g;
    const at = int(r, g.length);
    return g.map((f, i) =>
      i !== at ? f : f.wire === 2 ? varintField(f.field, BigInt(f.bytes.length)) : messageField(f.field, []),
    );
  });

export const mutations: Readonly<Record<string, Mutation>> = {
  'flip-bytes': flipBytes,
  'splice-bytes': spliceBytes,
  'delete-bytes': deleteBytes,
  truncate,
  'absurd-dim': absurdInputDim,
  'absurd-initializer-dims': absurdInitializerDims,
  cycle,
  dangling,
  'duplicate-name': duplicateName,
  'huge-attribute': hugeAttribute,
  'external-data': externalData,
  'wrong-opset': wrongOpset,
  'unknown-op': unknownOp,
  'wrong-elem-type': wrongElemType,
  'deep-subgraph': deepSubgraph,
  hollow,
  'wire-confusion': wireConfusion,
};

export interface ModelSource {
  name: string;
  bytes: Uint8Array;
}

export interface FuzzCase {
  seed: number;
  index: number;
  source: string;
  mutation: string;
  bytes: Uint8Array;
}

/** The `index`-th case of the corpus of `seed`: same inputs, same bytes. */
export function caseOf(sources: readonly ModelSource[], seed: number, index: number): FuzzCase {
  const r = prng((seed * 0x9e3779b1) ^ (index + 1));
  const names = Object.keys(mutations);
  const source = sources[index % sources.length];
  const mutation = names[Math.floor(index / sources.length + int(r, names.length)) % names.length];
  let bytes = source.bytes;
  try {
    bytes = mutations[mutation](source.bytes, r);
  } catch {
    // A source the structural edit cannot parse (never for valid models): fall back to bytes.
    bytes = flipBytes(source.bytes, r);
  }
  return { seed, index, source: source.name, mutation, bytes };
}

export const describeCase = (c: FuzzCase): string =>
  `seed ${c.seed} case ${c.index} (${c.mutation} of ${c.source}, ${c.bytes.length} bytes)`;
