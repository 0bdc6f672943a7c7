/**
 * A trained LoRA adapter in the layout PEFT (Hugging Face) saves and loads, so it can be applied to
 * the base elsewhere (`PeftModel.from_pretrained(base, dir)`) or kept apart from the merged model:
 *
 *   adapter_config.json          peft_type LORA, r, lora_alpha, target_modules, base_model_name_or_path
 *   adapter_model.safetensors    base_model.model.<module>.lora_A.weight [r, in]
 *                                base_model.model.<module>.lora_B.weight [out, r]
 *
 * PEFT stores torch `Linear` layouts (weight [out, in], y = x·Wᵀ); maas's graphs hold the MatMul
 * weight W [in, out] and train A [in, r], B [r, out], so PEFT's A is Aᵀ and its B is Bᵀ:
 * W + (alpha/r)·A·B is exactly PEFT's W_torch + (alpha/r)·B_peft·A_peft, transposed.
 *
 * safetensors: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
 * shape and byte range, then the raw little-endian data (https://github.com/huggingface/safetensors).
 */
import type { Parameter } from '../../../engine/index';
import type { LoraTarget } from './spec';

/** Where a LoRA-tuned folder version keeps its adapter. */
export const ADAPTER_DIR = 'adapter';
export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** The safetensors bytes of float32 tensors, in the order given. */
export function encodeSafetensors(
  tensors: readonly NamedArray[],
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // The data starts 8-aligned (the format allows padding the header with spaces).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let at = 8 + head.length;
  for (const t of tensors) {
    // Little-endian float32 whatever the host: written value by value.
    for (let i = 0; i < t.data.length; i++) out.writeFloatLE(t.data[i], at + 4 * i);
    at += t.data.byteLength;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** [rows, cols] row-major → its transpose [cols, rows]. */
function transposed(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

export interface AdapterFiles {
  config: Record<string, unknown>;
  weights: Uint8Array;
}

/** GPT-2's attention is a `Conv1D` (weight [in, out]): PEFT marks such targets fan_in_fan_out. */
const CONV1D = /(^|\.)c_(attn|proj)$/;

/**
 * The adapter of a run: `params` are the run's [A, B] pairs in `plan` order (as `loraSpec` makes
 * them), `base` names the base model as the caller knows it.
 */
export function peftAdapter(
  plan: readonly LoraTarget[],
  params: readonly Parameter[],
  o: { rank: number; alpha: number; base: string },
): AdapterFiles {
  const tensors: NamedArray[] = [];
  plan.forEach((t, i) => {
    const [inF, outF] = t.dims;
    const a = params[2 * i].value.data as Float32Array;
    const b = params[2 * i + 1].value.data as Float32Array;
    const key = `base_model.model.${t.module}`;
    tensors.push({ name: `${key}.lora_A.weight`, shape: [o.rank, inF], data: transposed(a, inF, o.rank) });
    tensors.push({ name: `${key}.lora_B.weight`, shape: [outF, o.rank], data: transposed(b, o.rank, outF) });
  });
  const modules = [...new Set(plan.map((t) => t.module.split('.').at(-1) ?? t.module))].sort();
  return {
    config: {
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      base_model_name_or_path: o.base,
      r: o.rank,
      lora_alpha: o.alpha,
      lora_dropout: 0,
      bias: 'none',
      target_modules: modules,
      fan_in_fan_out: plan.some((t) => CONV1D.test(t.module)),
      inference_mode: true,
    },
    weights: encodeSafetensors(tensors, { format: 'pt' }),
  };
}
