/**
 * Reading a LoRA adapter back as PEFT would: the .tar.gz of GET …/versions/{v}/adapter unpacked,
 * the safetensors file parsed (8-byte header length, JSON header, raw little-endian float32), and
 * the adapter applied to a base graph by hand: W[in, out] += (alpha/r) · (B·A)ᵀ with PEFT's
 * A [r, in] and B [out, r]. Then the decoder's logits for a prompt, to compare graphs.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tarEntries } from '../../src/data/formats/archive';
import { dataLimits } from '../../src/data/limits';
import { readInitializers, replaceInitializers } from '../../src/engine/index';
import { EngineSession } from '../../src/engine/runtime/session';
import { type Tensor, tensorFrom } from '../../src/engine/runtime/tensor';
import { chatBatch } from '../../src/models/language/lora/data';

export interface SafeTensor {
  shape: number[];
  data: Float32Array;
}

export function readSafetensors(bytes: Uint8Array): Map<string, SafeTensor> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + n)) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const out = new Map<string, SafeTensor>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (t.dtype !== 'F32') throw new Error(`${name}: ${t.dtype}`);
    const [begin, end] = t.data_offsets;
    const data = new Float32Array((end - begin) / 4);
    for (let i = 0; i < data.length; i++) data[i] = buf.readFloatLE(8 + n + begin + 4 * i);
    out.set(name, { shape: t.shape, data });
  }
  return out;
}

/** The archive's files by name. */
export async function unpack(archive: Uint8Array, dir: string): Promise<Map<string, Uint8Array>> {
  const path = join(dir, `adapter-${Math.random().toString(36).slice(2)}.tar.gz`);
  await writeFile(path, archive);
  const files = new Map<string, Uint8Array>();
  for await (const e of tarEntries(path, dataLimits())) files.set(e.name, e.data);
  return files;
}

/** `base` with the PEFT adapter added to each adapted weight (`<module>.weight` in the graph). */
export function applyAdapter(
  base: Uint8Array,
  config: { r: number; lora_alpha: number },
  tensors: Map<string, SafeTensor>,
): Uint8Array {
  const scale = config.lora_alpha / config.r;
  const modules = [...tensors.keys()]
    .filter((k) => k.endsWith('.lora_A.weight'))
    .map((k) => k.slice('base_model.model.'.length, -'.lora_A.weight'.length));
  const stored = readInitializers(base, new Set(modules.map((m) => `${m}.weight`)));
  const values = new Map<string, Tensor>();
  for (const m of modules) {
    const a = tensors.get(`base_model.model.${m}.lora_A.weight`)!;
    const b = tensors.get(`base_model.model.${m}.lora_B.weight`)!;
    const w = stored.get(`${m}.weight`);
    if (!w) throw new Error(`the base has no ${m}.weight`);
    const [inF, outF] = w.dims;
    const r = a.shape[0];
    const next = Float32Array.from(w.values as number[]);
    for (let i = 0; i < inF; i++)
      for (let o = 0; o < outF; o++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += b.data[o * r + k] * a.data[k * inF + i];
        next[i * outF + o] += scale * s;
      }
    values.set(`${m}.weight`, tensorFrom('float32', [inF, outF], next));
  }
  return replaceInitializers(base, values);
}

/** The decoder's logits for `ids` (no cache), flattened. */
export async function logitsOf(graph: Uint8Array, ids: number[]): Promise<Float32Array> {
  const session = await EngineSession.create(graph);
  try {
    const inputs = session.inputs.map((i) => ({ name: i.name, shape: i.shape as (number | string)[] }));
    const feeds = chatBatch([{ ids, labels: ids }], ids.length, 0, inputs);
    delete feeds.labels;
    const out = await session.run(feeds, ['logits']);
    return out.logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

export const maxAbsDiff = (a: Float32Array, b: Float32Array): number =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
