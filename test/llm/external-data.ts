/**
 * Move a graph's initializer bytes into an external data file, as exporters do for large models
 * (`model.onnx` + `model.onnx_data`): each `raw_data` becomes `external_data` entries (location,
 * offset, length) with `data_location = EXTERNAL` for tensors of 1 KiB or more. `location` is written as given, so a test can
 * also point it outside the folder.
 */
import { ProtoWriter, readFields, WireType } from '../../src/engine/onnx/wire';

function copyField(w: ProtoWriter, f: { field: number; wire: number; varint: bigint; bytes: Uint8Array }) {
  if (f.wire === WireType.varint) w.varint(f.field, f.varint);
  else if (f.wire === WireType.bytes) w.bytes(f.field, f.bytes);
  else throw new Error(`fixed-width field ${f.field} is not copied by this helper`);
}

export function externalizeWeights(
  onnx: Uint8Array,
  location: string,
): { graph: Uint8Array; data: Uint8Array } {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const tensor = (buf: Uint8Array) => (t: ProtoWriter) => {
    let raw: Uint8Array | null = null;
    for (const f of readFields(buf)) {
      if (f.field === 9) raw = f.bytes;
      else copyField(t, f);
    }
    // As onnx's save (size_threshold 1024 bytes): small tensors (shapes, axes) stay inline,
    // where shape inference needs them.
    if (raw === null || raw.length < 1024) {
      if (raw !== null) t.bytes(9, raw);
      return;
    }
    t.message(13, (kv) => kv.string(1, 'location').string(2, location));
    t.message(13, (kv) => kv.string(1, 'offset').string(2, String(offset)));
    t.message(13, (kv) => kv.string(1, 'length').string(2, String(raw!.length)));
    t.varint(14, 1);
    chunks.push(raw.slice());
    offset += raw.length;
  };
  const w = new ProtoWriter();
  for (const f of readFields(onnx)) {
    if (f.field !== 7) {
      copyField(w, f);
      continue;
    }
    w.message(7, (g) => {
      for (const gf of readFields(f.bytes)) {
        if (gf.field === 5) g.message(5, tensor(gf.bytes));
        else copyField(g, gf);
      }
    });
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  return { graph: w.finish(), data };
}
