/**
 * Tiny random-weight decoders in the published Hugging Face ONNX layout, for tests of the serving
 * path: `writeTinyLlamaFolder` (RMSNorm, rotary positions from `position_ids`, grouped-query
 * attention 4/2 heads, SwiGLU) and `writeTinyGpt2Folder` (maas's gpt: learned positions,
 * LayerNorm, GELU, no `position_ids` input). Each folder holds config.json,
 * generation_config.json (eos `[<|im_end|>, <|endoftext|>]`; the second only there),
 * tokenizer.json (byte-level BPE, ~384 tokens, ChatML specials), tokenizer_config.json (ChatML
 * `chat_template`), special_tokens_map.json and onnx/model.onnx. Hidden 64, 2 layers: built in
 * well under a second.
 *
 * Options (see RandomDecoderOptions): sizes and seed; `generation` (merged into
 * generation_config.json); `externalData` (weights in onnx/model.onnx_data); `quantized` (Llama:
 * an int8 onnx/model_quantized.onnx beside it); `chatTemplateFile` (a chat_template.jinja);
 * `genai` (onnxruntime-genai's model.onnx + genai_config.json); `logitBias` ({id: amount} added
 * to the logits, e.g. {2: 100} to emit <|endoftext|>, the eos only generation_config.json lists).
 */
import {
  type RandomDecoderFolder,
  type RandomDecoderOptions,
  writeRandomGpt2Folder,
  writeRandomLlamaFolder,
} from '../../src/models/language/hf/random';

export type TinyFolder = RandomDecoderFolder;
export type TinyFolderOptions = RandomDecoderOptions;

export function writeTinyLlamaFolder(dir: string, opts: TinyFolderOptions = {}): Promise<TinyFolder> {
  return writeRandomLlamaFolder(dir, opts);
}

export function writeTinyGpt2Folder(dir: string, opts: TinyFolderOptions = {}): Promise<TinyFolder> {
  return writeRandomGpt2Folder(dir, opts);
}
