/**
 * `text-cnn` (Kim 2014): token ids → embedding [N, L, E] → for each width k a Conv with a [k × E]
 * kernel over time (a 1-D conv, embedding dims as channels) → ReLU → max over time → concatenated
 * [N, filters·widths] → dense → logits.
 */
import { tokenizerFromSpec } from '../../data/index';
import type { Value } from '../../engine/index';
import * as nn from '../../nn/index';
import type { DataShape, Hyperparameters, Recipe } from './family';
import { targetField, withHead } from './heads';

/**
 * A Conv over time: weight [filters, 1, k, E] (stored so), applied as a 1-D conv with the E
 * embedding dims as channels: x [N, E, L, 1] ⊛ W [filters, E, k, 1]; then max over time → [N, filters].
 * Why not a [k × E] kernel over a one-channel [N, 1, L, E] image: its input gradient is a Conv
 * padded by E − 1 on each side, whose im2col buffer is E× larger (20,480 × 2,048 floats per text at
 * E = 64): 15 s per step of batch 32 instead of milliseconds.
 */
function timeConv(rng: nn.Rng, k: number, embed: number, filters: number, prefix: string): nn.Layer {
  const fanIn = k * embed;
  const dims = [filters, 1, k, embed];
  const weight = nn.parameter(`${prefix}.weight`, dims, nn.kaimingUniform(rng, dims, fanIn, filters * fanIn));
  const bias = nn.parameter(`${prefix}.bias`, [filters], nn.lecunUniform(rng, [filters], fanIn, 0));
  return nn.layer(
    (x) => {
      const g = x.graph;
      const kernel = g.op('Transpose', [g.param(weight)], { perm: [0, 3, 2, 1] }); // [F, E, k, 1]
      const y = g.op('Conv', [x, kernel, g.param(bias)], { strides: [1, 1], pads: [0, 0, 0, 0] });
      // [N, F, L−k+1, 1] → max over time and the unit width → [N, F].
      return g.op('ReduceMax', [g.op('Relu', [y])], { axes: [2, 3], keepdims: false });
    },
    [weight, bias],
  );
}

/**
 * The network split at its embedding (ids → vectors → logits), so that explanations can take the
 * gradient with respect to the token vectors (src/models/explain).
 */
export function textCnnBody(shape: DataShape, hp: Hyperparameters) {
  const rng = new nn.Rng(Number(hp.seed) + 1);
  const spec = shape.spec;
  if (spec.kind !== 'text') throw new Error('text-cnn needs a text spec');
  const vocab = tokenizerFromSpec(spec.tokenizer).vocabSize;
  const [length] = shape.inputDims;
  const embed = Number(hp.embed_dim);
  const filters = Number(hp.filters);
  const widths = (hp.kernel_sizes as number[]).filter((k) => k <= length);
  const emb = nn.named('embed', nn.embedding(rng, vocab, embed, nn.normal(0.1)));
  const convs = (widths.length ? widths : [1]).map((k, i) => timeConv(rng, k, embed, filters, `conv${i}`));
  const head = nn.named(
    'fc',
    nn.linear(rng, filters * convs.length, shape.classes === 0 ? 1 : shape.classes),
  );
  return {
    params: [...emb.params, ...convs.flatMap((c) => c.params), ...head.params],
    /** ids [N, L] → vectors [N, L, E]. */
    embed: (ids: Value): Value => emb(ids),
    /** vectors [N, L, E] → logits [N, classes]. */
    classify(vectors: Value): Value {
      const g = vectors.graph;
      // [N, L, E] → [N, E, L, 1]: embedding dims as channels, time as height.
      const e = g.op('Unsqueeze', [g.op('Transpose', [vectors], { perm: [0, 2, 1] })], { axes: [3] });
      const pooled = convs.map((c) => c(e));
      return head(pooled.length === 1 ? pooled[0] : g.op('Concat', pooled, { axis: 1 }));
    },
  };
}

export const textCnnFamily: Recipe = {
  name: 'text-cnn',
  description: 'Convolutional sentence classifier (embedding, convolutions over time, max-over-time)',
  task: 'text-classification',
  datasetKinds: ['text'],
  hyperparameters: {
    embed_dim: { kind: 'int', min: 2, max: 1024, default: 64, doc: 'Embedding width' },
    filters: { kind: 'int', min: 1, max: 1024, default: 64, doc: 'Filters per kernel width' },
    kernel_sizes: {
      kind: 'ints',
      min: 1,
      max: 16,
      maxLength: 6,
      default: [3, 4, 5],
      doc: 'Kernel widths (tokens)',
    },
    max_length: { kind: 'int', min: 4, max: 4096, default: 64, doc: 'Tokens kept per text' },
    vocab_size: { kind: 'int', min: 16, max: 200_000, default: 5000, doc: 'Largest vocabulary' },
    tokenizer: {
      kind: 'choice',
      choices: ['word', 'char', 'bpe'],
      default: 'word',
      doc: 'How text is split',
    },
  },
  loadOptions: (hp) => ({
    text: {
      maxLength: Number(hp.max_length),
      vocabSize: Number(hp.vocab_size),
      tokenizer: hp.tokenizer as 'word' | 'char' | 'bpe',
    },
  }),
  build(shape, hp, batchSize) {
    const [length] = shape.inputDims;
    const body = textCnnBody(shape, hp);
    return withHead(
      shape,
      { params: body.params, forward: (ids) => body.classify(body.embed(ids)) },
      { x: { dtype: 'int64', shape: [batchSize, length] }, y: targetField(shape, batchSize) },
    );
  },
};
