/** `mlp`: tabular classification and regression — standardised features → dense ReLU layers → head. */
import * as nn from '../../nn/index';
import type { Recipe } from './family';
import { targetField, withHead } from './heads';

export const mlpFamily: Recipe = {
  name: 'mlp',
  description: 'Multi-layer perceptron for tabular data (classification or regression)',
  task: 'tabular',
  datasetKinds: ['tabular'],
  hyperparameters: {
    hidden: { kind: 'ints', min: 1, max: 4096, maxLength: 8, default: [64, 64], doc: 'Hidden layer widths' },
  },
  loadOptions: () => ({}),
  build(shape, hp, batchSize) {
    const rng = new nn.Rng(Number(hp.seed) + 1);
    const width = shape.inputDims[0];
    const layers: nn.Layer[] = [];
    let prev = width;
    for (const h of hp.hidden as number[]) {
      layers.push(nn.linear(rng, prev, h), nn.relu());
      prev = h;
    }
    layers.push(nn.linear(rng, prev, shape.classes === 0 ? 1 : shape.classes));
    const net = nn.sequential(...layers);
    return withHead(
      shape,
      { params: net.params, forward: net },
      {
        x: { dtype: 'float32', shape: [batchSize, width] },
        y: targetField(shape, batchSize),
      },
    );
  },
};
