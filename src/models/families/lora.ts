/**
 * `lora`: low-rank adapters on the attention projections of an uploaded decoder folder (Hugging
 * Face ONNX layout), trained on chat JSONL rendered with the model's own template, then merged
 * into a new full version (`src/models/language/lora`). Started through `/v1/fine_tuning/jobs`
 * with `model` = the decoder, or `POST /api/v1/trainings` with `family: "lora"` and `base`.
 */
import { fail } from '../../common/errors';
import type { Recipe } from './family';

export const LORA_FAMILY = 'lora';

export const loraFamily: Recipe = {
  name: LORA_FAMILY,
  description: 'LoRA fine-tuning of an uploaded decoder (chat JSONL; adapters merged into a new version)',
  task: 'text-classification',
  datasetKinds: ['text', 'corpus', 'tabular'],
  needsBase: true,
  hyperparameters: {
    epochs: { kind: 'int', min: 1, max: 1000, default: 3, doc: 'Passes over the training chats' },
    batch_size: { kind: 'int', min: 1, max: 256, default: 4, doc: 'Chats per step' },
    learning_rate: { kind: 'number', min: 1e-7, max: 1, default: 1e-3, doc: 'Adam step size' },
    lora_rank: { kind: 'int', min: 1, max: 256, default: 8, doc: 'Rank r of each adapter A·B' },
    lora_alpha: {
      kind: 'number',
      min: 0.01,
      max: 4096,
      default: 16,
      doc: 'Scale: the update is alpha/r · A·B',
    },
  },
  loadOptions: () => ({}),
  build: () =>
    fail('invalid_request', 'family lora fine-tunes an uploaded decoder: name it with "base"', {
      pointer: 'base',
    }),
};
