/**
 * LoRA on an imported decoder graph (a Hugging Face ONNX layout folder's `model.onnx`): every
 * attention projection weight W [in, out] (a MatMul's) is replaced in the train step by
 * W + (alpha/rank)·A·B, with A [in, rank] small random and B [rank, out] zero, so training starts
 * at the base model exactly. Everything else stays frozen (imported as constants). After training
 * `mergeLora` writes the base graph back with W + (alpha/rank)·A·B baked in: an ordinary model file
 * of the same signature, served as any upload.
 *
 *   const plan = loraTargets(bytes);                         // q/k/v/o projections by name
 *   const spec = loraSpec(bytes, plan, { rank: 8, alpha: 16, batch: 4, length: 48, ... });
 *   const merged = mergeLora(bytes, plan, spec.params, 16 / 8);
 */
import { fail } from '../../../common/errors';
import {
  importedLayers,
  importOnnx,
  type ModelSpec,
  type Parameter,
  readInitializers,
  replaceInitializers,
  type Value,
  type Values,
} from '../../../engine/index';
import { type Tensor, tensorFrom } from '../../../engine/runtime/tensor';
import * as nn from '../../../nn/index';

/** Names of attention projections in Llama/Qwen/Mistral (q/k/v/o_proj), GPT-2 (attn c_attn/c_proj) and maas's gpt. */
const ATTENTION =
  /(q_proj|k_proj|v_proj|o_proj|attn[./_]c_attn|attn[./_]c_proj|attn[./_](query|key|value|proj|qkv))/;

export interface LoraTarget {
  /** The weight's initializer name. */
  name: string;
  /** [in, out] of the MatMul. */
  dims: [number, number];
  /** The module path PEFT names the adapter after (`model.layers.0.self_attn.q_proj`). */
  module: string;
}

/**
 * The torch module a MatMul weight belongs to: the weight's name less `.weight`, or, for exports
 * that name weights `onnx::MatMul_123`, the node's path (`/model/layers.0/self_attn/q_proj/MatMul_output_0`).
 */
function moduleOf(weight: string, output: string): string {
  if (weight.endsWith('.weight')) return weight.slice(0, -'.weight'.length);
  const parts = output.split('/').filter((p) => p !== '');
  return parts.length > 1 ? parts.slice(0, -1).join('.') : weight;
}

/** The attention projections of a decoder graph: MatMul weights named (or in nodes named) as one. */
export function loraTargets(bytes: Uint8Array): LoraTarget[] {
  const targets: LoraTarget[] = [];
  for (const layer of importedLayers(bytes)) {
    if (layer.op !== 'MatMul') continue;
    for (const w of layer.weights)
      if (w.dims.length === 2 && (ATTENTION.test(w.name) || ATTENTION.test(layer.output)))
        targets.push({ name: w.name, dims: [w.dims[0], w.dims[1]], module: moduleOf(w.name, layer.output) });
  }
  if (targets.length === 0)
    fail(
      'unprocessable',
      'the model has no attention projections LoRA knows (q_proj, k_proj, v_proj, o_proj, c_attn)',
      {
        pointer: 'model',
      },
    );
  return targets;
}

export interface LoraOptions {
  rank: number;
  alpha: number;
  seed: number;
  /** Static train batch and sequence length. */
  batch: number;
  length: number;
  /** The decoder's inputs besides `input_ids` (`attention_mask`, `position_ids`, `past_key_values.*`). */
  inputs: { name: string; shape: (number | string)[] }[];
}

/** The fields a batch carries: ids, next-token labels (−100 where not learned), and the decoder's other inputs. */
export const LABELS = 'labels';
export const IGNORE = -100;

/** A KV-cache input (`past_key_values.0.key`, genai's `past_key_values.0.value`): fed empty. */
export const isPastInput = (name: string): boolean => name.startsWith('past_key_values');

function adapters(plan: readonly LoraTarget[], o: LoraOptions): Parameter[] {
  const rng = new nn.Rng(o.seed + 7);
  return plan.flatMap((t) => {
    const [fanIn, fanOut] = t.dims;
    const bound = 1 / Math.sqrt(fanIn);
    const a = Array.from({ length: fanIn * o.rank }, () => rng.uniform(-bound, bound));
    return [
      { name: `${t.name}.lora_A`, value: tensorFrom('float32', [fanIn, o.rank], a) },
      {
        name: `${t.name}.lora_B`,
        value: tensorFrom('float32', [o.rank, fanOut], new Float32Array(o.rank * fanOut)),
      },
    ];
  });
}

/** Sizes of the decoder's symbolic dims for a batch of `length` new tokens and no cache. */
function decoderDims(batch: number | string, length: number): Record<string, number | string> {
  return {
    batch_size: batch,
    sequence_length: length,
    past_sequence_length: 0,
    'past_sequence_length+sequence_length': length,
    'past_sequence_length + 1': length,
    total_sequence_length: length,
  };
}

export function loraSpec(bytes: Uint8Array, plan: readonly LoraTarget[], o: LoraOptions): ModelSpec {
  const params = adapters(plan, o);
  const byWeight = new Map(plan.map((t, i) => [t.name, [params[2 * i], params[2 * i + 1]] as const]));
  const scale = o.alpha / o.rank;
  const batch: Record<string, ModelSpec['batch'][string]> = {
    input_ids: { dtype: 'int64', shape: [o.batch, o.length] },
    [LABELS]: { dtype: 'int64', shape: [o.batch, o.length] },
  };
  for (const input of o.inputs) {
    if (input.name === 'input_ids') continue;
    const dims = input.shape.map((d, i) =>
      i === 0 ? o.batch : typeof d === 'number' ? d : Number(decoderDims(o.batch, o.length)[d] ?? o.length),
    );
    batch[input.name] = {
      dtype: isPastInput(input.name) ? 'float32' : 'int64',
      shape: dims,
    };
  }
  const forward = (b: Values, g: Parameters<ModelSpec['forward']>[1]): Values => {
    const feeds: Record<string, Value> = {};
    for (const name of Object.keys(batch)) if (name !== LABELS) feeds[name] = b[name];
    const m = importOnnx(bytes, {
      graph: g,
      feeds,
      dims: decoderDims(b.input_ids.shape[0], o.length),
      trainable: new Map(),
      substitute: (name, w) => {
        const ab = byWeight.get(name);
        if (!ab) return w;
        const delta = g.op('MatMul', [g.param(ab[0]), g.param(ab[1])]);
        return g.op('Add', [w, g.op('Mul', [delta, g.scalar(scale, 'float32')])]);
      },
    });
    const logits = m.outputs.find((x) => x.name === 'logits')?.value ?? m.outputs[0].value;
    return { logits };
  };
  return {
    params,
    batch,
    forward,
    loss: (p, b) => nn.crossEntropy(p.logits, b[LABELS], { ignoreIndex: IGNORE }),
    inferenceOutputs: ['logits'],
  };
}

/** The base graph with W + scale·A·B in place of each target W: same inputs, outputs and dims. */
export function mergeLora(
  bytes: Uint8Array,
  plan: readonly LoraTarget[],
  params: readonly Parameter[],
  scale: number,
): Uint8Array {
  const stored = readInitializers(bytes, new Set(plan.map((t) => t.name)));
  const merged = new Map<string, Tensor>();
  plan.forEach((t, i) => {
    const [inF, outF] = t.dims;
    const a = params[2 * i].value.data as Float32Array;
    const b = params[2 * i + 1].value.data as Float32Array;
    const rank = a.length / inF;
    const w = Float32Array.from(stored.get(t.name)!.values as number[]);
    for (let r = 0; r < inF; r++)
      for (let k = 0; k < rank; k++) {
        const av = a[r * rank + k] * scale;
        if (av === 0) continue;
        for (let c = 0; c < outF; c++) w[r * outF + c] += av * b[k * outF + c];
      }
    merged.set(t.name, tensorFrom('float32', t.dims, w));
  });
  return replaceInitializers(bytes, merged);
}
