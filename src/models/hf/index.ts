/**
 * Models in the published Hugging Face ONNX layout (a folder: graph, config.json, tokenizer.json,
 * chat template). Importing this module registers the `hf-decoder` and `hf-encoder` runtimes.
 */
import './runtime';
import './encoder';

export { loadTextAssets, type ReadFolderFile, readJson, type TextAssets } from './assets';
export { HF_ENCODER_FAMILY } from './encoder';
export { isEncoderGraph, planEncoder, readPooling } from './encoder-plan';
export { chooseGraph, keptPaths, quantizationOf } from './layout';
export { describeConfig, planDecoder } from './plan';
export { HF_DECODER_FAMILY, hfDecoderRuntime } from './runtime';
