/**
 * New values for some initializers of an ONNX file, everything else copied byte for byte: how a
 * LoRA merge writes its result (the graph, its symbolic dims and metadata stay the base's own).
 *
 *   const merged = replaceInitializers(bytes, new Map([['model.layers.0.self_attn.q_proj.weight', w]]));
 */
import { engineFail } from '../errors';
import type { Tensor } from '../runtime/tensor';
import { writeTensor } from './encode';
import { ProtoWriter, readFields, WireType } from './wire';

const text = new TextDecoder();

function tensorName(bytes: Uint8Array): string {
  for (const f of readFields(bytes))
    if (f.field === 8 && f.wire === WireType.bytes) return text.decode(f.bytes);
  return '';
}

/** ModelProto.graph = 7, GraphProto.initializer = 5; a value must keep its initializer's dims. */
export function replaceInitializers(bytes: Uint8Array, values: ReadonlyMap<string, Tensor>): Uint8Array {
  const replaced = new Set<string>();
  const out = new ProtoWriter();
  for (const f of readFields(bytes)) {
    if (f.field !== 7 || f.wire !== WireType.bytes) {
      out.field(f);
      continue;
    }
    out.message(7, (graph) => {
      for (const g of readFields(f.bytes)) {
        const name = g.field === 5 && g.wire === WireType.bytes ? tensorName(g.bytes) : null;
        const t = name === null ? undefined : values.get(name);
        if (name !== null && t) {
          graph.message(5, (w) => writeTensor(w, t, name));
          replaced.add(name);
        } else graph.field(g);
      }
    });
  }
  const missing = [...values.keys()].filter((n) => !replaced.has(n));
  if (missing.length) engineFail('invalid_model', `no initializers named ${missing.slice(0, 5).join(', ')}`);
  return out.finish();
}
