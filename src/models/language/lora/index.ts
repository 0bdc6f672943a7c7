/** LoRA fine-tuning of decoder folders: chat data, the adapter train step, the merge. */
export { parseChatJsonl } from './data';
export { trainLora } from './train';
