/**
 * `onnx`: fine-tuning an uploaded (imported) ONNX image classifier — transfer learning. The job
 * names its starting point with `base` (`name[:version]`); the engine imports that file into the
 * train step (`imported-spec.ts`), so the architecture and weights are the upload's, not a
 * recipe's. Not trainable without a base, so never listed where a family is picked by name alone.
 */
import { fail } from '../../common/errors';
import type { Recipe } from './family';

export const IMPORTED_FAMILY = 'onnx';

export const importedFamily: Recipe = {
  name: IMPORTED_FAMILY,
  description:
    'An uploaded ONNX image classifier, fine-tuned (transfer learning; POST /api/v1/trainings with base)',
  task: 'image',
  datasetKinds: ['image'],
  needsBase: true,
  hyperparameters: {
    trainable_layers: {
      kind: 'int',
      min: 0,
      max: 100_000,
      default: 0,
      doc: 'Train the last N layers (nodes with weights), freeze the rest; 0: train all',
    },
    replace_head: {
      kind: 'choice',
      choices: ['auto', 'always', 'never'],
      default: 'auto',
      doc: "New classification head: auto (when the labels differ from the base's), always or never",
    },
    init: {
      kind: 'choice',
      choices: ['base', 'random'],
      default: 'base',
      doc: "Start from the base's weights, or re-initialise them all (the same network from scratch)",
    },
  },
  loadOptions: () => ({}),
  build: () =>
    fail('invalid_request', 'family onnx fine-tunes an uploaded model: name it with "base"', {
      pointer: 'base',
    }),
};
