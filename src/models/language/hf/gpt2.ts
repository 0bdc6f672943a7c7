/**
 * A GPT-2-style decoder in the Hugging Face ONNX layout (see layout.ts): maas's own `gpt`
 * (`src/nn/gpt.ts`: learned position embeddings, pre-LayerNorm blocks, GELU MLP, multi-head
 * attention) with optimum's GPT-2 signature. There is no `position_ids` input, as in the graphs
 * transformers.js runs for `gpt2`: each query's position is counted over the real tokens of its
 * row (`positionsFromMask`), so a left-padded row gets the same positions as the unpadded one,
 * and without padding the positions are past … past+seq−1.
 */
import { Graph } from '../../../engine/ir/graph';
import { encodeModel } from '../../../engine/onnx/encode';
import { paddedCausalMask, positionsFromMask } from '../../../nn/decoder';
import { type Gpt, type GptConfig, gptModel } from '../../../nn/gpt';
import { Rng } from '../../../nn/rng';
import { decoderInputs, decoderOutputs, type LogitBias } from './layout';

/** A GPT with random (seeded) weights; `initStd` overrides GPT-2's N(0, 0.02) for every weight. */
export function randomGpt(config: GptConfig & { initStd?: number }): Gpt {
  const model = gptModel(config);
  const std = config.initStd;
  if (std === undefined) return model;
  const rng = new Rng((config.seed ?? 1) + 1);
  // Every matrix and embedding is redrawn; LayerNorms stay at 1 / 0 and biases as they are.
  for (const p of model.params) {
    if (/(^|\.)ln|bias$/.test(p.name)) continue;
    const data = p.value.data as Float32Array;
    for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
  }
  return model;
}

/** The model as `onnx/model.onnx` of a Hugging Face folder (model_type `gpt2`). */
export function exportGpt2Layout(model: Gpt): Uint8Array {
  return encodeModel(gpt2LayoutGraph(model), { name: GPT2_GRAPH_NAME });
}

export const GPT2_GRAPH_NAME = 'maas-gpt2';

/** The inference graph in the layout of layout.ts (encode it with or without external data). */
export function gpt2LayoutGraph(model: Gpt, options: { logitBias?: LogitBias } = {}): Graph {
  const { layers, heads, dim } = model.config;
  const g = new Graph();
  const inputs = decoderInputs(g, { layers, kvHeads: heads, headDim: dim / heads, positionIds: false });
  const mask = paddedCausalMask(inputs.attentionMask, inputs.slots);
  const positions = positionsFromMask(inputs.attentionMask, inputs.slots);
  const r = model.run(inputs.inputIds, { positions, mask, past: inputs.past });
  decoderOutputs(g, r.logits, r.present, options.logitBias);
  return g;
}

/** `config.json` of the model (model_type `gpt2`, GPT-2's own field names). */
export function gpt2HfConfig(
  model: Gpt,
  ids: { bos: number; eos: number; pad?: number },
): Record<string, unknown> {
  const c = model.config;
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: c.vocab,
    n_embd: c.dim,
    n_head: c.heads,
    n_layer: c.layers,
    n_positions: c.context,
    n_ctx: c.context,
    n_inner: c.mlpRatio * c.dim,
    // maas's GELU is the exact (erf) one, which is Hugging Face's "gelu".
    activation_function: 'gelu',
    layer_norm_epsilon: 1e-5,
    tie_word_embeddings: false,
    bos_token_id: ids.bos,
    eos_token_id: ids.eos,
    ...(ids.pad === undefined ? {} : { pad_token_id: ids.pad }),
    torch_dtype: 'float32',
    use_cache: true,
  };
}
