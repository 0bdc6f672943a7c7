/** `cnn`: image classification — [conv k×k → ReLU → 2×2 max-pool] per channel width → dense → logits. */
import * as nn from '../../nn/index';
import type { Recipe } from './family';
import { targetField, withHead } from './heads';

export const cnnFamily: Recipe = {
  name: 'cnn',
  description: 'Convolutional network for image classification (PNG/JPEG archives, IDX, MNIST)',
  task: 'image',
  datasetKinds: ['image'],
  hyperparameters: {
    channels: {
      kind: 'ints',
      min: 1,
      max: 512,
      maxLength: 4,
      default: [16, 32],
      doc: 'Conv channels per block',
    },
    kernel: { kind: 'int', min: 1, max: 7, default: 5, doc: 'Conv kernel size (odd: same padding)' },
    hidden: { kind: 'int', min: 0, max: 4096, default: 0, doc: 'Dense width before the head (0: none)' },
    learning_rate: { kind: 'number', min: 1e-7, max: 10, default: 2e-3, doc: 'Adam step size' },
    lr_schedule: {
      kind: 'choice',
      choices: ['constant', 'cosine'],
      default: 'cosine',
      doc: 'constant, or cosine decay from learning_rate to learning_rate/20 over the run',
    },
    image_size: { kind: 'int', min: 0, max: 512, default: 0, doc: 'Resize images to N×N (0: as stored)' },
  },
  loadOptions: (hp) => {
    const n = Number(hp.image_size);
    return n > 0 ? { image: { width: n, height: n } } : {};
  },
  build(shape, hp, batchSize) {
    const rng = new nn.Rng(Number(hp.seed) + 1);
    const [c, h, w] = shape.inputDims;
    const k = Number(hp.kernel);
    const layers: nn.Layer[] = [];
    let [ch, hh, ww] = [c, h, w];
    for (const out of hp.channels as number[]) {
      layers.push(nn.conv2d(rng, ch, out, k, { padding: Math.floor(k / 2) }), nn.relu());
      ch = out;
      // Pool only while the map is at least 2×2 (tiny images keep their last size).
      if (hh >= 2 && ww >= 2) {
        layers.push(nn.maxPool2d(2));
        hh = Math.floor(hh / 2);
        ww = Math.floor(ww / 2);
      }
    }
    layers.push(nn.flatten());
    let features = ch * hh * ww;
    const hidden = Number(hp.hidden);
    if (hidden > 0) {
      layers.push(nn.linear(rng, features, hidden), nn.relu());
      features = hidden;
    }
    layers.push(nn.linear(rng, features, shape.classes));
    const net = nn.sequential(...layers);
    return withHead(
      shape,
      { params: net.params, forward: net },
      {
        x: { dtype: 'float32', shape: [batchSize, c, h, w] },
        y: targetField(shape, batchSize),
      },
    );
  },
};
