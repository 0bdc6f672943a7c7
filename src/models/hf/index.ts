/**
 * Models in the published Hugging Face ONNX layout (a folder: graph, config.json, tokenizer.json,
 * chat template). Importing this module registers the `hf-decoder` runtime.
 */
import './runtime';

export { loadTextAssets, type ReadFolderFile, readJson, type TextAssets } from './assets';
export { chooseGraph, quantizationOf } from './layout';
export { describeConfig, planDecoder } from './plan';
export { HF_DECODER_FAMILY } from './runtime';
