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

/** Reads an external data file by the `location` a tensor records (relative to the graph's folder). */
type ExternalDataReader = (location: string) => Uint8Array;

/** TensorProto external_data = 13 (StringStringEntryProto key = 1, value = 2), data_location = 14. */
function externalEntries(tensor: Uint8Array): Map<string, string> | null {
  const entries = new Map<string, string>();
  let external = false;
  for (const f of readFields(tensor)) {
    if (f.field === 14 && f.wire === WireType.varint && f.varint === 1n) external = true;
    else if (f.field === 13 && f.wire === WireType.bytes) {
      let key = '';
      let value = '';
      for (const kv of readFields(f.bytes)) {
        if (kv.field === 1) key = text.decode(kv.bytes);
        else if (kv.field === 2) value = text.decode(kv.bytes);
      }
      entries.set(key, value);
    }
  }
  return external ? entries : null;
}

function inlinedTensor(
  tensor: Uint8Array,
  read: ExternalDataReader,
  files: Map<string, Uint8Array>,
): Uint8Array {
  const entries = externalEntries(tensor);
  if (!entries) return tensor;
  const location = entries.get('location') ?? '';
  const name = tensorName(tensor);
  if (!files.has(location)) files.set(location, read(location));
  const data = files.get(location)!;
  const offset = Number(entries.get('offset') ?? 0);
  const length = entries.has('length') ? Number(entries.get('length')) : data.length - offset;
  if (!(offset >= 0 && length >= 0 && offset + length <= data.length))
    engineFail('invalid_model', `external data of '${name}' lies past the end of ${location}`);
  const out = new ProtoWriter();
  for (const f of readFields(tensor)) if (f.field !== 13 && f.field !== 14) out.field(f);
  out.bytes(9, data.subarray(offset, offset + length));
  return out.finish();
}

/**
 * The model with every external initializer's bytes read into its `raw_data` (a graph whose weights
 * live in `model.onnx_data`, as large exports keep them): what the importer and `readInitializers`
 * read. The result is one protobuf, so it must stay under protobuf's 2 GB.
 */
export function inlineExternalData(bytes: Uint8Array, read: ExternalDataReader): Uint8Array {
  const files = new Map<string, Uint8Array>();
  const out = new ProtoWriter();
  for (const f of readFields(bytes)) {
    if (f.field !== 7 || f.wire !== WireType.bytes) {
      out.field(f);
      continue;
    }
    out.message(7, (graph) => {
      for (const g of readFields(f.bytes)) {
        if (g.field === 5 && g.wire === WireType.bytes) graph.bytes(5, inlinedTensor(g.bytes, read, files));
        else graph.field(g);
      }
    });
  }
  return out.finish();
}
