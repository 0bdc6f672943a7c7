/** LoRA fine-tuning of decoder folders: chat data, the adapter train step, the merge, the adapter alone. */
export { parseExamplesJsonl } from './data';
export { ADAPTER_CONFIG, ADAPTER_DIR, ADAPTER_WEIGHTS } from './peft';
export { trainLora } from './train';
