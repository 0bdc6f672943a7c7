/**
 * Hand-written ONNX models for importer tests: any op type, opset, domain, Constant nodes and
 * shape arithmetic, the way PyTorch's exporter writes them (which maas's own writer never does).
 */
import { onnxDataType } from '../../src/engine/onnx/dtypes';
import { ProtoWriter } from '../../src/engine/onnx/wire';
import type { Tensor, TensorDType } from '../../src/engine/runtime/tensor';

export type Attr =
  | { i: number }
  | { f: number }
  | { ints: number[] }
  | { s: string }
  | { strings: string[] }
  | { t: Tensor };

export interface NodeDef {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, Attr>;
  domain?: string;
}

export interface ValueDef {
  name: string;
  dtype: TensorDType;
  shape: (number | string)[];
}

export interface ModelDef {
  opset: number;
  nodes: NodeDef[];
  initializers?: Record<string, Tensor>;
  inputs: ValueDef[];
  outputs: ValueDef[];
}

function tensor(w: ProtoWriter, t: Tensor, name: string): void {
  w.packedVarints(1, t.dims);
  w.varint(2, onnxDataType[t.dtype]);
  w.string(8, name);
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function attr(w: ProtoWriter, name: string, a: Attr): void {
  w.string(1, name);
  if ('i' in a) w.varint(3, a.i).varint(20, 2);
  else if ('f' in a) w.float32(2, a.f).varint(20, 1);
  else if ('ints' in a) w.packedVarints(8, a.ints).varint(20, 7);
  else if ('s' in a) w.string(4, a.s).varint(20, 3);
  else if ('strings' in a) {
    for (const v of a.strings) w.string(9, v);
    w.varint(20, 8);
  } else w.message(5, (t) => tensor(t, a.t, '')).varint(20, 4);
}

function valueInfo(w: ProtoWriter, v: ValueDef): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.varint(1, onnxDataType[v.dtype]);
      tt.message(2, (s) => {
        for (const d of v.shape)
          s.message(1, (dim) => (typeof d === 'number' ? dim.varint(1, d) : dim.string(2, d)));
      });
    }),
  );
}

export function onnxModel(def: ModelDef): Uint8Array {
  const graph = new ProtoWriter();
  for (const [k, n] of def.nodes.entries())
    graph.message(1, (w) => {
      for (const i of n.inputs) w.string(1, i);
      for (const o of n.outputs) w.string(2, o);
      w.string(3, `node${k}`);
      w.string(4, n.op);
      for (const [name, a] of Object.entries(n.attrs ?? {})) w.message(5, (aw) => attr(aw, name, a));
      if (n.domain) w.string(7, n.domain);
    });
  graph.string(2, 'hand-written');
  for (const [name, t] of Object.entries(def.initializers ?? {})) graph.message(5, (w) => tensor(w, t, name));
  for (const v of def.inputs) graph.message(11, (w) => valueInfo(w, v));
  for (const v of def.outputs) graph.message(12, (w) => valueInfo(w, v));
  const domains = new Set(def.nodes.map((n) => n.domain ?? ''));
  const model = new ProtoWriter().varint(1, 8).string(2, 'test').bytes(7, graph.finish());
  for (const d of domains) model.message(8, (w) => w.string(1, d).varint(2, d === '' ? def.opset : 1));
  return model.finish();
}
